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
  - On Linux it writes C(net.ipv4.ip_local_port_range) and keeps the value in a sysctl.d drop-in (O(sysctl_file)).
    Values are compared as numbers, so whitespace or tabs in the kernel's or the file's text never cause a change.
  - Refuses, before changing anything, what the kernel would refuse - a start above the end, ports outside 1-65535,
    a start below C(net.ipv4.ip_unprivileged_port_start).
  - Warns when both bounds have the same parity (the kernel prefers an even start and an odd end), when a sysctl file
    applied later at boot sets the same key (naming the file), and when the new range covers ports that a service
    listens on without a reservation.
  - On Windows it runs C(netsh interface ipv4|ipv6 set dynamicportrange) (see the notes); O(protocol) and O(family)
    select the tables (TCP and UDP, IPv4 and IPv6, each with its own range). Windows' own limits are refused before
    anything runs - a start below 1025, fewer than 255 ports, an end above 65535. A range that already starts at 1024
    (seen on some images) is read and reported as it is.
  - On FreeBSD and macOS it sets C(net.inet.ip.portrange.first) and C(last) (and/or C(hifirst)/C(hilast), see
    O(bsd_portrange)) and keeps them in C(/etc/sysctl.conf) as C(key=value) lines.
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
    support: full
    platforms: [posix, windows]
    details:
      - Linux - C(net.ipv4.ip_local_port_range) and a sysctl.d drop-in. Each network namespace (and so each privileged
        container) has its own range. Tested against the real kernel in network namespaces and containers.
      - Windows - through the action plugin, C(netsh) over the connection (WinRM, PSRP, or SSH with a PowerShell or cmd
        shell), persistent store. Tested end to end against a stand-in target that emulates netsh, not a real Windows host.
      - FreeBSD and macOS - C(net.inet.ip.portrange.*) and C(/etc/sysctl.conf), through the action plugin and the internal
        module M(portwarden.ports.bsd_ephemeral_range). Unit-tested with recorded outputs, not on a real FreeBSD or macOS
        host.
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
  bsd_portrange:
    description:
      - FreeBSD and macOS only; ignored elsewhere.
      - V(default) sets C(net.inet.ip.portrange.first) and C(last), the range every socket gets its ephemeral port from.
      - V(high) sets C(hifirst) and C(hilast), the range for sockets that ask for C(IP_PORTRANGE_HIGH).
      - V(both) sets both pairs to the same range.
    type: str
    choices: [default, high, both]
    default: default
  reserve:
    description:
      - Ports that the new range must never hand out, reserved in the same task before the range is set (as
        M(portwarden.ports.reserved_ports) with O(portwarden.ports.reserved_ports#module:state=present) would; other
        reservations are kept). Integers and C(start-end) strings, or one comma-separated string.
      - Check mode and diff cover both; a bad value in either changes nothing, and no listed port is ever inside the
        range unreserved. One task instead of two saves a round trip to each host.
      - On Linux, C(net.ipv4.ip_local_reserved_ports), kept in the same O(sysctl_file). On Windows, administered excluded
        port ranges in the tables that O(protocol) and O(family) select. On FreeBSD and macOS, which have no per-port
        reservation, the task fails before changing anything when a listed port lies inside the new range.
    type: list
    elements: str
    default: []
  conntrack_max:
    description:
      - Linux only. The size of the connection tracking table, C(net.netfilter.nf_conntrack_max), set in the same task
        and kept in the same O(sysctl_file), with check mode and diff like the range. Null (the default) leaves it alone.
      - Fails before changing anything where conntrack is not loaded (no C(/proc/sys/net/netfilter/nf_conntrack_max)),
        naming the kernel module to load (C(nf_conntrack)), and where the value is read-only (the kernel lets only the
        host's initial network namespace change it, not a container).
    type: int
notes:
  - Each task is all or nothing on Linux. The new content of O(sysctl_file) is written to a temp file beside it first,
    then the kernel values, then the file is moved into place; when a kernel write or the move fails, the values already
    written are put back, so a failed task leaves the kernel and the file as they were, and its message says what it
    tried and what is live. Check mode predicts the failure of an unwritable directory or a read-only kernel value.
  - On Linux, tasks of this collection that change the host's port settings run one at a time per host (a lock in
    C(/run/portwarden)); a second run waits for the first, then reads the host again, so concurrent runs lose nothing.
  - The reserved ports (M(portwarden.ports.reserved_ports)) are never handed out from the range, so reserve the ports
    of services that listen inside it.
  - On Windows, changing the range does not move exclusions that Hyper-V or WinNAT already hold; they pick new ones
    inside the new range at their next start.
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

- name: On Windows, set the TCP range of IPv4 and IPv6 only (netsh through the connection)
  portwarden.ports.ephemeral_range:
    start: 49152
    end: 65535
    protocol: tcp

- name: On FreeBSD, set the default and the high range alike
  portwarden.ports.ephemeral_range:
    start: 20000
    end: 60999
    bsd_portrange: both

- name: Move the range and keep two service ports out of it, in one task
  portwarden.ports.ephemeral_range:
    start: 20000
    end: 60999
    reserve: [50051, "9100-9101"]

- name: Set the range and a larger conntrack table (needs nf_conntrack loaded; not inside a container)
  portwarden.ports.ephemeral_range:
    start: 32768
    end: 60999
    conntrack_max: 524288

- name: Show what the range was and is
  ansible.builtin.debug:
    msg: "{{ range_result.before.start }}-{{ range_result.before.end }} -> {{ range_result.after.start }}-{{ range_result.after.end }}"
"""

RETURN = r"""
ephemeral_range:
  description:
    - The range after the task (in check mode, the range it would set); the same key as in M(portwarden.ports.port_info)
      and M(portwarden.ports.reserved_ports). On Windows, the first selected table's range.
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
reserved_ports:
  description: The reservations after the task, as M(portwarden.ports.port_info) reports them (on Windows, every
    excluded range of the first selected table, administered or held by the system).
  returned: success
  type: dict
  sample: {"ports": "8080-8081,9100", "list": ["8080-8081", 9100]}
before:
  description: The range before the task (C(start), C(end), C(size) as in RV(ephemeral_range)).
  returned: success
  type: dict
  sample: {"start": 32768, "end": 60999, "size": 28232}
after:
  description: The range after the task, the same as RV(ephemeral_range).
  returned: success
  type: dict
  sample: {"start": 16384, "end": 60999, "size": 44616}
reserved:
  description:
    - The reservations that O(reserve) added to, before and after (C(ports) in canonical form, C(list)), the ports it
      C(added), and whether they C(changed). On Windows, also the C(tables) as M(portwarden.ports.reserved_ports)
      returns them.
  returned: when O(reserve) is not empty, on Linux and Windows
  type: dict
  sample: {"before": {"ports": "22", "list": [22]}, "after": {"ports": "22,9100-9101,50051", "list": [22, "9100-9101", 50051]},
           "added": ["9100-9101", 50051], "changed": true}
conntrack_max:
  description: With O(conntrack_max), C(net.netfilter.nf_conntrack_max) before and after, and whether it (or its line in
    the drop-in) changed.
  returned: when O(conntrack_max) is set, on Linux
  type: dict
  sample: {"before": 262144, "after": 524288, "changed": true}
sysctl_file:
  description: The file that holds the persistent value.
  returned: when O(persist=true) on Linux, FreeBSD and macOS
  type: str
  sample: /etc/sysctl.d/90-portwarden.conf
tables:
  description:
    - On Windows, each selected table (V(ipv4/tcp), V(ipv4/udp), V(ipv6/tcp), V(ipv6/udp)) with its range before and after
      and whether it changed. RV(before) is the first selected table's range.
  returned: on Windows
  type: dict
  sample: {"ipv4/tcp": {"before": {"start": 49152, "end": 65535, "size": 16384},
           "after": {"start": 20000, "end": 29999, "size": 10000}, "changed": true}}
commands:
  description: On Windows, the netsh command lines that ran (in check mode, that would run).
  returned: on Windows
  type: list
  elements: str
  sample: ["netsh interface ipv4 set dynamicportrange protocol=tcp startport=20000 numberofports=10000 store=persistent"]
ranges:
  description: On FreeBSD and macOS, each pair of O(bsd_portrange) (V(default), V(high)) with its range before and after.
  returned: on FreeBSD and macOS
  type: dict
  sample: {"default": {"before": {"start": 10000, "end": 65535, "size": 55536},
           "after": {"start": 20000, "end": 60999, "size": 41000}}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import onceimport


def listening(start, end):
    """Linux: the ports listened on inside start-end (a warning names those the new range covers unreserved)."""
    from ansible_collections.portwarden.ports.plugins.module_utils import procnet

    return [item.port for item in procnet.scan_tables(start, end).listeners]


def main():
    onceimport.install()  # the collection's code compiled once, not twice, from the AnsiballZ zip
    from ansible_collections.portwarden.ports.plugins.module_utils import argspec, backend, backend_linux

    module = AnsibleModule(
        argument_spec=argspec.EPHEMERAL_RANGE,
        supports_check_mode=True,
    )
    backend.run(module, backend_linux.ephemeral_range, listening=listening)


if __name__ == '__main__':
    main()
