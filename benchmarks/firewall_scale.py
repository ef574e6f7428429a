# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Firewall scale: one service (tcp/8443) open to 10, 1,000 and 100,000 source
networks.

For each size:

* render: the host_firewall role's own content expression (model filter and
  template), run in a playbook on the controller (read from the role's tasks
  file, so this measures what the role does), and the model alone; per-task
  wall time from the json callback;
* validate (``nft -c -f``) and apply (``nft -f``, first into an empty
  namespace, then replacing the table) of the rendered file, in a fresh
  network namespace;
* the role end to end (``include_role`` host_firewall, local connection, in a
  namespace host): check mode, a run that loads the table, a run that changes
  nothing, a run that replaces it with another table of the same size, and a
  run that changes nothing after another tool committed a transaction;
* ``timeline``: where one replace goes, the load task's phases on the
  controller and the host (see ``timeline_main``);
* the cost of a new TCP connection from the LAST-listed source network: a
  client namespace joined by a veth pair to the server namespace connects many
  times, median connect() time. The same sources, in the same order, as a
  linear iptables chain (iptables-legacy, one ACCEPT rule per source after the
  usual lo / established rules) in another pair of namespaces, and a pair
  without any firewall as the floor. Measurements of all pairs are
  interleaved in rounds, so load drift on the machine hits them alike.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

SIZES = [int(x) for x in os.environ.get('PW_BENCH_FW_SIZES', '10,1000,100000').split(',')]
ROUNDS = int(os.environ.get('PW_BENCH_FW_ROUNDS', '60'))
PER_ROUND = int(os.environ.get('PW_BENCH_FW_PER_ROUND', '50'))
ROLE_TIMEOUT = int(os.environ.get('PW_BENCH_FW_ROLE_TIMEOUT', '180'))
PORT = 8443
# How the catalogue reaches Ansible in the role's runs: the inventory's group_vars as JSON (default) or YAML.
VARS_FORMAT = os.environ.get('PW_BENCH_FW_VARS', 'json')
CPU = (os.cpu_count() or 1) - 1
SERVER_ADDR, CLIENT_ADDR = '10.200.0.1', '10.200.0.2'
CLIENT_NET = '10.200.0.0/29'   # numerically above every filler network: last in every order
ROLE = os.path.join(benchlib.REPO, 'roles', 'host_firewall')
YAML_DUMPER = getattr(yaml, 'CSafeDumper', yaml.SafeDumper)

SERVER = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1024)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.close()
'''

CLIENT = r'''
import json, socket, struct, sys, time
host, port = sys.argv[1], int(sys.argv[2])
linger = struct.pack("ii", 1, 0)
print("ready", flush=True)
for line in sys.stdin:
    n = int(line)
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.settimeout(5)
        t0 = time.perf_counter_ns()
        s.connect((host, port))
        out.append(time.perf_counter_ns() - t0)
        s.close()
    print(json.dumps(out), flush=True)
