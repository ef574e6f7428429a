# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue and port set filters, as Jinja sees them."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.filter import catalogue, portset

FILTERS = dict(catalogue.FilterModule().filters(), **portset.FilterModule().filters())

CATALOGUE = [
    {'name': 'ssh', 'port': 22, 'sources': ['10.0.0.0/8']},
    {'name': 'node-ports', 'port': '30000-32767'},
    {'name': 'metrics', 'port': '45000', 'proto': 'tcp'},
    {'name': 'dns', 'port': 53, 'proto': 'udp'},
]


def test_filter_names_are_stable():
    assert sorted(FILTERS) == ['normalize_services', 'portset', 'portset_difference', 'portset_intersection',
                               'portset_list', 'portset_size', 'portset_union', 'service_ports',
                               'services_overlapping']


def test_normalize_services_returns_canonical_entries():
    services = FILTERS['normalize_services'](CATALOGUE)
    assert [(s['name'], s['port'], s['start'], s['end'], s['proto']) for s in services] == [
        ('ssh', '22', 22, 22, 'tcp'), ('node-ports', '30000-32767', 30000, 32767, 'tcp'),
        ('metrics', '45000', 45000, 45000, 'tcp'), ('dns', '53', 53, 53, 'udp')]
    assert services[0]['sources_v4'] == ['10.0.0.0/8']


@pytest.mark.parametrize('bad, words', [
    ([{'name': 'web', 'port': 70000}], ['service #0 (web)', '70000']),
    ([{'name': 'web', 'port': 80, 'proto': 'sctp'}], ["'sctp'", 'tcp, udp']),
    ([{'name': 'web', 'port': 80, 'color': 'red'}], ['color', 'allowed fields']),
    ('22', ['expected a list']),
])
def test_normalize_services_names_the_bad_value(bad, words):
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS['normalize_services'](bad)
    message = str(info.value)
    assert message.startswith('portwarden_services: ')
    for word in words:
        assert word in message


def test_service_ports_raw_and_normalized_agree():
    raw = FILTERS['service_ports'](CATALOGUE)
    assert raw == '22,53,30000-32767,45000'
    assert FILTERS['service_ports'](FILTERS['normalize_services'](CATALOGUE)) == raw
    assert FILTERS['service_ports'](CATALOGUE, 'udp') == '53'
    assert FILTERS['service_ports'](CATALOGUE, 'tcp') == '22,30000-32767,45000'
    assert FILTERS['service_ports']([]) == ''


def test_service_ports_rejects_unknown_proto():
    with pytest.raises(AnsibleFilterError, match="invalid proto 'icmp'"):
        FILTERS['service_ports'](CATALOGUE, 'icmp')


def test_portset_canonical_forms():
    assert FILTERS['portset']([9100, '8081', '8080']) == '8080-8081,9100'
    assert FILTERS['portset']('9100, 8080-8081') == '8080-8081,9100'
    assert FILTERS['portset'](None) == ''
    assert FILTERS['portset']({'start': 32768, 'end': 60999, 'size': 28232}) == '32768-60999'
    assert FILTERS['portset_list']('9100,8080-8081') == ['8080-8081', 9100]
    assert FILTERS['portset_size']({'start': 32768, 'end': 60999}) == 28232
    assert FILTERS['portset_size']('1-10,5-12') == 12


def test_portset_arithmetic():
    in_range = FILTERS['portset_intersection']('22,30000-32767,45000', {'start': 32000, 'end': 60999})
    assert in_range == '32000-32767,45000'
    assert FILTERS['portset_difference'](in_range, '32000-32767') == '45000'
    assert FILTERS['portset_difference']('45000', '45000') == ''
    assert FILTERS['portset_union']('22,80', '81-90') == '22,80-90'


@pytest.mark.parametrize('name, args, words', [
    ('portset', ('0',), ['portset:', "'0'"]),
    ('portset_intersection', ('22', {'start': 5}), ['needs start and end']),
    ('portset_difference', ('22', {'start': 60999, 'end': 32768}), ['60999-32768', 'greater than the end']),
])
def test_portset_bad_input_is_a_filter_error(name, args, words):
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS[name](*args)
    for word in words:
        assert word in str(info.value)


def test_services_overlapping_names_the_services_and_the_shared_ports():
    hits = FILTERS['services_overlapping'](CATALOGUE, {'start': 32000, 'end': 60999})
    assert [(s['name'], s['overlap']) for s in hits] == [('node-ports', '32000-32767'), ('metrics', '45000')]
    normalized = FILTERS['normalize_services'](CATALOGUE)
    assert FILTERS['services_overlapping'](normalized, '53') == [dict(normalized[3], overlap='53')]
    assert FILTERS['services_overlapping'](CATALOGUE, '') == []


def test_services_overlapping_bad_ports():
    with pytest.raises(AnsibleFilterError, match='services_overlapping: invalid ports'):
        FILTERS['services_overlapping'](CATALOGUE, 'x')
