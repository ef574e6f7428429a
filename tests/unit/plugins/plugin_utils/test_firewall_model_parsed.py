# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""build_model merges the catalogue's sources as the validation parsed them (firewall_model.merge), without parsing
them a second time: the set elements are still exactly what ipaddress collapses, per entry and per family."""

from __future__ import annotations

import ipaddress
import random

from ansible_collections.portwarden.ports.plugins.plugin_utils import firewall_model


def _oracle(sources, version):
    nets = set(ipaddress.ip_network(s, strict=True) for s in sources)
    return ', '.join(str(n) for n in ipaddress.collapse_addresses(sorted(n for n in nets if n.version == version)))


def test_elements_are_what_ipaddress_collapses_for_every_entry():
    rng = random.Random(18)
    v4 = ['10.%d.%d.0/%d' % (rng.randrange(3), rng.randrange(256), rng.choice([22, 23, 24])) for dummy in range(400)]
    v4 = [str(ipaddress.ip_network(s, strict=False)) for s in v4] + ['10.1.2.3', '10.0.0.0/16', '192.0.2.0/25',
                                                                     '192.0.2.128/25']
    v6 = [str(ipaddress.ip_network('2001:db8:%x::/%d' % (rng.randrange(32), rng.choice([44, 48])), strict=False))
          for dummy in range(100)] + ['2001:db8:ff::1', '2001:db8::/40']
    catalogue = [
        {'name': 'mixed', 'port': 443, 'sources': v6[:50] + v4 + v6[50:]},     # families interleaved, duplicates
        {'name': 'v6only', 'port': 8443, 'sources': v6},
        {'name': 'v4only', 'port': '30000-30010', 'proto': 'udp', 'sources': v4[::-1]},
        {'name': 'anywhere', 'port': 22},
    ]
    model = firewall_model.build_model(catalogue)
    for entry, item in zip(catalogue, model['services']):
        sources = entry.get('sources') or []
        assert item['elements_v4'] == _oracle(sources, 4)
        assert item['elements_v6'] == _oracle(sources, 6)
        assert item['source_count'] == len(set(str(ipaddress.ip_network(s)) for s in sources))
    assert model['services'][3]['any_source'] is True and model['services'][3]['elements_v4'] == ''


def test_merge_is_collapse_on_parsed_sorted_networks():
    texts = ['10.0.0.16/29', '10.0.0.0/29', '10.0.0.8/29', '10.0.1.0/24', '10.0.1.128/25']
    items = sorted((firewall_model._interval(t) for t in texts), key=lambda item: (item[1], -item[2]))  # pylint: disable=protected-access
    assert firewall_model.merge(items) == firewall_model.collapse(texts) == ['10.0.0.0/28', '10.0.0.16/29', '10.0.1.0/24']
    assert firewall_model.merge([]) == []
