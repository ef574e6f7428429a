# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_firewall and nft_table under faults, on a real kernel (network + mount namespaces).

An interrupted controller (SIGINT / SIGKILL between load and confirmation)
and an immediate rerun; the phases of two runs interleaved; truly concurrent
role runs; the host lock held by another run; guards refused on the
controller; writes that fail after the load (a full file system) or before it
(read-only); leftovers of interrupted runs; the bad-input corpus. Each test
host has its own /run/portwarden (a tmpfs in its mount namespace), so its lock
is its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import COLLECTIONS, REPO, NsHost, ansible_env, _bin
from test_host_firewall import ROLE_TASK, APPLY_TASK, STOCK_NFTABLES_CONF, list_table, role_vars, task_result, task_results

MODULE = os.path.join(REPO, 'plugins', 'modules', 'nft_table.py')
TABLE = 'table inet portwarden {}\ndelete table inet portwarden\ntable inet portwarden {\n\tchain input {\n' \
        '\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport %d accept\n\t}\n}\n'
HOLD_LOCK = r'''
import sys, time
from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import HostLock
with HostLock('the test holding the lock'):
    print('held', flush=True)
    time.sleep(float(sys.argv[1]))
'''


@pytest.fixture
def host(tmp_path):
    h = NsHost(str(tmp_path))
    try:
        os.makedirs('/run/portwarden', exist_ok=True)
        h.run(['mount', '-t', 'tmpfs', '-o', 'mode=0700', 'tmpfs', '/run/portwarden'])   # this host's own lock
        yield h
    finally:
        h.close()


def catalogue(port):
    return [{'name': 'web', 'port': 8080, 'sources': ['10.77.0.2/32']}, {'name': 'svc%d' % port, 'port': port}]


def state_dir(h):
    return os.path.join(h.tmpdir, 'state')


def state_files(h):
    path = state_dir(h)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def rules_path(h):
    return os.path.join(h.tmpdir, 'etc', 'portwarden', 'portwarden.nft')


def snapshot(h):
    """What a failed task must leave as it was: the live table, the rules file, nftables.conf, the state files."""
    conf = role_vars(h.tmpdir)['host_firewall_nftables_conf']
    return (list_table(h, 'inet', 'portwarden'), h.read_file(rules_path(h)), h.read_file(conf), state_files(h))


def role(h, check=False, extra_args=(), **extra):
    return h.playbook([ROLE_TASK], check=check, extra_args=extra_args, play_vars=role_vars(h.tmpdir, **extra))


def role_ok(h, check=False, **extra):
    data = role(h, check=check, **extra)
    assert data['rc'] == 0, json.dumps(data['plays'], indent=1)[-3000:] + data['stderr']
    return task_result(data, APPLY_TASK)


def module_phase(h, args):
    """One phase of nft_table run as the module alone (no action plugin): what an interrupted controller leaves."""
    path = os.path.join(h.tmpdir, 'args-%s-%s.json' % (args.get('_phase', 'apply'), args.get('_token', 'x')))
    base = {'path': os.path.join(h.tmpdir, 'phases.nft'), 'state_dir': state_dir(h), '_ansible_remote_tmp': h.tmpdir,
            '_ansible_tmpdir': h.tmpdir}
    with open(path, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': dict(base, **args)}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    result = h.run([sys.executable, MODULE, path], check=False, env=env)
    return json.loads(result.stdout)


# ---------------------------------------------------------------- Ctrl-C between load and confirmation
def descendants(pid):
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as handle:
                    ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    cmdline = handle.read()
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append((int(entry), cmdline))
    found, todo = [], [pid]
    while todo:
        for child, cmdline in children.get(todo.pop(), []):
            if b'portwarden-rollback' not in cmdline:       # the host's timer is not part of the controller
                found.append(child)
                todo.append(child)
    return found


def interrupt(proc, sig):
    """Ctrl-C: SIGINT to the controller's process group (Ansible's workers have their own session; the controller
    stops them). A killed controller: SIGKILL to the controller and every process it started (the workers too)."""
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
        return
    for pid in [proc.pid] + descendants(proc.pid):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGKILL])
