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
import os

from conftest import firewall_load, firewall_vars

SOURCES = ['%s/29' % ipaddress.ip_address(int(ipaddress.ip_address('10.0.0.0')) + 16 * i) for i in range(5000)]
CATALOGUE = [{'name': 'api', 'port': 8443, 'sources': SOURCES}, {'name': 'web', 'port': 443}]


def role_vars(base, **extra):
    return firewall_vars(base, extra.pop('host_firewall_services', CATALOGUE), **extra)


def load(host, home, check=False, expect_rc=0, **extra):
    return firewall_load(host, home, role_vars(host.tmpdir, **extra), check=check, expect_rc=expect_rc)


def kept(home):
    directory = os.path.join(home, 'portwarden', 'catalogue_cache')
    return sorted(name for name in os.listdir(directory) if name.endswith('.json')) if os.path.isdir(directory) else []


def test_the_second_host_of_a_fleet_loads_the_same_table_from_the_kept_catalogue(firewall_pair):
    (one, two), home = firewall_pair
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


def test_a_bad_entry_among_the_kept_sources_is_named_and_changes_nothing(firewall_pair):
    (one, dummy), home = firewall_pair
    assert load(one, home)['catalogue_cache'] == 'miss'
    before = one.table_digest('portwarden')
    bad = SOURCES[:3000] + ['10.0.300.0/29'] + SOURCES[3000:]
    result = load(one, home, expect_rc=2,
                  host_firewall_services=[{'name': 'api', 'port': 8443, 'sources': bad}, {'name': 'web', 'port': 443}])
    assert result['failed'] is True and '10.0.300.0/29' in result['msg'] and 'api' in result['msg'], result['msg']
    assert one.table_digest('portwarden') == before and len(kept(home)) == 1
    off = load(one, home, host_firewall_catalogue_cache=False)
    assert (off['catalogue_cache'], off['changed']) == ('off', False) and len(kept(home)) == 1
