#!/bin/bash
# listener-rss.sh: a listener's resident memory under attack, and whether a
# real peer is still served (issue 12 item 4)
#
#   bench/listener-rss.sh [-b BUILD] [-n N] [STACK...]
#
#   STACK   udp, tcp, tls or quic (default: all four)
#   -b      the build tree whose post-cat and plugins listen (default
#           _build): point it at a build of an older commit for "before"
#   -n      the size of each attack (default: udp 10000, tcp and tls 2000,
#           quic 1200)
#   -f      the listener's soft descriptor limit (default 1024, the usual)
#
# For each stack: `post-cat --listen --echo` on 127.0.0.1 (tls and quic with
# a certificate made by certtool), its VmRSS (/proc/PID/status) once
# listening, then bench/listener-flood.py attacks it (udp: datagrams from N
# source addresses of 127.0.0.0/8; tcp, tls: N connections that never send a
# byte; quic: N connections from 127.0.0.1, established and held), and with
# the attack still in place: VmRSS, its open descriptors, and whether a real
# peer gets its echo (post-cat of this tree's _build; quic: from 127.0.0.2).
# The listener runs with the defaults and a soft descriptor limit of 1024
# (-f).  One line per stack.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
here=$PWD

build=_build n= nofile=1024
while getopts b:n:f: opt; do
  case $opt in
    b) build=$OPTARG ;;
    n) n=$OPTARG ;;
    f) nofile=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
