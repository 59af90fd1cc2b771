#!/bin/bash
# test-post-cat-options.sh: post-cat's choosing options against itself over
# loopback: --version, -4/-6, --local, --connect-timeout, -o and --json
# (--alpn is in test-post-cat-tls.sh and test-post-cat-quic.sh, against
# gnutls-serv and ngtcp2's HTTP/3 server).
#
#   test-post-cat-options.sh POST-CAT
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
cat_=$1
. "$(dirname "$0")/test-lib.sh"

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

# one_error_line FILE: FILE holds exactly one line "post-cat: ..."
one_error_line () {
  [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^post-cat: ' "$1"
}

# free_port: a TCP port of 127.0.0.1 free a moment ago
free_port () {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# check_json FILE EXPECT...: every line of FILE is one JSON object with a
# string "event" and the members post-cat(1) documents for it, of their
# types; each EXPECT, "EVENT" or "EVENT.MEMBER=VALUE" (VALUE compared with
# the member's JSON text), is met by some line.
check_json () {
  python3 - "$@" <<'PY'
import json, sys
path, expects = sys.argv[1], sys.argv[2:]
S, N, B, O = str, (int, float), bool, dict
schema = {
    'listening': {'local': S, 'stack': S},
    'receiving': {'local': S, 'stack': S},
    'accepted': {'fork': B, 'stack': S, 'remote': S, 'security': (O, type(None))},
    'connected': {'stack': S, 'local': S, 'remote': S, 'ready_ms': N,
                  'security': (O, type(None)), 'proxy': (O, type(None))},
    'forking': {'carriers': int},
    'forked': {'carrier': int, 'carriers': int, 'stack': S, 'local': S, 'remote': S,
               'same_transport': B, 'fork_request': B},
    'path-changed': {'carrier': int, 'local': S, 'remote': S, 'interface': (S, type(None))},
    'carrier-closed': {},
    'carrier-error': {'message': S},
    'error': {'message': S, 'domain': (S, type(None))},
}
optional = {'error': {'code'}}
events = []
with open(path, encoding='utf-8') as f:
    for number, line in enumerate(f, 1):
        try:
            event = json.loads(line)
        except ValueError as e:
            sys.exit(f'line {number} is not JSON ({e}): {line!r}')
        if not isinstance(event, dict) or not isinstance(event.get('event'), str):
            sys.exit(f'line {number} is no object with an "event" string: {line!r}')
        members = schema.get(event['event'])
        if members is None:
            sys.exit(f'line {number}: undocumented event {event["event"]!r}')
        for key, kind in members.items():
            if key not in event or (isinstance(event[key], bool) and kind in (N, int)) \
               or not isinstance(event[key], kind):
                sys.exit(f'line {number}: member {key!r} missing or not {kind}: {line!r}')
        extra = set(event) - set(members) - {'event'} - optional.get(event['event'], set())
        if extra:
            sys.exit(f'line {number}: undocumented members {sorted(extra)}: {line!r}')
        events.append(event)
for expect in expects:
    name, _, test = expect.partition('.')
    key, _, value = test.partition('=')
    if not any(e['event'] == name and (not key or json.dumps(e.get(key)) == value)
               for e in events):
        sys.exit(f'no line {expect}')
PY
}

echo "1..12"

# 1: --version
out=$("$cat_" --version 2>&1)
if [ $? -eq 0 ] && [[ $out =~ ^post-cat\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  ok "--version prints the version"
else
  not_ok "--version prints the version: $out"
fi

# 2-3: -4 to a name reaches the IPv4 listener; -6 to the same name has
# nothing to try (localhost is 127.0.0.1 at least) and fails in one line,
# as -6 to an IPv4 literal does, naming the option
if start_listener v4 --echo --once; then
  echo four | timeout -k 5 20 "$cat_" -v -4 "tcp://localhost:$port" >"$tmp/4.out" 2>"$tmp/4.err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(cat "$tmp/4.out")" = four ] && grep -q '^post-cat: connected via stack tcp from 127\.0\.0\.1:' "$tmp/4.err"; then
    ok "-4 tcp://localhost: goes from 127.0.0.1"
  else
    not_ok "-4 tcp://localhost: goes from 127.0.0.1 (exit $rc)" "$tmp/4.out" "$tmp/4.err" "$tmp/v4.err"
  fi
  wait_listener
else
  not_ok "listener starts" "$tmp/v4.err"
fi
if getent ahostsv6 localhost | grep -q '^::1 '; then
  skip "-6 tcp://localhost: localhost has the IPv6 address ::1 here"
else
  echo x | timeout -k 5 20 "$cat_" -6 "tcp://localhost:$port" >"$tmp/6.out" 2>"$tmp/6.err"
  rc=$?
  echo x | timeout -k 5 20 "$cat_" -6 "tcp://127.0.0.1:$port" >"$tmp/6l.out" 2>"$tmp/6l.err"
  rc2=$?
  if [ $rc -eq 1 ] && one_error_line "$tmp/6.err" && [ $rc2 -eq 1 ] && one_error_line "$tmp/6l.err" &&
     grep -q '^post-cat: -6: the remote 127.0.0.1 is not an IPv6 address$' "$tmp/6l.err"; then
    ok "-6 to an IPv4-only name or address: exit 1, one line"
  else
    not_ok "-6 to an IPv4-only name or address: exit 1, one line (exit $rc, $rc2)" "$tmp/6.err" "$tmp/6l.err"
  fi
fi

# 4: -6 over ::1, both sides (the listener's URI has no address: -6 makes it [::])
if ! ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/'; then
  skip "-6: the loopback has no ::1 here"
elif start_post_cat tcp://:0 v6 -6 --echo --once; then
  echo six | timeout -k 5 20 "$cat_" -v -6 "tcp://[::1]:$port" >"$tmp/6b.out" 2>"$tmp/6b.err"
  rc=$?
  wait_listener
  if [ "$(cat "$tmp/6b.out")" = six ] && grep -q '^post-cat: listening on \[::\]:' "$tmp/v6.err" &&
     grep -q '^post-cat: accepted a carrier from \[::1\]:' "$tmp/v6.err"; then
    ok "-6: a listener on [::], a client from [::1]"
  else
    not_ok "-6: a listener on [::], a client from [::1] (exit $rc)" "$tmp/6b.out" "$tmp/6b.err" "$tmp/v6.err"
  fi
else
  not_ok "-6 listener starts" "$tmp/v6.err"
fi

# 5: --local ADDRESS:PORT: the listener sees the carrier come from that port
# (a port free a moment ago: tried three times)
if start_listener local --echo; then
  done_=
  for try in 1 2 3; do
    lport=$(free_port)
    echo here | timeout -k 5 20 "$cat_" --local "127.0.0.1:$lport" "tcp://127.0.0.1:$port" \
      >"$tmp/lc.out" 2>"$tmp/lc.err" || continue
    for i in $(seq 50); do
      grep -q "^post-cat: accepted a carrier from 127\.0\.0\.1:$lport via stack tcp" "$tmp/local.err" && done_=1 && break
      sleep 0.1
    done
    [ -n "$done_" ] && break
  done
  kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null
  if [ -n "$done_" ] && [ "$(cat "$tmp/lc.out")" = here ]; then
    ok "--local 127.0.0.1:PORT: the carrier comes from that port"
  else
    not_ok "--local 127.0.0.1:PORT: the carrier comes from that port" "$tmp/lc.out" "$tmp/lc.err" "$tmp/local.err"
  fi
else
  not_ok "--local listener starts" "$tmp/local.err"
fi

# 6: --local with an address this host does not have, and --local with -4
# and an IPv6 address: exit 1, one line
echo x | timeout -k 5 20 "$cat_" --local 192.0.2.7 "tcp://127.0.0.1:9" >"$tmp/bad-local.out" 2>"$tmp/bad-local.err"
rc=$?
echo x | timeout -k 5 20 "$cat_" -4 --local ::1 "tcp://127.0.0.1:9" >"$tmp/bad-local4.out" 2>"$tmp/bad-local4.err"
rc2=$?
if [ $rc -eq 1 ] && one_error_line "$tmp/bad-local.err" && grep -q '192\.0\.2\.7' "$tmp/bad-local.err" &&
   [ $rc2 -eq 1 ] && grep -qx 'post-cat: ::1 is not an IPv4 address (-4)' "$tmp/bad-local4.err"; then
  ok "--local: an address not of this host, or of the other family: exit 1, one line"
else
  not_ok "--local: an address not of this host, or of the other family (exit $rc, $rc2)" \
    "$tmp/bad-local.err" "$tmp/bad-local4.err"
fi

# 7: --connect-timeout: a TLS handshake with a TCP peer that accepts and
# never answers fails with a timeout instead of waiting forever
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); time.sleep(60)' >"$tmp/mute.port" &
pids+=($!)
for i in $(seq 50); do [ -s "$tmp/mute.port" ] && break; sleep 0.1; done
echo x | timeout -k 5 30 "$cat_" --connect-timeout 1 "tls://127.0.0.1:$(cat "$tmp/mute.port")" \
  >"$tmp/timeout.out" 2>"$tmp/timeout.err"
rc=$?
if [ $rc -eq 1 ] && one_error_line "$tmp/timeout.err" && grep -qi 'timed out\|timeout' "$tmp/timeout.err"; then
  ok "--connect-timeout 1 to a mute peer: exit 1, a timeout"
else
  not_ok "--connect-timeout 1 to a mute peer: exit 1, a timeout (exit $rc)" "$tmp/timeout.err"
fi

# 8: bad --connect-timeout values; --local and --connect-timeout with --listen
bad=0
for args in "--connect-timeout -1" "--connect-timeout 0.0001" "--connect-timeout x" "--listen --local 127.0.0.1" \
            "--listen --connect-timeout 3" "-4 -6"; do
  # shellcheck disable=SC2086
  timeout -k 5 20 "$cat_" $args tcp://127.0.0.1:9 </dev/null >"$tmp/badopt.out" 2>"$tmp/badopt.err"
  rc=$?
  if [ $rc -ne 1 ] || ! one_error_line "$tmp/badopt.err"; then
    bad=1; echo "# $args: exit $rc"; sed 's/^/# /' "$tmp/badopt.err"
  fi
done
[ $bad -eq 0 ] && ok "bad option values and combinations: exit 1, one line" || not_ok "bad option values and combinations"

# 9: -o sets a stack option: tcp.user-timeout (30000, read as GVariant text)
# over a carrier that works, and unknown options, bad values and a
# malformed -o fail before anything is sent, naming the option
if start_listener opt --echo --once; then
  echo opt | timeout -k 5 20 "$cat_" -o tcp.user-timeout=30000 -o 'tcp.first-message-timeout=uint32 5000' \
    "tcp://127.0.0.1:$port" >"$tmp/o.out" 2>"$tmp/o.err"
  rc=$?
  wait_listener
  if [ "$(cat "$tmp/o.out")" = opt ]; then
    ok "-o tcp.user-timeout=30000 -o 'tcp.first-message-timeout=uint32 5000': the carrier works"
  else
    not_ok "-o tcp.user-timeout=30000: the carrier works (exit $rc)" "$tmp/o.out" "$tmp/o.err" "$tmp/opt.err"
  fi
else
  not_ok "-o listener starts" "$tmp/opt.err"
fi
bad=0
for o in tcp.no-such-option=1 tcp.user-timeout=soon tcp.user-timeout=-5 user-timeout=5 'Tcp.X=1' '=1'; do
  timeout -k 5 20 "$cat_" -o "$o" tcp://127.0.0.1:9 </dev/null >"$tmp/o-bad.out" 2>"$tmp/o-bad.err"
  rc=$?
  if [ $rc -ne 1 ] || ! one_error_line "$tmp/o-bad.err" || ! grep -qF -- "-o $o" "$tmp/o-bad.err"; then
    bad=1; echo "# -o $o: exit $rc"; sed 's/^/# /' "$tmp/o-bad.err"
  fi
done
[ $bad -eq 0 ] && ok "-o with an unknown option, a bad value or no FAMILY.OPTION=: exit 1, one line naming it" ||
  not_ok "-o with an unknown option, a bad value or no FAMILY.OPTION="

# 11: --json on both sides: each stderr line is one JSON object of the
# documented schema; the listener tells listening, accepted, carrier-closed;
# the client connected (with the stack and a null security over tcp)
listen_json () {
  timeout -k 5 60 "$cat_" --json --listen --echo --once tcp://127.0.0.1:0 >"$tmp/json-l.out" 2>"$tmp/json-l.err" &
  listener_pid=$!
  pids+=($listener_pid)
  port=
  for i in $(seq 100); do
    port=$(sed -n 's/^{"event":"listening","local":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$tmp/json-l.err")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  return 1
}
if listen_json; then
  printf 'j1\nj2\n' | timeout -k 5 20 "$cat_" --json "tcp://127.0.0.1:$port" >"$tmp/json-c.out" 2>"$tmp/json-c.err"
  rc=$?
  wait_listener
  if [ "$(cat "$tmp/json-c.out")" = "$(printf 'j1\nj2')" ] &&
     check_json "$tmp/json-c.err" connected 'connected.stack="tcp"' 'connected.security=null' >"$tmp/json-c.check" 2>&1 &&
     check_json "$tmp/json-l.err" listening accepted 'accepted.fork=false' carrier-closed >"$tmp/json-l.check" 2>&1; then
    ok "--json: client and listener events are JSON lines of the documented schema"
  else
    not_ok "--json: client and listener events are JSON lines of the documented schema (exit $rc)" \
      "$tmp/json-c.check" "$tmp/json-l.check" "$tmp/json-c.err" "$tmp/json-l.err"
  fi
else
  not_ok "--json listener starts" "$tmp/json-l.err"
fi

# 12: --json failures are the event "error", its message escaped: a URI
# holding a quote, a backslash and a tab is in the message and parses back
printf 'x\n' | timeout -k 5 20 "$cat_" --json $'tcp://no"such\\host\t:1' >"$tmp/json-e.out" 2>"$tmp/json-e.err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/json-e.err")" -eq 1 ] &&
   check_json "$tmp/json-e.err" error >"$tmp/json-e.check" 2>&1 &&
   python3 -c 'import json, sys; m = json.loads(open(sys.argv[1]).read())["message"]; sys.exit(0 if "no\"such\\host\t" in m else 1)' "$tmp/json-e.err"; then
  ok "--json: a failure is one error event, its message escaped"
else
  not_ok "--json: a failure is one error event, its message escaped (exit $rc)" "$tmp/json-e.check" "$tmp/json-e.err"
fi

[ "$failures" -eq 0 ]
