# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet report render: time and memory at 1,000 and 10,000 hosts, against the one-card-per-host renderer.

The inputs are real port_info results (benchmarks/report_inputs/*.json, see
report_inputs.py) varied into fleets of 1,000 and 10,000 hosts. Each
measurement is one fresh Python process that builds the fleet's results (not
timed), then times ``make_report`` (``build_model`` + ``render`` of all four files, as the action calls it), and
reports the CPU time, the wall time, and the memory the render added to the
process (peak RSS after minus RSS before). The sizes run interleaved
(1,000, 10,000, 10,000, 1,000, ...), so the load of the machine hits both
alike. The alternative is the renderer before issue 17 (one card with a
picture per host, every value in the HTML), taken from git at BASELINE and
measured the same way at 1,000 hosts (and at 10,000 with PW_BENCH_RENDER_OLD_10K=1).

Target: 10,000 hosts cost at most 12x what 1,000 hosts cost, in time and in memory.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

RUNS = int(os.environ.get('PW_BENCH_RENDER_RUNS', '3'))
SIZES = (1000, 10000)
BASELINE = 'ca2a02c'  # main before issue 17: plugins/plugin_utils/fleet_report.py with one card per host

CHILD = r'''
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
import report_inputs
if sys.argv[3]:
    import importlib.util
    spec = importlib.util.spec_from_file_location('old_fleet_report', os.path.join(sys.argv[3], 'fleet_report.py'))
    fr = importlib.util.module_from_spec(spec); spec.loader.exec_module(fr)
else:
    from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report as fr
hosts = report_inputs.fleet(int(sys.argv[2]))
fr.render(fr.build_model(report_inputs.fleet(20)))  # imports and template compilation, not timed
def rss():
    with open('/proc/self/status') as handle:
        for line in handle:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
before = rss()
c0, t0 = time.process_time(), time.perf_counter()
files = fr.make_report(hosts, title="Fleet")[1] if hasattr(fr, "make_report") else fr.render(fr.build_model(hosts, title="Fleet"))
cpu, wall = time.process_time() - c0, time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({'cpu': cpu, 'wall': wall, 'mem_kib': peak - before, 'sizes': dict((k, len(v.encode('utf-8'))) for k, v in files.items())}))
'''


def baseline_dir():
    """The old renderer and its templates, from git, in a temporary directory."""
    out = tempfile.mkdtemp(prefix='sflt-render-old-')
    os.makedirs(os.path.join(out, 'templates'))
    for path in ('plugins/plugin_utils/fleet_report.py', 'plugins/plugin_utils/templates/fleet_report.html.j2',
                 'plugins/plugin_utils/templates/fleet_report.md.j2'):
        text = subprocess.run(['git', '-C', benchlib.REPO, 'show', '%s:%s' % (BASELINE, path)], check=True,
                              capture_output=True, text=True).stdout
        with open(os.path.join(out, path.split('plugin_utils/', 1)[1]), 'w') as handle:
            handle.write(text)
    return out


def measure(size, old=''):
    env = dict(os.environ, PYTHONPATH=os.path.join(benchlib.REPO, '.build', 'collections'), PYTHONHASHSEED='0')
    out = subprocess.run([sys.executable, '-c', CHILD, benchlib.HERE, str(size), old], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError('render of %d hosts failed: %s' % (size, out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    info = benchlib.machine()
    old = baseline_dir()
    data = dict((size, []) for size in SIZES)
    old_data = {1000: []}
    if os.environ.get('PW_BENCH_RENDER_OLD_10K') == '1':
        old_data[10000] = []
    for run in range(RUNS):
        order = SIZES if run % 2 == 0 else tuple(reversed(SIZES))
        for size in order:
            benchlib.log('report_render: run %d, %d hosts' % (run + 1, size))
            data[size].append(measure(size))
            if size in old_data:
                old_data[size].append(measure(size, old))
    load_end = '%.2f %.2f %.2f' % os.getloadavg()

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    print('## fleet report render (issue 17)\n')
    print(benchlib.machine_line(info) + '; at the end %s.\n' % load_end)
    print('Real port_info results of five namespace hosts (benchmarks/report_inputs/) varied into fleets; '
          '`build_model` + `render` of report.json, report.md, report.html and summary.txt in a fresh process; '
          'median of %d runs, sizes interleaved. Memory: what the render added to the process (peak RSS - RSS before).\n' % RUNS)
    print('| Renderer | Hosts | CPU s | wall s | memory MiB | report.html MB | report.json MB |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    for label, table in (('this one', data), ('before (card per host, %s)' % BASELINE, old_data)):
        for size in sorted(table):
            rows = table[size]
            sizes = rows[0]['sizes']
            print('| %s | %s | %.2f | %.2f | %.0f | %.1f | %.1f |' % (
                label, '{:,}'.format(size), med(rows, 'cpu'), med(rows, 'wall'), med(rows, 'mem_kib') / 1024.0,
                sizes['html'] / 1e6, sizes['json'] / 1e6))
    cpu_ratio = med(data[10000], 'cpu') / med(data[1000], 'cpu')
    mem_ratio = med(data[10000], 'mem_kib') / max(1.0, med(data[1000], 'mem_kib'))
    print('\n10,000 vs 1,000 hosts: %.1fx CPU time, %.1fx wall time, %.1fx memory (target: at most 12x). '
          'Against the card-per-host renderer at 1,000 hosts: %.2fx its CPU time, %.2fx its HTML size.' % (
              cpu_ratio, med(data[10000], 'wall') / med(data[1000], 'wall'), mem_ratio,
              med(data[1000], 'cpu') / med(old_data[1000], 'cpu'),
              data[1000][0]['sizes']['html'] / float(old_data[1000][0]['sizes']['html'])))
    benchlib.save('report_render', {'machine': info, 'load_end': load_end, 'new': data, 'old': old_data,
                                    'cpu_ratio': cpu_ratio, 'mem_ratio': mem_ratio})
    subprocess.run(['rm', '-rf', old], check=False)
    if cpu_ratio > 12 or mem_ratio > 12:
        sys.exit('report_render: 10,000 hosts cost more than 12x 1,000 hosts (CPU %.1fx, memory %.1fx)' % (cpu_ratio, mem_ratio))


if __name__ == '__main__':
    main()
