# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live state of the portwarden table that packets change: banned sources and drop counters.

Host side. Read with ``nft -j`` (JSON), for the audit (``port_info``'s
``firewall.banned`` and ``firewall.counters``) and for ``nft_table``, which
carries the bans over when it replaces the table (nft_bans.py).
"""

from __future__ import annotations

import json

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

TABLE_FAMILY = 'inet'
TABLE_NAME = 'portwarden'
BAN_SETS = ('banned_v4', 'banned_v6')
V6_BAN_PREFIX = 64
# The named counters of the table, by reason, as the template declares them.
COUNTERS = ('spoofed', 'invalid', 'scan_flags', 'rate_limit', 'scan_detected', 'banned', 'default_drop')


def _objects(text, kind):
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PortwardenError('nft printed JSON that does not parse: %s' % exc)
    items = data.get('nftables', []) if isinstance(data, dict) else []
    return [item[kind] for item in items if isinstance(item, dict) and isinstance(item.get(kind), dict)]


def parse_set_elements(text):
    """Elements of the set in ``nft -j list set`` output: a list of ``(value, seconds_left)``.

    ``seconds_left`` is None for an element without a timeout.
    """
    out = []
    for nft_set in _objects(text, 'set'):
        for elem in nft_set.get('elem', []):
            if isinstance(elem, dict) and isinstance(elem.get('elem'), dict):
                inner = elem['elem']
                value, expires = inner.get('val'), inner.get('expires')
            else:
                value, expires = elem, None
            if isinstance(value, dict) and 'prefix' in value:     # an interval element
                value = '%s/%s' % (value['prefix'].get('addr'), value['prefix'].get('len'))
            if isinstance(value, str):
                out.append((value, int(expires) if isinstance(expires, (int, float)) else None))
    return out


def parse_counters(text):
    """Named counters in ``nft -j list counters`` output: ``{name: {'packets': n, 'bytes': n}}``."""
    return dict((c['name'], {'packets': int(c.get('packets', 0)), 'bytes': int(c.get('bytes', 0))})
                for c in _objects(text, 'counter') if 'name' in c)


def banned_list(elements):
    """``{set: [(value, seconds_left)]}`` -> the audit's list of ``{source, seconds_left}``, IPv4 first."""
    out = []
    for name in BAN_SETS:
        for value, left in elements.get(name, []):
            source = value if name == 'banned_v4' else '%s/%d' % (value, V6_BAN_PREFIX)
            out.append({'source': source, 'seconds_left': left})
    return out


class DynamicState(object):
    """Reads the dynamic state of one table through ``run(argv) -> (rc, out, err)`` and the nft binary."""

    def __init__(self, run, nft, family=TABLE_FAMILY, name=TABLE_NAME):
        self.run = run
        self.nft = nft
        self.family = family
        self.name = name

    def _json(self, args):
        rc, out, err = self.run([self.nft, '-j'] + list(args))
        if rc != 0:
            return None
        return out

    def set_elements(self, set_name):
        """Elements of one set, or None when the set (or the table) does not exist or cannot be read."""
        out = self._json(['list', 'set', self.family, self.name, set_name])
        return None if out is None else parse_set_elements(out)

    def bans(self):
        """``{set: [(value, seconds_left)]}`` for the ban sets that exist (empty dict: none)."""
        found = {}
        for name in BAN_SETS:
            elements = self.set_elements(name)
            if elements is not None:
                found[name] = elements
        return found

    def counters(self):
        out = self._json(['list', 'counters', 'table', self.family, self.name])
        return None if out is None else parse_counters(out)

    def audit(self):
        """``{'banned': [...] or None, 'counters': {...} or None}``: None where the table is absent or unreadable."""
        counters = self.counters()
        if counters is None:
            return {'banned': None, 'counters': None}
        bans = self.bans()
        return {'banned': banned_list(bans), 'counters': dict((k, counters[k]) for k in COUNTERS if k in counters)}