'''


def sources(n):
    """n-1 non-adjacent /29 networks from 10.0.0.0 on (16 addresses apart), then the client's network."""
    base = int(ipaddress.ip_address('10.0.0.0'))
    nets = ['%s/29' % ipaddress.ip_address(base + 16 * i) for i in range(n - 1)]
    nets.append(CLIENT_NET)
    return nets


def services(n):
    return [{'name': 'api', 'port': PORT, 'proto': 'tcp', 'sources': sources(n)}]


def _filter():
    """The role's filter module (plugins/filter/host_firewall_model.py) of this checkout."""
    collections = os.path.join(benchlib.REPO, '.build', 'collections')
    if collections not in sys.path:
        sys.path.insert(0, collections)
    from ansible_collections.portwarden.ports.plugins.filter import host_firewall_model as module
    return module


def role_options():
    """The role's defaults (defaults/main.yml) as the filter's options: ``host_firewall_<name>`` -> ``name``, for
    every variable the role's task reads (plugin_utils/firewall_role.py ``DEFAULTS``, the options the filter takes
    too); the catalogue left out."""
    _filter()
    from ansible_collections.portwarden.ports.plugins.plugin_utils.firewall_role import DEFAULTS
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    taken = set(DEFAULTS) - {'services'}
    return dict((key[len('host_firewall_'):], value) for key, value in defaults.items()
                if key.startswith('host_firewall_') and key[len('host_firewall_'):] in taken)


def role_template():
    with open(os.path.join(ROLE, 'templates', 'portwarden.nft.j2')) as handle:
        return handle.read()


def role_vars(tmp, n):
    return {
        'host_firewall_services': services(n),
        'host_firewall_install': False,
        'host_firewall_rules_path': os.path.join(tmp, 'etc', 'portwarden.nft'),
        'host_firewall_state_dir': os.path.join(tmp, 'state'),
        # persistence as the role does it, into a nftables.conf of the benchmark's own (no systemd in a namespace)
        'host_firewall_nftables_conf': os.path.join(tmp, 'etc', 'nftables.conf'),
        'ansible_python_interpreter': sys.executable,
    }


class Timeout(Exception):
    pass


def playbook(host, tmp, name, plays, extra_vars, timeout=None, inventory=None, collections=None):
    """Run plays (on localhost, local connection; inside ``host`` when given); return json output, wall time.

    ``extra_vars`` go in with ``-e @file``; with ``inventory`` (a directory with its group_vars) the host comes from
    there. ``collections``: another checkout's collections path (the A/B runs). Raises Timeout when the run takes
    longer than ``timeout`` seconds (the run is stopped). The controller's ANSIBLE_HOME is ``tmp``'s own
    (``ansible_home``), so the catalogues kept on the controller (catalogue_cache.py) are those of this variant only:
    its first run validates the catalogue (a miss), as on a fresh controller, and the later ones take it (a hit).
    """
    book = os.path.join(tmp, name + '.yml')
    with open(book, 'w') as handle:
        json.dump(plays, handle)
    evars = os.path.join(tmp, name + '.vars.json')
    with open(evars, 'w') as handle:
        json.dump(extra_vars, handle)
    argv = [benchlib.tool('ansible-playbook'), '-i', inventory or 'localhost,', '-c', 'local', book, '-e', '@' + evars]
    prefix = host.nsenter() if host else []
    env = benchlib.ansible_env(ANSIBLE_HOME=os.path.join(tmp, 'ansible_home'))
    if collections:
        env['ANSIBLE_COLLECTIONS_PATH'] = collections
    t0 = time.perf_counter()
    proc = subprocess.Popen(prefix + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        benchlib.kill_tree(proc.pid)
        proc.communicate()
        raise Timeout('%s: stopped after %d s' % (name, timeout))
    wall = time.perf_counter() - t0
    try:
        data = json.loads(stdout)
    except ValueError:
        raise RuntimeError('%s: no JSON (rc=%d): %s %s' % (name, proc.returncode, stdout[-2000:], stderr[-2000:]))
    if proc.returncode != 0:
        raise RuntimeError('%s failed: %s' % (name, json.dumps(data)[-3000:]))
    return data, wall


def task_seconds(data):
    """[(task name, seconds, changed)] from the json callback."""
    import datetime

    def ts(text):
        return datetime.datetime.strptime(text.rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f')
    out = []
    for play in data['plays']:
        for task in play['tasks']:
            d = task['task']['duration']
            changed = any(h.get('changed') for h in task['hosts'].values())
            out.append((task['task']['name'], (ts(d['end']) - ts(d['start'])).total_seconds(), changed))
    return out


def render(tmp, n, reps):
    """The role's content, rendered in this process by the filter's own functions (host_firewall_model with the
    role's defaults and its template: the validation of every entry, the model, the template), and the model alone;
    CPU-bound, so wall time of each call, ``reps`` times."""
    module, options, template = _filter(), role_options(), role_template()
    catalogue = services(n)
    model, total, text = [], [], None
    for _rep in range(reps):
        t0 = time.perf_counter()
        module.host_firewall_model(catalogue, **dict(options))
        t1 = time.perf_counter()
        text = module.host_firewall_model(catalogue, template=template, **dict(options))
        t2 = time.perf_counter()
        model.append(t1 - t0)
        total.append(t2 - t1)
    out = os.path.join(tmp, 'rendered-%d.nft' % n)
    with open(out, 'w') as handle:
        handle.write(text)
    template_only = [max(0.0, b - a) for a, b in zip(model, total)]
    return out, {'model': benchlib.summary(model), 'template': benchlib.summary(template_only),
                 'render': benchlib.summary(total), 'bytes': os.path.getsize(out)}


def direct_render(tmp, n):
    """The role's template rendered with plain Jinja2 from a model built by the role's own build_model for ONE
    source, whose source list is then replaced by the n canonical, sorted, non-overlapping networks (what
    build_model returns for them). Used when the role's render does not finish in time, so that validate,
    apply and the connection cost can still be measured on the file the role would write."""
    import jinja2
    sys.path.insert(0, os.path.join(benchlib.REPO, '.build', 'collections'))
    from ansible_collections.portwarden.ports.plugins.plugin_utils.firewall_model import build_model, shards
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    options = dict((k[len('host_firewall_'):], defaults[k]) for k in (
        'host_firewall_management_ports', 'host_firewall_management_sources', 'host_firewall_allow_ping',
        'host_firewall_dhcpv6_client', 'host_firewall_log', 'host_firewall_log_prefix', 'host_firewall_log_rate',
        'host_firewall_forward_policy', 'host_firewall_output_policy', 'host_firewall_rules_path'))
    model = build_model([dict(services(1)[0])], **options)
    item = model['services'][0]
    networks = sources(n)
    item['elements_v4'] = ', '.join(networks)
    item['sets'] = shards(item['id'] + '_v4', 'ip', networks)
    model['services'][0]['source_count'] = n
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, 'templates')), trim_blocks=True)
    t0 = time.perf_counter()
    text = env.get_template('portwarden.nft.j2').render(__host_firewall_model=model)
    seconds = time.perf_counter() - t0
    out = os.path.join(tmp, 'direct-%d.nft' % n)
    with open(out, 'w') as handle:
        handle.write(text)
    return out, seconds


def same_file(a, b):
    with open(a) as fa, open(b) as fb:
        return fa.read().rstrip('\n') == fb.read().rstrip('\n')


def nft_times(path, reps):
    """nft -c -f and nft -f of the rendered file in a fresh namespace: wall time and CPU time (user + system)."""
    ns = benchlib.NetNs()
    cpu = {'validate': [], 'apply_empty': [], 'apply_replace': []}
    try:
        def timed(argv, key):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            ns.run(argv)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[key].append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
            return wall
        validate = [timed(['nft', '-c', '-f', path], 'validate') for _rep in range(reps)]
        first = timed(['nft', '-f', path], 'apply_empty')
        replace = [timed(['nft', '-f', path], 'apply_replace') for _rep in range(reps)]
    finally:
        ns.close()
    return {'validate': benchlib.summary(validate), 'apply_empty': first, 'apply_replace': benchlib.summary(replace),
            'cpu': dict((k, statistics.median(v)) for k, v in cpu.items())}


RECORD = r'''
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.portwarden.ports.plugins.module_utils import nft_netlink
out = {'listing': [], 'digest': []}
for _rep in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    subprocess.run(['nft', '-s', 'list', 'table', 'inet', 'portwarden'], check=True, stdout=subprocess.DEVNULL)
    t1 = time.perf_counter()
    nft_netlink.table_state(1, 'portwarden')
    t2 = time.perf_counter()
    out['listing'].append(t1 - t0)
    out['digest'].append(t2 - t1)
