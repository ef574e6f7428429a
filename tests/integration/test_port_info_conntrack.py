# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's conntrack and listener scope on a real kernel.

A namespace host loads a stateful rule (``ct state established,related
accept``, the host firewall's own rule) in a table of its own, ``inet
smet_ct``: that is what turns conntrack on in a namespace. A helper then holds
N TCP connections over loopback, and the module must count at least N
entries. A burst of UDP flows (each datagram to another port is one more
entry) then crosses a 1 % threshold, and the conntrack_near_full conflict
appears; the kernel's own counts are read beside it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

N_CONNECTIONS = 60
N_FLOWS = 3000
RULESET = '''
table inet smet_ct {
    chain input {
        type filter hook input priority 0; policy accept;
        ct state established,related accept
    }
}
'''

HELPER = textwrap.dedent('''
    import socket, sys, time
    count = int(sys.argv[1])
    def listen(address, port):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((address, port))
        sock.listen(256)
        return sock
    server = listen('127.0.0.1', 8080)
    resolver = listen('127.0.0.53', 53)         # loopback only, not in the catalogue: not drift
    exporter = listen('0.0.0.0', 9100)          # reachable, not in the catalogue: drift
    held = []
    for _ in range(count):
        held.append(socket.create_connection(('127.0.0.1', 8080)))
        held.append(server.accept()[0])
    print('ready', flush=True)
    while True:
        time.sleep(60)
''')


def udp_flows(host, count):
    """One datagram from one socket to ``count`` ports of 127.0.0.1: one conntrack entry each (no listener needed)."""
    script = ('import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
              'for port in range(20000, 20000 + %d):\n    s.sendto(b"x", ("127.0.0.1", port))\n' % count)
    host.run([sys.executable, '-c', script])


@pytest.fixture
def ct_host(nshost, tmp_path):
    rules = tmp_path / 'smet_ct.nft'
    rules.write_text(RULESET)
    nshost.run(['nft', '-f', str(rules)])
    script = tmp_path / 'helper.py'
    script.write_text(HELPER)
    helper = nshost.popen([sys.executable, str(script), str(N_CONNECTIONS)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        line = helper.stdout.readline().strip()
        assert line == 'ready', 'connection helper did not start: %s' % helper.stderr.read()
        yield nshost
    finally:
        helper.kill()
        helper.communicate()
        nshost.run(['nft', 'delete', 'table', 'inet', 'smet_ct'], check=False)


def kernel_count(host):
    return int(host.sysctl('net.netfilter.nf_conntrack_count'))


def test_conntrack_counts_the_connections(ct_host):
    host = ct_host
    result = host.module('portwarden.ports.port_info', {})
    assert result['rc'] == 0, result
    table = result['usage']['conntrack']
    assert table['entries'] >= N_CONNECTIONS
    assert table['max'] == int(host.sysctl('net.netfilter.nf_conntrack_max'))
    assert table['percent'] == round(100.0 * table['entries'] / table['max'], 2)
    assert all(isinstance(table[key], int) and table[key] >= 0 for key in ('drop', 'early_drop', 'insert_failed'))
    assert [c for c in result['conflicts'] if c['type'] == 'conntrack_near_full'] == []
    assert isinstance(result['usage']['tcp_timestamps'], bool)
    assert result['usage']['tcp_timestamps'] == (host.sysctl('net.ipv4.tcp_timestamps') != '0')


def test_conntrack_near_full_from_real_flows(ct_host):
    host = ct_host
    args = {'conntrack_warn_percent': 1}
    before = host.module('portwarden.ports.port_info', args)
    threshold = int(host.sysctl('net.netfilter.nf_conntrack_max')) // 100 + 1
    assert before['usage']['conntrack']['entries'] < threshold, 'the namespace starts with too many entries'
    assert 'conntrack_near_full' not in [c['type'] for c in before['conflicts']]

    udp_flows(host, max(N_FLOWS, threshold + 200))
    for check in (True, False):     # check mode reports the same, and nothing is written
        after = host.module('portwarden.ports.port_info', args, check=check)
        assert after['rc'] == 0 and after['changed'] is False
        table = after['usage']['conntrack']
        assert table['entries'] >= threshold and kernel_count(host) >= threshold
        [conflict] = [c for c in after['conflicts'] if c['type'] == 'conntrack_near_full']
        assert conflict['entries'] == table['entries'] and conflict['warn_percent'] == 1
        assert 'net.netfilter.nf_conntrack_max' in conflict['remedy']
    assert host.ls('/etc/sysctl.d') == []


def test_loopback_listener_is_not_drift_on_a_real_kernel(ct_host):
    result = ct_host.module('portwarden.ports.port_info', {'services': [{'name': 'web', 'port': 8080}]})
    scopes = dict(((item['address'], item['port']), item['scope']) for item in result['listeners'])
    assert scopes == {('127.0.0.1', 8080): 'loopback', ('127.0.0.53', 53): 'loopback', ('0.0.0.0', 9100): 'any'}
    assert [(c['type'], c['port']) for c in result['conflicts']] == [('listener_not_declared', 9100)]


def test_bad_warn_percent_fails_cleanly(ct_host):
    result = ct_host.module('portwarden.ports.port_info', {'conntrack_warn_percent': 0})
    assert result.get('failed') is True
    assert 'Invalid conntrack_warn_percent 0: expected a whole number of percent from 1 to 100' in result['msg']
    assert 'Traceback' not in result.get('module_stderr', '')
