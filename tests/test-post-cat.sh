#!/bin/bash
# test-post-cat.sh: post-cat against itself over 127.0.0.1.
#
#   test-post-cat.sh POST-CAT
set -u
cat_=$1
. "$(dirname "$0")/test-lib.sh"

# start_listener NAME ARGS...: post-cat -v --listen ARGS tcp://127.0.0.1:0
# (start_post_cat of tests/test-lib.sh)
start_listener () { start_post_cat tcp://127.0.0.1:0 "$@"; }

# wait_listener: waits (at most 20 s) for the --once listener; its status in $rc
wait_listener () {
  local i
  for i in $(seq 200); do
    kill -0 "$listener_pid" 2>/dev/null || break
    sleep 0.1
  done
  wait "$listener_pid"
  rc=$?
}

# one_error_line NAME FILE: FILE holds exactly one line "post-cat: ..."
one_error_line () {
  [ "$(wc -l <"$2")" -eq 1 ] && grep -q '^post-cat: ' "$2"
}

echo "1..11"

# 1-2: lines echoed by --echo --once
if start_listener echo --echo --once; then
  printf 'a\nb\n' | timeout -k 5 20 "$cat_" "tcp://127.0.0.1:$port" >"$tmp/client.out" 2>"$tmp/client.err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(od -c <"$tmp/client.out")" = "$(printf 'a\nb\n' | od -c)" ]; then
    ok "lines come back as sent"
  else
    not_ok "lines come back as sent (exit $rc)" "$tmp/client.out" "$tmp/client.err" "$tmp/echo.err"
  fi
  wait_listener
  if [ $rc -eq 0 ] && [ "$(cat "$tmp/echo.out")" = "$(printf 'a\nb')" ]; then
    ok "the --once listener printed the lines and exited 0"
  else
    not_ok "the --once listener printed the lines and exited 0 (exit $rc)" "$tmp/echo.out" "$tmp/echo.err"
  fi
else
  not_ok "listener starts" "$tmp/echo.err"
  not_ok "listener (skipped)"
fi

# 3: --stream: all of stdin is one message, echoed byte for byte
if start_listener stream --stream --echo --once; then
  printf 'one\ntwo\nno newline at the end' | timeout -k 5 20 "$cat_" --stream "tcp://127.0.0.1:$port" \
    >"$tmp/stream-client.out" 2>"$tmp/stream-client.err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(od -c <"$tmp/stream-client.out")" = "$(printf 'one\ntwo\nno newline at the end' | od -c)" ]; then
    ok "--stream echoes the input byte for byte"
  else
    not_ok "--stream echoes the input byte for byte (exit $rc)" "$tmp/stream-client.out" "$tmp/stream-client.err" "$tmp/stream.err"
  fi
  wait_listener
  if [ $rc -eq 0 ]; then
    ok "the --stream --once listener exited 0"
  else
    not_ok "the --stream --once listener exited 0 (exit $rc)" "$tmp/stream.err"
  fi
else
  not_ok "--stream listener starts" "$tmp/stream.err"
  not_ok "--stream listener (skipped)"
fi

# 4: -v tells the stack and the time to ready
if start_listener verbose --echo --once; then
  echo hi | timeout -k 5 20 "$cat_" -v --stack tcp "tcp://127.0.0.1:$port" >"$tmp/v.out" 2>"$tmp/v.err"
  rc=$?
  if [ $rc -eq 0 ] && grep -q 'via stack tcp from .* ready in .* ms' "$tmp/v.err" &&
     [ "$(cat "$tmp/v.out")" = hi ]; then
    ok "-v --stack tcp"
  else
    not_ok "-v --stack tcp (exit $rc)" "$tmp/v.out" "$tmp/v.err"
  fi
  wait_listener
else
  not_ok "-v listener starts" "$tmp/verbose.err"
fi

# 5-6: bad URIs: exit 1, one line
for uri in 'tcp://[::1' 'tcp://127.0.0.1:99999'; do
  timeout -k 5 20 "$cat_" "$uri" </dev/null >"$tmp/bad.out" 2>"$tmp/bad.err"
  rc=$?
  if [ $rc -eq 1 ] && one_error_line bad "$tmp/bad.err"; then
    ok "bad URI $uri: exit 1, one line"
  else
    not_ok "bad URI $uri: exit 1, one line (exit $rc)" "$tmp/bad.err"
  fi
done

# 7: a closed local port: exit 1, one line.  Take a port from a listener,
# then stop it.
if start_listener closed; then
  kill "$listener_pid"; wait "$listener_pid" 2>/dev/null
  echo x | timeout -k 5 20 "$cat_" "tcp://127.0.0.1:$port" >"$tmp/refused.out" 2>"$tmp/refused.err"
  rc=$?
  if [ $rc -eq 1 ] && one_error_line refused "$tmp/refused.err"; then
    ok "closed port: exit 1, one line"
  else
    not_ok "closed port: exit 1, one line (exit $rc)" "$tmp/refused.err"
  fi
