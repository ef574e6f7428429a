# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sockdiag.py: the netlink sock_diag reader, on replies recorded from the real kernel.

tests/fixtures/sockdiag/ holds, for one set of sockets, the kernel's binary
replies to every request sockdiag sends and the /proc/net tables read at the
same moment. Replayed through a stand-in socket, the netlink reader must find
exactly what procnet's /proc reader finds in the recorded tables; its
column-wise and record-wise walks must agree; and every refusal must leave
procnet on /proc. The same code runs on the live kernel in
tests/integration/test_port_info.py.

Record the fixtures again (root; a throwaway network namespace is made):
``python tests/unit/plugins/module_utils/test_sockdiag.py --record tests/fixtures/sockdiag``
"""

from __future__ import annotations

import errno
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import linux_report, portgather, portread, procnet, sockdiag, sockreq
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', '..', '..', 'fixtures', 'sockdiag')
RANGE = (40000, 40999)
TABLES = ('tcp', 'tcp6', 'udp', 'udp6')
IN_RANGE = sockdiag.port_filter(*RANGE)
# name of each recorded reply -> the request it answers
REQUESTS = {
    'tcp_both': sockdiag.request_tcp_both(),
    'tcp4': sockdiag.request_v2(sockdiag.AF_INET, socket.IPPROTO_TCP),
    'tcp6': sockdiag.request_v2(sockdiag.AF_INET6, socket.IPPROTO_TCP),
    'udp4': sockdiag.request_v2(sockdiag.AF_INET, socket.IPPROTO_UDP),
    'udp6': sockdiag.request_v2(sockdiag.AF_INET6, socket.IPPROTO_UDP),
    # with the kernel's counters (sockstat): the listeners, then the other TCP sockets whose port is in the range
    'tcp_listen': sockdiag.request_tcp_both(states=sockdiag.LISTENING),
    'tcp_range': sockdiag.request_tcp_both(states=sockdiag.NOT_LISTENING, attributes=IN_RANGE),
    'tcp4_listen': sockdiag.request_v2(sockdiag.AF_INET, socket.IPPROTO_TCP, states=sockdiag.LISTENING),
    'tcp6_listen': sockdiag.request_v2(sockdiag.AF_INET6, socket.IPPROTO_TCP, states=sockdiag.LISTENING),
    'tcp4_range': sockdiag.request_v2(sockdiag.AF_INET, socket.IPPROTO_TCP, states=sockdiag.NOT_LISTENING,
                                      attributes=IN_RANGE),
    'tcp6_range': sockdiag.request_v2(sockdiag.AF_INET6, socket.IPPROTO_TCP, states=sockdiag.NOT_LISTENING,
                                      attributes=IN_RANGE),
}
SOCKSTAT = ('sockstat', 'sockstat6')   # the kernel's counters, recorded with the replies


# ---------------------------------------------------------------- recorded replies

def read_chunks(path):
    """A recorded reply: each chunk as ``recv`` returned it, stored with a 4-byte big-endian length before it."""
    with open(path, 'rb') as handle:
        data = handle.read()
    chunks, offset = [], 0
    while offset < len(data):
        size = struct.unpack_from('>I', data, offset)[0]
        chunks.append(data[offset + 4:offset + 4 + size])
        offset += 4 + size
    return chunks


def load_fixtures():
    if not all(os.path.exists(os.path.join(FIXTURES, name + ".chunks")) for name in REQUESTS):   # only while recording
        return {'byteorder': None}, {}
    with open(os.path.join(FIXTURES, 'manifest.json')) as handle:
        manifest = json.load(handle)
    replies = dict((name, read_chunks(os.path.join(FIXTURES, name + '.chunks'))) for name in REQUESTS)
    return manifest, replies


MANIFEST, REPLIES = load_fixtures()
needs_byteorder = pytest.mark.skipif(sys.byteorder != MANIFEST['byteorder'],
                                     reason='the replies are in the recording kernel\'s byte order')


class ReplaySocket(object):
    """Stands in for the netlink socket: answers each request with its recorded reply, chunk by chunk."""

    def __init__(self, replies, override=None):
        self.replies = replies
        self.override = override or {}
        self.pending = []
        self.sent = []
        self.closed = False

    def send(self, request):
        name = [key for key, value in REQUESTS.items() if value == request]
        assert len(name) == 1, 'unexpected request %r' % (request,)
        self.sent.append(name[0])
        self.pending = list(self.override.get(name[0], self.replies[name[0]]))
        return len(request)

    def recv(self, size):
        assert size >= 32768, 'a buffer under 32 KiB makes the kernel send smaller chunks'
        return self.pending.pop(0)

    def close(self):
        self.closed = True


@pytest.fixture
def replay(monkeypatch, tmp_path):
    """Patch sockdiag.open_socket to return a ReplaySocket, and the kernel's counters to the recorded ones
    (``counters=False``: none, so every TCP socket is dumped); returns a function to configure it."""
    made = []

    def configure(override=None, replies=None, counters=True):
        def opener():
            sock = ReplaySocket(replies or REPLIES, override)
            made.append(sock)
            return sock
        monkeypatch.setattr(sockdiag, 'open_socket', opener)
        monkeypatch.setattr(sockdiag, 'PROC_NET', FIXTURES if counters else str(tmp_path / 'no-counters'))
        return made
    return configure


@pytest.fixture
def recorded_proc(tmp_path):
    """A /proc tree holding the /proc/net tables recorded with the replies."""
    net = tmp_path / 'proc' / 'net'
    net.mkdir(parents=True)
    for name in TABLES:
        with open(os.path.join(FIXTURES, 'proc_net_' + name), 'rb') as src:
            (net / name).write_bytes(src.read())
    return str(tmp_path / 'proc')


def comparable(scan):
    """What the report uses of a Scan, with the opaque remote fields decoded: the TCP sockets in the range as
    :func:`tcp_view` sees them, from procnet's tuples or sockdiag's tally alike."""
    return {
        'sockets': scan.sockets,
        'listeners': sorted((item.proto, item.family, item.address, item.port, item.inode) for item in scan.listeners),
        'tcp': tcp_view(scan),
        'udp_in_range': sorted(scan.udp_in_range),
    }


def tcp_view(scan):
    """The TCP sockets in the range as portread.count takes them, from procnet's tuples and sockdiag's tally alike."""
    listening = set(item.port for item in scan.listeners if item.proto == 'tcp')
    view = tuples_view(scan.tcp_in_range, listening)
    if scan.tally is not None:
        assert scan.tally.held == frozenset(listening)
        found = tally_view(scan.tally)
        view['ports'] = sorted(set(view['ports']) | set(found['ports']))
        view['inbound'] += found['inbound']
        for key, number in found['pairs'].items():
            view['pairs'][key] = view['pairs'].get(key, 0) + number
    return view


def tuples_view(in_range, held):
    """walk_tcp's tuples as portread.count reads them: the local ports, the sockets on a port of ``held`` (a TCP
    listener's: accepted by it, inbound), and the others per (state, decoded remote)."""
    ports, inbound, pairs = set(), 0, {}
    for port, state, remote in in_range:
        if port in held:
            inbound += 1
            continue
        ports.add(port)
        key = (state, procnet.decode_endpoint(remote, sockdiag))
        pairs[key] = pairs.get(key, 0) + 1
    return {'ports': sorted(ports), 'inbound': inbound, 'pairs': pairs}


