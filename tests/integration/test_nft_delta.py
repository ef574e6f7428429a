# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nft_table's replacement that keeps the unchanged sets (module_utils/nft_delta.py), on a real kernel.

In network namespaces (real nft, root): a replacement whose script keeps its big static set and the ban set loads
only what changed; the table is then the one the whole script gives in a fresh namespace (object by object), the
ban and the set's elements are still there, real connections go as the new rules say, another tool's change to a
kept set is drift that is repaired, and a script that the kernel refuses changes nothing.
"""

from __future__ import annotations

import os
import sys

from conftest import NsHost

NAME = 'pwdelta'
NETWORKS = ', '.join(['127.0.0.1/32'] + ['10.%d.%d.0/24' % (i // 256, i % 256) for i in range(3000)])
CLIENT = r'''
import socket, sys
for source in sys.argv[2:]:
    s = socket.socket()
    s.settimeout(0.5)
    s.bind((source, 0))
    try:
        s.connect(('127.0.0.1', int(sys.argv[1])))
        print(source, 'open')
    except OSError:
        print(source, 'closed')
    s.close()
'''


def table(port=7301, rate='5/minute', extra_set='', counter='hits'):
    """A script of the shape the host_firewall role writes: declare, delete, define one table."""
    return '''# a script that replaces the table whole
table inet {name} {{}}
delete table inet {name}
table inet {name} {{
\tcounter {counter} {{
\t}}

\tset allow_v4 {{
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = {{ {networks} }}
\t}}

\tset banned_v4 {{
\t\ttype ipv4_addr
\t\tsize 65535
\t\tflags dynamic,timeout
\t\ttimeout 1h
\t}}
{extra_set}
\tchain input {{
\t\ttype filter hook input priority filter; policy accept;
\t\tip saddr @banned_v4 drop
\t\tip saddr @allow_v4 tcp dport {port} counter name "{counter}" accept
\t\ttcp dport {port} limit rate {rate} log prefix "pwdelta: " drop
\t\ttcp dport {port} drop
\t}}
}}
'''.format(name=NAME, networks=NETWORKS, port=port, rate=rate, extra_set=extra_set, counter=counter)


def task(host, content):
    return {'content': content, 'path': os.path.join(host.tmpdir, 'etc', NAME + '.nft'), 'name': NAME,
            'state_dir': os.path.join(host.tmpdir, 'state'), 'rollback_timeout': 30, 'keep_sets': ['banned_v4']}


def apply(host, content, check=False):
    return host.module('portwarden.ports.nft_table', task(host, content), check=check)


def listing(host):
    return host.table_listing(NAME)


def digest(host):
    return host.table_digest(NAME)


def connect(host, port, *sources):
    out = host.run([sys.executable, '-c', CLIENT, str(port)] + list(sources)).stdout.split()
    return dict(zip(out[::2], out[1::2]))


def listen(host, port):
    return host.popen([sys.executable, '-c', 'import socket, time\ns = socket.socket()\n'
                       's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(("127.0.0.1", %d))\n'
                       's.listen(64)\nprint("ready", flush=True)\ntime.sleep(3600)' % port, ], stdout=-1, text=True)


def test_a_replacement_keeps_the_unchanged_sets_and_gives_the_whole_scripts_table(nshost, tmp_path):
    first, second = table(), table(port=7302, rate='6/minute', counter='hits2',
                                   extra_set='\n\tset spare_v4 {\n\t\ttype ipv4_addr\n\t}\n')
    assert apply(nshost, first)['changed'] and not apply(nshost, first)['changed']
    nshost.run(['nft', 'add', 'element', 'inet', NAME, 'banned_v4', '{ 127.0.0.9 timeout 1h }'])   # as a packet would
    servers = [listen(nshost, port) for port in (7301, 7302)]
    try:
        for server in servers:
            assert server.stdout.readline().strip() == 'ready'
        assert connect(nshost, 7301, '127.0.0.1', '127.0.0.2', '127.0.0.9') == {
            '127.0.0.1': 'open', '127.0.0.2': 'closed', '127.0.0.9': 'closed'}
        predicted = apply(nshost, second, check=True)
        assert predicted['changed'] and predicted['table_changed'], predicted
        assert predicted['kept'] == ['allow_v4', 'banned_v4'], predicted
        assert connect(nshost, 7301, '127.0.0.1') == {'127.0.0.1': 'open'}          # check mode changed nothing
        applied = apply(nshost, second)
        assert applied['changed'] and applied['table_changed'] and applied['confirmed'], applied
        assert applied['kept'] == ['allow_v4', 'banned_v4'] and not applied.get('failed'), applied
        for check in (True, False):
            again = apply(nshost, second, check=check)
            assert not again['changed'] and not again['drifted'] and again['kept'] == [], (check, again)
        # the new rules hold: the port moved, the kept set still admits, the ban is still there
        assert connect(nshost, 7302, '127.0.0.1', '127.0.0.2', '127.0.0.9') == {
            '127.0.0.1': 'open', '127.0.0.2': 'closed', '127.0.0.9': 'closed'}
        assert connect(nshost, 7301, '127.0.0.2', '127.0.0.9') == {'127.0.0.2': 'open', '127.0.0.9': 'closed'}  # no rule
    finally:
        for server in servers:
            server.kill()
            server.wait()
            server.stdout.close()
    live = nshost.run(['nft', 'list', 'set', 'inet', NAME, 'banned_v4']).stdout
    assert '127.0.0.9' in live and 'expires' in live, live
    # the same table, in the same order, as the whole script loaded into a fresh namespace: the same listing, and
    # the same digest (what the record holds, so a rollback to the whole script is no drift)
    (tmp_path / 'fresh').mkdir()
    fresh = NsHost(str(tmp_path / 'fresh'))
    try:
        fresh.run(['nft', '-f', '-'], input=second)
        assert listing(nshost) == listing(fresh) and '10.11.183.0/24' in listing(fresh)
        assert digest(nshost) == digest(fresh) and digest(fresh).startswith('sha256:')
        fresh.run(['nft', '-f', '-'], input=first)
        assert digest(nshost) != digest(fresh)               # the digest tells the two tables apart
    finally:
        fresh.close()
    with open(os.path.join(nshost.tmpdir, 'etc', NAME + '.nft')) as handle:
        assert handle.read() == second                          # the rules file is the whole script, for the boot


def test_another_tools_change_to_a_kept_set_is_drift_and_repaired(nshost):
    first, second = table(), table(rate='6/minute')
    assert apply(nshost, first)['changed']
    assert apply(nshost, second)['kept'] == ['allow_v4', 'banned_v4']
    nshost.run(['nft', 'delete', 'element', 'inet', NAME, 'allow_v4', '{ 10.0.5.0/24 }'])
    predicted = apply(nshost, second, check=True)
    assert predicted['changed'] and predicted['drifted'] and predicted['kept'] == [], predicted
    repaired = apply(nshost, second)
    assert repaired['changed'] and repaired['drifted'] and repaired['kept'] == [], repaired
    assert '10.0.5.0/24' in nshost.run(['nft', 'list', 'set', 'inet', NAME, 'allow_v4']).stdout
    assert not apply(nshost, second)['changed']
    # after a repair the record vouches again: the next change keeps the sets
    assert apply(nshost, first)['kept'] == ['allow_v4', 'banned_v4']


def test_a_replacement_the_kernel_refuses_changes_nothing(nshost):
    first = table()
    assert apply(nshost, first)['changed']
    before = nshost.run(['nft', '-s', 'list', 'table', 'inet', NAME]).stdout
    bad = table().replace('ip saddr @banned_v4 drop', 'ip saddr @missing_v4 drop')
    failed = apply(nshost, bad)
    assert failed['failed'] and 'nothing was changed' in failed['msg'] and 'missing_v4' in failed['msg'], failed
    assert nshost.run(['nft', '-s', 'list', 'table', 'inet', NAME]).stdout == before
    assert not apply(nshost, first)['changed']


def test_no_rules_file_to_vouch_for_the_table_loads_the_whole_script(nshost):
    first, second = table(), table(rate='6/minute')
    assert apply(nshost, first)['changed']
    os.remove(os.path.join(nshost.tmpdir, 'etc', NAME + '.nft'))
    result = apply(nshost, second)
    assert result['changed'] and result['table_changed'] and result['kept'] == [], result
    assert 'rate 6/minute' in nshost.run(['nft', 'list', 'chain', 'inet', NAME, 'input']).stdout
