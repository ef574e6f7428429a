#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: port_info
short_description: Report a host's port space - ranges, reservations, listeners, conflicts and ephemeral exhaustion
version_added: 0.1.0
description:
  - Reads the ephemeral range, C(ip_unprivileged_port_start) and the reserved ports from C(/proc/sys), and every socket
    over netlink sock_diag (C(/proc/net/*) where the kernel does not answer); no C(ss) or C(netstat) is needed.
  - Reports the listeners, the B(conflicts) (unreserved listeners inside the ephemeral range, each with a remedy; with
    O(services), the drift from the catalogue), the B(usage) of the range (TCP states, TIME_WAIT, the busiest
    destinations with their headroom, conntrack) and the B(firewall) (managers, bans, drops).
  - Reads the network namespace it runs in (in a container, the container's own). Never changes anything.
  - On FreeBSD and macOS the same report comes from C(sysctl net.inet.ip.portrange.*), C(netstat -an) and (FreeBSD)
    C(sockstat -46l); these kernels have no port reservations. On Windows it reads C(netsh) and C(netstat) (see the
    notes); a catalogue port or a listener inside an exclusion that Windows or a service holds (no C(*)) is a
    V(service_port_held) conflict.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
  - portwarden.ports.platforms
attributes:
  check_mode:
    support: full
    details: The module only reads; it reports the same in check mode.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: [posix, windows]
    details: Linux reads procfs directly (module M(portwarden.ports.linux_port_info), the report built on the controller);
      FreeBSD and macOS their tools (module M(portwarden.ports.bsd_port_info)); Windows through the action plugin.
  idempotent:
    support: full
notes:
  - A TCP listener is a socket in state C(LISTEN); a UDP listener a bound, unconnected UDP socket (a UDP client that sends
    without connecting looks the same). IPv4-mapped IPv6 addresses are reported as IPv4 (RV(listeners[].family=ipv4)).
  - Linux keeps a closed TCP connection in TIME_WAIT for 60 seconds (C(TCP_TIMEWAIT_LEN), no sysctl changes it), so a port
    toward one destination is reused at most once a minute unless C(tcp_tw_reuse) and C(tcp_timestamps) allow it earlier.
  - With O(processes=true) and without root, only the user's own processes are seen; others have a null pid and process.
seealso:
  - module: portwarden.ports.ephemeral_range
  - module: portwarden.ports.reserved_ports
  - module: community.general.listen_ports_facts
    description: Lists listeners through C(ss) or C(netstat); knows nothing of the ephemeral range.
options:
  processes:
    description:
      - Also find the process (name and pid) that owns each listener, by reading C(/proc/<pid>/fd).
      - Costs one C(readlink) per open file descriptor on the host.
    type: bool
    default: false
  services:
    description:
      - The service catalogue, in the shape of C(portwarden_services) (a list of dictionaries with C(name), C(port), C(proto),
        and optionally C(sources), C(rate_limit), C(description), C(expect_listener)). It is validated strictly; an invalid
        entry fails the task.
      - When given, RV(conflicts) also holds declared service ports inside the ephemeral range that are not reserved
        (V(service_in_range)), declared services that nothing listens on (V(service_not_listening), only for entries whose
        C(expect_listener) is true, the default for a single port but not for a range), and listeners reachable from other
        hosts that no service declares (V(listener_not_declared); a listener bound only to loopback is not drift).
    type: list
    elements: dict
  top:
    description: How many of the busiest destinations to list in RV(usage.busiest). V(0) lists none.
    type: int
    default: 10
  conntrack_warn_percent:
    description:
      - Report a V(conntrack_near_full) conflict when the conntrack table holds this percentage of
        C(net.netfilter.nf_conntrack_max) or more (RV(usage.conntrack.percent)). A whole number from V(1) to V(100).
    type: int
    default: 80
"""

EXAMPLES = r"""
- name: Read the port space of the host
  portwarden.ports.port_info:
  register: ports

- name: Fail when a listener sits in the ephemeral range unreserved
  ansible.builtin.assert:
    that: ports.conflicts | selectattr('type', 'equalto', 'listener_in_range') | list | length == 0
    fail_msg: "{{ ports.conflicts | map(attribute='remedy') | list }}"

- name: Compare the host with the service catalogue, with process names
  portwarden.ports.port_info:
    processes: true
    services: "{{ portwarden_services }}"
    top: 5
  register: ports

- name: Show the destination closest to ephemeral port exhaustion
  ansible.builtin.debug:
    msg: >-
      {{ item.address }}:{{ item.port }} uses {{ item.utilization_percent }}% of the range;
      about {{ item.headroom_rate }} more new connections per second are sustainable
  loop: "{{ ports.usage.busiest[:1] }}"
"""

RETURN = r"""
ephemeral_range:
  description: The ephemeral port range, C(net.ipv4.ip_local_port_range) (TCP and UDP, IPv4 and IPv6).
  returned: success
  type: dict
  contains:
    start:
      description: First port of the range.
      type: int
      sample: 32768
    end:
      description: Last port of the range (inclusive).
      type: int
      sample: 60999
    size:
      description: Number of ports in the range.
      type: int
      sample: 28232
unprivileged_port_start:
  description: C(net.ipv4.ip_unprivileged_port_start), the first port that unprivileged processes may bind (1024 on kernels without the key).
  returned: success
  type: int
  sample: 1024
reserved_ports:
  description: The reserved ports, C(net.ipv4.ip_local_reserved_ports), never handed out as ephemeral ports.
  returned: success
  type: dict
  contains:
    ports:
      description: Canonical form, as the kernel prints it; empty when nothing is reserved.
      type: str
      sample: "8080-8081,9100"
    list:
      description: Canonical items, single ports as integers and ranges as C(start-end) strings.
      type: list
      elements: raw
      sample: ["8080-8081", 9100]
listeners:
  description:
    - Listening sockets, sorted by protocol, port, family and address. TCP sockets in C(LISTEN); UDP sockets bound and
      not connected.
    - One entry per protocol, family, address and port (and owner with O(processes=true)).
  returned: success
  type: list
  elements: dict
  contains:
    proto:
      description: V(tcp) or V(udp).
      type: str
      sample: tcp
    family:
      description: V(ipv4) or V(ipv6); IPv4-mapped IPv6 addresses count as V(ipv4).
      type: str
      sample: ipv4
    address:
      description: Local address; V(0.0.0.0) or V(::) for every address.
      type: str
      sample: 0.0.0.0
    port:
      description: Local port.
      type: int
      sample: 22
    scope:
      description:
        - V(loopback) (bound only to 127.0.0.0/8 or C(::1), so no other host can reach it and the firewall never needs to open it),
          V(any) (every address) or V(address) (one non-loopback address).
      type: str
      sample: any
    pid:
      description: Lowest pid of the processes that hold the socket; null when unknown.
      type: int
      returned: when O(processes=true)
      sample: 612
    process:
      description: Name (C(/proc/<pid>/comm)) of that process; null when unknown.
      type: str
      returned: when O(processes=true)
      sample: sshd
conflicts:
  description:
    - What endangers a service's port, sorted by type then port. Empty when all is well.
    - V(listener_in_range) for every listener in the ephemeral range on a port that is not reserved. The other types
      only with O(services), except V(service_port_held) (Windows), which also covers listeners.
  returned: success
  type: list
  elements: dict
  contains:
    type:
      description:
        - V(listener_in_range), V(service_in_range), V(service_port_held), V(service_not_listening),
          V(listener_not_declared) or V(conntrack_near_full).
        - V(service_port_held) (Windows only) - a catalogue port or a listener inside an exclusion that Windows or a
          service holds (no C(*) in netsh, for example WinNAT for Hyper-V, WSL or Docker). Such a row blocks even an
          explicit bind; the remedy says how to release it.
        - V(conntrack_near_full) (Linux) - the conntrack table at O(conntrack_warn_percent) or more; it has no C(proto)
          or C(port), but C(entries), C(max), C(percent) and C(warn_percent).
      type: str
      sample: listener_in_range
    proto:
      description: V(tcp) or V(udp).
      type: str
      returned: except for RV(conflicts[].type=conntrack_near_full)
      sample: tcp
    port:
      description: The listener's port (an integer), or the service's declared port or range (a string).
      returned: except for RV(conflicts[].type=conntrack_near_full)
      type: raw
      sample: 40100
    ports:
      description:
        - For V(service_in_range), the declared ports that are in the range and unreserved; for V(service_port_held),
          the declared ports that the system holds. Canonical form.
      type: str
      returned: when RV(conflicts[].type) is V(service_in_range) or V(service_port_held) (a service)
      sample: "40000-40099"
    service:
      description: The catalogue name of the service.
      type: str
      returned: when RV(conflicts[].type) is V(service_in_range), V(service_port_held) or V(service_not_listening)
      sample: metrics
    table:
      description: For V(service_port_held), the Windows table(s) that hold the port (V(ipv4/tcp) ...).
      type: str
      returned: when RV(conflicts[].type=service_port_held)
      sample: ipv4/tcp
    addresses:
      description: The addresses the port is listened on.
      type: list
      elements: str
      returned: when RV(conflicts[].type) is V(listener_in_range), V(listener_not_declared) or V(service_port_held) (a listener)
      sample: ["0.0.0.0", "::"]
    processes:
      description: Names of the processes that listen, when known (O(processes=true)).
      type: list
      elements: str
      returned: when known
      sample: [node_exporter]
    entries:
      description: Entries in the conntrack table (C(net.netfilter.nf_conntrack_count)).
      type: int
      returned: when RV(conflicts[].type=conntrack_near_full)
      sample: 240000
    max:
      description: C(net.netfilter.nf_conntrack_max).
      type: int
      returned: when RV(conflicts[].type=conntrack_near_full)
      sample: 262144
    percent:
      description: RV(conflicts[].entries) as a percentage of RV(conflicts[].max).
      type: float
      returned: when RV(conflicts[].type=conntrack_near_full)
      sample: 91.55
    warn_percent:
      description: The O(conntrack_warn_percent) that the table reached.
      type: int
      returned: when RV(conflicts[].type=conntrack_near_full)
      sample: 80
    msg:
      description: What is wrong, in one sentence.
      type: str
      sample: TCP port 40100 is listened on inside the ephemeral range 32768-60999 and is not reserved.
    remedy:
      description: What to do about it, with the task or values that fix it.
      type: str
      sample: >-
        Reserve it so that the kernel never hands it out: portwarden.ports.reserved_ports with ports: [40100]
        (state: present), ...; or move the ephemeral range so that it excludes 40100: portwarden.ports.ephemeral_range
        with start: 40101 and end: 60998 (20898 ports instead of 28232).
    reserve:
      description: The ports to reserve to fix it, canonical items (the value for the O(portwarden.ports.reserved_ports#module:ports) option).
      type: list
      elements: raw
      returned: when RV(conflicts[].type) is V(listener_in_range) or V(service_in_range)
      sample: [40100]
    suggested_range:
      description:
        - The largest part of the current range that excludes every conflicting port (bounds of different parity); or null.
      type: dict
      returned: when RV(conflicts[].type) is V(listener_in_range) or V(service_in_range)
      sample: {"start": 40101, "end": 60998}
usage:
  description:
    - Use of the ephemeral range by the sockets whose local port is in it; TCP listeners and the connections they accepted
      are left out (RV(usage.inbound_excluded)). Rates are new connections per second toward one destination, steady state.
  returned: success
  type: dict
  contains:
    sockets_total:
      description: All sockets of the four tables, in or out of the range; over sock_diag, TCP as the kernel counts it
        (C(/proc/net/sockstat), C(sockstat6)), without the connection requests not yet accepted.
      type: int
    tcp_sockets:
      description: TCP sockets counted in the range (the sum of RV(usage.tcp_states)).
      type: int
    tcp_states:
      description: TCP sockets in the range by state name (C(ESTABLISHED), C(TIME_WAIT), C(SYN_SENT), ...).
      type: dict
    time_wait:
      description: TCP sockets in the range in TIME_WAIT.
      type: int
    udp_sockets:
      description: UDP sockets with a local port in the range, bound or connected.
      type: int
    inbound_excluded:
      description: Connections accepted by TCP listeners in the range, left out of the counts.
      type: int
    range_size:
      description: Ports in the ephemeral range.
      type: int
    reserved_in_range:
      description: Reserved ports inside the range (the kernel skips them).
      type: int
    usable_ports:
      description: RV(usage.range_size) minus RV(usage.reserved_in_range).
      type: int
    ports_in_use:
      description:
        - Distinct usable ports of the range held by any socket (connections to different destinations may share one).
      type: int
    utilization_percent:
      description: RV(usage.ports_in_use) as a percentage of RV(usage.usable_ports).
      type: float
    time_wait_seconds:
      description: How long Linux keeps a socket in TIME_WAIT (a kernel constant, 60).
      type: int
    sustainable_rate:
      description:
        - New connections per second that one destination can sustain, RV(usage.usable_ports) / RV(usage.time_wait_seconds)
          (/ 1 second where TIME_WAIT reuse applies to every destination, see RV(usage.tcp_timestamps)).
      type: float
    tcp_tw_reuse:
      description: C(net.ipv4.tcp_tw_reuse) (0 off, 1 on, 2 loopback only); null when unreadable.
      type: int
    tcp_timestamps:
      description:
        - Whether C(net.ipv4.tcp_timestamps) is on (null when unreadable, and off Linux). TIME_WAIT reuse needs it; the
          rates count a reuse after one second only where both are on (C(tcp_tw_reuse=1) all, C(2) loopback destinations).
      type: bool
      sample: true
    conntrack:
      description:
        - The conntrack table of the network namespace (drop counters summed over every CPU, since boot); null where
          C(nf_conntrack) is not loaded, and off Linux.
      type: dict
      sample: {"entries": 1200, "max": 262144, "percent": 0.46, "buckets": 262144, "drop": 0, "early_drop": 0, "insert_failed": 0}
      contains:
        entries:
          description: Entries in the table, C(net.netfilter.nf_conntrack_count).
          type: int
        max:
          description: C(net.netfilter.nf_conntrack_max).
          type: int
        percent:
          description: RV(usage.conntrack.entries) as a percentage of RV(usage.conntrack.max).
          type: float
        buckets:
          description: Size of the hash table, C(net.netfilter.nf_conntrack_buckets); null when unreadable.
          type: int
        drop:
          description: Packets dropped because the table was full (C(drop)); null on a kernel without the column.
          type: int
        early_drop:
          description: Entries dropped early to make room for new ones (C(early_drop)).
          type: int
        insert_failed:
          description: Entries that could not be inserted (C(insert_failed)).
          type: int
    destinations:
      description: Distinct remote endpoints (address and port) of the TCP sockets counted.
      type: int
    busiest:
      description: The O(top) remote endpoints with the most ports in use toward them, most first.
      type: list
      elements: dict
      contains:
        address:
          description: Remote address (IPv4-mapped addresses as IPv4).
          type: str
          sample: 10.0.0.5
        port:
          description: Remote port.
          type: int
        family:
          description: V(ipv4) or V(ipv6).
          type: str
        ports_in_use:
          description:
            - Sockets in the range connected to this endpoint (each holds a local port; with several local addresses this
              overstates the pressure).
          type: int
          sample: 20000
        states:
          description: Those sockets by TCP state.
          type: dict
          sample: {"ESTABLISHED": 19000, "TIME_WAIT": 1000}
        time_wait:
          description: Those sockets in TIME_WAIT.
          type: int
        utilization_percent:
          description: RV(usage.busiest[].ports_in_use) as a percentage of RV(usage.usable_ports).
          type: float
        sustainable_rate:
          description: New connections per second toward this endpoint that the range sustains when connections are short-lived.
          type: float
        recent_rate:
          description: RV(usage.busiest[].time_wait) / 60, an estimate of the connections per second this host closed toward it in the last minute.
          type: float
        headroom_rate:
          description:
            - Further new connections per second toward this endpoint before the range runs out.
          type: float
          sample: 137.2
high_range:
  description: FreeBSD and macOS only, the C(hifirst)-C(hilast) range, or null when the kernel has none.
  returned: on FreeBSD and macOS
  type: dict
  sample: {"start": 49152, "end": 65535, "size": 16384}
tables:
  description:
    - Windows only. Each of the four tables (C(ipv4/tcp), C(ipv4/udp), C(ipv6/tcp), C(ipv6/udp)) has its own dynamic range
      and excluded ranges; RV(ephemeral_range) and RV(reserved_ports) show the IPv4 TCP table.
    - Per table, C(ephemeral_range), C(reserved_ports), C(administered) (exclusions made by an administrator, C(*) in
      netsh) and C(held_by_system) (exclusions held by the system, for example by Hyper-V).
  returned: on Windows
  type: dict
  sample: {"ipv4/tcp": {"ephemeral_range": {"start": 49152, "end": 65535, "size": 16384},
           "reserved_ports": {"ports": "50000-50059", "list": ["50000-50059"]}, "administered": "", "held_by_system": "50000-50059"}}
firewall:
  description:
    - The firewall managers on the host and the portwarden backend in place, and the live state of the
      P(portwarden.ports.host_firewall#role) role's table C(inet portwarden) (bans and drop counters, read with
      C(nft -j)).
    - Every key is V(null) where it could not be read (another OS than Linux, no nft, no privilege).
  returned: success
  type: dict
  contains:
    managers:
      description: The active firewall managers - C(firewalld), C(ufw), the nftables tables of other tools (C(docker),
        C(kube-proxy), C(libvirt), C(iptables-nft), C(nftables)) and C(iptables-legacy) - each with C(name), C(active),
        C(filters_input) and C(detail).
      type: list
      elements: dict
      sample: [{name: docker, active: true, filters_input: false, detail: 'nftables tables ip filter, ip nat'}]
    backend:
      description: The portwarden backend in place - V(nftables) (the table C(inet portwarden)), V(firewalld)
        (C(portwarden-*) services in firewalld) or V(null).
      type: str
      sample: nftables
    filtering_input:
      description: The managers whose rules see the host's incoming traffic.
      type: list
      elements: str
      sample: [portwarden]
    warning:
      description: Set when two or more managers filter incoming traffic (a packet must pass each), else V(null).
      type: str
      sample: null
    error:
      description: Why the managers could not be read (then the lists are empty), else V(null).
      type: str
      sample: null
    banned:
      description:
            - Sources banned by port-scan detection, each C({source, seconds_left}) (IPv6 as V(2001:db8:1:2::/64)).
      type: list
      elements: dict
      sample: [{"source": "192.0.2.7", "seconds_left": 412}, {"source": "2001:db8:1:2::/64", "seconds_left": 590}]
    counters:
      description:
        - Drops by reason, each C({packets, bytes}) - V(spoofed), V(invalid), V(scan_flags), V(rate_limit),
          V(scan_detected) (probes that led to a ban), V(banned) (packets of banned sources), V(default_drop).
      type: dict
      sample: {"banned": {"packets": 130, "bytes": 5720}, "default_drop": {"packets": 22, "bytes": 968}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.module_utils import backend
from ansible_collections.portwarden.ports.plugins.module_utils import portinfo
from ansible_collections.portwarden.ports.plugins.module_utils import portread


def main():
    reading = portread.start_reading()  # the socket tables, read in a thread while the module goes on
    module = AnsibleModule(argument_spec=argspec.PORT_INFO, supports_check_mode=True)
    backend.run(module, portinfo.port_info, reading)


if __name__ == '__main__':
    main()
