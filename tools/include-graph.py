#!/usr/bin/env python3
# include-graph.py: the include graph of libpost's core (libpost/, policy/)
# and its layers, from the sources.
#
#   tools/include-graph.py              the graph as text (per layer: each
#                                       unit and what it includes)
#   tools/include-graph.py --markdown   the block docs/architecture.md holds
#   tools/include-graph.py --dot        Graphviz
#   tools/include-graph.py --update docs/architecture.md
#                                       rewrites that block of the file
#   tools/include-graph.py --check [--docs docs/architecture.md]
#       fails (exit 1) when a file includes a header of a layer above its
#       own (unless listed in EXCEPTIONS below, with the reason), when an
#       exception no longer occurs, when a file belongs to no layer, or when
#       the docs' block differs from what the sources give now
#
# A unit is a file's name without its extension: post-carrier.c and
# post-carrier.h are one unit, post-carrier-private.h another.  Only
# #include "..." lines naming a file of libpost/ or policy/ (or a header
# generated from them) count.  Nothing is compiled: the compiler
# (-Werror=implicit-function-declaration) keeps the includes honest, this
# keeps them downward.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import os
import re
import sys

# The layers, lowest first (docs/architecture.md "Layers").  A unit may
# include its own layer and the layers below.
LAYERS = [
    ("base", [
        "post-version", "post-enums", "post-enum-types", "post-error",
        "post-task", "post-base-private",
    ]),
    ("values", [
        "post-message", "post-remote", "post-remote-resolve", "post-remote-private", "post-endpoint", "post-scheme", "post-local", "post-configuration",
        "post-configuration-transport", "post-configuration-security",
        "post-path", "post-path-info", "post-framer", "post-framer-stack",
        "post-length-prefix-framer", "post-values-private",
        "post-http1-parser", "post-http1-parser-private", "post-http-framer", "post-websocket-framer",
        "post-certificate", "post-certificate-private",
    ]),
    ("stacks", [
        "post-stack", "post-plugin", "post-registry", "post-psi", "post-psi-calls",
        "post-stacks-private",
    ]),
    ("path monitor", [
        "post-path-monitor", "post-path-snapshot", "post-path-monitor-private",
    ]),
    ("policy", [
        "post-policy", "post-policy-rule", "post-policy-candidate",
        "post-policy-private",
    ]),
    ("selection and racing", [
        "post-selection", "post-selection-score", "post-racer", "post-proxy", "post-establishment",
        "post-selection-private", "post-selection-score-private",
    ]),
    ("transient", [
        "post-transient", "post-transient-send", "post-transient-receive",
        "post-transient-private",
    ]),
    ("carrier and association", [
        "post-carrier", "post-carrier-close", "post-carrier-listener",
        "post-carrier-send",
        "post-carrier-receive", "post-carrier-paths", "post-carrier-fork",
        "post-association", "post-reply",
        "post-carrier-stream", "post-carrier-input-stream",
        "post-carrier-output-stream", "post-carrier-private",
        "post-refused-peers-private", "post-refused-peers",
    ]),
    ("application protocols", [
        "post-http3-session", "post-http3-callbacks", "post-http3-session-private", "post-http-client",
    ]),
    # the application's one header: includes every public header
    ("umbrella", ["post"]),
]

# Upward includes that are known and why; each must still occur (so the
# list only shrinks).  (including file, included header): reason
EXCEPTIONS = {
}

