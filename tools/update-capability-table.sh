#!/bin/sh
# update-capability-table.sh [BUILD-DIR]: rewrites the table of what each
# stack supports in README.md (between the capabilities markers) from what
# the stacks of BUILD-DIR (default _build) declare.
set -eu
cd "$(dirname "$0")/.."
build=${1:-_build}
POST_PLUGIN_PATH=$(ls -d "$PWD/$build"/plugins/*/ | tr '\n' ':')
POST_PLUGIN_SYSTEM_PATH=
export POST_PLUGIN_PATH POST_PLUGIN_SYSTEM_PATH
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$build/tests/contract/post-stack-check" --capabilities >"$table"
python3 - "$table" README.md <<'PY'
import re, sys
table = open(sys.argv[1]).read()
path = sys.argv[2]
text = open(path).read()
new, n = re.subn(r'(<!-- capabilities:begin -->\n).*?(<!-- capabilities:end -->)',
                 lambda m: m.group(1) + table + m.group(2), text, flags=re.S)
if n != 1:
    sys.exit('README.md has no capabilities markers')
open(path, 'w').write(new)
PY
