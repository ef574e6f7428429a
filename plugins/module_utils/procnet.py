# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Linux sockets straight from the kernel: netlink sock_diag, /proc/net/{tcp,tcp6,udp,udp6} (owners: procowners.py).

No ``ss`` or ``netstat``. :func:`scan_tables` asks the kernel over netlink
sock_diag when its caller passes the reader (port_info: ``netlink=sockdiag``,
a third of the kernel's cost of formatting /proc/net as text), else or where
the kernel refuses it reads the /proc/net tables (ephemeral_range's payload
carries no netlink code); both fill the same :class:`Scan` with the same
values, of the reading process's network namespace. Addresses are decoded
only where needed (listeners, distinct remote endpoints in the range).

The kernel prints, per line (fields split on blanks)::

    sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    0: 0100007F:1F90 00000000:0000 0A ...

Addresses are the raw 32-bit words of ``struct in_addr``/``in6_addr`` printed
with ``%08X`` in host byte order; ports are ``%04X`` in host order.
"""

from __future__ import annotations

import ipaddress
import os
import sys

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

PROC = '/proc'

# include/net/tcp_states.h. NEW_SYN_RECV request sockets are printed as 03.
TCP_STATES = {
    b'01': 'ESTABLISHED',
    b'02': 'SYN_SENT',
    b'03': 'SYN_RECV',
    b'04': 'FIN_WAIT1',
    b'05': 'FIN_WAIT2',
    b'06': 'TIME_WAIT',
    b'07': 'CLOSE',
    b'08': 'CLOSE_WAIT',
    b'09': 'LAST_ACK',
    b'0A': 'LISTEN',
    b'0B': 'CLOSING',
    b'0C': 'NEW_SYN_RECV',
}
ST_LISTEN = b'0A'
ST_TIME_WAIT = b'06'
ST_UNCONNECTED = b'07'  # UDP: TCP_CLOSE, i.e. bound and not connected

# (proto, family, file under /proc/net)
TABLES = (
    ('tcp', 'ipv4', 'tcp'),
    ('tcp', 'ipv6', 'tcp6'),
    ('udp', 'ipv4', 'udp'),
    ('udp', 'ipv6', 'udp6'),
)

_LITTLE = sys.byteorder == 'little'


def _word_bytes(word_hex):
    raw = bytes.fromhex(word_hex)
    return raw[::-1] if _LITTLE else raw


def decode_address(hex_addr):
    """Decode a /proc/net address field (no port) into ``(family, text)``.

    ``0100007F`` -> ``('ipv4', '127.0.0.1')`` on a little-endian host; 32 hex
    digits are IPv6. IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``) are
    returned as ``('ipv4', 'a.b.c.d')``: only IPv4 traffic can use them.
    """
    if isinstance(hex_addr, bytes):
        hex_addr = hex_addr.decode('ascii')
    try:
        if len(hex_addr) == 8:
            return 'ipv4', str(ipaddress.IPv4Address(_word_bytes(hex_addr)))
        if len(hex_addr) == 32:
            raw = b''.join(_word_bytes(hex_addr[i:i + 8]) for i in range(0, 32, 8))
            addr = ipaddress.IPv6Address(raw)
            if addr.ipv4_mapped is not None:
                return 'ipv4', str(addr.ipv4_mapped)
            return 'ipv6', str(addr)
    except ValueError:
        pass
    raise PortwardenError('Cannot decode the socket address %r from /proc/net: expected 8 or 32 hexadecimal digits.' % (hex_addr,))


def decode_endpoint(field, netlink=None):
    """``b'0100007F:1F90'`` -> ``('ipv4', '127.0.0.1', 8080)``; also a remote from the ``netlink`` reader."""
    if isinstance(field, bytes):
        if netlink is not None and len(field) in netlink.REMOTE_SIZES:  # /proc/net's are 13 or 37 characters
            return netlink.decode_remote(field)
        field = field.decode('ascii')
    addr, _sep, port = field.rpartition(':')
    family, text = decode_address(addr)
    return family, text, int(port, 16)


def read_table(name, root=PROC, chunk=1 << 20):
    """The bytes of /proc/net/<name>, or None when the table does not exist (IPv6 disabled).

    Read with large ``os.read`` calls: procfs reports no size, and every read
    call makes the kernel find its place in the socket hash again.
    """
    path = os.path.join(root, 'net', name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise PortwardenError('Cannot read %s: %s.' % (path, exc.strerror or exc))
    try:
        chunks = []
        while True:
            data = os.read(fd, chunk)
            if not data:
                break
            chunks.append(data)
    except (IOError, OSError) as exc:
        raise PortwardenError('Cannot read %s: %s.' % (path, exc.strerror or exc))
    finally:
        os.close(fd)
    return b''.join(chunks)


class Listener(object):
    """One listening socket: TCP in LISTEN, or UDP bound and not connected."""

    __slots__ = ('proto', 'family', 'address', 'port', 'inode')

    def __init__(self, proto, family, address, port, inode):
        self.proto = proto
        self.family = family
        self.address = address
        self.port = port
        self.inode = inode

    def key(self):
        return (self.proto, self.port, self.family, self.address)

    def __repr__(self):
        return 'Listener(%s %s %s:%d inode=%s)' % (self.proto, self.family, self.address, self.port, self.inode)


class Scan(object):
    """What one pass over the socket tables found.

    ``listeners``: :class:`Listener` objects.
    ``tcp_in_range``: ``(local_port, state, remote_field)`` of every TCP socket
    that is not listening and whose local port is in ``start..end``
    (``state`` is the two hex digits of /proc/net; ``remote_field`` is opaque
    bytes, equal for equal endpoints, that :func:`decode_endpoint` decodes and
    that end with ``b':0000'`` only when there is no remote: the raw
    ``ADDR:PORT`` of /proc/net, or sock_diag's slice of the record).
    ``tally``: None, or (sock_diag's ranged dump) those TCP sockets counted as
    they were read, a sockdiag.Tally, and not in ``tcp_in_range``.
    ``udp_in_range``: local ports of the UDP sockets in ``start..end``.
    ``totals``: sockets per table name (tcp, tcp6, udp, udp6), :attr:`sockets`
    their sum: the lines read here; over sock_diag, TCP as the kernel counts
    it in /proc/net/sockstat, TIME_WAIT of both families apart (``time_wait``)
    and connection requests not yet accepted left out.
    ``source``: ``netlink`` or ``proc``, where they came from.
    """

    __slots__ = ('listeners', 'tcp_in_range', 'tally', 'udp_in_range', 'totals', 'tables', 'source')

    def __init__(self):
        self.listeners = []
        self.tcp_in_range = []
        self.tally = None
        self.udp_in_range = []
        self.totals = {}
        self.tables = []
        self.source = None

    @property
    def sockets(self):
        return sum(self.totals.values())


def _listener_from_line(proto, line):
    fields = line.split()
    family, address, port = decode_endpoint(fields[1])
    inode = fields[9].decode('ascii') if len(fields) > 9 else '0'
    return Listener(proto, family, address, port, inode)


SOURCES = ('auto', 'netlink', 'proc')


def scan_tables(start, end, root=PROC, source='auto', netlink=None):
    """Read the four socket tables once; keep what the report needs.

    ``start``/``end`` bound the ephemeral range. ``netlink`` is the netlink
    reader (the :mod:`sockdiag` module: ``scan_into`` and ``Unavailable``), or
    None for the /proc/net tables alone. ``source``: ``auto`` asks the reader
    when there is one and ``root`` is the real /proc (whose net/ is the
    namespace's own) and reads the /proc/net tables when the kernel does not
    answer or ``root`` is another tree; ``netlink`` or ``proc`` takes only
    that one (tests compare them).
    """
    if source not in SOURCES:
        raise PortwardenError('Invalid socket source %r: expected one of %s.' % (source, ', '.join(SOURCES)))
    if source == 'netlink' and netlink is None:
        raise PortwardenError('Invalid socket source netlink: no netlink reader was given (netlink=sockdiag).')
    if source == 'netlink' or (source == 'auto' and root == PROC and netlink is not None):
        try:
            scan = netlink.scan_into(Scan(), start, end, Listener)
            scan.source = 'netlink'
            return scan
        except netlink.Unavailable as exc:
            if source == 'netlink':
                raise PortwardenError('Cannot read the socket tables over netlink sock_diag (%s).' % exc)
    return _scan_proc(start, end, root)


def _scan_proc(start, end, root):
    """The /proc/net tables. Lines cost one ``split(None, 4)`` and string
    comparisons: the ``%04X`` port digits sort like the numbers they print,
    so the range test needs no ``int()``."""
    lo = ('%04X' % start).encode('ascii')
    hi = ('%04X' % end).encode('ascii')
    scan = Scan()
    scan.source = 'proc'
    found = False
    for proto, _family, name in TABLES:
        data = read_table(name, root)
        if data is None:
            continue
        found = True
        scan.tables.append(name)
        lines = data.split(b'\n')
        count = 0
        listeners = []
        if proto == 'tcp':
            in_range = scan.tcp_in_range
            append = in_range.append
            for line in lines[1:]:
                fields = line.split(None, 4)
                if len(fields) < 4:
                    continue
                count += 1
                state = fields[3]
                if state == ST_LISTEN:
                    listeners.append(line)
                    continue
                port = fields[1][-4:]
                if lo <= port <= hi:
                    append((int(port, 16), state, fields[2]))
        else:
            append = scan.udp_in_range.append
            for line in lines[1:]:
                fields = line.split(None, 4)
                if len(fields) < 4:
                    continue
                count += 1
                port = fields[1][-4:]
                if fields[3] == ST_UNCONNECTED and fields[2].endswith(b':0000'):
                    listeners.append(line)
                if lo <= port <= hi:
                    append(int(port, 16))
        scan.totals[name] = count
        for line in listeners:
            scan.listeners.append(_listener_from_line(proto, line))
    if not found:
        raise PortwardenError('No socket table found under %s/net (tcp, tcp6, udp, udp6): this module needs Linux procfs.' % root)
    return scan
