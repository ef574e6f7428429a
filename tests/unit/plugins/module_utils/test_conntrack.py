# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""conntrack.py: the table's fill and drops from a fake procfs, and the conntrack_near_full conflict,
also through port_info's gather()."""

from __future__ import annotations

import os

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import conflicts, conntrack, portinfo, report
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

from test_procnet import FakeProc  # same directory

# A 6.x kernel's header (two spaces after "entries", as the kernel prints it).
HEADER = ('entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  '
          'expect_new expect_create expect_delete search_restart\n')


def stat_row(drop=0, early_drop=0, insert_failed=0, entries=0):
    values = dict.fromkeys(HEADER.split(), 0)
    values.update(entries=entries, drop=drop, early_drop=early_drop, insert_failed=insert_failed)
    return ' '.join('%08x' % values[name] for name in HEADER.split()) + '\n'


def write_conntrack(root, count, limit, rows=None, buckets=None):
    """Plant nf_conntrack_{count,max} (and buckets) and net/stat/nf_conntrack under a fake /proc."""
    netfilter = os.path.join(str(root), 'sys', 'net', 'netfilter')
    os.makedirs(netfilter, exist_ok=True)
    values = {'nf_conntrack_count': count, 'nf_conntrack_max': limit}
    if buckets is not None:
        values['nf_conntrack_buckets'] = buckets
    for name, value in values.items():
        with open(os.path.join(netfilter, name), 'w') as handle:
            handle.write('%d\n' % value)
    stat = os.path.join(str(root), 'net', 'stat')
    os.makedirs(stat, exist_ok=True)
    with open(os.path.join(stat, 'nf_conntrack'), 'w') as handle:
        handle.write(HEADER + ''.join(rows if rows is not None else [stat_row(entries=count)] * 2))


def test_parse_stat_sums_every_cpu_by_header_name():
    text = HEADER + stat_row(drop=1, early_drop=2, insert_failed=3, entries=9) + stat_row(drop=0x10, early_drop=0x20, entries=9)
    assert conntrack.parse_stat(text) == {'drop': 17, 'early_drop': 34, 'insert_failed': 3}


def test_parse_stat_follows_the_header_not_a_fixed_order():
    text = 'drop entries early_drop\n0000000a 00000005 00000001\n00000001 00000005 00000000\n'
    # an older kernel without insert_failed: None, not 0
    assert conntrack.parse_stat(text) == {'drop': 11, 'early_drop': 1, 'insert_failed': None}


@pytest.mark.parametrize('text, message', [
    ('', 'the file is empty'),
    (HEADER + '00000001 00000002\n', 'line 2: 2 values for 17 columns'),
    ('entries drop early_drop insert_failed\n0 zz 0 0\n', "drop is 'zz', expected a hexadecimal number"),
])
def test_parse_stat_rejects_what_it_cannot_read(text, message):
    with pytest.raises(PortwardenError, match=message):
        conntrack.parse_stat(text)


def test_read_conntrack(tmp_path):
    write_conntrack(tmp_path, 750, 1000, [stat_row(drop=2, entries=750), stat_row(early_drop=1, insert_failed=4, entries=750)],
                    buckets=256)
    assert conntrack.read_conntrack(str(tmp_path)) == {
        'entries': 750, 'max': 1000, 'percent': 75.0, 'buckets': 256, 'drop': 2, 'early_drop': 1, 'insert_failed': 4}


def test_read_conntrack_is_none_when_conntrack_is_not_loaded(tmp_path):
    os.makedirs(str(tmp_path / 'sys' / 'net' / 'ipv4'))
    assert conntrack.read_conntrack(str(tmp_path)) is None


def test_read_conntrack_fails_on_a_value_that_is_not_a_number(tmp_path):
    write_conntrack(tmp_path, 1, 10)
    (tmp_path / 'sys' / 'net' / 'netfilter' / 'nf_conntrack_max').write_text('lots\n')
    with pytest.raises(PortwardenError, match=r"nf_conntrack_max: 'lots' is not a whole number"):
        conntrack.read_conntrack(str(tmp_path))