def tally_view(tally):
    """A sockdiag.Tally as :func:`tuples_view` says it."""
    pairs = {}
    for key, number in tally.pairs.items():
        state, endpoint = sockdiag.decode_pair(key)
        key = (sockdiag.STATE_HEX[state], endpoint)
        pairs[key] = pairs.get(key, 0) + number
    return {'ports': sorted(tally.ports), 'inbound': tally.inbound, 'pairs': pairs}


def decoded(scan):
    """procnet's tuples of a Scan, the remotes decoded."""
    return sorted((port, state, procnet.decode_endpoint(remote, sockdiag)) for port, state, remote in scan.tcp_in_range)


def error_reply(code, kind=sockdiag.NLMSG_ERROR):
    """An NLMSG_ERROR (or NLMSG_DONE) message carrying ``-code``, as the kernel sends it."""
    return struct.pack('=IHHIIi', 20, kind, 0, 1, 0, -code)


# ---------------------------------------------------------------- the recorded sockets, both ways

@needs_byteorder
@pytest.mark.parametrize('counters', [True, False], ids=['ranged', 'every-socket'])
def test_netlink_and_proc_read_the_same_sockets(replay, recorded_proc, counters):
    """With the kernel's counters, the TCP sockets outside the range never leave the kernel; without them
    (sockstat unreadable), every TCP socket is dumped and counted. The same sockets either way."""
    made = replay(counters=counters)
    netlink = procnet.scan_tables(RANGE[0], RANGE[1], source='netlink', netlink=sockdiag)
    proc = procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, source='proc')
    assert (netlink.source, proc.source) == ('netlink', 'proc')
    assert comparable(netlink) == comparable(proc)
    assert made[0].sent == (['tcp_listen', 'tcp_range'] if counters else ['tcp_both']) + ['udp4', 'udp6'] and made[0].closed
    # and the report built from either is the same
    erange, reserved = PortRange(*RANGE), PortSet.parse('40200')
    assert linux_report.complete(portgather.gathered(erange, 1024, reserved, portread.Counted.of(netlink, erange, reserved))) == \
        linux_report.complete(portgather.gathered(erange, 1024, reserved, portread.Counted.of(proc, erange, reserved)))


