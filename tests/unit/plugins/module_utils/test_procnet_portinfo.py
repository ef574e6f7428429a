# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""portinfo.py: conflicts, remedies, catalogue drift and ephemeral usage, from
fake procfs trees (test_procnet.FakeProc) and from plain values."""

from __future__ import annotations

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import linux_report, portgather, portinfo, portread, portset, procnet
from ansible_collections.portwarden.ports.plugins.module_utils.report import usage_summary
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

from test_procnet import FakeProc  # same directory


@pytest.fixture
def fake(tmp_path):
    proc = FakeProc(tmp_path / 'proc')
    proc.sysctl['ip_local_port_range'] = '40000\t40999'
    return proc


def gather(fake, **kwargs):
    return portinfo.gather(proc=fake.write(), system='Linux', **kwargs)


def by_type(report, kind):
    return [c for c in report['conflicts'] if c['type'] == kind]


# ---------------------------------------------------------------- ranges, reservations, listeners

def test_top_level_keys_and_kernel_values(fake):
    fake.sysctl['ip_local_reserved_ports'] = '40200,40300-40301'
    fake.sysctl['ip_unprivileged_port_start'] = '80'
    report = gather(fake)
    assert sorted(report) == ['conflicts', 'ephemeral_range', 'firewall', 'listeners', 'reserved_ports',
                              'unprivileged_port_start', 'usage']
    assert report['ephemeral_range'] == {'start': 40000, 'end': 40999, 'size': 1000}
    assert report['unprivileged_port_start'] == 80
    assert report['reserved_ports'] == {'ports': '40200,40300-40301', 'list': [40200, '40300-40301']}
    assert report['usage']['tcp_tw_reuse'] == 2


def test_listeners_sorted_deduplicated_without_processes(fake):
    fake.add('tcp6', ('::', 22), state='0A', inode=3)
    fake.add('tcp', ('0.0.0.0', 22), state='0A', inode=1)
    fake.add('tcp', ('0.0.0.0', 8080), state='0A', inode=2)
    fake.add('tcp', ('0.0.0.0', 8080), state='0A', inode=4)  # SO_REUSEPORT twin
    fake.add('udp', ('0.0.0.0', 53), state='07', inode=5)
    report = gather(fake)
    assert report['listeners'] == [
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 22, 'scope': 'any'},
        {'proto': 'tcp', 'family': 'ipv6', 'address': '::', 'port': 22, 'scope': 'any'},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 8080, 'scope': 'any'},
        {'proto': 'udp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 53, 'scope': 'any'},
    ]


def test_listeners_with_processes(fake):
    fake.add('tcp', ('0.0.0.0', 22), state='0A', inode=1)
    fake.add('tcp', ('127.0.0.1', 40100), state='0A', inode=2)
    fake.process(700, 'sshd', [1])
    report = gather(fake, processes=True)
    assert report['listeners'] == [
        {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 22, 'scope': 'any', 'pid': 700, 'process': 'sshd'},
        {'proto': 'tcp', 'family': 'ipv4', 'address': '127.0.0.1', 'port': 40100, 'scope': 'loopback', 'pid': None,
         'process': None},
    ]


# ---------------------------------------------------------------- conflicts

def test_listener_in_range_unreserved_is_a_conflict_with_remedy(fake):
    fake.sysctl['ip_local_reserved_ports'] = '40200'
    fake.add('tcp', ('0.0.0.0', 40100), state='0A', inode=1)   # in range, unreserved: conflict
    fake.add('tcp6', ('::', 40100), state='0A', inode=2)       # same port over IPv6: same conflict
    fake.add('tcp', ('0.0.0.0', 40200), state='0A', inode=3)   # in range, reserved: fine
    fake.add('tcp', ('0.0.0.0', 39999), state='0A', inode=4)   # just below the range: fine
    fake.add('tcp', ('0.0.0.0', 41000), state='0A', inode=5)   # just above the range: fine
    fake.process(900, 'metrics', [1, 2])
    report = gather(fake, processes=True)
    conflicts = report['conflicts']
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict['type'] == 'listener_in_range'
    assert (conflict['proto'], conflict['port'], conflict['addresses']) == ('tcp', 40100, ['0.0.0.0', '::'])
    assert conflict['processes'] == ['metrics']
    assert conflict['reserve'] == [40100]
    # largest part of 40000-40999 without 40100 is 40101-40999; its ends share parity, so one port less
    assert conflict['suggested_range'] == {'start': 40101, 'end': 40998, 'size': 898}
    assert 'portwarden.ports.reserved_ports with ports: [40100] (state: present)' in conflict['remedy']
    assert 'portwarden.ports.ephemeral_range with start: 40101 and end: 40998 (898 ports instead of 1000)' in conflict['remedy']
    assert 'TCP port 40100 (metrics) is listened on inside the ephemeral range 40000-40999' in conflict['msg']


def test_udp_listener_in_range_is_a_conflict(fake):
    fake.add('udp', ('0.0.0.0', 40500), state='07', inode=1)
    fake.add('udp', ('10.0.0.1', 40600), ('10.0.0.2', 53), '01', inode=2)  # connected: not a listener
    report = gather(fake)
    assert [(c['type'], c['proto'], c['port']) for c in report['conflicts']] == [('listener_in_range', 'udp', 40500)]


def test_suggest_range():
    erange = PortRange(40000, 40999)
    assert portset.suggest_range(erange, PortSet.parse('40100')) == PortRange(40101, 40998)
    assert portset.suggest_range(erange, PortSet.parse('40600')) == PortRange(40000, 40599)  # already different parity
    assert portset.suggest_range(erange, PortSet.parse('40000-40999')) is None
    assert portset.suggest_range(erange, PortSet.parse('40000-40997')) == PortRange(40998, 40999)


def test_services_drift(fake):
    fake.add('tcp', ('0.0.0.0', 22), state='0A', inode=1)         # declared, listening, outside the range
    fake.add('tcp', ('0.0.0.0', 40100), state='0A', inode=2)      # declared, listening, in the range unreserved
    fake.add('tcp', ('192.0.2.10', 631), state='0A', inode=3)     # not declared
    fake.add('tcp', ('127.0.0.53', 53), state='0A', inode=5)      # not declared, loopback only: not drift
    fake.add('udp', ('0.0.0.0', 22), state='07', inode=4)         # udp 22 not declared (ssh is tcp)
    services = [
        {'name': 'ssh', 'port': 22, 'proto': 'tcp'},
        {'name': 'metrics', 'port': 40100},
        {'name': 'nodeports', 'port': '40900-41100', 'proto': 'tcp'},  # partly in range, nothing listens, a range: none expected
        {'name': 'dns', 'port': 53, 'proto': 'udp'},
    ]
    report = gather(fake, services=services)
    kinds = [(c['type'], c.get('service'), c['proto'], c['port']) for c in report['conflicts']]
    assert kinds == [
        ('listener_in_range', None, 'tcp', 40100),
        ('service_in_range', 'metrics', 'tcp', '40100'),
        ('service_in_range', 'nodeports', 'tcp', '40900-41100'),
        ('service_not_listening', 'dns', 'udp', '53'),
        ('listener_not_declared', None, 'udp', 22),
        ('listener_not_declared', None, 'tcp', 631),
    ]
    nodeports = by_type(report, 'service_in_range')[1]
    assert nodeports['ports'] == '40900-40999'
    assert nodeports['reserve'] == ['40900-40999']
    # one suggestion that avoids every conflicting port: 40101-40899, ends of different parity -> 40101-40898
    assert nodeports['suggested_range'] == {'start': 40101, 'end': 40898, 'size': 798}
    assert 'reserved_ports with ports: ["40900-40999"]' in nodeports['remedy']
    assert by_type(report, 'listener_not_declared')[1]['addresses'] == ['192.0.2.10']


def test_services_reserved_in_range_is_fine(fake):
    fake.sysctl['ip_local_reserved_ports'] = '40100'
    fake.add('tcp', ('0.0.0.0', 40100), state='0A', inode=1)
    report = gather(fake, services=[{'name': 'metrics', 'port': 40100, 'proto': 'tcp'}])
    assert report['conflicts'] == []


def test_empty_catalogue_means_every_listener_is_undeclared(fake):
    fake.add('tcp', ('0.0.0.0', 22), state='0A', inode=1)
    assert [c['type'] for c in gather(fake, services=[])['conflicts']] == ['listener_not_declared']
    assert gather(fake)['conflicts'] == []


@pytest.mark.parametrize('services,message', [
    ([{'name': 'ssh', 'port': 70000}], r'service #0 \(ssh\): field port: Invalid port 70000'),
    ([{'name': 'ssh', 'port': 22, 'proto': 'sctp'}], "invalid proto 'sctp'"),
    ([{'name': 'ssh', 'port': 22, 'colour': 'red'}], 'unknown field'),
])
def test_invalid_services(fake, services, message):
    with pytest.raises(PortwardenError, match=message):
        gather(fake, services=services)


@pytest.mark.parametrize('top', [-1, True, '3'])
def test_invalid_top(fake, top):
    with pytest.raises(PortwardenError, match='Invalid top'):
        gather(fake, top=top)


def test_not_linux(fake):
    with pytest.raises(PortwardenError, match='port_info reads Linux procfs and does not support Darwin'):
        portinfo.gather(proc=fake.write(), system='Darwin')


# ---------------------------------------------------------------- usage

def client_sockets(fake):
    """A client with 300 + 120 + 5 connections to three destinations, plus noise that must not count."""
    port = 40000
    for state, count in (('01', 250), ('06', 50)):
        for _count in range(count):
            fake.add('tcp', ('10.0.0.1', port), ('10.0.0.50', 5432), state)
            port += 1
    for _count in range(100):
        fake.add('tcp6', ('::ffff:10.0.0.1', port), ('::ffff:10.0.0.60', 6379), '01')  # v4-mapped: same as v4
        port += 1
    for _count in range(20):
        fake.add('tcp', ('10.0.0.1', port), ('10.0.0.60', 6379), '06')
        port += 1
    for _count in range(5):
        fake.add('tcp6', ('2001:db8::1', port), ('2001:db8::9', 443), '02')
        port += 1
    fake.add('tcp', ('10.0.0.1', port), ('0.0.0.0', 0), '07')  # bound, not connected: holds a port, no destination
    # a listener inside the range and two connections it accepted: they use its port, not the pool
    fake.add('tcp', ('0.0.0.0', 40900), state='0A', inode=1)
    fake.add('tcp', ('10.0.0.1', 40900), ('10.0.0.77', 50001), '01')
    fake.add('tcp', ('10.0.0.1', 40900), ('10.0.0.78', 50002), '01')
    # outside the range: not counted
    fake.add('tcp', ('10.0.0.1', 22), ('10.0.0.99', 51000), '01')
    fake.add('tcp', ('10.0.0.1', 39999), ('10.0.0.50', 5432), '01')
    # UDP in the range
    fake.add('udp', ('10.0.0.1', 40950), ('10.0.0.53', 53), '01')
    return port


def test_usage_counts_and_busiest(fake):
    fake.sysctl['ip_local_reserved_ports'] = '40990-40999'
    client_sockets(fake)
    report = gather(fake, top=2)
    usage = report['usage']
    assert usage['tcp_states'] == {'ESTABLISHED': 350, 'TIME_WAIT': 70, 'SYN_SENT': 5, 'CLOSE': 1}
    assert usage['tcp_sockets'] == 426
    assert usage['time_wait'] == 70
    assert usage['udp_sockets'] == 1
    assert usage['inbound_excluded'] == 2
    assert usage['sockets_total'] == 432
    assert (usage['range_size'], usage['reserved_in_range'], usage['usable_ports']) == (1000, 10, 990)
    # 426 TCP ports + the listener's port + one UDP port
    assert usage['ports_in_use'] == 428
    assert usage['utilization_percent'] == round(100.0 * 428 / 990, 2)
    assert usage['time_wait_seconds'] == 60
    assert usage['sustainable_rate'] == 16.5
    assert usage['destinations'] == 3
    assert usage['busiest'] == [
        {'address': '10.0.0.50', 'port': 5432, 'family': 'ipv4', 'ports_in_use': 300,
         'states': {'ESTABLISHED': 250, 'TIME_WAIT': 50}, 'time_wait': 50,
         'utilization_percent': 30.3, 'sustainable_rate': 16.5, 'recent_rate': 0.83, 'headroom_rate': 11.5},
        {'address': '10.0.0.60', 'port': 6379, 'family': 'ipv4', 'ports_in_use': 120,
         'states': {'ESTABLISHED': 100, 'TIME_WAIT': 20}, 'time_wait': 20,
         'utilization_percent': 12.12, 'sustainable_rate': 16.5, 'recent_rate': 0.33, 'headroom_rate': 14.5},
    ]


def test_usage_top_zero_and_default(fake):
    client_sockets(fake)
    assert gather(fake, top=0)['usage']['busiest'] == []
    assert [b['port'] for b in gather(fake)['usage']['busiest']] == [5432, 6379, 443]


def test_the_host_sends_the_busiest_destinations_only_and_the_report_is_the_same(fake):
    """The host cuts the destinations at ``top`` (portread.count) in the summary's order; the report built of
    that on the controller is what report.usage_summary gives with every destination (ties by family, address,
    port), and ``destinations`` still counts them all."""
    port = 40000
    for index, count in enumerate((3, 5, 3, 3, 1, 5)):
        for _count in range(count):
            fake.add('tcp', ('10.0.0.1', port), ('10.0.1.%d' % (9 - index), 443), '01')
            port += 1
    proc = fake.write()
    erange, reserved, unprivileged, counted = portread.read_tables(proc)
    scan = procnet.scan_tables(erange.start, erange.end, root=proc)
    every = portread.count(scan, erange, reserved, top=1000)
    assert every['destinations_total'] == len(every['destinations']) == 6
    assert counted.usage == portread.count(scan, erange, reserved, top=None) == every   # the reader keeps them all
    for top in (0, 1, 2, 3, 4, 6):
        counts = portread.count(scan, erange, reserved, top=top)
        assert counts['destinations'] == every['destinations'][:top] and counts['destinations_total'] == 6
        assert counted.usage_top(top) == counts
        usage = linux_report.complete(portgather.gathered(erange, unprivileged, reserved, counted, top=top))['usage']
        assert usage == linux_report.complete(portgather.gathered(
            erange, unprivileged, reserved, portread.Counted.of(scan, erange, reserved), top=top))['usage']
        expected = usage_summary(
            erange, erange.size, every['sockets_total'], every['tcp_states'], every['time_wait'], every['udp_sockets'],
            every['inbound'], every['ports_in_use'], dict((tuple(d[:3]), d[3]) for d in every['destinations']),
            linux_report.TIME_WAIT_SECONDS, top=top)
        assert usage == dict(expected, conntrack=None) and usage['destinations'] == 6
        assert [(b['address'], b['ports_in_use']) for b in usage['busiest']] == [
            ('10.0.1.4', 5), ('10.0.1.8', 5), ('10.0.1.6', 3), ('10.0.1.7', 3), ('10.0.1.9', 3), ('10.0.1.5', 1)][:top]


def test_usage_headroom_never_negative():
    erange = PortRange(40000, 40009)
    scan = portgather.procnet.Scan()
    scan.tcp_in_range = [(40000 + i % 10, b'01', b'0A00000A:1538') for i in range(25)]  # two local addresses' worth
    usage = linux_report.complete(portgather.gathered(erange, 1024, PortSet(), portread.Counted.of(scan, erange, PortSet())))['usage']
    assert usage['busiest'][0]['ports_in_use'] == 25
    assert usage['busiest'][0]['headroom_rate'] == 0.0
    assert usage['busiest'][0]['utilization_percent'] == 250.0


def test_reserved_ports_are_not_in_use(fake):
    fake.sysctl['ip_local_reserved_ports'] = '40000-40009'
    for i in range(20):
        fake.add('tcp', ('10.0.0.1', 40000 + i), ('10.0.0.2', 80), '01')
    usage = gather(fake)['usage']
    assert (usage['usable_ports'], usage['ports_in_use']) == (990, 10)
