#!/bin/bash
# run-fuzzers.sh: build the libFuzzer targets of fuzz/ and run them
#
#   fuzz/run-fuzzers.sh [--smoke | --long RUNS] [TARGET...]
#
#   --smoke       (default) each target for FUZZ_SMOKE_SECONDS (default 3)
#                 from the seed corpus in fuzz/corpus; what CI runs
#   --long RUNS   each target for RUNS executions (e.g. 10000000), its
#                 corpus growing in _build-fuzz/corpus/TARGET; a log per
#                 target in _build-fuzz/fuzz-TARGET.log
#
# The build is _build-fuzz: clang, -Dfuzz=true, AddressSanitizer and
# UndefinedBehaviorSanitizer; the targets use that tree's plugins only.
# A finding is saved as _build-fuzz/findings/TARGET-crash-*; the script
# exits 1 if any target found something.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

mode=smoke runs=0
case "${1:-}" in
  --smoke) shift ;;
  --long) mode=long runs=${2:?--long needs a number of runs}; shift 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz-framer fuzz-framer-roundtrip fuzz-framer-stack fuzz-http1 fuzz-http-framer fuzz-websocket fuzz-remote fuzz-policy fuzz-dtls fuzz-quic)

build=_build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  rm -rf "$build"
  CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" $(printf 'fuzz/%s ' "${targets[@]}") \
  plugins/tcp-tls/libpost-tcp-tls.so plugins/udp/libpost-udp.so plugins/quic/libpost-quic.so >/dev/null

dirs=()
for d in "$PWD/$build"/plugins/*/; do dirs+=("${d%/}"); done
export POST_PLUGIN_PATH=$(IFS=:; echo "${dirs[*]}") POST_PLUGIN_SYSTEM_PATH='' POST_POLICY_PATH=''
# GSlice would hide heap errors and leaks from AddressSanitizer
export G_SLICE=always-malloc
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp

mkdir -p "$build/findings"
status=0
for t in "${targets[@]}"; do
  seeds=fuzz/corpus/$t
  args=(-artifact_prefix="$build/findings/$t-" -max_len=4096 -print_final_stats=1)
  if [ "$mode" = smoke ]; then
    work=$(mktemp -d)
    args+=(-max_total_time="${FUZZ_SMOKE_SECONDS:-3}" "$work" "$seeds")
    log=$(mktemp)
  else
    work=$build/corpus/$t
    mkdir -p "$work"
    args+=(-runs="$runs" "$work" "$seeds")
    log=$build/$t.log
  fi
  if "$build/fuzz/$t" "${args[@]}" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "ok $t: ${execs:-?} executions, no finding"
  else
    echo "FAILED $t: see $log"
    grep -E 'ERROR|SUMMARY|invariant failed|Test unit written' "$log" | head -5 || true
    status=1
  fi
  [ "$mode" = smoke ] && rm -rf "$work"
  [ "$mode" = smoke ] && [ $status -eq 0 ] && rm -f "$log"
done
exit $status