@needs_byteorder
def test_recorded_sockets_are_the_ones_made(replay):
    """The recording helper's sockets, as the manifest lists them, are what the parser finds."""
    replay(counters=False)
    scan = procnet.scan_tables(RANGE[0], RANGE[1], source='netlink', netlink=sockdiag)
    got = comparable(scan)
    # IPv4: 2 listeners, both ends of N_V4 + 1 connections, 10 TIME_WAIT; IPv6 (mapped ones too): 2 + both ends
    assert scan.totals == {'tcp': 2 + 2 * (N_V4 + 1) + 10, 'tcp6': 2 + 2 * (N_V6 + N_MAPPED), 'udp': 2, 'udp6': 1}
    # the kernel's counters say the same: sockets in use of each family, TIME_WAIT apart
    replay()
    assert procnet.scan_tables(RANGE[0], RANGE[1], source='netlink', netlink=sockdiag).totals == {
        'tcp': 2 + 2 * (N_V4 + 1), 'tcp6': 2 + 2 * (N_V6 + N_MAPPED), 'time_wait': 10, 'udp': 2, 'udp6': 1}
    assert [item[:4] for item in got['listeners']] == [
        ('tcp', 'ipv4', '0.0.0.0', 40100), ('tcp', 'ipv4', '127.0.0.1', 8080), ('tcp', 'ipv6', '::', 8443),
        ('tcp', 'ipv6', '::1', 9000), ('udp', 'ipv4', '0.0.0.0', 5353), ('udp', 'ipv6', '::', 40300)]
    states = {}
    assert scan.tally is None   # every socket dumped: procnet's tuples
    for port, state, remote in decoded(scan):
        key = '%s %s:%d %s' % (remote[0], remote[1], remote[2], procnet.TCP_STATES[state])
        states[key] = states.get(key, 0) + 1
        assert RANGE[0] <= port <= RANGE[1]
    inbound = [key for key in states if key.startswith('ipv4 127.0.0.1:') and key.split()[1].split(':')[1] not in ('8080', '8443', '40100')]
    assert len(inbound) == 1 and states[inbound[0]] == 1   # the accepted end of the connection to 40100
    del states[inbound[0]]
    assert states == {'ipv4 127.0.0.1:8080 ESTABLISHED': N_V4, 'ipv4 127.0.0.1:8080 TIME_WAIT': 10,
                      'ipv6 ::1:8443 ESTABLISHED': N_V6, 'ipv4 127.0.0.1:8443 ESTABLISHED': N_MAPPED,
                      'ipv4 127.0.0.1:40100 ESTABLISHED': 1}
    assert states == dict((k, v) for k, v in MANIFEST['tcp_in_range'].items() if k != inbound[0])
    assert 40300 in got['udp_in_range'] and len(got['udp_in_range']) == 2   # the listener and the connected one
    # the multi-chunk reply really has a full 32 KiB chunk, a mixed chunk (TIME_WAIT records are shorter) and DONE
    chunks = REPLIES['tcp_both']
    assert len(chunks) >= 3 and max(len(chunk) for chunk in chunks) > 16384
    assert any(sockdiag.uniform(chunk, sockreq.TCPDIAG_GETSOCK)[0] for chunk in chunks)
    assert any(not sockdiag.uniform(chunk, sockreq.TCPDIAG_GETSOCK)[0] and len(chunk) > 1000 for chunk in chunks)


@needs_byteorder
@pytest.mark.parametrize('name', sorted(REQUESTS))
def test_columns_and_records_agree(name, monkeypatch):
    """The column-wise walk of uniform chunks finds what the record-by-record walk finds."""
    walk = sockdiag.walk_udp if name.startswith('udp') else sockdiag.walk_tcp
    kind = REQUESTS[name][4 if sys.byteorder == 'little' else 5]
    results = []
    for columns in (True, False):
        if not columns:
            monkeypatch.setattr(sockdiag, 'uniform', lambda data, kind: (0, 0))
        window = sockdiag.Window(*RANGE)
        in_range, listeners, counts = [], [], []
        for chunk in REPLIES[name]:
            found = walk(chunk, kind, window, in_range, listeners)
            counts.append(found[1:])
        results.append((sorted(in_range), sorted((id(d), o) for d, o in listeners), counts))
    assert results[0] == results[1]
    assert results[0][0] or name in ('udp6', 'tcp4_listen', 'tcp6_listen', 'tcp_listen', 'tcp6_range')
    if name.endswith('_listen'):
        assert results[0][1] and not results[0][0]        # listeners only
    if name.endswith('_range'):
        assert not results[0][1]                          # no listener, every socket in the range
        window = sockdiag.Window(*RANGE)
        for chunk in REPLIES[name]:
            for record in records_of([chunk], kind):
                assert window.lo <= record[20:22] <= window.hi


def records_of(chunks, kind):
    """Every socket record of a recorded reply, as bytes."""
    found = []
    for chunk in chunks:
        offset = 0
        while offset + 16 <= len(chunk) and chunk[offset + (4 if sys.byteorder == 'little' else 5)] == kind:
            length = struct.unpack_from('=I', chunk, offset)[0]
            found.append(chunk[offset:offset + length])
            offset += length
    return found


def records_by_length(name, kind):
    """The records of a recorded reply by their length, and the most common length."""
    by_length = {}
    for record in records_of(REPLIES[name], kind):
        by_length.setdefault(len(record), []).append(record)
    return by_length, max(by_length, key=lambda length: len(by_length[length]))


