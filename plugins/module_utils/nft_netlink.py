# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A digest of ONE nftables table read over netlink (NETLINK_NETFILTER dumps), standard library only.

The digest covers what defines the table: the table itself, its chains (hook,
priority, policy, ...), its rules in order, its sets (flags, types, timeouts,
...), the elements of its static sets, its objects and flowtables. It leaves
out what changes by itself or by identity alone, as ``normalize_listing``
does for a listing: handles, use counts, the generation in each message,
rule and object counters, quotas' consumption and depletion, ``last`` state,
element expirations, and the elements of dynamic and timeout sets (packets
add those). So two digests of an unchanged table are equal and a change
another tool makes to the table changes the digest.

:func:`table_state` reads the generation before and after the dumps on the
same socket; a commit in between (or an interrupted dump) raises
:class:`Unavailable`, as does any netlink error: callers then list the table.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x1, 0x2, 0x10, 0x300
(GETTABLE, GETCHAIN, GETRULE, GETSET, GETSETELEM, NEWGEN, GETGEN, GETOBJ, GETFLOWTABLE) = (1, 4, 7, 10, 13, 15, 16, 19, 23)
NFTA_GEN_ID = 1
SET_INTERVAL, SET_TIMEOUT, SET_EVAL = 0x4, 0x10, 0x20  # NFT_SET_*; TIMEOUT, EVAL (dynamic): packets add elements
OBJECT_COUNTER, OBJECT_QUOTA = 1, 2
QUOTA_DEPLETED = 0x2
ABSENT = 'absent'
FAMILY_NUMBERS = {'ip': 2, 'ip6': 10, 'inet': 1, 'arp': 3, 'bridge': 7, 'netdev': 5}   # NFPROTO_*

# Attributes left out, per kind (nf_tables.h numbers): handles, use counts, pads, counters, ids and positions.
DROP = {
    'table': (3, 4, 5, 7),              # USE, HANDLE, PAD, OWNER (the owning socket's port id)
    'chain': (2, 6, 8, 9, 11),          # HANDLE, USE, COUNTERS, PAD, ID
    'rule': (3, 6, 8, 9, 10),           # HANDLE, POSITION, PAD, ID, POSITION_ID
    'set': (10, 14, 16, 20),            # ID, PAD, HANDLE, COUNT (how many elements: packets change it)
    'elem': (5, 8),                     # EXPIRATION, PAD
    'obj': (5, 6, 7),                   # USE, HANDLE, PAD
    'flowtable': (4, 5, 6),             # USE, HANDLE, PAD
}
# Attributes that hold expressions: (kind, attribute) -> 'one' (NFTA_EXPR_NAME/DATA) or 'list' (NFTA_LIST_ELEM of those)
EXPRS = {('rule', 4): 'list', ('set', 17): 'one', ('set', 18): 'list', ('elem', 7): 'one', ('elem', 11): 'list',
         ('dynset', 7): 'one', ('dynset', 10): 'list'}
TABLE_ATTR = {'chain': 1, 'rule': 1, 'set': 1, 'obj': 1, 'flowtable': 1}


class Unavailable(Exception):
    """The kernel cannot give a consistent digest right now (no netlink access, an error, a commit during the dump)."""


def attributes(data, start=0, end=None):
    """[(type, payload)] of the netlink attributes in ``data[start:end]`` (type without the nested/byte-order bits)."""
    end = len(data) if end is None else end
    out = []
    while start + 4 <= end:
        length, kind = struct.unpack_from('=HH', data, start)
        if length < 4 or start + length > end:
            raise Unavailable('malformed netlink attribute at offset %d' % start)
        out.append((kind & 0x3fff, data[start + 4:start + length]))
        start += (length + 3) & ~3
    return out


def _attr(kind, payload):
    return struct.pack('=HH', 4 + len(payload), kind) + payload + b'\0' * (-len(payload) % 4)


def _string(kind, text):
    return _attr(kind, text.encode('utf-8') + b'\0')


