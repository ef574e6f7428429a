# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_metrics: bad variables fail with the value and what is allowed, before anything reaches the host; the
collector's entry script, installed as the role installs it, writes port_info's values on a real kernel.

The full role (systemd timer, node_exporter, promtool) runs in the Molecule scenario port_metrics.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def install(tmp_path):
    """The unit test's install() (same name as this file's module there, so loaded by path)."""
    spec = importlib.util.spec_from_file_location('unit_port_metrics_role', os.path.join(REPO, 'tests', 'unit', 'test_port_metrics_role.py'))
    unit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(unit)
    return unit.install(tmp_path)


def role_task(tmp_path, **variables):
    variables.setdefault('port_metrics_install_dir', str(tmp_path / 'install'))
    variables.setdefault('port_metrics_config_file', str(tmp_path / 'etc' / 'metrics.json'))
    variables.setdefault('port_metrics_textfile_dir', str(tmp_path / 'textfile'))
    return [{'name': 'role', 'ansible.builtin.include_role': {'name': 'portwarden.ports.port_metrics'}, 'vars': variables}]


@pytest.mark.parametrize('variables, words', [
    ({'port_metrics_interval': 5}, 'port_metrics_interval=5 (10 or more seconds)'),
    ({'port_metrics_top': 500}, 'port_metrics_top=500 (0-100)'),
    ({'port_metrics_conntrack_warn_percent': 0}, 'port_metrics_conntrack_warn_percent=0 (1-100)'),
    ({'port_metrics_services': [{'name': 'web', 'port': 70000}]}, 'service #0 (web): field port'),
    ({'port_metrics_services': [{'name': 'web', 'port': 80, 'expect_listener': 'sometimes'}]},
     "service #0 (web): invalid expect_listener 'sometimes'"),
])
def test_bad_variables_fail_before_anything_changes(nshost, tmp_path, variables, words):
    data = nshost.playbook(role_task(tmp_path, **variables))
    assert data['rc'] != 0
    text = json.dumps(data)
    assert words in text, text[-2000:]
    assert 'Traceback' not in text
    for name in ('install', 'etc', 'textfile'):
        assert not (tmp_path / name).exists()


def test_installed_collector_writes_port_info_values(nshost, tmp_path):
    """The entry script and the bundle, run by the host's python3 in a namespace with known connections."""
    script = install(tmp_path)
    out = tmp_path / 'textfile'
    config = tmp_path / 'metrics.json'
    config.write_text(json.dumps({'services': [{'name': 'web', 'port': 8080}], 'top': 3, 'conntrack_warn_percent': 80,
                                  'textfile_dir': str(out)}))
    helper = nshost.popen([sys.executable, '-c', (
        'import socket, sys, time\n'
        's = socket.socket(); s.bind(("127.0.0.1", 8080)); s.listen(128)\n'
        'held = [socket.create_connection(("127.0.0.1", 8080)) for _ in range(40)]\n'
        'print("ready", flush=True)\n'
        'time.sleep(300)\n')], stdout=subprocess.PIPE, text=True)
    try:
        assert helper.stdout.readline().strip() == 'ready'
        result = nshost.run(['/usr/bin/python3', '-I', script, '--config', str(config)], check=False)
        assert (result.returncode, result.stderr) == (0, '')
        report = nshost.module('portwarden.ports.port_info', {'top': 3})
    finally:
        helper.kill()
        helper.communicate()
    lines = (out / 'portwarden.prom').read_text().splitlines()
    values = dict(line.rsplit(' ', 1) for line in lines if not line.startswith('#'))
    assert values['portwarden_destination_ports_in_use{destination="127.0.0.1:8080"}'] == '40'
    assert int(values['portwarden_ephemeral_ports_in_use']) == report['usage']['ports_in_use'] == 40
    assert int(values['portwarden_ephemeral_range_start']) == report['ephemeral_range']['start']
    assert values['portwarden_conflicts{type="service_not_listening"}'] == '0'
    assert values['portwarden_collector_success'] == '1'
    # promtool: Debian's prometheus package (Makefile APT_PACKAGES)
    promtool = subprocess.run(['promtool', 'check', 'metrics'], input='\n'.join(lines) + '\n', capture_output=True,
                              text=True, check=False)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
