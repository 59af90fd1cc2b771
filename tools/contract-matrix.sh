#!/bin/sh
# contract-matrix.sh [BUILD-DIR]: runs the contract (post-stack-check) on
# every stack of BUILD-DIR (default _build) and prints a Markdown matrix of
# cases × stacks: "pass", "pass¹" (the stack lacks it and the case checked
# that the API says so; the reasons are listed below the table), "FAIL", or
# "not run" (after a failure that ended the program).
set -eu
cd "$(dirname "$0")/.."
build=${1:-_build}
POST_PLUGIN_PATH=$(ls -d "$PWD/$build"/plugins/*/ | tr '\n' ':')
POST_PLUGIN_SYSTEM_PATH= POST_POLICY_PATH=
export POST_PLUGIN_PATH POST_PLUGIN_SYSTEM_PATH POST_POLICY_PATH
check="$build/tests/contract/post-stack-check"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
stacks=$("$check" --list | sort)
for s in $stacks; do
  "$check" -l "$s" >"$out/$s.list" 2>/dev/null || true
  "$check" --tap "$s" >"$out/$s" 2>/dev/null || true
done
python3 - "$out" $stacks <<'PY'
import os, re, sys
out, stacks = sys.argv[1], sys.argv[2:]
results, order, notes = {}, [], []
for s in stacks:
    listed = [re.sub(r'^/contract/[^/]+/', '', l.strip())
              for l in open(os.path.join(out, s + '.list')) if l.startswith('/contract/')]
    for case in listed:
        if case not in order:
            order.append(case)
    pending = []
    for line in open(os.path.join(out, s), errors='replace'):
        m = re.match(r'# unsupported: [^:]+: (.*)', line)
        if m:
            pending.append(m.group(1).strip())
            continue
        m = re.match(r'(not ok|ok) \d+ /contract/[^/]+/(\S+)', line)
        if m:
            case = m.group(2)
            if case not in order:
                order.append(case)
            if m.group(1) == 'not ok':
                cell = 'FAIL'
            elif pending:
                notes.append((case, s, '; '.join(pending)))
                cell = 'pass¹'
            else:
                cell = 'pass'
            results[(case, s)] = cell
            pending = []
    # A case that aborted the program (g_error, a failed assertion) left no
    # result: it is the first listed case without one.
    for case in listed:
        if (case, s) not in results:
            results[(case, s)] = 'FAIL'
            break
print('| case | ' + ' | '.join(stacks) + ' |')
print('| --- |' + ' --- |' * len(stacks))
for case in order:
    print('| `%s` | ' % case + ' | '.join(results.get((case, s), 'not run') for s in stacks) + ' |')
if notes:
    print('\n¹ the stack lacks it; the case checked what the API says instead:\n')
    for case, s, text in notes:
        print('- `%s` on %s: %s' % (case, s, text))
PY
