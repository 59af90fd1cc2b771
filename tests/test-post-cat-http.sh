#!/bin/bash
# test-post-cat-http.sh: post-cat --framer http against nginx (Debian's
# nginx-light) serving files on 127.0.0.1, over tcp and tls (https:// raced
# against quic, which finds no HTTP/3 there), against ngtcp2's gtlsserver
# (HTTP/3 only: quic wins), and
# post-cat --framer websocket against python3-websockets' echo server
# (tests/websocket-peer.py), over tcp and tls.
#
#   test-post-cat-http.sh POST-CAT [HTTP-GET]
#
# HTTP-GET, examples/http-get, gets files from the same nginx (http:// and
# https://) and gtlsserver.
#
# The certificates (a CA, and a server certificate for localhost /
# 127.0.0.1 that it signed) are made with certtool by make_cert of
# tests/test-lib.sh; post-cat trusts the CA with --ca.
set -u
cat_=$1
http_get=${2:-}
. "$(dirname "$0")/test-lib.sh"
peer_py=${G_TEST_SRCDIR:-$(dirname "$0")}/websocket-peer.py
python=/usr/bin/python3   # Debian's, which has python3-websockets

echo "1..18"

# a free TCP port on 127.0.0.1 (for nginx)
free_tcp_port () {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# get NAME ARGS...: post-cat --framer http ARGS </dev/null; output in
# $tmp/NAME.{out,err}, exit status in $rc
get () {
  local name=$1; shift
  timeout -k 5 60 "$cat_" --framer http "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
}

have_certs=false
if command -v certtool >/dev/null &&
   make_cert ca - 'cn = "post-cat http test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' &&
   make_cert server ca 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nexpiration_days = 2\n'; then
  have_certs=true
fi

# ---- nginx ------------------------------------------------------------------
nginx=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; })
mkdir -p "$tmp/www" "$tmp/nginx-tmp"
head -c 3000000 /dev/urandom >"$tmp/www/big.bin"     # several partial receives
printf 'hello from nginx\n' >"$tmp/www/hello.txt"
started=false
if [ -n "$nginx" ]; then
  port=$(free_tcp_port)
  tls_port=$(free_tcp_port)
  tls_server=
  if $have_certs; then
    tls_server="server { listen 127.0.0.1:$tls_port ssl; ssl_protocols TLSv1.3; ssl_certificate $tmp/server.pem;
      ssl_certificate_key $tmp/server.key; root $tmp/www; }"
  fi
  cat >"$tmp/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
error_log $tmp/nginx-error.log; pid $tmp/nginx.pid;
events { worker_connections 64; }
http {
  access_log off; default_type application/octet-stream; gzip off;
  client_body_temp_path $tmp/nginx-tmp; proxy_temp_path $tmp/nginx-tmp; fastcgi_temp_path $tmp/nginx-tmp;
  uwsgi_temp_path $tmp/nginx-tmp; scgi_temp_path $tmp/nginx-tmp;
  server {
    listen 127.0.0.1:$port; root $tmp/www;
    # sub_filter drops the Content-Length: these responses are chunked
    location /chunked/ { alias $tmp/www/; sub_filter_types *; sub_filter '@@libpost-never@@' 'x'; sub_filter_once off; }
  }
  $tls_server
}
EOF
  "$nginx" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" >/dev/null 2>&1 &
  pids+=($!)
  for i in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then started=true; break; fi
    sleep 0.1
  done
fi

if ! $started; then
  for i in $(seq 7); do skip "nginx (nginx-light) is not installed or did not start"; done