DIRS = ["libpost", "policy"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
BEGIN = "<!-- include-graph: begin (tools/include-graph.py --markdown) -->"
END = "<!-- include-graph: end -->"


def unit_of(name):
    base = os.path.basename(name)
    for ext in (".h.in", ".c", ".h"):
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def layer_index():
    index = {}
    for number, (_, units) in enumerate(LAYERS):
        for unit in units:
            index[unit] = number
    return index


def scan(root):
    """[(file, [included header])] for every source of the core"""
    files = []
    known = set()
    for directory in DIRS:
        path = os.path.join(root, directory)
        for name in sorted(os.listdir(path)):
            if name.endswith((".c", ".h", ".h.in")):
                files.append(os.path.join(directory, name))
                known.add(name.replace(".h.in", ".h"))
    known.add("post-enum-types.h")   # generated from post-enums.h
    result = []
    for rel in files:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        includes = [h for h in INCLUDE.findall(text) if h in known]
        result.append((rel, includes))
    return result


def graph(root):
    edges = {}    # unit -> set of units
    upward = []   # (file, header, from layer, to layer)
    unplaced = set()
    layers = layer_index()
    for rel, includes in scan(root):
        source = unit_of(rel)
        edges.setdefault(source, set())
        if source not in layers:
            unplaced.add(rel)
        for header in includes:
            target = unit_of(header)
            edges.setdefault(target, set())
            if target != source:
                edges[source].add(target)
            if target not in layers:
                unplaced.add(header)
            elif source in layers and layers[target] > layers[source]:
                upward.append((rel, header, layers[source], layers[target]))
    return edges, upward, sorted(unplaced)


def cycles(edges):
    """The strongly connected components of more than one unit (Tarjan)"""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(result)


def text(edges, upward, unplaced, markdown=False):
    layers = layer_index()
    out = []
    if markdown:
        out.append(BEGIN)
        out.append("```")
    out.append("Include graph of libpost/ and policy/, by layer (lowest first);")
    out.append("a unit is a file name without extension (.c and .h together).")
    for number, (name, units) in enumerate(LAYERS):
        present = [u for u in units if u in edges]
        if not present:
            continue
        out.append("")
        out.append("%d. %s" % (number, name))
        for unit in present:
            targets = sorted(edges[unit], key=lambda t: (layers.get(t, 99), t))
            out.append("   %-28s -> %s" % (unit, ", ".join(targets) if targets else "(nothing)"))
    if unplaced:
        out.append("")
        out.append("In no layer: " + ", ".join(unplaced))
    out.append("")
    if upward:
        out.append("Upward includes:")
        for rel, header, low, high in sorted(upward):
            why = EXCEPTIONS.get((rel, header))
            out.append("   %s -> %s (%s -> %s)%s" % (rel, header, LAYERS[low][0], LAYERS[high][0],
                                                    ": " + why if why else ""))
    else:
        out.append("Upward includes: none")
    # A unit's .c includes its layer's private header, which includes the
    # unit's .h: cycles inside one layer are what sharing that header
    # means.  A cycle through two layers is an upward include.
    across, within = [], []
    for component in cycles(edges):
        spanned = sorted({layers.get(u, -1) for u in component})
        (across if len(spanned) > 1 else within).append((spanned, component))
    if across:
        out.append("Cycles across layers:")
        for spanned, component in across:
            out.append("   [%s] %s" % (" + ".join(LAYERS[n][0] if n >= 0 else "no layer" for n in spanned),
                                       " <-> ".join(component)))
    else:
        out.append("Cycles across layers: none")
    out.append("Cycles within one layer: %s" % (", ".join(
        "%s (%d units)" % (LAYERS[spanned[0]][0] if spanned[0] >= 0 else "no layer", len(component))
        for spanned, component in within) or "none"))
    if markdown:
        out.append("```")
        out.append(END)
    return "\n".join(out) + "\n"


def dot(edges):
    layers = layer_index()
    out = ["digraph libpost {", "  rankdir=BT;", "  node [shape=box, fontsize=10];"]
    for number, (name, units) in enumerate(LAYERS):
        present = [u for u in units if u in edges]
        if present:
            out.append('  subgraph cluster_%d { label="%d. %s"; %s }'
                       % (number, number, name, " ".join('"%s";' % u for u in present)))
    for unit in sorted(edges):
        for target in sorted(edges[unit]):
            up = layers.get(target, 0) > layers.get(unit, 0)
            out.append('  "%s" -> "%s"%s;' % (unit, target, ' [color=red]' if up else ""))
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--dot", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--docs", help="with --check: the file holding the --markdown block")
    parser.add_argument("--update", metavar="FILE", help="rewrite the --markdown block in FILE")
    args = parser.parse_args()

    edges, upward, unplaced = graph(args.root)
    if args.update:
        with open(args.update, encoding="utf-8") as f:
            doc = f.read()
        start, end = doc.find(BEGIN), doc.find(END)
        if start < 0 or end < start:
            print("include-graph: %s has no include-graph block" % args.update)
            return 1
        block = text(edges, upward, unplaced, markdown=True)
        with open(args.update, "w", encoding="utf-8") as f:
            f.write(doc[:start] + block + doc[end + len(END) + 1:])
        return 0
    if args.dot:
        sys.stdout.write(dot(edges))
        return 0
    if not args.check:
        sys.stdout.write(text(edges, upward, unplaced, markdown=args.markdown))
        return 0

    problems = []
    for rel in unplaced:
        problems.append("%s is in no layer: add it to LAYERS in tools/include-graph.py "
                        "and to docs/architecture.md" % rel)
    seen = set()
    for rel, header, low, high in upward:
        seen.add((rel, header))
        if (rel, header) not in EXCEPTIONS:
            problems.append("%s includes %s: upward, from layer '%s' to '%s'"
                            % (rel, header, LAYERS[low][0], LAYERS[high][0]))
    for key in sorted(set(EXCEPTIONS) - seen):
        problems.append("exception %s -> %s no longer occurs: remove it from EXCEPTIONS" % key)
    if args.docs:
        with open(args.docs, encoding="utf-8") as f:
            doc = f.read()
        want = text(edges, upward, unplaced, markdown=True)
        start, end = doc.find(BEGIN), doc.find(END)
        have = doc[start:end + len(END)] + "\n" if start >= 0 and end > start else None
        if have != want:
            problems.append("%s: the include graph differs from the sources; regenerate it "
                            "with tools/include-graph.py --markdown" % args.docs)
    for problem in problems:
        print("include-graph: " + problem)
    if not problems:
        print("include-graph: %d units, no upward include beyond the %d listed exception(s)"
              % (len(edges), len(EXCEPTIONS)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
