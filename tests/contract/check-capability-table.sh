#!/bin/sh
# check-capability-table.sh POST-STACK-CHECK README: the README's table of
# what each stack supports is what the loaded stacks declare
# (`post-stack-check --capabilities`).  Regenerate it with
# tools/update-capability-table.sh.
check=$1 readme=$2
want=$(mktemp) have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
"$check" --capabilities >"$want"
sed -n '/<!-- capabilities:begin -->/,/<!-- capabilities:end -->/p' "$readme" | sed '1d;$d' >"$have"
echo "1..1"
if cmp -s "$want" "$have"; then
  echo "ok 1 - the README's capability table matches the stacks' declarations"
else
  echo "not ok 1 - the README's capability table differs from the stacks' declarations"
  diff -u "$have" "$want" | sed 's/^/# /'
  echo "# run tools/update-capability-table.sh to regenerate it"
fi