@needs_byteorder
@pytest.mark.parametrize('seed', range(6))
def test_columns_and_records_agree_on_rebuilt_chunks(seed, monkeypatch):
    """Chunks rebuilt from recorded records: uniform runs holding listeners of both families, TIME_WAIT
    runs, a uniform run followed by shorter records, and NLMSG_DONE at the end."""
    rng = random.Random(seed)
    kind = sockreq.TCPDIAG_GETSOCK
    by_length, common = records_by_length('tcp_both', kind)
    run = by_length[common]
    assert any(record[17] == sockdiag.ST_LISTEN for record in run)     # a listener the columns must set aside
    assert set(record[16] for record in run) == {sockdiag.AF_INET, sockdiag.AF_INET6}
    rng.shuffle(run)
    run.sort(key=lambda record: record[17] != sockdiag.ST_LISTEN)   # the listeners first: always in the chunk
    rng.shuffle(run[:4])
    short = [record for length, found in by_length.items() if length < common for record in found]
    tail = short[:1] if seed % 2 else short[:rng.randint(2, len(short))]   # odd: still uniform; even: mixed
    chunk = b''.join(run[:rng.randint(8, len(run))]) + b''.join(tail) + struct.pack('=IHHIIi', 20, sockdiag.NLMSG_DONE, 2, 1, 0, 0)
    assert bool(sockdiag.uniform(chunk, kind)[0]) == bool(seed % 2)
    windows = [(1, 65535), (1, 65535), (8080, 8443), (8080, 8443)]   # the listeners' ports inside the window
    window = sockdiag.Window(*(windows[seed] if seed < len(windows) else sorted((rng.randint(30000, 50000), rng.randint(30000, 50000)))))
    results = []
    for columns in (True, False):
        if not columns:
            monkeypatch.setattr(sockdiag, 'uniform', lambda data, kind: (0, 0))
        in_range, listeners = [], []
        stop, ipv4, ipv6 = sockdiag.walk_tcp(chunk, kind, window, in_range, listeners)
        assert stop == len(chunk) - 20 and sockdiag.end_of_dump(chunk, stop)
        results.append((sorted(in_range), sorted(offset for _data, offset in listeners), ipv4, ipv6))
    assert results[0] == results[1]


def tally_of(chunks, kind, window, held, columns, monkeypatch):
    """walk_tally over ``chunks``: by columns where a chunk is uniform, or (``columns`` False) record by record."""
    with monkeypatch.context() as patch:
        if not columns:
            patch.setattr(sockdiag, 'uniform', lambda data, kind: (0, 0))
        tally = sockdiag.Tally(held)
        counts = [sockdiag.walk_tally(chunk, kind, window, tally) for chunk in chunks]
    return tally, counts


@needs_byteorder
@pytest.mark.parametrize('name', ['tcp_range', 'tcp4_range', 'tcp6_range', 'tcp_both'])
@pytest.mark.parametrize('held', [(), (40100,), (40100, 8080, 8443)], ids=['none-held', 'listener', 'three'])
def test_tally_columns_records_and_tuples_agree(name, held, monkeypatch):
    """walk_tally counts what walk_tcp's tuples say, by columns and record by record, with and without the
    sockets a listener in the range accepted (``held``); the IPv4 keys (ints) and IPv6 keys (bytes) decode to
    the endpoints the tuples name."""
    kind = REQUESTS[name][4 if sys.byteorder == 'little' else 5]
    window = sockdiag.Window(*RANGE)
    in_range = []
    counts = [sockdiag.walk_tcp(chunk, kind, window, in_range, [])[:1] for chunk in REPLIES[name]]
    expected = tuples_view(in_range, held)
    for columns in (True, False):
        tally, found = tally_of(REPLIES[name], kind, window, held, columns, monkeypatch)
        assert [item[:1] for item in found] == counts   # stops where walk_tcp stops
        assert tally_view(tally) == expected
    assert sum(tally.pairs.values()) + tally.inbound == len(in_range) > 0
    if 40100 in held and name != 'tcp6_range':
        assert tally.inbound == 1                       # the accepted end of the connection to the listener on 40100
    if name == 'tcp_range':
        assert set(type(key) for key in tally.pairs) == {int, bytes}   # both families


@needs_byteorder
@pytest.mark.parametrize('seed', range(6))
def test_tally_on_rebuilt_chunks(seed, monkeypatch):
    """Uniform and mixed chunks rebuilt from recorded records (listeners, which the walk leaves out, TIME_WAIT
    records, NLMSG_DONE at the end), random windows and random held ports: columns, records and tuples agree."""
    rng = random.Random(seed)
    kind = sockreq.TCPDIAG_GETSOCK
    by_length, common = records_by_length('tcp_both', kind)
    run = list(by_length[common])
    rng.shuffle(run)
    short = [record for length, found in by_length.items() if length < common for record in found]
    tail = short[:1] if seed % 2 else short[:rng.randint(2, len(short))]
    chunk = b''.join(run[:rng.randint(8, len(run))]) + b''.join(tail) + struct.pack('=IHHIIi', 20, sockdiag.NLMSG_DONE, 2, 1, 0, 0)
    window = sockdiag.Window(*((1, 65535) if seed < 2 else sorted((rng.randint(30000, 50000), rng.randint(30000, 50000)))))
    in_range = []
    stop = sockdiag.walk_tcp(chunk, kind, window, in_range, [])
    ports = sorted(set(port for port, _state, _remote in in_range))
    held = rng.sample(ports, min(len(ports), rng.randint(0, 3)))
    expected = tuples_view(in_range, held)
    for columns in (True, False):
        tally, found = tally_of([chunk], kind, window, held, columns, monkeypatch)
        assert found == [stop]
        assert tally_view(tally) == expected


