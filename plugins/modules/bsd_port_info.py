#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bsd_port_info
short_description: Internal - the FreeBSD and macOS side of portwarden.ports.port_info
version_added: 0.2.0
description:
  - B(Internal.) Use M(portwarden.ports.port_info); its action plugin runs this module on FreeBSD and macOS targets, so
    that the Linux module's payload carries no BSD code and this one no Linux code.
  - Reads C(sysctl net.inet.ip.portrange.*), C(netstat -an) and (FreeBSD) C(sockstat -46l) and returns the report of
    M(portwarden.ports.port_info), with the same keys; these kernels have no port reservations.
  - Never changes anything. On any other system it fails, naming the system.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it reports the same in check mode.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: [freebsd, darwin]
    details: Unit-tested with recorded outputs, not on a real FreeBSD or macOS host.
  idempotent:
    support: full
options:
  processes:
    description: As in M(portwarden.ports.port_info).
    type: bool
    default: false
  services:
    description: The service catalogue, as in M(portwarden.ports.port_info).
    type: list
    elements: dict
  top:
    description: How many of the busiest destinations to list, as in M(portwarden.ports.port_info).
    type: int
    default: 10
  conntrack_warn_percent:
    description: Linux only (the conntrack table); ignored here.
    type: int
    default: 80
seealso:
  - module: portwarden.ports.port_info
"""

EXAMPLES = r"""
# Not called directly: this task runs portwarden.ports.bsd_port_info on a FreeBSD or macOS host.
- name: Read the port space of the host
  portwarden.ports.port_info:
  register: ports
"""

RETURN = r"""
ephemeral_range:
  description: The default ephemeral range, as M(portwarden.ports.port_info) returns it.
  returned: success
  type: dict
  sample: {"start": 49152, "end": 65535, "size": 16384}
unprivileged_port_start:
  description: C(net.inet.ip.portrange.reservedhigh) + 1 where the kernel has it, else null.
  returned: success
  type: int
  sample: 1024
reserved_ports:
  description: Always empty - these kernels have no per-port reservation.
  returned: success
  type: dict
  sample: {"ports": "", "list": []}
listeners:
  description: Listening sockets, as M(portwarden.ports.port_info) returns them.
  returned: success
  type: list
  elements: dict
conflicts:
  description: What endangers a service's port, as M(portwarden.ports.port_info) returns it.
  returned: success
  type: list
  elements: dict
usage:
  description: The usage of the ephemeral range, as M(portwarden.ports.port_info) returns it.
  returned: success
  type: dict
firewall:
  description: The keys of M(portwarden.ports.port_info)'s RV(portwarden.ports.port_info#module:firewall), each null - the
    firewall state is read on Linux only.
  returned: success
  type: dict
high_range:
  description: The high range (C(net.inet.ip.portrange.hifirst) and C(hilast)); null where the kernel has none.
  returned: success
  type: dict
  sample: {"start": 49152, "end": 65535, "size": 16384}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.module_utils import backend
from ansible_collections.portwarden.ports.plugins.module_utils import bsd_report


def main():
    module = AnsibleModule(
        argument_spec=argspec.PORT_INFO,
        supports_check_mode=True,
    )
    backend.run(module, bsd_report.module_report)


if __name__ == '__main__':
    main()