def test_interrupted_controller_then_rerun_keeps_the_rerun_table(host, sig):
    role_ok(host, portwarden_services=catalogue(7001))
    timeout = 12                                         # longer than the rerun takes to reach the host, even loaded
    for attempt in range(6):                             # the window between load and confirmation is short
        port = 7100 + attempt
        book = os.path.join(host.tmpdir, 'interrupted.json')
        with open(book, 'w') as handle:
            json.dump([{'name': 'interrupted', 'hosts': 'localhost', 'gather_facts': False,
                        'vars': dict(role_vars(host.tmpdir, portwarden_services=catalogue(port),
                                               host_firewall_rollback_timeout=timeout),
                                     ansible_python_interpreter=sys.executable),
                        'tasks': [ROLE_TASK]}], handle)
        proc = subprocess.Popen(host.nsenter() + [_bin('ansible-playbook'), '-i', 'localhost,', '-c', 'local', book],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ansible_env(),
                                start_new_session=True)
        loaded = None
        while proc.poll() is None and loaded is None:
            loaded = next((n for n in state_files(host) if n.endswith('.loaded')), None)
            time.sleep(0.002)
        if loaded is not None:
            interrupt(proc, sig)
        killed_at = time.time()
        proc.wait()
        time.sleep(1.5)           # a confirmation module already started on the host would have taken the marker by now
        token = loaded.split('.')[1] if loaded else None
        if token and 'inet-portwarden.%s.pending' % token in state_files(host):
            break                                        # interrupted after the load, before the confirmation
    else:
        pytest.fail('the controller could not be stopped between load and confirmation in 6 attempts')
    assert 'tcp dport %d accept' % port in list_table(host, 'inet', 'portwarden')   # the interrupted run's table

    rerun = role_ok(host, portwarden_services=catalogue(7500), host_firewall_rollback_timeout=timeout)
    assert rerun['changed'] and rerun['confirmed'] and rerun['settled'] == [token]
    live = list_table(host, 'inet', 'portwarden')
    assert 'tcp dport 7500 accept' in live and 'dport %d' % port not in live
    time.sleep(max(0.0, killed_at + timeout + 3 - time.time()))          # past the old timer's deadline
    assert list_table(host, 'inet', 'portwarden') == live                # no timer restored over the rerun
    assert 'tcp dport 7500 accept' in host.read_file(rules_path(host))
    assert state_files(host) == ['inet-portwarden.record']
    for check in (True, False):
        assert role_ok(host, check=check, portwarden_services=catalogue(7500))['changed'] is False


# ---------------------------------------------------------------- interleaved phases
def test_interleaved_phases_end_consistent(host):
    """Y apply, X apply, X confirm, Y confirm: X is live, in the file and the record; Y fails saying so."""
    started = time.time()
    y = module_phase(host, {'content': TABLE % 7201, 'rollback_timeout': 10, '_token': 'aaaa0001'})
    # X waits for the host lock (Y's timer holds it) until Y's change is 5 s old and unconfirmed: abandoned, settled.
    x = module_phase(host, {'content': TABLE % 7202, 'rollback_timeout': 10, '_token': 'bbbb0002'})
    assert y['pending'] == 'aaaa0001' and x['pending'] == 'bbbb0002' and x['settled'] == ['aaaa0001']
    assert 5 <= time.time() - started < 10
    assert module_phase(host, {'content': '', '_phase': 'confirm', '_token': 'bbbb0002'})['confirmed'] is True
    late = module_phase(host, {'content': '', '_phase': 'confirm', '_token': 'aaaa0001'})
    assert late['failed'] and late['superseded'] is True
    assert 'no longer pending' in late['msg'] and 'which is live now' in late['msg'] and 'wrote no file' in late['msg']
    live = list_table(host, 'inet', 'portwarden')
    assert 'tcp dport 7202 accept' in live and '7201' not in live
    time.sleep(max(0.0, started + 12 - time.time()))    # past Y's timer's deadline
    assert list_table(host, 'inet', 'portwarden') == live
    assert host.read_file(os.path.join(host.tmpdir, 'phases.nft')) == TABLE % 7202
    assert state_files(host) == ['inet-portwarden.record']
    # Later runs see exactly that: X unchanged, Y a change (also in check mode, with the diff).
    again = module_phase(host, {'content': TABLE % 7202, '_ansible_check_mode': True})
    assert again['changed'] is False
    other = module_phase(host, {'content': TABLE % 7201, '_ansible_check_mode': True, '_ansible_diff': True})
    assert other['changed'] is True and other['table_changed'] is True
    # A foreign commit to our table after that: drift, seen in check mode.
    host.run(['nft', 'add', 'rule', 'inet', 'portwarden', 'input', 'tcp', 'dport', '4444', 'accept'])
    drift = module_phase(host, {'content': TABLE % 7202, '_ansible_check_mode': True})
    assert drift['changed'] is True and drift['drifted'] is True


