#!/bin/bash
# count-instructions.sh BUILDDIR [pingpong|setup]...: user-space instructions
# per hop (pingpong: one message one way, listener echoing) and per set-up +
# close, counted by callgrind over post-bench-count's fixed workloads.
# Each figure is (Ir(N2) - Ir(N1)) / (units(N2) - units(N1)), so start-up
# and shut-down cancel out; "client" is the measuring thread, "listener"
# the echoing or accepting one, "all threads" adds GLib's own threads.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
build=${1:?usage: $0 BUILDDIR (relative to the source root) [pingpong|setup]...}
shift
[ $# -gt 0 ] || set -- pingpong setup
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
eval "$(sed -n '/^plugin_env ()/,/^}/p' "$root/run")"
plugin_env "$build"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ir WORKLOAD N THREAD: the instructions callgrind counted in thread THREAD
ir () {
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/cg.$1.$2" \
    "$build/bench/post-bench-count" "$1" "$2" >/dev/null 2>&1
  for t in 1 2; do
    sed -n 's/^summary: *//p' "$tmp/cg.$1.$2-0$t" > "$tmp/ir.$1.$2.$t"
  done
  # every thread: GLib's own (gmain, the resolver's pool) included
  cat "$tmp"/cg.$1.$2-* | sed -n 's/^summary: *//p' | awk '{ s += $1 } END { print s }' > "$tmp/ir.$1.$2.all"
}

for w in "$@"; do
  case $w in
    pingpong) n1=1000 n2=3000 per=2 unit=hop ;;   # two hops per round trip
    setup)    n1=100  n2=300  per=1 unit=set-up ;;
    *) echo "unknown workload $w" >&2; exit 2 ;;
  esac
  ir "$w" $n1
  ir "$w" $n2
  c=$(( ($(cat "$tmp/ir.$w.$n2.1") - $(cat "$tmp/ir.$w.$n1.1")) / ((n2 - n1) * per) ))
  l=$(( ($(cat "$tmp/ir.$w.$n2.2") - $(cat "$tmp/ir.$w.$n1.2")) / ((n2 - n1) * per) ))
  a=$(( ($(cat "$tmp/ir.$w.$n2.all") - $(cat "$tmp/ir.$w.$n1.all")) / ((n2 - n1) * per) ))
  echo "$w: instructions (Ir) per $unit: client $c, listener $l, all threads $a"
done
