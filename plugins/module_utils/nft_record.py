# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What nft_table knows of the live table: listings without dynamic state, the record of the table it loaded, and
the kernel's ruleset generation (which tells, without any nft command, that nothing was committed since)."""

from __future__ import annotations

import hashlib
import socket
import struct

from ansible_collections.portwarden.ports.plugins.module_utils.nft_netlink import ABSENT, Dumper, Unavailable


# ---------------------------------------------------------------- listings
def _strip_dynamic_elements(block):
    """Lines of one ``set``/``map`` block, without its elements if the set is dynamic."""
    dynamic = block[0].strip().startswith('meter ') or any(
        line.strip().startswith('flags ') and 'dynamic' in line.strip()[6:].replace(' ', '').split(',') for line in block)
    if not dynamic:
        return block
    kept = []
    depth = 0
    for line in block:
        stripped = line.strip()
        if depth > 0:
            depth += stripped.count('{') - stripped.count('}')
            continue
        if stripped.startswith('elements = {'):
            depth = stripped.count('{') - stripped.count('}')
            continue
        kept.append(line)
    return kept


def normalize_listing(text):
    """A table listing without the state that changes by itself.

    Counters and quotas are already absent with ``nft -s``; this also drops
    the elements of dynamic sets (per-source rate limit state, added by
    packets) and trailing blanks, so two listings of an unchanged table are
    equal.
    """
    out = []
    block = None
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if block is not None:
            block.append(line)
            if stripped == '}' and len(line) - len(line.lstrip()) <= block_indent:
                out.extend(_strip_dynamic_elements(block))
                block = None
            continue
        if stripped.split(' ', 1)[0] in ('set', 'map', 'meter') and stripped.endswith('{'):
            block = [line]
            block_indent = len(line) - len(line.lstrip())
            continue
        out.append(line)
    if block is not None:
        out.extend(block)
    return '\n'.join(out).strip('\n') + '\n' if any(out) else ''


def restore_script(family, name, listing):
    """An ``nft -f`` script that puts the table back as ``listing`` shows it
    (or removes it when ``listing`` is None), in one transaction."""
    head = 'table %s %s {}\ndelete table %s %s\n' % (family, name, family, name)
    return head + (listing or '')


# ---------------------------------------------------------------- ruleset generation
SO_NETNS_COOKIE = 71


def _nft_genid():
    """The nftables generation of this network namespace (NFT_MSG_GETGEN over netlink); it goes up by one with every
    committed transaction, whatever table it touches, and never otherwise (packets filling dynamic sets, ``nft -c``
    and listings leave it alone)."""
    dumper = Dumper(socket.AF_UNSPEC)
    try:
        return dumper.genid()
    finally:
        dumper.close()


def ruleset_generation(genid=None):
    """``boot id:network namespace cookie:nftables generation``, or None.

    Equal values from two moments prove that no nftables transaction was
    committed in this network namespace in between: the boot id and the
    namespace cookie (never reused during a boot; Linux 5.14 and later) pin
    the namespace, and its generation goes up with every commit. None where
    any part is not available (older kernels, no netlink access): callers then
    list the table. ``genid``: the nftables generation when already read
    (nft_netlink reads it around its dumps).
    """
    try:
        with open('/proc/sys/kernel/random/boot_id') as handle:
            boot_id = handle.read().strip()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            cookie = struct.unpack('=Q', probe.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
        finally:
            probe.close()
        genid = _nft_genid() if genid is None else genid
    except (AttributeError, OSError, ValueError, struct.error, Unavailable):
        return None
    if not boot_id or genid is None:
        return None
    return '%s:%d:%d' % (boot_id, cookie, genid)


# ---------------------------------------------------------------- the record of the loaded table
class Record(object):
    """What was loaded last: the script's digest, the ruleset generation right before the table was read (or None),
    and what the table was then: its netlink digest (``state``, see nft_netlink) or, where netlink could not give
    one and in records of earlier versions, its listing. Stored as ``digest`` / ``generation G`` (optional) /
    ``state S`` or the listing lines."""

    def __init__(self, digest, generation, listing, state=None):
        self.digest = digest
        self.generation = generation
        self.listing = None if state else listing
        self.state = state

    @classmethod
    def parse(cls, text):
        if text is None:
            return None
        digest, _sep, rest = text.partition('\n')
        generation = state = None
        if rest.startswith('generation '):
            line, _sep, rest = rest.partition('\n')
            generation = line[len('generation '):].strip() or None
        if rest.startswith('state '):
            line, _sep, rest = rest.partition('\n')
            state = line[len('state '):].strip() or None
        return cls(digest, generation, rest, state)

    def format(self):
        gen = 'generation %s\n' % self.generation if self.generation else ''
        if self.state:
            return '%s\n%sstate %s\n' % (self.digest, gen, self.state)
        return '%s\n%s%s' % (self.digest, gen, self.listing or '')


def content_digest(content):
    return 'sha256:' + hashlib.sha256(content.encode('utf-8')).hexdigest()


class Live(object):
    """What a run knows of the live table: whether it exists, whether it drifted from the record, its netlink digest
    at ``generation`` (or None) and its listing, taken only when asked for (:meth:`text`) unless already known."""

    def __init__(self, mgr, exists, drifted, state=None, text=None, listed=False):
        self.mgr = mgr
        self.exists = exists
        self.drifted = drifted
        self.state = state
        self._text = text
        self.listed = listed

    def text(self):
        """The table's listing ('' when it does not exist); lists it once, where no listing is known yet."""
        if self._text is None and self.exists:
            self._text = self.mgr.listing()
            self.listed = True
        return self._text or ''

    def record(self, digest, generation):
        """The record of this table with ``digest`` as its script: the digest where known, else the listing."""
        if self.state:
            return Record(digest, generation, None, self.state)
        return Record(digest, generation, self.text())


def observe(mgr, record, generation):
    """Compare the live table with ``record``; nft runs only where netlink cannot tell.

    The generation unchanged since the record: the table is as recorded (no read at all). Otherwise its netlink
    digest at this generation against the record's digest; against a record that holds a listing (earlier versions,
    or netlink failed then) or where netlink fails now, the listing, as before. A record with a digest that cannot be
    compared now counts as drifted: the table is loaded again rather than trusted.
    """
    if record is not None and record.generation and generation == record.generation:
        return Live(mgr, True, False, record.state, record.listing)
    state = mgr.live_state(generation)
    if state is not None and (record is None or record.state is not None):
        exists = state != ABSENT
        return Live(mgr, exists, exists and record is not None and state != record.state, state if exists else None)
    text = mgr.listing()
    exists = text is not None
    drifted = exists and record is not None and (record.listing is None or text != record.listing)
    return Live(mgr, exists, drifted, state if exists else None, text, listed=True)
