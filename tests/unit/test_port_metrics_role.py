# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The port_metrics role's entry script on its own: it imports this collection's module_utils from the
bundle (the shape the role's template writes) in an isolated interpreter that has no collection on its path."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(REPO, 'roles', 'port_metrics', 'files')


def install(tmp_path):
    """What the role puts in port_metrics_install_dir: the script and {module name: source} of module_utils."""
    sources = {}
    for path in sorted(glob.glob(os.path.join(REPO, 'plugins', 'module_utils', '*.py'))):
        with open(path, encoding='utf-8') as handle:
            sources[os.path.splitext(os.path.basename(path))[0]] = handle.read()
    (tmp_path / 'module_utils.json').write_text(json.dumps(sources, indent=4, sort_keys=True))
    script = str(tmp_path / 'portwarden-metrics')
    shutil.copy(os.path.join(FILES, 'portwarden-metrics'), script)
    return script


def run(argv):
    # -I: isolated (no PYTHONPATH, no user site, no script directory magic beyond the script's own)
    return subprocess.run([sys.executable, '-I'] + argv, capture_output=True, text=True, check=False, cwd='/')


def test_entry_script_runs_the_bundled_code(tmp_path):
    script = install(tmp_path)
    config = tmp_path / 'metrics.json'
    config.write_text(json.dumps({'services': [{'name': 'ssh', 'port': 22}], 'top': 3, 'conntrack_warn_percent': 80,
                                  'textfile_dir': str(tmp_path / 'out')}))
    result = run([script, '--check-config', '--config', str(config)])
    assert (result.returncode, result.stderr) == (0, '')
    # the catalogue check is the bundled catalogue.py's: its message comes back
    config.write_text(json.dumps({'services': [{'name': 'ssh', 'port': 22, 'expect_listener': 'no'}],
                                  'textfile_dir': str(tmp_path / 'out')}))
    result = run([script, '--check-config', '--config', str(config)])
    assert result.returncode == 1
    assert "service #0 (ssh): invalid expect_listener 'no'" in result.stderr
    assert 'Traceback' not in result.stderr


def test_entry_script_without_its_bundle_cannot_import_the_collection(tmp_path):
    script = install(tmp_path)
    os.unlink(str(tmp_path / 'module_utils.json'))
    result = run([script, '--check-config', '--config', str(tmp_path / 'x.json')])
    assert result.returncode == 1
    assert 'portwarden-metrics: cannot load the collector code from %s' % (tmp_path / 'module_utils.json') in result.stderr
    assert 'Traceback' not in result.stderr


def test_alert_rules_and_their_test_file_ship_together():
    for name in ('portwarden-alerts.yml', 'portwarden-alerts.test.yml'):
        assert os.path.isfile(os.path.join(FILES, name))
    promtool = shutil.which('promtool')
    if promtool is None:
        pytest.skip('promtool is not installed (Debian package prometheus, in the Makefile APT_PACKAGES)')
    for argv in (['check', 'rules', 'portwarden-alerts.yml'], ['test', 'rules', 'portwarden-alerts.test.yml']):
        result = subprocess.run([promtool] + argv, cwd=FILES, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
