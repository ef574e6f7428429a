# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection builds into a tarball, installs into a clean path, and its
modules run by FQCN from there (not from this checkout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

from conftest import REPO, _bin


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, '%s\n%s\n%s' % (argv, result.stdout, result.stderr)
    return result


def test_build_install_and_run_by_fqcn(tmp_path):
    out = tmp_path / 'dist'
    run([_bin('ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(out), REPO])
    tarballs = list(out.glob('portwarden-ports-*.tar.gz'))
    assert [t.name for t in tarballs] == ['portwarden-ports-0.1.0.tar.gz']
    with tarfile.open(str(tarballs[0])) as tar:
        names = tar.getnames()
    assert 'plugins/modules/ephemeral_range.py' in names and 'MANIFEST.json' in names
    assert 'meta/runtime.yml' in names and 'plugins/module_utils/portset.py' in names
    for shipped in ('plugins/plugin_utils/netsh.py', 'plugins/plugin_utils/netsh_plan.py', 'plugins/module_utils/report.py',
                    'plugins/module_utils/bsd_report.py', 'plugins/doc_fragments/persist.py'):
        assert shipped in names, shipped
    for unwanted in ('.venv', '.build', '.ci', 'benchmarks', 'tests/output', 'Makefile', '.git'):
        assert not any(n == unwanted or n.startswith(unwanted + '/') for n in names), unwanted

    clean = tmp_path / 'clean'
    # Only the clean path is searched: the checkout's own link (make's
    # ANSIBLE_COLLECTIONS_PATH) would make galaxy skip the install.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(clean), ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_LOCALHOST_WARNING='0')
    run([_bin('ansible-galaxy'), 'collection', 'install', '-p', str(clean), str(tarballs[0])], env=env)
    assert (clean / 'ansible_collections' / 'portwarden' / 'ports' / 'MANIFEST.json').is_file()
    doc = run([_bin('ansible-doc'), '-t', 'module', '--json', 'portwarden.ports.reserved_ports'], env=env)
    data = json.loads(doc.stdout)['portwarden.ports.reserved_ports']
    assert os.path.realpath(data['doc']['filename']).startswith(os.path.realpath(str(clean)))
    assert 'portwarden.ports.reserved_ports:' in data['examples']
    # the shared options come from the installed collection's doc fragments
    assert {'protocol', 'family', 'persist', 'sysctl_file'} <= set(data['doc']['options'])

    # Run by FQCN from the installed copy, inside a throwaway network namespace.
    result = run(['unshare', '--net', _bin('ansible'), 'localhost', '-i', 'localhost,', '-c', 'local',
                  '-e', 'ansible_python_interpreter=%s' % sys.executable,
                  '-m', 'portwarden.ports.reserved_ports', '-a', 'ports=9100,8080-8081 persist=false'], env=env)
    assert '"changed": true' in result.stdout and '8080-8081,9100' in result.stdout
    assert '"ephemeral_range": {' in result.stdout

    # One shape on Linux too: ephemeral_range's result has the reservations after the task under reserved_ports.
    result = run(['unshare', '--net', _bin('ansible'), 'localhost', '-i', 'localhost,', '-c', 'local',
                  '-e', 'ansible_python_interpreter=%s' % sys.executable, '-m', 'portwarden.ports.ephemeral_range',
                  '-a', 'start=40000 end=50001 reserve=45000 persist=false'], env=env)
    task = json.loads(result.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']
    assert task['ephemeral_range'] == {'start': 40000, 'end': 50001, 'size': 10002}
    assert task['reserved_ports'] == {'ports': '45000', 'list': [45000]} == task['reserved']['after']
