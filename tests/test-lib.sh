# test-lib.sh: what the shell-script tests share; each sources it after
# `set -u` and its arguments:
#
#   . "$(dirname "$0")/test-lib.sh"
#
# It makes a temporary directory, $tmp, removed at exit after the processes
# whose ids the test added to $pids are killed; TAP results with ok, skip
# and not_ok, counted in $n and $failures; and make_cert, the certificates
# of the secure stacks' scripts (certtool, as tests/post-test-util.c does).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
tmp=$(mktemp -d)
pids=()
failures=0
n=0
cleanup () {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ok () { n=$((n + 1)); echo "ok $n - $1"; }
skip () { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# not_ok DESCRIPTION FILES...: the files that are not empty follow as comments
not_ok () {
  n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"
  shift; for f in "$@"; do [ -s "$f" ] && sed 's/^/# /' "$f"; done
}

# make_cert NAME CA TEMPLATE: $tmp/NAME.key and $tmp/NAME.pem, signed by CA
# (or self-signed if CA is -)
make_cert () {
  local name=$1 ca=$2
  printf '%b' "$3" >"$tmp/$name.tmpl"
  certtool --generate-privkey --key-type=ecdsa --outfile "$tmp/$name.key" >/dev/null 2>&1 || return 1
  if [ "$ca" = - ]; then
    certtool --generate-self-signed --load-privkey "$tmp/$name.key" --template "$tmp/$name.tmpl" \
      --outfile "$tmp/$name.pem" >/dev/null 2>&1
  else
    certtool --generate-certificate --load-privkey "$tmp/$name.key" --load-ca-privkey "$tmp/$ca.key" \
      --load-ca-certificate "$tmp/$ca.pem" --template "$tmp/$name.tmpl" --outfile "$tmp/$name.pem" >/dev/null 2>&1
  fi
}

# start_post_cat URI NAME ARGS...: "$cat_" -v --listen ARGS URI in the
# background (for at most 60 s), output in $tmp/NAME.{out,err}, its
# environment extended by $listener_env if set; sets $listener_pid, and $port
# from its line "post-cat: listening on ADDRESS:PORT REST" where REST matches
# the sed pattern $listen_rest (default: anything).  Fails if the listener
# exits or says nothing of the kind within 10 s.
start_post_cat () {
  local uri=$1 name=$2 i; shift 2
  timeout -k 5 60 env ${listener_env:-} "$cat_" -v --listen "$@" "$uri" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  listener_pid=$!
  pids+=($listener_pid)
  port=
  for i in $(seq 100); do
    port=$(sed -n "s/^post-cat: listening on [^ ]*:\([0-9][0-9]*\) ${listen_rest:-.*}/\1/p" "$tmp/$name.err" | head -n1)
    [ -n "$port" ] && return 0
    kill -0 "$listener_pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