def _encode(items):
    """A canonical, unambiguous byte string of [(type, payload)]."""
    return b''.join(struct.pack('=HI', kind, len(payload)) + payload for kind, payload in items)


def _u32(payload):
    return struct.unpack('>I', payload[:4])[0] if len(payload) >= 4 else None


def expression(payload):
    """One expression (NFTA_EXPR_NAME, NFTA_EXPR_DATA) without its state: counters, quota use, ``last``."""
    attrs = attributes(payload)
    name = b''.join(p for k, p in attrs if k == 1).rstrip(b'\0').decode('ascii', 'replace')
    out = []
    for kind, data in attrs:
        if kind == 2:
            data = _encode(expression_data(name, attributes(data)))
        out.append((kind, data))
    return out


def expression_data(name, attrs):
    if name == 'counter' or name == 'last':
        return []                                    # bytes/packets, or when it last matched: all state
    if name == 'quota':
        return quota(attrs)
    if name == 'dynset':
        return normalize('dynset', attrs)
    return attrs


def quota(attrs):
    """A quota's limit and inversion; not what it consumed nor whether that depleted it."""
    out = []
    for kind, data in attrs:
        if kind in (3, 4):                           # PAD, CONSUMED
            continue
        if kind == 2 and _u32(data) is not None:
            data = struct.pack('>I', _u32(data) & ~QUOTA_DEPLETED)
        out.append((kind, data))
    return out


def expression_list(payload):
    return [(kind, _encode(expression(data))) for kind, data in attributes(payload)]


def normalize(kind, attrs):
    """``attrs`` of one object of ``kind`` without what changes by itself, expressions normalized."""
    out = []
    drop = DROP.get(kind, ())
    for number, data in attrs:
        if number in drop:
            continue
        how = EXPRS.get((kind, number))
        if how == 'one':
            data = _encode(expression(data))
        elif how == 'list':
            data = _encode(expression_list(data))
        out.append((number, data))
    return out


class Dumper(object):
    """Requests and dumps on one NETLINK_NETFILTER socket."""

    def __init__(self, family, sock=None):
        self.family = family
        self.seq = 0
        self.buf = bytearray(1 << 16)              # the kernel sends at most 32 KiB per dump message
        if sock is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
            sock.settimeout(5)
            sock.bind((0, 0))
        self.sock = sock

    def close(self):
        self.sock.close()

    def request(self, msg, attrs=b'', dump=False, family=None):
        """Yield (type, payload after nfgenmsg) of each reply until the dump ends (or the one reply of a get)."""
        self.seq += 1
        body = struct.pack('=BBH', self.family if family is None else family, 0, 0) + attrs
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else 0)
        self.sock.send(struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_NFTABLES << 8) | msg, flags, self.seq, 0) + body)
        while True:
            size = self.sock.recv_into(self.buf)
            view = bytes(self.buf[:size])
            offset = 0
            while offset + 16 <= size:
                length, kind, flags = struct.unpack_from('=IHH', view, offset)
                if length < 16 or offset + length > size:
                    raise Unavailable('malformed netlink message')
                if struct.unpack_from('=I', view, offset + 8)[0] == self.seq:
                    if kind == NLMSG_DONE:
                        return
                    if kind == NLMSG_ERROR:
                        code = -struct.unpack_from('=i', view, offset + 16)[0]
                        if code:
                            raise OSError(code, os.strerror(code))
                        return
                    if flags & NLM_F_DUMP_INTR:
                        raise Unavailable('the ruleset changed during the dump')
                    yield kind & 0xff, view[offset + 20:offset + length]
                    if not dump and not flags & NLM_F_MULTI:
                        return
                offset += (length + 3) & ~3

    def genid(self):
        for kind, payload in self.request(GETGEN, family=socket.AF_UNSPEC):
            for number, data in attributes(payload):
                if kind == NEWGEN and number == NFTA_GEN_ID:
                    return _u32(data)
        raise Unavailable('no generation in the reply to NFT_MSG_GETGEN')


