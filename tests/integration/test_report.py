# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit playbook and its report, end to end, opened in headless Chromium.

A namespace host gets a known port space (a listener inside the ephemeral
range, unreserved; a reserved catalogue port; held connections to one
destination). ``ansible-playbook portwarden.ports.audit`` runs on it (play 1
port_info, play 2 fleet_report on the controller); the report's files are
checked, then report.html is loaded in Debian's headless Chromium driven over
the DevTools protocol (``--remote-debugging-pipe``): the page must load with
no console message, no exception and no failed request, its pictures must
have a size, and a full-page screenshot must show the conflict's red.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import pytest

from conftest import ansible_env

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars',
                  '--remote-debugging-pipe']
SCREENSHOT_DIR = os.environ.get('PORTWARDEN_SCREENSHOT_DIR')
CONFLICT_RED = (0xdc, 0x26, 0x26)

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed (make deps)")


# ----------------------------------------------------------------------------- Chromium over a pipe
class Browser(object):
    """Headless Chromium driven with the DevTools protocol over fds 3 and 4."""

    def __init__(self, tmpdir):
        self.profile = tempfile.mkdtemp(prefix='pw-chromium-', dir=tmpdir)
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.stderr = open(os.path.join(tmpdir, 'chromium.log'), 'w+')
        self.proc = subprocess.Popen([CHROMIUM] + CHROMIUM_FLAGS + ['--user-data-dir=' + self.profile],
                                     stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr,
                                     close_fds=False, preexec_fn=wire)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b''
        self._next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b'\0' not in self._buffer:
            if time.time() > deadline:
                raise AssertionError('Chromium did not answer in time')
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise AssertionError('Chromium closed the DevTools pipe: %s' % self.log())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message.decode('utf-8'))

    def call(self, method, params=None, session=None, timeout=30):
        self._next_id += 1
        request = {'id': self._next_id, 'method': method, 'params': params or {}}
        if session:
            request['sessionId'] = session
        os.write(self._to_chrome, json.dumps(request).encode('utf-8') + b'\0')
        deadline = time.time() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get('id') == self._next_id:
                if 'error' in message:
                    raise AssertionError('%s failed: %s' % (method, message['error']))
                return message['result']
            self.events.append(message)

    def wait_for(self, method, timeout=30):
        deadline = time.time() + timeout
        for event in self.events:
            if event.get('method') == method:
                return event
        while True:
            message = self._read_message(deadline)
            self.events.append(message)
            if message.get('method') == method:
                return message

    def log(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()[-3000:]

    def close(self):
        try:
            self.call('Browser.close', timeout=5)
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def problems_of(events):
    """Console messages, exceptions, log errors and failed requests seen by the page."""
    found = []
    for event in events:
        method, params = event.get('method'), event.get('params', {})
        if method == 'Runtime.exceptionThrown':
            details = params['exceptionDetails']
            found.append('exception: %s %s' % (details.get('text'), details.get('exception', {}).get('description', '')))
        elif method == 'Runtime.consoleAPICalled':
            found.append('console.%s: %s' % (params['type'], [a.get('value') for a in params.get('args', [])]))
        elif method == 'Log.entryAdded' and params['entry']['level'] in ('error', 'warning'):
            found.append('log %s: %s %s' % (params['entry']['level'], params['entry']['text'], params['entry'].get('url', '')))
        elif method == 'Network.loadingFailed':
            found.append('request failed: %s' % params.get('errorText'))
        elif method == 'Network.requestWillBeSent':
            url = params['request']['url']
            if not url.startswith(('file://', 'data:')):
                found.append('request outside the page: %s' % url)
    return found


FACTS = '''(() => {
    const svgs = Array.from(document.querySelectorAll('svg.portmap'));
    const number = el => Number(el.textContent.replace(/,/g, ''));
    const counts = {};
    document.querySelectorAll('#counts [data-count]').forEach(el => { counts[el.dataset.count] = number(el); });
    const bars = id => Array.from(document.querySelectorAll('#' + id + ' rect[data-bar]')).map(r => [r.dataset.bar, Number(r.dataset.count)]);
    const shown = document.getElementById('shown-count');
    return {
      title: document.title,
      counts: counts,
      utilization: bars('utilization'),
      headroom: bars('headroom'),
      ranges: Array.from(document.querySelectorAll('#ranges tr[data-range]')).map(r => [r.dataset.range, number(r.cells[1])]),
      groups: Array.from(document.querySelectorAll('tr.group')).map(r => [r.querySelector('.what').textContent, Number(r.dataset.count)]),
      rows: Array.from(document.querySelectorAll('#summary tr.host-row')).map(r => [r.dataset.host, r.dataset.status]),
      matching: shown ? Number(shown.dataset.matching) : null,
      svgSizes: svgs.map(s => { const r = s.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; }),
      conflictLines: document.querySelectorAll('svg.portmap .conflict-line').length,
      scripts: Array.from(document.scripts).map(s => s.src ? 'src' : s.type || 'inline'),
      height: document.documentElement.scrollHeight,
    };
})()'''


def evaluate(browser, session, expression, timeout=60):
    reply = browser.call('Runtime.evaluate', {'returnByValue': True, 'awaitPromise': True, 'expression': expression},
                         session=session, timeout=timeout)
    if 'exceptionDetails' in reply:
        raise AssertionError('page script failed: %s' % reply['exceptionDetails'])
    return reply['result'].get('value')


def open_page(browser, url, width=1280, actions=(), full_page=True, timeout=60):
    """Load url in a new tab, run the ``actions`` (JS expressions) in order; return
    (session, problems, facts about the DOM after the actions, PNG of the page, load seconds)."""
    target = browser.call('Target.createTarget', {'url': 'about:blank'})['targetId']
    session = browser.call('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
    for domain in ('Page', 'Runtime', 'Log', 'Network'):
        browser.call(domain + '.enable', session=session)
    browser.call('Emulation.setDeviceMetricsOverride',
                 {'width': width, 'height': 900, 'deviceScaleFactor': 1, 'mobile': False}, session=session)
    browser.events = []
    started = time.time()
    browser.call('Page.navigate', {'url': url}, session=session, timeout=timeout)
    browser.wait_for('Page.loadEventFired', timeout=timeout)
    loaded = time.time() - started
    for action in actions:
        evaluate(browser, session, action, timeout=timeout)
    facts = evaluate(browser, session, FACTS, timeout=timeout)
    shot = browser.call('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': full_page},
                        session=session, timeout=timeout)
    time.sleep(0.3)  # let late console messages arrive
    browser.call('Runtime.evaluate', {'expression': '1'}, session=session)
    return session, problems_of(browser.events), facts, base64.b64decode(shot['data']), loaded


# ----------------------------------------------------------------------------- PNG without PIL
def decode_png(data):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat, header = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', chunk)
        elif kind == b'IDAT':
            idat += chunk
        pos += 12 + length
    width, height, depth, color = header[:4]
    assert depth == 8 and color in (2, 6), 'unexpected PNG format %r' % (header,)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous, offset = [], bytearray(stride), 0
    for dummy in range(height):
        kind = raw[offset]
        line = bytearray(raw[offset + 1:offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xff
            elif kind == 2:
                line[i] = (line[i] + up) & 0xff
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xff
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xff
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        previous = line
    return width, height, rows


def color_count(rows, rgb, tolerance=6):
    return sum(1 for row in rows for pixel in row if all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb)))


# ----------------------------------------------------------------------------- the audit on a real kernel
CATALOGUE = [{'name': 'metrics', 'port': 9100}, {'name': 'grpc', 'port': 50051}]
WORKLOAD = r'''
import socket, sys, time
listeners = []
for port in (9100, 45000, 50051):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(512); listeners.append(s)
clients = [socket.create_connection(("127.0.0.1", 9100)) for _ in range(120)]
print("up", flush=True)
time.sleep(300)
'''


def run_audit(host, report_dir, check=False):
    argv = host.nsenter() + [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                             '-i', 'pw-ns-host,', '-c', 'local', 'portwarden.ports.audit',
                             '-e', json.dumps({'ansible_python_interpreter': sys.executable,
                                               'portwarden_services': CATALOGUE,
                                               'portwarden_report_dir': report_dir,
                                               'portwarden_report_title': 'Audit <test> & co'})]
    if check:
        argv.append('--check')
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK='default')
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