# ---------------------------------------------------------------- truly concurrent role runs
def test_concurrent_role_runs_end_in_the_last_state(host):
    role_ok(host, portwarden_services=catalogue(7300))
    outcomes = []
    for rnd in range(20):
        ports = (7400 + rnd, 7600 + rnd)
        results = {}

        def run(port):
            results[port] = role(host, portwarden_services=catalogue(port))
        threads = [threading.Thread(target=run, args=(port,)) for port in ports]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        live = list_table(host, 'inet', 'portwarden')
        text = host.read_file(rules_path(host))
        winners = [p for p in ports if 'tcp dport %d accept' % p in text]
        assert len(winners) == 1, (rnd, text)
        winner, loser = winners[0], [p for p in ports if p not in winners][0]
        assert 'tcp dport %d accept' % winner in live and 'dport %d ' % loser not in live, rnd
        assert results[winner]['rc'] == 0, json.dumps(results[winner]['plays'])[-2000:]
        lost = task_result(results[loser], APPLY_TASK)
        if results[loser]['rc'] != 0:                    # its change came between the other's apply and confirmation
            assert lost.get('superseded') is True and 'Another run settled it' in lost['msg'], lost
        assert state_files(host) == ['inet-portwarden.record'], rnd
        # The next run reports no change only for the state that live table, file and record agree on (both
        # predicted in one check-mode play).
        both = host.playbook([dict(ROLE_TASK, vars=role_vars(host.tmpdir, portwarden_services=catalogue(p))) for p in (winner, loser)],
                             check=True, play_vars={})
        assert both['rc'] == 0, json.dumps(both['plays'])[-3000:]
        assert [r['changed'] for r in task_results(both, APPLY_TASK)] == [False, True], rnd
        outcomes.append('both ok' if results[loser]['rc'] == 0 else 'one superseded')
    print('concurrent rounds:', dict((o, outcomes.count(o)) for o in set(outcomes)))


