#!/bin/bash
# test-reference.sh GI-DOCGEN TOML GIR GENERATE-ARGS...: the reference (TAP)
#
# - gi-docgen check finds no symbol, parameter or return value without a
#   description, and warns of nothing (such as a link of the wrong kind);
# - gi-docgen generate, with warnings fatal, makes the reference without a
#   warning (a link to a symbol that does not exist, a bad link syntax), in
#   a directory of its own.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
gidocgen=$1 toml=$2 gir=$3
shift 3
. "$(dirname "$0")/test-lib.sh"

"$gidocgen" check --config="$toml" "$gir" >"$tmp/check" 2>&1
rc=$?
findings=$(grep -c -E 'WARNING|ERROR|CRITICAL' "$tmp/check")
if [ "$rc" -eq 0 ] && [ "$findings" -eq 0 ]; then
  ok "gi-docgen check: every public symbol documented"
else
  not_ok "gi-docgen check: $findings findings (exit status $rc)" "$tmp/check"
  cat "$tmp/check" >&2
fi

if "$gidocgen" generate --quiet --fatal-warnings "$@" --config="$toml" \
     --output-dir="$tmp/html" "$gir" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ] \
   && [ -f "$tmp/html/index.html" ] && [ -f "$tmp/html/overview.html" ]; then
  ok "gi-docgen generate: no warning"
else
  not_ok "gi-docgen generate: warnings" "$tmp/out"
  cat "$tmp/out" >&2
fi
echo "1..$n"
[ "$failures" -eq 0 ]
