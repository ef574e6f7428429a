# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Task floor: wall time per task of each module against ansible.builtin.ping.

One throwaway host (network namespace + private sysctl.d, local connection).
One playbook holds ROUNDS rounds; each round runs one task of every module in
a rotated order (so no module always follows the same neighbour). The first
round is a warm-up that also brings the host to the wanted state, so every
measured ephemeral_range / reserved_ports task is a no-change run, the normal
case of an enforcement run. The playbook is run RUNS times, with and without
pipelining. A task's wall time is its start-to-end time as the
ansible.posix.json callback records it on the controller.

Then, to see where any difference comes from, the module payloads that Ansible
ran (AnsiballZ files, kept with ANSIBLE_KEEP_REMOTE_FILES) are executed
directly on the host many times, and ``python -X importtime`` shows what the
payload imports cost.
"""

from __future__ import annotations

import base64
import datetime
import glob
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROUNDS = int(os.environ.get('PW_BENCH_FLOOR_ROUNDS', '15'))
RUNS = int(os.environ.get('PW_BENCH_FLOOR_RUNS', '3'))
DIRECT_REPEATS = int(os.environ.get('PW_BENCH_FLOOR_DIRECT', '30'))

MODULES = [
    ('ping', 'ansible.builtin.ping', {}),
    ('ephemeral_range', 'portwarden.ports.ephemeral_range', {'start': 32768, 'end': 60999}),
    ('reserved_ports', 'portwarden.ports.reserved_ports', {'ports': ['8080-8081', 9100, '30000-30010'], 'state': 'present'}),
    ('port_info', 'portwarden.ports.port_info', {}),
    # the ephemeral_ports role's one task (an action plugin: plans, then runs ephemeral_range with reserve)
    ('ephemeral_ports', 'portwarden.ports.ephemeral_ports', {
        'range': {'start': 32768, 'end': 60999}, 'services': [{'name': 'grpc', 'port': 50051}]}),
]

# The module a task ships where it is not the task's own: on Linux port_info's action plugin runs linux_port_info.
SHIPPED = {'port_info': 'linux_port_info'}

MU = 'ansible_collections.portwarden.ports.plugins.module_utils.'
ORDER = [key for key, _fqcn, _args in MODULES]


def available_modules():
    out = []
    for key, fqcn, args in MODULES:
        if fqcn.startswith('portwarden.ports.'):
            path = os.path.join(benchlib.REPO, 'plugins', 'modules', fqcn.rsplit('.', 1)[1] + '.py')
            if not os.path.exists(path):
                benchlib.log('task_floor: %s is not there yet, skipped' % fqcn)
                continue
        out.append((key, fqcn, args))
    return out


def build_playbook(modules, rounds):
    tasks = []
    for r in range(rounds + 1):
        shift = r % len(modules)
        for key, fqcn, args in modules[shift:] + modules[:shift]:
            tasks.append({'name': 'r%d %s' % (r, key), fqcn: dict(args)})
    return [{'name': 'task floor', 'hosts': 'localhost', 'gather_facts': False,
             'vars': {'ansible_python_interpreter': sys.executable}, 'tasks': tasks}]


def parse_ts(text):
    return datetime.datetime.strptime(text.rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f')


def run_playbook(host, path, extra_env):
    env = benchlib.ansible_env(**extra_env)
    argv = [benchlib.tool('ansible-playbook'), '-i', 'localhost,', '-c', 'local', path]
    t0 = time.perf_counter()
    result = subprocess.run(host.nsenter() + argv, capture_output=True, text=True, env=env, check=False)
    total = time.perf_counter() - t0
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError('ansible-playbook printed no JSON (rc=%d):\n%s\n%s' % (result.returncode, result.stdout[-2000:], result.stderr[-2000:]))
    if result.returncode != 0:
        raise RuntimeError('task floor playbook failed (rc=%d): %s' % (result.returncode, json.dumps(data.get('stats'))))
    per = {}
    changed = {}
    for task in data['plays'][0]['tasks']:
        name = task['task']['name']
        rnd, key = name.split(' ', 1)
        if rnd == 'r0':
            continue  # warm-up round
        dur = task['task']['duration']
        seconds = (parse_ts(dur['end']) - parse_ts(dur['start'])).total_seconds()
        per.setdefault(key, []).append(seconds)
        if task['hosts']['localhost'].get('changed'):
            changed[key] = changed.get(key, 0) + 1
    return per, changed, total


def collection_lines(path):
    """Lines of the collection's files (ansible_collections/portwarden/**) inside one AnsiballZ payload.

    The payload embeds its zip as one base64 literal (a zip starts with ``PK\\x03\\x04``, ``UEsDB`` in base64).
    """
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    match = re.search(r'[\'"](UEsDB[A-Za-z0-9+/=]+)[\'"]', text)
    if not match:
        return None
    data = zipfile.ZipFile(io.BytesIO(base64.b64decode(match.group(1))))
    return sum(data.read(info).count(b'\n') for info in data.infolist()
               if info.filename.startswith('ansible_collections/portwarden/'))


def direct_payload_times(host, remote_tmp, modules):
    """Execute each kept AnsiballZ payload directly on the host; time it and its imports."""
    found = {}
    for path in sorted(glob.glob(os.path.join(remote_tmp, 'ansible-tmp-*', 'AnsiballZ_*.py'))):
        name = os.path.basename(path)[len('AnsiballZ_'):-3]
        found.setdefault(name, path)
    shipped = [(key, SHIPPED.get(key, fqcn.rsplit('.', 1)[1])) for key, fqcn, _args in modules]
    paths = [(key, found[name]) for key, name in shipped if name in found]
    times = dict((key, []) for key, _path in paths)
    for _rep in range(DIRECT_REPEATS):  # interleaved, so load drift hits every module alike
        for key, path in paths:
            t0 = time.perf_counter()
            res = host.run([sys.executable, path], check=False)
            times[key].append(time.perf_counter() - t0)
            if res.returncode != 0:
                raise RuntimeError('payload %s failed: %s %s' % (path, res.stdout[-500:], res.stderr[-500:]))
    out = {}
    for key, path in paths:
        # import cost: -X importtime of the payload (it imports the module and its module_utils)
        # (5 runs, median self time per imported module)
        runs = [import_selftimes(host.run([sys.executable, '-X', 'importtime', path], check=False).stderr) for _rep in range(5)]
        names = set(name for r in runs for name in r)
        imports = dict((name, statistics.median(r.get(name, 0) for r in runs)) for name in names)
        out[key] = {'payload_bytes': os.path.getsize(path), 'collection_lines': collection_lines(path),
                    'run': benchlib.summary(times[key]), 'imports': imports}
    ping = out.get('ping', {}).get('imports', {})
    for key, data in out.items():
        extra = {name: us for name, us in data['imports'].items() if name not in ping}
        data['extra_import_count'] = len(extra)
        data['extra_import_us'] = sum(extra.values())
        data['extra_top'] = sorted(((us, name) for name, us in extra.items()), reverse=True)[:5]
        data['import_us'] = sum(data['imports'].values())
    return out


IMPORT_RE = re.compile(r'^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)')


def import_selftimes(stderr):
    """{module name: self import time in us} from python -X importtime output (every depth)."""
    out = {}
    for line in stderr.splitlines():
        m = IMPORT_RE.match(line)
        if m:
            out[m.group(3)] = out.get(m.group(3), 0) + int(m.group(1))
    return out


def main():
    modules = available_modules()
    info = benchlib.machine()
    benchlib.log('task_floor: %d rounds x %d modules x %d runs, with and without pipelining' % (ROUNDS, len(modules), RUNS))
    results = {'machine': info, 'rounds': ROUNDS, 'runs': RUNS, 'modes': {}}
    with tempfile.TemporaryDirectory(prefix='pwbench-floor-') as tmp:
        host = benchlib.NsHost(tmp)
        try:
            book = os.path.join(tmp, 'floor.yml')
            with open(book, 'w') as handle:
                json.dump(build_playbook(modules, ROUNDS), handle)
            for mode, extra in (('default', {'ANSIBLE_PIPELINING': '0'}), ('pipelining', {'ANSIBLE_PIPELINING': '1'})):
                per_all, ratios, changed_all, totals = {}, {}, {}, []
                for run in range(RUNS):
                    per, changed, total = run_playbook(host, book, extra)
                    totals.append(total)
                    ping_med = statistics.median(per['ping'])
                    for key, values in per.items():
                        per_all.setdefault(key, []).extend(values)
                        ratios.setdefault(key, []).append(statistics.median(values) / ping_med)
                    for key, count in changed.items():
                        changed_all[key] = changed_all.get(key, 0) + count
                    benchlib.log('task_floor %s run %d: %.1f s' % (mode, run + 1, total))
                ping = statistics.median(per_all['ping'])
                results['modes'][mode] = {
                    'playbook_seconds': totals,
                    'modules': {key: dict(benchlib.summary(values),
                                          ratio=statistics.median(values) / ping,
                                          run_ratios=ratios[key],
                                          changed=changed_all.get(key, 0))
                                for key, values in per_all.items()},
                }
            # where the time goes: run the kept payloads directly
            remote_tmp = os.path.join(tmp, 'remote')
            os.makedirs(remote_tmp)
            one = os.path.join(tmp, 'one.yml')
            with open(one, 'w') as handle:
                json.dump(build_playbook(modules, 0), handle)
            run_playbook(host, one, {'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': remote_tmp,
                                     'ANSIBLE_PIPELINING': '0'})
            results['direct'] = direct_payload_times(host, remote_tmp, modules)
        finally:
            host.close()
    path = benchlib.save('task_floor', results)
    report(results)
    benchlib.log('task_floor: raw figures in %s' % path)


def report(results):
    print('## Task floor (benchmarks/task_floor.py)')
    print()
    print('Machine: %s.' % benchlib.machine_line(results['machine']))
    print('%d measured rounds x %d playbook runs per mode; per-task wall time from the json callback.' % (results['rounds'], results['runs']))
    print()
    for mode, data in results['modes'].items():
        print('Mode: %s (playbook runs: %s s)' % (mode, ', '.join('%.1f' % t for t in data['playbook_seconds'])))
        print()
        print('| module | tasks | median | p10 - p90 | spread | ratio to ping (median) | ratio per run | changed |')
        print('|---|---:|---:|---:|---:|---:|---:|---:|')
        for key, s in sorted(data['modules'].items(), key=lambda kv: ORDER.index(kv[0])):
            print('| %s | %d | %s | %s - %s | %.0f%% | %.2fx | %s | %d |' % (
                key, s['n'], benchlib.fmt_ms(s['median']), benchlib.fmt_ms(s['p10']), benchlib.fmt_ms(s['p90']),
                s['spread'] * 100, s['ratio'], ' / '.join('%.2f' % r for r in s['run_ratios']), s['changed']))
        print()
    if results.get('direct'):
        print('Module payload run directly on the host (python AnsiballZ_<module>.py, %d times each):' % DIRECT_REPEATS)
        print()
        ping_run = results['direct'].get('ping', {}).get('run', {}).get('median')
        print('| module | payload size | collection lines | median | p10 - p90 | ratio to ping | all imports (self time sum) '
              '| imports ping does not make | heaviest of those (self time) |')
        print('|---|---:|---:|---:|---:|---:|---:|---:|---|')
        for key, d in sorted(results['direct'].items(), key=lambda kv: ORDER.index(kv[0])):
            top = ', '.join('%s %.1f ms' % (name.replace(MU, 'module_utils.'), us / 1000.0) for us, name in d['extra_top'][:4])
            print('| %s | %d KiB | %s | %s | %s - %s | %s | %.1f ms | %d, %.1f ms | %s |' % (
                key, d['payload_bytes'] // 1024, d.get('collection_lines') or 0, benchlib.fmt_ms(d['run']['median']), benchlib.fmt_ms(d['run']['p10']),
                benchlib.fmt_ms(d['run']['p90']), ('%.2fx' % (d['run']['median'] / ping_run)) if ping_run else '-',
                d['import_us'] / 1000.0, d['extra_import_count'],
                d['extra_import_us'] / 1000.0, top or '-'))
        print()


if __name__ == '__main__':
    main()
