#!/bin/bash
# test-post-cat-tls.sh: post-cat with tls:// URIs against itself over 127.0.0.1.
#
#   test-post-cat-tls.sh POST-CAT
#
# Certificates (a CA, and a server certificate for localhost / 127.0.0.1
# that it signed) are made with certtool in a temporary directory by
# make_cert of tests/test-lib.sh, as tests/test-tls.c does.  The session
# cache goes to that directory too.
set -u
cat_=$1
. "$(dirname "$0")/test-lib.sh"
export XDG_CACHE_HOME="$tmp/cache"

# start_listener NAME ARGS...: post-cat -v --listen --echo ARGS tls://127.0.0.1:0
# (start_post_cat of tests/test-lib.sh)
listen_rest='via stack tls$'
start_listener () { start_post_cat tls://127.0.0.1:0 "$1" --echo "${@:2}"; }

stop_listener () { kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; }

# one_error_line FILE PATTERN: FILE holds exactly one line "post-cat: ..." matching PATTERN
one_error_line () {
  [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^post-cat: ' "$1" && grep -q "$2" "$1"
}

# client NAME ARGS...: printf 'a\nb\n' | post-cat ARGS tls://127.0.0.1:$port; exit status in $rc
client () {
  local name=$1; shift
  printf 'a\nb\n' | timeout -k 5 20 "$cat_" "$@" "tls://127.0.0.1:$port" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
}

echoed () { [ "$(od -c <"$1")" = "$(printf 'a\nb\n' | od -c)" ]; }

echo "1..21"

if ! command -v certtool >/dev/null ||
   ! make_cert ca - 'cn = "post-cat test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' ||
   ! make_cert server ca 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nexpiration_days = 2\n'; then
  for i in $(seq 16); do echo "not ok $i - certtool could not make the certificates"; done
  exit 1
fi
# The pin of the server's key: the SHA-256 of its SubjectPublicKeyInfo (DER),
# in hex and in base64 (the usual openssl recipe).
openssl x509 -in "$tmp/server.pem" -pubkey -noout | openssl pkey -pubin -outform der >"$tmp/server.spki"
pin_hex=$(openssl dgst -sha256 -r <"$tmp/server.spki" | cut -d' ' -f1)
pin_b64=$(openssl dgst -sha256 -binary <"$tmp/server.spki" | openssl base64 -A)

# 1-2: a listener with a certificate; a client trusting its CA gets the echo
if start_listener echo --cert "$tmp/server.pem" --key "$tmp/server.key"; then
  ok "tls listener with --cert/--key listens"
  client ca -v --ca "$tmp/ca.pem"
  if [ $rc -eq 0 ] && echoed "$tmp/ca.out" &&
     grep -q '^post-cat: connected via stack tls ' "$tmp/ca.err" &&
     grep -q '^post-cat: security: encrypted, session resumed: no, early data: none$' "$tmp/ca.err"; then
    ok "client with --ca: lines come back, -v tells a full handshake"
  else
    not_ok "client with --ca: lines come back (exit $rc)" "$tmp/ca.out" "$tmp/ca.err" "$tmp/echo.err"
  fi

  # 3: no --ca: the system store does not know the test CA
  client noca
  if [ $rc -eq 1 ] && one_error_line "$tmp/noca.err" 'not issued by a trusted authority'; then
    ok "client without --ca: exit 1, one line naming the unknown authority"
  else
    not_ok "client without --ca: exit 1, one line naming the unknown authority (exit $rc)" "$tmp/noca.err"
  fi

  # 4: a pin that matches nothing
  client badpin --ca "$tmp/ca.pem" --pin sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
  if [ $rc -eq 1 ] && one_error_line "$tmp/badpin.err" 'matches a pinned key'; then
    ok "wrong --pin: exit 1, one line naming the pin mismatch"
  else
    not_ok "wrong --pin: exit 1, one line naming the pin mismatch (exit $rc)" "$tmp/badpin.err"
  fi

  # 5: the right pin, in hex and in base64, and the name localhost
  printf 'a\nb\n' | timeout -k 5 20 "$cat_" --ca "$tmp/ca.pem" --pin "$pin_hex" --pin "sha256/$pin_b64" \
    "tls://localhost:$port" >"$tmp/pin.out" 2>"$tmp/pin.err"
  rc=$?
  if [ -n "$pin_hex" ] && [ $rc -eq 0 ] && echoed "$tmp/pin.out"; then
    ok "right --pin (hex and base64) to localhost"
  else
    not_ok "right --pin (hex $pin_hex, base64 $pin_b64) to localhost (exit $rc)" "$tmp/pin.out" "$tmp/pin.err"
  fi

  # 6-7: resumption across processes (disk cache), idempotent lines as 0-RTT
  client first -v -i --session-cache disk --ca "$tmp/ca.pem"
  client second -v -i --session-cache disk --ca "$tmp/ca.pem"
  if [ $rc -eq 0 ] && echoed "$tmp/second.out" && echoed "$tmp/first.out" &&
     grep -q 'session resumed: no' "$tmp/first.err" &&
     grep -q '^post-cat: security: encrypted, session resumed: yes, early data: accepted' "$tmp/second.err"; then
    ok "-v: the second run resumes and its early data is accepted"
  else
    not_ok "-v: the second run resumes and its early data is accepted (exit $rc)" \
      "$tmp/first.err" "$tmp/second.out" "$tmp/second.err"
  fi
  stop_listener
  # each line arrived once: 2 (ca) + 2 (pin) + 2 + 2 (first, second)
  if [ "$(grep -c '^a$' "$tmp/echo.out")" -eq 4 ] && [ "$(grep -c '^b$' "$tmp/echo.out")" -eq 4 ] &&
     grep -q 'via stack tls (encrypted, session resumed: yes, early data: accepted)' "$tmp/echo.err"; then
    ok "the listener got each line once and tells the accepted early data"
  else
    not_ok "the listener got each line once and tells the accepted early data" "$tmp/echo.out" "$tmp/echo.err"
  fi
else
  not_ok "tls listener with --cert/--key listens" "$tmp/echo.err"
  for i in 2 3 4 5 6 7; do not_ok "tls listener (skipped)"; done
fi

# 8-10 (and 11-15 below): pre-shared keys only, no certificate anywhere
printf '# identity:hex key\nclient-1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\nclient-2:ffeeddccbbaa99887766554433221100\n' >"$tmp/psk"
printf 'client-1:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\n' >"$tmp/wrong-psk"
printf 'client-1:00112233\n' >"$tmp/short-psk"
printf 'client-2:ffeeddccbbaa99887766554433221100\n' >"$tmp/psk-2"
if start_listener pskl --psk-file "$tmp/psk"; then
  ok "tls listener with --psk-file only listens"
  client psk -v --psk-file "$tmp/psk"
  if [ $rc -eq 0 ] && echoed "$tmp/psk.out" &&
     grep -q '^post-cat: security: encrypted, pre-shared key, ' "$tmp/psk.err"; then
    ok "--psk-file: lines come back, authenticated by the pre-shared key"
  else
    not_ok "--psk-file: lines come back (exit $rc)" "$tmp/psk.out" "$tmp/psk.err" "$tmp/pskl.err"
  fi
  client wrongpsk --psk-file "$tmp/wrong-psk"
  if [ $rc -eq 1 ] && one_error_line "$tmp/wrongpsk.err" 'pre-shared key'; then
    ok "a wrong key: exit 1, one line naming the pre-shared key"
  else
    not_ok "a wrong key: exit 1, one line naming the pre-shared key (exit $rc)" "$tmp/wrongpsk.err"
  fi

  # 11-15: a session ticket serves only the security identity it came
  # from, also across processes (disk cache): the same key file resumes;
  # a wrong key for the same identity, or another identity, does not
  client pskdisk1 -v --session-cache disk --psk-file "$tmp/psk"
  client pskdisk2 -v --session-cache disk --psk-file "$tmp/psk"
  if [ $rc -eq 0 ] && echoed "$tmp/pskdisk2.out" &&
     grep -q 'session resumed: yes' "$tmp/pskdisk2.err"; then
    ok "--psk-file, disk cache: the second run with the same key resumes"
  else
    not_ok "--psk-file, disk cache: the second run with the same key resumes (exit $rc)" \
      "$tmp/pskdisk1.err" "$tmp/pskdisk2.err"
  fi
  client pskdiskwrong -v --session-cache disk --psk-file "$tmp/wrong-psk"
  if [ $rc -eq 1 ] && ! grep -q 'session resumed: yes' "$tmp/pskdiskwrong.err" &&
     grep -q '^post-cat: .*pre-shared key' "$tmp/pskdiskwrong.err"; then
    ok "disk cache, a wrong key for the same identity: no resumption, exit 1 naming the pre-shared key"
  else
    not_ok "disk cache, a wrong key for the same identity: no resumption, exit 1 (exit $rc)" \
      "$tmp/pskdiskwrong.out" "$tmp/pskdiskwrong.err"
  fi
  client pskdiskother -v --session-cache disk --psk-file "$tmp/psk-2"
  if [ $rc -eq 0 ] && echoed "$tmp/pskdiskother.out" &&
     grep -q 'session resumed: no' "$tmp/pskdiskother.err"; then
    ok "disk cache, another identity: a full handshake"
  else
    not_ok "disk cache, another identity: a full handshake (exit $rc)" "$tmp/pskdiskother.err"
  fi
  # a cache file others can read (or write) is not used
  client pskdisk3 -v --session-cache disk --psk-file "$tmp/psk"
  chmod 0644 "$XDG_CACHE_HOME"/libpost/sessions/*
  client pskdisk4 -v --session-cache disk --psk-file "$tmp/psk"
  if [ $rc -eq 0 ] && echoed "$tmp/pskdisk4.out" &&
     grep -q 'session resumed: yes' "$tmp/pskdisk3.err" &&
     grep -q 'session resumed: no' "$tmp/pskdisk4.err"; then
    ok "disk cache: a ticket file readable by others is not used"
  else
    not_ok "disk cache: a ticket file readable by others is not used (exit $rc)" \
      "$tmp/pskdisk3.err" "$tmp/pskdisk4.err"
  fi
  # nor one that another user owns (mode 0600 again)
  if [ "$(id -u)" -eq 0 ]; then
    rm -rf "$XDG_CACHE_HOME/libpost/sessions"
    client pskdisk5 -v --session-cache disk --psk-file "$tmp/psk"
    chown 65534 "$XDG_CACHE_HOME"/libpost/sessions/*
    client pskdisk6 -v --session-cache disk --psk-file "$tmp/psk"
    if [ $rc -eq 0 ] && echoed "$tmp/pskdisk6.out" &&
       [ "$(stat -c %a "$XDG_CACHE_HOME"/libpost/sessions/secret)" = 600 ] &&
       grep -q 'session resumed: no' "$tmp/pskdisk6.err"; then
      ok "disk cache: files another user owns are not used"
    else
      not_ok "disk cache: files another user owns are not used (exit $rc)" "$tmp/pskdisk5.err" "$tmp/pskdisk6.err"
    fi
  else
    skip "disk cache: files another user owns (needs root to chown them)"
  fi
  stop_listener
else
  not_ok "tls listener with --psk-file only listens" "$tmp/pskl.err"
  for i in $(seq 7); do not_ok "--psk-file (skipped)"; done
fi

# 16: a malformed --psk-file: exit 1, one line naming the file and line
timeout -k 5 20 "$cat_" --psk-file "$tmp/short-psk" tls://127.0.0.1:9 </dev/null >"$tmp/short.out" 2>"$tmp/short.err"
rc=$?
if [ $rc -eq 1 ] && one_error_line "$tmp/short.err" 'short-psk:1: expected IDENTITY:HEXKEY'; then
  ok "malformed --psk-file: exit 1, one line"
else
  not_ok "malformed --psk-file: exit 1, one line (exit $rc)" "$tmp/short.err"
fi

# 17: --fork 2 over tls: the listener with --echo receives both forks as
# fork requests of its first carrier (control frames inside TLS)
seq 1 30 >"$tmp/fork.in"
if start_listener fork --cert "$tmp/server.pem" --key "$tmp/server.key"; then
  timeout -k 5 20 "$cat_" -v --fork 2 --ca "$tmp/ca.pem" "tls://127.0.0.1:$port" <"$tmp/fork.in" \
    >"$tmp/forkc.out" 2>"$tmp/forkc.err"
  rc=$?
  kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null
  if [ $rc -eq 0 ] && [ "$(sort -n "$tmp/forkc.out")" = "$(cat "$tmp/fork.in")" ] &&
     [ "$(grep -c "^post-cat: carrier [23] of 3: forked via stack tls from .*, a new transport, received by the peer as a fork request of the first carrier\$" "$tmp/forkc.err")" -eq 2 ] &&
     [ "$(grep -c '^post-cat: accepted a fork of a carrier from 127.0.0.1:[0-9]* via stack tls' "$tmp/fork.err")" -eq 2 ] &&
     [ "$(grep -c '^post-cat: accepted a carrier from' "$tmp/fork.err")" -eq 1 ]; then
    ok "--fork 2: 30 lines over three TLS transports come back; the listener got two fork requests"
  else
    not_ok "--fork 2 over tls: fork requests (exit $rc)" "$tmp/forkc.out" "$tmp/forkc.err" "$tmp/fork.err"
  fi
else
  not_ok "--fork tls listener starts" "$tmp/fork.err"
fi


# 18: --proxy socks5:// through Debian's danted on loopback: the lines come
# back, -v names the proxy and what it was asked for, danted logged the
# connection, and TLS verified localhost (the remote), not the proxy
danted=$(command -v danted || echo /usr/sbin/danted)
if [ -x "$danted" ]; then
  dport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  user=; [ "$(id -u)" -eq 0 ] && user='user.privileged: root
user.unprivileged: nobody'
  cat >"$tmp/danted.conf" <<EOF
logoutput: $tmp/danted.log
internal: 127.0.0.1 port = $dport
external: 127.0.0.1
clientmethod: none
socksmethod: none
$user
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
  log: connect
}
EOF
  "$danted" -f "$tmp/danted.conf" -p "$tmp/danted.pid" -N 1 >/dev/null 2>&1 &
  pids+=($!)
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$dport") 2>/dev/null && break
    sleep 0.1
  done
  if start_listener proxied --cert "$tmp/server.pem" --key "$tmp/server.key"; then
    printf 'a\nb\n' | timeout -k 5 20 "$cat_" -v --ca "$tmp/ca.pem" --proxy "socks5://127.0.0.1:$dport" \
      "tls://localhost:$port" >"$tmp/proxied.out" 2>"$tmp/proxiedc.err"
    rc=$?
    if [ $rc -eq 0 ] && echoed "$tmp/proxied.out" &&
       grep -q "^post-cat: connected via stack tls from .* to 127.0.0.1:$dport," "$tmp/proxiedc.err" &&
       grep -q "^post-cat: through the socks5 proxy 127.0.0.1:$dport, asked for localhost port $port\$" "$tmp/proxiedc.err" &&
       grep -q "tcp/connect \[: .* 127.0.0.1.$port\$" "$tmp/danted.log"; then
      ok "--proxy socks5:// (danted): lines come back through the proxy, -v names it"
    else
      not_ok "--proxy socks5:// through danted (exit $rc)" "$tmp/proxied.out" "$tmp/proxiedc.err" "$tmp/danted.log"
    fi
    stop_listener
  else
    not_ok "tls listener for --proxy starts" "$tmp/proxied.err"
  fi
else
  skip "--proxy: danted (Debian's dante-server) is not installed; ./run deps installs it"
fi

# 19: --proxy to a dead proxy: exit 1, one line naming the proxy
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout -k 5 20 "$cat_" --proxy "http://127.0.0.1:$dead" "tls://localhost:9" </dev/null >"$tmp/dead.out" 2>"$tmp/dead.err"
rc=$?
if [ $rc -eq 1 ] && one_error_line "$tmp/dead.err" "through http://127.0.0.1:$dead: TCP connection to 127.0.0.1:$dead failed"; then
  ok "--proxy to a dead proxy: exit 1, one line naming it"
else
  not_ok "--proxy to a dead proxy: exit 1, one line (exit $rc)" "$tmp/dead.err"
fi

# 20-21: --alpn against gnutls-serv --alpn=post-test --alpn-fatal, which
# refuses a client offering only other protocols: --alpn other fails in one
# line naming ALPN; --alpn other --alpn post-test (with --stream: gnutls-serv
# echoes bytes, not libpost's framing) comes back
aport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout -k 5 60 gnutls-serv --echo -p "$aport" --x509certfile "$tmp/server.pem" --x509keyfile "$tmp/server.key" \
  --alpn=post-test --alpn-fatal >"$tmp/gnutls-serv.out" 2>&1 &
pids+=($!)
for i in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$aport") 2>/dev/null && break
  sleep 0.1
done
echo x | timeout -k 5 20 "$cat_" --alpn other --ca "$tmp/ca.pem" "tls://127.0.0.1:$aport" \
  >"$tmp/alpn-other.out" 2>"$tmp/alpn-other.err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/alpn-other.err")" -eq 1 ] && grep -q '^post-cat: .*application protocol' "$tmp/alpn-other.err"; then
  ok "--alpn other to gnutls-serv --alpn-fatal: refused, one line naming ALPN"
else
  not_ok "--alpn other to gnutls-serv --alpn-fatal: refused, one line naming ALPN (exit $rc)" \
    "$tmp/alpn-other.err" "$tmp/gnutls-serv.out"
fi
printf 'alpn\n' | timeout -k 5 20 "$cat_" -v --stream --wait 1 --alpn other --alpn post-test --ca "$tmp/ca.pem" \
  "tls://127.0.0.1:$aport" >"$tmp/alpn.out" 2>"$tmp/alpn.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$tmp/alpn.out")" = alpn ] &&
   grep -q '^post-cat: security: encrypted, .*, ALPN post-test$' "$tmp/alpn.err"; then
  ok "--alpn other --alpn post-test to gnutls-serv --alpn-fatal: echoed, -v tells ALPN post-test"
else
  not_ok "--alpn other --alpn post-test to gnutls-serv --alpn-fatal: echoed (exit $rc)" \
    "$tmp/alpn.out" "$tmp/alpn.err" "$tmp/gnutls-serv.out"
fi

[ "$failures" -eq 0 ]
