# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sliced audits merged: ansible-runner (the job runner AWX uses) runs portwarden.ports.audit twice, over the
two halves of an inventory, as two job slices would; a third run merges the two report.json files. The merged
report equals the report of one run over the whole inventory, host for host.

The hosts are namespace hosts (benchmarks/fleetlib.py): each its own network namespace (range, reservations,
listeners, held connections) and mount namespace, reached with the pw_nsenter connection.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import COLLECTIONS, REPO

sys.path.insert(0, os.path.join(REPO, 'benchmarks'))
import fleetlib  # noqa: E402

ansible_runner = pytest.importorskip('ansible_runner')

CATALOGUE = [{'name': 'ssh', 'port': 22}, {'name': 'metrics', 'port': 9100}, {'name': 'grpc', 'port': 50051}]
# (range, reserved, listeners, connections to :9100) per host: ok, conflict (45000 in the range), drift (grpc
# not listening), ok with a small range and 400 connections held.
SETTINGS = [('32768 60999', '50051', [22, 9100, 50051], 20), ('32768 60999', '50051', [22, 9100, 45000, 50051], 5),
            ('40000 59999', '50051', [22, 9100], 0), ('32768 40767', '', [22, 9100, 50051], 400)]
WORKLOAD = r'''
import socket, sys, time
keep = []
for port in [int(p) for p in sys.argv[1].split(',')]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(1024); keep.append(s)
keep += [socket.create_connection(("127.0.0.1", 9100)) for dummy in range(int(sys.argv[2]))]
print("up", flush=True)
time.sleep(900)
'''
PROVENANCE = ('collected', 'source', 'superseded')


@pytest.fixture
def fleet(tmp_path):
    hosts = fleetlib.make_fleet(len(SETTINGS), str(tmp_path / 'hosts'))
    try:
        for host, (erange, reserved, listeners, clients) in zip(hosts, SETTINGS):
            host.set_sysctl('net.ipv4.ip_local_port_range', erange)
            host.set_sysctl('net.ipv4.ip_local_reserved_ports', reserved)
            host.start_workload(WORKLOAD.replace('sys.argv[1]', repr(','.join(map(str, listeners))))
                                .replace('sys.argv[2]', repr(str(clients))))
        yield hosts
    finally:
        fleetlib.close_fleet(hosts)


def audit(tmp_path, inventory, name, limit=None, **extravars):
    """One ansible-runner job of the audit playbook; returns its report.json."""
    private = tmp_path / ('runner-' + name)
    (private / 'project').mkdir(parents=True)
    (private / 'project' / 'audit.yml').write_text('- name: Audit\n  ansible.builtin.import_playbook: portwarden.ports.audit\n')
    report_dir = str(tmp_path / ('report-' + name))
    extravars.setdefault('portwarden_report_dir', report_dir)
    run = ansible_runner.run(
        private_data_dir=str(private), playbook='audit.yml', inventory=inventory, limit=limit, extravars=extravars,
        quiet=True, envvars={
            'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_CONNECTION_PLUGINS': fleetlib.CONNECTION_DIR,
            'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        })
    assert (run.status, run.rc) == ('successful', 0), run.stdout.read()[-4000:]
    with open(os.path.join(extravars['portwarden_report_dir'], 'report.json')) as handle:
        return os.path.join(extravars['portwarden_report_dir'], 'report.json'), json.load(handle)


def by_host(report):
    return dict((h['name'], dict((k, v) for k, v in h.items() if k not in PROVENANCE)) for h in report['hosts'])


def test_two_slices_merged_equal_one_run_over_all_hosts(fleet, tmp_path):
    inventory = fleetlib.write_inventory(fleet, str(tmp_path / 'inventory.json'),
                                         {'portwarden_services': CATALOGUE})
    names = [h.name for h in fleet]
    path_a, slice_a = audit(tmp_path, inventory, 'a', limit=','.join(names[:2]))
    path_b, slice_b = audit(tmp_path, inventory, 'b', limit=','.join(names[2:]))
    assert sorted(h['name'] for h in slice_a['hosts']) == names[:2]
    assert sorted(h['name'] for h in slice_b['hosts']) == names[2:]
    dummy, merged = audit(tmp_path, inventory, 'merged', portwarden_hosts='none',
                          portwarden_report_merge=[path_a, path_b])
    dummy, single = audit(tmp_path, inventory, 'single')

    assert sorted(by_host(single)) == names
    statuses = [by_host(single)[n]['status'] for n in names]
    assert statuses == ['ok', 'conflict', 'drift', 'ok'], statuses
    assert by_host(merged) == by_host(single)
    assert merged['summary'] == single['summary']
    for key in ('hosts', 'ok', 'drift', 'conflict', 'no_data', 'conflicts', 'drift_findings', 'ranges', 'lowest_headroom'):
        assert merged['fleet'][key] == single['fleet'][key], key
    assert merged['fleet']['merged'] == [path_a, path_b] and merged['fleet']['superseded'] == 0
    sources = dict((h['name'], h['source']) for h in merged['hosts'])
    assert sources == dict([(n, path_a) for n in names[:2]] + [(n, path_b) for n in names[2:]])


def test_a_host_audited_twice_keeps_its_newest_result(fleet, tmp_path):
    inventory = fleetlib.write_inventory(fleet, str(tmp_path / 'inventory.json'),
                                         {'portwarden_services': CATALOGUE})
    conflicted = fleet[1]
    path_old, old = audit(tmp_path, inventory, 'old', limit=conflicted.name)
    assert old['hosts'][0]['status'] == 'conflict'
    conflicted.set_sysctl('net.ipv4.ip_local_reserved_ports', '45000,50051')  # the conflict is fixed on the host
    path_new, new = audit(tmp_path, inventory, 'new', limit=conflicted.name)
    assert new['hosts'][0]['status'] == 'drift'
    dummy, merged = audit(tmp_path, inventory, 'merged', portwarden_hosts='none',
                          portwarden_report_merge=[path_new, path_old])
    host = merged['hosts'][0]
    assert (host['status'], host['source'], host['collected']) == ('drift', path_new, new['generated'])
    assert host['superseded'] == [{'collected': old['generated'], 'source': path_old}]
    assert merged['fleet']['superseded'] == 1
