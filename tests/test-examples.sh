#!/bin/bash
# test-examples.sh: runs the examples of examples/ against each other.
#
#   test-examples.sh FIG3-SERVER FIG2-CLIENT FIG4-RESPONDER DEMO TOUR
#
# Each server listens on an ephemeral port of 127.0.0.1 and prints
# "listening on ADDRESS:PORT" first; every step has a timeout.  The README's
# tour (examples/tour.c) also runs where nothing listens and against a peer
# that never answers: it must fail with a message, not hang.
set -u
server=$1 client=$2 responder=$3 demo=$4 tour=$5
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

echo "1..10"
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

# 6-9: the tour: the echo of fig3-server; exit 1 with the reason where
# nothing listens, for a bad URI, and with "no reply" against a peer that
# accepts and never answers
if start_server tour-server "$server"; then
  timeout -k 5 20 "$tour" "tcp://127.0.0.1:$port" >"$tmp/tour.out" 2>"$tmp/tour.err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(cat "$tmp/tour.out")" = "Hello!" ]; then
    ok "tour against fig3-server prints the echo"
  else
    not_ok "tour against fig3-server prints the echo (exit $rc)" "$tmp/tour.out" "$tmp/tour.err"
  fi
  kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null
  # (the port of the server just stopped: nothing listens there now)
  timeout -k 5 20 "$tour" "tcp://127.0.0.1:$port" >"$tmp/tour-refused.out" 2>"$tmp/tour-refused.err"
  rc=$?
  if [ $rc -eq 1 ] && [ ! -s "$tmp/tour-refused.out" ] &&
     grep -q '^tour: Could not establish a carrier' "$tmp/tour-refused.err" &&
     grep -q 'Connection refused' "$tmp/tour-refused.err"; then
    ok "tour where nothing listens: exit 1, the reason on stderr"
  else
    not_ok "tour where nothing listens: exit 1, the reason on stderr (exit $rc)" "$tmp/tour-refused.err"
  fi
else
  not_ok "fig3-server for the tour listens" "$tmp/tour-server.err"
  not_ok "tour where nothing listens (skipped)"
fi
timeout -k 5 20 "$tour" 'tcp://[::1' >"$tmp/tour-uri.out" 2>"$tmp/tour-uri.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "^tour: invalid URI" "$tmp/tour-uri.err"; then
  ok "tour with a bad URI: exit 1, the reason on stderr"
else
  not_ok "tour with a bad URI: exit 1, the reason on stderr (exit $rc)" "$tmp/tour-uri.err"
fi
python3 -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); time.sleep(60)' >"$tmp/mute.port" &
pids+=($!)
for i in $(seq 50); do [ -s "$tmp/mute.port" ] && break; sleep 0.1; done
timeout -k 5 40 "$tour" "tcp://127.0.0.1:$(cat "$tmp/mute.port")" >"$tmp/tour-mute.out" 2>"$tmp/tour-mute.err"
rc=$?
if [ $rc -eq 1 ] && grep -qx 'tour: no reply within 10 s' "$tmp/tour-mute.err"; then
  ok "tour against a peer that never answers: exit 1, no reply"
else
  not_ok "tour against a peer that never answers: exit 1, no reply (exit $rc)" "$tmp/tour-mute.err"
fi

if timeout -k 5 20 "$demo" >"$tmp/demo.out" 2>"$tmp/demo.err" &&
   grep -q 'received echo "Hello!"' "$tmp/demo.out"; then
  ok "demo"
else
  not_ok "demo" "$tmp/demo.out" "$tmp/demo.err"
fi

[ "$failures" -eq 0 ]
