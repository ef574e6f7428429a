# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sock_diag requests sockdiag.py sends, and the socket it sends them on.

A dump request is a netlink message: ``TCPDIAG_GETSOCK`` (TCP of both
families in one walk of the socket hash) or ``SOCK_DIAG_BY_FAMILY`` (one
family and protocol), the states asked for as a bit mask, and a filter the
kernel runs on each socket (``INET_DIAG_REQ_BYTECODE``: :func:`port_filter`).
"""

from __future__ import annotations

import errno
import socket
import struct

NETLINK_SOCK_DIAG = 4            # include/uapi/linux/netlink.h
SOCK_DIAG_BY_FAMILY = 20         # include/uapi/linux/sock_diag.h
TCPDIAG_GETSOCK = 18             # include/uapi/linux/inet_diag.h: the v1 request, both families
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300               # NLM_F_ROOT | NLM_F_MATCH
# TCP_ESTABLISHED (1) .. TCP_CLOSING (11) and TCP_NEW_SYN_RECV (12): what /proc/net lists.
# Not TCP_BOUND_INACTIVE (13): bound-only sockets, which /proc/net/tcp does not show.
ALL_STATES = 0x1FFE
ST_LISTEN = 10
LISTENING = 1 << ST_LISTEN
NOT_LISTENING = ALL_STATES & ~LISTENING
INET_DIAG_REQ_BYTECODE = 1       # the request's filter attribute
INET_DIAG_BC_S_GE = 2            # local port >= the next op's ``no`` field
INET_DIAG_BC_S_LE = 3            # local port <= the next op's ``no`` field
AF_INET = 2
AF_INET6 = 10
BUFSIZE = 1 << 16                # above the kernel's 32 KiB cap: every chunk after the first is full size


class Unavailable(Exception):
    """The kernel does not answer sock_diag here; read /proc/net instead."""

    def __init__(self, what, code, at_start=False):
        self.code = code
        self.at_start = at_start   # refused before any record: the request itself was refused
        super(Unavailable, self).__init__('%s: %s' % (what, errno.errorcode.get(code, code)))


def request_v2(family, protocol, seq=1, states=ALL_STATES, attributes=b''):
    """A ``SOCK_DIAG_BY_FAMILY`` dump request (``struct inet_diag_req_v2``) for one family and protocol:
    the sockets in ``states`` (a bit per state) that pass the filter in ``attributes`` (:func:`port_filter`)."""
    body = struct.pack('=BBBxI48x', family, protocol, 0, states) + attributes
    return struct.pack('=IHHII', 16 + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def request_tcp_both(seq=1, states=ALL_STATES, attributes=b''):
    """A ``TCPDIAG_GETSOCK`` dump request (``struct inet_diag_req``): TCP of every family in one dump."""
    body = struct.pack('=BBBB48xII', AF_INET, 0, 0, 0, states, 0) + attributes
    return struct.pack('=IHHII', 16 + len(body), TCPDIAG_GETSOCK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def port_filter(start, end):
    """The ``INET_DIAG_REQ_BYTECODE`` attribute that passes the sockets whose local port is in ``start..end``.

    Two tests of ``struct inet_diag_bc_op`` (code, yes, no), each followed by
    the op that holds its port in ``no``: a test that holds goes on to the
    next one (``yes``: 8 bytes on), one that fails jumps 4 bytes past the end
    of the program, which rejects the socket.
    """
    ops = struct.pack('=BBHBBHBBHBBH', INET_DIAG_BC_S_GE, 8, 20, 0, 0, start, INET_DIAG_BC_S_LE, 8, 12, 0, 0, end)
    return struct.pack('=HH', 4 + len(ops), INET_DIAG_REQ_BYTECODE) + ops


def open_socket():
    """A sock_diag netlink socket, or :class:`Unavailable` (no AF_NETLINK, no sock_diag, denied)."""
    family = getattr(socket, 'AF_NETLINK', None)
    if family is None:
        raise Unavailable('socket(AF_NETLINK)', errno.EAFNOSUPPORT)
    try:
        sock = socket.socket(family, socket.SOCK_RAW | getattr(socket, 'SOCK_CLOEXEC', 0), NETLINK_SOCK_DIAG)
    except OSError as exc:
        raise Unavailable('socket(AF_NETLINK, NETLINK_SOCK_DIAG)', exc.errno)
    return sock
