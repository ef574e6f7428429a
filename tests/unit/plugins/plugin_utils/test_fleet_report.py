# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report model and its renderings (no Ansible run, no browser)."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report as fr

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
GENERATED = '2026-01-02T03:04:05Z'


def conflict_host():
    """A real port_info result: 45000 listened on inside 32768-60999 unreserved, 150 connections to :9100."""
    with open(os.path.join(FIXTURES, 'port_info_conflict.json')) as handle:
        return json.load(handle)


def clean_host(busy=0):
    result = conflict_host()
    result['conflicts'] = []
    result['listeners'] = [item for item in result['listeners'] if item['port'] != 45000]
    result['reserved_ports'] = {'ports': '45000,50051', 'list': [45000, 50051]}
    if not busy:
        result['usage']['busiest'] = []
    else:
        result['usage']['busiest'][0]['ports_in_use'] = busy
        result['usage']['busiest'][0]['headroom_rate'] = 100.5
    return result


def drift_host():
    result = clean_host()
    result['conflicts'] = [c for c in conflict_host()['conflicts'] if c['type'] == 'service_not_listening']
    return result


def fleet():
    return {'web1': clean_host(busy=2000), 'web2': drift_host(), 'db1': conflict_host(),
            'gone': None, 'broken': {'failed': True, 'msg': 'port_info reads Linux procfs and does not support Darwin.'}}


def test_statuses_and_fleet_counts():
    model = fr.build_model(fleet(), generated=GENERATED)
    status = dict((h['name'], h['status']) for h in model['hosts'])
    assert status == {'broken': 'no-data', 'db1': 'conflict', 'gone': 'no-data', 'web1': 'ok', 'web2': 'drift'}
    assert [h['name'] for h in model['hosts']] == ['broken', 'db1', 'gone', 'web1', 'web2']
    f = model['fleet']
    assert (f['hosts'], f['ok'], f['drift'], f['conflict'], f['no_data']) == (5, 1, 1, 1, 2)
    assert f['conflicts'] == 1 and f['drift_findings'] == 3 + 2
    assert f['reserved_ports'] == 1 + 2 + 2
    assert f['ranges'] == ['32768-60999']
    assert f['lowest_headroom']['host'] == 'web1' and f['lowest_headroom']['rate'] == 100.5
    broken = [h for h in model['hosts'] if h['name'] == 'broken'][0]
    assert broken['error'] == 'port_info reads Linux procfs and does not support Darwin.'
    gone = [h for h in model['hosts'] if h['name'] == 'gone'][0]
    assert 'unreachable' in gone['error']


def test_summary_rows_are_what_the_table_shows():
    rows = dict((r['host'], r) for r in fr.summary_rows(fr.build_model(fleet(), generated=GENERATED)))
    assert rows['db1'] == {
        'host': 'db1', 'status': 'conflict', 'range': '32768-60999', 'size': 28232, 'reserved': '50051',
        'reserved_count': 1, 'conflicts': 1, 'drift': 3, 'busiest': '127.0.0.1:9100 (150 ports, 0.53%)',
        'headroom': 468.02}
    assert rows['web2']['busiest'] == '-' and rows['web2']['headroom'] == 470.52  # no destination: any one destination
    assert rows['gone']['status'] == 'no-data' and rows['gone']['size'] is None


def test_text_table_is_aligned_and_totalled():
    lines = fr.text_table(fr.build_model(fleet(), generated=GENERATED))
    header, rows, total = lines[0], lines[1:6], lines[-1]
    assert header.split()[:3] == ['HOST', 'STATUS', 'RANGE']
    column = header.index('RANGE')
    assert [row[column:column + 11] for row in rows if 'no-data' not in row] == ['32768-60999'] * 3
    assert total == '5 host(s): 1 ok, 1 drift, 1 with conflicts, 2 without data; 1 conflict(s).'


def test_json_document_keeps_data_and_drops_geometry():
    model = fr.build_model(fleet(), generated=GENERATED)
    document = json.loads(fr.render(model, ['json'])['json'])
    assert document['generated'] == GENERATED
    assert sorted(document) == ['fleet', 'generated', 'generator', 'hosts', 'summary', 'title']
    db1 = [h for h in document['hosts'] if h['name'] == 'db1'][0]
    assert 'picture' not in db1 and 'id' not in db1
    assert db1['port_info']['conflicts'][0]['port'] == 45000
    assert db1['port_info'] == dict((k, v) for k, v in conflict_host().items() if k != 'changed')


HOSTILE = '<script>alert("x")</script>|`*_[a](javascript:1)'


def hostile_fleet():
    result = conflict_host()
    result['conflicts'][0]['msg'] = 'msg ' + HOSTILE
    result['conflicts'][0]['remedy'] = 'remedy </div><img src=x onerror=alert(1)>'
    result['listeners'][0]['process'] = '"><svg onload=alert(1)>'
    return {HOSTILE: result}


def test_html_escapes_every_value():
    html = fr.render(fr.build_model(hostile_fleet(), title='T <b>', generated=GENERATED), ['html'])['html']
    assert '<script' not in html
    assert '<img' not in html and '&lt;img src=x onerror=alert(1)&gt;' in html
    assert '<svg onload' not in html and '&#34;&gt;&lt;svg onload=alert(1)&gt;' in html
    assert '&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;' in html
    assert '<title>T &lt;b&gt;</title>' in html


