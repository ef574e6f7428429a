# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall_model filter, as the role's set_fact calls it."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.filter.host_firewall_model import FilterModule

FILTER = FilterModule().filters()['host_firewall_model']


def test_filter_returns_the_model():
    model = FILTER([{'name': 'ssh', 'port': 22, 'sources': ['10.0.0.0/8']}], management_ports=[22], log_prefix='pw')
    assert model['services'][0]['id'] == 'svc1_ssh_tcp'
    assert model['services'][0]['elements_v4'] == '10.0.0.0/8'
    assert model['management']['ports'] == '22' and model['log_prefix'] == 'pw'


@pytest.mark.parametrize('services, kwargs, words', [
    ([{'name': 'ok', 'port': 1}, {'name': 'web', 'port': 80, 'proto': 'sctp'}], {}, ['service #1 (web)', 'proto', 'sctp']),
    ([{'name': 'web', 'port': 80, 'sources': ['10.0.0.0/8\n}']}], {}, ['service #0 (web)', 'sources']),
    ([{'name': 'web', 'port': 80, 'colour': 'red'}], {}, ['service #0 (web)', 'colour']),
    ('not a list', {}, ['host_firewall_services']),
    ([], {'log_rate': '5/fortnight'}, ['host_firewall_log_rate', '5/fortnight']),
    ([], {'unknown_option': 1}, ['host_firewall_model', 'unknown_option']),
])
def test_filter_errors_name_the_entry_and_the_field(services, kwargs, words):
    with pytest.raises(AnsibleFilterError) as info:
        FILTER(services, **kwargs)
    for word in words:
        assert word in str(info.value)
