# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""procnet.py: /proc/net socket tables and the /proc/*/fd owner map, against
fake procfs trees written here in the kernel's exact format (the same code
runs against the real kernel in tests/integration/test_port_info.py)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import procnet, procowners, sockdiag
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

HEADER_V4 = ('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
             '                                                     \n')
HEADER_V6 = ('  sl  local_address                         remote_address                        st tx_queue rx_queue tr '
             'tm->when retrnsmt   uid  timeout inode\n')


def kernel_hex(address):
    """An address as the kernel prints it in /proc/net: each 32-bit word with %08X in host byte order."""
    if ':' in address:
        raw = socket.inet_pton(socket.AF_INET6, address)
    else:
        raw = socket.inet_pton(socket.AF_INET, address)
    words = [raw[i:i + 4] for i in range(0, len(raw), 4)]
    if sys.byteorder == 'little':
        words = [w[::-1] for w in words]
    return ''.join(w.hex().upper() for w in words)


def line(index, local, remote, state, inode=0):
    """One /proc/net/{tcp,udp}{,6} line; local and remote are (address, port)."""
    return ('%4d: %s:%04X %s:%04X %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 '
            '100 0 0 10 0\n' % (index, kernel_hex(local[0]), local[1], kernel_hex(remote[0]), remote[1], state, inode))


class FakeProc(object):
    """A fake /proc: net/{tcp,tcp6,udp,udp6}, sys/net/ipv4/*, <pid>/fd and <pid>/comm."""

    def __init__(self, root):
        self.root = str(root)
        self.tables = {'tcp': [], 'tcp6': [], 'udp': [], 'udp6': []}
        self.sysctl = {
            'ip_local_port_range': '32768\t60999',
            'ip_local_reserved_ports': '',
            'ip_unprivileged_port_start': '1024',
            'tcp_tw_reuse': '2',
        }

    def add(self, table, local, remote=('0.0.0.0', 0), state='01', inode=0):
        if table.endswith('6') and remote == ('0.0.0.0', 0):
            remote = ('::', 0)
        rows = self.tables[table]
        rows.append(line(len(rows), local, remote, state, inode))
        return self

    def process(self, pid, name, inodes, other_fds=0):
        fd_dir = os.path.join(self.root, str(pid), 'fd')
        os.makedirs(fd_dir)
        number = 0
        for number in range(other_fds):
            os.symlink('/dev/null', os.path.join(fd_dir, str(number)))
        for offset, inode in enumerate(inodes):
            os.symlink('socket:[%d]' % inode, os.path.join(fd_dir, str(other_fds + offset)))
        if name is not None:
            with open(os.path.join(self.root, str(pid), 'comm'), 'w') as handle:
                handle.write(name + '\n')
        return self

    def write(self, skip=()):
        os.makedirs(os.path.join(self.root, 'net'), exist_ok=True)
        for name, rows in self.tables.items():
            if name in skip:
                continue
            with open(os.path.join(self.root, 'net', name), 'w') as handle:
                handle.write((HEADER_V6 if name.endswith('6') else HEADER_V4) + ''.join(rows))
        ipv4 = os.path.join(self.root, 'sys', 'net', 'ipv4')
        os.makedirs(ipv4, exist_ok=True)
        for key, value in self.sysctl.items():
            with open(os.path.join(ipv4, key), 'w') as handle:
                handle.write(value + '\n')
        return self.root


@pytest.fixture
def fake(tmp_path):
    return FakeProc(tmp_path / 'proc')


# ---------------------------------------------------------------- addresses

@pytest.mark.parametrize('text,family,expected', [
    ('127.0.0.1', 'ipv4', '127.0.0.1'),
    ('10.1.2.3', 'ipv4', '10.1.2.3'),
    ('0.0.0.0', 'ipv4', '0.0.0.0'),
    ('::1', 'ipv6', '::1'),
    ('::', 'ipv6', '::'),
    ('2001:db8::5:1', 'ipv6', '2001:db8::5:1'),
    ('::ffff:192.0.2.7', 'ipv4', '192.0.2.7'),  # IPv4-mapped: reported as IPv4
])
def test_decode_address(text, family, expected):
    assert procnet.decode_address(kernel_hex(text)) == (family, expected)
    assert procnet.decode_address(kernel_hex(text).encode('ascii')) == (family, expected)


