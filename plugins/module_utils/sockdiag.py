# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Linux socket tables over netlink sock_diag (inet_diag), in binary.

Over a NETLINK_SOCK_DIAG socket the kernel hands out the sockets of
/proc/net/tcp as binary records (``struct inet_diag_msg``), up to 32 KiB per
``recv``, at a third of the cost of the text. This fills the same
:class:`procnet.Scan` as procnet's /proc reader, with the same values; every
refusal (no sock_diag or inet_diag, a seccomp or LSM denial) is
:class:`Unavailable`, and procnet then reads /proc.

TCP of both families comes in one walk of the socket hash per request
(sockreq.py): the listeners first, then the other sockets whose local port
is in the range, chosen by the kernel, so that the connections a server
accepted, on its own port, are never copied out; those are counted as they
are read (:class:`Tally`). How many TCP sockets there are in all, the kernel
counts in /proc/net/sockstat and sockstat6 (``inuse``, ``tw``); where those
cannot be read, one dump of every TCP socket, each in range kept as a tuple
for procnet's counting. Then UDP, per family, every socket.

The records are parsed in the received ``bytes``: a chunk whose records have
one size (most do) a column at a time (``data[17::size]`` is every state),
the others record by record. Layout of one record (after 16 of nlmsghdr)::

    0 len u32  4 type u16 ...  16 family  17 state  18 timer  19 retrans
    20 sport be16  22 dport be16  24 src[16]  40 dst[16]  56 if u32  60 cookie[8]
    68 expires  72 rqueue  76 wqueue  80 uid  84 inode u32  88 attributes ...

