# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nft_table's record of the loaded table as a netlink digest (nft_netlink), on a real kernel.

In a network namespace (real nft, root): the digest of an unchanged table is
the same while packets change its counters, fill its dynamic sets and add
bans (and while another tool adds bans with nft, a commit); each kind of
change another tool makes to the table changes it, nft_table then reports
``drifted`` and restores the table, and the listing-based check agrees.
"""

from __future__ import annotations

import os
import sys

import pytest

NAME = 'pwrec'
TABLE = '''table inet pwrec {}
delete table inet pwrec
table inet pwrec {
    counter hits { }
    quota cap { over 100 mbytes }
    quota spare_quota { over 50 mbytes }
    set banned_v4 { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 1h; }
    set rate_v4 { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 1m; }
    set mgmt_v4 { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.0.2.0/24 } }
    set ports { type inet_service; elements = { 7101, 7102 } }
    set spare { type ipv4_addr; elements = { 203.0.113.1 } }
    chain input {
        type filter hook input priority filter; policy accept;
        ip saddr @banned_v4 counter name "hits" drop
        tcp dport 7100 add @banned_v4 { ip saddr } counter reject with tcp reset
        tcp dport @ports counter quota name "cap" accept
        ct state new tcp dport 7103 update @rate_v4 { ip saddr limit rate over 1/minute burst 1 packets } counter drop
        tcp dport 7104 counter quota over 1 kbytes accept
        ip saddr @mgmt_v4 tcp dport { 22, 2222 } accept
    }
}
'''
PACKETS = r'''
import socket, sys
for source, port in [('127.0.0.5', 7100), ('127.0.0.5', 7100), ('127.0.0.6', 7103), ('127.0.0.6', 7103),
                     ('127.0.0.7', 7103), ('127.0.0.1', 7101), ('127.0.0.1', 7104), ('127.0.0.1', 7104)]:
    s = socket.socket()
    s.settimeout(0.3)
    s.bind((source, 0))
    try:
        s.connect(('127.0.0.1', port))
    except OSError:
        pass
    s.close()
'''
# Changes another tool makes to the table: each must count as drift.
FOREIGN = {
    'a rule added to a chain': ['add rule inet pwrec input tcp dport 4444 accept'],
    'an element added to a static set': ['add element inet pwrec mgmt_v4 { 198.51.100.0/24 }'],
    'an element removed from a static set': ['delete element inet pwrec mgmt_v4 { 192.0.2.0/24 }'],
    "a chain's policy": ['chain inet pwrec input { policy drop; }'],
    'an object added': ['add counter inet pwrec extra'],
    "a quota object's limit": ['delete quota inet pwrec spare_quota', 'add quota inet pwrec spare_quota { over 60 mbytes }'],
    'a set flag': ['delete set inet pwrec spare', 'add set inet pwrec spare { type ipv4_addr; flags interval; }',
                   'add element inet pwrec spare { 203.0.113.1 }'],
}


def digest(host):
    return host.table_digest(NAME)


def listing(host):
    return host.table_listing(NAME)


def nft(host, *commands):
    """One transaction, as another tool would commit it."""
    host.run(['nft', '-f', '-'], input='\n'.join(commands) + '\n')


def task(host, content=TABLE):
    return {'content': content, 'path': os.path.join(host.tmpdir, 'etc', 'pwrec.nft'), 'name': NAME,
            'state_dir': os.path.join(host.tmpdir, 'state'), 'rollback_timeout': 30}


def record(host):
    with open(os.path.join(host.tmpdir, 'state', 'inet-%s.record' % NAME)) as handle:
        return handle.read()


def apply(host, check=False):
    result = host.module('portwarden.ports.nft_table', task(host), check=check)
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.fixture
def host(nshost):
    assert apply(nshost, check=True)['changed']
    assert apply(nshost)['changed']
    text = record(nshost)
    assert text.splitlines()[2] == 'state %s' % digest(nshost) and 'chain input' not in text   # no listing
    return nshost


def test_the_digest_leaves_out_what_packets_and_bans_change(host):
    before, listed = digest(host), listing(host)
    assert before.startswith('sha256:') and listed
    full = host.run(['nft', 'list', 'table', 'inet', NAME]).stdout
    host.run([sys.executable, '-c', PACKETS])
    nft(host, 'add element inet pwrec banned_v4 { 192.0.2.99 timeout 1h }')       # a ban: another tool's commit
    live = host.run(['nft', 'list', 'table', 'inet', NAME]).stdout
    assert '127.0.0.5' in live and '127.0.0.6' in live and '192.0.2.99' in live   # the dynamic sets filled
    assert full.count('packets 0 bytes 0') > live.count('packets 0 bytes 0')       # counters moved
    assert ' used ' not in full and 'over 100 mbytes used ' in live and 'over 1 kbytes used ' in live   # quotas used
    assert digest(host) == before and digest(host) == before
    assert listing(host) == listed                                                 # the listing check agrees
    for check in (True, False):
        result = apply(host, check=check)
        assert not result['changed'] and not result['drifted'], (check, result)
    assert record(host).splitlines()[2] == 'state %s' % before


@pytest.mark.parametrize('change', sorted(FOREIGN))
def test_a_foreign_change_is_drift_and_is_repaired(host, change):
    before, listed = digest(host), listing(host)
    nft(host, *FOREIGN[change])
    assert digest(host) != before, change
    assert listing(host) != listed, change                                        # the listing check agrees
    predicted = apply(host, check=True)
    assert predicted['changed'] and predicted['drifted'] and predicted['table_changed'], predicted
    assert predicted['diff']['before_header'] == 'nft list table inet %s' % NAME
    repaired = apply(host)
    assert repaired['changed'] and repaired['drifted'], repaired
    assert digest(host) == before and listing(host) == listed
    for check in (True, False):
        again = apply(host, check=check)
        assert not again['changed'] and not again['drifted'], (change, check, again)


def test_a_record_of_the_earlier_version_is_read_then_rewritten(host):
    path = os.path.join(host.tmpdir, 'state', 'inet-%s.record' % NAME)
    content_digest, _generation, _state = record(host).splitlines()
    with open(path, 'w') as handle:                       # what the version before wrote: a listing, no generation
        handle.write('%s\n%s' % (content_digest, listing(host)))
    result = apply(host)
    assert not result['changed'] and not result['drifted'], result
    assert record(host).splitlines()[2] == 'state %s' % digest(host)
    with open(path, 'w') as handle:                       # ... and one whose listing differs from the table
        handle.write('%s\n%s' % (content_digest, listing(host).replace('7104', '7105')))
    assert apply(host, check=True)['drifted']


def test_the_table_deleted_by_another_tool_is_loaded_again(host):
    before = digest(host)
    nft(host, 'delete table inet pwrec')
    assert digest(host) == 'absent'
    result = apply(host)
    assert result['changed'] and result['table_changed'] and not result['drifted']
    assert digest(host) == before


def test_two_tables_of_one_name_in_other_families_do_not_mix(host):
    before = digest(host)
    nft(host, 'add table ip pwrec', 'add chain ip pwrec input { type filter hook input priority 0; policy drop; }',
        'add table inet pwrec2', 'add chain inet pwrec2 c')
    assert digest(host) == before
    assert not apply(host)['changed']
    assert 'table ip pwrec' in host.run(['nft', 'list', 'tables']).stdout           # left alone


def test_large_sets_over_many_dump_messages(nshost):
    """5,000 networks (an interval set) and 3,000 ports (a hash set): many dump messages, each order kept."""
    networks = ', '.join('10.%d.%d.0/26' % (i // 256, i % 256) for i in range(5000))
    ports = ', '.join(str(10000 + i) for i in range(3000))
    nft(nshost, 'add table inet pwrec', 'add set inet pwrec nets { type ipv4_addr; flags interval; elements = { %s } }'
        % networks, 'add set inet pwrec ports { type inet_service; elements = { %s } }' % ports)
    first = digest(nshost)
    assert first.startswith('sha256:') and digest(nshost) == first
    for change, undo in [('delete element inet pwrec nets { 10.3.7.0/26 }', 'add element inet pwrec nets { 10.3.7.0/26 }'),
                         ('delete element inet pwrec ports { 10500 }', 'add element inet pwrec ports { 10500 }')]:
        nft(nshost, change)
        assert digest(nshost) != first, change
        nft(nshost, undo)
        assert digest(nshost) == first, undo          # the same elements again: the same digest
