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
  - On Windows (a host reached with a PowerShell or cmd shell) the action plugin of the same name runs
    C(netsh interface ipv4|ipv6 set dynamicportrange) through the connection and parses the output on the controller,
    in any display language; no module code is sent. O(protocol) and O(family) select the tables (TCP and UDP, IPv4 and
    IPv6, each with its own range). Windows' own limits are refused before anything runs - a start below 1025, fewer than
    255 ports, an end above 65535. A range that already starts at 1024 (seen on some images) is read and reported as it is.
  - On FreeBSD and macOS it sets C(net.inet.ip.portrange.first) and C(net.inet.ip.portrange.last) (and/or
    C(hifirst)/C(hilast), see O(bsd_portrange)) with C(sysctl) and keeps them in C(/etc/sysctl.conf) as C(key=value)
    lines, written atomically, changing only those keys.
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
    platforms: [posix, windows]
    details:
      - Linux - C(net.ipv4.ip_local_port_range) and a sysctl.d drop-in. Each network namespace (and so each privileged
        container) has its own range. Tested against the real kernel in network namespaces and containers.
      - Windows - through the action plugin, C(netsh) over the connection (WinRM, PSRP, or SSH with a PowerShell or cmd
        shell), persistent store. Tested end to end against a stand-in target that emulates netsh, not a real Windows host.
      - FreeBSD and macOS - C(net.inet.ip.portrange.*) and C(/etc/sysctl.conf). Unit-tested with recorded outputs, not on
        a real FreeBSD or macOS host.
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
      - On Windows, V(tcp) or V(udp) sets that protocol's range only; V(all) sets both.
      - Linux, FreeBSD and macOS have one range for TCP and UDP, so only V(all) is accepted there.
    type: str
    choices: [tcp, udp, all]
    default: all
  family:
    description:
      - Which address family's range to set.
      - On Windows, V(ipv4) or V(ipv6) sets that family's range only (C(netsh interface ipv4|ipv6)); V(all) sets both.
      - Linux has one range for IPv4 and IPv6 (C(net.ipv4.ip_local_port_range) applies to both), and so do FreeBSD and
        macOS (C(net.inet.ip.portrange.*)), so only V(all) is accepted there.
    type: str
    choices: [ipv4, ipv6, all]
    default: all
  persist:
    description:
      - Also keep the value in O(sysctl_file) so that it survives a reboot.
      - With V(false) only the runtime value is set and the file is not read or written.
      - On Windows, V(true) sets the range with C(store=persistent) (the value survives a reboot and applies at once)
        and V(false) with C(store=active) (until the next boot). C(store=persistent) is also netsh's default; the module
        names it explicitly.
    type: bool
    default: true
  sysctl_file:
    description:
      - The file that holds the persistent value. Written atomically; only the module's own keys are changed, other
        lines are kept. Created when missing.
      - Defaults to C(/etc/sysctl.d/90-portwarden.conf) on Linux and C(/etc/sysctl.conf) on FreeBSD and macOS. Ignored
        on Windows (with a warning when set), where netsh keeps the persistent value.
      - Files in a sysctl.d directory must end in C(.conf) to be read at boot.
    type: path
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
      - Both values are planned before either is written, so check mode and diff cover both and a bad value changes
        nothing; the reservations are applied first, so no listed port is inside the range unreserved, not even for a
        moment. One task instead of two saves a round trip to each host on every run.
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
  - On Windows the user of the connection must be an administrator with an elevated token. Changing the range does not
    move exclusions that Hyper-V or WinNAT already hold; they pick new ones inside the new range at their next start.
  - On FreeBSD and macOS, setting a sysctl needs root (run the task with become); in a jail the host must allow it.
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

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.module_utils import backend


def main():
    module = AnsibleModule(
        argument_spec=argspec.EPHEMERAL_RANGE,
        supports_check_mode=True,
    )
    try:
        result = backend.ephemeral_range(module)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    backend.exit(module, result)


if __name__ == '__main__':
    main()
