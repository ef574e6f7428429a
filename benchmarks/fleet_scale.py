# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet of 25, 50 and 100 hosts: the controller's CPU seconds per host for enforce and audit, against ping.

The hosts are network namespaces with a mount namespace each (benchmarks/fleetlib.py): every host has its own
ip_local_port_range, ip_local_reserved_ports, nftables ruleset and sysctl.d, and starts from one of five
ranges. They are reached with the pw_nsenter connection (the local connection, entered into the host). A
namespace costs a sleeping process, so a 100-host fleet starts in seconds on this 2-core machine; containers
would add a runtime, an image and a cgroup per host, none of which is the collection's cost.

Per fleet size and round, with the same forks for every playbook:

* ``ping``: a play of ansible.builtin.ping over the hosts (the floor: one module per host);
* ``enforce (changing)``: portwarden.ports.enforce on hosts reset to their starting state (range moved,
  reservations and the nftables table gone);
* ``enforce (no change)``: the same again, which must report 0 changed;
* ``audit``: portwarden.ports.audit, port_info on every host and the report.

The controller's CPU time is the CPU time of the whole ansible-playbook process tree (wait4) minus what the
commands used inside the hosts (the module runs; the connection plugin logs each command's CPU time), so it is
the controller's own work: templating, task queueing, payload building, result handling, the report. Rounds
alternate the order of the playbooks; the load of the machine is printed.
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import fleetlib  # noqa: E402

SIZES = tuple(int(n) for n in os.environ.get('PW_BENCH_FLEET_SIZES', '25,50,100').split(','))
ROUNDS = int(os.environ.get('PW_BENCH_FLEET_ROUNDS', '2'))
FORKS = int(os.environ.get('PW_BENCH_FLEET_FORKS', '10'))
PIPELINING = os.environ.get('PW_BENCH_FLEET_PIPELINING', '1')
START_RANGES = ('32768 60999', '40000 60999', '32768 59999', '49152 65535', '30000 50000')
CATALOGUE = [{'name': 'ssh', 'port': 22, 'proto': 'tcp'}, {'name': 'metrics', 'port': 9100, 'proto': 'tcp'},
             {'name': 'grpc', 'port': 50051, 'proto': 'tcp'}]
# PW_BENCH_FLEET_SOURCES=N: the grpc service open to N source networks (/29s 16 addresses apart), a catalogue that
# every host's firewall validates (or takes from the catalogue kept on the controller, catalogue_cache.py).
SOURCES = int(os.environ.get('PW_BENCH_FLEET_SOURCES', '0'))
if SOURCES:
    CATALOGUE[2]['sources'] = ['10.%d.%d.%d/29' % (16 * i >> 16 & 255, 16 * i >> 8 & 255, 16 * i & 255) for i in range(SOURCES)]
PING = [{'name': 'Ping', 'hosts': 'fleet', 'gather_facts': False, 'tasks': [{'ansible.builtin.ping': {}}]}]
PLAYBOOKS = ('ping', 'enforce_changing', 'enforce_nochange', 'enforce_nofirewall', 'enforce_ephemeral', 'audit')
PREFIX = os.environ.get('PW_BENCH_FLEET_PREFIX', 'pwf-')
LABELS = {'ping': 'ansible.builtin.ping', 'enforce_changing': 'enforce (changing)',
          'enforce_nochange': 'enforce (no change)', 'enforce_nofirewall': 'enforce (no change), portwarden_firewall false',
          'enforce_ephemeral': 'enforce (no change), --tags ephemeral_ports', 'audit': 'audit + report'}
# A checkout of the collection as it was before (a git worktree of an older commit): its no-change enforce is
# measured in the same rounds, so the change is an interleaved ratio as well (one more playbook per round).
BEFORE = os.environ.get('PW_BENCH_FLEET_BEFORE')
if BEFORE:
    PLAYBOOKS = PLAYBOOKS[:3] + ('enforce_before',) + PLAYBOOKS[3:]
    LABELS['enforce_before'] = 'enforce (no change), %s' % os.environ.get('PW_BENCH_FLEET_BEFORE_LABEL', 'before')


def reset(hosts):
    """Back to the starting state: the host's own range, no reservations, no portwarden table, no drop-in."""
    for index, host in enumerate(hosts):
        host.sh('sysctl -q -w net.ipv4.ip_local_port_range="%s" net.ipv4.ip_local_reserved_ports= && '
                '{ nft delete table inet portwarden 2>/dev/null; rm -f /etc/sysctl.d/90-portwarden.conf; true; }'
                % START_RANGES[index % len(START_RANGES)])


def before_collections(tmp):
    """A collections path whose portwarden.ports is the BEFORE checkout."""
    path = os.path.join(tmp, 'before-collections')
    link = os.path.join(path, 'ansible_collections', 'portwarden', 'ports')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link))
        os.symlink(os.path.abspath(BEFORE), link)
    return path


