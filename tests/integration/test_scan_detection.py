# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Port-scan detection of host_firewall on a real kernel, with real packets.

A server namespace runs the role's table; a client namespace joined by a veth
pair holds the scanner A, a busy but honest client B, an allowlisted scanner
C, and IPv6 addresses in two /64s (the scanner's and B's). nmap scans for real.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from test_host_firewall import linked_pair, probe, role_vars, run_role, start_listener, task_result, tcp, APPLY_TASK

SERVER_V4, A_V4, B_V4, C_V4 = '10.78.0.1', '10.78.0.2', '10.78.0.3', '10.78.0.4'
SERVER_V6, A_V6, A2_V6, B_V6 = 'fd78:0:0:1::1', 'fd78:0:0:1::a', 'fd78:0:0:1::b', 'fd78:0:0:2::b'
OPEN = 8080
CATALOGUE = [{'name': 'web', 'port': OPEN, 'proto': 'tcp'}]


def link(server, client):
    server.run(['ip', 'link', 'add', 'pwscs0', 'type', 'veth', 'peer', 'name', 'pwscc0', 'netns', str(client.pid)])
    server.sh('ip addr add %s/24 dev pwscs0 && ip -6 addr add %s/64 dev pwscs0 nodad && '
              'ip -6 addr add fd78:0:0:2::1/64 dev pwscs0 nodad && ip link set pwscs0 up' % (SERVER_V4, SERVER_V6))
    client.sh(' && '.join(['ip addr add %s/24 dev pwscc0' % a for a in (A_V4, B_V4, C_V4)]
                          + ['ip -6 addr add %s/64 dev pwscc0 nodad' % a for a in (A_V6, A2_V6, B_V6)]
                          + ['ip link set pwscc0 up']))


def syn_scan(client, source, target, ports='20000-20099'):
    argv = ['nmap', '-sS', '-Pn', '-n', '--max-retries', '0', '--host-timeout', '30s', '-T4', '-e', 'pwscc0',
            '-S', source, '-p', ports, '-oG', '-', target]
    if ':' in target:
        argv.insert(1, '-6')
    return client.run(argv).stdout


def port_info(server):
    result = server.module('portwarden.ports.port_info', {})
    assert result['rc'] == 0, result
    return result['firewall']


def scan_vars(**extra):
    values = dict(portwarden_services=CATALOGUE, host_firewall_scan_ban=600, host_firewall_scan_allow=[C_V4],
                  host_firewall_log=False)
    values.update(extra)
    return values


@pytest.fixture
def net(tmp_path):
    with linked_pair(tmp_path, link_with=link) as (server, client, procs):
        procs.append(start_listener(server, ['tcp/%d' % OPEN]))
        # addresses are added with nodad; let the links settle before the first probe
        time.sleep(0.5)
        yield server, client


def connects(client, source, target=None, port=OPEN):
    target = target or (SERVER_V6 if ':' in source else SERVER_V4)
    return probe(client, [tcp(target, port, source)])[0] == 'open'


def test_syn_scan_bans_the_scanner_only_and_the_audit_shows_it(net):
    server, client = net
    run_role(server, **scan_vars())
    assert connects(client, A_V4) and connects(client, B_V4)
    before = port_info(server)
    assert before['banned'] == [] and before['counters']['banned']['packets'] == 0

    syn_scan(client, A_V4, SERVER_V4)
    assert not connects(client, A_V4), 'the scanner can still connect to the open service'
    assert connects(client, B_V4), 'an honest client was blocked'

    state = port_info(server)
    banned = dict((b['source'], b['seconds_left']) for b in state['banned'])
    assert list(banned) == [A_V4]
    assert 500 < banned[A_V4] <= 600
    assert state['counters']['scan_detected']['packets'] == 1       # one probe started the ban
    assert state['counters']['banned']['packets'] > 0               # the rest of the scan, and the connect above
    assert state['counters']['default_drop']['packets'] >= 20       # the probes before the threshold

    # 200 connections to the open service from one client: never a scan
    for dummy in range(4):
        assert probe(client, [tcp(SERVER_V4, OPEN, B_V4)] * 50) == ['open'] * 50
    assert [b['source'] for b in port_info(server)['banned']] == [A_V4]

    # an allowlisted scanner is never banned
    syn_scan(client, C_V4, SERVER_V4)
    assert connects(client, C_V4)
    assert [b['source'] for b in port_info(server)['banned']] == [A_V4]


def test_ipv6_scanner_is_banned_with_its_slash_64(net):
    server, client = net
    run_role(server, **scan_vars())
    syn_scan(client, A_V6, SERVER_V6)
    assert not connects(client, A_V6)
    assert not connects(client, A2_V6), 'a second address of the scanner /64 still connects'
    assert connects(client, B_V6), 'a client of another /64 was blocked'
    assert connects(client, B_V4)
    assert [b['source'] for b in port_info(server)['banned']] == ['fd78:0:0:1::/64']