else
  # 1: a 3 MB body with Content-Length, byte for byte
  get big "http://127.0.0.1:$port/big.bin"
  if [ $rc -eq 0 ] && cmp -s "$tmp/big.out" "$tmp/www/big.bin" && [ ! -s "$tmp/big.err" ]; then
    ok "GET of a 3 MB file: the body on stdout, byte for byte, nothing on stderr"
  else
    not_ok "GET of a 3 MB file: the body on stdout, byte for byte (exit $rc)" "$tmp/big.err"
  fi

  # 2: chunked
  get chunked "http://127.0.0.1:$port/chunked/big.bin"
  if [ $rc -eq 0 ] && cmp -s "$tmp/chunked.out" "$tmp/www/big.bin"; then
    ok "GET of a chunked 3 MB response: byte for byte"
  else
    not_ok "GET of a chunked 3 MB response: byte for byte (exit $rc)" "$tmp/chunked.err"
  fi

  # 3: -v: the status line and the header fields on stderr, the body alone on stdout
  get verbose -v "http://127.0.0.1:$port/hello.txt"
  if [ $rc -eq 0 ] && [ "$(cat "$tmp/verbose.out")" = "hello from nginx" ] &&
     grep -q '^post-cat: connected via stack tcp from 127\.0\.0\.1:[0-9]* to 127\.0\.0\.1:'"$port"'$' "$tmp/verbose.err" &&
     grep -q '^HTTP/1\.1 200 OK$' "$tmp/verbose.err" &&
     grep -qi '^Content-Length: 17$' "$tmp/verbose.err" && grep -qi '^Server: nginx' "$tmp/verbose.err"; then
    ok "-v: the status line and header fields on stderr, the body on stdout"
  else
    not_ok "-v: the status line and header fields on stderr (exit $rc)" "$tmp/verbose.out" "$tmp/verbose.err"
  fi

  # 4: 404: exit 1, one line naming the status, no body printed
  get missing "http://127.0.0.1:$port/missing?x=1"
  if [ $rc -eq 1 ] && [ ! -s "$tmp/missing.out" ] && [ "$(wc -l <"$tmp/missing.err")" -eq 1 ] &&
     grep -q "^post-cat: http://127.0.0.1:$port/missing?x=1: 404 Not Found$" "$tmp/missing.err"; then
    ok "404: exit 1, one line naming the status, no body on stdout"
  else
    not_ok "404: exit 1, one line naming the status (exit $rc)" "$tmp/missing.out" "$tmp/missing.err"
  fi

  # 5: https:// against nginx over tls, with the test CA: ALPN http/1.1
  if $have_certs; then
    get tls -v --ca "$tmp/ca.pem" "https://localhost:$tls_port/big.bin"
    if [ $rc -eq 0 ] && cmp -s "$tmp/tls.out" "$tmp/www/big.bin" &&
       grep -q '^post-cat: connected via stack tls .*, ALPN http/1\.1$' "$tmp/tls.err" &&
       grep -q '^HTTP/1\.1 200 OK$' "$tmp/tls.err"; then
      ok "https:// over tls: the 3 MB body byte for byte, ALPN http/1.1"
    else
      not_ok "https:// over tls: the 3 MB body byte for byte, ALPN http/1.1 (exit $rc)" "$tmp/tls.err"
    fi
    # 6: without the CA: exit 1, one line naming the unknown authority
    get untrusted "https://localhost:$tls_port/hello.txt"
    if [ $rc -eq 1 ] && [ ! -s "$tmp/untrusted.out" ] && [ "$(wc -l <"$tmp/untrusted.err")" -eq 1 ] &&
       grep -q '^post-cat: .*not issued by a trusted authority' "$tmp/untrusted.err"; then
      ok "https:// without --ca: exit 1, one line naming the unknown authority"
    else
      not_ok "https:// without --ca: exit 1, one line (exit $rc)" "$tmp/untrusted.err"
    fi
  else
    skip "certtool could not make the certificates"
    skip "certtool could not make the certificates"
  fi

  # 7: a body is not held whole: the peak resident size of post-cat getting
  # 64 MB stays within 32 MB of its peak for a 17-byte file (GNU time's
  # %M, in kB; under ASan with a small quarantine, which would otherwise
  # keep what was freed)
  head -c 64000000 /dev/zero >"$tmp/www/huge.bin"
  if [ -x /usr/bin/time ]; then
    peak () {
      ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1 timeout -k 5 60 \
        /usr/bin/time -f %M -o "$tmp/$1.rss" "$cat_" --framer http "http://127.0.0.1:$port/$2" \
        </dev/null 2>"$tmp/$1.err" | wc -c >"$tmp/$1.count"
      tail -n1 "$tmp/$1.rss"
    }
    small=$(peak small hello.txt)
    most=$(peak huge huge.bin)
    if [ "$(cat "$tmp/huge.count")" -eq 64000000 ] && [ -n "$most" ] && [ -n "$small" ] &&
       [ "$most" -lt $((small + 32000)) ]; then
      ok "a 64 MB body streams: all of it arrives, post-cat peaks at ${most} kB (${small} kB for 17 bytes)"
    else
      not_ok "a 64 MB body streams: post-cat peaks within 32 MB of ${small:-?} kB (${most:-?} kB, $(cat "$tmp/huge.count") bytes)" "$tmp/huge.err"
    fi
  else
    skip "no /usr/bin/time (GNU time) to measure the peak resident size"
  fi
fi

# 8-9: examples/http-get: the 3 MB body byte for byte; 404 exits 1
if ! $started || [ -z "$http_get" ]; then
  skip "nginx did not start, or the examples are not built"
  skip "nginx did not start, or the examples are not built"
