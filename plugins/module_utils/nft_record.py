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
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWGEN = 15
NFT_MSG_GETGEN = 16
NFTA_GEN_ID = 1
SO_NETNS_COOKIE = 71
NLMSG_ERROR = 2


def _nft_genid():
    """The nftables generation of this network namespace (NFT_MSG_GETGEN over netlink); it goes up by one with every
    committed transaction, whatever table it touches, and never otherwise (packets filling dynamic sets, ``nft -c``
    and listings leave it alone)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        sock.settimeout(2)
        sock.bind((0, 0))
        body = struct.pack('=BBH', socket.AF_UNSPEC, 0, 0)
        sock.send(struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, 1, 1, 0) + body)
        data = sock.recv(8192)
    finally:
        sock.close()
    offset = 0
    while offset + 16 <= len(data):
        length, msg_type = struct.unpack_from('=IH', data, offset)
        if length < 16:
            break
        if msg_type == NLMSG_ERROR:
            return None
        if msg_type == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN:
            attr = offset + 20
            while attr + 4 <= offset + length:
                attr_len, attr_type = struct.unpack_from('=HH', data, attr)
                if attr_len < 4:
                    break
                if attr_type & 0x3fff == NFTA_GEN_ID and attr_len >= 8:
                    return struct.unpack_from('>I', data, attr + 4)[0]
                attr += (attr_len + 3) & ~3
        offset += (length + 3) & ~3
    return None


def ruleset_generation():
    """``boot id:network namespace cookie:nftables generation``, or None.

    Equal values from two moments prove that no nftables transaction was
    committed in this network namespace in between: the boot id and the
    namespace cookie (never reused during a boot; Linux 5.14 and later) pin
    the namespace, and its generation goes up with every commit. None where
    any part is not available (older kernels, no netlink access): callers then
    list the table.
    """
    try:
        with open('/proc/sys/kernel/random/boot_id') as handle:
            boot_id = handle.read().strip()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            cookie = struct.unpack('=Q', probe.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
        finally:
            probe.close()
        genid = _nft_genid()
    except (AttributeError, OSError, ValueError, struct.error):
        return None
    if not boot_id or genid is None:
        return None
    return '%s:%d:%d' % (boot_id, cookie, genid)


# ---------------------------------------------------------------- the record of the loaded table
class Record(object):
    """What was loaded last: the script's digest, the ruleset generation right before the table was listed (or None),
    and the listing. Stored as ``digest`` / ``generation G`` (optional) / listing lines."""

    def __init__(self, digest, generation, listing):
        self.digest = digest
        self.generation = generation
        self.listing = listing

    @classmethod
    def parse(cls, text):
        if text is None:
            return None
        digest, _sep, rest = text.partition('\n')
        generation = None
        if rest.startswith('generation '):
            line, _sep, rest = rest.partition('\n')
            generation = line[len('generation '):].strip() or None
        return cls(digest, generation, rest)

    def format(self):
        gen = 'generation %s\n' % self.generation if self.generation else ''
        return '%s\n%s%s' % (self.digest, gen, self.listing or '')


def content_digest(content):
    return 'sha256:' + hashlib.sha256(content.encode('utf-8')).hexdigest()
