# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet, no-change run: portwarden.ports.enforce against the anchor playbook
(benchmarks/anchor/anchor.yml: ansible.posix.sysctl for both keys, a template
of an nft file, a handler that reloads nft) on the demo fleet.

The fleet is the demo's own: ``PW_DEMO_KEEP=1 bash demo/run.sh`` builds the
images if needed, starts the three containers, enforces, audits and leaves
them running; ``bash demo/clean.sh RUN_ID`` removes them at the end. Both
playbooks use the demo's inventory (demo/inventory.yml, demo/group_vars).

One warm-up run of each (the anchor's first run writes its files; enforce then
records the anchor's extra reservations, which its ``present`` state keeps),
then RUNS rounds of one run each, in alternating order. Wall time of the whole
ansible-playbook process, and the ``changed`` counts from the json callback.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

RUNS = int(os.environ.get('PW_BENCH_FLEET_RUNS', '3'))
DEMO = os.path.join(benchlib.REPO, 'demo')
ANCHOR = os.path.join(benchlib.HERE, 'anchor', 'anchor.yml')


def start_fleet():
    env = dict(os.environ, PW_DEMO_KEEP='1')
    if os.environ.get('PW_BENCH_FLEET_PREFIX'):
        env['PW_DEMO_RUN_ID'] = benchlib.uid(os.environ['PW_BENCH_FLEET_PREFIX'])  # the containers carry the prefix
    env.setdefault('CONTAINERS_CONF', os.path.join(benchlib.REPO, 'tests', 'images', 'containers.conf'))
    t0 = time.perf_counter()
    res = subprocess.run(['bash', os.path.join(DEMO, 'run.sh')], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t0
    match = re.search(r'Starting the fleet \(run ([0-9A-Za-z-]+)\)', res.stdout)
    run_id = match.group(1) if match else None
    if res.returncode != 0:
        if run_id:
            stop_fleet(run_id)
        raise RuntimeError('demo/run.sh failed (rc=%d):\n%s\n%s' % (res.returncode, res.stdout[-3000:], res.stderr[-3000:]))
    if not run_id:
        raise RuntimeError('demo/run.sh did not print its run id:\n%s' % res.stdout[-2000:])
    return run_id, seconds


def stop_fleet(run_id):
    env = dict(os.environ)
    env.setdefault('CONTAINERS_CONF', os.path.join(benchlib.REPO, 'tests', 'images', 'containers.conf'))
    subprocess.run(['bash', os.path.join(DEMO, 'clean.sh'), run_id], capture_output=True, text=True, env=env, check=False)


def run(run_id, playbook):
    env = benchlib.ansible_env(PW_DEMO_RUN=run_id,
                               CONTAINERS_CONF=os.path.join(benchlib.REPO, 'tests', 'images', 'containers.conf'))
    argv = [benchlib.tool('ansible-playbook'), '-i', os.path.join(DEMO, 'inventory.yml'), playbook]
    t0 = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=benchlib.REPO, check=False)
    wall = time.perf_counter() - t0
    try:
        data = json.loads(res.stdout)
    except ValueError:
        raise RuntimeError('%s: no JSON (rc=%d): %s %s' % (playbook, res.returncode, res.stdout[-2000:], res.stderr[-2000:]))
    if res.returncode != 0:
        raise RuntimeError('%s failed (rc=%d): %s' % (playbook, res.returncode, json.dumps(data.get('stats'))))
    changed_tasks = {}
    task_times = []
    for play in data['plays']:
        for task in play['tasks']:
            hosts = sorted(h for h, r in task['hosts'].items() if r.get('changed'))
            if hosts:
                changed_tasks[task['task']['name']] = hosts
            ran = [r for r in task['hosts'].values() if not r.get('skipped')]
            dur = task['task']['duration']
            task_times.append((task['task']['name'], seconds(dur['start'], dur['end']), len(ran)))
    stats = data['stats']
    return {
        'wall': wall,
        'changed': sum(s.get('changed', 0) for s in stats.values()),
        'ok': sum(s.get('ok', 0) for s in stats.values()),
        'hosts': len(stats),
        'changed_tasks': changed_tasks,
        'tasks': task_times,
    }


def seconds(start, end):
    fmt = '%Y-%m-%dT%H:%M:%S.%f'
    return (datetime.datetime.strptime(end.rstrip('Z'), fmt) - datetime.datetime.strptime(start.rstrip('Z'), fmt)).total_seconds()


def main():
    info = benchlib.machine()
    benchlib.log('fleet_nochange: starting the demo fleet (PW_DEMO_KEEP=1 bash demo/run.sh)')
    run_id, demo_seconds = start_fleet()
    benchlib.log('fleet_nochange: fleet %s up (demo run %.0f s)' % (run_id, demo_seconds))
    books = {'enforce': 'portwarden.ports.enforce', 'anchor': ANCHOR}
    results = {'machine': info, 'runs': RUNS, 'demo_seconds': demo_seconds, 'warmup': {}, 'measured': {'enforce': [], 'anchor': []}}
    try:
        for name in ('anchor', 'enforce'):
            results['warmup'][name] = run(run_id, books[name])
            warm = results['warmup'][name]
            benchlib.log('fleet_nochange: warm-up %s %.1f s, changed %d' % (name, warm['wall'], warm['changed']))
        for i in range(RUNS):
            order = ('enforce', 'anchor') if i % 2 == 0 else ('anchor', 'enforce')
            for name in order:
                res = run(run_id, books[name])
                results['measured'][name].append(res)
                benchlib.log('fleet_nochange: round %d %s %.1f s, changed %d' % (i + 1, name, res['wall'], res['changed']))
    finally:
        stop_fleet(run_id)
    path = benchlib.save('fleet_nochange', results)
    report(results)
    benchlib.log('fleet_nochange: raw figures in %s' % path)


def report(results):
    m = results['measured']
    walls = {k: [r['wall'] for r in v] for k, v in m.items()}
    s = {k: benchlib.summary(v) for k, v in walls.items()}
    per_round = [e / a for e, a in zip(walls['enforce'], walls['anchor'])]
    print('## Fleet, no-change run (benchmarks/fleet_nochange.py)')
    print()
    print('Machine: %s.' % benchlib.machine_line(results['machine']))
    print()
    print('The demo fleet (3 podman containers, podman connection), %d runs of each playbook, alternating; the fleet was '
          'started and enforced by demo/run.sh (%.0f s). Wall time of the ansible-playbook process.' % (
              results['runs'], results['demo_seconds']))
    print()
    print('| playbook | median | min - max | changed per run (whole fleet) | ok per run | tasks that reported changed |')
    print('|---|---:|---:|---|---:|---|')
    for name, label in (('enforce', 'portwarden.ports.enforce'), ('anchor', 'anchor (sysctl x2, template, nft handler)')):
        runs = m[name]
        tasks = sorted(set(t for r in runs for t in r['changed_tasks']))
        print('| %s | %.1f s | %.1f - %.1f s | %s | %d | %s |' % (
            label, s[name]['median'], s[name]['min'], s[name]['max'], ', '.join(str(r['changed']) for r in runs),
            statistics.median(r['ok'] for r in runs), '; '.join(tasks) or 'none'))
    print()
    print('Ratio enforce / anchor: %.2fx (median of per-round ratios %.2fx, range %.2f - %.2f).' % (
        s['enforce']['median'] / s['anchor']['median'], statistics.median(per_round), min(per_round), max(per_round)))
    for name in ('enforce', 'anchor'):
        runs = m[name]
        per = {}
        for r in runs:
            for task, sec, ran in r['tasks']:
                per.setdefault(task, []).append((sec, ran))
        total = statistics.median(sum(sec for _t, sec, _r in r['tasks']) for r in runs)
        executed = statistics.median(sum(1 for _t, _s, ran in r['tasks'] if ran) for r in runs)
        top = sorted(((statistics.median(x[0] for x in v), k) for k, v in per.items()), reverse=True)[:6]
        print('%s: %d task entries per run, %d of them ran on at least one host (the rest skipped everywhere); '
              'sum of task times %.1f s. Slowest: %s.' % (
                  name, len(runs[0]['tasks']), executed, total,
                  '; '.join('%s %.1f s' % (k, sec) for sec, k in top)))
        print()
    w = results['warmup']
    print('Warm-up runs (not counted): anchor %.1f s, changed %d (%s); enforce %.1f s, changed %d (%s).' % (
        w['anchor']['wall'], w['anchor']['changed'], '; '.join(sorted(w['anchor']['changed_tasks'])) or 'none',
        w['enforce']['wall'], w['enforce']['changed'], '; '.join(sorted(w['enforce']['changed_tasks'])) or 'none'))
    print()


if __name__ == '__main__':
    main()