def test_pair_keys_decode():
    """One record of each family: its key names its state and remote endpoint; IPv4-mapped IPv6 reads as IPv4."""
    def record(family, state, dport, dst):
        return bytes(16) + bytes((family, state)) + bytes(2) + b'\x9c\x40' + struct.pack('>H', dport) + bytes(16) + dst + bytes(48)
    v4 = record(sockdiag.AF_INET, 1, 5432, bytes((10, 0, 0, 7)) + bytes(12))
    v6 = record(sockdiag.AF_INET6, 6, 443, bytes(15) + b'\x01')
    mapped = record(sockdiag.AF_INET6, 1, 80, bytes(10) + b'\xff\xff' + bytes((192, 0, 2, 1)))
    assert sockdiag.decode_pair(sockdiag.pair_key(v4, 0)) == (1, ('ipv4', '10.0.0.7', 5432))
    assert isinstance(sockdiag.pair_key(v4, 0), int) and isinstance(sockdiag.pair_key(v6, 0), bytes)
    assert sockdiag.decode_pair(sockdiag.pair_key(v6, 0)) == (6, ('ipv6', '::1', 443))
    assert sockdiag.decode_pair(sockdiag.pair_key(mapped, 0)) == (1, ('ipv4', '192.0.2.1', 80))


@needs_byteorder
def test_columns_and_records_agree_on_udp(monkeypatch):
    kind = sockreq.SOCK_DIAG_BY_FAMILY
    records = records_of(REPLIES['udp4'], kind)
    connected = [record for record in records if record[22:24] != b'\0\0']
    assert len(connected) == 1
    # unconnected state with a remote port whose high byte is 0: not a listener
    records.append(connected[0][:17] + bytes((sockdiag.ST_CLOSE,)) + connected[0][18:22] + struct.pack('>H', 53) + connected[0][24:])
    chunk = b''.join(records * 5) + struct.pack('=IHHIIi', 20, sockdiag.NLMSG_DONE, 2, 1, 0, 0)
    assert sockdiag.uniform(chunk, kind)[0] == 15
    results = []
    for columns in (True, False):
        if not columns:
            monkeypatch.setattr(sockdiag, 'uniform', lambda data, kind: (0, 0))
        in_range, listeners = [], []
        found = sockdiag.walk_udp(chunk, kind, sockdiag.Window(*RANGE), in_range, listeners)
        results.append((found, sorted(in_range), sorted(offset for _data, offset in listeners)))
    assert results[0] == results[1]
    assert len(results[0][1]) == 10 and len(results[0][2]) == 5   # the connected sockets' ports; the listener


@needs_byteorder
@pytest.mark.parametrize('counters', [True, False], ids=['ranged', 'every-socket'])
def test_old_kernel_without_the_v1_request(replay, recorded_proc, counters):
    """A kernel that refuses TCPDIAG_GETSOCK gets one SOCK_DIAG_BY_FAMILY dump per family: same result."""
    refused = [error_reply(errno.EOPNOTSUPP)]
    made = replay(override={'tcp_both': refused, 'tcp_listen': refused, 'tcp_range': refused}, counters=counters)
    scan = procnet.scan_tables(RANGE[0], RANGE[1], source='netlink', netlink=sockdiag)
    if counters:
        assert made[0].sent == ['tcp_listen', 'tcp4_listen', 'tcp6_listen', 'tcp_range', 'tcp4_range', 'tcp6_range',
                                'udp4', 'udp6']
    else:
        assert made[0].sent == ['tcp_both', 'tcp4', 'tcp6', 'udp4', 'udp6']
    assert comparable(scan) == comparable(procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, source='proc'))


@needs_byteorder
def test_kernel_without_ipv6(replay, recorded_proc):
    """No AF_INET6 handler (a kernel built without IPv6): its requests get ENOENT; IPv4 is still read over
    netlink, and the result is what /proc gives without the tcp6 and udp6 tables."""
    made = replay(override={'tcp_both': [error_reply(errno.EINVAL)], 'tcp6': [error_reply(errno.ENOENT)],
                            'udp6': [error_reply(errno.ENOENT)]}, counters=False)
    scan = procnet.scan_tables(RANGE[0], RANGE[1], source='netlink', netlink=sockdiag)
    assert made[0].sent == ['tcp_both', 'tcp4', 'tcp6', 'udp4', 'udp6']
    assert scan.source == 'netlink' and scan.tables == ['tcp', 'udp']
    for name in ('tcp6', 'udp6'):
        os.remove(os.path.join(recorded_proc, 'net', name))
    proc = procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, source='proc')
    assert proc.tables == ['tcp', 'udp']
    assert comparable(scan) == comparable(proc)


# ---------------------------------------------------------------- falling back to /proc

