#!/bin/bash
# test-reference-links.sh GI-DOCGEN TOML GIR GENERATE-ARGS...: the reference
# generates without a warning (a link to a symbol that does not exist, a
# bad link syntax), into a directory of its own.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
gidocgen=$1 toml=$2 gir=$3
shift 3
. "$(dirname "$0")/test-lib.sh"

if "$gidocgen" generate --quiet --fatal-warnings "$@" --config="$toml" \
     --output-dir="$tmp/html" "$gir" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ] \
   && [ -f "$tmp/html/index.html" ] && [ -f "$tmp/html/overview.html" ]; then
  ok "gi-docgen generate: no warning"
else
  not_ok "gi-docgen generate: warnings" "$tmp/out"
fi
echo "1..$n"
[ "$failures" -eq 0 ]
