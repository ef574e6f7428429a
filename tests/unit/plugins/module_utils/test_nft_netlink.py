# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/nft_netlink.py: the digest of one table from netlink dumps, replayed from a real kernel.

fixtures/nft_netlink.json holds what a 6.18 kernel answered to each request of
table_state (recorded with fixtures/nft_netlink_record.py in a network
namespace): right after the load, after packets moved counters and quotas,
filled the dynamic sets and a ban was added, and after a foreign rule.
"""

from __future__ import annotations

import errno
import json
import os
import struct

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import nft_netlink

with open(os.path.join(os.path.dirname(__file__), 'fixtures', 'nft_netlink.json')) as _handle:
    FIXTURE = json.load(_handle)
LOADED, PACKETS, FOREIGN = FIXTURE['recordings']


class Replay(object):
    """A netlink socket that answers each request as the kernel did; ``edit(kind, payload)`` may change a reply."""

    def __init__(self, recording, edit=None):
        self.exchanges = [(bytes.fromhex(e['request']), [bytes.fromhex(r) for r in e['replies']])
                          for e in recording['exchanges']]
        self.edit = edit
        self.sent = []
        self.pending = []

    def send(self, data):
        self.sent.append(data)
        request, replies = self.exchanges[len(self.sent) - 1]
        assert data == request, 'the requests differ from the recording'
        self.pending = [self.rewrite(r) for r in replies]
        return len(data)

    def rewrite(self, chunk):
        if self.edit is None:
            return chunk
        out, offset = b'', 0
        while offset < len(chunk):
            length, kind = struct.unpack_from('=IH', chunk, offset)
            message = chunk[offset:offset + length]
            if kind >> 8 == nft_netlink.NFNL_SUBSYS_NFTABLES:
                head, payload = message[:16], self.edit(kind & 0xff, message[16:])   # nfgenmsg and attributes
                message = struct.pack('=I', 16 + len(payload)) + head[4:] + payload
            out += message
            offset += (length + 3) & ~3
        return out

    def recv_into(self, buf):
        chunk = self.pending.pop(0)
        buf[:len(chunk)] = chunk
        return len(chunk)

    def close(self):
        pass


def replayed(recording, edit=None):
    """(the replaying socket, the digest) of one recording, requested as table_state does."""
    replay = Replay(recording, edit)
    dumper = nft_netlink.Dumper(1, sock=replay)
    dumper.genid()
    return replay, nft_netlink.digest_table(dumper, FIXTURE['table'])


def digest(recording, edit=None):
    return replayed(recording, edit)[1]


def rebuild(payload, change):
    """The attributes of one message with ``change(type, data) -> data or None (dropped)`` applied at the top level."""
    out = b''
    for kind, data in nft_netlink.attributes(payload[4:]):
        data = change(kind, data)
        if data is not None:
            out += nft_netlink._attr(kind, data)
    return payload[:4] + out


def test_the_replayed_digest_is_what_the_kernel_gave():
    for recording in FIXTURE['recordings']:
        assert digest(recording) == recording['digest']


def test_packets_bans_counters_and_quotas_leave_the_digest_alone():
    assert LOADED['listing'] != PACKETS['listing']                      # counters, quota use and sets changed
    assert 'packets 0 bytes 0' in LOADED['listing'] and '127.0.0.5' in PACKETS['listing']
    assert digest(LOADED) == digest(PACKETS)


def test_a_foreign_rule_changes_it():
    assert digest(FOREIGN) != digest(LOADED)


def test_dynamic_sets_are_not_dumped_static_ones_are():
    replay = replayed(PACKETS)[0]
    dumped = [request for request in replay.sent if struct.unpack_from('=H', request, 4)[0] & 0xff == nft_netlink.GETSETELEM]
    names = sorted(name for request in dumped for kind, name in nft_netlink.attributes(request[20:]) if kind == 2)
    assert [n.rstrip(b'\0').decode() for n in names] == ['__set0', 'mgmt_v4', 'ports', 'spare']


@pytest.mark.parametrize('msg, attr', [
    (nft_netlink.GETRULE, 3),          # rule handles
    (nft_netlink.GETCHAIN, 2),         # chain handle
    (nft_netlink.GETSET, 16),          # set handles
    (nft_netlink.GETSET, 20),          # how many elements a set holds
    (nft_netlink.GETOBJ, 5),           # object use counts
    (nft_netlink.GETTABLE, 3),         # the table's use count
])
def test_identities_and_counts_are_left_out(msg, attr):
    def edit(kind, payload):
        if kind != msg - 1:                                        # replies are NEW* = GET* - 1
            return payload
        return rebuild(payload, lambda k, d: (b'\x99' * len(d)) if k == attr else d)
    assert digest(LOADED, edit) == LOADED['digest']


def test_the_generation_in_each_message_is_left_out():
    assert digest(LOADED, lambda kind, payload: payload[:2] + b'\x12\x34' + payload[4:]) == LOADED['digest']


def counter_values(kind, payload):
    """Every 8-byte attribute inside counter and quota data set to a large value (what packets do)."""
    if kind not in (nft_netlink.GETRULE - 1, nft_netlink.GETOBJ - 1):
        return payload
    return payload.replace(b'\x0c\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00', b'\x0c\x00\x01\x00\x00\x00\x00\x00\x00\x00\x09\x99')


@pytest.mark.parametrize('msg, attr, what', [
    (nft_netlink.GETRULE, 2, 'the chain of a rule'),
    (nft_netlink.GETCHAIN, 5, "a chain's policy"),
    (nft_netlink.GETSET, 3, "a set's flags"),
    (nft_netlink.GETOBJ, 3, "an object's type"),
])
def test_what_defines_the_table_changes_it(msg, attr, what):
    def edit(kind, payload):
        if kind != msg - 1:
            return payload
        return rebuild(payload, lambda k, d: (d[:-1] + bytes([d[-1] ^ 1])) if k == attr else d)
    assert digest(LOADED, edit) != LOADED['digest'], what


def test_an_element_of_a_static_set_changes_it_and_order_does_not():
    def flip(kind, payload):
        if kind != nft_netlink.GETSETELEM - 1:
            return payload
        return payload.replace(bytes([192, 0, 2, 0]), bytes([192, 0, 3, 0]))
    assert digest(LOADED, flip) != LOADED['digest']

    def reverse(sets):
        def edit(kind, payload):
            if kind != nft_netlink.GETSETELEM - 1 or dict(nft_netlink.attributes(payload[4:]))[2][:-1].decode() not in sets:
                return payload
            return rebuild(payload, lambda k, d: b''.join(nft_netlink._attr(e, v) for e, v in
                                                          reversed(nft_netlink.attributes(d))) if k == 3 else d)
        return edit
    assert digest(LOADED, reverse(('ports', 'spare', '__set0'))) == LOADED['digest']     # hash sets: any order
    assert digest(LOADED, reverse(('mgmt_v4',))) != LOADED['digest']   # an interval set comes in key order


def test_stateful_expressions_are_normalized():
    counter = nft_netlink._string(1, 'counter') + nft_netlink._attr(2, nft_netlink._attr(1, b'\0' * 8))
    moved = nft_netlink._string(1, 'counter') + nft_netlink._attr(2, nft_netlink._attr(1, b'\0' * 7 + b'\x05'))
    assert nft_netlink.expression(counter) == nft_netlink.expression(moved)
    quota = nft_netlink._string(1, 'quota') + nft_netlink._attr(2, nft_netlink._attr(1, b'\0' * 8) + nft_netlink._attr(
        2, struct.pack('>I', 0)) + nft_netlink._attr(4, b'\0' * 8))
    depleted = nft_netlink._string(1, 'quota') + nft_netlink._attr(2, nft_netlink._attr(1, b'\0' * 8) + nft_netlink._attr(
        2, struct.pack('>I', nft_netlink.QUOTA_DEPLETED)) + nft_netlink._attr(4, b'\0' * 7 + b'\x09'))
    inverted = nft_netlink._string(1, 'quota') + nft_netlink._attr(2, nft_netlink._attr(1, b'\0' * 8) + nft_netlink._attr(
        2, struct.pack('>I', 1)))
    assert nft_netlink.expression(quota) == nft_netlink.expression(depleted) != nft_netlink.expression(inverted)
    limit = nft_netlink._string(1, 'limit') + nft_netlink._attr(2, nft_netlink._attr(1, b'\0' * 7 + b'\x03'))
    faster = nft_netlink._string(1, 'limit') + nft_netlink._attr(2, nft_netlink._attr(1, b'\0' * 7 + b'\x04'))
    assert nft_netlink.expression(limit) != nft_netlink.expression(faster)


def test_counters_moving_in_the_dump_leave_it_alone():
    assert digest(LOADED, counter_values) == LOADED['digest']


class Answer(object):
    """A socket answering every request with one canned message."""

    def __init__(self, make):
        self.make = make
        self.seq = 0

    def send(self, data):
        self.seq = struct.unpack_from('=I', data, 8)[0]
        return len(data)

    def recv_into(self, buf):
        chunk = self.make(self.seq)
        buf[:len(chunk)] = chunk
        return len(chunk)

    def close(self):
        pass


def nlerror(code):
    return lambda seq: struct.pack('=IHHIIi', 36, nft_netlink.NLMSG_ERROR, 0, seq, 0, -code) + b'\0' * 16


def test_a_missing_table_is_absent_and_other_errors_are_raised():
    assert nft_netlink.digest_table(nft_netlink.Dumper(1, sock=Answer(nlerror(errno.ENOENT))), 't') == nft_netlink.ABSENT
    with pytest.raises(OSError):
        nft_netlink.digest_table(nft_netlink.Dumper(1, sock=Answer(nlerror(errno.EPERM))), 't')


def test_an_interrupted_dump_is_unavailable():
    def intr(seq):
        return struct.pack('=IHHII', 20, (nft_netlink.NFNL_SUBSYS_NFTABLES << 8) | 3, nft_netlink.NLM_F_DUMP_INTR
                           | nft_netlink.NLM_F_MULTI, seq, 0) + b'\x01\0\0\0'
    dumper = nft_netlink.Dumper(1, sock=Answer(intr))
    with pytest.raises(nft_netlink.Unavailable):
        list(dumper.request(nft_netlink.GETCHAIN, dump=True))


def test_table_state_needs_one_generation_around_the_dumps(monkeypatch):
    replays = []

    real = nft_netlink.Dumper

    def dumper(family):
        replay = Replay(LOADED)
        replays.append(replay)
        return real(family, sock=replay)
    monkeypatch.setattr(nft_netlink, 'Dumper', dumper)
    genid, state = nft_netlink.table_state(1, FIXTURE['table'])
    assert state == LOADED['digest'] and isinstance(genid, int)

    def moved(kind, payload):                      # the second GETGEN answers a later generation: a commit in between
        if kind == nft_netlink.NEWGEN and len(replays[-1].sent) > 1:
            return rebuild(payload, lambda k, d: struct.pack('>I', struct.unpack('>I', d)[0] + 1) if k == 1 else d)
        return payload

    def changing(family):
        replay = Replay(LOADED, moved)
        replays.append(replay)
        return real(family, sock=replay)
    monkeypatch.setattr(nft_netlink, 'Dumper', changing)
    with pytest.raises(nft_netlink.Unavailable):
        nft_netlink.table_state(1, FIXTURE['table'])


def test_malformed_attributes_are_unavailable():
    with pytest.raises(nft_netlink.Unavailable):
        nft_netlink.attributes(b'\x20\x00\x01\x00abcd')


class Split(Replay):
    """The kernel's answer with the elements of ``mgmt_v4`` (an interval set) over two messages instead of one."""

    def rewrite(self, chunk):
        out, offset = b'', 0
        while offset < len(chunk):
            length, kind = struct.unpack_from('=IH', chunk, offset)
            message = chunk[offset:offset + length]
            offset += (length + 3) & ~3
            at, found = 20, None
            while at < len(message):                          # the raw NFTA_SET_ELEM_LIST_* attributes
                size, number = struct.unpack_from('=HH', message, at)
                if number & 0x3fff == 3:
                    found = (at, size, number)
                at += (size + 3) & ~3
            if kind & 0xff != nft_netlink.GETSETELEM - 1 or b'mgmt_v4\0' not in message[20:] or found is None \
                    or found[1] <= 4:                         # (the kernel ends each dump with an empty message)
                out += message
                continue
            at, size, number = found
            raw = message[at + 4:at + size]
            cut = (struct.unpack_from('=H', raw, 0)[0] + 3) & ~3
            for part in (raw[:cut], raw[cut:]):
                body = message[16:at] + struct.pack('=HH', 4 + len(part), number) + part
                out += struct.pack('=I', 16 + len(body)) + message[4:16] + body
        return out


def test_an_interval_set_over_more_messages_gives_the_same_digest():
    replay = Split(LOADED)
    dumper = nft_netlink.Dumper(1, sock=replay)
    dumper.genid()
    assert nft_netlink.digest_table(dumper, FIXTURE['table']) == LOADED['digest']
    replies = [r for _request, rs in replay.exchanges for r in rs]
    assert sum(len(r) for r in replies) < sum(len(replay.rewrite(r)) for r in replies)   # it did split
