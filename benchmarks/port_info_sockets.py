# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info against ansible.builtin.ping and community.general.listen_ports_facts at 50,000 sockets.

One throwaway namespace host (the integration tests' NsHost) holds SOCKETS
sockets: four listeners and SOCKETS/2 loopback TCP connections to them (each
connection is two sockets, the client's and the accepted one), spread 40/30/20/10
over 127.0.0.1:5432, 127.0.0.1:6379, [::1]:8080 and ::ffff:127.0.0.1:9200 (an
IPv6 socket to an IPv4-mapped address). The sockets are held by helper
processes inside the namespace: one server per listener that accepts and
keeps its connections, and as many client processes as the per-process file
descriptor limit requires (each raises its soft limit to the hard limit; a
container without CAP_SYS_RESOURCE cannot go beyond the hard limit, so the
work is spread instead).

Measured on the same host in the same run, interleaved:

- direct: the AnsiballZ payloads that Ansible ran (kept with
  ANSIBLE_KEEP_REMOTE_FILES) executed directly on the host: module wall time
  and CPU time (user + system of the process and its children, so the `ss`
  and `ps` that listen_ports_facts runs are counted);
- task: the task's start-to-end time as the ansible.posix.json callback
  records it (what a playbook user waits for).

Cases: ansible.builtin.ping (the floor: the target is port_info within 1.25x of
it), port_info (defaults), port_info processes=true, listen_ports_facts
(defaults: `ss -p -l -u -n -t`, then two `ps` per listener). listen_ports_facts
with include_non_listening=true reports every socket but runs two `ps` per
socket (100,000 processes at this scale); it is timed once only with
``--every-socket``; by default the bare `ss -p -u -n -t -a` it starts with is
timed, a lower bound of that mode. The socket scan alone (procnet.scan_tables)
is also timed in process from netlink sock_diag and from /proc/net, interleaved.

With ``--baseline DIR`` (a collections root holding another tree of this
collection, for example an older commit) that tree's port_info payload is one
more case of the direct runs, and playbooks of ping and port_info from both
trees alternate, each with its ratio port_info / ping: before and after, under
the same load.

Usage (root): python benchmarks/port_info_sockets.py [--sockets N] [--runs N] [--every-socket] [--baseline DIR]
Raw figures: .build/bench/port_info_sockets.json (port_info_sockets-N.json for another --sockets N);
the report goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOCKETS = 50000

DESTINATIONS = (
    # (family, listen address, connect address, port, share)
    ('ipv4', '127.0.0.1', '127.0.0.1', 5432, 0.4),
    ('ipv4', '127.0.0.1', '127.0.0.1', 6379, 0.3),
    ('ipv6', '::1', '::1', 8080, 0.2),
    ('ipv4', '127.0.0.1', '::ffff:127.0.0.1', 9200, 0.1),
)


# ------------------------------------------------------------------ socket holders (run inside the namespace)
def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _write(path, text):
    tmp = path + '.tmp'
    with open(path + '.tmp', 'w') as handle:
        handle.write(text)
    os.rename(tmp, path)


def hold_server(address, port, status):
    """Listen, accept and keep every connection; report the count in ``status``."""
    _raise_nofile()
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(4096)
    server.settimeout(0.3)
    kept = []
    reported = -1
    while True:
        try:
            conn, _peer = server.accept()
            kept.append(conn)
            continue
        except socket.timeout:
            pass
        if len(kept) != reported:
            reported = len(kept)
            _write(status, '%d\n' % reported)


def hold_clients(status, specs):
    """Open the connections of ``specs`` (``address,port,count``) and keep them."""
    _raise_nofile()
    kept = []
    for spec in specs:
        address, port, count = spec.rsplit(',', 2)
        family = socket.AF_INET6 if ':' in address else socket.AF_INET
        for _count in range(int(count)):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.connect((address, int(port)))
            kept.append(sock)
    _write(status, '%d\n' % len(kept))
    while True:
        time.sleep(3600)


# ------------------------------------------------------------------ the benchmark (runs on the machine)
def _bench_imports():
    sys.path.insert(0, HERE)
    import benchlib  # noqa: E402
    return benchlib


def plan(sockets, fd_limit):
    """Connections per destination and their split over client processes."""
    connections = sockets // 2
    counts = [int(round(connections * share)) for _f, _l, _c, _p, share in DESTINATIONS]
    counts[0] += connections - sum(counts)
    per_client = max(1, fd_limit - 200)
    if max(counts) > per_client:
        raise SystemExit('%d sockets need %d accepted connections in one server process, over the file descriptor '
                         'limit %d; use fewer sockets.' % (sockets, max(counts), fd_limit))
    clients = -(-connections // per_client)
    shares = [[0] * len(DESTINATIONS) for _count in range(clients)]
    for d, count in enumerate(counts):
        for c in range(clients):
            shares[c][d] = count // clients + (1 if c < count % clients else 0)
    return counts, shares


class Holders(object):
    """The socket-holding helper processes inside the namespace host; always killed in close()."""

    def __init__(self, host, tmp, sockets):
        self.host = host
        self.tmp = tmp
        self.pids = []
        fd_limit = int(host.sh('ulimit -Hn').stdout.strip())
        self.counts, self.shares = plan(sockets, fd_limit)
        self.script = os.path.abspath(__file__)

    def _spawn(self, mode, status, args):
        """Start one holder in the background inside the namespace; remember its pid."""
        argv = [sys.executable, self.script, mode, status] + list(args)
        out = self.host.run(['sh', '-c', '(exec "$@" >"$0.log" 2>&1 </dev/null) & echo $!', status] + argv)
        self.pids.append(int(out.stdout.strip()))

    def _wait(self, status, want, what, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(status) as handle:
                    if int(handle.read().strip() or -1) >= want:
                        return
            except (IOError, OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError('%s did not reach %d within %d s (see %s.log)' % (what, want, timeout, status))

    def start(self):
        servers = []
        for d, (_family, listen, _connect, port, _share) in enumerate(DESTINATIONS):
            status = os.path.join(self.tmp, 'server%d' % d)
            self._spawn('--hold-server', status, [listen, str(port)])
            servers.append(status)
        for d, status in enumerate(servers):
            self._wait(status, 0, 'server %d' % DESTINATIONS[d][3])
        for c, share in enumerate(self.shares):
            status = os.path.join(self.tmp, 'client%d' % c)
            specs = ['%s,%d,%d' % (DESTINATIONS[d][2], DESTINATIONS[d][3], n) for d, n in enumerate(share) if n]
            self._spawn('--hold-clients', status, specs)
            self._wait(status, sum(share), 'client %d' % c)
        for d, status in enumerate(servers):
            self._wait(status, self.counts[d], 'server %d accepts' % DESTINATIONS[d][3])

    def close(self):
        for pid in self.pids:
            subprocess.run(['kill', '-9', str(pid)], capture_output=True, check=False)
        for pid in self.pids:
            for _count in range(100):
                if not os.path.exists('/proc/%d' % pid):
                    break
                time.sleep(0.05)
        self.pids = []


def socket_count(host):
    out = host.sh('cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 | grep -vc local_address').stdout
    return int(out.strip())


CASES = (
    ('ping', 'ansible.builtin.ping', {}),
    ('port_info', 'portwarden.ports.port_info', {}),
    ('port_info_processes', 'portwarden.ports.port_info', {'processes': True}),
    ('listen_ports_facts', 'community.general.listen_ports_facts', {}),
)


def playbook(cases, rounds):
    tasks = []
    for r in range(rounds + 1):
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        for key, fqcn, args in order:
            tasks.append({'name': 'r%d %s' % (r, key), fqcn: args})
    return [{'name': 'port_info_sockets', 'hosts': 'localhost', 'gather_facts': False,
             'vars': {'ansible_python_interpreter': sys.executable}, 'tasks': tasks}]


def run_playbook(bl, host, path, extra_env):
    env = bl.ansible_env(**extra_env)
    argv = [bl.tool('ansible-playbook'), '-i', 'localhost,', '-c', 'local', path]
    result = subprocess.run(host.nsenter() + argv, capture_output=True, text=True, env=env, check=False)
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError('ansible-playbook printed no JSON (rc=%d):\n%s\n%s' % (result.returncode, result.stdout[-2000:], result.stderr[-2000:]))
    if result.returncode != 0:
        raise RuntimeError('playbook failed (rc=%d): %s' % (result.returncode, json.dumps(data)[-3000:]))
    return data


def task_times(data):
    import datetime

    def ts(text):
        return datetime.datetime.strptime(text.rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f')

    per, results = {}, {}
    for task in data['plays'][0]['tasks']:
        rnd, key = task['task']['name'].split(' ', 1)
        results[key] = task['hosts']['localhost']
        if rnd == 'r0':
            continue  # warm-up
        dur = task['task']['duration']
        per.setdefault(key, []).append((ts(dur['end']) - ts(dur['start'])).total_seconds())
    return per, results


def timed(host, argv):
    """Wall and CPU (user+system, with children) seconds of one command in the namespace."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = host.run(argv, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise RuntimeError('%r failed: %s %s' % (argv, result.stdout[-1000:], result.stderr[-1000:]))
    return wall, cpu, result.stdout


BASELINE_KEY = 'port_info_baseline'


def baseline_rounds(bl, host, tmp, rounds, baseline):
    """Task times of ping and port_info from this tree and from ``baseline``: one playbook each (a warm-up round
    and two measured rounds), alternating, ``rounds`` times; the ratio port_info / ping of each playbook."""
    cases = [case for case in CASES if case[0] in ('ping', 'port_info')]
    book = os.path.join(tmp, 'compare.yml')
    with open(book, 'w') as handle:
        json.dump(playbook(cases, 2), handle)
    out = {'current': [], 'baseline': []}
    for r in range(rounds):
        for which in (('current', 'baseline') if r % 2 == 0 else ('baseline', 'current')):
            env = {'ANSIBLE_COLLECTIONS_PATH': baseline} if which == 'baseline' else {}
            per, results = task_times(run_playbook(bl, host, book, env))
            if results['port_info']['usage']['sockets_total'] < 1:
                raise RuntimeError('%s port_info read no sockets' % which)
            out[which].append({'ping': per['ping'], 'port_info': per['port_info']})
    return out


def payloads(remote_tmp):
    found = {}
    for root, _dirs, files in os.walk(remote_tmp):
        for name in files:
            if name.startswith('AnsiballZ_') and name.endswith('.py'):
                found.setdefault(name[len('AnsiballZ_'):-3], []).append(os.path.join(root, name))
    return found


def direct_runs(bl, host, tmp, runs, baseline=None):
    """Keep the payloads of one run of each case, then execute them directly, interleaved. With ``baseline`` (a
    collections root holding another tree of this collection) its port_info payload is one more case."""
    remote_tmp = os.path.join(tmp, 'remote')
    os.makedirs(remote_tmp)
    paths = {}
    cases = list(CASES) + ([(BASELINE_KEY, 'portwarden.ports.port_info', {})] if baseline else [])
    for key, fqcn, args in cases:
        book = os.path.join(tmp, 'keep-%s.yml' % key)
        with open(book, 'w') as handle:
            json.dump([{'name': 'keep', 'hosts': 'localhost', 'gather_facts': False,
                        'vars': {'ansible_python_interpreter': sys.executable},
                        'tasks': [{'name': 'r1 ' + key, fqcn: args}]}], handle)
        before = set(sum(payloads(remote_tmp).values(), []))
        env = {'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': remote_tmp, 'ANSIBLE_PIPELINING': '0'}
        if key == BASELINE_KEY:
            env['ANSIBLE_COLLECTIONS_PATH'] = baseline
        run_playbook(bl, host, book, env)
        new = [p for p in sum(payloads(remote_tmp).values(), []) if p not in before]
        if len(new) != 1:
            raise RuntimeError('expected one new payload for %s, found %r' % (key, new))
        paths[key] = new[0]
    out = dict((key, {'wall': [], 'cpu': [], 'payload_bytes': os.path.getsize(paths[key])}) for key, _f, _a in cases)
    last = {}
    for r in range(runs):
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        for key, _fqcn, _args in order:
            wall, cpu, stdout = timed(host, [sys.executable, paths[key]])
            out[key]['wall'].append(wall)
            out[key]['cpu'].append(cpu)
            last[key] = json.loads(stdout)
    return out, last


OWNER_SCAN = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.portwarden.ports.plugins.module_utils import procnet, procowners
out = {'early': [], 'full': []}
listeners = [item.inode for item in procnet.scan_tables(1, 65535).listeners]
for _round in range(int(sys.argv[2])):
    for key, inodes in (('early', listeners), ('full', listeners + ['4294967295'])):
        t0 = time.process_time()
        procowners.socket_owners(inodes)
        out[key].append(time.process_time() - t0)
fds = 0
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            fds += len(os.listdir('/proc/%s/fd' % pid))
        except OSError:
            pass
out['fds'] = fds
print(json.dumps(out))
"""


SCAN_PATHS = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.portwarden.ports.plugins.module_utils import procnet, sockdiag
out = {'netlink': {'wall': [], 'cpu': []}, 'proc': {'wall': [], 'cpu': []}, 'sources': []}
for _round in range(int(sys.argv[2])):
    order = ('netlink', 'proc') if _round % 2 else ('proc', 'netlink')
    for source in order:
        t0, c0 = time.perf_counter(), time.process_time()
        scan = procnet.scan_tables(32768, 60999, source=source, netlink=sockdiag)
        out[source]['wall'].append(time.perf_counter() - t0)
        out[source]['cpu'].append(time.process_time() - c0)
        out['sources'].append((scan.source, scan.sockets))
print(json.dumps(out))
"""


def scan_paths(bl, host, runs):
    """The socket scan alone, in process, from netlink sock_diag and from /proc/net, interleaved (CPU includes
    the kernel's time: dumping the records, or formatting the text)."""
    collections = os.path.join(bl.REPO, '.build', 'collections')
    result = host.run([sys.executable, '-c', SCAN_PATHS, collections, str(runs)])
    return json.loads(result.stdout)


def owner_scan(bl, host, runs):
    """CPU time of the owner walk as the module does it (stops once every listener has an owner) and of a
    full walk of every /proc/<pid>/fd (an owner that is never found), in process."""
    collections = os.path.join(bl.REPO, '.build', 'collections')
    result = host.run([sys.executable, '-c', OWNER_SCAN, collections, str(runs)])
    return json.loads(result.stdout)


def ss_every_socket(host, runs):
    walls, cpus = [], []
    for _count in range(runs):
        wall, cpu, stdout = timed(host, ['ss', '-p', '-u', '-n', '-t', '-a'])
        walls.append(wall)
        cpus.append(cpu)
    return {'wall': walls, 'cpu': cpus, 'lines': len(stdout.splitlines()) - 1}


def main_bench(args):
    bl = _bench_imports()
    info = bl.machine()
    results = {'machine': info, 'sockets_wanted': args.sockets, 'runs': args.runs, 'rounds': args.rounds}
    bl.log('port_info_sockets: %d sockets, %d direct runs, %d playbook rounds' % (args.sockets, args.runs, args.rounds))
    with tempfile.TemporaryDirectory(prefix='pwbench-pi-') as tmp:
        host = bl.NsHost(tmp)
        holders = Holders(host, tmp, args.sockets)
        try:
            t0 = time.perf_counter()
            holders.start()
            results['setup_seconds'] = time.perf_counter() - t0
            results['sockets'] = socket_count(host)
            results['holder_processes'] = len(holders.pids)
            results['fd_hard_limit'] = int(host.sh('ulimit -Hn').stdout.strip())
            results['connections'] = dict(('%s:%d' % (d[2], d[3]), n) for d, n in zip(DESTINATIONS, holders.counts))
            bl.log('holding %d sockets in %d processes (%.1f s to set up)' % (results['sockets'], len(holders.pids), results['setup_seconds']))

            baseline = os.path.abspath(args.baseline) if args.baseline else None
            direct, last = direct_runs(bl, host, tmp, args.runs, baseline)
            results['direct'] = dict((k, {'wall': bl.summary(v['wall']), 'cpu': bl.summary(v['cpu']), 'raw': v,
                                          'payload_bytes': v['payload_bytes']}) for k, v in direct.items())
            bl.log('direct runs done')

            book = os.path.join(tmp, 'rounds.yml')
            with open(book, 'w') as handle:
                json.dump(playbook(list(CASES), args.rounds), handle)
            per, task_results = task_times(run_playbook(bl, host, book, {}))
            results['task'] = dict((k, dict(bl.summary(v), raw=v)) for k, v in per.items())
            bl.log('playbook rounds done')

            if baseline:
                results['baseline'] = {'collections': baseline,
                                       'rounds': baseline_rounds(bl, host, tmp, max(args.rounds // 2, 2), baseline)}
                bl.log('baseline rounds done')
            results['ss_every_socket'] = ss_every_socket(host, args.runs)
            results['owner_scan'] = owner_scan(bl, host, args.runs)
            results['scan_paths'] = scan_paths(bl, host, max(args.runs, 11))
            results['checks'] = checks(last, task_results, holders, results['sockets'])
            if args.every_socket:
                book = os.path.join(tmp, 'every.yml')
                with open(book, 'w') as handle:
                    json.dump([{'name': 'every', 'hosts': 'localhost', 'gather_facts': False,
                                'vars': {'ansible_python_interpreter': sys.executable},
                                'tasks': [{'name': 'r1 every', 'community.general.listen_ports_facts': {'include_non_listening': True}}]}],
                              handle)
                bl.log('listen_ports_facts include_non_listening=true, once (two ps per socket) ...')
                t0 = time.perf_counter()
                data = run_playbook(bl, host, book, {})
                wall = time.perf_counter() - t0
                per, res = task_times(data)
                facts = res['every'].get('ansible_facts', {})
                results['every_socket_lpf'] = {'task': per['every'][0], 'playbook_wall': wall,
                                               'reported': len(facts.get('tcp_listen', [])) + len(facts.get('udp_listen', []))}
        finally:
            holders.close()
            host.close()
    results['load_end'] = ' '.join('%.2f' % value for value in os.getloadavg())
    path = bl.save('port_info_sockets' if args.sockets == DEFAULT_SOCKETS else 'port_info_sockets-%d' % args.sockets, results)
    report(bl, results)
    bl.log('raw figures in %s' % path)
    if results['checks']['problems']:
        raise SystemExit('port_info_sockets: the modules did not report what the host holds: %s'
                         % '; '.join(results['checks']['problems']))


def answer_report(answer):
    """What the checks read of a payload's answer: a report (``port_info``, an older ``linux_port_info``) as it is;
    a ``linux_port_info`` answer's ``gathered`` counts (the host sends the busiest destinations sorted) as the same
    fields."""
    if 'gathered' not in answer:
        return answer
    found = answer['gathered']
    busiest = [{'address': item[1], 'port': item[2], 'ports_in_use': sum(item[3].values())}
               for item in found['usage']['destinations']]
    return {'usage': dict(found['usage'], busiest=busiest), 'listeners': found['listeners']}


def checks(last, task_results, holders, sockets):
    """What the runs reported, so the figures are known to come from a correct answer."""
    info = answer_report(last['port_info'])
    usage = info['usage']
    lpf = last['listen_ports_facts']['ansible_facts']
    busiest = usage['busiest'][0] if usage['busiest'] else {}
    out = {
        'port_info_sockets_total': usage['sockets_total'],
        'port_info_listeners': len(info['listeners']),
        'port_info_tcp_states': usage['tcp_states'],
        'port_info_busiest': '%s:%s %s' % (busiest.get('address'), busiest.get('port'), busiest.get('ports_in_use')),
        'port_info_processes_named': sum(1 for item in answer_report(last['port_info_processes'])['listeners']
                                         if item.get('pid')),
        'lpf_listeners': len(lpf.get('tcp_listen', [])) + len(lpf.get('udp_listen', [])),
    }
    problems = []
    if last['ping'].get('ping') != 'pong':
        problems.append('ping answered %r' % (last['ping'],))
    if usage['sockets_total'] != sockets:
        problems.append('port_info read %d sockets, the tables hold %d' % (usage['sockets_total'], sockets))
    if busiest.get('port') != 5432 or busiest.get('ports_in_use') != holders.counts[0]:
        problems.append('busiest destination %r, expected 127.0.0.1:5432 with %d' % (out['port_info_busiest'], holders.counts[0]))
    if out['port_info_processes_named'] != len(DESTINATIONS):
        problems.append('port_info named %d listener owners, expected %d' % (out['port_info_processes_named'], len(DESTINATIONS)))
    if BASELINE_KEY in last and answer_report(last[BASELINE_KEY])['usage']['sockets_total'] != sockets:
        problems.append('the baseline port_info read %d sockets' % answer_report(last[BASELINE_KEY])['usage']['sockets_total'])
    if out['lpf_listeners'] != len(DESTINATIONS):
        problems.append('listen_ports_facts reported %d listeners, expected %d' % (out['lpf_listeners'], len(DESTINATIONS)))
    out['problems'] = problems
    return out


def report_baseline(bl, results):
    ms = bl.fmt_ms
    d = results['direct']
    base = d[BASELINE_KEY]
    print('- baseline %s, interleaved: its port_info module wall %s (CPU %s), %.2f of ping\'s; this tree\'s %.2f'
          % (results['baseline']['collections'], ms(base['wall']['median']), ms(base['cpu']['median']),
             base['wall']['median'] / d['ping']['wall']['median'], d['port_info']['wall']['median'] / d['ping']['wall']['median']))
    for which in ('current', 'baseline'):
        runs = results['baseline']['rounds'][which]
        ratios = [statistics.median(run['port_info']) / statistics.median(run['ping']) for run in runs]
        pi = statistics.median([t for run in runs for t in run['port_info']])
        ping = statistics.median([t for run in runs for t in run['ping']])
        print('- %s tree, playbooks alternating with the other: port_info task %s, ping %s, ratio %.2f (per playbook %s)'
              % (which, ms(pi), ms(ping), pi / ping, ' '.join('%.2f' % r for r in ratios)))


def report(bl, results):
    ms = bl.fmt_ms
    print('## port_info at %d sockets against community.general.listen_ports_facts' % results['sockets'])
    print()
    print('Machine: %s; load average at end %s.' % (bl.machine_line(results['machine']), results.get('load_end')))
    print('Host: one network namespace holding %d sockets (%s connections per destination, %d holder processes, '
          'fd hard limit %d); %d direct runs per case, interleaved; %d playbook rounds after a warm-up round.'
          % (results['sockets'], ', '.join('%s %d' % kv for kv in results['connections'].items()),
             results['holder_processes'], results['fd_hard_limit'], results['runs'], results['rounds']))
    print()
    print('| case | module wall, median (p10-p90) | module CPU, median | task time, median (p10-p90) |')
    print('|---|---|---|---|')
    for key, _fqcn, _args in CASES:
        d = results['direct'][key]
        t = results['task'][key]
        print('| %s | %s (%s-%s) | %s | %s (%s-%s) |' % (
            key, ms(d['wall']['median']), ms(d['wall']['p10']), ms(d['wall']['p90']), ms(d['cpu']['median']),
            ms(t['median']), ms(t['p10']), ms(t['p90'])))
    print()
    base = results['direct']['listen_ports_facts']['wall']['median']
    cbase = results['direct']['listen_ports_facts']['cpu']['median']
    tbase = results['task']['listen_ports_facts']['median']
    for key in ('port_info', 'port_info_processes'):
        print('- %s / listen_ports_facts: module wall %.2f, module CPU %.2f, task time %.2f' % (
            key, results['direct'][key]['wall']['median'] / base, results['direct'][key]['cpu']['median'] / cbase,
            results['task'][key]['median'] / tbase))
    pbase = results['direct']['ping']['wall']['median']
    pcbase = results['direct']['ping']['cpu']['median']
    ptbase = results['task']['ping']['median']
    for key in ('port_info', 'port_info_processes', 'listen_ports_facts'):
        rounds = [t / p for t, p in zip(results['task'][key]['raw'], results['task']['ping']['raw'])]
        print('- %s / ping: task time %.2f (per round %s), module wall %.2f, module CPU %.2f' % (
            key, results['task'][key]['median'] / ptbase, ' '.join('%.2f' % r for r in rounds),
            results['direct'][key]['wall']['median'] / pbase, results['direct'][key]['cpu']['median'] / pcbase))
    print('- payloads (AnsiballZ files): %s' % ', '.join('%s %s bytes' % (key, format(value['payload_bytes'], ','))
                                                         for key, value in results['direct'].items()))
    if 'baseline' in results:
        report_baseline(bl, results)
    paths = results.get('scan_paths')
    if paths:
        nl, pr = paths['netlink'], paths['proc']
        print('- the socket scan alone, in process, interleaved (%d each): netlink sock_diag %s wall / %s CPU, '
              '/proc/net %s / %s; ratio %.2f (CPU %.2f)' % (
                  len(nl['wall']), ms(bl.summary(nl['wall'])['median']), ms(bl.summary(nl['cpu'])['median']),
                  ms(bl.summary(pr['wall'])['median']), ms(bl.summary(pr['cpu'])['median']),
                  bl.summary(nl['wall'])['median'] / bl.summary(pr['wall'])['median'],
                  bl.summary(nl['cpu'])['median'] / bl.summary(pr['cpu'])['median']))
    ss = results['ss_every_socket']
    print('- bare `ss -p -u -n -t -a` (%d lines; where include_non_listening=true starts): median %s wall'
          % (ss['lines'], ms(bl.summary(ss['wall'])['median'])))
    own = results['owner_scan']
    print('- owner walk of processes=true, CPU in process: %s as the module does it (stops once every listener has an '
          'owner), %s for a full walk of all %d descriptors of the machine'
          % (ms(bl.summary(own['early'])['median']), ms(bl.summary(own['full'])['median']), own['fds']))
    if 'every_socket_lpf' in results:
        e = results['every_socket_lpf']
        print('- listen_ports_facts include_non_listening=true, one run: task %.1f s, %d entries reported' % (e['task'], e['reported']))
    c = results['checks']
    print('- checks: port_info read %(port_info_sockets_total)d sockets, busiest %(port_info_busiest)s, '
          '%(port_info_processes_named)d listener owners named; listen_ports_facts listed %(lpf_listeners)d listeners' % c)
    for problem in c['problems']:
        print('- PROBLEM: %s' % problem)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--hold-server':
        return hold_server(sys.argv[3], int(sys.argv[4]), sys.argv[2])
    if len(sys.argv) > 1 and sys.argv[1] == '--hold-clients':
        return hold_clients(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sockets', type=int, default=int(os.environ.get('PW_BENCH_PI_SOCKETS', DEFAULT_SOCKETS)))
    parser.add_argument('--runs', type=int, default=int(os.environ.get('PW_BENCH_PI_RUNS', '9')))
    parser.add_argument('--rounds', type=int, default=int(os.environ.get('PW_BENCH_PI_ROUNDS', '5')))
    parser.add_argument('--every-socket', action='store_true',
                        help='also run listen_ports_facts include_non_listening=true once (slow: two ps per socket)')
    parser.add_argument('--hold', action='store_true', help='only set up the sockets and wait (for profiling)')
    parser.add_argument('--baseline', help='a collections root with another tree of this collection (for example an '
                                           'older commit) whose port_info is measured beside this one, interleaved')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('run as root (network namespaces)')
    if args.hold:
        return hold_only(args)
    return main_bench(args)


def hold_only(args):
    bl = _bench_imports()
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix='pwbench-pi-') as tmp:
        host = bl.NsHost(tmp)
        holders = Holders(host, tmp, args.sockets)
        try:
            holders.start()
            print('holding %d sockets; enter with: nsenter -t %d -n -m ; Ctrl-C or SIGTERM ends' % (socket_count(host), host.pid), flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        finally:
            holders.close()
            host.close()


if __name__ == '__main__':
    main()
