# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import nft_bans, nft_dynamic
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

# Recorded from nft 1.0.6 (Debian 12): `nft -j list set inet portwarden banned_v4` and the counters of the table.
SET_JSON = ('{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, '
            '{"set": {"family": "inet", "name": "banned_v4", "table": "portwarden", "type": "ipv4_addr", "handle": 5, '
            '"size": 65535, "flags": ["timeout"], "timeout": 600, "elem": [{"elem": {"val": "10.1.2.3", "expires": 100}}, '
            '{"elem": {"val": "10.1.2.4", "timeout": 50, "expires": 49}}]}}]}')
SET6_JSON = ('{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {"family": "inet", "name": "banned_v6", '
             '"table": "portwarden", "type": "ipv6_addr", "elem": [{"elem": {"val": "2001:db8:1:2::", "expires": 590}}]}}]}')
EMPTY_SET_JSON = ('{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {"family": "inet", "name": "banned_v6", '
                  '"table": "portwarden", "type": "ipv6_addr", "flags": ["timeout"], "timeout": 600}}]}')
COUNTERS_JSON = ('{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"counter": {"family": "inet", "name": "banned", '
                 '"table": "portwarden", "handle": 3, "packets": 7, "bytes": 308}}, {"counter": {"family": "inet", '
                 '"name": "scan_detected", "table": "portwarden", "handle": 4, "packets": 1, "bytes": 44}}, '
                 '{"counter": {"family": "inet", "name": "someone_elses", "table": "portwarden", "packets": 9, "bytes": 9}}]}')


def test_parse_set_elements():
    assert nft_dynamic.parse_set_elements(SET_JSON) == [('10.1.2.3', 100), ('10.1.2.4', 49)]
    assert nft_dynamic.parse_set_elements(EMPTY_SET_JSON) == []
    plain = json.dumps({'nftables': [{'set': {'name': 's', 'elem': ['10.0.0.1', {'prefix': {'addr': '10.1.0.0', 'len': 16}}]}}]})
    assert nft_dynamic.parse_set_elements(plain) == [('10.0.0.1', None), ('10.1.0.0/16', None)]
    with pytest.raises(PortwardenError):
        nft_dynamic.parse_set_elements('{not json')


def test_parse_counters():
    counters = nft_dynamic.parse_counters(COUNTERS_JSON)
    assert counters['banned'] == {'packets': 7, 'bytes': 308}
    assert counters['scan_detected'] == {'packets': 1, 'bytes': 44}


@pytest.mark.parametrize('source, key', [
    ('192.0.2.7', ('banned_v4', '192.0.2.7')),
    ('192.0.2.7/32', ('banned_v4', '192.0.2.7')),
    ('2001:db8:1:2::abcd', ('banned_v6', '2001:db8:1:2::')),
    ('2001:db8:1:2::/64', ('banned_v6', '2001:db8:1:2::')),
    ('2001:db8:1:2:3::/80', ('banned_v6', '2001:db8:1:2::')),
])
def test_ban_key(source, key):
    assert nft_bans.ban_key(source) == key


@pytest.mark.parametrize('source, words', [
    ('10.0.0.0/8', 'per address'), ('2001:db8::/48', '/64'), ('nonsense', 'not an IPv4'), ('', 'not an IPv4'),
])
def test_ban_key_refuses(source, words):
    with pytest.raises(PortwardenError) as info:
        nft_bans.ban_key(source)
    assert words in info.value.msg and repr(source) in info.value.msg


class FakeNft(object):
    def __init__(self, replies):
        self.replies = replies
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        reply = self.replies.get(tuple(argv[2:]))
        return (0, reply, '') if reply is not None else (1, '', 'Error: No such file or directory')


def test_audit_reads_bans_and_counters():
    run = FakeNft({('list', 'set', 'inet', 'portwarden', 'banned_v4'): SET_JSON,
                   ('list', 'set', 'inet', 'portwarden', 'banned_v6'): SET6_JSON,
                   ('list', 'counters', 'table', 'inet', 'portwarden'): COUNTERS_JSON})
    audit = nft_dynamic.DynamicState(run, '/usr/sbin/nft').audit()
    assert audit['banned'] == [{'source': '10.1.2.3', 'seconds_left': 100}, {'source': '10.1.2.4', 'seconds_left': 49},
                               {'source': '2001:db8:1:2::/64', 'seconds_left': 590}]
    assert audit['counters'] == {'banned': {'packets': 7, 'bytes': 308}, 'scan_detected': {'packets': 1, 'bytes': 44}}
    assert all(call[:2] == ['/usr/sbin/nft', '-j'] for call in run.calls)


def test_audit_without_the_table_is_null():
    assert nft_dynamic.DynamicState(FakeNft({}), 'nft').audit() == {'banned': None, 'counters': None}


def test_carry_over_and_release_scripts():
    bans = {'banned_v4': [('10.1.2.3', 100), ('10.1.2.4', 49), ('10.1.2.5', None)],
            'banned_v6': [('2001:db8:1:2::', 590)]}
    release = [('banned_v4', '10.1.2.4'), ('banned_v6', '2001:db8:9::')]
    assert nft_bans.carry_over_script('inet', 'portwarden', bans, release) == (
        'add element inet portwarden banned_v4 { 10.1.2.3 timeout 100s }\n'
        'add element inet portwarden banned_v6 { 2001:db8:1:2:: timeout 590s }\n')
    assert nft_bans.release_script('inet', 'portwarden', bans, release) == (
        'delete element inet portwarden banned_v4 { 10.1.2.4 }\n')
    assert nft_bans.carry_over_script('inet', 'portwarden', {}) == ''
    assert nft_bans.release_script('inet', 'portwarden', bans, []) == ''
