# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet of namespace hosts on this machine, for the fleet benchmarks and the sliced-run test.

Each host is the integration tests' kind of host: a network namespace (its own
ip_local_port_range, ip_local_reserved_ports, nftables ruleset and sockets) and
a mount namespace whose sysctl.d directories are empty tmpfs mounts, held by
one sleeping process. The inventory reaches it with the ``pw_nsenter``
connection (benchmarks/fleet/pw_nsenter.py): the local connection with every
command entered into the host's namespaces. A host costs one sleeping process
and a few kernel objects, so 100 of them start in a few seconds; a container
per host would add an image, a runtime and a cgroup per host, which is not what
the collection's cost per host is about.

The firewall role's files (rules, state) go to the host's own directory under
its temporary directory, and persistence into nftables.conf is off: /etc is
the machine's outside the tmpfs mounts.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

CONNECTION_DIR = os.path.join(benchlib.HERE, 'fleet')


class FleetHost(benchlib.NsHost):
    """One namespace host of a fleet, with a name and its own directory."""

    def __init__(self, name, tmpdir):
        os.makedirs(tmpdir, exist_ok=True)
        super(FleetHost, self).__init__(tmpdir)
        self.name = name
        self.workload = None

    def host_vars(self):
        return {
            'ansible_connection': 'pw_nsenter',
            'pw_ns_pid': self.pid,
            'ansible_python_interpreter': sys.executable,
            'host_firewall_rules_path': os.path.join(self.tmpdir, 'portwarden.nft'),
            'host_firewall_state_dir': os.path.join(self.tmpdir, 'state'),
            'host_firewall_persist': False,
        }

    def start_workload(self, script):
        """A Python process inside the host (listeners, held connections); waits for its line 'up'."""
        self.workload = self.popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
        line = self.workload.stdout.readline().strip()
        if line != 'up':
            raise RuntimeError('workload on %s did not start: %r' % (self.name, line))

    def close(self):
        if self.workload is not None:
            self.workload.kill()
            self.workload.wait()
            self.workload.stdout.close()
            self.workload = None
        super(FleetHost, self).close()


def make_fleet(count, tmpdir, prefix='sflt-h'):
    """``count`` hosts named PREFIX001...; closed again if one fails to start."""
    hosts = []
    try:
        for index in range(count):
            name = '%s%03d' % (prefix, index + 1)
            hosts.append(FleetHost(name, os.path.join(tmpdir, name)))
    except Exception:
        close_fleet(hosts)
        raise
    return hosts


def close_fleet(hosts):
    for host in hosts:
        host.close()


def write_inventory(hosts, path, group_vars=None):
    """A JSON (YAML) inventory of the hosts under group ``fleet``."""
    inventory = {'all': {'children': {'fleet': {
        'hosts': dict((h.name, h.host_vars()) for h in hosts),
        'vars': dict(group_vars or {}),
    }}}}
    with open(path, 'w') as handle:
        json.dump(inventory, handle, indent=1)
    return path


def fleet_env(**extra):
    """ansible-playbook's environment for the fleet (the connection plugin on its path)."""
    return benchlib.ansible_env(ANSIBLE_CONNECTION_PLUGINS=CONNECTION_DIR, ANSIBLE_HOST_KEY_CHECKING='0', **extra)


def run_playbook(argv, env, host_cpu_log=None):
    """Run ansible-playbook; return (rc, stdout, stderr, wall s, CPU s of its whole process tree).

    The tree's CPU time comes from wait4() (ansible-playbook, its forks, and
    what they waited for: the module runs inside the hosts).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out, err = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - t0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'), wall, cpu
