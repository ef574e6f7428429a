# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every OS backend of the port modules shares; no backend is imported here.

The OS is chosen in one place, on the controller: the action plugin of each
module (plugins/plugin_utils/netsh_action.py, ``NetshActionBase``) runs netsh
through the connection on Windows, the internal module ``bsd_<name>``
(backend_bsd.py, bsd.py, bsd_report.py) on FreeBSD and macOS, and the Linux
module ``<name>`` (backend_linux.py, linux.py, portinfo.py) everywhere else.
It chooses from the target's facts (``ansible_system``); without them it runs
the Linux module, and a Linux module that lands on FreeBSD or macOS answers
with :func:`check_system`'s marker (the result key :data:`SYSTEM_KEY`),
after which the plugin runs the BSD module once. So each payload carries one
OS's code (tests/unit/test_payloads.py).

The same three operations on every OS, with the same parameters and result
shape: :func:`shape_result` gives every result the same ``ephemeral_range``
and ``reserved_ports``; :func:`run` turns a PortwardenError into ``fail_json``.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

BSD_SYSTEMS = ('FreeBSD', 'Darwin')
# Each OS's own persistent file, used when the task leaves sysctl_file null (linux.DEFAULT_SYSCTL_FILE, bsd.SYSCTL_CONF).
SYSCTL_FILES = {'linux': '/etc/sysctl.d/90-portwarden.conf', 'bsd': '/etc/sysctl.conf'}
# The key of a failed result that names the system a module refused (platform.system()): the action plugin reads it.
SYSTEM_KEY = 'portwarden_system'


def system():
    return platform.system()


def family_of(name):
    """``linux``, ``bsd`` or None for a system name as platform.system() (and ansible_system) spell it."""
    if name == 'Linux':
        return 'linux'
    return 'bsd' if name in BSD_SYSTEMS else None


def module_name(what, family):
    """The module that runs ``what`` on ``family``: ``bsd_<what>`` for FreeBSD and macOS, ``<what>`` for Linux."""
    return 'bsd_' + what if family == 'bsd' else what


def check_system(what, family):
    """This host's system name when it is of ``family``; else a PortwardenError that carries :data:`SYSTEM_KEY`."""
    name = system()
    found = family_of(name)
    if found == family:
        return name
    if found is None:
        msg = ('%s does not support %s; supported: Linux, FreeBSD, macOS (and Windows through the action plugin of the '
               'same name).' % (what, name))
    else:
        msg = ('portwarden.ports.%s serves %s and this host runs %s: the action plugin of portwarden.ports.%s runs '
               'portwarden.ports.%s here, chosen from the host\'s facts (ansible_system) or after this answer (with '
               'async, only from the facts: gather them first).'
               % (module_name(what, family), 'FreeBSD and macOS' if family == 'bsd' else 'Linux', name, what,
                  module_name(what, found)))
    raise PortwardenError(msg, **{SYSTEM_KEY: name})


def shape_result(result, erange, reserved):
    """Add the keys every ephemeral_range, reserved_ports and port_info result has, on every OS.

    ``erange`` (PortRange or its dict) is the ephemeral range after the task,
    ``reserved`` (PortSet) the reservations after it (in check mode: what they
    would be).
    """
    result['ephemeral_range'] = erange.to_dict() if isinstance(erange, PortRange) else dict(erange)
    result['reserved_ports'] = PortSet.parse(reserved).to_dict()
    return result


def sysctl_file(params, family):
    return params.get('sysctl_file') or SYSCTL_FILES[family]


def runner(module):
    return functools.partial(module.run_command, check_rc=False)


def probe_runner(module):
    """:func:`runner`'s ``run(argv)`` for port_info's read-only probes, without run_command's ``preexec_fn``
    (which makes Python fork the whole module process): started with vfork, 5-7 ms less for three runs."""
    env = dict(os.environ, **(module.run_command_environ_update or {}))

    def run(argv):
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, check=False)
        except OSError as exc:
            raise PortwardenError('Cannot run %s: %s.' % (argv[0], exc.strerror or exc))
        return proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')
    return run


def one_for_all(params, what):
    """Linux, FreeBSD and macOS have one range (and one reservation list) for TCP and UDP over IPv4 and IPv6."""
    if params.get('protocol', 'all') != 'all' or params.get('family', 'all') != 'all':
        raise PortwardenError('protocol=%s family=%s: %s has one %s for TCP and UDP over IPv4 and IPv6, so protocol and '
                              'family must both be "all" here (they select tables on Windows only).'
                              % (params.get('protocol'), params.get('family'), system(), what))


def run(module, operation, *args, **kwargs):
    """Run one operation and exit: warnings, the diff in diff mode, and PortwardenError as fail_json."""
    try:
        result = operation(module, *args, **kwargs)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    result.setdefault('changed', False)
    for warning in result.pop('warnings', []):
        module.warn(warning)
    diff = result.pop('diff', None)
    if module._diff and diff is not None:
        result['diff'] = diff
    module.exit_json(**result)