def test_ban_expires_and_is_not_extended_by_the_banned_source(net):
    server, client = net
    run_role(server, **scan_vars(host_firewall_scan_ban=6))
    syn_scan(client, A_V4, SERVER_V4)
    started = time.time()
    assert not connects(client, A_V4)
    while time.time() - started < 4:          # the banned source keeps knocking: the ban does not grow
        probe(client, [tcp(SERVER_V4, OPEN, A_V4, timeout=0.3)])
    time.sleep(max(0.0, 7.5 - (time.time() - started)))
    assert connects(client, A_V4), 'the ban did not expire'
    assert port_info(server)['banned'] == []


def test_reapply_keeps_the_bans_and_unban_releases_in_four_steps(net):
    server, client = net
    run_role(server, **scan_vars())
    syn_scan(client, A_V4, SERVER_V4)
    syn_scan(client, A_V6, SERVER_V6)
    left = dict((b['source'], b['seconds_left']) for b in port_info(server)['banned'])
    assert set(left) == {A_V4, 'fd78:0:0:1::/64'}

    # a change of the catalogue replaces the table: the bans go over with the time they had left
    time.sleep(1.2)
    changed = CATALOGUE + [{'name': 'extra', 'port': 8443, 'proto': 'tcp'}]
    data = run_role(server, **scan_vars(portwarden_services=changed))
    assert task_result(data, APPLY_TASK)['table_changed'] is True
    after = dict((b['source'], b['seconds_left']) for b in port_info(server)['banned'])
    assert set(after) == set(left)
    assert all(after[s] < left[s] and after[s] > left[s] - 30 for s in left), (left, after)
    assert not connects(client, A_V4)

    # unban: check mode predicts the release, apply releases, then nothing more to do
    release = scan_vars(portwarden_services=changed, host_firewall_unban=[A_V4, A2_V6])
    data = run_role(server, check=True, **release)
    applied = task_result(data, APPLY_TASK)
    assert applied['changed'] is True and applied['released'] == [A_V4, 'fd78:0:0:1::/64']
    assert len(port_info(server)['banned']) == 2
    data = run_role(server, **release)
    applied = task_result(data, APPLY_TASK)
    assert applied['changed'] is True and applied['table_changed'] is False
    assert port_info(server)['banned'] == []
    assert connects(client, A_V4) and connects(client, A_V6)
    for check in (True, False):
        data = run_role(server, check=check, **release)
        assert data['stats']['localhost']['changed'] == 0
        assert task_result(data, APPLY_TASK)['released'] == []


def test_detection_switched_on_in_four_steps_and_off(net):
    server, client = net
    run_role(server, **scan_vars(host_firewall_scan_detect=False))
    syn_scan(client, A_V4, SERVER_V4)
    assert connects(client, A_V4)                              # no detection: no ban
    assert port_info(server)['banned'] == []
    on = scan_vars()
    for check, expect in ((True, 1), (False, 1), (True, 0), (False, 0)):
        data = run_role(server, check=check, **on)
        assert (data['stats']['localhost']['changed'] > 0) == bool(expect), (check, json.dumps(data['stats']))
    live = server.run(['nft', 'list', 'table', 'inet', 'portwarden']).stdout
    assert 'set banned_v4' in live and 'add @banned_v4' in live


@pytest.mark.parametrize('name, value, words', [
    ('host_firewall_scan_threshold', 0, ['host_firewall_scan_threshold', '0', 'from 1 to 100000']),
    ('host_firewall_scan_window', 'soon', ['host_firewall_scan_window', "'soon'"]),
    ('host_firewall_scan_ban', -5, ['host_firewall_scan_ban', '-5']),
    ('host_firewall_scan_allow', ['10.0.0.1/8'], ['host_firewall_scan_allow', '10.0.0.1/8', 'host bits']),
    ('host_firewall_unban', ['10.0.0.0/24'], ['host_firewall_unban[0]', '10.0.0.0/24', 'per address']),
    ('host_firewall_unban', ['2001:db8::/48'], ['host_firewall_unban[0]', '2001:db8::/48', '/64']),
    ('host_firewall_unban', ['nonsense'], ['host_firewall_unban[0]', 'nonsense']),
])
def test_bad_scan_settings_fail_clearly_and_change_nothing(nshost, name, value, words):
    before = nshost.run(['nft', 'list', 'ruleset']).stdout
    data = nshost.playbook([{'name': 'host_firewall', 'ansible.builtin.include_role': {'name': 'portwarden.ports.host_firewall'}}],
                           play_vars=role_vars(nshost.tmpdir, **{name: value, 'portwarden_services': CATALOGUE}))
    assert data['rc'] != 0
    failed = [h for t in data['plays'][0]['tasks'] for h in t['hosts'].values() if h.get('failed')]
    msg = failed[0]['msg'] if failed else ''
    for word in words:
        assert word in msg, (word, msg)
    assert 'Traceback' not in json.dumps(data)
    assert nshost.run(['nft', 'list', 'ruleset']).stdout == before
    assert not os.path.exists(os.path.join(nshost.tmpdir, 'etc', 'portwarden', 'portwarden.nft'))
