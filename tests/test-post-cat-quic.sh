#!/bin/bash
# test-post-cat-quic.sh: post-cat with quic:// URIs against itself over 127.0.0.1.
#
#   test-post-cat-quic.sh POST-CAT
#
# Certificates (a CA, and a server certificate for localhost / 127.0.0.1
# that it signed) are made with certtool in a temporary directory by
# make_cert of tests/test-lib.sh, as tests/test-post-cat-tls.sh does.
set -u
cat_=$1
. "$(dirname "$0")/test-lib.sh"
export XDG_CACHE_HOME="$tmp/cache"

# start_listener NAME ARGS...: post-cat -v --listen --echo ARGS quic://127.0.0.1:0
# (start_post_cat of tests/test-lib.sh)
listen_rest='via stack quic$'
start_listener () { start_post_cat quic://127.0.0.1:0 "$1" --echo "${@:2}"; }

stop_listener () { kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; }

# one_error_line FILE PATTERN: FILE holds exactly one line "post-cat: ..." matching PATTERN
one_error_line () {
  [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^post-cat: ' "$1" && grep -q "$2" "$1"
}

# client NAME URI-HOST ARGS...: printf 'a\nb\n' | post-cat ARGS quic://HOST:$port; exit status in $rc
client () {
  local name=$1 host=$2; shift 2
  printf 'a\nb\n' | timeout -k 5 20 "$cat_" "$@" "quic://$host:$port" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
}

echoed () { [ "$(od -c <"$1")" = "$(printf 'a\nb\n' | od -c)" ]; }

echo "1..17"

if ! command -v certtool >/dev/null ||
   ! make_cert ca - 'cn = "post-cat test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' ||
   ! make_cert server ca 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nexpiration_days = 2\n'; then
  for i in $(seq 17); do echo "not ok $i - certtool could not make the certificates"; done
  exit 1
fi

# 1-5: a listener with a certificate
if start_listener echo --cert "$tmp/server.pem" --key "$tmp/server.key"; then
  ok "quic listener with --cert/--key listens"

  # 2: a client trusting the CA gets its lines back; -v names the stack
  client ca 127.0.0.1 -v --ca "$tmp/ca.pem"
  if [ $rc -eq 0 ] && echoed "$tmp/ca.out" &&
     grep -q '^post-cat: connected via stack quic ' "$tmp/ca.err" &&
     grep -q '^post-cat: security: encrypted, session resumed: no' "$tmp/ca.err"; then
    ok "client with --ca: lines come back over quic, -v tells an encrypted carrier"
  else
    not_ok "client with --ca: lines come back over quic (exit $rc)" "$tmp/ca.out" "$tmp/ca.err" "$tmp/echo.err"
  fi

  # 3: by name (SNI and verification of localhost)
  client name localhost --ca "$tmp/ca.pem"
  if [ $rc -eq 0 ] && echoed "$tmp/name.out"; then
    ok "client to quic://localhost with --ca"
  else
    not_ok "client to quic://localhost with --ca (exit $rc)" "$tmp/name.out" "$tmp/name.err"
  fi

  # 4: no --ca: the system store does not know the test CA
  client noca 127.0.0.1
  if [ $rc -eq 1 ] && one_error_line "$tmp/noca.err" 'not issued by a trusted authority'; then
    ok "client without --ca: exit 1, one line naming the unknown authority"
  else
    not_ok "client without --ca: exit 1, one line naming the unknown authority (exit $rc)" "$tmp/noca.err"
  fi

  # 5: many lines (more than the flow-control windows hold)
  seq 1 30000 >"$tmp/many.in"
  timeout -k 5 30 "$cat_" --ca "$tmp/ca.pem" "quic://127.0.0.1:$port" <"$tmp/many.in" >"$tmp/many.out" 2>"$tmp/many.err"
  rc=$?
  if [ $rc -eq 0 ] && cmp -s "$tmp/many.in" "$tmp/many.out"; then
    ok "30000 lines come back in order"
  else
    not_ok "30000 lines come back in order (exit $rc)" "$tmp/many.err"
  fi
  stop_listener
  # 6: each line arrived once: a, b from the clients ca and name
  if [ "$(grep -c '^a$' "$tmp/echo.out")" -eq 2 ] && [ "$(grep -c '^b$' "$tmp/echo.out")" -eq 2 ] &&
     grep -q '^post-cat: accepted a carrier from 127.0.0.1:[0-9]* via stack quic (encrypted' "$tmp/echo.err"; then
    ok "the listener printed each line once and told the accepted quic carriers"
  else
    not_ok "the listener printed each line once" "$tmp/echo.out" "$tmp/echo.err"
  fi
else
  not_ok "quic listener with --cert/--key listens" "$tmp/echo.err"
  for i in 2 3 4 5 6; do not_ok "quic listener (skipped)"; done
fi

# 7: --stream: 1 MiB of bytes echoed byte for byte
head -c 1048576 /dev/urandom >"$tmp/bulk.in"
if start_listener stream --stream --cert "$tmp/server.pem" --key "$tmp/server.key"; then
  timeout -k 5 30 "$cat_" --stream --ca "$tmp/ca.pem" "quic://127.0.0.1:$port" <"$tmp/bulk.in" \
    >"$tmp/bulk.out" 2>"$tmp/bulk.err"
  rc=$?
  if [ $rc -eq 0 ] && cmp -s "$tmp/bulk.in" "$tmp/bulk.out"; then
    ok "--stream: 1 MiB echoed byte for byte"
  else
    not_ok "--stream: 1 MiB echoed byte for byte (exit $rc)" "$tmp/bulk.err" "$tmp/stream.err"
  fi
  stop_listener
else
  not_ok "--stream quic listener starts" "$tmp/stream.err"
fi

# 8: a listener without an identity: exit 1, one line
timeout -k 5 20 "$cat_" --listen quic://127.0.0.1:0 </dev/null >"$tmp/noid.out" 2>"$tmp/noid.err"
rc=$?
if [ $rc -eq 1 ] && one_error_line "$tmp/noid.err" 'identity\|certificate'; then
  ok "quic listener without --cert: exit 1, one line"
else
  not_ok "quic listener without --cert: exit 1, one line (exit $rc)" "$tmp/noid.err"
fi

# 9-10: resumption across processes (disk cache): the idempotent lines of
# the second run go in 0-RTT packets; the listener gets each line once, and
# (its debug messages, on its standard output) the second Initial carried
# the NEW_TOKEN token the first connection got
if listener_env=G_MESSAGES_DEBUG=PostQuic start_listener zerortt --cert "$tmp/server.pem" --key "$tmp/server.key"; then
  client first 127.0.0.1 -v -i --session-cache disk --ca "$tmp/ca.pem"
  client second 127.0.0.1 -v -i --session-cache disk --ca "$tmp/ca.pem"
  if [ $rc -eq 0 ] && echoed "$tmp/first.out" && echoed "$tmp/second.out" &&
     grep -q 'session resumed: no' "$tmp/first.err" &&
     grep -q '^post-cat: security: encrypted, session resumed: yes, early data: accepted' "$tmp/second.err"; then
    ok "-v: the second run resumes and its 0-RTT data is accepted"
  else
    not_ok "-v: the second run resumes and its 0-RTT data is accepted (exit $rc)" \
      "$tmp/first.err" "$tmp/second.out" "$tmp/second.err" "$tmp/zerortt.err"
  fi
  stop_listener
  if [ "$(grep -c '^a$' "$tmp/zerortt.out")" -eq 2 ] && [ "$(grep -c '^b$' "$tmp/zerortt.out")" -eq 2 ] &&
     grep -q 'via stack quic (encrypted, session resumed: yes, early data: accepted, ALPN libpost)' "$tmp/zerortt.err" &&
     grep -q 'carries a valid NEW_TOKEN token' "$tmp/zerortt.out"; then
    ok "the listener got each line once, tells the accepted 0-RTT data and saw the NEW_TOKEN token"
  else
    not_ok "the listener got each line once and tells the accepted 0-RTT data" "$tmp/zerortt.out" "$tmp/zerortt.err"
  fi
else
  not_ok "0-RTT quic listener starts" "$tmp/zerortt.err"
  not_ok "0-RTT (skipped)"
fi

# 11: --fork 3: four streams of one connection; the lines are dealt
# round-robin over them and all come back (in any order across streams);
# -v tells each fork as a new stream of the same connection, and the
# listener accepted three forks of its carrier
seq 1 40 >"$tmp/fork.in"
if start_listener fork --cert "$tmp/server.pem" --key "$tmp/server.key"; then
  timeout -k 5 20 "$cat_" -v --fork 3 --ca "$tmp/ca.pem" "quic://127.0.0.1:$port" <"$tmp/fork.in" \
    >"$tmp/forkc.out" 2>"$tmp/forkc.err"
  rc=$?
  sleep 0.2
  stop_listener
  if [ $rc -eq 0 ] && [ "$(sort -n "$tmp/forkc.out")" = "$(cat "$tmp/fork.in")" ] &&
     [ "$(grep -c "^post-cat: carrier [234] of 4: forked via stack quic from .*, a new stream of the first carrier's connection\$" "$tmp/forkc.err")" -eq 3 ] &&
     [ "$(grep -c '^post-cat: accepted a fork of a carrier from 127.0.0.1:[0-9]* via stack quic' "$tmp/fork.err")" -eq 3 ] &&
     [ "$(grep -c '^post-cat: accepted a carrier from' "$tmp/fork.err")" -eq 1 ] &&
     [ "$(sort -n "$tmp/fork.out")" = "$(cat "$tmp/fork.in")" ]; then
    ok "--fork 3: 40 lines over four streams of one connection come back, each once"
  else
    not_ok "--fork 3: 40 lines over four streams of one connection come back (exit $rc)" \
      "$tmp/forkc.out" "$tmp/forkc.err" "$tmp/fork.err"
  fi
else
  not_ok "--fork quic listener starts" "$tmp/fork.err"
fi

# 12: --fork with --stream: exit 1, one line
printf 'x' | timeout -k 5 20 "$cat_" --stream --fork 2 "quic://127.0.0.1:1" >"$tmp/forks.out" 2>"$tmp/forks.err"
rc=$?
if [ $rc -eq 1 ] && one_error_line "$tmp/forks.err" 'fork takes a count'; then
  ok "--fork with --stream: exit 1, one line"
else
  not_ok "--fork with --stream: exit 1, one line (exit $rc)" "$tmp/forks.err"
fi

# 13: a listener that exits as soon as its carrier reports closed (--once)
# has delivered its end of the stream first: a graceful close waits until
# the peer acknowledged it (post_psi_is_send_complete), so the client sees
# an orderly end, not a connection closed under it
head -c 300000 /dev/urandom >"$tmp/once.in"
timeout -k 5 30 "$cat_" -v --listen --once --stream --cert "$tmp/server.pem" --key "$tmp/server.key" \
  quic://127.0.0.1:0 >"$tmp/once.out" 2>"$tmp/once.err" &
listener_pid=$!
pids+=($listener_pid)
port=
for i in $(seq 100); do
  port=$(sed -n 's/^post-cat: listening on [^ ]*:\([0-9][0-9]*\) via stack quic$/\1/p' "$tmp/once.err" | head -n1)
  [ -n "$port" ] && break
  sleep 0.1
done
timeout -k 5 30 "$cat_" --stream -w 0 --ca "$tmp/ca.pem" "quic://127.0.0.1:$port" <"$tmp/once.in" \
  >"$tmp/once-client.out" 2>"$tmp/once-client.err"
rc=$?
wait "$listener_pid"
lrc=$?
if [ -n "$port" ] && [ $rc -eq 0 ] && [ $lrc -eq 0 ] && cmp -s "$tmp/once.in" "$tmp/once.out" &&
   [ ! -s "$tmp/once-client.err" ]; then
  ok "--once listener exits after its close reached the client: both exit 0, data intact"
else
  not_ok "--once listener exits after its close reached the client (client $rc, listener $lrc)" \
    "$tmp/once-client.err" "$tmp/once.err"
fi

# 14-15: --alpn against ngtcp2's HTTP/3 server (gtlsserver, Debian's
# ngtcp2-server), which refuses a client that does not offer h3: without
# --alpn the handshake fails in one line naming ALPN, with --alpn h3 it
# completes (what follows is no HTTP/3, so the server then closes: only the
# handshake is checked)
if ! command -v gtlsserver >/dev/null; then
  skip "--alpn: gtlsserver (ngtcp2-server) is not installed; ./run deps installs it"
  skip "--alpn h3 (skipped)"
else
  uport=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$tmp/htdocs"
  timeout -k 5 60 gtlsserver -q -d "$tmp/htdocs" 127.0.0.1 "$uport" "$tmp/server.key" "$tmp/server.pem" \
    >"$tmp/gtlsserver.out" 2>&1 &
  pids+=($!)
  sleep 0.5
  port=$uport
  client h3-none 127.0.0.1 --wait 1 --ca "$tmp/ca.pem"
  if [ $rc -eq 1 ] && one_error_line "$tmp/h3-none.err" 'application protocol'; then
    ok "no --alpn: ngtcp2's HTTP/3 server refuses the handshake, one line naming ALPN"
  else
    not_ok "no --alpn: ngtcp2's HTTP/3 server refuses the handshake (exit $rc)" "$tmp/h3-none.err" "$tmp/gtlsserver.out"
  fi
  client h3 127.0.0.1 -v --wait 1 --alpn h3 --ca "$tmp/ca.pem"
  if grep -q '^post-cat: connected via stack quic from 127.0.0.1:[0-9]* to 127.0.0.1:' "$tmp/h3.err" &&
     grep -q '^post-cat: security: encrypted, .*, ALPN h3$' "$tmp/h3.err"; then
    ok "--alpn h3: the handshake with ngtcp2's HTTP/3 server completes, -v tells ALPN h3"
  else
    not_ok "--alpn h3: the handshake with ngtcp2's HTTP/3 server completes (exit $rc)" "$tmp/h3.err" "$tmp/gtlsserver.out"
  fi
fi

# 16: --alpn on both post-cats: a client offering the listener's protocol
# among others is echoed, and both sides tell the protocol negotiated; a
# client that offers none of the listener's protocols is refused with the
# no_application_protocol alert (RFC 9001 8.1) and says so.
if start_listener alpn --alpn post-test --cert "$tmp/server.pem" --key "$tmp/server.key"; then
  client alpn-both 127.0.0.1 --json --alpn other --alpn post-test --ca "$tmp/ca.pem"
  if [ $rc -eq 0 ] && echoed "$tmp/alpn-both.out" &&
     grep -q '^{"event":"connected",.*"security":{.*"alpn":"post-test"}' "$tmp/alpn-both.err" &&
     grep -q '^post-cat: accepted a carrier from .*, ALPN post-test)$' "$tmp/alpn.err"; then
    ok "--alpn other --alpn post-test to a listener with --alpn post-test: echoed"
  else
    not_ok "--alpn other --alpn post-test to a listener with --alpn post-test: echoed (exit $rc)" \
      "$tmp/alpn-both.err" "$tmp/alpn.err"
  fi
  client alpn-none 127.0.0.1 --alpn other --ca "$tmp/ca.pem"
  if [ $rc -ne 0 ] && grep -q 'No supported application protocol' "$tmp/alpn-none.err"; then
    ok "--alpn other to a listener with --alpn post-test: refused, no_application_protocol"
  else
    not_ok "--alpn other to a listener with --alpn post-test: refused (exit $rc)" \
      "$tmp/alpn-none.err" "$tmp/alpn.err"
  fi
  kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null
else
  not_ok "--alpn listener starts" "$tmp/alpn.err"
fi

[ "$failures" -eq 0 ]
