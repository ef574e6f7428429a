#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bsd_reserved_ports
short_description: Internal - the FreeBSD and macOS side of portwarden.ports.reserved_ports
version_added: 0.2.0
description:
  - B(Internal.) Use M(portwarden.ports.reserved_ports); its action plugin runs this module on FreeBSD and macOS targets,
    so that the Linux module's payload carries no BSD code and this one no Linux code.
  - FreeBSD and macOS have no per-port reservation. With O(state=present) or O(state=exact), the task succeeds without a
    change when every port lies outside the ephemeral port ranges (the kernel never hands them out), and fails otherwise,
    naming the ports and the range that excludes them. O(state=absent) has nothing to release and succeeds without a
    change. It never changes the host.
  - On any other system it fails, naming the system.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
  - portwarden.ports.tables
  - portwarden.ports.persist
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
  ports:
    description: Ports and ranges, as in M(portwarden.ports.reserved_ports).
    type: list
    elements: str
    required: true
  state:
    description: V(present), V(absent) or V(exact), as in M(portwarden.ports.reserved_ports); see the description.
    type: str
    choices: [present, absent, exact]
    default: present
seealso:
  - module: portwarden.ports.reserved_ports
"""

EXAMPLES = r"""
# Not called directly: this task runs portwarden.ports.bsd_reserved_ports on a FreeBSD or macOS host.
- name: Make sure the kernel never hands out the exporter's port
  portwarden.ports.reserved_ports:
    ports: [9100]
"""

RETURN = r"""
ephemeral_range:
  description: The default ephemeral range (C(net.inet.ip.portrange.first) and C(last)).
  returned: success
  type: dict
  sample: {"start": 49152, "end": 65535, "size": 16384}
reserved_ports:
  description: Always empty - these kernels have no per-port reservation.
  returned: success
  type: dict
  sample: {"ports": "", "list": []}
before:
  description: Always empty, as RV(reserved_ports).
  returned: success
  type: dict
  sample: {"ports": "", "list": []}
after:
  description: Always empty, as RV(reserved_ports).
  returned: success
  type: dict
  sample: {"ports": "", "list": []}
added:
  description: Always empty.
  returned: success
  type: list
  elements: raw
  sample: []
removed:
  description: Always empty.
  returned: success
  type: list
  elements: raw
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.module_utils import backend
from ansible_collections.portwarden.ports.plugins.module_utils import backend_bsd


def main():
    module = AnsibleModule(
        argument_spec=argspec.RESERVED_PORTS,
        supports_check_mode=True,
    )
    backend.run(module, backend_bsd.reserved_ports)


if __name__ == '__main__':
    main()