def _ours(kind, attrs, name):
    wanted = name.encode('utf-8') + b'\0'
    return any(number == TABLE_ATTR[kind] and data == wanted for number, data in attrs)


def _elements(dumper, table, set_name, how):
    """(bytes, count) of the elements of one set: for an interval set (kept in key order by the kernel) the stream of
    element attributes in dump order; else each element, normalized where it carries expressions (``how`` 'parse'),
    sorted (a hash set has no stable order)."""
    chunks, found = [], []
    attrs = _string(1, table) + _string(2, set_name)
    for _kind, payload in dumper.request(GETSETELEM, attrs, dump=True):
        for number, data in attributes(payload):
            if number != 3:                                 # NFTA_SET_ELEM_LIST_ELEMENTS
                continue
            if how == 'stream':
                chunks.append(data)                         # whole elements, each with its length
                continue
            for _elem, elem in attributes(data):
                found.append(_encode(normalize('elem', attributes(elem))) if how == 'parse' else elem)
    if how == 'stream':
        return b''.join(chunks), 1               # self-delimiting: the same bytes however the kernel split the dump
    found.sort()
    return b''.join(struct.pack('=I', len(elem)) + elem for elem in found), len(found)


def digest_table(dumper, table):
    """'sha256:...' of the table ``table`` (of the dumper's family), or ABSENT when it does not exist."""
    try:
        replies = list(dumper.request(GETTABLE, _string(1, table)))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return ABSENT
        raise
    sha = hashlib.sha256()

    def feed(label, blob, count=1):
        sha.update(b'%s %d %d\n' % (label, count, len(blob)))
        sha.update(blob)

    for _kind, payload in replies:
        feed(b'table', _encode(normalize('table', attributes(payload))))
    sets = []
    for label, msg, filt in ((b'chain', GETCHAIN, b''), (b'rule', GETRULE, _string(1, table)),
                             (b'set', GETSET, _string(1, table)), (b'obj', GETOBJ, _string(1, table)),
                             (b'flowtable', GETFLOWTABLE, _string(1, table))):
        kind = label.decode('ascii')
        for _msg, payload in dumper.request(msg, filt, dump=True):
            attrs = attributes(payload)
            if not _ours(kind, attrs, table):
                continue
            if kind == 'obj':
                attrs = _object(attrs)
            feed(label, _encode(normalize(kind, attrs)))
            if kind == 'set':
                sets.append(attrs)
    for attrs in sets:
        values = dict(attrs)
        flags = _u32(values.get(3, b'')) or 0
        if flags & (SET_TIMEOUT | SET_EVAL):
            continue                                        # dynamic: packets and timeouts change the elements
        name = values.get(2, b'').rstrip(b'\0').decode('utf-8')
        how = 'parse' if (17 in values or 18 in values) else 'stream' if flags & SET_INTERVAL else 'sorted'
        feed(b'elements %s' % how.encode('ascii'), *_elements(dumper, table, name, how))
    return 'sha256:' + sha.hexdigest()


def _object(attrs):
    """An object's attributes with its state left out (a counter's values, a quota's consumption)."""
    obj_type = _u32(dict(attrs).get(3, b''))
    out = []
    for number, data in attrs:
        if number == 4 and obj_type == OBJECT_COUNTER:
            data = b''
        elif number == 4 and obj_type == OBJECT_QUOTA:
            data = _encode(quota(attributes(data)))
        out.append((number, data))
    return out


def table_state(family_number, table):
    """(nftables generation, digest of the table or ABSENT), both of one moment: raises Unavailable otherwise."""
    try:
        dumper = Dumper(family_number)
    except (AttributeError, OSError) as exc:
        raise Unavailable(str(exc))
    try:
        before = dumper.genid()
        digest = digest_table(dumper, table)
        if dumper.genid() != before:
            raise Unavailable('a transaction was committed during the dump')
    except (OSError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise Unavailable(str(exc))
    finally:
        dumper.close()
    return before, digest