stacks=("$@")
[ ${#stacks[@]} -eq 0 ] && stacks=(udp tcp tls quic)
build=$(readlink -f "$build")

plugin_path () { local d dirs=(); for d in "$1"/plugins/*/; do dirs+=("${d%/}"); done; (IFS=:; echo "${dirs[*]}"); }

work=$(mktemp -d)
listener_pid= flood_pid=
cleanup () {
  [ -n "$flood_pid" ] && kill "$flood_pid" 2>/dev/null || true
  [ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A CA and a server certificate for 127.0.0.1
certtool --generate-privkey --key-type=ecdsa --outfile "$work/ca.key" 2>/dev/null
printf 'cn = listener-rss CA\nca\ncert_signing_key\nexpiration_days = 2\n' > "$work/ca.tmpl"
certtool --generate-self-signed --load-privkey "$work/ca.key" --template "$work/ca.tmpl" \
  --outfile "$work/ca.pem" 2>/dev/null
certtool --generate-privkey --key-type=ecdsa --outfile "$work/server.key" 2>/dev/null
printf 'cn = 127.0.0.1\nip_address = 127.0.0.1\ndns_name = localhost\ntls_www_server\nexpiration_days = 2\n' \
  > "$work/server.tmpl"
certtool --generate-certificate --load-privkey "$work/server.key" --load-ca-certificate "$work/ca.pem" \
  --load-ca-privkey "$work/ca.key" --template "$work/server.tmpl" --outfile "$work/server.pem" 2>/dev/null

rss () { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fds () { ls "/proc/$1/fd" | wc -l; }
free_port () { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Whether a real peer gets its echo within 10 s (quic: from 127.0.0.2, the
# attack's address being at its limit)
served () {
  local stack=$1 port=$2 out
  if [ "$stack" = quic ]; then
    GI_TYPELIB_PATH=$here/_build/libpost LD_LIBRARY_PATH=$here/_build/libpost \
      POST_PLUGIN_PATH=$(plugin_path "$here/_build") POST_PLUGIN_SYSTEM_PATH= POST_POLICY_PATH= \
      timeout 20 /usr/bin/python3 "$here/bench/listener-flood.py" probe-quic "$port" "$work/ca.pem" 2>/dev/null \
      || echo no
    return
  fi
  local args=(-w 10)
  case $stack in
    udp) args+=(-S udp) ;;
    tls|quic) args+=(--ca "$work/ca.pem") ;;
  esac
  out=$(echo real-peer | POST_PLUGIN_PATH=$(plugin_path "$here/_build") POST_PLUGIN_SYSTEM_PATH= POST_POLICY_PATH= \
          timeout 20 "$here/_build/tools/post-cat" "${args[@]}" "$stack://127.0.0.1:$port" 2>/dev/null) || true
  [ "$out" = real-peer ] && echo yes || echo no
}

echo "listener: $build, soft RLIMIT_NOFILE $nofile"
printf '%-5s %-12s %10s %10s %8s %6s  %s\n' stack build "rss-before" "rss-after" "fds" served attack
for stack in "${stacks[@]}"; do
  port=$(free_port)
  largs=(-l -e)
  case $stack in
    udp) count=${n:-10000}; largs+=(-S udp) ;;
    tcp) count=${n:-2000} ;;
    tls) count=${n:-2000}; largs+=(--cert "$work/server.pem" --key "$work/server.key") ;;
    quic) count=${n:-1200}; largs+=(--cert "$work/server.pem" --key "$work/server.key") ;;
    *) echo "unknown stack $stack" >&2; exit 2 ;;
  esac
  # (the usual soft descriptor limit, whatever this shell has)
  (ulimit -Sn "$nofile"
   POST_PLUGIN_PATH=$(plugin_path "$build") POST_PLUGIN_SYSTEM_PATH= POST_POLICY_PATH= \
     exec "$build/tools/post-cat" "${largs[@]}" "$stack://127.0.0.1:$port" >/dev/null 2>"$work/listener.log" </dev/null) &
  listener_pid=$!
  for _ in $(seq 100); do
    grep -q . "$work/listener.log" 2>/dev/null && break
    ss -Hln "( sport = :$port )" 2>/dev/null | grep -q . && break
    ss -Hlnu "( sport = :$port )" 2>/dev/null | grep -q . && break
    sleep 0.1
  done
  sleep 0.5
  before=$(rss "$listener_pid")

  mkfifo "$work/hold"
  # (the flood holds its sockets until its stdin, the fifo, closes)
  GI_TYPELIB_PATH=$here/_build/libpost LD_LIBRARY_PATH=$here/_build/libpost \
    POST_PLUGIN_PATH=$(plugin_path "$here/_build") POST_PLUGIN_SYSTEM_PATH= POST_POLICY_PATH= \
    /usr/bin/python3 "$here/bench/listener-flood.py" "$stack" "$port" "$count" "$work/ca.pem" \
    <"$work/hold" >"$work/flood.out" 2>"$work/flood.err" &
  flood_pid=$!
  exec 9>"$work/hold"
  for _ in $(seq 1200); do
    grep -q '^attack:' "$work/flood.out" && break
    kill -0 "$flood_pid" 2>/dev/null || break
    sleep 0.5
  done
  # Until the listener's descriptors stop changing (connections the
  # backlog did not take come back with SYN retries), at most 30 s
  last=-1
  for _ in $(seq 15); do
    sleep 2
    now=$(fds "$listener_pid")
    [ "$now" = "$last" ] && break
    last=$now
  done
  after=$(rss "$listener_pid")
  nfd=$(fds "$listener_pid")
  ok=$(served "$stack" "$port")
  what=$(sed -n 's/^attack: //p' "$work/flood.out")
  [ -n "$what" ] || what="(flood failed: $(tail -1 "$work/flood.err"))"
  printf '%-5s %-12s %8s kB %7s kB %8s %6s  %s\n' "$stack" "$(git -C "$build/.." rev-parse --short HEAD 2>/dev/null || echo ?)" \
    "$before" "$after" "$nfd" "$ok" "$what"
  exec 9>&-
  wait "$flood_pid" 2>/dev/null || true
  flood_pid=
  kill "$listener_pid" 2>/dev/null || true
  wait "$listener_pid" 2>/dev/null || true
  listener_pid=
  rm -f "$work/hold"
done