def table(entries, limit=1000, **drops):
    result = {'entries': entries, 'max': limit, 'percent': round(100.0 * entries / limit, 2), 'buckets': 256,
              'drop': 0, 'early_drop': 0, 'insert_failed': 0}
    result.update(drops)
    return result


def test_near_full_at_the_threshold_and_not_below():
    assert conflicts.conntrack_conflicts(table(799), 80) == []
    [conflict] = conflicts.conntrack_conflicts(table(800), 80)
    assert conflict['type'] == 'conntrack_near_full'
    assert (conflict['entries'], conflict['max'], conflict['percent'], conflict['warn_percent']) == (800, 1000, 80.0, 80)
    assert '800 of 1000 entries (80.00%, warning at 80%)' in conflict['msg']
    assert 'already dropped' not in conflict['msg']
    assert 'net.netfilter.nf_conntrack_max (for example to 65536' in conflict['remedy']
    assert 'ephemeral_ports_conntrack_max' in conflict['remedy']
    assert 'hashsize=16777, now 256 buckets' in conflict['remedy']  # 256 * 65536 // 1000: the same ratio


def test_near_full_counts_the_drops_and_scales_the_suggestion():
    [conflict] = conflicts.conntrack_conflicts(table(250000, 262144, drop=5, early_drop=2), 90)
    assert '7 packets already dropped or not inserted' in conflict['msg']
    assert 'for example to 524288' in conflict['remedy']


def test_no_conflict_without_conntrack():
    assert conflicts.conntrack_conflicts(None, 80) == []


@pytest.mark.parametrize('value', [0, 101, -5, True, '80', 80.5, None])
def test_warn_percent_must_be_a_whole_percent(value):
    with pytest.raises(PortwardenError, match=r'Invalid conntrack_warn_percent .*: expected a whole number of percent from 1 to 100'):
        conflicts.check_warn_percent(value)


# ---------------------------------------------------------------- through port_info

@pytest.fixture
def fake(tmp_path):
    proc = FakeProc(tmp_path / 'proc')
    proc.sysctl['ip_local_port_range'] = '40000\t40999'
    return proc


def test_gather_reports_usage_conntrack_and_the_conflict(fake):
    root = fake.write()
    write_conntrack(root, 950, 1000, [stat_row(drop=3, entries=950)] * 2)
    report = portinfo.gather(proc=root, system='Linux')
    assert report['usage']['conntrack'] == {'entries': 950, 'max': 1000, 'percent': 95.0, 'buckets': None,
                                            'drop': 6, 'early_drop': 0, 'insert_failed': 0}
    assert [c['type'] for c in report['conflicts']] == ['conntrack_near_full']
    assert 'hashsize' not in report['conflicts'][0]['remedy']  # no buckets file, no hash size advice
    assert portinfo.gather(proc=root, system='Linux', conntrack_warn_percent=96)['conflicts'] == []


def test_gather_without_conntrack_has_null_and_no_conflict(fake):
    report = portinfo.gather(proc=fake.write(), system='Linux', conntrack_warn_percent=1)
    assert report['usage']['conntrack'] is None
    assert report['conflicts'] == []


def test_gather_rejects_a_bad_warn_percent_before_reading(fake):
    with pytest.raises(PortwardenError, match='Invalid conntrack_warn_percent 0'):
        portinfo.gather(proc=fake.write(), system='Linux', conntrack_warn_percent=0)


def test_conntrack_conflict_comes_after_the_port_conflicts(fake):
    fake.add('tcp', ('0.0.0.0', 40100), state='0A', inode=1)
    root = fake.write()
    write_conntrack(root, 990, 1000)
    assert [c['type'] for c in portinfo.gather(proc=root, system='Linux')['conflicts']] == [
        'listener_in_range', 'conntrack_near_full']


def test_every_backend_has_the_keys_null_where_not_read():
    """Windows and BSD build usage through usage_summary: the same keys, null where the OS has no such value."""
    from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange
    usage = report.usage_summary(PortRange(49152, 65535), 16384, sockets_total=0, tcp_states={}, time_wait=0,
                                 udp_sockets=0, inbound=0, ports_in_use=0, destinations={}, time_wait_seconds=120)
    assert (usage['conntrack'], usage['tcp_timestamps']) == (None, None)
    assert usage['sustainable_rate'] == round(16384 / 120.0, 2)