else
  timeout -k 5 60 "$http_get" "http://127.0.0.1:$port/big.bin" >"$tmp/example.out" 2>"$tmp/example.err"
  rc=$?
  if [ $rc -eq 0 ] && cmp -s "$tmp/example.out" "$tmp/www/big.bin"; then
    ok "examples/http-get: the 3 MB body byte for byte"
  else
    not_ok "examples/http-get: the 3 MB body byte for byte (exit $rc)" "$tmp/example.err"
  fi
  timeout -k 5 60 "$http_get" "http://127.0.0.1:$port/missing" >"$tmp/example404.out" 2>"$tmp/example404.err"
  rc=$?
  if [ $rc -eq 1 ] && [ ! -s "$tmp/example404.out" ] && grep -q '^http-get: .*404' "$tmp/example404.err"; then
    ok "examples/http-get: 404 exits 1 with the status"
  else
    not_ok "examples/http-get: 404 exits 1 with the status (exit $rc)" "$tmp/example404.err"
  fi
fi
# example_https NAME PORT PROTOCOL WHAT: examples/http-get of
# https://127.0.0.1:PORT/big.bin trusting the test CA: the body byte for
# byte, over PROTOCOL (the ALPN that won)
example_https () {
  timeout -k 5 60 "$http_get" "https://127.0.0.1:$2/big.bin" "$tmp/ca.pem" >"$tmp/$1.out" 2>"$tmp/$1.err"
  rc=$?
  if [ $rc -eq 0 ] && cmp -s "$tmp/$1.out" "$tmp/www/big.bin" && grep -qF "http-get: 200 over $3" "$tmp/$1.err"; then
    ok "examples/http-get https:// against $4, byte for byte"
  else
    not_ok "examples/http-get https:// against $4, byte for byte (exit $rc)" "$tmp/$1.err"
  fi
}

# 10: examples/http-get of an https:// URL against nginx: tls wins
if ! $started || [ -z "$http_get" ] || ! $have_certs; then
  skip "nginx did not start, no certificates, or the examples are not built"
else
  example_https example-tls "$tls_port" http/1.1 "nginx: HTTP/1.1 over tls"
fi

# 11: https:// against gtlsserver (HTTP/3 only): quic with h3 wins the race
# over tls (nothing listens on TCP), the 3 MB body byte for byte
gtls=$(command -v gtlsserver)
if [ -z "$gtls" ] || ! $have_certs || ! command -v ss >/dev/null; then
  skip "gtlsserver (ngtcp2-server), certtool or ss is missing"
else
  h3_port=$("$python" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  timeout -k 5 60 "$gtls" -q -d "$tmp/www" 127.0.0.1 "$h3_port" "$tmp/server.key" "$tmp/server.pem" \
    >/dev/null 2>&1 &
  pids+=($!)
  for i in $(seq 100); do
    [ -n "$(ss -Hlun "sport = :$h3_port")" ] && break
    sleep 0.1
  done
  get h3 -v --ca "$tmp/ca.pem" "https://127.0.0.1:$h3_port/big.bin"
  if [ $rc -eq 0 ] && cmp -s "$tmp/h3.out" "$tmp/www/big.bin" &&
     grep -q '^post-cat: connected via stack quic .*, ALPN h3$' "$tmp/h3.err" &&
     grep -q '^HTTP/3 200$' "$tmp/h3.err"; then
    ok "https:// against gtlsserver: quic and h3 win, the 3 MB body byte for byte"
  else
    not_ok "https:// against gtlsserver: quic and h3 win (exit $rc)" "$tmp/h3.err"
  fi
fi
# 12: examples/http-get against gtlsserver: HTTP/3
if [ -z "$gtls" ] || ! $have_certs || [ -z "$http_get" ]; then
  skip "gtlsserver, certtool or the examples are missing"
else
  example_https example-h3 "$h3_port" h3 "gtlsserver: HTTP/3 over quic"
fi

# 13-14: what --framer does not take: exit 1, one line
timeout -k 5 20 "$cat_" --framer http "tcp://127.0.0.1:1" </dev/null >"$tmp/scheme.out" 2>"$tmp/scheme.err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/scheme.err")" -eq 1 ] &&
   grep -q '^post-cat: --framer: --framer http takes a http:// or https:// URI' "$tmp/scheme.err"; then
  ok "--framer http with a tcp:// URI: exit 1, one line"
else
  not_ok "--framer http with a tcp:// URI: exit 1, one line (exit $rc)" "$tmp/scheme.err"
fi
timeout -k 5 20 "$cat_" --framer gopher "http://127.0.0.1:1/" </dev/null >"$tmp/gopher.out" 2>"$tmp/gopher.err"
rc=$?
if [ $rc -eq 1 ] && grep -q '^post-cat: --framer: --framer is http or websocket' "$tmp/gopher.err"; then
  ok "--framer gopher: exit 1, one line"