@needs_byteorder
@pytest.mark.parametrize('override', [
    lambda: {'udp4': [error_reply(errno.ENOENT)]},                         # no udp_diag module
    lambda: {'tcp_both': [error_reply(errno.EPERM)]},                      # an LSM refusing the dump
    lambda: {'udp6': [error_reply(errno.ENOMEM, sockdiag.NLMSG_DONE)]},    # a dump that failed half way
    lambda: {'tcp_both': [REPLIES['tcp_both'][1][:1000]]},                 # a record cut short
    lambda: {'udp4': [struct.pack('=IHHII', 16, 99, 0, 1, 0)]},            # a message of another type
    lambda: {'udp6': [error_reply(errno.EPERM)]},                          # IPv6 refused otherwise than ENOENT
    lambda: {'tcp_both': [REPLIES['tcp_both'][0], error_reply(errno.EINVAL)]},   # refused after records
    lambda: {'tcp_listen': [error_reply(errno.EPERM)]},                    # the same with the kernel's counters
    lambda: {'tcp_range': [REPLIES['tcp_range'][0], error_reply(errno.EINVAL)]},
    lambda: {'tcp_range': [REPLIES['tcp_range'][0][:1000]]},
    lambda: {'tcp_range': [error_reply(errno.EINVAL)], 'tcp4_range': [error_reply(errno.EPERM)]},   # a filter refused
], ids=['enoent', 'eperm', 'done-error', 'truncated', 'foreign', 'ipv6-eperm', 'late-einval', 'ranged-eperm',
        'ranged-late-einval', 'ranged-truncated', 'ranged-filter-eperm'])
def test_refusal_falls_back_to_proc(replay, recorded_proc, monkeypatch, override):
    replay(override=override(), counters='tcp_both' not in override())
    monkeypatch.setattr(procnet, 'PROC', recorded_proc)   # the recorded tables stand for the real /proc
    scan = procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, netlink=sockdiag)
    assert scan.source == 'proc'
    assert comparable(scan) == comparable(procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, source='proc'))


@needs_byteorder
def test_corrupt_replies_never_raise(replay, recorded_proc, monkeypatch):
    """Replies cut or with bytes changed anywhere: a Scan from one source or the other, never an exception."""
    rng = random.Random(1818)
    monkeypatch.setattr(procnet, 'PROC', recorded_proc)
    sources = set()
    for _count in range(300):
        name = rng.choice(sorted(REQUESTS))
        chunks = list(REPLIES[name])
        index = rng.randrange(len(chunks))
        chunk = bytearray(chunks[index])
        if rng.random() < 0.3:
            chunk = chunk[:rng.randrange(len(chunk))]
        else:
            for _flip in range(rng.randint(1, 4)):
                chunk[rng.randrange(min(len(chunk), rng.choice([24, 200, len(chunk)])))] = rng.randrange(256)
        chunks[index] = bytes(chunk)
        replay(override={name: chunks}, counters=rng.random() < 0.5)
        sources.add(procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, netlink=sockdiag).source)
    assert sources == {'netlink', 'proc'}


@pytest.mark.parametrize('code', [errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT, errno.EPERM, errno.EACCES])
def test_no_netlink_socket_falls_back_to_proc(monkeypatch, recorded_proc, code):
    def refuse(*_args):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(sockdiag.socket, 'socket', refuse)
    monkeypatch.setattr(procnet, 'PROC', recorded_proc)
    assert procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, netlink=sockdiag).source == 'proc'
    with pytest.raises(PortwardenError, match=r'Cannot read the socket tables over netlink sock_diag \(socket.*%s\)'
                       % errno.errorcode[code]):
        procnet.scan_tables(RANGE[0], RANGE[1], source='netlink', netlink=sockdiag)


def test_python_without_af_netlink(monkeypatch, recorded_proc):
    monkeypatch.delattr(sockdiag.socket, 'AF_NETLINK', raising=False)
    monkeypatch.setattr(procnet, 'PROC', recorded_proc)
    assert procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, netlink=sockdiag).source == 'proc'


def test_another_root_reads_its_tables(replay, recorded_proc):
    """A tree other than the real /proc is a copy of some namespace's tables: never ask the kernel."""
    made = replay()
    assert procnet.scan_tables(RANGE[0], RANGE[1], root=recorded_proc, netlink=sockdiag).source == 'proc'
    assert made == []


def test_invalid_source():
    with pytest.raises(PortwardenError, match="Invalid socket source 'ss': expected one of auto, netlink, proc."):
        procnet.scan_tables(1, 2, source='ss')


# ---------------------------------------------------------------- pieces

def test_window_mask_matches_the_numbers():
    rng = random.Random(18)
    bounds = [(40000, 40999), (32768, 60999), (1, 65535), (40000, 40000), (40000, 40255), (255, 256), (0x1200, 0x12FF)]
    bounds += [tuple(sorted((rng.randint(1, 65535), rng.randint(1, 65535)))) for _count in range(40)]
    for start, end in bounds:
        window = sockdiag.Window(start, end)
        ports = [start - 1, start, start + 1, end - 1, end, end + 1] + [rng.randint(0, 65535) for _count in range(200)]
        ports = [port for port in ports if 0 <= port <= 65535]
        column = b''.join(struct.pack('>H', port) for port in ports)
        mask = window.mask(column[0::2], column[1::2])
        flags = mask.to_bytes(len(ports), 'big')
        assert [bool(flag) for flag in flags] == [start <= port <= end for port in ports], (start, end)
        assert [window.lo <= struct.pack('>H', port) <= window.hi for port in ports] == [start <= port <= end for port in ports]


