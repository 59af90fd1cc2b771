#!/usr/bin/env python3
# test-doc-links.py SOURCE-ROOT: the Markdown of the repository works from
# a checkout (TAP).
#
# - every relative link of README.md, docs/*.md (docs/reference/ is gi-docgen's,
#   its links are checked by the reference test) and
#   the READMEs of plugins/ and fuzz/ names a file or directory inside the
#   repository (the draft's link used to point outside it, at
#   ../shared/seed/);
# - the README's quick start is exactly the two commands ./run demo and
#   ./run test, and ./run takes both.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import glob
import os
import re
import sys

root = os.path.realpath(sys.argv[1])
n = failures = 0


def result(ok, description, details=''):
    global n, failures
    n += 1
    print(f'{"ok" if ok else "not ok"} {n} - {description}')
    if not ok:
        failures += 1
        for line in details.splitlines():
            print(f'# {line}')


pages = ['README.md'] + sorted(
    os.path.relpath(p, root)
    for pattern in ('docs/*.md', 'plugins/*/README.md', 'fuzz/README.md')
    for p in glob.glob(os.path.join(root, pattern)))
link = re.compile(r'\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
fence = re.compile(r'^```.*?^```', re.M | re.S)

print(f'1..{len(pages) + 1}')
for page in pages:
    with open(os.path.join(root, page), encoding='utf-8') as f:
        text = fence.sub('', f.read())          # code blocks hold no links
    bad = []
    for target in link.findall(text):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target) or target.startswith('#'):
            continue                            # https:, mailto:, an anchor
        path = os.path.realpath(os.path.join(root, os.path.dirname(page), target.split('#')[0]))
        if not (path == root or path.startswith(root + os.sep)):
            bad.append(f'{target}: outside the repository')
        elif not os.path.exists(path):
            bad.append(f'{target}: no such file')
    result(not bad, f'{page}: every relative link names a file of the repository', '\n'.join(bad))

with open(os.path.join(root, 'README.md'), encoding='utf-8') as f:
    readme = f.read()
with open(os.path.join(root, 'run'), encoding='utf-8') as f:
    run = f.read()
quick = re.search(r'^## Quick start\n(.*?)^## ', readme, re.M | re.S)
blocks = re.findall(r'^```sh\n(.*?)^```', quick.group(1), re.M | re.S) if quick else []
commands = [line.split('#')[0].strip() for line in (blocks[0] if blocks else '').splitlines()]
commands = [c for c in commands if c]
result(commands == ['./run demo', './run test']
       and re.search(r'^\s*demo\)', run, re.M) and re.search(r'^\s*test\)', run, re.M),
       'the quick start is ./run demo and ./run test, and ./run takes both', f'{commands}')
sys.exit(1 if failures else 0)
