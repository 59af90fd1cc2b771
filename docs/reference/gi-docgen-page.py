#!/usr/bin/env python3
# gi-docgen-page.py IN.md OUT.md: a guide of docs/ as a page of the reference.
#
# gi-docgen takes a page's title from a "Title:" line at its top (the
# Markdown meta extension); the guides start with a "# Heading" instead, as
# they are also read as plain Markdown.  The title becomes the heading's
# text, and links to the other guides (framing.md) point at their pages
# (framing.html).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import re
import sys

with open(sys.argv[1], encoding='utf-8') as f:
    text = f.read()
match = re.match(r'# (.+)\n', text)
if match is None:
    sys.exit(f'{sys.argv[1]}: the first line is no "# Heading"')
text = re.sub(r'\]\(([a-z-]+)\.md(#[^)]*)?\)', r'](\1.html\2)', text)
with open(sys.argv[2], 'w', encoding='utf-8') as f:
    f.write(f'Title: {match.group(1)}\n\n{text}')
