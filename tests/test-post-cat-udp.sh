#!/bin/bash
# test-post-cat-udp.sh: post-cat over udp: an echo, and a multicast sink.
#
#   test-post-cat-udp.sh POST-CAT MULTICAST-RECEIVER
#
# The multicast case runs in a network namespace of its own (unshare -n):
# it vanishes with the process, so nothing is left behind.
set -u
cat_=$1
receiver=$2
. "$(dirname "$0")/test-lib.sh"

echo "1..4"

# 1: an echo server and a client over udp://
timeout -k 5 60 "$cat_" -v --listen --echo udp://127.0.0.1:0 >"$tmp/echo.out" 2>"$tmp/echo.err" &
pids+=($!)
port=
for i in $(seq 100); do
  port=$(sed -n 's/^post-cat: listening on [^ ]*:\([0-9][0-9]*\) .*/\1/p' "$tmp/echo.err" | head -n1)
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -n "$port" ]; then
  printf 'one\ntwo\n' | timeout -k 5 20 "$cat_" -v "udp://127.0.0.1:$port" >"$tmp/client.out" 2>"$tmp/client.err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(sort "$tmp/client.out")" = "$(printf 'one\ntwo')" ] \
     && grep -q 'via stack udp' "$tmp/client.err"; then
    ok "udp:// lines come back from an echo listener"
  else
    not_ok "udp:// lines come back from an echo listener (exit $rc)" "$tmp/client.out" "$tmp/client.err" "$tmp/echo.err"
  fi
else
  not_ok "the udp listener starts" "$tmp/echo.err"
fi

# 2: --sink without --listen is refused with one line
if ! "$cat_" --sink udp://127.0.0.1:9 </dev/null 2>"$tmp/sink-usage.err" \
   && grep -q '^post-cat: .*--sink' "$tmp/sink-usage.err"; then
  ok "--sink needs --listen"
else
  not_ok "--sink needs --listen" "$tmp/sink-usage.err"
fi

# 3: --listen udp://239.1.2.3:5000 --sink receives multicast
if ! command -v unshare >/dev/null || ! command -v ip >/dev/null || ! unshare -n true 2>/dev/null; then
  skip "no network namespace here (needs root, unshare and ip)"
else
  cat >"$tmp/mc.sh" <<SCRIPT
set -e
ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo src 127.0.0.1
timeout -k 5 20 "$cat_" -v --listen --sink udp://239.1.2.3:5000 >"$tmp/sink.out" 2>"$tmp/sink.err" &
sink=\$!
for i in \$(seq 100); do grep -q 'receiving on' "$tmp/sink.err" && break; sleep 0.1; done
printf 'hello group\n' | timeout -k 5 10 "$cat_" --wait 1 udp://239.1.2.3:5000 >/dev/null 2>"$tmp/source.err" &
for i in \$(seq 100); do [ -s "$tmp/sink.out" ] && break; sleep 0.1; done
kill \$sink 2>/dev/null || true
wait \$sink 2>/dev/null || true
SCRIPT
  unshare -n bash "$tmp/mc.sh" 2>"$tmp/mc.err"
  if [ "$(cat "$tmp/sink.out" 2>/dev/null)" = "hello group" ]; then
    ok "post-cat --listen udp://239.1.2.3:5000 --sink receives multicast"
  else
    not_ok "post-cat --listen udp://239.1.2.3:5000 --sink receives multicast" "$tmp/sink.out" "$tmp/sink.err" "$tmp/source.err" "$tmp/mc.err"
  fi
fi

# 4: the draft 3.1.4 example receives a group's message
if ! command -v unshare >/dev/null || ! command -v ip >/dev/null || ! unshare -n true 2>/dev/null; then
  skip "no network namespace here (needs root, unshare and ip)"
else
  cat >"$tmp/ex.sh" <<SCRIPT
ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo src 127.0.0.1
timeout -k 5 20 "$receiver" udp://239.255.0.1:5000 1 >"$tmp/ex.out" 2>"$tmp/ex.err" &
rx=\$!
for i in \$(seq 50); do
  printf 'draft 3.1.4\n' | timeout -k 5 10 "$cat_" --wait 1 udp://239.255.0.1:5000 >/dev/null 2>>"$tmp/ex-src.err"
  [ -s "$tmp/ex.out" ] && break
  sleep 0.1
done
wait \$rx
SCRIPT
  unshare -n bash "$tmp/ex.sh" 2>"$tmp/ex-sh.err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(cat "$tmp/ex.out" 2>/dev/null)" = "draft 3.1.4" ]; then
    ok "examples/multicast-receiver gets the group's message and exits after COUNT"
  else
    not_ok "examples/multicast-receiver gets the group's message (exit $rc)" "$tmp/ex.out" "$tmp/ex.err" "$tmp/ex-src.err" "$tmp/ex-sh.err"
  fi
fi

[ $failures -eq 0 ]