def test_html_is_self_contained():
    html = fr.render(fr.build_model(fleet(), generated=GENERATED), ['html'])['html']
    assert html.startswith('<!DOCTYPE html>')
    assert not re.search(r'<script|<iframe|<object|<embed|@import|url\(', html, re.I)
    assert re.findall(r'(?:src|href)="([^"#][^"]*)"', html) == ['data:,']
    assert set(re.findall(r'https?://[^"\s<]+', html)) == {'http://www.w3.org/2000/svg'}  # the SVG namespace only
    assert html.count('<svg class="portmap"') == 3  # one picture per host with data
    assert html.count('class="conflict-line"') == 1  # db1's 45000


def test_markdown_escapes_values_and_keeps_the_table_intact():
    md = fr.render(fr.build_model(hostile_fleet(), generated=GENERATED), ['md'])['md']
    assert '<script>' not in md and '\\<script\\>' in md
    table = [line for line in md.splitlines() if line.startswith('| ')]
    header_cells = table[0].count(' | ')
    for row in table[1:]:
        unescaped = re.sub(r'\\\|', '', row)
        assert unescaped.count(' | ') == header_cells, row


def test_markdown_escape_function():
    assert fr.markdown_escape('a|b') == 'a\\|b'
    assert fr.markdown_escape('x_y *z*') == 'x\\_y \\*z\\*'
    assert fr.markdown_escape('line\nbreak') == 'line break'
    assert fr.markdown_escape('<b>&') == '\\<b\\>&amp;'
    assert fr.markdown_escape(None) == ''


def test_axis_is_monotonic_and_in_bounds():
    xs = [fr.port_x(p) for p in range(0, 65537, 97)]
    assert xs == sorted(xs)
    assert fr.port_x(0) == fr.AXIS_LEFT and fr.port_x(65536) == fr.AXIS_RIGHT
    assert fr.port_x(1024) == fr.AXIS_LEFT + fr.WELL_KNOWN_WIDTH
    # 0-1023 is drawn wider than a linear axis would draw it.
    assert fr.port_x(1024) - fr.port_x(0) > 5 * (fr.AXIS_RIGHT - fr.AXIS_LEFT) * 1024 / 65536.0
    assert fr.span_rect(45000, 45000)['width'] == 2.0


def test_picture_of_the_conflict_host():
    model = fr.build_model({'db1': conflict_host()}, generated=GENERATED)
    picture = model['hosts'][0]['picture']
    marks = dict((m['port'], m) for m in picture['marks'])
    assert marks[45000]['kind'] == 'conflict' and marks[45000]['label'] == '45000 !'
    assert marks[9100]['kind'] == 'listener'
    assert picture['range']['label'] == 'ephemeral 32768-60999 (28,232 ports)'
    assert [r['label'] for r in picture['reserved']] == ['reserved 50051']
    assert picture['range']['x'] == fr.port_x(32768)
    assert [t['label'] for t in picture['ticks'] if t['range']] == ['32768', '60999']


def test_declared_service_in_range_is_drawn_as_a_conflict_even_without_listener():
    result = conflict_host()
    result['conflicts'] = [{'type': 'service_in_range', 'proto': 'tcp', 'service': 'grpc', 'port': '50050-50052',
                            'ports': '50050-50052', 'msg': 'm', 'remedy': 'r', 'reserve': ['50050-50052']}]
    host = fr.build_model({'h': result}, generated=GENERATED)['hosts'][0]
    assert host['status'] == 'conflict'
    assert sorted(m['port'] for m in host['picture']['marks'] if m['kind'] == 'conflict') == [50050, 50051, 50052]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=65535), min_size=1, max_size=60, unique=True))
def test_labels_never_overlap_in_a_lane(ports):
    result = conflict_host()
    result['conflicts'] = []
    result['listeners'] = [{'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': p} for p in ports]
    picture = fr.build_model({'h': result}, generated=GENERATED)['hosts'][0]['picture']
    lanes = {}
    for mark in picture['marks']:
        assert 0 <= mark['x'] <= fr.SVG_WIDTH
        if mark['lane'] is None:
            continue
        width = fr.CHAR_WIDTH * len(mark['label']) + 8
        left = mark['label_x'] - width / 2.0
        assert left >= 0 and left + width <= fr.SVG_WIDTH + 0.01
        for other in lanes.setdefault(mark['lane'], []):
            assert left + width <= other[0] + 0.01 or left >= other[1] - 0.01
        lanes[mark['lane']].append((left, left + width))
    assert picture['top'] < picture['bar_top']


def test_slugs_are_unique_and_safe():
    model = fr.build_model({'Web 1': clean_host(), 'web-1': clean_host(), 'web_1': clean_host()}, generated=GENERATED)
    ids = [h['id'] for h in model['hosts']]
    assert len(set(ids)) == 3 and all(re.match(r'^host-[a-z0-9-]+$', i) for i in ids)


@pytest.mark.parametrize('bad, words', [
    ('not a dict', ['hosts must be a dictionary', 'str']),
    ({'h': dict(conflict_host(), ephemeral_range={'start': 60999, 'end': 32768})}, ['host h', '60999-32768']),
])
def test_bad_input_is_a_clear_error(bad, words):
    with pytest.raises(PortwardenError) as info:
        fr.build_model(bad)
    for word in words:
        assert word in info.value.msg


def test_unknown_format():
    with pytest.raises(PortwardenError, match="unknown report format 'pdf'"):
        fr.render(fr.build_model({}, generated=GENERATED), ['pdf'])


def test_empty_fleet_renders():
    files = fr.render(fr.build_model({}, generated=GENERATED))
    assert sorted(files) == ['html', 'json', 'md', 'txt']
    assert '0 host(s)' in files['txt']


def test_input_is_not_modified():
    data = fleet()
    before = copy.deepcopy(data)
    fr.render(fr.build_model(data, generated=GENERATED))
    assert data == before