Ports are big-endian: raw port bytes compare like the numbers. A tuple's
remote is the raw slice ``dport + src + dst`` (IPv4: 22 bytes; IPv6: 38, the
interface index last), decoded once per distinct value (:func:`decode_remote`);
it never ends with ``b':0000'`` (/proc's "no remote").

Owners (``processes: true``) come from /proc/<pid>/fd, by the records' inodes.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
import sys
from collections import Counter
from itertools import compress

from ansible_collections.portwarden.ports.plugins.module_utils.sockreq import (
    AF_INET, AF_INET6, ALL_STATES, BUFSIZE, LISTENING, NLMSG_DONE, NLMSG_ERROR, NOT_LISTENING, ST_LISTEN, Unavailable,
    open_socket, port_filter, request_tcp_both, request_v2)

ST_CLOSE = 7
PROC_NET = '/proc/net'           # where the kernel's socket counters are read (sockstat, sockstat6)

RECORD = 88                      # nlmsghdr + inet_diag_msg: the shortest socket message
_U32 = struct.Struct('=I')
_ERRNO = struct.Struct('=i')

# state byte -> the two hexadecimal digits /proc/net prints (what procnet.TCP_STATES is keyed on)
STATE_HEX = tuple(('%02X' % number).encode('ascii') for number in range(256))


def tcp_counts(proc_net=None):
    """``(ipv4, ipv6, time_wait)``: the TCP sockets the kernel counts in this namespace (sockstat's ``inuse``
    of each family, TIME_WAIT of both apart); ``ipv6`` None without sockstat6 (a kernel without IPv6). None
    where /proc/net/sockstat cannot be read or does not say (then every socket is dumped and counted)."""
    base = proc_net or PROC_NET
    found = {}
    for name in ('sockstat', 'sockstat6'):
        try:
            with open(os.path.join(base, name), 'rb') as handle:
                text = handle.read()
        except (IOError, OSError):
            continue
        for line in text.split(b'\n'):
            words = line.split()
            if words and words[0] in (b'TCP:', b'TCP6:'):
                found.update((words[0] + key, value) for key, value in zip(words[1::2], words[2::2]))
    try:
        ipv4, time_wait = int(found[b'TCP:inuse']), int(found[b'TCP:tw'])
        ipv6 = int(found[b'TCP6:inuse']) if b'TCP6:inuse' in found else None
    except (KeyError, ValueError):
        return None
    return ipv4, ipv6, time_wait


_LITTLE = struct.pack('=H', 1) == b'\x01\x00'
# where the low bytes of nlmsg_len (24 bits are plenty) and the low byte of nlmsg_type are, in host order
_L0, _L1, _L2, _T = (0, 1, 2, 4) if _LITTLE else (3, 2, 1, 5)


def dump(sock, request, walk, *args):
    """Send one dump request; run ``walk(chunk, kind, *args)`` on every chunk of the reply; return its sums.

    ``walk`` walks the records of one chunk and returns ``(stop, count...)``:
    it stops at the first message of another type than the request's
    (NLMSG_DONE or NLMSG_ERROR, which end the reply) or at the chunk's end.
    """
    kind = request[_T]
    totals = None
    try:
        sock.send(request)
        recv = sock.recv
        while True:
            data = recv(BUFSIZE)
            if len(data) < 16:
                raise Unavailable('sock_diag reply of %d bytes' % len(data), errno.EPROTO)
            found = walk(data, kind, *args)
            if found[0] > len(data):
                raise Unavailable('sock_diag record cut at %d bytes' % len(data), errno.EPROTO)
            if totals is None and found[0] == 0:
                end_of_dump(data, 0, at_start=True)
                return found[1:]
            totals = found[1:] if totals is None else tuple(a + b for a, b in zip(totals, found[1:]))
            if found[0] < len(data) and end_of_dump(data, found[0]):
                return totals
    except (OSError, IndexError, struct.error) as exc:   # the last two: a reply cut short
        raise Unavailable('sock_diag dump', getattr(exc, 'errno', None) or errno.EPROTO)


def end_of_dump(data, offset, at_start=False):
    """Read the control message at ``offset``: True for NLMSG_DONE; :class:`Unavailable` for an error."""
    length = _U32.unpack_from(data, offset)[0]
    mtype = data[offset + _T]
    code = _ERRNO.unpack_from(data, offset + 16)[0] if length >= 20 and offset + 20 <= len(data) else 0
    if mtype == NLMSG_DONE and code >= 0:
        return True
    if mtype in (NLMSG_DONE, NLMSG_ERROR):
        raise Unavailable('sock_diag request', -code if code < 0 else errno.EPROTO, at_start)
    raise Unavailable('sock_diag message of type %d' % mtype, errno.EPROTO, at_start)


def _flags(first, last=None):
    """A translate table: byte values ``first..last`` -> 1, every other value -> 0 (all 0 when first > last)."""
    last = first if last is None else last
    if first > last:
        return bytes(256)
    return bytes(first) + b'\x01' * (last - first + 1) + bytes(255 - last)


IS_IPV4 = _flags(AF_INET)
NOT_LISTEN = bytes(1 - flag for flag in _flags(ST_LISTEN))
IS_CLOSE = _flags(ST_CLOSE)
IS_ZERO = _flags(0)


def _bits(column, table):
    """One bit per record (the first record highest): ``table`` applied to a column of bytes."""
    return int.from_bytes(column.translate(table), 'big')


class Window(object):
    """The ephemeral range as the walkers test local ports: one record at a time (``lo``/``hi``, two
    big-endian bytes, which compare like the numbers) or a whole column at once (:meth:`mask`)."""

    __slots__ = ('lo', 'hi', 'inner', 'at_lo', 'from_lo', 'at_hi', 'to_hi', 'narrow')

    def __init__(self, start, end):
        self.lo, self.hi = struct.pack('>H', start), struct.pack('>H', end)
        lo_high, lo_low, hi_high, hi_low = start >> 8, start & 255, end >> 8, end & 255
        self.inner = _flags(lo_high + 1, hi_high - 1)
        self.at_lo = _flags(lo_high)
        self.from_lo = _flags(lo_low, 255)
        self.at_hi = _flags(hi_high)
        self.to_hi = _flags(0, hi_low)
        self.narrow = lo_high == hi_high

    def mask(self, high, low):
        """Bits of the records whose port (columns of high and low bytes) is in the range."""
        at_lo = _bits(high, self.at_lo) & _bits(low, self.from_lo)
        if self.narrow:
            return at_lo & _bits(low, self.to_hi)
        return _bits(high, self.inner) | at_lo | (_bits(high, self.at_hi) & _bits(low, self.to_hi))


def uniform(data, kind):
    """``(records, length)`` when the chunk is ``records`` (at least 2) records of one length and the
    request's type, followed by less than one more such length (NLMSG_DONE, a shorter record: left to
    the record-by-record walk); else ``(0, 0)``.

    A dump's records are all the same size but for a few kinds (a listener's
    extra attribute, TIME_WAIT and request sockets without attributes), so
    most chunks are uniform, and their fields are read a column at a time
    (``data[17:end:length]`` holds every record's state) instead of a record
    at a time.
    """
    length = data[_L0] | data[_L1] << 8 | data[_L2] << 16
    if length < RECORD:
        return 0, 0
    records = len(data) // length
    end = records * length
    if records < 2:
        return 0, 0
    for index, value in ((_L0, length & 255), (_L1, length >> 8 & 255), (_L2, length >> 16), (_T, kind)):
        if data[index:end:length] != bytes((value,)) * records:
            return 0, 0
    return records, length


def _ports(data, end, length):
    """Every record's local port, as ints, in record order (a memoryview of native 16-bit words)."""
    pairs = bytearray(2 * (end // length))
    pairs[0::2], pairs[1::2] = (data[21:end:length], data[20:end:length]) if _LITTLE else (data[20:end:length], data[21:end:length])
    return memoryview(pairs).cast('H')


def record_offsets(data, offset, kind):
    """``(offsets, stop)``: the records of ``kind`` from ``offset`` on, one by one, up to another message type, the
    chunk's end or a record too short to step over (the last one: ``stop`` stays on it)."""
    offsets, size, (l0, l1, l2, t) = [], len(data), (_L0, _L1, _L2, _T)
    while offset < size and data[offset + t] == kind:
        offsets.append(offset)
        step = data[offset + l0] | data[offset + l1] << 8 | data[offset + l2] << 16
        if step < RECORD:
            break
        offset += step
    return offsets, offset


def _columns(data, kind):
    """``(records, length, family, state)`` of a uniform chunk (its family and state columns); zeros else."""
    records, length = uniform(data, kind)
    end = records * length
    return (records, length, data[16:end:length], data[17:end:length]) if records else (0, 0, b'', b'')


def walk_tcp(data, kind, window, in_range, listeners):
    """Walk the TCP records of one chunk: listeners and the sockets whose local port is in the window.

    Appends ``(port, state_hex, remote_slice)`` to ``in_range`` and
    ``(chunk, offset)`` of each listening record to ``listeners``. Returns
    ``(stop, ipv4, ipv6)``: where the walk stopped and the records of each
    family. A uniform chunk is read by columns, the rest record by record.
    """
    offset = ipv4 = ipv6 = 0
    records, length, family, state = _columns(data, kind)
    if records:
        offset = end = records * length
        ipv4 = family.count(AF_INET)
        ipv6 = records - ipv4
        found = state.find(ST_LISTEN)
        while found >= 0:
            listeners.append((data, found * length))
            found = state.find(ST_LISTEN, found + 1)
        mask = window.mask(data[20:end:length], data[21:end:length]) & _bits(state, NOT_LISTEN)
        if mask:
            ipv4_bits = _bits(family, IS_IPV4)
            ports = _ports(data, end, length)
            for bits, width in ((mask & ipv4_bits, 22), (mask & ~ipv4_bits, 38)):
                if bits:
                    flags = bits.to_bytes(records, 'big')
                    remotes = map(slice, compress(range(22, end, length), flags), compress(range(22 + width, end + width, length), flags))
                    in_range.extend(zip(compress(ports, flags), map(STATE_HEX.__getitem__, compress(state, flags)),
                                        map(data.__getitem__, remotes)))
    append = in_range.append
    states = STATE_HEX
    lo, hi = window.lo, window.hi
    offsets, offset = record_offsets(data, offset, kind)
    for at in offsets:
        if data[at + 16] == AF_INET:
            ipv4 += 1
            stop = at + 44
        else:
            ipv6 += 1
            stop = at + 60
        state = data[at + 17]
        if state == ST_LISTEN:
            listeners.append((data, at))
        else:
            port = data[at + 20:at + 22]
            if lo <= port <= hi:
                append((data[at + 20] << 8 | data[at + 21], states[state], data[at + 22:stop]))
    return offset, ipv4, ipv6


class Tally(object):
    """TCP sockets in the range, counted as a dump's chunks are walked (:func:`walk_tally`): what portread.count
    makes of procnet's tuples, without a tuple per socket. A socket on a port of ``held`` (the TCP listeners') was
    accepted by that listener and is only counted in ``inbound``; of the others, ``ports`` holds the local ports and
    ``pairs`` counts the (state, remote) keys (:func:`decode_pair`: an int for IPv4, bytes for IPv6)."""

    __slots__ = ('held', 'ports', 'pairs', 'inbound')

    def __init__(self, held):
        self.held = frozenset(held)
        self.ports = set()
        self.pairs = Counter()
        self.inbound = 0


_BYTEORDER = sys.byteorder
_NUL = b'\0'
# where each byte of a pair key comes from in a record: the state, the remote port, the remote address
_KEY4 = (17, 22, 23, 40, 41, 42, 43)
_KEY6 = (17, 22, 23) + tuple(range(40, 56))
KEY6 = len(_KEY6)


def pair_key(data, offset):
    """The :class:`Tally` key of one record: what :func:`walk_tally`'s columns make of it."""
    if data[offset + 16] == AF_INET:
        return int.from_bytes(data[offset + 17:offset + 18] + data[offset + 22:offset + 24] + data[offset + 40:offset + 44] + _NUL,
                              _BYTEORDER)
    return data[offset + 17:offset + 18] + data[offset + 22:offset + 24] + data[offset + 40:offset + 56]


def decode_pair(key):
    """A :class:`Tally` key -> ``(state, (family, address, port))``, ``state`` the kernel's number."""
    if isinstance(key, int):
        raw, family = key.to_bytes(8, _BYTEORDER), AF_INET
    else:
        raw, family = key, AF_INET6
    name, text = address_text(family, raw[3:19])
    return raw[0], (name, text, raw[1] << 8 | raw[2])


def _keys(data, end, length, offsets, width):
    """Every record's key bytes (``offsets`` of it) in a row of ``width`` bytes, the rows one after another."""
    rows = bytearray(width * (end // length))
    for place, offset in enumerate(offsets):
        rows[place::width] = data[offset:end:length]
    return rows


def walk_tally(data, kind, window, tally):
    """Walk the records of one chunk of a dump of TCP sockets that are not listening into ``tally``, as
    :func:`walk_tcp` does (a uniform chunk a column at a time: the keys are made by columns too). Returns
    ``(stop, ipv4, ipv6)``."""
    offset = ipv4 = ipv6 = 0
    held = tally.held
    records, length, family, state = _columns(data, kind)
    if records:
        offset = end = records * length
        ipv4 = family.count(AF_INET)
        ipv6 = records - ipv4
        mask = window.mask(data[20:end:length], data[21:end:length]) & _bits(state, NOT_LISTEN)
        if mask:
            ports = _ports(data, end, length)
            if held:
                on_held = mask & int.from_bytes(bytes(map(held.__contains__, ports)), 'big')
                if on_held:
                    tally.inbound += on_held.to_bytes(records, 'big').count(1)
                    mask &= ~on_held
            flags = mask.to_bytes(records, 'big')
            tally.ports.update(compress(ports, flags))
            ipv4_bits = _bits(family, IS_IPV4)
            v4, v6 = mask & ipv4_bits, mask & ~ipv4_bits
            if v4:
                keys = memoryview(_keys(data, end, length, _KEY4, 8)).cast('Q')
                tally.pairs.update(compress(keys, v4.to_bytes(records, 'big')))
            if v6:
                rows = bytes(_keys(data, end, length, _KEY6, KEY6))
                flags = v6.to_bytes(records, 'big')
                tally.pairs.update(map(rows.__getitem__, map(slice, compress(range(0, KEY6 * records, KEY6), flags),
                                                             compress(range(KEY6, KEY6 * (records + 1), KEY6), flags))))
    lo, hi = window.lo, window.hi
    ports, pairs = tally.ports, tally.pairs
    offsets, offset = record_offsets(data, offset, kind)
    for at in offsets:
        if data[at + 16] == AF_INET:
            ipv4 += 1
        else:
            ipv6 += 1
        if data[at + 17] != ST_LISTEN and lo <= data[at + 20:at + 22] <= hi:
            port = data[at + 20] << 8 | data[at + 21]
            if port in held:
                tally.inbound += 1
            else:
                ports.add(port)
                pairs[pair_key(data, at)] += 1
    return offset, ipv4, ipv6


def walk_udp(data, kind, window, in_range, listeners):
    """Walk the UDP records of one chunk: bound unconnected sockets (listeners) and the local ports in
    the window. Returns ``(stop, records)``."""
    offset = total = 0
    records, length = uniform(data, kind)
    if records:
        offset = end = records * length
        total = records
        flags = window.mask(data[20:end:length], data[21:end:length]).to_bytes(records, 'big')
        in_range.extend(compress(_ports(data, end, length), flags))
        bits = _bits(data[17:end:length], IS_CLOSE) & _bits(data[22:end:length], IS_ZERO) & _bits(data[23:end:length], IS_ZERO)
        if bits:
            listeners.extend((data, found) for found in compress(range(0, end, length), bits.to_bytes(records, 'big')))
    append = in_range.append
    lo, hi = window.lo, window.hi
    offsets, offset = record_offsets(data, offset, kind)
    total += len(offsets)
    for at in offsets:
        port = data[at + 20:at + 22]
        if lo <= port <= hi:
            append(data[at + 20] << 8 | data[at + 21])
        if data[at + 17] == ST_CLOSE and data[at + 22] == 0 and data[at + 23] == 0:
            listeners.append((data, at))
    return offset, total


def address_text(family, raw):
    """``(family, text)`` of an address from a record: IPv4-mapped IPv6 is reported as IPv4, as procnet does."""
    if family == AF_INET:
        return 'ipv4', str(ipaddress.IPv4Address(raw[:4]))
    addr = ipaddress.IPv6Address(raw[:16])
    if addr.ipv4_mapped is not None:
        return 'ipv4', str(addr.ipv4_mapped)
    return 'ipv6', str(addr)


def listener_fields(data, offset):
    """``(family, address, port, inode)`` of one record: what procnet.Listener holds."""
    family, text = address_text(data[offset + 16], data[offset + 24:offset + 40])
    port = data[offset + 20] << 8 | data[offset + 21]
    return family, text, port, str(_U32.unpack_from(data, offset + 84)[0])


REMOTE_SIZES = {22: AF_INET, 38: AF_INET6}


def decode_remote(raw):
    """A remote slice of :func:`walk_tcp` (``dport + src + dst [+ if]``) -> ``(family, address, port)``."""
    name, text = address_text(REMOTE_SIZES[len(raw)], raw[18:34])
    return name, text, raw[0] << 8 | raw[1]


def scan_into(scan, start, end, listener_class):
    """Fill ``scan`` (a procnet.Scan) from the kernel over sock_diag; :class:`Unavailable` when it refuses.

    Nothing is added to ``scan`` unless every dump succeeds, so a refusal in
    the middle leaves it empty for the /proc reader.
    """
    window = Window(start, end)
    tally = None
    tcp_in_range, udp_in_range = [], []
    tcp_listeners, udp_listeners = [], []
    counts = tcp_counts()
    sock = open_socket()
    try:
        if counts is None:
            ipv4, ipv6 = dump_tcp(sock, window, tcp_in_range, tcp_listeners)
        else:
            dump_tcp(sock, window, tcp_in_range, tcp_listeners, LISTENING)
            tally = Tally(data[offset + 20] << 8 | data[offset + 21] for data, offset in tcp_listeners)
            dump_tcp(sock, window, tally, None, NOT_LISTENING, port_filter(start, end))
            ipv4, ipv6, time_wait = counts
        udp4, = dump(sock, request_v2(AF_INET, socket.IPPROTO_UDP), walk_udp, window, udp_in_range, udp_listeners)
        udp6 = dump_ipv6(sock, request_v2(AF_INET6, socket.IPPROTO_UDP), walk_udp, window, udp_in_range, udp_listeners)
    finally:
        sock.close()
    if udp6 is None and not ipv6:   # a kernel without IPv6, which has no tcp6 and udp6 tables either
        ipv6 = None
    for name, count in (('tcp', ipv4), ('tcp6', ipv6), ('udp', udp4), ('udp6', udp6 and udp6[0])):
        if count is not None:
            scan.totals[name] = count
            scan.tables.append(name)
    if counts is not None:
        scan.totals['time_wait'] = time_wait
    scan.tcp_in_range.extend(tcp_in_range)
    scan.tally = tally
    scan.udp_in_range.extend(udp_in_range)
    for proto, found in (('tcp', tcp_listeners), ('udp', udp_listeners)):
        for data, offset in found:
            family, address, port, inode = listener_fields(data, offset)
            scan.listeners.append(listener_class(proto, family, address, port, inode))
    return scan


def dump_tcp(sock, window, in_range, listeners, states=ALL_STATES, attributes=b''):
    """TCP of both families in ``states`` that pass ``attributes`` (a filter): one TCPDIAG_GETSOCK dump, or
    one SOCK_DIAG_BY_FAMILY dump per family where the kernel no longer takes the old request (it refuses
    it before sending any record). Returns the records of each family: ``(ipv4, ipv6)``, ``ipv6`` None
    without IPv6. ``in_range`` a :class:`Tally` (``listeners`` None): sockets that are not listening,
    counted into it (:func:`walk_tally`); else a list, as :func:`walk_tcp` fills it."""
    walk, args = (walk_tally, (window, in_range)) if isinstance(in_range, Tally) else (walk_tcp, (window, in_range, listeners))
    try:
        return dump(sock, request_tcp_both(states=states, attributes=attributes), walk, *args)
    except Unavailable as exc:
        if not exc.at_start or exc.code not in (errno.EINVAL, errno.ENOENT, errno.EOPNOTSUPP):
            raise
    ipv4, _none = dump(sock, request_v2(AF_INET, socket.IPPROTO_TCP, states=states, attributes=attributes), walk, *args)
    ipv6 = dump_ipv6(sock, request_v2(AF_INET6, socket.IPPROTO_TCP, states=states, attributes=attributes), walk, *args)
    return ipv4, ipv6 and ipv6[1]


def dump_ipv6(sock, request, walk, *args):
    """:func:`dump` of an IPv6 request; None on a kernel without IPv6: it has no AF_INET6 handler and
    refuses the request with ENOENT (asked after the IPv4 request of the same protocol was answered, so
    the protocol's own handler is there)."""
    try:
        return dump(sock, request, walk, *args)
    except Unavailable as exc:
        if exc.at_start and exc.code == errno.ENOENT:
            return None
        raise
