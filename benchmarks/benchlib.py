# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers of the benchmarks: paths, statistics, the machine line,
throwaway network namespaces, and the Ansible environment of this checkout.

The namespace "hosts" are the integration tests' own :class:`NsHost` (private
network namespace plus private mount namespace with empty sysctl.d dirs), so
a benchmark never writes the machine's own kernel values or /etc/sysctl.d.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, '.build', 'bench')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')


def _load_conftest():
    path = os.path.join(REPO, 'tests', 'integration', 'conftest.py')
    spec = importlib.util.spec_from_file_location('portwarden_integration_conftest', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_conftest = _load_conftest()
NsHost = _conftest.NsHost
ansible_env = _conftest.ansible_env


def tool(name):
    """A tool of the venv (ansible-playbook ...) when there is one, else the name."""
    path = os.path.join(VENV_BIN, name)
    return path if os.path.exists(path) else name


def uid(prefix='pw'):
    """A short unique name (namespaces, veths: at most 15 characters)."""
    return prefix + secrets.token_hex(3)


# -- statistics ---------------------------------------------------------------------
def quantile(values, q):
    """Linear-interpolated quantile of a non-empty list (q in 0..1)."""
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summary(values):
    """median, p10, p90, spread (p90-p10 relative to the median), n."""
    med = statistics.median(values)
    p10, p90 = quantile(values, 0.10), quantile(values, 0.90)
    return {
        'n': len(values),
        'median': med,
        'p10': p10,
        'p90': p90,
        'min': min(values),
        'max': max(values),
        'spread': (p90 - p10) / med if med else 0.0,
    }


def fmt_ms(seconds):
    return '%.1f ms' % (seconds * 1000.0)


def fmt_us(seconds):
    return '%.1f us' % (seconds * 1e6)


# -- machine ------------------------------------------------------------------------
def machine():
    model = ''
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith('Model name:'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'nproc': os.cpu_count(),
        'cpu': model or platform.processor() or 'unknown',
        'kernel': platform.release(),
        'python': platform.python_version(),
        'load': '%.2f %.2f %.2f' % load,
    }


def machine_line(info=None):
    info = info or machine()
    return ('%(date)s; nproc %(nproc)s; CPU %(cpu)s; kernel %(kernel)s; python %(python)s; '
            'load average at start %(load)s' % info)


def descendants(pid):
    """Pids of every process below ``pid`` (from /proc), children first."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid):
    """SIGKILL a process and everything below it, also what left its process group (Ansible's workers do)."""
    for target in [pid] + descendants(pid):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass


def save(name, data):
    """Write the raw figures of one benchmark to .build/bench/NAME.json; return the path."""
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + '.json')
    with open(path, 'w') as handle:
        json.dump(data, handle, indent=1, sort_keys=True, default=str)
    return path


def log(msg):
    sys.stderr.write('[bench] %s\n' % msg)
    sys.stderr.flush()


# -- network namespaces (no mount namespace) ----------------------------------------
class NetNs(_conftest.Namespace):
    """A bare network namespace (no mount namespace) held open by a sleeping process; entered with nsenter."""


def veth_pair(server, client, server_addr, client_addr, prefixlen=30):
    """Join two namespaces with a veth pair; addresses without prefix length."""
    a, b = uid('pwa'), uid('pwb')
    subprocess.run(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b], check=True)
    subprocess.run(['ip', 'link', 'set', a, 'netns', str(server.pid)], check=True)
    subprocess.run(['ip', 'link', 'set', b, 'netns', str(client.pid)], check=True)
    server.run(['ip', 'addr', 'add', '%s/%d' % (server_addr, prefixlen), 'dev', a])
    server.run(['ip', 'link', 'set', a, 'up'])
    client.run(['ip', 'addr', 'add', '%s/%d' % (client_addr, prefixlen), 'dev', b])
    client.run(['ip', 'link', 'set', b, 'up'])
    return a, b
