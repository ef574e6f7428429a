# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_info's read-only firewall probes, started side by side before they are asked for.

portgather.firewall_state asks up to ten programs one after the other
(managers.detect: systemctl, ufw, nft, iptables-legacy-save; nft_dynamic: the
portwarden table's counters and ban sets). :func:`start` runs those that do
not depend on another's answer at once; :class:`Prefetched` answers
``run(argv)`` from the one started for that exact argv (binary path
included) and runs anything else the normal way, so a wrong prediction costs
a wasted read-only process, never another answer. Every process is waited for.
"""

from __future__ import annotations

import atexit
import os
import platform
import subprocess

from ansible.module_utils.common.process import get_bin_path

from ansible_collections.portwarden.ports.plugins.module_utils import managers, nft_dynamic


def _has_content(path):
    try:
        with open(path, 'rb') as handle:
            return bool(handle.read().strip())
    except (IOError, OSError):
        return False


def predicted(which, exists=os.path.exists, has_content=_has_content):
    """What managers.detect and nft_dynamic's audit ask for whatever the answers, in their order."""
    commands = []
    systemctl = which('systemctl')
    systemd = bool(systemctl) and exists(managers.SYSTEMD_RUNNING)
    if systemd:
        commands += [[systemctl, 'is-active', 'firewalld.service'], [systemctl, 'is-enabled', 'firewalld.service']]
    ufw = which('ufw')
    if ufw:
        commands.append([ufw, 'status'])
    if systemd and (ufw or exists(managers.UFW_CONF)):
        commands += [[systemctl, 'is-active', 'ufw.service'], [systemctl, 'is-enabled', 'ufw.service']]
    nft = which('nft')
    if nft:
        commands += [[nft, '-j', 'list', 'chains'], [nft, '-j', 'list', 'tables']]
    for tool, names in sorted(managers.LEGACY_NAMES.items()):
        binary = which(tool)
        if binary and has_content(names):
            commands.append([binary])
    if nft:
        table = [nft_dynamic.TABLE_FAMILY, nft_dynamic.TABLE_NAME]
        commands.append([nft, '-j', 'list', 'counters', 'table'] + table)
        commands += [[nft, '-j', 'list', 'set'] + table + [name] for name in nft_dynamic.BAN_SETS]
    return commands


class Prefetched(object):
    """Processes started for ``commands`` (argv lists); :meth:`runner` answers from them."""

    def __init__(self, commands, env=None):
        env = dict(os.environ) if env is None else env
        self.started = {}
        for argv in commands:
            key = tuple(argv)
            if key in self.started:
                continue
            try:
                self.started[key] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                     stderr=subprocess.PIPE, env=env)
            except OSError:
                continue   # run the normal way when asked for, and fail there with its message

    def take(self, argv):
        """``(rc, out, err)`` of the process started for ``argv``, or None."""
        proc = self.started.pop(tuple(argv), None)
        if proc is None:
            return None
        out, err = proc.communicate()
        return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')

    def runner(self, run):
        """``run(argv) -> (rc, out, err)`` from the started processes, else from ``run``."""
        def prefetched_run(argv):
            found = self.take(argv)
            return found if found is not None else run(argv)
        return prefetched_run

    def close(self):
        """Wait for the processes nobody asked for."""
        while self.started:
            _key, proc = self.started.popitem()
            try:
                proc.communicate()
            except OSError:
                pass


def which(name):
    """``name``'s path as AnsibleModule.get_bin_path finds it, or None."""
    try:
        return get_bin_path(name)
    except ValueError:
        return None


def start():
    """:class:`Prefetched` for the :func:`predicted` commands on Linux (None elsewhere), also waited for at exit
    (a module that fails on its options exits before it asks)."""
    if platform.system() != 'Linux':
        return None
    prefetched = Prefetched(predicted(which))
    atexit.register(prefetched.close)
    return prefetched
