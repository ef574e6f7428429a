# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection plugin of the namespace test fleet (benchmarks and tests only, not shipped).

Each inventory host is a network + mount namespace held open by a process on
the controller machine. Every command Ansible runs on the host (the module
payloads, the action plugins' own commands, the rollback timer of nft_table)
is run through ``nsenter`` into that process's namespaces, so the host's
kernel port settings, nftables ruleset and sysctl.d are the namespace's, never
the machine's. Files are copied as by the local connection: the namespaces
share the machine's /tmp and ~/.ansible.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: pw_nsenter
short_description: Run on this machine inside the network and mount namespaces of a holder process
description:
  - The local connection, with every command entered into the namespaces of O(ns_pid) with nsenter.
  - For the namespace fleets of the benchmarks and integration tests.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - connection_pipelining
options:
  ns_pid:
    description: Process id of the process holding the host's namespaces.
    type: int
    required: true
    vars:
      - name: pw_ns_pid
"""

import os
import resource
import shlex

from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    """The local connection, entered into the namespaces of ``pw_ns_pid``."""

    transport = 'pw_nsenter'

    def exec_command(self, cmd, in_data=None, sudoable=True):
        pid = str(int(self.get_option('ns_pid')))
        wrapped = shlex.join(['nsenter', '-t', pid, '-n', '-m', '--', '/bin/sh', '-c', cmd])
        log = os.environ.get('PW_NSENTER_CPU_LOG')
        if not log:
            return super(Connection, self).exec_command(wrapped, in_data=in_data, sudoable=sudoable)
        # The benchmarks split the controller's CPU time from the hosts': what the command used inside the
        # host (it is waited for here, so it is in this worker's RUSAGE_CHILDREN) goes to a log, one line each.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = super(Connection, self).exec_command(wrapped, in_data=in_data, sudoable=sudoable)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        with open(log, 'a') as handle:
            handle.write('%.6f\n' % used)
        return result
