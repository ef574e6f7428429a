# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import ipaddress
import random
import re

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services, service_ports, source_intervals
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


def _ipaddress_sources(values):
    """What ipaddress alone gives for the sources (the reference for the fast parser), or the error it raises."""
    try:
        networks = set(ipaddress.ip_network(v, strict=True) for v in values)
    except ValueError:
        return None
    return [(n.version, int(n.network_address), int(n.broadcast_address), str(n))
            for n in sorted(networks, key=lambda n: (n.version, int(n.network_address), n.prefixlen))]


def _spellings(rng):
    """One network written in one of the ways a user may write it (canonical or not, valid or not)."""
    version = rng.choice((4, 6))
    bits = 32 if version == 4 else 128
    length = rng.choice((0, 1, bits // 2, bits - 3, bits - 1, bits, rng.randint(0, bits)))
    address = rng.getrandbits(bits) & ~((1 << (bits - length)) - 1)
    if rng.random() < 0.2:
        address |= 1 << rng.randint(0, bits - 1)              # host bits, sometimes set
    if version == 6 and rng.random() < 0.4:
        address &= (1 << 48) - 1 if rng.random() < 0.5 else ~(((1 << 64) - 1) << 32)   # runs of zero groups
    if version == 6 and rng.random() < 0.1:
        address = (0xffff << 32) | rng.getrandbits(32)        # IPv4-mapped
    addr = ipaddress.ip_address(address) if version == 6 else ipaddress.IPv4Address(address)
    text = str(addr)
    style = rng.random()
    if version == 6 and style < 0.15:
        text = addr.exploded
    elif version == 6 and style < 0.3:
        text = text.upper()
    elif version == 6 and style < 0.4 and address >> 32 == 0xffff:
        text = '::ffff:%s' % ipaddress.IPv4Address(address & 0xffffffff)
    elif version == 4 and style < 0.1:
        text = text.replace('.', '.0', 1)                     # a leading zero
    suffix = rng.random()
    if suffix < 0.1:
        return text
    if suffix < 0.15:
        return '%s/0%d' % (text, length)
    if version == 4 and suffix < 0.2:
        return '%s/%s' % (text, ipaddress.IPv4Network('0.0.0.0/%d' % length).netmask)
    return '%s/%d' % (text, length)


def test_source_intervals_agree_with_ipaddress():
    # The fast parser (inet_pton, integers) takes a source only when ipaddress reads it as the same network with
    # the same text; anything else goes to ipaddress, so the result and the refusals are those of ipaddress.
    rng = random.Random(18)
    for _case in range(3000):
        values = [_spellings(rng) for _n in range(rng.randint(1, 4))]
        expected = _ipaddress_sources(values)
        if expected is None:
            with pytest.raises(PortwardenError) as info:
                source_intervals(values, 'where')
            assert info.value.msg.startswith('where: invalid source ')
        else:
            assert source_intervals(values, 'where') == expected, values


def test_a_bad_source_among_100000_is_named():
    sources = ['10.%d.%d.0/24' % (i // 256, i % 256) for i in range(100000 // 256)] * 256
    sources[77777] = '10.1.2.3/24'
    with pytest.raises(PortwardenError) as info:
        normalize_services([{'name': 'api', 'port': 443, 'sources': sources}])
    assert "service #0 (api): field sources: invalid source '10.1.2.3/24'" in info.value.msg
    assert 'host bits' in info.value.msg
