#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bsd_ephemeral_range
short_description: Internal - the FreeBSD and macOS side of portwarden.ports.ephemeral_range
version_added: 0.2.0
description:
  - B(Internal.) Use M(portwarden.ports.ephemeral_range); its action plugin runs this module on FreeBSD and macOS targets,
    so that the Linux module's payload carries no BSD code and this one no Linux code.
  - Sets C(net.inet.ip.portrange.first) and C(last) (and/or C(hifirst)/C(hilast), see O(bsd_portrange)) and keeps them
    in C(/etc/sysctl.conf) as C(key=value) lines, with the options, the result and the behaviour that
    M(portwarden.ports.ephemeral_range) documents for FreeBSD and macOS.
  - On any other system it fails without changing anything, naming the system.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
  - portwarden.ports.tables
  - portwarden.ports.persist
attributes:
  check_mode:
    support: full
    details: Check mode predicts exactly what an apply would change.
  diff_mode:
    support: full
    details: Shows the runtime values and C(/etc/sysctl.conf) before and after.
  platform:
    support: full
    platforms: [freebsd, darwin]
    details: Unit-tested with recorded outputs, not on a real FreeBSD or macOS host.
  idempotent:
    support: full
options:
  start:
    description: First port of the range (inclusive), as in M(portwarden.ports.ephemeral_range).
    type: int
    required: true
  end:
    description: Last port of the range (inclusive).
    type: int
    required: true
  bsd_portrange:
    description: Which pair to set - V(default) (C(first)/C(last)), V(high) (C(hifirst)/C(hilast)) or V(both).
    type: str
    choices: [default, high, both]
    default: default
  reserve:
    description: Ports the new range must leave out; these kernels have no per-port reservation, so the task fails
      before changing anything when one lies inside the new range.
    type: list
    elements: str
    default: []
  conntrack_max:
    description: Linux only; any value other than null fails the task before changing anything.
    type: int
seealso:
  - module: portwarden.ports.ephemeral_range
"""

EXAMPLES = r"""
# Not called directly: this task runs portwarden.ports.bsd_ephemeral_range on a FreeBSD or macOS host.
- name: Set the ephemeral range
  portwarden.ports.ephemeral_range:
    start: 20000
    end: 60999
"""

RETURN = r"""
ephemeral_range:
  description: The range after the task (in check mode, what it would be), the same key as in
    M(portwarden.ports.ephemeral_range).
  returned: success
  type: dict
  sample: {"start": 20000, "end": 60999, "size": 41000}
reserved_ports:
  description: Always empty - these kernels have no per-port reservation.
  returned: success
  type: dict
  sample: {"ports": "", "list": []}
before:
  description: The range before the task, of the first pair that O(bsd_portrange) selects.
  returned: success
  type: dict
  sample: {"start": 10000, "end": 65535, "size": 55536}
after:
  description: The range after the task (in check mode, what it would be).
  returned: success
  type: dict
  sample: {"start": 20000, "end": 60999, "size": 41000}
ranges:
  description: Each pair of O(bsd_portrange) (V(default), V(high)) with its range before and after.
  returned: success
  type: dict
  sample: {"default": {"before": {"start": 10000, "end": 65535, "size": 55536},
           "after": {"start": 20000, "end": 60999, "size": 41000}}}
sysctl_file:
  description: The file that holds the persistent values.
  returned: when O(persist=true)
  type: str
  sample: /etc/sysctl.conf
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.module_utils import backend
from ansible_collections.portwarden.ports.plugins.module_utils import backend_bsd


def main():
    module = AnsibleModule(
        argument_spec=argspec.EPHEMERAL_RANGE,
        supports_check_mode=True,
    )
    backend.run(module, backend_bsd.ephemeral_range)


if __name__ == '__main__':
    main()