def test_translate_tables():
    assert [value for value in range(256) if sockdiag.IS_IPV4[value]] == [sockdiag.AF_INET]
    assert [value for value in range(256) if not sockdiag.NOT_LISTEN[value]] == [sockdiag.ST_LISTEN]
    assert [value for value in range(256) if sockdiag.IS_CLOSE[value]] == [sockdiag.ST_CLOSE]
    assert [value for value in range(256) if sockdiag.IS_ZERO[value]] == [0]
    assert sockdiag.STATE_HEX[10] == b'0A' and procnet.TCP_STATES[sockdiag.STATE_HEX[6]] == 'TIME_WAIT'


def test_decode_remote():
    v4 = struct.pack('>H', 443) + socket.inet_aton('10.0.0.1') + bytes(12) + socket.inet_aton('192.0.2.9')
    assert procnet.decode_endpoint(v4, sockdiag) == ('ipv4', '192.0.2.9', 443)
    v6 = struct.pack('>H', 5432) + socket.inet_pton(socket.AF_INET6, '2001:db8::1') \
        + socket.inet_pton(socket.AF_INET6, '2001:db8::2') + struct.pack('=I', 3)
    assert procnet.decode_endpoint(v6, sockdiag) == ('ipv6', '2001:db8::2', 5432)
    mapped = v6[:18] + socket.inet_pton(socket.AF_INET6, '::ffff:127.0.0.1') + v6[34:]
    assert procnet.decode_endpoint(mapped, sockdiag) == ('ipv4', '127.0.0.1', 5432)
    # an IPv6 destination that would look like IPv4 by its zeros keeps its family: the length says it
    zeros = v6[:18] + socket.inet_pton(socket.AF_INET6, '2001:db8::') + v6[34:]
    assert procnet.decode_endpoint(zeros, sockdiag) == ('ipv6', '2001:db8::', 5432)
    for remote in (v4, v6, mapped):
        assert not remote.endswith(b':0000')   # the report's "no remote" mark


def test_port_filter_is_two_tests_that_reject_past_the_end():
    bytecode = sockdiag.port_filter(40000, 40999)
    length, kind = struct.unpack_from('=HH', bytecode)
    assert (length, len(bytecode), kind) == (20, 20, sockreq.INET_DIAG_REQ_BYTECODE)
    ops = [struct.unpack_from('=BBH', bytecode, 4 + 4 * index) for index in range(4)]
    # S_GE 40000: yes -> the next test, no -> 4 past the end (20 from here); S_LE 40999: no -> 12 from here
    assert ops == [(sockreq.INET_DIAG_BC_S_GE, 8, 20), (0, 0, 40000), (sockreq.INET_DIAG_BC_S_LE, 8, 12), (0, 0, 40999)]
    request = sockdiag.request_tcp_both(states=sockdiag.NOT_LISTENING, attributes=bytecode)
    assert struct.unpack_from('=I', request)[0] == len(request) == 76 + 20
    assert sockdiag.NOT_LISTENING | sockdiag.LISTENING == sockdiag.ALL_STATES and not sockdiag.NOT_LISTENING & sockdiag.LISTENING