def test_decode_address_kernel_sample():
    # Literal text from a little-endian kernel: 127.0.0.1 and ::1.
    if sys.byteorder != 'little':
        pytest.skip('sample taken on a little-endian kernel')
    assert procnet.decode_address('0100007F') == ('ipv4', '127.0.0.1')
    assert procnet.decode_address('00000000000000000000000001000000') == ('ipv6', '::1')
    assert procnet.decode_address('0000000000000000FFFF00000100007F') == ('ipv4', '127.0.0.1')
    assert procnet.decode_endpoint(b'0100007F:1F90') == ('ipv4', '127.0.0.1', 8080)


@pytest.mark.parametrize('bad', ['', '0100007', 'ZZ00007F', '0' * 31])
def test_decode_address_rejects_garbage(bad):
    with pytest.raises(PortwardenError, match='Cannot decode the socket address'):
        procnet.decode_address(bad)


# ---------------------------------------------------------------- tables

def test_scan_listeners_and_range(fake):
    fake.add('tcp', ('0.0.0.0', 22), state='0A', inode=100)
    fake.add('tcp', ('127.0.0.1', 40100), state='0A', inode=101)
    fake.add('tcp6', ('::', 22), state='0A', inode=102)
    fake.add('tcp6', ('::ffff:127.0.0.1', 9300), state='0A', inode=103)
    # connections: bounds of the range 32768-60999 and just outside
    fake.add('tcp', ('10.0.0.1', 32767), ('10.0.0.2', 443), '01')
    fake.add('tcp', ('10.0.0.1', 32768), ('10.0.0.2', 443), '01')
    fake.add('tcp', ('10.0.0.1', 60999), ('10.0.0.2', 443), '06')
    fake.add('tcp', ('10.0.0.1', 61000), ('10.0.0.2', 443), '01')
    fake.add('tcp6', ('2001:db8::1', 40000), ('2001:db8::2', 5432), '02')
    # UDP: bound and unconnected = listener; connected = not a listener
    fake.add('udp', ('0.0.0.0', 53), state='07', inode=200)
    fake.add('udp', ('10.0.0.1', 45000), ('10.0.0.9', 53), '01', inode=201)
    fake.add('udp6', ('::', 40200), state='07', inode=202)
    root = fake.write()

    scan = procnet.scan_tables(32768, 60999, root=root)

    assert scan.totals == {'tcp': 6, 'tcp6': 3, 'udp': 2, 'udp6': 1}
    assert scan.sockets == 12
    got = sorted((item.proto, item.family, item.address, item.port, item.inode) for item in scan.listeners)
    assert got == [
        ('tcp', 'ipv4', '0.0.0.0', 22, '100'),
        ('tcp', 'ipv4', '127.0.0.1', 9300, '103'),
        ('tcp', 'ipv4', '127.0.0.1', 40100, '101'),
        ('tcp', 'ipv6', '::', 22, '102'),
        ('udp', 'ipv4', '0.0.0.0', 53, '200'),
        ('udp', 'ipv6', '::', 40200, '202'),
    ]
    assert sorted((port, state) for port, state, _remote in scan.tcp_in_range) == [
        (32768, b'01'), (40000, b'02'), (60999, b'06')]
    remotes = dict((port, procnet.decode_endpoint(remote)) for port, _state, remote in scan.tcp_in_range)
    assert remotes[40000] == ('ipv6', '2001:db8::2', 5432)
    assert sorted(scan.udp_in_range) == [40200, 45000]


def test_scan_without_ipv6_tables(fake):
    fake.add('tcp', ('0.0.0.0', 22), state='0A', inode=1)
    root = fake.write(skip=('tcp6', 'udp6'))
    scan = procnet.scan_tables(32768, 60999, root=root)
    assert scan.tables == ['tcp', 'udp']
    assert [item.port for item in scan.listeners] == [22]


