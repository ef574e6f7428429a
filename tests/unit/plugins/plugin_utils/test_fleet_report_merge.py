# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Several runs merged into one report, and the fleet overview (groups, histograms, ranges, order)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report as fr
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report_html as fh

from test_fleet_report import clean_host, conflict_host, drift_host, fleet

T1, T2, T3 = '2026-01-02T03:04:05Z', '2026-01-03T03:04:05Z', '2026-01-04T03:04:05Z'
PROVENANCE = ('collected', 'source', 'superseded')


def write_run(tmp_path, name, hosts, generated):
    path = tmp_path / name
    path.write_text(fr.make_report(hosts, formats=['json'], generated=generated)[1]['json'])
    return str(path)


def comparable(model):
    """The hosts of a model without where and when each result was collected."""
    return dict((h['name'], dict((k, v) for k, v in h.items() if k not in PROVENANCE)) for h in model['hosts'])


def test_the_merge_of_two_slices_is_the_report_of_one_run_host_for_host(tmp_path):
    hosts = fleet()
    names = sorted(hosts)
    a = write_run(tmp_path, 'a.json', dict((n, hosts[n]) for n in names[:2]), T1)
    b = write_run(tmp_path, 'b.json', dict((n, hosts[n]) for n in names[2:]), T2)
    merged, texts = fr.make_report(merge=[a, b], generated=T3)
    single = fr.build_model(hosts, generated=T3)
    assert comparable(merged) == comparable(single)
    for key in ('hosts', 'ok', 'drift', 'conflict', 'no_data', 'conflicts', 'drift_findings', 'reserved_ports',
                'listeners', 'ranges', 'lowest_headroom'):
        assert merged['fleet'][key] == single['fleet'][key], key
    assert merged['fleet']['merged'] == [a, b] and merged['fleet']['superseded'] == 0
    collected = dict((h['name'], (h['collected'], h['source'])) for h in merged['hosts'])
    assert collected[names[0]] == (T1, a) and collected[names[-1]] == (T2, b)
    assert fr.summary_rows(merged) == fr.summary_rows(single)
    # The merged report.json merges again to the same hosts.
    again = tmp_path / 'merged.json'
    again.write_text(texts['json'])
    assert comparable(fr.make_report(merge=[str(again)], generated=T3)[0]) == comparable(single)


def test_a_host_in_two_runs_keeps_its_newest_result_and_says_so(tmp_path):
    old = write_run(tmp_path, 'old.json', {'db1': conflict_host(), 'web1': clean_host()}, T1)
    new = write_run(tmp_path, 'new.json', {'db1': clean_host()}, T2)
    for order in ([old, new], [new, old]):
        model = fr.make_report(merge=order, generated=T3)[0]
        db1 = [h for h in model['hosts'] if h['name'] == 'db1'][0]
        assert db1['status'] == 'ok' and db1['collected'] == T2 and db1['source'] == new
        assert db1['superseded'] == [{'collected': T1, 'source': old}]
        assert model['fleet']['superseded'] == 1
    html = fr.render(model, ['html'])['html']
    assert 'Newest of 2 results; it replaced: %s from %s.' % (T1, old) in html
    # This run's own hosts are the newest of all.
    model = fr.make_report({'db1': drift_host()}, merge=[old, new], generated=T3)[0]
    db1 = [h for h in model['hosts'] if h['name'] == 'db1'][0]
    assert db1['status'] == 'drift' and db1['source'] is None and db1['collected'] == T3
    assert db1['superseded'] == [{'collected': T2, 'source': new}, {'collected': T1, 'source': old}]


def test_a_tie_keeps_the_later_input(tmp_path):
    a = write_run(tmp_path, 'a.json', {'h': conflict_host()}, T1)
    b = write_run(tmp_path, 'b.json', {'h': clean_host()}, T1)
    host = fr.make_report(merge=[a, b], generated=T3)[0]['hosts'][0]
    assert host['status'] == 'ok' and host['source'] == b


@pytest.mark.parametrize('content, words', [
    (None, ['cannot read', 'missing.json']),
    ('{not json', ['is not JSON', 'report.json of a fleet_report run']),
    (json.dumps({'hosts': []}), ['is not the report.json of a fleet_report run']),
    (json.dumps({'generator': fr.GENERATOR, 'generated': 'yesterday', 'hosts': []}), ["time 'yesterday'", 'UTC time']),
    (json.dumps({'generator': fr.GENERATOR, 'generated': T1, 'hosts': [{'name': 'h', 'status': 'ok'}]}),
     ['host h', 'neither a port_info result nor an error']),
])
def test_a_bad_merge_input_is_a_clear_error(tmp_path, content, words):
    path = tmp_path / ('missing.json' if content is None else 'bad.json')
    if content is not None:
        path.write_text(content)
    with pytest.raises(PortwardenError) as info:
        fr.make_report(merge=[str(path)])
    for word in words:
        assert word in info.value.msg


def many(count):
    """``count`` conflict hosts with the same conflict, plus one of each other status."""
    hosts = dict(('c%03d' % i, conflict_host()) for i in range(count))
    hosts.update({'web1': clean_host(busy=2000), 'web2': drift_host(), 'gone': None})
    return hosts


def test_the_same_conflict_on_many_hosts_is_one_group():
    model = fr.build_model(many(40), generated=T1)
    view = fh.overview(model)
    conflicts = view['conflict_groups']
    assert [(g['what'], g['count']) for g in conflicts] == [
        ('TCP 45000 listened on inside the ephemeral range, not reserved', 40)]
    assert len(conflicts[0]['shown']) == fh.GROUP_HOSTS_SHOWN and conflicts[0]['more'] == 40 - fh.GROUP_HOSTS_SHOWN
    drift = dict((g['what'], g['count']) for g in view['drift_groups'])
    assert drift['Service grpc (TCP 50051) declared, nothing listens on it'] == 41  # 40 conflict hosts + web2
    assert all(0 in view['membership']['c%03d' % i] for i in range(40))
    html = fr.render(model, ['html'])['html']
    assert html.count('<tr class="group"') == len(view['groups'])


def test_problems_first_histograms_and_ranges():
    model = fr.build_model(many(3), generated=T1)
    view = fh.overview(model)
    assert [h['status'] for h in view['ordered']] == ['conflict'] * 3 + ['no-data', 'drift', 'ok']
    with_data = model['fleet']['hosts'] - model['fleet']['no_data']
    assert view['utilization']['total'] == with_data == sum(b['count'] for b in view['utilization']['bars'])
    assert sum(b['count'] for b in view['headroom']['bars']) == with_data
    assert [b['count'] for b in view['headroom']['bars']][fh.HEADROOM_EDGES.index((100, 1000, '100-1,000/s'))] == with_data
    assert view['ranges']['rows'] == [{'range': '32768-60999', 'hosts': with_data, 'percent': 100.0}]


def test_ranges_beyond_the_top_are_summed():
    hosts = {}
    for i in range(fh.TOP_RANGES + 3):
        result = clean_host()
        result['ephemeral_range'] = {'start': 32768, 'end': 50000 + i, 'size': 50000 + i - 32768 + 1}
        hosts['h%02d' % i] = result
    ranges = fh.overview(fr.build_model(hosts, generated=T1))['ranges']
    assert len(ranges['rows']) == fh.TOP_RANGES and ranges['other_ranges'] == 3 and ranges['other_hosts'] == 3
    assert ranges['distinct'] == fh.TOP_RANGES + 3