@pytest.mark.parametrize('files, expected', [
    ({'sockstat': 'sockets: used 9\nTCP: inuse 7 orphan 0 tw 3 alloc 9 mem 1\nUDP: inuse 2 mem 0\n',
      'sockstat6': 'TCP6: inuse 4\nUDP6: inuse 1\n'}, (7, 4, 3)),
    ({'sockstat': 'TCP: inuse 7 orphan 0 tw 3 alloc 9 mem 1\n'}, (7, None, 3)),      # no IPv6
    ({'sockstat6': 'TCP6: inuse 4\n'}, None),                                          # no IPv4 counters
    ({'sockstat': 'TCP: inuse 7 orphan 0\n', 'sockstat6': 'TCP6: inuse 4\n'}, None),  # no tw
    ({'sockstat': 'TCP: inuse seven orphan 0 tw 3\n'}, None),
    ({}, None),
], ids=['both', 'ipv4-only', 'no-sockstat', 'no-tw', 'garbage', 'none'])
def test_tcp_counts(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert sockdiag.tcp_counts(str(tmp_path)) == expected


def test_tcp_counts_of_the_recording():
    """The recorded counters are those of the recorded sockets: in use of each family, TIME_WAIT apart."""
    assert sockdiag.tcp_counts(FIXTURES) == tuple(MANIFEST['counters']) == (2 + 2 * (N_V4 + 1), 2 + 2 * (N_V6 + N_MAPPED), 10)


def test_requests_are_what_the_kernel_expects():
    both = sockdiag.request_tcp_both()
    length, kind, flags = struct.unpack_from('=IHH', both)
    assert (length, len(both), kind, flags) == (76, 76, 18, 0x301)   # nlmsghdr + struct inet_diag_req (60)
    assert struct.unpack_from('=I', both, 16 + 52)[0] == sockdiag.ALL_STATES   # idiag_states after the sockid
    udp6 = sockdiag.request_v2(sockdiag.AF_INET6, socket.IPPROTO_UDP)
    assert struct.unpack_from('=IHH', udp6) == (72, 20, 0x301)
    assert struct.unpack_from('=BBBxI', udp6, 16) == (10, 17, 0, sockdiag.ALL_STATES)
    assert sockdiag.ALL_STATES == sum(1 << state for state in range(1, 13))   # ESTABLISHED .. NEW_SYN_RECV


# ---------------------------------------------------------------- recording (root, in a throwaway namespace)

N_V4, N_V6, N_MAPPED = 200, 40, 10   # enough for a full 32 KiB chunk and a mixed one


def _make_sockets():
    """The recorded sockets; returns what the manifest expects of them and the objects to keep open."""
    with open('/proc/sys/net/ipv4/ip_local_port_range', 'w') as handle:
        handle.write('%d %d\n' % RANGE)
    keep = []

    def listen(family, address, port, kind=socket.SOCK_STREAM, v6only=None):
        sock = socket.socket(family, kind)
        if v6only is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        sock.bind((address, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(512)
        keep.append(sock)
        return sock

    v4 = listen(socket.AF_INET, '127.0.0.1', 8080)
    v6 = listen(socket.AF_INET6, '::', 8443, v6only=0)          # dual stack: takes the IPv4-mapped connections
    listen(socket.AF_INET6, '::1', 9000, v6only=1)
    conflict = listen(socket.AF_INET, '0.0.0.0', 40100)          # inside the range
    listen(socket.AF_INET, '0.0.0.0', 5353, socket.SOCK_DGRAM)
    listen(socket.AF_INET6, '::', 40300, socket.SOCK_DGRAM)     # inside the range
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.connect(('127.0.0.1', 5353))                             # connected: not a listener, its port in range
    keep.append(udp)
    for server, address, count in ((v4, ('127.0.0.1', 8080), N_V4), (v6, ('::1', 8443), N_V6),
                                   (v6, ('::ffff:127.0.0.1', 8443), N_MAPPED), (conflict, ('127.0.0.1', 40100), 1)):
        for _count in range(count):
            client = socket.socket(socket.AF_INET6 if ':' in address[0] else socket.AF_INET, socket.SOCK_STREAM)
            client.connect(address)
            keep.extend([client, server.accept()[0]])
    # ten TIME_WAIT sockets on the client side: the client closes first
    for _count in range(10):
        client = socket.create_connection(('127.0.0.1', 8080))
        accepted = v4.accept()[0]
        client.close()
        assert accepted.recv(1) == b''
        accepted.close()
    time.sleep(0.5)
    return keep


def _keeping(chunks, walk):
    """A walk for sockdiag.dump that keeps every chunk as received."""
    def keep(data, kind):
        chunks.append(data)
        return walk(data, kind, sockdiag.Window(*RANGE), [], [])
    return keep


def _record_inside(directory):
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    keep = _make_sockets()
    sock = sockdiag.open_socket()
    replies = {}
    try:
        for name, request in REQUESTS.items():
            replies[name] = []
            sockdiag.dump(sock, request, _keeping(replies[name], sockdiag.walk_udp if name.startswith('udp') else sockdiag.walk_tcp))
    finally:
        sock.close()
    for name in TABLES:
        with open('/proc/net/' + name, 'rb') as src, open(os.path.join(directory, 'proc_net_' + name), 'wb') as dst:
            dst.write(src.read())
    for name in SOCKSTAT:
        with open('/proc/net/' + name, 'rb') as src, open(os.path.join(directory, name), 'wb') as dst:
            dst.write(src.read())
    for name, chunks in replies.items():
        with open(os.path.join(directory, name + '.chunks'), 'wb') as handle:
            for chunk in chunks:
                handle.write(struct.pack('>I', len(chunk)) + chunk)
    scan = procnet.scan_tables(RANGE[0], RANGE[1], root=procnet.PROC, source='proc')
    got = comparable(scan)
    states = {}
    for _port, state, remote in decoded(scan):
        key = '%s %s:%d %s' % (remote[0], remote[1], remote[2], procnet.TCP_STATES[state])
        states[key] = states.get(key, 0) + 1
    manifest = {
        'recorded': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        'kernel': os.uname().release,
        'byteorder': sys.byteorder,
        'range': list(RANGE),
        'sockets': 'see _make_sockets() in tests/unit/plugins/module_utils/test_sockdiag.py',
        'socket_count': got['sockets'],
        'counters': sockdiag.tcp_counts(directory),
        'listeners': [list(item[:4]) for item in got['listeners']],
        'tcp_in_range': states,
        'udp_in_range': got['udp_in_range'],
    }
    with open(os.path.join(directory, 'manifest.json'), 'w') as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.write('\n')
    del keep


def main(argv):
    if len(argv) == 3 and argv[1] == '--record-inside':
        return _record_inside(argv[2])
    if len(argv) == 3 and argv[1] == '--record':
        directory = os.path.abspath(argv[2])
        os.makedirs(directory, exist_ok=True)
        return subprocess.run(['unshare', '--net', sys.executable, os.path.abspath(__file__), '--record-inside', directory],
                              check=True).returncode
    sys.stderr.write('usage: %s --record DIRECTORY (root)\n' % argv[0])
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