# ---------------------------------------------------------------- the host lock
def test_lock_held_by_another_run_fails_naming_it_and_changes_nothing(host):
    role_ok(host, portwarden_services=catalogue(7001))
    before = snapshot(host)
    holder = host.popen([sys.executable, '-c', HOLD_LOCK, '30'], stdout=subprocess.PIPE, text=True,
                        env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    try:
        assert holder.stdout.readline().strip() == 'held'
        started = time.time()
        data = role(host, portwarden_services=catalogue(7002), host_firewall_lock_timeout=2)
        assert data['rc'] != 0 and time.time() - started < 25
        failed = task_result(data, APPLY_TASK)
        assert 'Another run holds the port-settings lock of this host' in failed['msg']
        assert 'the test holding the lock' in failed['msg'] and 'nothing was changed' in failed['msg']
        assert 'the test holding the lock' in failed['lock_holder']
        assert snapshot(host) == before
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # The holder died: its lock is free at once.
    assert role_ok(host, portwarden_services=catalogue(7002), host_firewall_lock_timeout=2)['changed'] is True


# ---------------------------------------------------------------- refusals, guards, booleans
REFUSED = [
    ({'host_firewall_rollback_timeout': -1}, ['host_firewall_rollback_timeout', '-1', 'Nothing was changed']),
    ({'host_firewall_state_dir': 'state'}, ['host_firewall_state_dir', "'state'", 'absolute path', 'Nothing was changed']),
    ({'host_firewall_rules_path': 'etc/portwarden.nft'}, ['host_firewall_rules_path', "'etc/portwarden.nft'", 'absolute path']),
    ({'host_firewall_nftables_conf': 'etc/nftables.conf'}, ['host_firewall_nftables_conf', "'etc/nftables.conf'",
                                                            'absolute path', 'Nothing was changed']),
]


@pytest.mark.parametrize('override, words', REFUSED)
def test_guards_are_refused_on_the_controller(host, override, words):
    role_ok(host, portwarden_services=catalogue(7001))
    before = snapshot(host)
    for check in (True, False):
        data = role(host, check=check, **override)
        assert data['rc'] != 0
        msg = task_result(data, APPLY_TASK)['msg']
        for word in words:
            assert word in msg, (override, msg)
        assert snapshot(host) == before


def test_module_refuses_a_negative_timeout_and_relative_paths(host):
    for args, words in [({'rollback_timeout': -5}, ['rollback_timeout', '-5', 'Nothing was changed']),
                        ({'state_dir': 'rel'}, ['state_dir', "'rel'", 'rollback timer runs in /']),
                        ({'path': 'rel.nft'}, ['path', "'rel.nft'", 'absolute path'])]:
        task = {'path': rules_path(host), 'state_dir': state_dir(host), 'content': TABLE % 7001}
        task.update(args)
        result = host.module('portwarden.ports.nft_table', task)
        assert result['failed'], result
        for word in words:
            assert word in result['msg'], (args, result['msg'])
        assert list_table(host, 'inet', 'portwarden') is None and not os.path.exists(state_dir(host))


def test_zero_timeout_applies_with_a_warning(host):
    data = role(host, portwarden_services=catalogue(7001), host_firewall_rollback_timeout=0)
    assert data['rc'] == 0
    applied = task_result(data, APPLY_TASK)
    assert applied['changed'] and 'confirmed' not in applied
    assert any('rollback_timeout is 0' in w for w in applied.get('warnings', [])), applied.get('warnings')


def test_booleans_given_as_strings_on_the_command_line(host):
    args = ['-e', 'host_firewall_allow_ping=false', '-e', 'host_firewall_log=no', '-e', 'host_firewall_persist=yes']
    data = role(host, extra_args=args, portwarden_services=catalogue(7001))
    assert data['rc'] == 0, json.dumps(data['plays'], indent=1)[-3000:]
    live = list_table(host, 'inet', 'portwarden')
    assert 'echo-request' not in live and 'log prefix' not in live
    assert task_result(data, APPLY_TASK)['include_changed'] is True
    again = role(host, extra_args=args, portwarden_services=catalogue(7001))
    assert task_result(again, APPLY_TASK)['changed'] is False


def test_a_description_with_the_words_flush_ruleset_is_accepted(host):
    services = [{'name': 'web', 'port': 8080, 'description': 'never; flush ruleset here'}]
    assert role_ok(host, portwarden_services=services)['changed'] is True
    assert '# web: tcp 8080 - never; flush ruleset here' in host.read_file(rules_path(host))


# ---------------------------------------------------------------- writes that fail
def test_nftables_conf_failing_nft_check_rolls_the_new_table_back(host):
    role_ok(host, portwarden_services=catalogue(7001), host_firewall_persist=False)
    conf = role_vars(host.tmpdir)['host_firewall_nftables_conf']
    host.write_file(conf, STOCK_NFTABLES_CONF + 'this is not nftables\n')
    before = snapshot(host)
    data = role(host, portwarden_services=catalogue(7002))
    assert data['rc'] != 0
    failed = task_result(data, APPLY_TASK)
    assert 'ROLLED BACK after the load' in failed['msg'] and 'with the include line does not pass "nft -c -f"' in failed['msg']
    assert 'The previous table is live again' in failed['msg'] and 'nothing was changed' in failed['msg']
    assert failed['rolled_back'] is True
    assert snapshot(host) == before


def test_full_rules_file_system_after_the_load_rolls_back(host):
    role_ok(host, portwarden_services=catalogue(7001))
    directory = os.path.dirname(rules_path(host))
    old = host.read_file(rules_path(host))
    host.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', directory])    # a small file system, then full
    host.write_file(rules_path(host), old)
    host.sh('dd if=/dev/zero of=%s/fill bs=4k 2>/dev/null; true' % directory)
    assert host.read_file(rules_path(host)) == old
    before = snapshot(host)
    many = catalogue(7002) + [{'name': 'x%d' % i, 'port': 20000 + i} for i in range(400)]   # a bigger file than fits
    for timeout in (10, 0):
        data = role(host, portwarden_services=many, host_firewall_rollback_timeout=timeout)
        assert data['rc'] != 0
        failed = task_result(data, APPLY_TASK)
        assert 'ROLLED BACK after the load: Cannot write %s' % rules_path(host) in failed['msg'], failed['msg']
        assert 'No space left on device' in failed['msg'] and 'The previous table is live again' in failed['msg']
        assert snapshot(host) == before


def test_read_only_rules_directory_is_predicted_and_changes_nothing(host):
    role_ok(host, portwarden_services=catalogue(7001))
    directory = os.path.dirname(rules_path(host))
    host.run(['mount', '--bind', '-o', 'ro', directory, directory])
    host.run(['mount', '-o', 'remount,bind,ro', directory])
    before = snapshot(host)
    for check in (True, False):
        data = role(host, check=check, portwarden_services=catalogue(7002))
        assert data['rc'] != 0
        msg = task_result(data, APPLY_TASK)['msg']
        assert 'Cannot write %s: %s is not writable' % (rules_path(host), os.path.dirname(rules_path(host))) in msg, msg
        assert 'The new table was not loaded: nothing was changed' in msg
        assert snapshot(host) == before


def test_leftovers_of_interrupted_runs_are_settled_and_removed(host):
    role_ok(host, portwarden_services=catalogue(7001))
    state = state_dir(host)
    old = time.time() - 7200
    leftovers = ['inet-portwarden.0123abcd.candidate', 'inet-portwarden.0123abcd.restore', 'inet-portwarden.0123abcd.rolledback',
                 'inet-portwarden.4567cdef.pending.confirmed', '.portwarden-killedwrite']
    for name in leftovers:
        host.write_file(os.path.join(state, name), 'left by a killed run\n')
    stale = os.path.join(os.path.dirname(rules_path(host)), '.portwarden-stale')
    host.write_file(stale, 'half a file\n')
    os.utime(stale, (old, old))
    assert role_ok(host, portwarden_services=catalogue(7002))['changed'] is True
    assert state_files(host) == ['inet-portwarden.record'] and not os.path.exists(stale)


# ---------------------------------------------------------------- bad-input corpus
def svc(**fields):
    entry = {'name': 'web', 'port': 80}
    entry.update(fields)
    return {'host_firewall_services': [entry]}


CORPUS = [
    ({'host_firewall_rollback_timeout': -1}, ['host_firewall_rollback_timeout', '-1']),
    ({'host_firewall_rollback_timeout': '-10'}, ['host_firewall_rollback_timeout', '-10']),
    ({'host_firewall_rollback_timeout': 'soon'}, ['host_firewall_rollback_timeout']),
    ({'host_firewall_state_dir': 'state'}, ['host_firewall_state_dir', "'state'"]),
    ({'host_firewall_state_dir': './var/lib/pw'}, ['host_firewall_state_dir', "'./var/lib/pw'"]),
    ({'host_firewall_nftables_conf': 'etc/nftables.conf'}, ['host_firewall_nftables_conf', "'etc/nftables.conf'"]),
    ({'host_firewall_rules_path': 'portwarden.nft'}, ['host_firewall_rules_path', "'portwarden.nft'"]),
    ({'host_firewall_rules_path': '/etc/portwarden/../x.nft'}, ['host_firewall_rules_path', '/etc/portwarden/../x.nft']),
    ({'host_firewall_rules_path': '/etc/x"\ninclude "/tmp/evil'}, ['host_firewall_rules_path']),
    ({'host_firewall_allow_ping': 'maybe'}, ['host_firewall_allow_ping', 'maybe']),
    ({'host_firewall_dhcpv6_client': 'sometimes'}, ['host_firewall_dhcpv6_client', 'sometimes']),
    ({'host_firewall_log': 'loud'}, ['host_firewall_log', 'loud']),
    ({'host_firewall_log_prefix': 'x"y'}, ['host_firewall_log_prefix', 'x"y']),
    ({'host_firewall_log_prefix': ''}, ['host_firewall_log_prefix']),
    ({'host_firewall_log_rate': '5/fortnight'}, ['host_firewall_log_rate', '5/fortnight']),
    ({'host_firewall_log_rate': '0/minute'}, ['host_firewall_log_rate', '0/minute']),
    ({'host_firewall_forward_policy': 'reject'}, ['host_firewall_forward_policy', 'reject']),
    ({'host_firewall_output_policy': 'ACCEPT'}, ['host_firewall_output_policy', 'ACCEPT']),
    ({'host_firewall_management_ports': ['22;']}, ['host_firewall_management_ports', '22;']),
    ({'host_firewall_management_ports': [70000]}, ['host_firewall_management_ports', '70000']),
    ({'host_firewall_management_sources': ['10.0.0.1/8']}, ['host_firewall_management_sources', '10.0.0.1/8']),
    ({'host_firewall_management_sources': ['not-an-ip']}, ['host_firewall_management_sources', 'not-an-ip']),
    (svc(proto='sctp'), ['service #0 (web)', 'proto', 'sctp']),
    (svc(port=0), ['service #0 (web)', 'port']),
    (svc(port='90-80'), ['service #0 (web)', 'port', '90-80']),
    (svc(colour='red'), ['host_firewall_services', 'colour']),      # the role's argument spec answers first
    (svc(description='line\nchain evil {}'), ['service #0 (web)', 'description']),
    (svc(rate_limit='0/second'), ['service #0 (web)', 'rate_limit', '0/second']),
    (svc(sources=['10.0.0.0/33']), ['service #0 (web)', 'sources', '10.0.0.0/33']),
    ({'host_firewall_services': [{'name': 'web', 'port': 80}, {'name': 'web', 'port': 81}]},
     ['service #1 (web)', "'web'", 'unique']),
    ({'host_firewall_services': [{'name': 'web'}]}, ['service #0 (web)', 'port', 'required']),
]


def test_bad_input_corpus_clear_message_and_unchanged_host(host):
    """Each bad value in its own block after a good run: the message names the variable (entry, field) and the value,
    and the live table, the rules file, nftables.conf and the state directory are as they were."""
    role_ok(host, portwarden_services=catalogue(7001))
    before = snapshot(host)
    tasks = [{'name': 'init', 'ansible.builtin.set_fact': {'errors': []}}]
    base = role_vars(host.tmpdir, portwarden_services=catalogue(7001))
    for index, (override, _words) in enumerate(CORPUS):
        tasks.append({'name': 'case %d' % index, 'block': [dict(ROLE_TASK, vars=dict(base, **override))],
                      'rescue': [{'ansible.builtin.set_fact': {
                          'errors': "{{ errors + [ansible_failed_result.msg | default('') | string] }}"}}]})
    tasks.append({'name': 'report', 'ansible.builtin.debug': {'var': 'errors'}})
    data = host.playbook(tasks, play_vars={})
    assert data['rc'] == 0, data['stderr']
    errors = task_result(data, 'report')['errors']
    assert len(CORPUS) >= 25 and len(errors) == len(CORPUS), errors
    for (override, words), message in zip(CORPUS, errors):
        for word in words:
            assert word in message, (override, message)
        assert 'Traceback' not in message and '__host_firewall' not in message, message
    assert snapshot(host) == before