@pytest.fixture
def audited(nshost, tmp_path):
    """A namespace host with a known port space, audited once; yields (host, report_dir, run)."""
    nshost.set_sysctl('net.ipv4.ip_local_port_range', '32768 60999')
    nshost.set_sysctl('net.ipv4.ip_local_reserved_ports', '50051')
    proc = subprocess.Popen(nshost.nsenter() + [sys.executable, '-c', WORKLOAD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'up'
        report_dir = str(tmp_path / 'report')
        checked = run_audit(nshost, report_dir, check=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert not os.path.exists(report_dir), 'check mode wrote the report'
        run = run_audit(nshost, report_dir)
        assert run.returncode == 0, run.stdout + run.stderr
        yield nshost, report_dir, run
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_audit_writes_the_report_files(audited):
    dummy, report_dir, run = audited
    assert sorted(os.listdir(report_dir)) == ['report.html', 'report.json', 'report.md', 'summary.txt']
    with open(os.path.join(report_dir, 'report.json')) as handle:
        report = json.load(handle)
    host = report['hosts'][0]
    assert report['title'] == 'Audit <test> & co'
    assert host['name'] == 'pw-ns-host' and host['status'] == 'conflict'
    assert host['range_text'] == '32768-60999' and host['reserved']['ports'] == '50051'
    assert [(c['type'], c['port']) for c in host['conflicts']] == [('listener_in_range', 45000)]
    assert [(c['type'], c['port']) for c in host['drift']] == [('listener_not_declared', 45000)]
    assert host['busiest']['address'] == '127.0.0.1' and host['busiest']['port'] == 9100
    assert host['busiest']['ports_in_use'] == 120
    # The summary table printed by the playbook is the one in summary.txt.
    with open(os.path.join(report_dir, 'summary.txt')) as handle:
        table = handle.read().splitlines()
    assert table[1].split()[:3] == ['pw-ns-host', 'conflict', '32768-60999']
    assert table[1] in run.stdout
    assert os.path.join(report_dir, 'report.html') in run.stdout
    with open(os.path.join(report_dir, 'report.md')) as handle:
        markdown = handle.read()
    assert '| pw-ns-host | conflict | 32768-60999 | 28,232 | 50051 | 1 | 1 | 127.0.0.1:9100 (120 ports' in markdown
    assert 'Audit \\<test\\> &amp; co' in markdown


OPEN_FIRST_HOST = "document.querySelector('#summary tr.host-row').click()"


@needs_chromium
def test_report_renders_in_chromium_without_errors(audited, tmp_path):
    dummy, report_dir, run = audited
    browser = Browser(str(tmp_path))
    try:
        session, problems, facts, png, loaded = open_page(browser, 'file://' + os.path.join(report_dir, 'report.html'),
                                                          actions=[OPEN_FIRST_HOST])
    finally:
        browser.close()
    assert problems == []
    assert facts['title'] == 'Audit <test> & co'
    assert facts['scripts'] == ['application/json', 'inline']
    assert facts['counts'] == {'hosts': 1, 'ok': 0, 'drift': 0, 'conflict': 1, 'no-data': 0, 'conflicts': 1, 'ranges': 1,
                               'banned': 0}
    assert facts['rows'] == [['pw-ns-host', 'conflict']] and facts['matching'] == 1
    assert facts['groups'][0] == ['TCP 45000 listened on inside the ephemeral range, not reserved', 1]
    assert facts['ranges'] == [['32768-60999', 1]]
    # The opened host's picture: drawn, with the conflict's line.
    assert facts['conflictLines'] == 1
    assert len(facts['svgSizes']) == 1 and facts['svgSizes'][0][0] > 900 and facts['svgSizes'][0][1] > 80
    width, height, rows = decode_png(png)
    assert width == 1280 and height == facts['height'] and height > 900
    # The conflict's red is drawn (line, marker, label), and the page is not one flat colour.
    assert color_count(rows, CONFLICT_RED) > 40
    assert len(set(pixel for row in rows[::7] for pixel in row[::7])) > 50
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        with open(os.path.join(SCREENSHOT_DIR, 'report.png'), 'wb') as handle:
            handle.write(png)


@needs_chromium
def test_the_browser_check_catches_console_errors_and_failed_loads(tmp_path):
    """Control: the same check fails on a page with a script error and a missing image."""
    page = tmp_path / 'broken.html'
    page.write_text('<!DOCTYPE html><html><head><title>broken</title></head><body>'
                    '<img src="missing.png"><script>console.error("boom"); undefinedFunction();</script></body></html>')
    browser = Browser(str(tmp_path))
    try:
        dummy, problems, dummy2, png, dummy3 = open_page(browser, 'file://' + str(page), width=400)
    finally:
        browser.close()
    assert any('boom' in p for p in problems), problems
    assert any('undefinedFunction' in p for p in problems), problems
    assert any(p.startswith('request failed') for p in problems), problems
    assert decode_png(png)[0] == 400


# ----------------------------------------------------------------------------- 10,000 hosts
def fleet_report_modules():
    """The collection's report code and the benchmarks' varied real port_info results."""
    from conftest import COLLECTIONS, REPO
    for path in (COLLECTIONS, os.path.join(REPO, 'benchmarks')):
        if path not in sys.path:
            sys.path.insert(0, path)
    from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report
    import report_inputs
    return fleet_report, report_inputs


def expected_groups(hosts):
    """Findings by kind counted from report.json on its own: (type, proto, port, service) -> hosts."""
    groups = {}
    for host in hosts:
        for item in host.get('conflicts', []) + host.get('drift', []):
            key = (item['type'], item.get('proto'), str(item.get('ports') or item.get('port')), item.get('service'))
            groups.setdefault(key, set()).add(host['name'])
    return sorted(len(v) for v in groups.values())


@needs_chromium
def test_a_report_of_10000_hosts_loads_and_its_figures_are_report_json_s(tmp_path):
    fleet_report, report_inputs = fleet_report_modules()
    dummy, texts = fleet_report.make_report(report_inputs.fleet(10000), title='Fleet of 10,000')
    for fmt, text in texts.items():
        (tmp_path / fleet_report.FILE_NAMES[fmt]).write_text(text)
    report = json.loads(texts['json'])
    fleet = report['fleet']
    hosts = report['hosts']
    first_conflict = [h['name'] for h in hosts if h['status'] == 'conflict'][0]
    browser = Browser(str(tmp_path))
    url = 'file://' + str(tmp_path / 'report.html')
    try:
        session, problems, facts, png, loaded = open_page(browser, url, full_page=False, timeout=120)
        dummy, problems2, conflicts, dummy2, dummy3 = open_page(browser, url, full_page=False, timeout=120, actions=[
            "document.querySelector('.status-filter button[data-status=\"conflict\"]').click()"])
        dummy, problems3, searched, shot, dummy3 = open_page(browser, url, full_page=False, timeout=120, actions=[
            "(() => { const s = document.getElementById('search'); s.value = %s; "
            "s.dispatchEvent(new Event('input')); })()" % json.dumps(first_conflict), OPEN_FIRST_HOST,
            "document.getElementById('hosts').scrollIntoView()"])
    finally:
        browser.close()
    assert problems == problems2 == problems3 == []
    assert len(texts['html']) < 40e6 and loaded < 60
    # The page's own figures are report.json's.
    assert facts['counts'] == {'hosts': 10000, 'ok': fleet['ok'], 'drift': fleet['drift'], 'conflict': fleet['conflict'],
                               'no-data': fleet['no_data'], 'conflicts': fleet['conflicts'], 'ranges': len(fleet['ranges']),
                               'banned': fleet['banned_sources']}
    assert fleet['ok'] + fleet['drift'] + fleet['conflict'] + fleet['no_data'] == 10000
    assert min(fleet['ok'], fleet['drift'], fleet['conflict'], fleet['no_data']) > 100  # every status is there
    with_data = [h for h in hosts if h['status'] != 'no-data']
    utilization = [0] * 10
    for host in with_data:
        utilization[min(9, int(host['utilization_percent'] // 10))] += 1
    assert [count for dummy, count in facts['utilization']] == utilization
    assert sum(count for dummy, count in facts['headroom']) == len(with_data)
    in_use = {}
    for host in with_data:
        in_use[host['range_text']] = in_use.get(host['range_text'], 0) + 1
    assert sorted(count for dummy, count in facts['ranges']) == sorted(in_use.values())[-len(facts['ranges']):]
    assert sorted(count for dummy, count in facts['groups']) == expected_groups(hosts)
    assert len(facts['groups']) < 60  # grouped: not one line per host
    # Problems first, a page of 100 rows; the filter and the search.
    assert facts['matching'] == 10000 and len(facts['rows']) == 100
    assert [status for dummy, status in facts['rows']] == ['conflict'] * 100
    assert conflicts['matching'] == fleet['conflict'] and set(s for dummy, s in conflicts['rows']) == {'conflict'}
    assert searched['rows'] == [[first_conflict, 'conflict']] and searched['conflictLines'] >= 1
    assert searched['svgSizes'][0][0] > 900
    width, height, rows = decode_png(shot)
    assert width == 1280 and color_count(rows, CONFLICT_RED) > 40
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        with open(os.path.join(SCREENSHOT_DIR, 'report-10000.png'), 'wb') as handle:
            handle.write(png)
        with open(os.path.join(SCREENSHOT_DIR, 'report-10000-host.png'), 'wb') as handle:
            handle.write(shot)