else
  not_ok "closed port (listener did not start)" "$tmp/closed.err"
fi

# 8: --echo to a client that sends 256 MiB and never reads: the echoes fill
# post-cat's send queue, so it stops reading (docs/framing.md,
# "Back-pressure") and the client blocks, instead of post-cat holding
# everything it received (it did: 1 GiB sent, 1 GiB resident).
if start_listener flood --echo; then
  { printf '\x80\x01\x00\x00'; head -c 65536 /dev/zero; } >"$tmp/frame"
  for i in $(seq 16); do cat "$tmp/frame"; done >"$tmp/frames"   # 16 messages, 1 MiB
  ( exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    for i in $(seq 256); do cat "$tmp/frames" >&3 || exit 1; done ) 2>/dev/null &
  writer=$!
  pids+=($writer)
  most=0
  cat_pid=$(cat "/proc/$listener_pid/task/$listener_pid/children" 2>/dev/null)   # under timeout
  cat_pid=${cat_pid%% *}
  # Sampled for 5 s: nobody reads the echoes, so the writer cannot finish.
  for i in $(seq 50); do
    rss=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/${cat_pid:-$listener_pid}/status" 2>/dev/null)
    [ -n "$rss" ] && [ "$rss" -gt "$most" ] && most=$rss
    sleep 0.1
  done
  if kill -0 "$writer" 2>/dev/null && kill -0 "$listener_pid" 2>/dev/null && [ "$most" -lt 65536 ]; then
    ok "--echo to a peer that does not read: the peer is held back, post-cat stays under 64 MiB (${most} kB)"
  else
    not_ok "--echo to a peer that does not read: the peer is held back, post-cat stays under 64 MiB (${most} kB)" "$tmp/flood.err"
  fi
  kill "$writer" "$listener_pid" 2>/dev/null; wait "$writer" "$listener_pid" 2>/dev/null
else
  not_ok "--echo listener starts" "$tmp/flood.err"
fi

# 10: --fork 3 over tcp: four transports; the listener with --echo receives
# the three forks as fork requests of its first carrier (libpost's control
# frames), not as new carriers, and -v says so on both sides
seq 1 40 >"$tmp/fork.in"
if start_listener fork --echo; then
  timeout -k 5 20 "$cat_" -v --fork 3 "tcp://127.0.0.1:$port" <"$tmp/fork.in" \
    >"$tmp/forkc.out" 2>"$tmp/forkc.err"
  rc=$?
  kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null
  if [ $rc -eq 0 ] && [ "$(sort -n "$tmp/forkc.out")" = "$(cat "$tmp/fork.in")" ] &&
     [ "$(grep -c "^post-cat: carrier [234] of 4: forked via stack tcp from .*, a new transport, received by the peer as a fork request of the first carrier\$" "$tmp/forkc.err")" -eq 3 ] &&
     [ "$(grep -c '^post-cat: accepted a fork of a carrier from 127.0.0.1:[0-9]* via stack tcp' "$tmp/fork.err")" -eq 3 ] &&
     [ "$(grep -c '^post-cat: accepted a carrier from' "$tmp/fork.err")" -eq 1 ]; then
    ok "--fork 3: 40 lines over four transports come back; the listener got three fork requests"
  else
    not_ok "--fork 3: 40 lines over four transports come back as fork requests (exit $rc)" \
      "$tmp/forkc.out" "$tmp/forkc.err" "$tmp/fork.err"
  fi
else
  not_ok "--fork listener starts" "$tmp/fork.err"
fi

# 11: the README's --stream pair: a --stream --once listener writes what a
# --stream client sends to a file, byte for byte (256 KiB of random bytes)
head -c 262144 /dev/urandom >"$tmp/file"
if start_listener copy --stream --once; then
  timeout -k 5 20 "$cat_" --stream "tcp://127.0.0.1:$port" <"$tmp/file" >"$tmp/copy-client.out" 2>"$tmp/copy-client.err"
  rc=$?
  wait_listener
  if [ $rc -eq 0 ] && cmp -s "$tmp/file" "$tmp/copy.out"; then
    ok "--stream to a --stream --once listener: the file arrives intact"
  else
    not_ok "--stream to a --stream --once listener: the file arrives intact (exit $rc)" \
      "$tmp/copy-client.err" "$tmp/copy.err"
  fi
else
  not_ok "--stream --once listener starts" "$tmp/copy.err"
fi

[ "$failures" -eq 0 ]