def run(name, argv, tmp, extra_env=None):
    log = os.path.join(tmp, 'hostcpu-%s.log' % name)
    if os.path.exists(log):
        os.unlink(log)
    # the controller's ANSIBLE_HOME of this benchmark's own: the catalogue kept by its first run, not by another's
    env = fleetlib.fleet_env(ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', PW_NSENTER_CPU_LOG=log,
                             ANSIBLE_PIPELINING=PIPELINING, ANSIBLE_FORKS=str(FORKS),
                             ANSIBLE_HOME=os.path.join(tmp, 'ansible_home'), **(extra_env or {}))
    rc, out, err, wall, cpu = fleetlib.run_playbook(argv, env)
    try:
        data = json.loads(out)
    except ValueError:
        raise RuntimeError('%s printed no JSON (rc=%d): %s %s' % (name, rc, out[-1500:], err[-1500:]))
    stats = data['stats']
    failed = dict((h, s) for h, s in stats.items() if s.get('failures') or s.get('unreachable'))
    if rc != 0 or failed:
        raise RuntimeError('%s failed (rc=%d) on %s: %s' % (name, rc, sorted(failed)[:5], err[-1500:]))
    host_cpu = 0.0
    if os.path.exists(log):
        with open(log) as handle:
            host_cpu = sum(float(line) for line in handle if line.strip())
    changed = sum(s.get('changed', 0) for h, s in stats.items() if h != 'localhost')
    durations = []
    for play in data['plays']:
        for task in play['tasks']:
            seconds = (parse_ts(task['task']['duration']['end']) - parse_ts(task['task']['duration']['start'])).total_seconds()
            ran = sum(1 for r in task['hosts'].values() if not r.get('skipped'))
            durations.append((task['task']['name'], round(seconds, 2), ran))
    return {'wall': wall, 'cpu_total': cpu, 'cpu_hosts': host_cpu, 'cpu_controller': cpu - host_cpu,
            'changed': changed, 'tasks': len(durations), 'durations': durations}


