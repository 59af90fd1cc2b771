#!/bin/sh
# check-stack-list.sh POST-STACK-CHECK STACK…: the stacks the registry loads
# from the build tree are exactly the stacks meson runs the contract on.
check=$1; shift
loaded=$("$check" --list | sort | tr '\n' ' ')
declared=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
echo "1..1"
if [ "$loaded" = "$declared" ]; then
  echo "ok 1 - contract registered for every loaded stack: $loaded"
else
  echo "not ok 1 - loaded stacks: $loaded; contract registered for: $declared"
  echo "# add the missing stack to post_stack_names in its plugin's meson.build"
fi
