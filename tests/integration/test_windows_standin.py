# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end through ansible-playbook against a STAND-IN Windows target.

There is no Windows machine here. The stand-in is a test connection plugin
(tests/integration/standin/connection/netsh_standin.py) that reports a
PowerShell shell and answers netsh/netstat/tasklist command lines from a JSON
state file, in English, French, German or Chinese, in the image's code page.
What these tests prove: the action plugins take the Windows path on a
PowerShell shell, send the commands through the connection, parse what comes
back, and give exact check mode, diff, idempotence and errors. What they do
not prove: that a real netsh behaves exactly like the stand-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(REPO, '.build', 'collections')
STANDIN = os.path.join(HERE, 'standin', 'connection')
sys.path.insert(0, STANDIN)

import netsh_standin  # noqa: E402  pylint: disable=wrong-import-position

TABLES = netsh_standin.TABLES


def _bin(name):
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else (shutil.which(name) or name)


class StandinHost(object):
    """A stand-in Windows target: its state file and a way to run plays against it."""

    def __init__(self, tmpdir, **state):
        self.tmpdir = str(tmpdir)
        self.path = os.path.join(self.tmpdir, 'standin-state.json')
        data = netsh_standin.default_state()
        data.update(state)
        self.write(data)

    def read(self):
        with open(self.path) as handle:
            return json.load(handle)

    def write(self, data):
        with open(self.path, 'w') as handle:
            json.dump(data, handle)

    def update(self, **changes):
        data = self.read()
        data.update(changes)
        self.write(data)

    def changes(self):
        """Command lines that change something, from the stand-in's log."""
        return [line for line in self.read()['log'] if ' set ' in line or ' add ' in line or ' delete ' in line]

    def playbook(self, tasks, check=False, diff=True):
        link = os.path.join(COLLECTIONS, 'ansible_collections', 'portwarden', 'ports')
        if not os.path.islink(link) and not os.path.isdir(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(REPO, link)
        play = [{'name': 'stand-in Windows target', 'hosts': 'win', 'gather_facts': False, 'tasks': tasks}]
        playbook = os.path.join(self.tmpdir, 'play.json')
        with open(playbook, 'w') as handle:
            json.dump(play, handle)
        inventory = os.path.join(self.tmpdir, 'inventory.ini')
        with open(inventory, 'w') as handle:
            handle.write('[win]\nstandin-win ansible_connection=netsh_standin netsh_standin_state=%s\n' % self.path)
        argv = [_bin('ansible-playbook'), '-i', inventory, playbook] + (['--check'] if check else []) + (['--diff'] if diff else [])
        env = dict(os.environ)
        env.update({
            'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
            'ANSIBLE_CONNECTION_PLUGINS': STANDIN,
            'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
            'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
            'ANSIBLE_NOCOWS': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_DEPRECATION_WARNINGS': '0',
            'PYTHONDONTWRITEBYTECODE': '1',
        })
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError('ansible-playbook printed no JSON (rc=%d):\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr))
        return [task['hosts']['standin-win'] for task in data['plays'][0]['tasks']]

    def task(self, module, args, check=False, diff=True):
        return self.playbook([{'name': 'under test', 'portwarden.ports.' + module: args}], check=check, diff=diff)[0]

    def cycle(self, module, args):
        """check -> apply -> check -> apply; check runs must not change the stand-in."""
        results = []
        for check in (True, False, True, False):
            before = self.changes()
            results.append(self.task(module, args, check=check))
            if check:
                assert self.changes() == before, 'check mode ran a changing command'
        for result in results:
            assert not result.get('failed'), result
        return results


@pytest.fixture
def win(tmp_path):
    return StandinHost(tmp_path)


# ---------------------------------------------------------------- ephemeral_range

@pytest.mark.parametrize('locale,encoding', [('en', 'utf-8'), ('fr', 'cp850'), ('de', 'cp850'), ('zh', 'cp936')])
def test_ephemeral_range_cycle_every_language(tmp_path, locale, encoding):
    win = StandinHost(tmp_path, locale=locale, encoding=encoding)
    win.update(dynamic=dict(netsh_standin.default_state()['dynamic'], **{'ipv6/udp': [1024, 64512]}))
    first, applied, again, last = win.cycle('ephemeral_range', {'start': 20000, 'end': 29999})
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert first['before'] == {'start': 49152, 'end': 65535, 'size': 16384}
    assert first['tables']['ipv6/udp']['before'] == {'start': 1024, 'end': 65535, 'size': 64512}
    assert first['after'] == {'start': 20000, 'end': 29999, 'size': 10000}
    assert first['diff'][0]['after'] == '20000-29999 (startport=20000 numberofports=10000)\n'
    assert win.read()['dynamic'] == dict((t, [20000, 10000]) for t in TABLES)
    sets = [line for line in win.changes() if ' set ' in line]
    assert len(sets) == 4 and all(line.endswith('store=persistent') for line in sets)


def test_ephemeral_range_with_reserve_excludes_first_then_moves(win):
    args = {'start': 40000, 'end': 40999, 'protocol': 'tcp', 'family': 'ipv4', 'reserve': ['40100', '40200-40201']}
    first, applied, again, last = win.cycle('ephemeral_range', args)
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert first['reserved']['added'] == [40100, '40200-40201'] and first['reserved']['changed']
    assert list(first['reserved']['tables']) == ['ipv4/tcp']
    assert not again['reserved']['changed'] and again['reserved']['after']['ports'] == '40100,40200-40201'
    assert sorted(win.read()['excluded']['ipv4/tcp']) == [[40100, 40100, True], [40200, 40201, True]]
    assert win.read()['dynamic']['ipv4/tcp'] == [40000, 1000] and win.read()['dynamic']['ipv4/udp'] == [49152, 16384]
    changes = win.changes()
    # The exclusions are added before the range moves over them.
    assert [line.split()[3:5] for line in changes] == [['add', 'excludedportrange']] * 2 + [['set', 'dynamicportrange']]
    assert applied['commands'] == changes


def test_ephemeral_range_one_table(win):
    first, applied, again, last = win.cycle('ephemeral_range', {'start': 40000, 'end': 40254, 'protocol': 'udp',
                                                                'family': 'ipv6'})
    assert list(applied['tables']) == ['ipv6/udp']
    assert win.read()['dynamic']['ipv4/tcp'] == [49152, 16384]
    assert win.read()['dynamic']['ipv6/udp'] == [40000, 255]


@pytest.mark.parametrize('args,words', [
    ({'start': 1024, 'end': 5000}, 'starts below 1025'),
    ({'start': 60000, 'end': 60100}, 'holds 101 ports and netsh requires at least 255'),
    ({'start': 60000, 'end': 65536}, 'ports go from 1 to 65535'),
])
def test_ephemeral_range_windows_limits_refused_before_anything_runs(win, args, words):
    result = win.task('ephemeral_range', args)
    assert result['failed'] and words in result['msg']
    assert win.read()['log'] == []


def test_ephemeral_range_not_elevated(win):
    win.update(elevated=False)
    result = win.task('ephemeral_range', {'start': 20000, 'end': 29999})
    assert result['failed']
    assert 'requires elevation' in result['msg'] and 'Administrators' in result['msg']
    assert win.read()['dynamic']['ipv4/tcp'] == [49152, 16384]


def test_ephemeral_range_no_diff_without_diff_flag(win):
    result = win.task('ephemeral_range', {'start': 20000, 'end': 29999}, check=True, diff=False)
    assert result['changed'] and 'diff' not in result


# ---------------------------------------------------------------- reserved_ports

def _hyperv():
    excluded = dict((t, []) for t in TABLES)
    excluded['ipv4/tcp'] = [[50000, 50059, True], [56638, 56737, False]]
    return excluded


@pytest.mark.parametrize('locale,encoding', [('en', 'utf-8'), ('zh', 'cp936'), ('de', 'cp850'), ('fr', 'cp850')])
def test_reserved_ports_present_cycle(tmp_path, locale, encoding):
    win = StandinHost(tmp_path, locale=locale, encoding=encoding, excluded=_hyperv())
    first, applied, again, last = win.cycle('reserved_ports', {'ports': ['9100', '8080-8081'], 'protocol': 'tcp'})
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert first['before']['ports'] == '50000-50059'
    assert first['after']['ports'] == '8080-8081,9100,50000-50059'
    assert first['added'] == ['8080-8081', 9100] and first['removed'] == []
    assert again['held_by_system'] == {'ipv4/tcp': '56638-56737', 'ipv6/tcp': ''}
    rows = win.read()['excluded']
    assert [8080, 8081, True] in rows['ipv4/tcp'] and [9100, 9100, True] in rows['ipv6/tcp']
    assert rows['ipv4/udp'] == []


def test_reserved_ports_written_differently_is_idempotent(win):
    win.task('reserved_ports', {'ports': ['8080', '8081', '9100'], 'protocol': 'udp', 'family': 'ipv4'})
    result = win.task('reserved_ports', {'ports': '9100,8080-8081', 'protocol': 'udp', 'family': 'ipv4'})
    assert not result['changed']


def test_reserved_ports_exact_keeps_held_by_system_and_unlisted_administered(win):
    win.update(excluded=_hyperv())
    first, applied, again, last = win.cycle('reserved_ports', {'ports': ['8080'], 'state': 'exact', 'protocol': 'tcp',
                                                               'family': 'ipv4'})
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert first['removed'] == [] and first['added'] == [8080]
    assert any('56638-56737 are held by Windows or a service' in w for w in first['warnings'])
    assert any('50000-50059 are administered (*) but not in the list; kept' in w for w in first['warnings'])
    assert again['tables']['ipv4/tcp']['kept_unlisted'] == '50000-50059'
    assert sorted(win.read()['excluded']['ipv4/tcp']) == [[8080, 8080, True], [50000, 50059, True],
                                                          [56638, 56737, False]]
    assert not any('delete' in line for line in win.changes())


def test_reserved_ports_absent_splits_a_range(win):
    excluded = dict((t, []) for t in TABLES)
    excluded['ipv6/udp'] = [[9000, 9010, True]]
    win.update(excluded=excluded)
    first, applied, again, last = win.cycle('reserved_ports', {'ports': [9005], 'state': 'absent'})
    assert [r['changed'] for r in (first, applied, again, last)] == [True, True, False, False]
    assert sorted(win.read()['excluded']['ipv6/udp']) == [[9000, 9004, True], [9006, 9010, True]]
    assert again['tables']['ipv6/udp']['after']['ports'] == '9000-9004,9006-9010'


def test_reserved_ports_over_hyperv_range_explains_winnat(win):
    win.update(excluded=_hyperv())
    for check in (True, False):
        result = win.task('reserved_ports', {'ports': ['56700'], 'protocol': 'tcp', 'family': 'ipv4'}, check=check)
        assert result['failed']
        assert 'net stop winnat' in result['msg'] and 'net start winnat' in result['msg']
        assert 'ipv4/tcp: 56700' in result['msg']
    assert win.changes() == []


def test_reserved_ports_port_in_use_names_the_pid(win):
    win.update(sockets=[{'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 9100, 'pid': 2840}])
    result = win.task('reserved_ports', {'ports': ['9100'], 'protocol': 'tcp'})
    assert result['failed'] and 'ipv4/tcp port(s) 9100 (PID 2840)' in result['msg']
    assert win.changes() == []


def test_reserved_ports_netsh_refusal_is_explained(win):
    """netsh itself refuses (not elevated), in French through cp850: the words arrive garbled, the remedy does not."""
    win.update(locale='fr', encoding='cp850', elevated=False)
    result = win.task('reserved_ports', {'ports': ['9100'], 'protocol': 'tcp', 'family': 'ipv4'})
    assert result['failed']
    assert 'Administrators' in result['msg'] and 'rc=1' in result['msg']
    assert '\ufffd' in result['msg']  # the garbled French message is quoted as it came
    assert result['command'].startswith('netsh interface ipv4 add excludedportrange')


def test_reserved_ports_active_store_warns(win):
    result = win.task('reserved_ports', {'ports': ['9100'], 'protocol': 'tcp', 'family': 'ipv4', 'persist': False})
    assert result['changed'] and any('store=active' in w for w in result['warnings'])
    assert win.changes()[-1].endswith('store=active')


# ---------------------------------------------------------------- port_info

def test_port_info_windows(win):
    excluded = _hyperv()
    excluded['ipv4/tcp'].append([50100, 50100, True])
    sockets = [
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 135, 'pid': 968},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 50100, 'pid': 2840},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 52000, 'pid': 2840},
        {'proto': 'tcp', 'family': 'ipv6', 'address': '::', 'port': 52000, 'pid': 2840},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '10.0.0.5', 'port': 49822, 'pid': 3120, 'state': 'ESTABLISHED',
         'remote': '10.0.0.1:443'},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '10.0.0.5', 'port': 49823, 'pid': 3120, 'state': 'TIME_WAIT',
         'remote': '10.0.0.1:443'},
        {'proto': 'udp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 123, 'pid': 1300},
    ]
    win.update(excluded=excluded, locale='de', encoding='cp850', sockets=sockets,
               processes={'2840': 'node_exporter.exe', '968': 'svchost.exe'})
    for check in (True, False):
        result = win.task('port_info', {'processes': True, 'top': 3}, check=check)
        assert not result.get('failed') and not result['changed']
        assert result['ephemeral_range'] == {'start': 49152, 'end': 65535, 'size': 16384}
        assert result['reserved_ports']['ports'] == '50000-50059,50100,56638-56737'
        assert result['tables']['ipv4/tcp']['administered'] == '50000-50059,50100'
        assert result['tables']['ipv4/tcp']['held_by_system'] == '56638-56737'
        assert {'proto': 'tcp', 'family': 'ipv6', 'address': '::', 'port': 52000, 'scope': 'any', 'pid': 2840,
                'process': 'node_exporter.exe'} in result['listeners']
        in_range = [c for c in result['conflicts'] if c['type'] == 'listener_in_range']
        assert [c['port'] for c in in_range] == [52000]
        assert in_range[0]['reserve'] == [52000]
        usage = result['usage']
        assert usage['time_wait'] == 1 and usage['tcp_states'] == {'HERGESTELLT': 1, 'TIME_WAIT': 1}
        assert usage['busiest'][0]['address'] == '10.0.0.1' and usage['busiest'][0]['ports_in_use'] == 2
    assert win.changes() == []


def test_port_info_with_catalogue(win):
    win.update(sockets=[{'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 22, 'pid': 700}])
    services = [{'name': 'ssh', 'port': 22, 'proto': 'tcp'}, {'name': 'metrics', 'port': 50200, 'proto': 'udp'}]
    result = win.task('port_info', {'services': services})
    types = sorted((c['type'], str(c['port'])) for c in result['conflicts'])
    assert types == [('service_in_range', '50200'), ('service_not_listening', '50200')]


def test_port_info_reports_catalogue_ports_and_listeners_in_system_held_rows(win):
    win.update(excluded=_hyperv(), sockets=[
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 56650, 'pid': 2840},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 50010, 'pid': 3120},
    ])
    services = [{'name': 'api', 'port': 56700, 'proto': 'tcp'}, {'name': 'admin', 'port': 50010, 'proto': 'tcp'}]
    result = win.task('port_info', {'services': services})
    held = [c for c in result['conflicts'] if c['type'] == 'service_port_held']
    found = [(c.get('service'), c['port'], c['table']) for c in held]
    assert found == [('api', '56700', 'ipv4/tcp'), (None, 56650, 'ipv4/tcp')]
    assert all('net stop winnat' in c['remedy'] for c in held)
    # 50010 lies in an administered (*) row: reserved, no conflict of any kind for the catalogue entry
    assert not any(c.get('service') == 'admin' for c in result['conflicts'])
    assert win.changes() == []


def test_every_result_has_the_range_and_the_reservations_and_no_sysctl_file_warning(win):
    win.update(excluded=_hyperv())
    ranged, reserved, info = win.playbook([
        {'name': 'range', 'portwarden.ports.ephemeral_range': {'start': 49152, 'end': 65535, 'sysctl_file': None}},
        {'name': 'reserve', 'portwarden.ports.reserved_ports': {'ports': ['50000-50059'], 'protocol': 'tcp',
                                                                'family': 'ipv4', 'sysctl_file': None}},
        {'name': 'read', 'portwarden.ports.port_info': {}},
    ])
    for result in (ranged, reserved, info):
        assert not result.get('failed') and not result['changed'], result
        assert result['ephemeral_range'] == {'start': 49152, 'end': 65535, 'size': 16384}
        assert result['reserved_ports'] == {'ports': '50000-50059,56638-56737', 'list': ['50000-50059', '56638-56737']}
        assert not any('sysctl_file' in w for w in result.get('warnings', []))
