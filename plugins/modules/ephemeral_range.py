#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ephemeral_range
short_description: Set the ephemeral (dynamic) port range of a host
version_added: 0.1.0
description:
  - Sets the range of local ports that the kernel hands to outgoing connections, at runtime and persistently.
  - On Linux it writes C(net.ipv4.ip_local_port_range) in C(/proc/sys) and keeps the value in a sysctl.d drop-in
    (O(sysctl_file)), changing only that key in the file and keeping every other line.
  - Values are compared as numbers, so whitespace or tabs in the kernel's or the file's text never cause a change.
  - Refuses, before changing anything, what the kernel would refuse - a start above the end, ports outside 1-65535,
    a start below C(net.ipv4.ip_unprivileged_port_start).
  - Warns when both bounds have the same parity (the kernel prefers an even start and an odd end), when a sysctl file
    applied later at boot sets the same key (naming the file), and when the new range covers ports that a service
    listens on without a reservation.
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
    details: Linux. Each network namespace (and so each privileged container) has its own range.
  idempotent:
    support: full
options:
  start:
    description:
      - First port of the range (inclusive).
    type: int
    required: true
  end:
    description:
      - Last port of the range (inclusive).
    type: int
    required: true
  protocol:
    description:
      - Which protocol's range to set.
      - Linux has one range for TCP and UDP, so only V(all) is accepted there.
    type: str
    choices: [tcp, udp, all]
    default: all
  family:
    description:
      - Which address family's range to set.
      - Linux has one range for IPv4 and IPv6 (C(net.ipv4.ip_local_port_range) applies to both), so only V(all) is
        accepted there.
    type: str
    choices: [ipv4, ipv6, all]
    default: all
  persist:
    description:
      - Also keep the value in O(sysctl_file) so that it survives a reboot.
      - With V(false) only the runtime value is set and the file is not read or written.
    type: bool
    default: true
  sysctl_file:
    description:
      - The sysctl.d drop-in that holds the persistent value. Written atomically; only the module's own key is
        changed, other lines are kept. Created when missing.
      - Files in a sysctl.d directory must end in C(.conf) to be read at boot.
    type: path
    default: /etc/sysctl.d/90-portwarden.conf
notes:
  - The reserved ports (M(portwarden.ports.reserved_ports)) are never handed out from the range, so reserve the ports
    of services that listen inside it.
seealso:
  - module: portwarden.ports.reserved_ports
  - module: portwarden.ports.port_info
  - name: The Linux kernel's ip-sysctl documentation
    description: C(ip_local_port_range), C(ip_local_reserved_ports) and C(ip_unprivileged_port_start).
    link: https://docs.kernel.org/networking/ip-sysctl.html
"""

EXAMPLES = r"""
- name: Widen the ephemeral range for a busy proxy
  portwarden.ports.ephemeral_range:
    start: 16384
    end: 60999

- name: Set the range at runtime only (a test host)
  portwarden.ports.ephemeral_range:
    start: 40000
    end: 59999
    persist: false

- name: Keep the value in a drop-in of your own naming
  portwarden.ports.ephemeral_range:
    start: 32768
    end: 60999
    sysctl_file: /etc/sysctl.d/80-ports.conf
  register: range_result

- name: Show what the range was and is
  ansible.builtin.debug:
    msg: "{{ range_result.before.start }}-{{ range_result.before.end }} -> {{ range_result.after.start }}-{{ range_result.after.end }}"
"""

RETURN = r"""
before:
  description: The range before the task.
  returned: success
  type: dict
  contains:
    start:
      description: First port.
      type: int
      sample: 32768
    end:
      description: Last port.
      type: int
      sample: 60999
    size:
      description: Number of ports in the range.
      type: int
      sample: 28232
after:
  description: The range after the task (in check mode, the range it would set).
  returned: success
  type: dict
  contains:
    start:
      description: First port.
      type: int
      sample: 16384
    end:
      description: Last port.
      type: int
      sample: 60999
    size:
      description: Number of ports in the range.
      type: int
      sample: 44616
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
            start=dict(type='int', required=True),
            end=dict(type='int', required=True),
            protocol=dict(type='str', default='all', choices=['tcp', 'udp', 'all']),
            family=dict(type='str', default='all', choices=['ipv4', 'ipv6', 'all']),
            persist=dict(type='bool', default=True),
            sysctl_file=dict(type='path', default='/etc/sysctl.d/90-portwarden.conf'),
        ),
        supports_check_mode=True,
    )
    try:
        result = backend.ephemeral_range(module)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    backend.exit(module, result)


if __name__ == '__main__':
    main()
