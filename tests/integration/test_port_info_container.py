# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info inside an unprivileged podman container: /proc/sys is read-only
there and the container has its own network and pid namespaces; the module
must still read everything and see the container's own listener (and only it).

Needs the locally built image (tests/images/build.sh); skipped without it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys

import pytest

from conftest import ansible_env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = os.environ.get('PORTWARDEN_IMAGE', 'localhost/portwarden-debian:12')
LISTENER = 'import socket, time; s = socket.socket(); s.bind(("0.0.0.0", 45000)); s.listen(); time.sleep(600)'


def podman(*args, **kwargs):
    env = dict(os.environ)
    env.setdefault('CONTAINERS_CONF', os.path.join(REPO, 'tests', 'images', 'containers.conf'))
    return subprocess.run(['podman'] + list(args), capture_output=True, text=True, env=env, check=False, **kwargs)


@pytest.fixture
def container():
    if not shutil.which('podman') or podman('image', 'exists', IMAGE).returncode != 0:
        pytest.skip('podman or the image %s is missing (build it with tests/images/build.sh)' % IMAGE)
    name = os.environ.get('PW_NAME_PREFIX', 'pw') + 'pi' + secrets.token_hex(4)   # PW_NAME_PREFIX: parallel runs
    started = podman('run', '-d', '--name', name, IMAGE, 'python3', '-c', LISTENER)
    assert started.returncode == 0, started.stderr
    try:
        yield name
    finally:
        podman('rm', '-f', '-t', '0', name)


def test_port_info_in_unprivileged_container(container, tmp_path):
    assert podman('exec', container, 'grep', '-q', ' /proc/sys proc ro,', '/proc/mounts').returncode == 0
    book = tmp_path / 'play.yml'
    book.write_text(json.dumps([{
        'hosts': 'all', 'gather_facts': False,
        'vars': {'ansible_connection': 'containers.podman.podman', 'ansible_python_interpreter': '/usr/bin/python3'},
        'tasks': [{'name': 'under test', 'portwarden.ports.port_info': {'processes': True}}],
    }]))
    env = ansible_env(CONTAINERS_CONF=os.path.join(REPO, 'tests', 'images', 'containers.conf'))
    playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    out = subprocess.run([playbook, '-i', container + ',', str(book)], capture_output=True, text=True, env=env, check=False)
    data = json.loads(out.stdout)
    result = data['plays'][0]['tasks'][0]['hosts'][container]
    assert out.returncode == 0, result
    assert result['listeners'] == [{'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 45000, 'scope': 'any',
                                    'pid': 1, 'process': 'python3'}]
    assert [(c['type'], c['port']) for c in result['conflicts']] == [('listener_in_range', 45000)]
    assert result['ephemeral_range'] == {'start': 32768, 'end': 60999, 'size': 28232}
    assert result['usage']['sockets_total'] == 1