def test_scan_without_any_table(tmp_path):
    with pytest.raises(PortwardenError, match='No socket table found under .*needs Linux procfs'):
        procnet.scan_tables(32768, 60999, root=str(tmp_path))


def test_scan_skips_blank_and_short_lines(fake):
    root = fake.write()
    with open(os.path.join(root, 'net', 'tcp'), 'a') as handle:
        handle.write('\n   \n  7: garbage\n')
    scan = procnet.scan_tables(32768, 60999, root=root)
    assert scan.sockets == 0


def test_read_table_large(fake):
    for index in range(3000):
        fake.add('tcp', ('10.0.0.1', 33000 + index), ('10.0.0.2', 80), '06')
    root = fake.write()
    data = procnet.read_table('tcp', root=root, chunk=4096)
    assert data.count(b'\n') == 3001
    assert len(procnet.scan_tables(32768, 60999, root=root).tcp_in_range) == 3000


# ---------------------------------------------------------------- owners

def test_socket_owners_lowest_pid_wins(fake):
    fake.process(300, 'nginx', [11, 12], other_fds=2)
    fake.process(301, 'nginx', [11])  # forked worker shares the listener
    fake.process(42, 'sshd', [13])
    fake.process(50, None, [14])  # no comm file
    root = fake.write()
    os.makedirs(os.path.join(root, 'self'))
    owners = procowners.socket_owners(['11', '12', '13', '14', '99'], root=root)
    assert owners == {'11': (300, 'nginx'), '12': (300, 'nginx'), '13': (42, 'sshd'), '14': (50, None)}


def test_socket_owners_stops_when_all_found(fake, monkeypatch):
    fake.process(10, 'server', [7])
    fake.process(20, 'client', [8, 9, 10], other_fds=5)
    root = fake.write()
    calls = []
    real = os.readlink

    def counting(path, dir_fd=None):
        calls.append(path)
        return real(path, dir_fd=dir_fd)

    monkeypatch.setattr(procowners.os, 'readlink', counting)
    assert procowners.socket_owners(['7'], root=root) == {'7': (10, 'server')}
    assert len(calls) == 1  # pid 20's eight descriptors were never read


def test_socket_owners_nothing_wanted(fake):
    assert procowners.socket_owners(['0', None, ''], root=fake.write()) == {}


def test_socket_owners_skips_unreadable(fake, monkeypatch):
    fake.process(10, 'a', [7])
    fake.process(20, 'b', [8])
    root = fake.write()
    real_open = os.open

    def deny(path, flags, *args, **kwargs):
        if path.endswith(os.path.join('10', 'fd')):
            raise PermissionError(13, 'Permission denied')
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(procowners.os, 'open', deny)
    assert procowners.socket_owners(['7', '8'], root=root) == {'8': (20, 'b')}


# ---------------------------------------------------------------- the real kernel, unprivileged

@pytest.mark.parametrize('netlink', [None, sockdiag])
def test_real_proc_sees_our_listener(netlink):
    """Without a netlink reader (ephemeral_range) the /proc/net tables; with sockdiag (port_info) netlink first."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        server.bind(('127.0.0.1', 0))
        server.listen(1)
        port = server.getsockname()[1]
        scan = procnet.scan_tables(1, 65535, netlink=netlink)
        # netlink where the kernel answers it (test_sockdiag.py)
        assert scan.source == 'proc' if netlink is None else scan.source in ('netlink', 'proc')
        mine = [item for item in scan.listeners if item.proto == 'tcp' and item.port == port]
        assert [(item.family, item.address) for item in mine] == [('ipv4', '127.0.0.1')]
        owners = procowners.socket_owners([mine[0].inode])
        assert owners[mine[0].inode][0] == os.getpid()
    finally:
        server.close()


def test_netlink_source_needs_the_reader():
    with pytest.raises(PortwardenError, match='no netlink reader was given'):
        procnet.scan_tables(1, 65535, source='netlink')
