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
  - On Windows it manages the B(administered) excluded port ranges (the rows that
    C(netsh interface ipv4 show excludedportrange) marks with C(*)), per protocol and family (O(protocol), O(family)),
    with C(netsh ... add|delete excludedportrange ... store=persistent) (see the notes). Like Linux's reserved ports, an
    administered exclusion is never handed out as a dynamic port and can still be bound explicitly by a service.
  - Windows does not record who made an administered exclusion; Windows features and installers make them too (many
    hosts carry C(50000-50059 *)). So on Windows the module deletes an administered exclusion only for ports the task
    names with O(state=absent); O(state=exact) adds the missing ports and keeps the administered exclusions outside the
    list, with a warning, reporting them per table in C(kept_unlisted) (RV(tables)).
  - On Windows, exclusions without C(*) are held at runtime by Windows components and services (Hyper-V, WinNAT, Docker,
    WSL ...). They are reported (RV(held_by_system)) and never deleted, also with O(state=absent) or O(state=exact), with a
    warning. Adding an exclusion over one of them, or over a port that a socket uses, is refused before anything runs,
    with the remedy (for WinNAT - C(net stop winnat), add the exclusion, C(net start winnat)).
  - FreeBSD and macOS have no per-port reservation. With O(state=present) or O(state=exact), the task succeeds without a
    change when every port lies outside the ephemeral port ranges (the kernel never hands them out), and fails otherwise,
    naming the ports and the range that excludes them (M(portwarden.ports.ephemeral_range)). O(state=absent) has nothing
    to release and succeeds without a change.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
  - portwarden.ports.tables
  - portwarden.ports.persist
  - portwarden.ports.platforms
attributes:
  check_mode:
    support: full
    details: Check mode predicts exactly what an apply would change.
  diff_mode:
    support: full
    details: Shows the runtime value and the drop-in file before and after.
  platform:
    support: partial
    platforms: [posix, windows]
    details:
      - Linux - C(net.ipv4.ip_local_reserved_ports) and a sysctl.d drop-in. Each network namespace (and so each privileged
        container) has its own reservations. Tested against the real kernel.
      - Windows - administered excluded port ranges through the action plugin and netsh. Tested end to end against a
        stand-in target that emulates netsh, not a real Windows host.
      - FreeBSD and macOS - no per-port reservation exists; see the description. Through the action plugin and the
        internal module M(portwarden.ports.bsd_reserved_ports). Unit-tested only.
  idempotent:
    support: full
options:
  ports:
    description:
      - Ports and ranges, as integers and C(start-end) strings, for example V(22), V(8080-8081).
      - A comma-separated string such as V(9100,8080-8081) is accepted too.
      - With O(state=exact), an empty list removes every reservation (on Linux; see the description for Windows).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) adds O(ports) to the reservations, keeping the others.
      - V(absent) removes O(ports) from the reservations, keeping the others.
      - V(exact) makes the reservations exactly O(ports). On Windows it adds the missing ports and keeps (and warns
        about) administered exclusions outside O(ports), which may belong to Windows or another program.
    type: str
    choices: [present, absent, exact]
    default: present
notes:
  - Reserved ports can still be bound explicitly by servers; they are only skipped when the kernel picks an
    ephemeral port.
  - On Linux the task is all or nothing. The new content of O(sysctl_file) is written to a temp file beside it first,
    then the kernel value, then the file is moved into place; when the move fails, the kernel value is put back, so a
    failed task leaves the kernel and the file as they were, and its message says what it tried and what is live.
    Check mode predicts the failure of an unwritable directory.
  - On Linux, tasks of this collection that change the host's port settings run one at a time per host (a lock in
    C(/run/portwarden)); a second run waits for the first, then reads the host again, so concurrent runs lose nothing.
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

- name: On Windows, exclude a TCP port from the dynamic range of IPv4 and IPv6
  portwarden.ports.reserved_ports:
    ports: [50100]
    protocol: tcp
  register: exclusions

- name: Show the exclusions that Hyper-V or WinNAT hold (never deleted)
  ansible.builtin.debug:
    var: exclusions.held_by_system

- name: Show what was added
  ansible.builtin.debug:
    var: reservations.added
"""

RETURN = r"""
ephemeral_range:
  description: The ephemeral range as it is, the same key as in M(portwarden.ports.ephemeral_range) and
    M(portwarden.ports.port_info). On Windows, the first selected table's range.
  returned: success
  type: dict
  sample: {"start": 32768, "end": 60999, "size": 28232}
reserved_ports:
  description: The reservations after the task (in check mode, what they would be), as
    M(portwarden.ports.port_info) reports them; on Linux the same value as RV(after). On Windows, every excluded
    range of the first selected table, administered or held by the system.
  returned: success
  type: dict
  sample: {"ports": "8080-8081,9100", "list": ["8080-8081", 9100]}
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
  returned: when O(persist=true) on Linux
  type: str
  sample: /etc/sysctl.d/90-portwarden.conf
tables:
  description:
    - On Windows, each selected table (V(ipv4/tcp), V(ipv4/udp), V(ipv6/tcp), V(ipv6/udp)) with its administered exclusions
      before and after (C(ports), C(list)), C(added), C(removed), C(held_by_system), C(kept_unlisted) (administered
      exclusions outside O(ports) that O(state=exact) kept) and C(changed).
    - RV(before), RV(after), RV(added) and RV(removed) are the union over the selected tables.
  returned: on Windows
  type: dict
  sample: {"ipv4/tcp": {"before": {"ports": "", "list": []}, "after": {"ports": "9100", "list": [9100]},
           "added": [9100], "removed": [], "held_by_system": "56638-56737", "kept_unlisted": "", "changed": true}}
administered:
  description: On Windows, the administered exclusions (C(*)) of each selected table after the task, canonical form.
  returned: on Windows
  type: dict
  sample: {"ipv4/tcp": "9100,50000-50059"}
held_by_system:
  description:
    - On Windows, the exclusions of each selected table without C(*), held at runtime by Windows or a service (Hyper-V,
      WinNAT, Docker ...). Never deleted by this module.
  returned: on Windows
  type: dict
  sample: {"ipv4/tcp": "56638-56737"}
commands:
  description: On Windows, the netsh command lines that ran (in check mode, that would run).
  returned: on Windows
  type: list
  elements: str
  sample: ["netsh interface ipv4 add excludedportrange protocol=tcp startport=9100 numberofports=1 store=persistent"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import onceimport


def main():
    onceimport.install()  # the collection's code compiled once, not twice, from the AnsiballZ zip
    from ansible_collections.portwarden.ports.plugins.module_utils import argspec, backend, backend_linux

    module = AnsibleModule(
        argument_spec=argspec.RESERVED_PORTS,
        supports_check_mode=True,
    )
    backend.run(module, backend_linux.reserved_ports)


if __name__ == '__main__':
    main()