def parse_ts(text):
    return datetime.datetime.strptime(text.rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f')


def measure_size(size, hosts, tmp):
    inventory = fleetlib.write_inventory(hosts, os.path.join(tmp, 'inventory-%d.json' % size), {
        'portwarden_services': CATALOGUE, 'ephemeral_ports_range': {'start': 32768, 'end': 60999},
        'host_firewall_rollback_timeout': 30})
    ping = os.path.join(tmp, 'ping.yml')
    with open(ping, 'w') as handle:
        json.dump(PING, handle)
    playbook = benchlib.tool('ansible-playbook')
    argv = {
        'ping': [playbook, '-i', inventory, ping],
        'enforce': [playbook, '-i', inventory, 'portwarden.ports.enforce'],
        # each role's share: the host_firewall role skipped by its variable (its tasks are still entries), or left
        # out by tag (no entry at all)
        'enforce_nofirewall': [playbook, '-i', inventory, 'portwarden.ports.enforce', '-e', 'portwarden_firewall=false'],
        'enforce_ephemeral': [playbook, '-i', inventory, 'portwarden.ports.enforce', '--tags', 'ephemeral_ports'],
        'audit': [playbook, '-i', inventory, 'portwarden.ports.audit', '-e',
                  'portwarden_report_dir=%s' % os.path.join(tmp, 'report-%d' % size)],
    }
    results = dict((name, []) for name in PLAYBOOKS)
    for rnd in range(ROUNDS):
        reset(hosts)
        order = ['ping', 'enforce_changing'] + [n for n in PLAYBOOKS if n.startswith('enforce_') and n != 'enforce_changing'] + [
            'audit']
        if rnd % 2:
            order = ['audit', 'enforce_changing'] + [n for n in reversed(PLAYBOOKS) if n.startswith('enforce_') and
                                                     n != 'enforce_changing'] + ['ping']
        for name in order:
            benchlib.log('fleet_scale: %d hosts, round %d, %s' % (size, rnd + 1, name))
            extra = {'ANSIBLE_COLLECTIONS_PATH': before_collections(tmp)} if name == 'enforce_before' else None
            result = run(name, argv.get(name) or argv[name.split('_', maxsplit=1)[0]], tmp, extra)
            results[name].append(result)
        for name in [n for n in PLAYBOOKS if n.startswith('enforce_') and n != 'enforce_changing']:
            if results[name][-1]['changed'] != 0:
                raise RuntimeError('%s changed %d tasks' % (name, results[name][-1]['changed']))
        if results['enforce_changing'][-1]['changed'] < size:
            raise RuntimeError('the changing enforce changed only %d tasks' % results['enforce_changing'][-1]['changed'])
    return results


def main():
    info = benchlib.machine()
    tmp = tempfile.mkdtemp(prefix=PREFIX + 'fleet-')
    hosts = fleetlib.make_fleet(max(SIZES), tmp, prefix=PREFIX + 'h')
    data = {}
    try:
        for size in SIZES:
            data[size] = measure_size(size, hosts[:size], tmp)
    finally:
        fleetlib.close_fleet(hosts)
        subprocess.run(['rm', '-rf', tmp], check=False)
    load_end = '%.2f %.2f %.2f' % os.getloadavg()

    def per_host(size, name, key='cpu_controller'):
        return statistics.median(r[key] for r in data[size][name]) / size

    print('## a fleet of 25, 50 and 100 hosts (issue 17)\n')
    print(benchlib.machine_line(info) + '; at the end %s.\n' % load_end)
    print('Namespace hosts (own range, reservations, nftables, sysctl.d), pw_nsenter connection, forks %d, '
          'pipelining %s, median of %d rounds. Controller CPU = CPU of the ansible-playbook process tree minus the '
          'commands run inside the hosts.\n' % (FORKS, 'on' if PIPELINING == '1' else 'off', ROUNDS))
    print('| Hosts | Playbook | tasks | changed | wall s | controller CPU ms/host | host CPU ms/host | ratio to ping |')
    print('|---:|---|---:|---:|---:|---:|---:|---:|')
    summary = {}
    for size in SIZES:
        base = per_host(size, 'ping')
        for name in PLAYBOOKS:
            ratio = per_host(size, name) / base
            summary.setdefault(name, {})[size] = ratio
            rows = data[size][name]
            print('| %d | %s | %d | %d | %.1f | %.0f | %.0f | %.2fx |' % (
                size, LABELS[name], rows[-1]['tasks'], rows[-1]['changed'], statistics.median(r['wall'] for r in rows),
                per_host(size, name) * 1000, per_host(size, name, 'cpu_hosts') * 1000, ratio))
    largest = max(SIZES)
    for name in ('enforce_nochange', 'audit'):
        slowest = sorted(data[largest][name][-1]['durations'], key=lambda d: -d[1])[:6]
        print('\nWhere the wall time of %s goes at %d hosts (task, seconds, hosts it ran on): %s.' % (
            LABELS[name], largest, '; '.join('%s %.1f s (%d)' % d for d in slowest)))
    ratios = dict((name, ', '.join('%.2fx at %d' % (summary[name][s], s) for s in SIZES)) for name in summary)
    print('\nTargets: enforce (no change) within 2.5x of ping: %s (portwarden_firewall false: %s; --tags ephemeral_ports: '
          '%s); audit within 1.5x: %s.' % (ratios['enforce_nochange'], ratios['enforce_nofirewall'],
                                           ratios['enforce_ephemeral'], ratios['audit']))
    benchlib.save('fleet_scale', {'machine': info, 'load_end': load_end, 'forks': FORKS, 'pipelining': PIPELINING,
                                  'data': data, 'ratios': summary})


# -- the cost of one task entry of each kind ------------------------------------------------------------------
ENTRY_COPIES = 5
ROLE_VARS = ('range', 'reserved', 'reserved_state', 'services', 'conflict_action', 'persist', 'sysctl_file',
             'conntrack_max', 'verify')


def entry_kinds(tmp):
    """Name -> one task of that kind (ENTRY_COPIES of it follow the ping task of the play)."""
    nothing = os.path.join(tmp, 'nothing.yml')
    with open(nothing, 'w') as handle:
        json.dump([{'ansible.builtin.debug': {'msg': 'never'}}], handle)
    with open(os.path.join(benchlib.REPO, 'roles', 'ephemeral_ports', 'meta', 'argument_specs.yml')) as handle:
        import yaml  # pylint: disable=import-outside-toplevel
        spec = yaml.safe_load(handle)['argument_specs']['main']['options']
    role_vars = dict(('ephemeral_ports_' + n, '{{ ephemeral_ports_%s }}' % n) for n in ROLE_VARS)
    return {
        'skipped when (debug)': {'ansible.builtin.debug': {'msg': 'never'}, 'when': 'pw_never | default(false)'},
        'skipped include_tasks': {'ansible.builtin.include_tasks': nothing, 'when': 'pw_never | default(false)'},
        'set_fact through the plan filter': {
            'ansible.builtin.set_fact': {'pw_plan': "{{ pw_vars | portwarden.ports.ephemeral_ports_plan('return') }}"},
            'vars': {'pw_vars': role_vars}},
        'validate_argument_spec (the role\'s)': {'ansible.builtin.validate_argument_spec': {'argument_spec': spec}},
        'debug that runs': {'ansible.builtin.debug': {'msg': 'ok'}},
        'module task (ping)': {'ansible.builtin.ping': {}},
        'module task (ephemeral_range, no change)': {'portwarden.ports.ephemeral_range': {
            'start': 32768, 'end': 60999, 'reserve': [50051]}},
        # the ephemeral_ports role's one task, as the role runs it (no option: the variables of the inventory)
        'the role\'s task (ephemeral_ports, no change)': {'portwarden.ports.ephemeral_ports': None},
        # the host_firewall role's one task, as the role runs it (the variables of the inventory and the defaults;
        # the collection's own template, outside the role)
        'the role\'s task (host_firewall, no change)': {'portwarden.ports.host_firewall': None},
    }


ENTRY_DEFAULTS = {
    'ephemeral_ports_range': {'start': 32768, 'end': 60999}, 'ephemeral_ports_reserved': [],
    'ephemeral_ports_reserved_state': 'present', 'ephemeral_ports_services': CATALOGUE,
    'ephemeral_ports_conflict_action': 'reserve', 'ephemeral_ports_persist': True, 'ephemeral_ports_sysctl_file': None,
    'ephemeral_ports_conntrack_max': None, 'ephemeral_ports_verify': True,
}


def entries():
    """Controller CPU per host of one task entry of each kind: (play with ping + 5 of them - the ping play) / 5."""
    info = benchlib.machine()
    size = SIZES[0]
    tmp = tempfile.mkdtemp(prefix=PREFIX + 'entries-')
    hosts = fleetlib.make_fleet(size, tmp, prefix=PREFIX + 'h')
    kinds = entry_kinds(tmp)
    data = dict((name, []) for name in ['ping'] + list(kinds))
    try:
        inventory = fleetlib.write_inventory(hosts, os.path.join(tmp, 'inventory.json'),
                                             dict(ENTRY_DEFAULTS, portwarden_services=CATALOGUE))
        playbook = benchlib.tool('ansible-playbook')
        paths = {'ping': os.path.join(tmp, 'ping.yml')}
        with open(paths['ping'], 'w') as handle:
            json.dump(PING, handle)
        for index, (name, task) in enumerate(kinds.items()):
            paths[name] = os.path.join(tmp, 'kind%d.yml' % index)
            play = dict(PING[0], tasks=[{'ansible.builtin.ping': {}}] + [dict(task, name='%s %d' % (name, i))
                                                                         for i in range(ENTRY_COPIES)])
            with open(paths[name], 'w') as handle:
                json.dump([play], handle)
        # warm-up: the ephemeral_range task and the host_firewall task bring the hosts to their state
        run('warm-up', [playbook, '-i', inventory, paths['module task (ephemeral_range, no change)']], tmp)
        run('warm-up', [playbook, '-i', inventory, paths['the role\'s task (host_firewall, no change)']], tmp)
        for rnd in range(ROUNDS):
            order = list(data) if rnd % 2 == 0 else list(reversed(list(data)))
            for name in order:
                benchlib.log('fleet_scale entries: %d hosts, round %d, %s' % (size, rnd + 1, name))
                data[name].append(run('entries', [playbook, '-i', inventory, paths[name]], tmp))
    finally:
        fleetlib.close_fleet(hosts)
        subprocess.run(['rm', '-rf', tmp], check=False)
    load_end = '%.2f %.2f %.2f' % os.getloadavg()
    base = statistics.median(r['cpu_controller'] for r in data['ping']) / size
    print('## the controller CPU of one task entry, by kind (%d hosts)\n' % size)
    print(benchlib.machine_line(info) + '; at the end %s.\n' % load_end)
    print('A play of ansible.builtin.ping plus %d entries of one kind, against the ping play alone; forks %d, '
          'pipelining %s, median of %d rounds. Controller CPU per host of one entry = (play - ping play) / %d / hosts.\n'
          % (ENTRY_COPIES, FORKS, 'on' if PIPELINING == '1' else 'off', ROUNDS, ENTRY_COPIES))
    print('| entry | controller CPU ms/host of one entry | ratio to a ping task |')
    print('|---|---:|---:|')
    print('| ping play (one ping task, and the play\'s start) | %.1f | - |' % (base * 1000))
    summary = dict((name, (statistics.median(r['cpu_controller'] for r in data[name]) / size - base) / ENTRY_COPIES)
                   for name in kinds)
    for name in kinds:
        print('| %s | %.1f | %.2fx |' % (name, summary[name] * 1000, summary[name] / summary['module task (ping)']))
    benchlib.save('fleet_entries', {'machine': info, 'load_end': load_end, 'data': data, 'per_entry': summary})


if __name__ == '__main__':
    if sys.argv[1:] == ['entries']:
        entries()
    else:
        main()
