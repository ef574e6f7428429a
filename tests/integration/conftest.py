# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-kernel test hosts: a private network namespace plus a private mount
namespace in which the sysctl.d directories are empty tmpfs mounts.

Each :class:`NsHost` is a holder process (``sleep``) started with
``unshare --net --mount``; everything a test runs on the "host" is entered
with ``nsenter``: ansible-playbook (local connection), sysctl, python. The
host machine's own kernel values and /etc/sysctl.d are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, '.build', 'collections')
SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/lib/sysctl.d')
# The netlink digest of a table of the inet family, as nft_table's record holds it (nft_netlink.table_state).
TABLE_DIGEST = '''
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.portwarden.ports.plugins.module_utils import nft_netlink
print(nft_netlink.table_state(1, sys.argv[2])[1])
'''


def _ensure_collection_link():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'portwarden', 'ports')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)


def ansible_env(**extra):
    """Environment for ansible-playbook runs against this checkout."""
    _ensure_collection_link()
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
        'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
        'ANSIBLE_NOCOWS': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_DEPRECATION_WARNINGS': '0',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        'PYTHONDONTWRITEBYTECODE': '1',
    })
    env.update(extra)
    return env


def _bin(name):
    """Directory of the running interpreter first (the venv), then PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else (shutil.which(name) or name)


class Namespace(object):
    """Namespaces held open by a sleeping process (``unshare``), entered with ``nsenter``.

    ``setup`` runs inside first (its failure stops the start); loopback is
    brought up. A failed ``run(check=True)`` raises ``FAILURE``.
    """

    UNSHARE = ('--net',)
    ENTER = ('-n',)
    FAILURE = RuntimeError

    def __init__(self, setup=''):
        script = setup + 'ip link set lo up && echo ready && exec sleep infinity'
        self.proc = subprocess.Popen(['unshare'] + list(self.UNSHARE) + ['sh', '-c', script],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != 'ready':
            raise RuntimeError('%s failed to start: %s' % (type(self).__name__, self.proc.stderr.read()))
        self.pid = self.proc.pid

    def nsenter(self):
        return ['nsenter', '-t', str(self.pid)] + list(self.ENTER)

    def run(self, argv, check=True, **kwargs):
        kwargs.setdefault('capture_output', True)
        kwargs.setdefault('text', True)
        result = subprocess.run(self.nsenter() + list(argv), check=False, **kwargs)
        if check and result.returncode != 0:
            raise self.FAILURE('%r failed (rc=%d): %s %s' % (argv, result.returncode, result.stdout, result.stderr))
        return result

    def popen(self, argv, **kwargs):
        return subprocess.Popen(self.nsenter() + list(argv), **kwargs)

    def table_digest(self, table):
        """The record's digest of the table ``inet <table>`` inside (nft_netlink), as nft_table reads it."""
        _ensure_collection_link()
        return self.run([sys.executable, '-c', TABLE_DIGEST, COLLECTIONS, table]).stdout.strip()

    def table_listing(self, table):
        """``nft -s list table inet <table>`` inside, without dynamic elements (nft_record.normalize_listing)."""
        _ensure_collection_link()
        if COLLECTIONS not in sys.path:
            sys.path.insert(0, COLLECTIONS)
        from ansible_collections.portwarden.ports.plugins.module_utils.nft_record import normalize_listing
        return normalize_listing(self.run(['nft', '-s', 'list', 'table', 'inet', table]).stdout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


class NsHost(Namespace):
    """A throwaway Linux "host": own network namespace, own sysctl.d dirs."""

    UNSHARE = ('--net', '--mount')
    ENTER = ('-n', '-m')
    FAILURE = AssertionError

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        super(NsHost, self).__init__(
            'set -e; mount --make-rprivate /; '
            + ''.join('mkdir -p %s; mount -t tmpfs tmpfs %s; ' % (d, d) for d in SYSCTL_DIRS)
            + ': > %s/sysctl.conf; mount --bind %s/sysctl.conf /etc/sysctl.conf; ' % (tmpdir, tmpdir))

    # -- running things inside -------------------------------------------------

    def sh(self, script, check=True):
        return self.run(['sh', '-c', script], check=check)

    def sysctl(self, name):
        """Read a kernel value inside the namespace, as /proc shows it."""
        return self.run(['cat', '/proc/sys/' + name.replace('.', '/')]).stdout.strip()

    def set_sysctl(self, name, value):
        self.run(['sysctl', '-q', '-w', '%s=%s' % (name, value)])

    def read_file(self, path):
        result = self.run(['cat', path], check=False)
        return result.stdout if result.returncode == 0 else None

    def write_file(self, path, content):
        self.run(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', path], input=content)

    def ls(self, path):
        return sorted(self.run(['ls', '-A', path]).stdout.split())

    # -- Ansible -----------------------------------------------------------------
    def playbook(self, tasks, check=False, diff=True, extra_args=(), play_vars=None, env=None):
        """Run tasks in one play on this host (``env``: more of ansible-playbook's environment); return the parsed
        json callback output."""
        play = [{
            'name': 'test',
            'hosts': 'localhost',
            'gather_facts': False,
            'vars': dict({'ansible_python_interpreter': sys.executable}, **(play_vars or {})),
            'tasks': tasks,
        }]
        fd, path = tempfile.mkstemp(suffix='.yml', dir=self.tmpdir)
        with os.fdopen(fd, 'w') as handle:
            json.dump(play, handle)
        argv = [_bin('ansible-playbook'), '-i', 'localhost,', '-c', 'local', path]
        if check:
            argv.append('--check')
        if diff:
            argv.append('--diff')
        argv.extend(extra_args)
        result = subprocess.run(self.nsenter() + argv, capture_output=True, text=True, env=ansible_env(**(env or {})),
                                check=False)
        try:
            data = json.loads(result.stdout)
        except ValueError:
            raise AssertionError('ansible-playbook printed no JSON (rc=%d):\n%s\n%s' % (result.returncode, result.stdout, result.stderr))
        data['rc'] = result.returncode
        data['stderr'] = result.stderr
        return data

    def module(self, name, args, check=False, diff=True):
        """Run one module task; return its result dict (plus 'rc' of the run)."""
        data = self.playbook([{'name': 'under test', name: args}], check=check, diff=diff)
        task = data['plays'][0]['tasks'][0]
        result = task['hosts']['localhost']
        result['rc'] = data['rc']
        return result


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason='integration tests need root (namespaces, nftables)')
        for item in items:
            item.add_marker(skip)


@pytest.fixture
def nshost(tmp_path):
    host = NsHost(str(tmp_path))
    try:
        yield host
    finally:
        host.close()


@pytest.fixture
def nshost_factory(tmp_path):
    hosts = []

    def make():
        sub = tmp_path / ('host%d' % len(hosts))
        sub.mkdir()
        hosts.append(NsHost(str(sub)))
        return hosts[-1]

    try:
        yield make
    finally:
        for host in hosts:
            host.close()


# -- the host_firewall role on two hosts of one fleet, one controller -------------------------------------------
FIREWALL_ROLE_TASK = {'name': 'host_firewall', 'ansible.builtin.include_role': {'name': 'portwarden.ports.host_firewall'}}
FIREWALL_APPLY_TASK = ('portwarden.ports.host_firewall : Load the table inet portwarden (all or nothing; rolled back '
                       'by the host unless confirmed)')


@pytest.fixture
def firewall_pair(tmp_path):
    """Two namespace hosts, each with its own etc/nftables.conf, and the controller's ANSIBLE_HOME (a path)."""
    hosts = []
    try:
        for name in ('a', 'b'):
            (tmp_path / name / 'etc').mkdir(parents=True)
            (tmp_path / name / 'etc' / 'nftables.conf').write_text('#!/usr/sbin/nft -f\n')
            hosts.append(NsHost(str(tmp_path / name)))
        yield hosts, str(tmp_path / 'controller')
    finally:
        for host in hosts:
            host.close()


def firewall_vars(base, services, **extra):
    """The role's variables for a host whose files are under ``base``."""
    values = {
        'host_firewall_services': services,
        'host_firewall_management_ports': [],
        'host_firewall_rules_path': os.path.join(base, 'etc', 'portwarden.nft'),
        'host_firewall_state_dir': os.path.join(base, 'state'),
        'host_firewall_nftables_conf': os.path.join(base, 'etc', 'nftables.conf'),
        'host_firewall_install': False,
        'host_firewall_rollback_timeout': 10,
    }
    values.update(extra)
    return values


def firewall_load(host, home, play_vars, check=False, expect_rc=0):
    """Run the role once; the load task's result."""
    data = host.playbook([FIREWALL_ROLE_TASK], check=check, play_vars=play_vars, env={'ANSIBLE_HOME': home})
    assert data['rc'] == expect_rc, json.dumps(data, indent=1)[-4000:] + data['stderr']
    found = [task['hosts']['localhost'] for task in data['plays'][0]['tasks'] if task['task']['name'] == FIREWALL_APPLY_TASK]
    assert len(found) == 1, [task['task']['name'] for task in data['plays'][0]['tasks']]
    return found[0]