print(json.dumps(out))
'''


def record_times(path, reps):
    """What the record of the loaded table costs, in a fresh namespace holding the rendered table: the listing the
    earlier record took (``nft -s list table``) and the netlink digest that replaces it (nft_netlink), interleaved."""
    ns = benchlib.NetNs()
    try:
        ns.run(['nft', '-f', path])
        proc = ns.run([sys.executable, '-c', RECORD, os.path.join(benchlib.REPO, '.build', 'collections'), str(reps)])
        data = json.loads(proc.stdout)
    finally:
        ns.close()
    return dict((key, benchlib.summary(values)) for key, values in data.items())


# The role's runs at one size, in order: (label, check mode, extra variables, what happens first).
ROLE_RUNS = [
    ('check', True, {}, None),               # check mode into the empty namespace: nft -c of the new table
    ('load', False, {}, None),               # loads the table (empty before), writes the file, adds the include line
    ('nochange', False, {}, None),           # nothing committed since: no nft at all
    ('replace', False, {'host_firewall_log_rate': '6/minute'}, None),   # another table of the same size, with rollback
    ('nochange_after_commit', False, {'host_firewall_log_rate': '6/minute'}, 'nft add table ip pwbench'),
]


def role_runs(host, tmp, n):
    """The role end to end in the namespace host (local connection; rollback timer armed, 30 s, and confirmed).

    The catalogue comes from the inventory's group_vars, as a fleet keeps it: JSON by default (PW_BENCH_FW_VARS=yaml
    for YAML). A catalogue of 100,000 sources is generated, not written by hand, and ansible-core loads it as JSON in
    about half the time it takes as YAML; the ``ab`` runs measure JSON, YAML and ``-e @file`` (which costs ansible-core
    2.19 seconds more: it deep-copies the tagged extra variables)."""
    play = [{'name': 'host_firewall', 'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'name': 'role', 'ansible.builtin.include_role': {'name': 'portwarden.ports.host_firewall'}}]}]
    os.makedirs(os.path.join(tmp, 'etc'), exist_ok=True)
    inventory = _inventory(tmp, role_vars(tmp, n))
    out = {}
    for label, check, extra, before in ROLE_RUNS:
        if before:
            host.run(before.split())
        evars = dict(extra)
        name = 'role-%d-%s' % (n, label)
        if check:
            plays = [dict(play[0], check_mode=True)]
        else:
            plays = play
        try:
            data, wall = playbook(host, tmp, name, plays, evars, timeout=ROLE_TIMEOUT, inventory=inventory)
        except Timeout:
            out[label] = {'timeout': ROLE_TIMEOUT}
            continue
        tasks = task_seconds(data)
        load = [sec for task, sec, _c in tasks if 'Load the table' in task]
        validate = [sec for task, sec, _c in tasks if 'Validating arguments' in task]
        stats = data['stats']['localhost']
        out[label] = {'wall': wall, 'load_task': load[0] if load else None, 'changed': stats.get('changed', 0),
                      'validate_task': validate[0] if validate else None, 'tasks_total': sum(sec for _t, sec, _c in tasks)}
    # The floor: ansible-playbook with the same inventory (the catalogue among its variables) and one debug task, no
    # role: what ansible-core itself spends on starting and on loading the variables.
    floor = [{'name': 'floor', 'hosts': 'localhost', 'gather_facts': False,
              'tasks': [{'name': 'floor', 'ansible.builtin.debug': {'msg': 'floor'}}]}]
    data, wall = playbook(host, tmp, 'floor-%d' % n, floor, {}, timeout=ROLE_TIMEOUT, inventory=inventory)
    out['floor'] = {'wall': wall}
    return out


def iptables_rules(n):
    lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]',
             '-A INPUT -i lo -j ACCEPT',
             '-A INPUT -m conntrack --ctstate INVALID -j DROP',
             '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
             '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT']
    lines += ['-A INPUT -s %s -p tcp -m tcp --dport %d -j ACCEPT' % (net, PORT) for net in sources(n)]
    lines.append('COMMIT')
    return '\n'.join(lines) + '\n'


class Pair(object):
    """A server namespace (given) and a client namespace joined by a veth pair, a listener and a connect worker."""

    def __init__(self, label, server):
        self.label = label
        self.server = server
        self.client = benchlib.NetNs()
        benchlib.veth_pair(server, self.client, SERVER_ADDR, CLIENT_ADDR)
        self.client.run(['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=10000 60999'])
        # Both ends on one CPU: the whole handshake over the veth then runs on it (softirq included), which
        # removes the cross-CPU wake-up that otherwise makes connect() times bimodal.
        pin = ['taskset', '-c', str(CPU)]
        self.listener = self._start(server, pin + [sys.executable, '-c', SERVER, str(PORT)])
        self.worker = self._start(self.client, pin + [sys.executable, '-c', CLIENT, SERVER_ADDR, str(PORT)])
        self.samples = []
        self.round_medians = []

    @staticmethod
    def _start(ns, argv):
        full = ['nsenter', '-t', str(ns.pid), '-n'] + argv     # the network namespace only, for either kind
        proc = subprocess.Popen(full, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if proc.stdout.readline().strip() != 'ready':
            raise RuntimeError('helper process did not start: %r' % argv)
        return proc

    def measure(self, count):
        self.worker.stdin.write('%d\n' % count)
        self.worker.stdin.flush()
        line = self.worker.stdout.readline()
        if not line:
            raise RuntimeError('%s: connect worker died (is the client allowed?)' % self.label)
        values = [ns / 1e9 for ns in json.loads(line)]
        self.samples.extend(values)
        self.round_medians.append(statistics.median(values))

    def close(self):
        for proc in (self.worker, self.listener):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream:
                    stream.close()
        self.client.close()


def main():
    info = benchlib.machine()
    results = {'machine': info, 'sizes': SIZES, 'rounds': ROUNDS, 'per_round': PER_ROUND, 'nft': {}, 'iptables': {}}
    benchlib.log('firewall_scale: sizes %s' % SIZES)
    servers, pairs = [], []
    with tempfile.TemporaryDirectory(prefix='pwbench-fw-') as tmp:
        try:
            for n in SIZES:
                sub = os.path.join(tmp, 'n%d' % n)
                os.makedirs(sub)
                reps = 3 if n <= 1000 else 2
                path, rend = render(sub, n, reps)
                direct, direct_seconds = direct_render(sub, n)
                rend['direct_template'] = direct_seconds
                rend['direct_same'] = same_file(path, direct)
                benchlib.log('firewall_scale %d: render %.2f s (%d bytes)' % (n, rend['render']['median'], rend['bytes']))
                nft = nft_times(path, 3)
                nft['record'] = record_times(path, 5)
                benchlib.log('firewall_scale %d: nft -c %.2f s, nft -f %.2f s' % (n, nft['validate']['median'], nft['apply_replace']['median']))
                host = benchlib.NsHost(sub)
                servers.append(host)
                role = role_runs(host, sub, n)
                if 'timeout' in role['load']:
                    host.run(['nft', '-f', path])
                benchlib.log('firewall_scale %d: role %s' % (n, role))
                results['nft'][n] = dict(rend, **nft)
                results['nft'][n]['role'] = role
                pairs.append(Pair('nft %d' % n, host))

                ipt = benchlib.NetNs()
                servers.append(ipt)
                rules = os.path.join(sub, 'iptables.rules')
                with open(rules, 'w') as handle:
                    handle.write(iptables_rules(n))
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                ipt.run(['sh', '-c', 'iptables-legacy-restore < "$1"', 'sh', rules])
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                results['iptables'][n] = {'restore': time.perf_counter() - t0,
                                          'restore_cpu': (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}
                pairs.append(Pair('iptables %d' % n, ipt))
            floor = benchlib.NetNs()
            servers.append(floor)
            pairs.append(Pair('no firewall', floor))

            benchlib.log('firewall_scale: connect timing, %d rounds x %d connections x %d pairs' % (ROUNDS, PER_ROUND, len(pairs)))
            for pair in pairs:       # warm-up (ARP, caches), not kept
                pair.measure(20)
                pair.samples, pair.round_medians = [], []
            rng = random.Random(8)
            for _round in range(ROUNDS):
                order = list(pairs)
                rng.shuffle(order)
                for pair in order:
                    pair.measure(PER_ROUND)
            results['connect'] = {p.label: dict(benchlib.summary(p.samples), round_medians=p.round_medians) for p in pairs}
        finally:
            for pair in pairs:
                pair.close()
            for server in servers:
                server.close()
    path = benchlib.save('firewall_scale', results)
    report(results)
    benchlib.log('firewall_scale: raw figures in %s' % path)


def ratio_rounds(conn, a, b):
    ra, rb = conn[a]['round_medians'], conn[b]['round_medians']
    per = [x / y for x, y in zip(ra, rb)]
    return statistics.median(per), min(per), max(per)


def _cell(d, fmt='%.2f'):
    return fmt % d


def _role_cell(run):
    if run is None:
        return 'not run (render did not finish)'
    if 'timeout' in run:
        return '> %d (stopped)' % run['timeout']
    return '%.1f / %.2f (changed %d)' % (run['wall'], run['load_task'] or 0.0, run['changed'])


def report(results):
    sizes = results['sizes']
    print('## Firewall scale (benchmarks/firewall_scale.py)')
    print()
    print('Machine: %s.' % benchlib.machine_line(results['machine']))
    print()
    print('One service (tcp/%d) open to N source networks (non-adjacent /29s, the client\'s network last). Times in '
          'seconds; median of repeats (p10 - p90 for the replace).' % PORT)
    print()
    print('| sources | file size | render in process by the role\'s filter (model + template) | template alone (Jinja2) '
          '| validate nft -c -f '
          '| apply nft -f, empty | apply nft -f, replace | iptables-legacy-restore, same sources |')
    print('|---:|---:|---:|---:|---:|---:|---:|---:|')
    for n in sizes:
        d = results['nft'][n]
        rendered = '%.2f (%.2f + %.2f)' % (d['render']['median'], d['model']['median'], d['template']['median'])
        print('| %d | %d KiB | %s | %.2f | %.2f | %.2f | %.2f (%.2f - %.2f) | %.2f |' % (
            n, d['bytes'] // 1024, rendered, d['direct_template'], d['validate']['median'], d['apply_empty'],
            d['apply_replace']['median'], d['apply_replace']['p10'], d['apply_replace']['p90'],
            results['iptables'][n]['restore']))
    print()
    print('The role end to end (include_role, the catalogue in the inventory\'s group_vars as %s, local connection, rollback '
          'timer armed and confirmed, persistence into a nftables.conf of its own): wall time of the playbook / of the '
          'task that loads the table, in seconds, and '
          'the changed count. check: check mode, the new table checked with nft -c; load: into the empty namespace, '
          'with the include line (its nftables.conf checked with nft -c); no change: nothing committed since; '
          'replace: another table of the same size; no change after a commit: another tool committed a '
          'transaction (the table\'s netlink digest compared; earlier versions listed it).' % VARS_FORMAT.upper())
    print()
    print('| sources | check | load | no change | replace | no change after a commit |')
    print('|---:|---:|---:|---:|---:|---:|')
    for n in sizes:
        role = results['nft'][n].get('role')
        print('| %d | %s |' % (n, ' | '.join(_role_cell(role.get(label) if role else None) for label, _c, _e, _b in ROLE_RUNS)))
    print()
    print('Where the playbook\'s time goes (seconds): the floor is ansible-playbook with the same inventory (the '
          'catalogue in its group_vars) and one debug task, no role (starting, loading and copying the variables); the '
          'role\'s argument validation task; the load task; the rest of the role\'s tasks; what is left of the wall time '
          '(ansible-core between tasks). Ratio: the '
          'playbook\'s wall time over the load task\'s.')
    print()
    print('| sources | run | playbook | floor | argument validation | load task | other tasks | between tasks | playbook / load task |')
    print('|---:|---|---:|---:|---:|---:|---:|---:|---:|')
    for n in sizes:
        role = results['nft'][n].get('role') or {}
        floor = (role.get('floor') or {}).get('wall')
        for label, _c, _e, _b in ROLE_RUNS:
            run = role.get(label)
            if not run or 'timeout' in run or not run.get('load_task') or floor is None:
                continue
            other = run['tasks_total'] - run['load_task'] - (run['validate_task'] or 0.0)
            print('| %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1fx |' % (
                n, label, run['wall'], floor, run['validate_task'] or 0.0, run['load_task'], other,
                run['wall'] - floor - run['tasks_total'], run['wall'] / run['load_task']))
    print()
    print('CPU time (user + system) of the same commands, less sensitive to the load of the machine than wall time:')
    print()
    print('| sources | nft -c -f | nft -f, empty | nft -f, replace | iptables-legacy-restore |')
    print('|---:|---:|---:|---:|---:|')
    for n in sizes:
        c = results['nft'][n]['cpu']
        print('| %d | %.2f | %.2f | %.2f | %.2f |' % (
            n, c['validate'], c['apply_empty'], c['apply_replace'], results['iptables'][n].get('restore_cpu', float('nan'))))
    print()
    print('The record of the loaded table, in a fresh namespace holding the rendered table (median of 5, interleaved): '
          'the listing the earlier record held (nft -s list table) and the netlink digest that replaces it:')
    print()
    print('| sources | nft -s list table | netlink digest (nft_netlink) | digest / listing |')
    print('|---:|---:|---:|---:|')
    for n in sizes:
        rec = results['nft'][n]['record']
        print('| %d | %.3f | %.3f | %.2f |' % (n, rec['listing']['median'], rec['digest']['median'],
                                               rec['digest']['median'] / rec['listing']['median']))
    print()
    conn = results.get('connect')
    if not conn:
        return
    print('New TCP connection from the last-listed source (connect() time, %d rounds x %d connections, interleaved):' % (
        results['rounds'], results['per_round']))
    print()
    print('| ruleset | median | p10 - p90 | spread | vs same ruleset at %d: median of per-round ratios (min - max) '
          '| p10 vs p10 at %d (the uncontended path) |' % (sizes[0], sizes[0]))
    print('|---|---:|---:|---:|---:|---:|')
    for label, s in conn.items():
        kind = label.split(' ')[0]
        base = '%s %d' % (kind, sizes[0])
        if base in conn and label != base:
            med, lo, hi = ratio_rounds(conn, label, base)
            rel = '%.2fx (%.2f - %.2f)' % (med, lo, hi)
            fast = '%.2fx' % (s['p10'] / conn[base]['p10'])
        else:
            rel = fast = '-'
        print('| %s | %s | %s - %s | %.0f%% | %s | %s |' % (
            label, benchlib.fmt_us(s['median']), benchlib.fmt_us(s['p10']), benchlib.fmt_us(s['p90']), s['spread'] * 100, rel, fast))
    print()


# -- A/B of whole playbooks: before (another checkout) and after, interleaved ------------------------------------
# (label, checkout: 'before' or 'after', how the catalogue reaches Ansible: group_vars 'json' or 'yaml', or 'extra'
# for -e @file; the role task's form). Both checkouts run the same forms, so that a ratio is the checkout's alone.
AB_VARIANTS = [
    ('before, group_vars JSON', 'before', 'json', 'import_role'),
    ('after, group_vars JSON', 'after', 'json', 'import_role'),
    ('before, group_vars YAML', 'before', 'yaml', 'import_role'),
    ('after, group_vars YAML', 'after', 'yaml', 'import_role'),
    ('before, -e @file', 'before', 'extra', 'import_role'),
    ('after, -e @file', 'after', 'extra', 'import_role'),
    # the sources in a file of their own, read by a lookup in group_vars: ansible-core loads one short template, not
    # 100,000 strings (docs/host_firewall.md, "Large catalogues")
    ('before, lookup of a file', 'before', 'lookup', 'import_role'),
    ('after, lookup of a file', 'after', 'lookup', 'import_role'),
    # the whole catalogue a YAML file of its own, read by the collection's lookup (portwarden.ports.catalogue) in
    # group_vars; a checkout without that lookup skips it
    ('before, catalogue lookup of a YAML file', 'before', 'catalogue', 'import_role'),
    ('after, catalogue lookup of a YAML file', 'after', 'catalogue', 'import_role'),
]


def _role_play(form):
    role = {'name': 'portwarden.ports.host_firewall'}
    if form == 'import_role':
        role['rolespec_validate'] = False
    return [{'name': 'host_firewall', 'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'name': 'role', 'ansible.builtin.%s' % form: role}]}]


def _inventory(tmp, values, fmt=None):
    """An inventory directory as a fleet keeps it: the host, and the variables (the catalogue) in group_vars, as
    ``group_vars/all.json`` (``fmt`` 'json') or ``group_vars/all.yml`` ('yaml'); default PW_BENCH_FW_VARS. With
    'lookup', the sources of each service are a file next to the inventory, one per line, and group_vars/all.json
    reads it: ``{{ lookup('ansible.builtin.file', path).splitlines() }}``. With 'catalogue', the catalogue is a YAML
    file next to the inventory (not in it: ansible-core reads every file of an inventory directory as inventory), and
    group_vars/all.json reads it: ``{{ lookup('portwarden.ports.catalogue', path) }}``."""
    fmt = fmt or VARS_FORMAT
    inv = os.path.join(tmp, 'inventory')
    os.makedirs(os.path.join(inv, 'group_vars'), exist_ok=True)
    with open(os.path.join(inv, 'hosts.yml'), 'w') as handle:
        yaml.safe_dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local'}}}}, handle)
    if fmt == 'lookup':
        values = dict(values, host_firewall_services=[dict(service) for service in values['host_firewall_services']])
        for service in values['host_firewall_services']:
            path = os.path.join(tmp, 'sources-%s.txt' % service['name'])
            with open(path, 'w') as handle:
                handle.write(''.join(source + '\n' for source in service['sources']))
            service['sources'] = "{{ lookup('ansible.builtin.file', %r).splitlines() }}" % path
        fmt = 'json'
    if fmt == 'catalogue':
        path = os.path.join(tmp, 'catalogue.yml')
        with open(path, 'w') as handle:
            yaml.dump(values['host_firewall_services'], handle, Dumper=YAML_DUMPER, default_flow_style=False)
        values = dict(values, host_firewall_services="{{ lookup('portwarden.ports.catalogue', %r) }}" % path)
        fmt = 'json'
    if fmt == 'json':
        with open(os.path.join(inv, 'group_vars', 'all.json'), 'w') as handle:
            json.dump(values, handle)
    else:
        with open(os.path.join(inv, 'group_vars', 'all.yml'), 'w') as handle:
            yaml.dump(values, handle, Dumper=YAML_DUMPER, default_flow_style=False)
    return inv


def ab_variant(tmp, n, label, collections, how, form):
    """One variant at one size, in a fresh namespace host: the role's runs (ROLE_RUNS) and the floor."""
    if how == 'catalogue' and not os.path.exists(os.path.join(
            collections, 'ansible_collections', 'portwarden', 'ports', 'plugins', 'lookup', 'catalogue.py')):
        benchlib.log('firewall_scale ab %d %s: skipped, that checkout has no catalogue lookup' % (n, label))
        return None
    host = benchlib.NsHost(tmp)
    out = {}
    try:
        os.makedirs(os.path.join(tmp, 'etc'), exist_ok=True)
        values = role_vars(tmp, n)
        inventory = _inventory(tmp, values, how) if how != 'extra' else None
        for run_label, check, extra, before in ROLE_RUNS:
            if before:
                host.run(before.split())
            plays = _role_play(form)
            if check:
                plays = [dict(plays[0], check_mode=True)]
            evars = dict(extra) if inventory else dict(values, **extra)
            data, wall = playbook(host, tmp, 'ab-%s' % run_label, plays, evars, timeout=ROLE_TIMEOUT, inventory=inventory,
                                  collections=collections)
            tasks = task_seconds(data)
            role_tasks = [t for t in tasks if t[0].startswith('portwarden.ports.host_firewall : ')]
            load = [sec for task, sec, _c in tasks if 'Load the table' in task]
            validate = [sec for task, sec, _c in tasks if 'Validating arguments' in task]
            plan = [host_result.get('catalogue_cache') for play in data['plays'] for task in play['tasks']
                    if 'Load the table' in task['task']['name'] for host_result in task['hosts'].values()]
            out[run_label] = {'wall': wall, 'load_task': load[0] if load else None, 'catalogue_cache': plan[0] if plan else None,
                              'validate_task': validate[0] if validate else 0.0, 'entries': len(role_tasks),
                              'changed': data['stats']['localhost'].get('changed', 0),
                              'tasks_total': sum(sec for _t, sec, _c in tasks)}
        floor = [{'name': 'floor', 'hosts': 'localhost', 'gather_facts': False,
                  'tasks': [{'name': 'floor', 'ansible.builtin.debug': {'msg': 'floor'}}]}]
        _data, wall = playbook(host, tmp, 'ab-floor', floor, {} if inventory else values, timeout=ROLE_TIMEOUT,
                               inventory=inventory, collections=collections)
        out['floor'] = {'wall': wall}
    finally:
        host.close()
    benchlib.log('firewall_scale ab %d %s: %s' % (n, label, json.dumps(out)))
    return out


def ab_main(argv):
    """``firewall_scale.py ab BEFORE_CHECKOUT [ROUND_ORDER]``: the variants of AB_VARIANTS at PW_BENCH_FW_SIZES, in the
    order given (``ba`` = before first, ``ab`` = after first), one namespace host per variant and size."""
    before = os.path.abspath(argv[0])
    order = argv[1] if len(argv) > 1 else 'ba'
    checkouts = {'before': os.path.join(before, '.build', 'collections'),
                 'after': os.path.join(benchlib.REPO, '.build', 'collections')}
    for path in checkouts.values():
        if not os.path.isdir(os.path.join(path, 'ansible_collections', 'portwarden', 'ports')):
            raise SystemExit('%s: no collection link (make link in that checkout)' % path)
    # pairs of one form, interleaved: before then after (``ba``) or after then before (``ab``)
    # PW_BENCH_FW_AB_FORMS: only these ways of passing the catalogue (json, yaml, extra, lookup, catalogue)
    forms = [f for f in os.environ.get('PW_BENCH_FW_AB_FORMS', '').split(',') if f]
    variants = [v for _i, v in sorted(enumerate(AB_VARIANTS), key=lambda iv: (
        iv[0] // 2, (iv[1][1] != 'before') if order == 'ba' else (iv[1][1] == 'before'))) if not forms or v[2] in forms]
    load = os.getloadavg()
    results = {'machine': benchlib.machine(), 'sizes': SIZES, 'order': order, 'load_start': load, 'runs': {}, 'nft': {}}
    benchlib.log('firewall_scale ab: sizes %s, order %s, load %s' % (SIZES, order, load))
    with tempfile.TemporaryDirectory(prefix='pwbench-fwab-') as tmp:
        for n in SIZES:
            # for reference: the rendered table alone with nft, and the record's two ways of reading it back
            sub = os.path.join(tmp, '%d-nft' % n)
            os.makedirs(sub)
            path, rend = render(sub, n, 2)
            results['nft'][str(n)] = dict(nft_times(path, 3), record=record_times(path, 5), render=rend['render'])
            for label, which, how, form in variants:
                sub = os.path.join(tmp, '%d-%s-%s-%s' % (n, which, how, form))
                os.makedirs(sub)
                results['runs'].setdefault(str(n), {})[label] = ab_variant(sub, n, label, checkouts[which], how, form)
    results['load_end'] = os.getloadavg()
    path = benchlib.save('firewall_scale_ab', results)
    ab_report(results)
    benchlib.log('firewall_scale ab: raw figures in %s' % path)


def ab_report(results):
    print('Load average %s at the start, %s at the end; order %s.' % (
        ' / '.join('%.2f' % x for x in results['load_start']), ' / '.join('%.2f' % x for x in results['load_end']),
        results['order']))
    print()
    print('| sources | render in process s | nft -f, replace s | nft -s list table s | netlink digest s | digest / listing |')
    print('|---:|---:|---:|---:|---:|---:|')
    for n, ref in results.get('nft', {}).items():
        rec = ref['record']
        print('| %s | %.2f | %.2f | %.3f | %.3f | %.2f |' % (
            n, ref['render']['median'], ref['apply_replace']['median'], rec['listing']['median'], rec['digest']['median'],
            rec['digest']['median'] / rec['listing']['median']))
    print()
    print('| sources | variant | run | playbook s | floor s | validation task s | load task s | catalogue | role entries | playbook / load task |')
    print('|---:|---|---|---:|---:|---:|---:|---|---:|---:|')
    for n, variants in results['runs'].items():
        for label, runs in variants.items():
            if runs is None:
                print('| %s | %s | - | - | - | - | - | - | - | - |' % (n, label))
                continue
            for run_label, _c, _e, _b in ROLE_RUNS:
                run = runs[run_label]
                print('| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %s | %d | %.1fx |' % (
                    n, label, run_label, run['wall'], runs['floor']['wall'], run['validate_task'], run['load_task'],
                    run.get('catalogue_cache') or '-', run['entries'], run['wall'] / run['load_task']))


# -- where one replace goes: a timeline of the load task, controller and host ------------------------------------
# Marks written by the processes of one run (a sitecustomize on PYTHONPATH, only in this mode; nothing is traced, so
# nothing is slowed but by a line appended to a file per mark): on the controller the task queued, the worker's
# TaskExecutor, the action's module calls and their AnsiballZ build; in each module process on the host its start
# and exit, each ``nft -f`` and each rename (the atomic writes: the run's files in the state directory, the record).
TIMELINE_SITE = r"""
import os, sys, time
_LOG = os.environ.get('PW_BENCH_TIMELINE')


def _mark(what):
    with open(_LOG, 'a') as handle:
        handle.write('%.6f %d %s\n' % (time.time(), os.getpid(), what))


def _wrap(owner, name, label):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        _mark(label + ' start')
        try:
            return original(*args, **kwargs)
        finally:
            _mark(label + ' end')
    setattr(owner, name, wrapper)


if _LOG and sys.argv and sys.argv[0].endswith('ansible-playbook'):
    from ansible.executor import task_executor
    from ansible.plugins.action import ActionBase
    from ansible.plugins.strategy import StrategyBase
    _wrap(StrategyBase, '_queue_task', 'queue')
    _wrap(task_executor.TaskExecutor, 'run', 'executor')
    _wrap(ActionBase, '_execute_module', 'module call')
    _wrap(ActionBase, '_configure_module', 'ansiballz')
elif _LOG and sys.argv and 'AnsiballZ_nft_table' in sys.argv[0]:
    import atexit, subprocess
    _mark('module start')
    atexit.register(_mark, 'module exit')
    _rename, _init, _status = os.rename, subprocess.Popen.__init__, subprocess.Popen._handle_exitstatus

    def rename(src, dst, *args, **kwargs):
        _rename(src, dst, *args, **kwargs)
        _mark('rename ' + os.path.basename(os.fsdecode(dst)))

    def init(self, args, *more, **kwargs):
        _init(self, args, *more, **kwargs)
        argv = [os.fsdecode(arg) for arg in args[:2]] if isinstance(args, (list, tuple)) else []
        self.pw_nft = argv[1:2] == ['-f'] and argv[0].endswith('nft')
        if self.pw_nft:
            _mark('nft -f start')

    def status(self, *args, **kwargs):          # where poll() and wait() learn that the process ended
        _status(self, *args, **kwargs)
        if getattr(self, 'pw_nft', False):
            self.pw_nft = False
            _mark('nft -f end')
    os.rename, subprocess.Popen.__init__, subprocess.Popen._handle_exitstatus = rename, init, status
"""


def _timeline_events(marks_path):
    """[(seconds, pid, event)] of one run in time order; a rename in the state directory is named by its suffix
    (``loaded``, ``pending.confirmed``, ``record`` ...)."""
    events = []
    with open(marks_path) as handle:
        for line in handle:
            stamp, pid, what = line.rstrip('\n').split(' ', 2)
            if what.startswith('rename inet-portwarden.'):
                rest = what[len('rename inet-portwarden.'):]
                what = 'rename ' + (rest.split('.', 1)[1] if '.' in rest else rest)
            events.append((float(stamp), int(pid), what))
    return sorted(events)


def timeline_phases(events):
    """The load task's phases (seconds) from one run's events (see TIMELINE_SITE), and whether the digest was taken
    by another process than the apply module (its child)."""
    def first(what, after=0.0, pid=None):
        for stamp, who, event in events:
            if event == what and stamp >= after and (pid is None or who == pid):
                return stamp, who
        raise ValueError('no %r after %.3f' % (what, after))
    queued = first('queue start')[0]
    executor, worker = first('executor start')
    call1 = first('module call start', executor)[0]
    build1_end = first('ansiballz end', call1)[0]
    start1, module1 = first('module start', call1)
    nft = first('nft -f start', start1, module1)[0]
    nft_end = first('nft -f end', nft, module1)[0]
    loaded, digest_pid = first('rename loaded', nft_end)
    exit1 = first('module exit', nft_end, module1)[0]
    call1_end = first('module call end', exit1)[0]
    call2 = first('module call start', call1_end)[0]
    start2, module2 = first('module start', call2)
    taken = first('rename pending.confirmed', start2, module2)[0]
    recorded = first('rename record', taken, module2)[0]
    exit2 = first('module exit', recorded, module2)[0]
    done = first('executor end', exit2, worker)[0]
    return [
        ('task queued -> worker', executor - queued),
        ('read, validate, model, render (controller)', call1 - executor),
        ('AnsiballZ build and the apply call\'s arguments (controller)', build1_end - call1),
        ('-> the apply module\'s Python is up on the host', start1 - build1_end),
        ('apply: to nft -f (imports, 1.6 MB arguments, lock, compare, saved copies)', nft - start1),
        ('apply: nft -f', nft_end - nft),
        ('apply: after nft -f to the module\'s exit', exit1 - nft_end),
        ('the digest, after nft -f (in the child: overlaps what follows)', loaded - nft_end),
        ('controller: the apply result, reset, the confirm call, its Python up', start2 - exit1),
        ('confirm: to taking the marker (imports)', taken - start2),
        ('confirm: the marker to the record written (waiting for the digest, writes)', recorded - taken),
        ('confirm: exit and the result (controller)', done - recorded),
        ('load task (queued to done)', done - queued),
    ], digest_pid != module1


def timeline_main(argv):
    """``firewall_scale.py timeline [ROUNDS [CHECKOUT]]``: replaces at the largest PW_BENCH_FW_SIZES, each traced;
    with CHECKOUT, that checkout's collection (its own collection link) instead of this one."""
    rounds = int(argv[0]) if argv else 5
    collections = os.path.join(os.path.abspath(argv[1]), '.build', 'collections') if len(argv) > 1 else None
    n = max(SIZES)
    results = {'machine': benchlib.machine(), 'size': n, 'checkout': collections or benchlib.REPO,
               'load_start': os.getloadavg(), 'runs': []}
    with tempfile.TemporaryDirectory(prefix='pwbench-fwtl-') as tmp:
        site = os.path.join(tmp, 'site')
        os.makedirs(site)
        with open(os.path.join(site, 'sitecustomize.py'), 'w') as handle:
            handle.write(TIMELINE_SITE)
        host = benchlib.NsHost(tmp)
        try:
            os.makedirs(os.path.join(tmp, 'etc'))
            inventory = _inventory(tmp, role_vars(tmp, n), 'json')
            plays = _role_play('import_role')
            playbook(host, tmp, 'tl-load', plays, {}, timeout=ROLE_TIMEOUT, inventory=inventory, collections=collections)
            for rnd in range(rounds):
                book, evars = os.path.join(tmp, 'tl.yml'), os.path.join(tmp, 'tl.vars.json')
                with open(book, 'w') as handle:
                    json.dump(plays, handle)
                with open(evars, 'w') as handle:
                    json.dump({'host_firewall_log_rate': '%d/minute' % (6 + rnd % 2)}, handle)
                marks = os.path.join(tmp, 'marks-%d' % rnd)
                argv = [benchlib.tool('ansible-playbook'), '-i', inventory, '-c', 'local', book, '-e', '@' + evars]
                # a controller of its own each round: the replace validates the catalogue (none kept, a miss)
                env = benchlib.ansible_env(PYTHONPATH=site, PW_BENCH_TIMELINE=marks,
                                           ANSIBLE_HOME=os.path.join(tmp, 'ansible_home-%d' % rnd))
                if collections:
                    env['ANSIBLE_COLLECTIONS_PATH'] = collections
                proc = subprocess.run(host.nsenter() + argv, capture_output=True, text=True, env=env, check=False)
                data = json.loads(proc.stdout)
                tasks = task_seconds(data)
                phases, in_child = timeline_phases(_timeline_events(marks))
                results['runs'].append({'phases': phases, 'digest_in_child': in_child,
                                        'load_task': [sec for task, sec, _c in tasks if 'Load the table' in task][0]})
                benchlib.log('firewall_scale timeline %d: load task %.2f s' % (rnd, results['runs'][-1]['load_task']))
        finally:
            host.close()
    results['load_end'] = os.getloadavg()
    path = benchlib.save('firewall_scale_timeline', results)
    print('Load average %s at the start, %s at the end; %d sources, %d replaces (marks from the processes of each run), '
          'the catalogue as group_vars JSON. Seconds, median (min - max); the digest %s.' % (
              ' / '.join('%.2f' % x for x in results['load_start']), ' / '.join('%.2f' % x for x in results['load_end']),
              n, rounds, 'in the apply\'s child process (overlaps what follows it)'
              if results['runs'][0]['digest_in_child'] else 'in the apply module (before its exit)'))
    print()
    print('| phase | seconds |')
    print('|---|---:|')
    for index, (label, _value) in enumerate(results['runs'][0]['phases']):
        values = [run['phases'][index][1] for run in results['runs']]
        print('| %s | %.3f (%.3f - %.3f) |' % (label, statistics.median(values), min(values), max(values)))
    loads = [run['load_task'] for run in results['runs']]
    print('| load task, json callback | %.3f (%.3f - %.3f) |' % (statistics.median(loads), min(loads), max(loads)))
    benchlib.log('firewall_scale timeline: raw figures in %s' % path)


if __name__ == '__main__':
    if sys.argv[1:2] == ['ab']:
        ab_main(sys.argv[2:])
    elif sys.argv[1:2] == ['timeline']:
        timeline_main(sys.argv[2:])
    else:
        main()
