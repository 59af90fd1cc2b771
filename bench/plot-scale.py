#!/usr/bin/python3
# plot-scale.py: docs/scale.svg from the scale case's JSON (post-bench -c n --json)
#
#   bench/plot-scale.py [-o docs/scale.svg] [--case scale-quic] RUN.jsonl...
#
# Reads the "scale-tcp" objects (or, with --case scale-quic, those of the
# quic scale case, post-bench -c m: docs/scale-quic.svg, 32 KiB target) of one or more runs (JSON Lines files as
# `post-bench --cases n --json > RUN.jsonl` writes them; other cases' lines
# are skipped), takes at each number of carriers the median over the runs,
# and draws three panels against the open carriers (log scale): the accept
# rate (carriers/s over the step), the ping-pong RTT (median µs) and the
# resident memory per carrier (RSS delta over the carriers, KiB), each with
# its target (RTT and accept rate within 1.2x of their values at the first
# step; 8 KiB per idle carrier).  Prints the medians as a table too.
# Plots with gnuplot (Debian gnuplot-nox, in ./run's PACKAGES).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import statistics
import subprocess
import sys


def load(paths, case):
    runs = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if not line.startswith('{'):
                    continue
                obj = json.loads(line)
                if obj.get('case') == case and obj.get('points'):
                    runs.append(obj)
    return runs


def medians(runs):
    by_n = {}
    for run in runs:
        for p in run['points']:
            by_n.setdefault(p['carriers'], []).append(p)
    rows = []
    for n in sorted(by_n):
        ps = by_n[n]
        rows.append({
            'carriers': n,
            'runs': len(ps),
            'accept': statistics.median(p['accept_rate'] for p in ps),
            'rtt': statistics.median(p['rtt_median_us'] for p in ps),
            'rss': statistics.median(p['rss_per_carrier'] for p in ps) / 1024,
            'heap': statistics.median(p['heap_per_carrier'] for p in ps) / 1024,
        })
    return rows


def gnuplot_script(rows, runs, output, case):
    first = rows[0]
    data = '\n'.join('%d %.1f %.2f %.3f %.3f' % (r['carriers'], r['accept'], r['rtt'], r['rss'], r['heap'])
                     for r in rows)
    commits = sorted({run.get('commit') or '?' for run in runs})
    loads = [run['loadavg'][0] for run in runs if run.get('loadavg')]
    quic = case == 'scale-quic'
    title = 'libpost %s listener, idle %s: median of %d run%s (commit %s, load %s)' % (
        'quic' if quic else 'tcp', 'connections' if quic else 'carriers', len(runs), '' if len(runs) == 1 else 's', ', '.join(commits),
        '/'.join('%.1f' % l for l in loads) or '?')
    # Each panel: the data and its target line.
    return '''
set terminal svg size 1150,420 dynamic font "sans,11"
set output "%(output)s"
$data << EOD
%(data)s
EOD
set multiplot layout 1,3 title "%(title)s"
set logscale x
set xrange [%(xmin)g:%(xmax)g]
set xlabel "open carriers"
set grid
set key below
set yrange [0:*]
set title "accept rate (carriers/s over the step)"
plot $data using 1:2 with linespoints lw 2 pt 7 title "libpost", \\
     %(accept_target)g with lines dt 2 title "target: ≥ rate at %(n0)d / 1.2"
set title "ping-pong RTT, 64 B, median (µs)"
plot $data using 1:3 with linespoints lw 2 pt 7 title "libpost", \\
     %(rtt_target)g with lines dt 2 title "target: ≤ 1.2 × RTT at %(n0)d"
set title "memory per idle carrier (KiB)"
plot $data using 1:4 with linespoints lw 2 pt 7 title "RSS", \\
     $data using 1:5 with linespoints lw 2 pt 5 title "malloc heap", \\
     %(memory_target)d with lines dt 2 title "target: ≤ %(memory_target)d KiB"
unset multiplot
''' % {
        'output': output, 'data': data, 'title': title,
        'xmin': rows[0]['carriers'] / 1.5, 'xmax': rows[-1]['carriers'] * 1.5,
        'accept_target': first['accept'] / 1.2, 'rtt_target': first['rtt'] * 1.2,
        'n0': first['carriers'], 'memory_target': 32 if quic else 8,
    }


def main():
    parser = argparse.ArgumentParser(description='docs/scale.svg from post-bench --cases n --json runs')
    parser.add_argument('-o', '--output', default=None,
                        help='default docs/scale.svg (docs/scale-quic.svg for --case scale-quic)')
    parser.add_argument('--case', default='scale-tcp', choices=['scale-tcp', 'scale-quic'])
    parser.add_argument('runs', nargs='+', help='JSON Lines files of post-bench --json')
    args = parser.parse_args()
    output = args.output or ('docs/scale-quic.svg' if args.case == 'scale-quic' else 'docs/scale.svg')
    runs = load(args.runs, args.case)
    if not runs:
        sys.exit('plot-scale.py: no %s object in %s' % (args.case, ', '.join(args.runs)))
    rows = medians(runs)
    print('%9s %5s %12s %10s %12s %12s' % ('carriers', 'runs', 'accept/s', 'RTT µs', 'RSS KiB/c', 'heap KiB/c'))
    for r in rows:
        print('%9d %5d %12.0f %10.1f %12.2f %12.2f' % (r['carriers'], r['runs'], r['accept'], r['rtt'],
                                                       r['rss'], r['heap']))
    subprocess.run(['gnuplot'], input=gnuplot_script(rows, runs, output, args.case), text=True, check=True)
    print('wrote %s' % output)


if __name__ == '__main__':
    main()
