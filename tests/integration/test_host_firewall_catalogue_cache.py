# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall role's catalogue validated once per controller (plugin_utils/catalogue_cache.py), with real kernels.

Two namespace hosts of one fleet share the catalogue, each with its own rules file, state directory and
nftables.conf; the controller's ANSIBLE_HOME is the test's own.
"""

from __future__ import annotations

import ipaddress
import json
import os

import pytest

from conftest import NsHost

ROLE_TASK = {'name': 'host_firewall', 'ansible.builtin.include_role': {'name': 'portwarden.ports.host_firewall'}}
APPLY_TASK = 'portwarden.ports.host_firewall : Load the table inet portwarden (all or nothing; rolled back by the host unless confirmed)'
SOURCES = ['%s/29' % ipaddress.ip_address(int(ipaddress.ip_address('10.0.0.0')) + 16 * i) for i in range(5000)]


@pytest.fixture
def fleet(tmp_path):
    hosts = []
    try:
        for name in ('a', 'b'):
            (tmp_path / name / 'etc').mkdir(parents=True)
            (tmp_path / name / 'etc' / 'nftables.conf').write_text('#!/usr/sbin/nft -f\n')
            hosts.append(NsHost(str(tmp_path / name)))
        yield hosts, str(tmp_path / 'controller')
    finally:
        for host in hosts:
            host.close()


def role_vars(base, **extra):
    values = {
        'host_firewall_services': [{'name': 'api', 'port': 8443, 'sources': SOURCES}, {'name': 'web', 'port': 443}],
        'host_firewall_management_ports': [],
        'host_firewall_rules_path': os.path.join(base, 'etc', 'portwarden.nft'),
        'host_firewall_state_dir': os.path.join(base, 'state'),
        'host_firewall_nftables_conf': os.path.join(base, 'etc', 'nftables.conf'),
        'host_firewall_install': False,
        'host_firewall_rollback_timeout': 10,
    }
    values.update(extra)
    return values


def load(host, home, check=False, expect_rc=0, **extra):
    data = host.playbook([ROLE_TASK], check=check, play_vars=role_vars(host.tmpdir, **extra), env={'ANSIBLE_HOME': home})
    assert data['rc'] == expect_rc, json.dumps(data, indent=1)[-4000:] + data['stderr']
    found = [task['hosts']['localhost'] for task in data['plays'][0]['tasks'] if task['task']['name'] == APPLY_TASK]
    assert len(found) == 1, [task['task']['name'] for task in data['plays'][0]['tasks']]
    return found[0]


def kept(home):
    directory = os.path.join(home, 'portwarden', 'catalogue_cache')
    return sorted(name for name in os.listdir(directory) if name.endswith('.json')) if os.path.isdir(directory) else []


def test_the_second_host_of_a_fleet_loads_the_same_table_from_the_kept_catalogue(fleet):
    (one, two), home = fleet
    steps = [(one, True, 'miss', True), (one, False, 'hit', True), (one, True, 'hit', False), (one, False, 'hit', False),
             (two, True, 'hit', True), (two, False, 'hit', True), (two, True, 'hit', False), (two, False, 'hit', False)]
    for host, check, how, changed in steps:
        result = load(host, home, check=check)
        assert (result['catalogue_cache'], result['changed']) == (how, changed), (host.tmpdir, check, result)
    assert len(kept(home)) == 1
    assert two.table_listing('portwarden') == one.table_listing('portwarden')
    assert two.table_digest('portwarden') == one.table_digest('portwarden')
    rules = [host.read_file(role_vars(host.tmpdir)['host_firewall_rules_path']) for host in (one, two)]
    assert rules[0] == rules[1] and '10.0.0.0/29' in rules[0]


def test_a_bad_entry_among_the_kept_sources_is_named_and_changes_nothing(fleet):
    (one, dummy), home = fleet
    assert load(one, home)['catalogue_cache'] == 'miss'
    before = one.table_digest('portwarden')
    bad = SOURCES[:3000] + ['10.0.300.0/29'] + SOURCES[3000:]
    result = load(one, home, expect_rc=2,
                  host_firewall_services=[{'name': 'api', 'port': 8443, 'sources': bad}, {'name': 'web', 'port': 443}])
    assert result['failed'] is True and '10.0.300.0/29' in result['msg'] and 'api' in result['msg'], result['msg']
    assert one.table_digest('portwarden') == before and len(kept(home)) == 1
    off = load(one, home, host_firewall_catalogue_cache=False)
    assert (off['catalogue_cache'], off['changed']) == ('off', False) and len(kept(home)) == 1
