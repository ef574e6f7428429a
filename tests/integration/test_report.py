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


def open_page(browser, url, width=1280):
    """Load url in a new tab; return (session, problems, facts about the DOM, PNG of the whole page)."""
    target = browser.call('Target.createTarget', {'url': 'about:blank'})['targetId']
    session = browser.call('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
    for domain in ('Page', 'Runtime', 'Log', 'Network'):
        browser.call(domain + '.enable', session=session)
    browser.call('Emulation.setDeviceMetricsOverride',
                 {'width': width, 'height': 900, 'deviceScaleFactor': 1, 'mobile': False}, session=session)
    browser.events = []
    browser.call('Page.navigate', {'url': url}, session=session)
    browser.wait_for('Page.loadEventFired')
    facts = browser.call('Runtime.evaluate', {'returnByValue': True, 'expression': '''(() => {
        const svgs = Array.from(document.querySelectorAll('svg.portmap'));
        return {
          title: document.title,
          hosts: Array.from(document.querySelectorAll('section.panel h2')).map(h => h.textContent.trim()),
          svgSizes: svgs.map(s => { const r = s.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; }),
          conflictLines: document.querySelectorAll('.conflict-line').length,
          summaryRows: document.querySelectorAll('#summary tbody tr').length,
          scripts: document.scripts.length,
          height: document.documentElement.scrollHeight,
          bodyFont: getComputedStyle(document.body).fontFamily,
        };
    })()'''}, session=session)['result']['value']
    shot = browser.call('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': True}, session=session)
    time.sleep(0.3)  # let late console messages arrive
    browser.call('Runtime.evaluate', {'expression': '1'}, session=session)
    return session, problems_of(browser.events), facts, base64.b64decode(shot['data'])


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


@needs_chromium
def test_report_renders_in_chromium_without_errors(audited, tmp_path):
    dummy, report_dir, run = audited
    browser = Browser(str(tmp_path))
    try:
        session, problems, facts, png = open_page(browser, 'file://' + os.path.join(report_dir, 'report.html'))
    finally:
        browser.close()
    assert problems == []
    assert facts['title'] == 'Audit <test> & co'
    assert facts['scripts'] == 0
    assert facts['summaryRows'] == 1 and facts['conflictLines'] == 1
    assert facts['hosts'][0].startswith('Fleet summary') and facts['hosts'][1].startswith('pw-ns-host')
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
        dummy, problems, facts, png = open_page(browser, 'file://' + str(page), width=400)
    finally:
        browser.close()
    assert any('boom' in p for p in problems), problems
    assert any('undefinedFunction' in p for p in problems), problems
    assert any(p.startswith('request failed') for p in problems), problems
    assert decode_png(png)[0] == 400
