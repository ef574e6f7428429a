#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: reserved_ports
short_description: Reserve service ports so that outgoing connections never take them
version_added: 0.1.0
description:
  - Adds, removes or replaces the ports that the kernel must never hand out as ephemeral ports, at runtime and
    persistently.
  - On Linux it writes C(net.ipv4.ip_local_reserved_ports) in C(/proc/sys) and keeps the whole resulting set in a
    sysctl.d drop-in (O(sysctl_file)), changing only that key in the file and keeping every other line.
  - Compares in the kernel's canonical form (sorted, adjacent ports merged, as in C(8080-8081,9100)), so the same
    ports written in any order or grouping are idempotent.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  check_mode:
    support: full
    details: Check mode predicts exactly what an apply would change.
  diff_mode:
    support: full
    details: Shows the runtime value and the drop-in file before and after.
  platform:
    support: full
    platforms: posix
    details: Linux. Each network namespace (and so each privileged container) has its own reservations.
  idempotent:
    support: full
options:
  ports:
    description:
      - Ports and ranges, as integers and C(start-end) strings, for example V(22), V(8080-8081).
      - A comma-separated string such as V(9100,8080-8081) is accepted too.
      - With O(state=exact), an empty list removes every reservation.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) adds O(ports) to the reservations, keeping the others.
      - V(absent) removes O(ports) from the reservations, keeping the others.
      - V(exact) makes the reservations exactly O(ports).
    type: str
    choices: [present, absent, exact]
    default: present
  persist:
    description:
      - Also keep the resulting reservations in O(sysctl_file) so that they survive a reboot.
    type: bool
    default: true
  sysctl_file:
    description:
      - The sysctl.d drop-in that holds the persistent value. Written atomically; only the module's own key is
        changed, other lines are kept. Created when missing.
    type: path
    default: /etc/sysctl.d/90-portwarden.conf
notes:
  - Reserved ports can still be bound explicitly by servers; they are only skipped when the kernel picks an
    ephemeral port.
seealso:
  - module: portwarden.ports.ephemeral_range
  - module: portwarden.ports.port_info
"""

EXAMPLES = r"""
- name: Reserve the ports of services that listen inside the ephemeral range
  portwarden.ports.reserved_ports:
    ports:
      - 9100
      - 8080-8081

- name: The same ports written differently change nothing
  portwarden.ports.reserved_ports:
    ports: "9100,8080-8081"

- name: Release one port
  portwarden.ports.reserved_ports:
    ports: [9100]
    state: absent

- name: Make the reservations exactly the service catalogue's ports
  portwarden.ports.reserved_ports:
    ports: "{{ portwarden_services | map(attribute='port') | list }}"
    state: exact
  register: reservations

- name: Show what was added
  ansible.builtin.debug:
    var: reservations.added
"""

RETURN = r"""
before:
  description: The reservations before the task.
  returned: success
  type: dict
  contains:
    ports:
      description: Canonical form, as the kernel prints it.
      type: str
      sample: "8080-8081"
    list:
      description: Canonical items, single ports as integers and ranges as C(start-end) strings.
      type: list
      elements: raw
      sample: ["8080-8081"]
after:
  description: The reservations after the task (in check mode, what they would be).
  returned: success
  type: dict
  contains:
    ports:
      description: Canonical form, as the kernel prints it.
      type: str
      sample: "8080-8081,9100"
    list:
      description: Canonical items.
      type: list
      elements: raw
      sample: ["8080-8081", 9100]
added:
  description: Ports reserved by this task, canonical items.
  returned: success
  type: list
  elements: raw
  sample: [9100]
removed:
  description: Ports released by this task, canonical items.
  returned: success
  type: list
  elements: raw
  sample: []
sysctl_file:
  description: The drop-in that holds the persistent value.
  returned: when O(persist=true)
  type: str
  sample: /etc/sysctl.d/90-portwarden.conf
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils import backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ports=dict(type='list', elements='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent', 'exact']),
            persist=dict(type='bool', default=True),
            sysctl_file=dict(type='path', default='/etc/sysctl.d/90-portwarden.conf'),
        ),
        supports_check_mode=True,
    )
    try:
        result = backend.reserved_ports(module)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    backend.exit(module, result)


if __name__ == '__main__':
    main()
