# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller's fast source parser against ipaddress (and the hosts' version of the same contract)."""

from __future__ import annotations

import ipaddress
import random

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import catalogue
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils.firewall_model import build_model
from ansible_collections.portwarden.ports.plugins.plugin_utils import sources as sources_module
from ansible_collections.portwarden.ports.plugins.plugin_utils.sources import _canonical_source, _parsed, source_intervals


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


@pytest.mark.parametrize('parse', [source_intervals, catalogue.source_intervals], ids=['controller', 'host'])
def test_source_intervals_agree_with_ipaddress(parse):
    # The fast parser (inet_pton, integers) takes a source only when ipaddress reads it as the same network with
    # the same text; anything else goes to ipaddress, so the result and the refusals are those of ipaddress.
    rng = random.Random(18)
    fast = 0
    for _case in range(3000):
        values = [_spellings(rng) for _n in range(rng.randint(1, 4))]
        expected = _ipaddress_sources(values)
        if expected is None:
            with pytest.raises(PortwardenError) as info:
                parse(values, 'where')
            assert info.value.msg.startswith('where: invalid source ')
        else:
            assert parse(values, 'where') == expected, values
            fast += all(_canonical_source(v) is not None for v in values)
    assert fast > 500                     # the fast path is taken, not only the fallback


class TaggedStr(str):
    """A str subclass, as ansible-core hands over the values of its variables."""


def test_whole_lists_in_canonical_form_are_parsed_at_once_and_agree_with_ipaddress():
    rng = random.Random(7)
    for _case in range(200):
        values = [v for v in (_spellings(rng) for _n in range(rng.randint(1, 60))) if _canonical_source(v) is not None]
        expected = _ipaddress_sources(values)
        assert expected is not None
        assert _parsed(values) is not None or not values, values        # all at once, not one by one
        assert source_intervals(values, 'where') == expected, values
        assert source_intervals([TaggedStr(v) for v in values], 'where') == expected
        assert not any(isinstance(item[3], TaggedStr) for item in source_intervals([TaggedStr(v) for v in values], 'where'))


@pytest.mark.parametrize('odd', ['10.0.0.1/24', '10.0.0.0/033', '10.0.0.0/', '010.0.0.0/8', '10.0.0.0/255.0.0.0',
                                 '2001:DB8::/32', '2001:0db8::/32', '::ffff:1.2.3.4', '2001:db8::/129', 'ten', 7, None])
def test_one_value_not_in_canonical_form_sends_the_list_one_by_one(odd):
    values = ['192.0.2.0/24', '2001:db8::/32', odd, '198.51.100.7']
    assert _parsed(values) is None
    expected = _ipaddress_sources(values) if isinstance(odd, str) else None
    if expected is None:
        with pytest.raises(PortwardenError) as info:
            source_intervals(values, 'where')
        assert info.value.msg.startswith('where: invalid source %r' % (odd,))
    else:
        assert source_intervals(values, 'where') == expected


def test_each_family_parsed_at_once_alone():
    assert sources_module._bulk([], 2, 32, 4) == []
    assert _parsed(['::/0']) == [(6, 0, (1 << 128) - 1, '::/0')]
    assert _parsed(['0.0.0.0/0', '10.0.0.1']) == [(4, 0, (1 << 32) - 1, '0.0.0.0/0'), (4, 167772161, 167772161, '10.0.0.1/32')]


def test_a_bad_source_among_100000_is_named():
    sources = ['10.%d.%d.0/24' % (i // 256, i % 256) for i in range(100000 // 256)] * 256
    sources[77777] = '10.1.2.3/24'
    with pytest.raises(PortwardenError) as info:
        build_model([{'name': 'api', 'port': 443, 'sources': sources}])
    assert "host_firewall_services: service #0 (api): field sources: invalid source '10.1.2.3/24'" in info.value.msg
    assert 'host bits' in info.value.msg


@pytest.mark.parametrize('parse', [source_intervals, catalogue.source_intervals], ids=['controller', 'host'])
def test_source_intervals_sort_ipv4_first_then_by_address_a_network_before_those_inside(parse):
    values = ['2001:db8::/32', '10.0.0.0/16', '10.0.0.1', '::/0', '10.0.0.0/8', '9.0.0.0/8', '10.0.0.0/24', '10.0.0.0/16']
    assert [item[3] for item in parse(values, 'where')] == [
        '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', '10.0.0.0/24', '10.0.0.1/32', '::/0', '2001:db8::/32']
