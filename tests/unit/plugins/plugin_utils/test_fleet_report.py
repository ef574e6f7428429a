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
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report_html as fh
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report_picture as fp

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


def page_data(html):
    """The JSON data block of report.html, parsed, and the text between the script tags."""
    match = re.search(r'<script type="application/json" id="pw-data">(.*?)</script>', html, re.S)
    assert match, 'no data block'
    return json.loads(match.group(1)), match.group(1)


def test_html_escapes_every_value():
    html = fr.render(fr.build_model(hostile_fleet(), title='T <b>', generated=GENERATED), ['html'])['html']
    # Two script elements only: the page's data and its own code; no value reaches the markup unescaped.
    assert html.count('<script') == 2 and '<script>alert' not in html
    assert '<img' not in html and '&lt;img src=x onerror=alert(1)&gt;' in html  # the remedy, in the conflicts table
    assert '<svg onload' not in html
    assert '<title>T &lt;b&gt;</title>' in html
    data, raw = page_data(html)
    assert '<' not in raw and '>' not in raw and '&' not in raw
    host = data['hosts'][0]
    assert host['n'] == HOSTILE
    assert host['x']['l'][0][3] == '"><svg onload=alert(1)>'
    assert host['x']['cf'][0] == ['msg ' + HOSTILE, 'remedy </div><img src=x onerror=alert(1)>']


def test_script_json_escapes_what_ends_a_script_or_a_line():
    text = fh.script_json({'a': '</script><!-- & \u2028 \u2029'})
    assert '<' not in text and '&' not in text and '\u2028' not in text and '\u2029' not in text
    assert json.loads(text) == {'a': '</script><!-- & \u2028 \u2029'}


def test_the_page_script_builds_no_markup_from_strings():
    with open(os.path.join(fh.TEMPLATES, 'fleet_report.js.j2')) as handle:
        script = handle.read()
    assert not re.search(r'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function', script)
    assert '{{' not in script and '{%' not in script  # included verbatim into the page


def test_html_is_self_contained():
    html = fr.render(fr.build_model(fleet(), generated=GENERATED), ['html'])['html']
    assert html.startswith('<!DOCTYPE html>')
    assert "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"" in html
    assert not re.search(r'<script[^>]+src=|<iframe|<object|<embed|@import|url\(', html, re.I)
    assert re.findall(r'(?:src|href)="([^"#][^"]*)"', html) == ['data:,']
    assert set(re.findall(r'https?://[^"\'\s<]+', html)) == {'http://www.w3.org/2000/svg'}  # the SVG namespace only
    data, dummy = page_data(html)
    pictures = [h['x']['p'] for h in data['hosts'] if 'p' in h['x']]
    assert len(pictures) == 3  # one picture per host with data, drawn when the host is opened
    assert [m[0] for p in pictures for m in p['marks'] if m[1] == 'conflict'] == [fp.port_x(45000.5)]  # db1's 45000
    bands = [b['name'] for b in data['frame']['bands']]
    assert bands == ['well-known 0-1023', 'registered 1024-49151', 'dynamic (IANA) 49152-65535']


def test_markdown_escapes_values_and_keeps_the_table_intact():
    md = fr.render(fr.build_model(hostile_fleet(), generated=GENERATED), ['md'])['md']
    assert '<script>' not in md and '\\<script\\>' in md
    tables, current = [], []
    for line in md.splitlines() + ['']:
        if line.startswith('|'):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert len(tables) == 3  # findings by kind, ranges in use, hosts
    assert any(fh.markdown_escape(HOSTILE) in line for line in tables[2])
    for table in tables:
        header_cells = table[0].count(' | ')
        for row in table[2:]:
            unescaped = re.sub(r'\\\|', '', row)
            assert unescaped.count(' | ') == header_cells, row


def test_markdown_escape_function():
    assert fh.markdown_escape('a|b') == 'a\\|b'
    assert fh.markdown_escape('x_y *z*') == 'x\\_y \\*z\\*'
    assert fh.markdown_escape('line\nbreak') == 'line break'
    assert fh.markdown_escape('<b>&') == '\\<b\\>&amp;'
    assert fh.markdown_escape(None) == ''


def test_axis_is_monotonic_and_in_bounds():
    xs = [fp.port_x(p) for p in range(0, 65537, 97)]
    assert xs == sorted(xs)
    assert fp.port_x(0) == fp.AXIS_LEFT and fp.port_x(65536) == fp.AXIS_RIGHT
    assert fp.port_x(1024) == fp.AXIS_LEFT + fp.WELL_KNOWN_WIDTH
    # 0-1023 is drawn wider than a linear axis would draw it.
    assert fp.port_x(1024) - fp.port_x(0) > 5 * (fp.AXIS_RIGHT - fp.AXIS_LEFT) * 1024 / 65536.0
    assert fp.span_rect(45000, 45000)['width'] == 2.0


def test_picture_of_the_conflict_host():
    model = fr.build_model({'db1': conflict_host()}, generated=GENERATED)
    picture = model['hosts'][0]['picture']
    marks = dict((m['port'], m) for m in picture['marks'])
    assert marks[45000]['kind'] == 'conflict' and marks[45000]['label'] == '45000 !'
    assert marks[9100]['kind'] == 'listener'
    assert picture['range']['label'] == 'ephemeral 32768-60999 (28,232 ports)'
    assert [r['label'] for r in picture['reserved']] == ['reserved 50051']
    assert picture['range']['x'] == fp.port_x(32768)
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
        assert 0 <= mark['x'] <= fp.SVG_WIDTH
        if mark['lane'] is None:
            continue
        width = fp.CHAR_WIDTH * len(mark['label']) + 8
        left = mark['label_x'] - width / 2.0
        assert left >= 0 and left + width <= fp.SVG_WIDTH + 0.01
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
