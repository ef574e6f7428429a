# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report shows conntrack use and the conntrack_near_full conflict (issue 16, item 8)."""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils import conflicts
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report as fr

from test_fleet_report import GENERATED, clean_host  # same directory


def full_host():
    result = clean_host()
    result['usage']['conntrack'] = {'entries': 243000, 'max': 262144, 'percent': 92.7, 'buckets': 262144,
                                    'drop': 12, 'early_drop': 0, 'insert_failed': 0}
    result['conflicts'] = conflicts.conntrack_conflicts(result['usage']['conntrack'], 80)
    return result


def test_conntrack_near_full_makes_a_conflict_host_with_the_remedy():
    model = fr.build_model({'nat1': full_host(), 'web1': clean_host()}, generated=GENERATED)
    hosts = dict((h['name'], h) for h in model['hosts'])
    assert hosts['nat1']['status'] == 'conflict' and hosts['web1']['status'] == 'ok'
    assert [c['type'] for c in hosts['nat1']['conflicts']] == ['conntrack_near_full']
    out = fr.render(model, ['md', 'html'])
    assert '243000 of 262144 entries (92.70%, warning at 80%)' in out['html']    # the conflict, in the host's data
    assert 'hashsize=524288, now 262144 buckets' in out['html']
    assert 'Conntrack table near full (at or over 80% of nf\\_conntrack\\_max) | conflict | 1 | nat1 |' in out['md']
    assert 'net.netfilter.nf_conntrack_max' in out['html']
    assert 'Conntrack 243,000 of 262,144 entries (92.7%)' in out['html']      # the host's facts, in the page data


def test_no_conntrack_line_without_conntrack():
    out = fr.render(fr.build_model({'web1': clean_host()}, generated=GENERATED), ['md', 'html'])
    assert 'Conntrack' not in out['md'] and 'Conntrack ' not in out['html']
