# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services, service_ports
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError


def test_normalize_full_entry():
    services = normalize_services([
        {'name': 'ssh', 'port': 22, 'proto': 'tcp', 'sources': ['2001:db8::/32', '10.0.0.0/8', '10.0.0.0/8'],
         'rate_limit': '10/minute'},
        {'name': 'node-ports', 'port': '30000-32767'},
        {'name': 'dns', 'port': '53', 'proto': 'udp', 'sources': '192.0.2.0/24'},
    ])
    ssh, nodes, dns = services
    assert ssh['sources'] == ['10.0.0.0/8', '2001:db8::/32']
    assert ssh['sources_v4'] == ['10.0.0.0/8'] and ssh['sources_v6'] == ['2001:db8::/32']
    assert ssh['rate_limit'] == '10/minute'
    assert (nodes['start'], nodes['end'], nodes['proto'], nodes['sources']) == (30000, 32767, 'tcp', [])
    assert dns['port'] == '53' and dns['sources'] == ['192.0.2.0/24']
    assert service_ports(services).format() == '22,53,30000-32767'
    assert service_ports(services, 'udp').format() == '53'
    assert normalize_services(None) == []


@pytest.mark.parametrize('entry, fragment', [
    ({'name': 'a\nb', 'port': 1}, "invalid name 'a\\nb'"),
    ({'name': 'a;drop', 'port': 1}, "invalid name 'a;drop'"),
    ({'name': 'x', 'port': '1-0'}, "service #0 (x): field port"),
    ({'name': 'x'}, 'field port is required'),
    ({'name': 'x', 'port': 1, 'proto': 'sctp'}, "invalid proto 'sctp'"),
    ({'name': 'x', 'port': 1, 'sources': ['10.0.0.1/8']}, 'host bits set'),
    ({'name': 'x', 'port': 1, 'sources': ['10.0.0.0/8 }']}, "invalid source '10.0.0.0/8 }'"),
    ({'name': 'x', 'port': 1, 'sources': ['10.0.0.0/8\n']}, 'invalid source'),
    ({'name': 'x', 'port': 1, 'sources': ['any']}, "invalid source 'any'"),
    ({'name': 'x', 'port': 1, 'sources': {'a': 1}}, 'field sources: invalid value'),
    ({'name': 'x', 'port': 1, 'rate_limit': '10/minute;'}, "invalid rate_limit '10/minute;'"),
    ({'name': 'x', 'port': 1, 'rate_limit': '0/minute'}, 'invalid rate_limit'),
    ({'name': 'x', 'port': 1, 'description': 'a"b'}, 'invalid description'),
    ({'name': 'x', 'port': 1, 'description': 'a\nb'}, 'invalid description'),
    ({'name': 'x', 'port': 1, 'description': 'a\x85b'}, 'invalid description'),
    ({'name': 'x', 'port': 1, 'description': 'a\u2028b'}, 'invalid description'),
    ({'name': 'x', 'port': 1, 'colour': 'red'}, 'unknown field(s) colour'),
    ('ssh', "service #0: expected a dictionary"),
])
def test_rejects_naming_entry_and_field(entry, fragment):
    with pytest.raises(PortwardenError) as info:
        normalize_services([entry])
    assert fragment in str(info.value)


def test_rejects_duplicates_and_non_lists():
    with pytest.raises(PortwardenError) as info:
        normalize_services([{'name': 'a', 'port': 1}, {'name': 'a', 'port': 2}])
    assert "service #1 (a): the name 'a' is used twice" in str(info.value)
    normalize_services([{'name': 'a', 'port': 1}, {'name': 'a', 'port': 1, 'proto': 'udp'}])
    with pytest.raises(PortwardenError):
        normalize_services('ssh')


def test_normalize_accepts_its_own_output():
    raw = [{'name': 'ssh', 'port': 22, 'sources': ['2001:db8::/32', '10.0.0.0/8'], 'rate_limit': '10/minute'},
           {'name': 'node-ports', 'port': '30000-32767', 'description': 'kube'},
           {'name': 'dns', 'port': 53, 'proto': 'udp'}]
    once = normalize_services(raw)
    assert normalize_services(once) == once
    assert normalize_services(normalize_services(once)) == once


@pytest.mark.parametrize('key, value', [('start', 23), ('end', 1), ('sources_v4', ['10.0.0.0/8']), ('sources_v6', [])])
def test_normalize_refuses_derived_keys_that_disagree(key, value):
    entry = dict(normalize_services([{'name': 'ssh', 'port': 22, 'sources': ['2001:db8::/32']}])[0])
    entry[key] = value
    with pytest.raises(PortwardenError, match=re.escape("service #0 (ssh): field %s is %r, but port and sources give" % (key, value))):
        normalize_services([entry])
