#!/bin/bash
# test-examples-tls.sh: the tls examples (draft 3.1.2 and 3.1.5) against a
# post-cat tls echo listener on 127.0.0.1.
#
#   test-examples-tls.sh POST-CAT HAPPY-EYEBALLS-0RTT-CLIENT BOOTSTRAP-ASSOCIATION
#
# Certificates are made with certtool in a temporary directory, as
# tests/test-tls.c does; the listener has a certificate and a pre-shared key.
set -u
cat_=$1 he=$2 bootstrap=$3
. "$(dirname "$0")/test-lib.sh"
export XDG_CACHE_HOME="$tmp/cache"
psk_hex=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

# run NAME PROGRAM ARGS...: stdout, stderr in $tmp/NAME.{out,err}, status in $rc
run () {
  local name=$1; shift
  timeout -k 5 20 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
}

echo "1..8"
if ! command -v certtool >/dev/null ||
   ! make_cert ca - 'cn = "examples test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' ||
   ! make_cert server ca 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nexpiration_days = 2\n'; then
  for i in $(seq 8); do echo "not ok $i - certtool could not make the certificates"; done
  exit 1
fi
echo "client-1:$psk_hex" >"$tmp/psk"

timeout -k 5 60 "$cat_" -v --listen --echo --cert "$tmp/server.pem" --key "$tmp/server.key" --psk-file "$tmp/psk" \
  tls://127.0.0.1:0 >"$tmp/listener.out" 2>"$tmp/listener.err" &
pids+=($!)
port=
for i in $(seq 100); do
  port=$(sed -n 's/^post-cat: listening on [^ ]*:\([0-9][0-9]*\) via stack tls$/\1/p' "$tmp/listener.err" | head -n1)
  [ -n "$port" ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  for i in $(seq 8); do echo "not ok $i - the post-cat tls listener did not start"; done
  sed 's/^/# /' "$tmp/listener.err"
  exit 1
fi
ok "post-cat tls listener on port $port"

# happy-eyeballs-0rtt-client: a full handshake, then a resumed one whose
# idempotent hello went as accepted early data
run he "$he" 127.0.0.1 "$port" "$tmp/ca.pem"
if [ $rc -eq 0 ] && [ "$(wc -l <"$tmp/he.out")" -eq 2 ] &&
   grep -q '^1: "Hello!" from 127.0.0.1:[0-9]* in .* ms: full handshake, early data: not sent$' "$tmp/he.out" &&
   grep -q '^2: "Hello!" from 127.0.0.1:[0-9]* in .* ms: resumed, early data: accepted$' "$tmp/he.out"; then
  ok "happy-eyeballs-0rtt-client: full handshake, then resumed with accepted early data"
else
  not_ok "happy-eyeballs-0rtt-client: full handshake, then resumed with accepted early data (exit $rc)" \
    "$tmp/he.out" "$tmp/he.err"
fi

# by name: the addresses of localhost race, the name is verified
run he-name "$he" localhost "$port" "$tmp/ca.pem" "Hi there"
if [ $rc -eq 0 ] && [ "$(grep -c '^[12]: "Hi there" from ' "$tmp/he-name.out")" -eq 2 ]; then
  ok "happy-eyeballs-0rtt-client to localhost"
else
  not_ok "happy-eyeballs-0rtt-client to localhost (exit $rc)" "$tmp/he-name.out" "$tmp/he-name.err"
fi

# the system store does not know the test CA
run he-untrusted "$he" 127.0.0.1 "$port" -
if [ $rc -eq 1 ] && [ ! -s "$tmp/he-untrusted.out" ] && grep -q 'not issued by a trusted authority' "$tmp/he-untrusted.err"; then
  ok "happy-eyeballs-0rtt-client without the CA fails naming the unknown authority"
else
  not_ok "happy-eyeballs-0rtt-client without the CA fails naming the unknown authority (exit $rc)" \
    "$tmp/he-untrusted.out" "$tmp/he-untrusted.err"
fi

# bootstrap-association with trusted certificates, and with a pre-shared key
run boot-ca "$bootstrap" 127.0.0.1 "$port" ca "$tmp/ca.pem"
if [ $rc -eq 0 ] && [ "$(cat "$tmp/boot-ca.out")" = "$(printf 'Hello!\nauthenticated by the server'"'"'s certificate')" ]; then
  ok "bootstrap-association with an anchor certificate"
else
  not_ok "bootstrap-association with an anchor certificate (exit $rc)" "$tmp/boot-ca.out" "$tmp/boot-ca.err"
fi

run boot-psk "$bootstrap" 127.0.0.1 "$port" psk client-1 "$psk_hex"
if [ $rc -eq 0 ] && [ "$(cat "$tmp/boot-psk.out")" = "$(printf 'Hello!\nauthenticated by the pre-shared key')" ]; then
  ok "bootstrap-association with a pre-shared key"
else
  not_ok "bootstrap-association with a pre-shared key (exit $rc)" "$tmp/boot-psk.out" "$tmp/boot-psk.err"
fi

run boot-badpsk "$bootstrap" 127.0.0.1 "$port" psk client-1 "ffffffffffffffffffffffffffffffff"
if [ $rc -eq 1 ] && [ ! -s "$tmp/boot-badpsk.out" ] && grep -q 'pre-shared key' "$tmp/boot-badpsk.err"; then
  ok "bootstrap-association with a wrong key fails naming the pre-shared key"
else
  not_ok "bootstrap-association with a wrong key fails naming the pre-shared key (exit $rc)" \
    "$tmp/boot-badpsk.out" "$tmp/boot-badpsk.err"
fi

# The listener saw each hello once (2 + 2 + 1 + 1), early data once at least.
kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null
if [ "$(grep -c '^Hello!$' "$tmp/listener.out")" -eq 4 ] && [ "$(grep -c '^Hi there$' "$tmp/listener.out")" -eq 2 ] &&
   grep -q 'session resumed: yes, early data: accepted' "$tmp/listener.err"; then
  ok "the listener received each hello once"
else
  not_ok "the listener received each hello once" "$tmp/listener.out" "$tmp/listener.err"
fi

[ "$failures" -eq 0 ]
