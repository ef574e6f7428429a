# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""probes.py: the firewall probes port_info starts side by side, and what it predicts they will be.

The prediction is checked against what managers.detect and the nft_dynamic
audit really ask for, on hosts of every kind (tools installed or not, systemd
or not, the portwarden table there or not); the real processes and the live
ruleset are in tests/integration/test_port_info.py.
"""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import managers, nft_dynamic, portgather, probes
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

TOOLS = ('systemctl', 'ufw', 'nft', 'firewall-cmd', 'iptables-legacy-save', 'ip6tables-legacy-save')


def host(installed, systemd, ufw_conf, legacy, table):
    """``(which, exists, read, run)`` of a made-up host; ``run`` records what it is asked."""
    asked = []

    def which(name):
        return '/usr/sbin/' + name if name in installed else None

    def exists(path):
        return (path == managers.SYSTEMD_RUNNING and systemd) or (path == managers.UFW_CONF and ufw_conf)

    def read(path):
        if path == managers.UFW_CONF:
            return 'ENABLED=yes\n' if ufw_conf else None
        if path in managers.LEGACY_NAMES.values():
            return 'filter\n' if legacy else ''
        return None

    def run(argv):
        asked.append(list(argv))
        name, args = argv[0].rsplit('/', 1)[1], argv[1:]
        if name == 'systemctl':
            return 3, 'inactive\n', ''
        if name == 'ufw':
            return 0, 'Status: inactive\n', ''
        if name == 'firewall-cmd':
            return 252, 'not running\n', ''
        if name.endswith('-legacy-save'):
            return 0, '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n', ''
        if args[:3] == ['-j', 'list', 'chains']:
            return 0, '{"nftables": []}', ''
        if args[:3] == ['-j', 'list', 'tables']:
            return 0, '{"nftables": [%s]}' % ('{"table": {"family": "inet", "name": "portwarden"}}' if table else ''), ''
        if args[:3] == ['-j', 'list', 'counters']:
            return (0, '{"nftables": [{"counter": {"name": "banned", "packets": 1, "bytes": 40}}]}', '') if table else (
                1, '', 'Error: No such file or directory')
        if args[:3] == ['-j', 'list', 'set']:
            return (0, '{"nftables": [{"set": {"name": "%s", "elem": []}}]}' % args[-1], '') if table else (1, '', 'Error')
        raise AssertionError('unexpected probe %r' % (argv,))
    return which, exists, read, run, asked


def asked_by_the_audit(which, exists, read, run):
    """What managers.detect, then the nft_dynamic audit, run (as portgather.firewall_state does)."""
    managers.detect(run, which, exists, read)
    nft = which('nft')
    if nft:
        nft_dynamic.DynamicState(run, nft).audit()


HOSTS = list(itertools.product(
    [(), ('nft',), ('systemctl', 'nft'), ('systemctl', 'ufw', 'nft', 'firewall-cmd'), TOOLS, ('ufw',)],
    [True, False], [True, False], [True, False], [True, False]))


@pytest.mark.parametrize('installed, systemd, ufw_conf, legacy, table', HOSTS)
def test_the_prediction_is_what_the_audit_asks(installed, systemd, ufw_conf, legacy, table):
    which, exists, read, run, asked = host(installed, systemd, ufw_conf, legacy, table)
    predicted = probes.predicted(which, exists, lambda path: bool((read(path) or '').strip()))
    asked_by_the_audit(which, exists, read, run)
    # every probe asked for was predicted, but firewall-cmd --state: it is asked only when systemd says
    # firewalld is not running, an answer that comes first
    missed = [argv for argv in asked if argv not in predicted]
    assert all(argv[0].endswith('/firewall-cmd') and argv[1:] == ['--state'] for argv in missed), missed
    # and what was predicted was asked for, but the ban sets of a host without the portwarden table
    unused = [argv for argv in predicted if argv not in asked]
    if table or not which('nft'):
        assert unused == []
    else:
        assert unused == [[which('nft'), '-j', 'list', 'set', 'inet', 'portwarden', name] for name in nft_dynamic.BAN_SETS]
    # in the order they are asked for
    assert [argv for argv in predicted if argv in asked] == [argv for argv in asked if argv in predicted]


def test_prefetched_answers_the_same_argv_once(tmp_path):
    script = tmp_path / 'probe.sh'
    script.write_text('#!/bin/sh\necho "out $*"\necho "err $1" >&2\nexit "$2"\n')
    script.chmod(0o755)
    binary = str(script)
    prefetched = probes.Prefetched([[binary, 'a', '0'], [binary, 'b', '3'], [binary, 'a', '0'], [binary, 'c', '0']])
    assert sorted(prefetched.started) == [(binary, 'a', '0'), (binary, 'b', '3'), (binary, 'c', '0')]
    fallback = []

    def run(argv):
        fallback.append(argv)
        return 99, 'fallback', ''

    ask = prefetched.runner(run)
    assert ask([binary, 'b', '3']) == (3, 'out b 3\n', 'err b\n')
    assert ask([binary, 'a', '0']) == (0, 'out a 0\n', 'err a\n')
    assert fallback == []
    assert ask([binary, 'a', '0']) == (99, 'fallback', '')        # asked again: run the normal way
    assert ask(['/bin/' + binary, 'a', '0']) == (99, 'fallback', '')   # another path: not the same command
    assert fallback == [[binary, 'a', '0'], ['/bin/' + binary, 'a', '0']]
    processes = list(prefetched.started.values())
    prefetched.close()                                           # c was never asked for: waited for here
    assert prefetched.started == {} and all(proc.returncode == 0 for proc in processes)


def test_a_probe_that_cannot_start_is_run_the_normal_way(tmp_path):
    missing = str(tmp_path / 'no-such-tool')
    prefetched = probes.Prefetched([[missing, 'status']])
    assert prefetched.started == {}

    def run(argv):
        raise PortwardenError('Cannot run %s: No such file or directory.' % argv[0])

    with pytest.raises(PortwardenError, match='Cannot run .*no-such-tool'):
        prefetched.runner(run)([missing, 'status'])


def test_firewall_state_from_prefetched_probes_is_the_serial_one():
    """portgather.firewall_state given the prefetched runner answers what the serial runner answers (this
    machine's files say whether systemd runs; the probes' answers are made up)."""
    which, exists, _read, run, _asked = host(TOOLS, True, True, True, True)
    serial = portgather.firewall_state(run, which)

    class Done(object):
        def __init__(self, answer):
            self.answer = answer
            self.returncode = answer[0]

        def communicate(self):
            return self.answer[1].encode(), self.answer[2].encode()

    prefetched = probes.Prefetched([])
    prefetched.started = dict((tuple(argv), Done(run(argv))) for argv in probes.predicted(which, exists, lambda path: True))
    asked_later = []

    def later(argv):
        asked_later.append(argv)
        return run(argv)

    assert portgather.firewall_state(prefetched.runner(later), which) == serial
    assert asked_later == [['/usr/sbin/firewall-cmd', '--state']]   # depends on systemctl's answer: asked after


def test_start_only_on_linux(monkeypatch):
    monkeypatch.setattr(probes.platform, 'system', lambda: 'FreeBSD')
    assert probes.start() is None


def test_which_is_get_bin_path():
    assert probes.which('sh') in ('/bin/sh', '/usr/bin/sh')
    assert probes.which('no-such-tool-here') is None
