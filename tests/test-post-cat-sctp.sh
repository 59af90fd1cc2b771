#!/bin/bash
# test-post-cat-sctp.sh: post-cat with sctp:// URIs over 127.0.0.1: against
# itself (lines, --fork N on streams, -v), against usrsctp's echo_server
# and with usrsctp's client against a post-cat listener (Debian's
# libusrsctp-examples; those cases are skipped without it).
#
#   test-post-cat-sctp.sh POST-CAT
set -u
cat_=$1
. "$(dirname "$0")/test-lib.sh"
examples=/usr/lib/usrsctp

listen_rest='via stack sctp$'
echoed () { [ "$(od -c <"$1")" = "$(printf "$2" | od -c)" ]; }
# a free UDP port on 127.0.0.1 (for a peer process)
free_udp_port () {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "1..6"

# 1-3: post-cat against a post-cat listener
if start_post_cat sctp://127.0.0.1:0 echo --echo; then
  ok "sctp listener listens"

  printf 'a\nb\n' | timeout -k 5 20 "$cat_" -v "sctp://127.0.0.1:$port" >"$tmp/c.out" 2>"$tmp/c.err"
  rc=$?
  if [ $rc -eq 0 ] && echoed "$tmp/c.out" 'a\nb\n' && grep -q '^post-cat: connected via stack sctp ' "$tmp/c.err"; then
    ok "lines come back over sctp, -v names the stack"
  else
    not_ok "lines come back over sctp (exit $rc)" "$tmp/c.out" "$tmp/c.err" "$tmp/echo.err"
  fi

  seq 1 6 | timeout -k 5 20 "$cat_" -v --fork 2 "sctp://127.0.0.1:$port" >"$tmp/f.out" 2>"$tmp/f.err"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(sort -n "$tmp/f.out" | tr '\n' ' ')" = "1 2 3 4 5 6 " ] &&
     [ "$(grep -c 'forked via stack sctp .*, a new stream of the first carrier' "$tmp/f.err")" -eq 2 ] &&
     [ "$(grep -c 'accepted a fork of a carrier' "$tmp/echo.err")" -eq 2 ]; then
    ok "--fork 2: three streams of one association, the listener accepts two forks"
  else
    not_ok "--fork 2 over sctp (exit $rc)" "$tmp/f.out" "$tmp/f.err" "$tmp/echo.err"
  fi
  kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null
else
  not_ok "sctp listener listens" "$tmp/echo.err"
  not_ok "lines over sctp: no listener"
  not_ok "--fork over sctp: no listener"
fi

# 4: post-cat against usrsctp's echo_server (SCTP port 7 over its own UDP
# encapsulation): each line comes back as it was sent
if [ -x "$examples/echo_server" ]; then
  udp=$(free_udp_port)
  "$examples/echo_server" "$udp" >/dev/null 2>&1 &
  pids+=($!)
  for i in $(seq 50); do
    printf 'one\ntwo words\n' | timeout -k 5 20 "$cat_" --sctp-port 7 "sctp://127.0.0.1:$udp" >"$tmp/e.out" 2>"$tmp/e.err"
    rc=$?
    [ $rc -eq 0 ] && break
    sleep 0.1
  done
  if [ $rc -eq 0 ] && echoed "$tmp/e.out" 'one\ntwo words\n'; then
    ok "post-cat --sctp-port 7 against usrsctp's echo_server"
  else
    not_ok "post-cat against usrsctp's echo_server (exit $rc)" "$tmp/e.out" "$tmp/e.err"
  fi
else
  skip "usrsctp's echo_server is not installed (libusrsctp-examples)"
fi

# 5: usrsctp's client against a post-cat listener: it sends each line with
# its newline, so post-cat prints each message followed by an empty line
if [ -x "$examples/client" ] && start_post_cat sctp://127.0.0.1:0 plain --echo; then
  encaps=$(free_udp_port)
  (printf 'first\nsecond\n'; sleep 2) | timeout -k 5 20 "$examples/client" 127.0.0.1 "$port" 0 "$encaps" "$port" \
    >"$tmp/u.out" 2>/dev/null
  if grep -qx 'first' "$tmp/u.out" && grep -qx 'second' "$tmp/u.out" &&
     [ "$(grep -c 'accepted a carrier' "$tmp/plain.err")" -eq 1 ] &&
     [ "$(grep -cx 'first' "$tmp/plain.out")" -eq 1 ] && [ "$(grep -cx 'second' "$tmp/plain.out")" -eq 1 ]; then
    ok "usrsctp's client against a post-cat listener: both lines echoed"
  else
    not_ok "usrsctp's client against a post-cat listener" "$tmp/u.out" "$tmp/plain.out" "$tmp/plain.err"
  fi
elif [ ! -x "$examples/client" ]; then
  skip "usrsctp's client is not installed (libusrsctp-examples)"
else
  not_ok "sctp listener for usrsctp's client" "$tmp/plain.err"
fi

# 6: between two network namespaces joined by a veth link (root only): a
# listener in one, a client in the other
ns_a=post-sctp-a-$$ ns_b=post-sctp-b-$$
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "$ns_a" 2>/dev/null; then
  trap 'ip netns del "$ns_a" 2>/dev/null; ip netns del "$ns_b" 2>/dev/null; cleanup' EXIT
  if ip netns add "$ns_b" &&
     ip link add psa$$ netns "$ns_a" type veth peer name psb$$ netns "$ns_b" &&
     ip -n "$ns_a" addr add 10.77.0.1/24 dev psa$$ && ip -n "$ns_a" link set psa$$ up &&
     ip -n "$ns_a" link set lo up &&
     ip -n "$ns_b" addr add 10.77.0.2/24 dev psb$$ && ip -n "$ns_b" link set psb$$ up &&
     ip -n "$ns_b" link set lo up; then
    timeout -k 5 30 ip netns exec "$ns_a" "$cat_" -v --listen --echo sctp://10.77.0.1:9899 \
      >"$tmp/ns.out" 2>"$tmp/ns.err" &
    pids+=($!)
    for i in $(seq 50); do
      printf 'over\nveth\n' | timeout -k 5 10 ip netns exec "$ns_b" "$cat_" -v sctp://10.77.0.1:9899 \
        >"$tmp/nc.out" 2>"$tmp/nc.err"
      rc=$?
      [ $rc -eq 0 ] && break
      sleep 0.1
    done
    if [ $rc -eq 0 ] && echoed "$tmp/nc.out" 'over\nveth\n' &&
       grep -q 'connected via stack sctp from 10.77.0.2:[0-9]* to 10.77.0.1:9899' "$tmp/nc.err"; then
      ok "between two network namespaces: lines come back over sctp"
    else
      not_ok "sctp between two network namespaces (exit $rc)" "$tmp/nc.out" "$tmp/nc.err" "$tmp/ns.err"
    fi
  else
    not_ok "could not set up the two namespaces"
  fi
else
  skip "network namespaces need root and ip(8)"
fi

[ $failures -eq 0 ]
