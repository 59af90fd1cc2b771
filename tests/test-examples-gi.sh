#!/bin/bash
# test-examples-gi.sh: examples/echo-client.py (PyGObject) and
# examples/echo-client.js (GJS) through the build tree's typelib, against
# examples/fig3-server, and where nothing listens.
#
#   test-examples-gi.sh PYTHON GJS FIG3-SERVER EXAMPLES-DIR
#
# PYTHON is /usr/bin/python3 (Debian's python3-gi), GJS Debian's gjs; "-"
# for one that is not installed (its cases are skipped).  GI_TYPELIB_PATH
# and LD_LIBRARY_PATH point at the build tree (tests/gi/meson.build).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
python=$1 gjs=$2 server=$3 examples=$4
. "$(dirname "$0")/test-lib.sh"

echo "1..4"

"$server" 127.0.0.1 0 60 >"$tmp/server.out" 2>"$tmp/server.err" &
pids+=($!)
port=
for i in $(seq 100); do
  port=$(sed -n '1s/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
  [ -n "$port" ] && break
  sleep 0.1
done

# example NAME INTERPRETER SCRIPT: the echo of fig3-server, then exit 1
# with the reason where nothing listens (port 1 of 127.0.0.1)
example () {
  local name=$1 interpreter=$2 script=$3 rc
  if [ "$interpreter" = - ]; then
    skip "$name: the interpreter is not installed"
    skip "$name where nothing listens: the interpreter is not installed"
    return
  fi
  timeout -k 5 30 "$interpreter" "$examples/$script" "tcp://127.0.0.1:$port" "Hello from $name" \
    >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  if [ -n "$port" ] && [ $rc -eq 0 ] && [ "$(cat "$tmp/$name.out")" = "Hello from $name" ]; then
    ok "$name: $script prints the echo of fig3-server"
  else
    not_ok "$name: $script prints the echo of fig3-server (exit $rc)" "$tmp/$name.out" "$tmp/$name.err" "$tmp/server.err"
  fi
  timeout -k 5 30 "$interpreter" "$examples/$script" "tcp://127.0.0.1:1" >"$tmp/$name-refused.out" 2>"$tmp/$name-refused.err"
  rc=$?
  if [ $rc -eq 1 ] && grep -q "^$script: Could not establish a carrier" "$tmp/$name-refused.err" &&
     grep -q 'Connection refused' "$tmp/$name-refused.err"; then
    ok "$name: $script where nothing listens: exit 1, the reason on stderr"
  else
    not_ok "$name: $script where nothing listens: exit 1, the reason on stderr (exit $rc)" "$tmp/$name-refused.err"
  fi
}

example python "$python" echo-client.py
example gjs "$gjs" echo-client.js

[ "$failures" -eq 0 ]
