# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Concurrent runs on one host are serialized by the host lock: nothing is lost, the last run wins.

The modules run as real processes (the module files themselves, with their arguments in a file, as
AnsiballZ runs them), four at a time on the same network and mount namespace: two add reservations,
two set the range with a reservation of their own. 20 rounds, each with different inputs. After each
round the kernel and the drop-in hold the union of every reservation so far and the range of the run
that took the lock last; a following run of each reports no change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import COLLECTIONS, ansible_env

RANGE = 'net.ipv4.ip_local_port_range'
RESERVED = 'net.ipv4.ip_local_reserved_ports'
DROPIN = '/etc/sysctl.d/90-portwarden.conf'
MODULES = os.path.join(COLLECTIONS, 'ansible_collections', 'portwarden', 'ports', 'plugins', 'modules')
ROUNDS = 20


def start(host, tmpdir, name, module, args):
    path = os.path.join(tmpdir, '%s.json' % name)
    with open(path, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=False)}, handle)
    env = ansible_env(PYTHONPATH=COLLECTIONS)
    return host.popen([sys.executable, os.path.join(MODULES, module + '.py'), path], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True, env=env)


def finish(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    return json.loads(out)


def dropin_values(host):
    values = {}
    for line in (host.read_file(DROPIN) or '').splitlines():
        if '=' in line and not line.startswith('#'):
            key, value = line.split('=', 1)
            values[key.strip()] = value.strip()
    return values


def test_twenty_rounds_of_four_concurrent_runs_lose_nothing(nshost, tmp_path):
    host = nshost
    host.sh('mkdir -p /run/portwarden && mount -t tmpfs tmpfs /run/portwarden')
    host.set_sysctl(RESERVED, '')
    expected = set()
    orders = []
    for i in range(ROUNDS):
        ranges = {'r1': (20000 + 2 * i, 50001 + 2 * i), 'r2': (30000 + 2 * i, 55001 + 2 * i)}
        runs = {
            'a': ('reserved_ports', {'ports': [10000 + i]}),
            'b': ('reserved_ports', {'ports': [11000 + i, '12000-12001']}),
            'r1': ('ephemeral_range', {'start': ranges['r1'][0], 'end': ranges['r1'][1], 'reserve': [13000 + i]}),
            'r2': ('ephemeral_range', {'start': ranges['r2'][0], 'end': ranges['r2'][1], 'reserve': [14000 + i]}),
        }
        procs = {name: start(host, str(tmp_path), '%s-%d' % (name, i), module, args) for name, (module, args) in runs.items()}
        done = {name: finish(proc) for name, proc in procs.items()}
        expected |= {10000 + i, 11000 + i, 12000, 12001, 13000 + i, 14000 + i}

        # Serialized: exactly one range run found the other's range in place (it ran second), and that is the one live.
        after = {name: (done[name]['after']['start'], done[name]['after']['end']) for name in ('r1', 'r2')}
        saw = {name: (done[name]['before']['start'], done[name]['before']['end']) for name in ('r1', 'r2')}
        second = [name for name, other in (('r1', 'r2'), ('r2', 'r1')) if saw[name] == after[other]]
        assert len(second) == 1, (i, saw, after)
        orders.append(second[0])
        live = tuple(int(x) for x in host.sysctl(RANGE).split())
        assert live == after[second[0]], (i, live, after)

        reserved = set()
        for item in host.sysctl(RESERVED).split(','):
            low, dummy, high = item.partition('-')
            reserved |= set(range(int(low), int(high or low) + 1))
        assert reserved == expected, ('round %d lost %s' % (i, sorted(expected - reserved)), sorted(reserved - expected))
        values = dropin_values(host)
        assert values[RESERVED] == host.sysctl(RESERVED) and values[RANGE].split() == host.sysctl(RANGE).split(), values

    # A following run of each of the last round's inputs finds nothing to do (the range: the run that won).
    last = runs[orders[-1]]
    for name, (module, args) in (('a', runs['a']), ('b', runs['b']), ('last', last)):
        again = finish(start(host, str(tmp_path), 'again-' + name, module, args))
        assert again['changed'] is False, (name, again)
    assert host.ls('/etc/sysctl.d') == ['90-portwarden.conf']