else
  not_ok "--framer gopher: exit 1, one line (exit $rc)" "$tmp/gopher.err"
fi

# ---- python3-websockets ----------------------------------------------------

# start_peer NAME ARGS...: websocket-peer.py server ARGS; sets $ws_port
start_peer () {
  local name=$1; shift
  timeout -k 5 60 "$python" "$peer_py" server "$@" >"$tmp/$name.peer" 2>"$tmp/$name.peer-err" &
  peer_pid=$!
  pids+=($peer_pid)
  ws_port=
  for i in $(seq 100); do
    ws_port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$tmp/$name.peer")
    [ -n "$ws_port" ] && return 0
    kill -0 "$peer_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# the peer printed "closed 1000 " once the client had closed (it prints
# after the close handshake, so wait for it a little)
peer_saw_close () {
  for i in $(seq 50); do
    grep -q '^closed 1000 $' "$tmp/$1.peer" && return 0
    sleep 0.1
  done
  return 1
}

lines=$'hello\nh\xc3\xa9llo, w\xc3\xb6rld\n\nlast line'
if ! "$python" -c 'import websockets' 2>/dev/null; then
  for i in $(seq 4); do skip "python3-websockets is not installed"; done
else
  # 15: ws://: every line comes back as a text message, then the close handshake
  if start_peer ws; then
    printf '%s\n' "$lines" | timeout -k 5 20 "$cat_" --framer websocket -v "ws://127.0.0.1:$ws_port/chat?room=1" \
      >"$tmp/ws.out" 2>"$tmp/ws.err"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(cat "$tmp/ws.out")" = "$lines" ] && peer_saw_close ws &&
       grep -q '^post-cat: the peer answered our close: code 1000$' "$tmp/ws.err"; then
      ok "ws://: each line echoed as a text message, close 1000 at the end of input"
    else
      not_ok "ws://: each line echoed as a text message (exit $rc)" "$tmp/ws.out" "$tmp/ws.err" "$tmp/ws.peer" "$tmp/ws.peer-err"
    fi
    # 16: no input: only the handshakes
    timeout -k 5 20 "$cat_" --framer websocket "ws://127.0.0.1:$ws_port/" </dev/null >"$tmp/empty.out" 2>"$tmp/empty.err"
    rc=$?
    if [ $rc -eq 0 ] && [ ! -s "$tmp/empty.out" ] && [ ! -s "$tmp/empty.err" ]; then
      ok "ws:// without input: the opening and close handshakes, exit 0"
    else
      not_ok "ws:// without input: exit 0 (exit $rc)" "$tmp/empty.out" "$tmp/empty.err"
    fi
    kill "$peer_pid" 2>/dev/null; wait "$peer_pid" 2>/dev/null
  else
    not_ok "the python3-websockets peer starts" "$tmp/ws.peer-err"
    not_ok "the python3-websockets peer starts"
  fi
  # 17: wss:// against the peer over TLS, with the test CA
  if $have_certs && start_peer wss "$tmp/server.pem" "$tmp/server.key"; then
    printf '%s\n' "$lines" | timeout -k 5 20 "$cat_" --framer websocket -v --ca "$tmp/ca.pem" \
      "wss://localhost:$ws_port/" >"$tmp/wss.out" 2>"$tmp/wss.err"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(cat "$tmp/wss.out")" = "$lines" ] && peer_saw_close wss &&
       grep -q '^post-cat: connected via stack tls ' "$tmp/wss.err"; then
      ok "wss://: each line echoed over tls, close 1000"
    else
      not_ok "wss://: each line echoed over tls (exit $rc)" "$tmp/wss.out" "$tmp/wss.err" "$tmp/wss.peer-err"
    fi
    kill "$peer_pid" 2>/dev/null; wait "$peer_pid" 2>/dev/null
  else
    skip "no certificates, or the TLS peer did not start"
  fi
  # 18: a server that is not WebSocket (nginx answers the upgrade with a
  # plain response): exit 1, one line
  if $started; then
    echo x | timeout -k 5 20 "$cat_" --framer websocket "ws://127.0.0.1:$port/hello.txt" >"$tmp/notws.out" 2>"$tmp/notws.err"
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/notws.err")" -eq 1 ] && grep -q '^post-cat: ' "$tmp/notws.err"; then
      ok "ws:// to a server that does not upgrade: exit 1, one line"
    else
      not_ok "ws:// to a server that does not upgrade: exit 1, one line (exit $rc)" "$tmp/notws.out" "$tmp/notws.err"
    fi
  else
    skip "nginx did not start"
  fi
fi

[ "$failures" -eq 0 ]
