#!/bin/bash
# test-examples.sh: runs the examples of examples/ against each other.
#
#   test-examples.sh FIG3-SERVER FIG2-CLIENT FIG4-RESPONDER DEMO
#
# Each server listens on an ephemeral port of 127.0.0.1 and prints
# "listening on ADDRESS:PORT" first; every step has a timeout.
set -u
server=$1 client=$2 responder=$3 demo=$4
. "$(dirname "$0")/test-lib.sh"

# start_server NAME PROGRAM: runs PROGRAM 127.0.0.1 0 60 and sets $port
start_server () {
  local name=$1 prog=$2 i
  "$prog" 127.0.0.1 0 60 >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  port=
  for i in $(seq 100); do
    port=$(sed -n '1s/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
    [ -n "$port" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# client_against NAME: runs fig2-client against $port, expects "Hello!"
client_against () {
  local name=$1
  if timeout -k 5 20 "$client" 127.0.0.1 "$port" >"$tmp/$name-client.out" 2>"$tmp/$name-client.err" &&
     [ "$(cat "$tmp/$name-client.out")" = "Hello!" ]; then
    ok "fig2-client against $name prints the echo"
  else
    not_ok "fig2-client against $name prints the echo" \
      "$tmp/$name-client.out" "$tmp/$name-client.err" "$tmp/$name.err"
  fi
}

echo "1..6"
if start_server fig3-server "$server"; then
  ok "fig3-server listens on port $port"
  client_against fig3-server
  client_against fig3-server     # a second carrier on the same listener
else
  not_ok "fig3-server listens" "$tmp/fig3-server.out" "$tmp/fig3-server.err"
  not_ok "fig2-client against fig3-server (skipped)"
  not_ok "fig2-client against fig3-server (skipped)"
fi

if start_server fig4-responder "$responder"; then
  ok "fig4-responder listens on port $port"
  client_against fig4-responder
else
  not_ok "fig4-responder listens" "$tmp/fig4-responder.out" "$tmp/fig4-responder.err"
  not_ok "fig2-client against fig4-responder (skipped)"
fi

if timeout -k 5 20 "$demo" >"$tmp/demo.out" 2>"$tmp/demo.err" &&
   grep -q 'received echo "Hello!"' "$tmp/demo.out"; then
  ok "demo"
else
  not_ok "demo" "$tmp/demo.out" "$tmp/demo.err"
fi

[ "$failures" -eq 0 ]
