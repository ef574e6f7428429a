#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_firewall
short_description: Hardened nftables table (or firewalld zone) for the service catalogue, in one task
version_added: 0.1.0
description:
  - The one task of the role C(portwarden.ports.host_firewall). Its options are the role's variables without the
    C(host_firewall_) prefix; an option the task does not give is taken from the variable C(host_firewall_<option>)
    when it is defined (the role's task gives none, so the role's variables and defaults apply), else its default. Its
    messages name the role's variables (C(host_firewall_log_rate) for O(log_rate) and so on). Use the role; the task is
    documented so that C(ansible-doc) shows what it does and returns.
  - Validates every option first, on the controller, before anything runs on the host - the catalogue entry by entry
    (index, name and field), the lists, the policies, the paths and the guards of the rollback - with a message that
    names the variable and the value. A bad value fails the task and changes nothing.
  - Renders the role's template (C(templates/portwarden.nft.j2) next to the role's tasks, else the collection's own
    role's) and runs M(portwarden.ports.nft_table) through its own action plugin - one C(nft -f) transaction, rolled
    back by the host unless the controller reaches it again through a new connection and confirms. That call also
    chooses the backend on the host (O(backend)) and fails before any change next to an active firewalld or ufw
    (O(conflicting=fail)) or stops them (V(stop)).
  - Where the C(nft) binary is missing and O(install=true), installs the C(nftables) package
    (M(ansible.builtin.package), through its action plugin) and loads the table again; in check mode the install is
    predicted and there is nothing to load with.
  - Where firewalld is the backend, opens the catalogue in the zone O(firewalld_zone) with
    M(portwarden.ports.firewalld_policy) (through its action plugin; lockout safe the same way).
  - A run that changes nothing is one module call on the host (M(portwarden.ports.nft_table)).
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: The validation, the model and the rendering run on the controller; the steps run the collection's modules
      (and the package manager) on the target.
  check_mode:
    support: full
    details: M(portwarden.ports.nft_table) checks the new table with C(nft -c -f) and predicts every file change; a
      missing C(nft) predicts the install, and the table is not checked then (nothing to check it with).
  diff_mode:
    support: full
    details: The diffs of M(portwarden.ports.nft_table) (the rules file, the include line), or of
      M(portwarden.ports.firewalld_policy) with the firewalld backend.
  platform:
    support: full
    platforms: posix
    details: Linux with nftables, or with firewalld.
  idempotent:
    support: full
options:
  services:
    description:
    - 'The service catalogue. When the task does not give it: the variable C(host_firewall_services), else C(portwarden_services),
      else V([]). Each entry is accepted on its port(s) from its sources; nothing else is opened (besides O(management_ports)).'
    - 'Fields: C(name) (required, 1-63 of letters, digits, C(_), C(.), C(-)); C(port) (required, 1-65535 or a range C(start-end));
      C(proto) (V(tcp) or V(udp), default V(tcp)); C(sources) (IPv4/IPv6 networks with zero host bits, default anywhere);
      C(rate_limit) (new connections per source, C(N/second|minute|hour|day): up to N at once, then N per unit); C(description)
      (no quotes, backslashes or control characters); C(expect_listener) (a boolean, default true for a single port and false
      for a range: whether the audit reports the entry when nothing listens on it; the firewall opens the port either way).'
    - Checked strictly by the role, which fails naming the entry (index and name) and the field.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Service name, unique per protocol; used in set names and rule comments.
        type: str
      port:
        description: A port 1-65535 or a range C(start-end).
        type: raw
      proto:
        description: V(tcp) or V(udp) (default V(tcp)).
        type: str
      sources:
        description: Allowed source networks, IPv4 and IPv6 (default anywhere).
        type: list
        elements: str
      rate_limit:
        description: Per-source new-connection limit, C(N/second), C(N/minute), C(N/hour) or C(N/day).
        type: str
      description:
        description: Free text written as a comment in the rules file.
        type: str
      expect_listener:
        description: Whether the audit reports the entry when nothing listens on it (default true for a single port, false
          for a range); the firewall opens the port either way.
        type: bool
  management_ports:
    description:
    - TCP ports always accepted from O(management_sources), whatever the catalogue says, so that the controller keeps its
      way in (the lockout guard). Integers or C(start-end) strings.
    - Set it to the port Ansible connects to (C(ansible_port)). V([]) relies on the catalogue alone.
    type: list
    elements: raw
    default:
    - 22
  management_sources:
    description:
    - Networks the management ports are accepted from; V([]) means anywhere.
    type: list
    elements: str
    default: []
  allow_ping:
    description: Accept ICMP and ICMPv6 echo requests.
    type: bool
    default: true
  dhcpv6_client:
    description: Accept DHCPv6 replies (UDP 547 to 546) from link-local addresses.
    type: bool
    default: true
  log:
    description:
    - Log dropped packets (policy, scans, spoofed, invalid, over rate limit) at a limited rate, each reason with its own prefix
      C(<prefix> <reason>:).
    type: bool
    default: true
  log_prefix:
    description: Log prefix, 1-40 letters, digits, spaces, C(_), C(.), C(:), C(=) or C(-).
    type: str
    default: portwarden
  log_rate:
    description: Log rate per drop reason, C(N/second|minute|hour|day).
    type: str
    default: 5/minute
  scan_detect:
    description:
    - Ban sources that scan. A source that makes more than O(scan_threshold) new TCP or UDP connection attempts to ports the
      catalogue does not open to it, within O(scan_window) seconds, is banned for O(scan_ban) seconds; every packet from it
      is dropped, also to open services and to published container ports. IPv4 sources are banned per address, IPv6 sources
      per /64.
    - Connections to the ports the catalogue opens to a source never count toward its ban.
    type: bool
    default: true
  scan_threshold:
    description: Attempts to closed ports that a source may make within O(scan_window) seconds (1-100000).
    type: int
    default: 20
  scan_window:
    description: Seconds over which O(scan_threshold) attempts are allowed (1-86400).
    type: int
    default: 60
  scan_ban:
    description: Seconds a ban lasts, counted from detection; the banned source's own packets do not extend it (1-2592000).
    type: int
    default: 600
  scan_allow:
    description:
    - Addresses or networks (IPv4 and IPv6) that are never banned, such as monitoring or vulnerability scanners.
    - The networks of O(management_sources) are never banned either.
    type: list
    elements: str
    default: []
  unban:
    description:
    - Sources to release from the ban now (IPv4 addresses, IPv6 addresses or /64 networks). A source that is not banned is
      no change. A re-apply of the role keeps the current bans, with the time they have left.
    type: list
    elements: str
    default: []
  forward_policy:
    description:
    - Policy of the forward chain. Use V(accept) on Docker, Kubernetes or libvirt hosts, whose forwarded traffic crosses every
      forward hook, including this table's.
    type: str
    choices:
    - accept
    - drop
    default: drop
  output_policy:
    description:
    - Policy of the output chain. V(drop) still lets loopback, replies and IPv6 neighbour discovery out, but nothing the host
      starts itself.
    type: str
    choices:
    - accept
    - drop
    default: accept
  rollback_timeout:
    description:
    - Seconds the host waits for the controller to reconnect and confirm before it restores the previous table by itself.
      Keep it above the connection timeout (C(ansible_timeout), 10 s by default).
    - V(0) applies without rollback (with a warning). A negative value is refused on the controller, before anything changes.
    type: int
    default: 30
  rules_path:
    description:
    - The rules file written once a change is confirmed, and included from the nftables.conf. An absolute path of letters,
      digits, C(_), C(.), C(-) and C(/).
    type: path
    default: /etc/portwarden/portwarden.nft
  state_dir:
    description:
    - Directory on the host for the saved table, the rollback timer's files and the record of the loaded table.
    - An absolute path; a relative one is refused on the controller (the rollback timer runs in C(/)).
    - Files that an interrupted run left there are settled by the next run (an unconfirmed change rolled back first, then
      its files removed).
    type: path
    default: /var/lib/portwarden
  persist:
    description:
    - Load the table at boot - include O(rules_path) from the distribution's nftables.conf (other lines and includes are left
      alone) and enable C(nftables.service).
    type: bool
    default: true
  nftables_conf:
    description:
    - The distribution's nftables configuration. V("") picks it on the host from C(/etc/os-release) (C(/etc/sysconfig/nftables.conf)
      when C(ID) or C(ID_LIKE) names the Red Hat family, C(/etc/nftables.conf) otherwise, for example on Debian). Otherwise
      an absolute path; a relative one is refused on the controller.
    type: str
    default: ''
  enable_service:
    description:
    - Enable C(nftables.service) where systemd runs; it is never started or restarted by the role (the stock configuration
      of several distributions flushes the ruleset). Skipped with a message where systemd does not run (containers).
    type: bool
    default: true
  lock_timeout:
    description:
    - Seconds to wait for the host lock that serializes the applies of port settings and firewalls on a host (another run
      of C(enforce), another AWX job). When it is held longer, the role fails naming the holder, and nothing is changed.
    type: int
    default: 120
  install:
    description:
    - Install the C(nftables) package when the C(nft) binary is missing, then load the table. Only when M(portwarden.ports.nft_table)
      reports C(nft) missing, so it costs nothing where it is there.
    type: bool
    default: true
  backend:
    description:
    - V(auto) uses firewalld where firewalld is running and nftables (the table C(inet portwarden)) otherwise.
    - V(nftables) where firewalld or ufw is active fails before any change, unless O(conflicting=stop).
    - V(firewalld) opens the catalogue in O(firewalld_zone) through M(portwarden.ports.firewalld_policy); fails where firewalld
      does not run (the role never starts it).
    type: str
    choices:
    - auto
    - nftables
    - firewalld
    default: auto
  firewalld_zone:
    description: The firewalld zone of the firewalld backend; V("") is firewalld's default zone.
    type: str
    default: ''
  conflicting:
    description:
    - With the nftables backend, what to do where firewalld or ufw is active - V(fail) before any change, naming the manager
      and the ways out, or V(stop), which stops and disables them first.
    type: str
    choices:
    - fail
    - stop
    default: fail
  filter_published:
    description:
    - nftables backend - forwarded connections this host DNATs (Docker C(-p), podman, hostPort, NodePort) are accepted only
      when their original destination port (C(ct original proto-dst)) is a catalogue port of that protocol and their source
      is in that service's sources; other DNAT'd connections are dropped. Forwarded traffic that was not DNAT'd follows O(forward_policy).
    type: bool
    default: true
  catalogue_cache:
    description:
    - Keep the model of a validated catalogue (its services with their sources parsed, merged and cut into sets) on the
      controller, in C(<ANSIBLE_HOME>/portwarden/catalogue_cache) (a directory of the controller's user, mode 0700, at most
      8 catalogues), under the SHA-256 of the catalogue and the collection's code. A host whose catalogue is exactly one
      kept (another host of the fleet, an earlier run) takes its model instead of validating it again; any other catalogue
      is validated as always, and every other option is validated and the table rendered on every run.
    - V(false) validates on every host and keeps nothing.
    type: bool
    default: true
notes:
  - The options are checked by the task itself, once, at least as strictly as the role's argument spec, so that one
    message names the role's variable - the role can then be imported with C(rolespec_validate=false), as the playbook
    C(portwarden.ports.enforce) does.
  - What the task says besides its result - that firewalld does not cover scan detection, the log of drops by reason and
    O(output_policy) (the first time the firewalld backend creates its services), and that C(nftables.service) was not
    enabled on a host without systemd (when the table or its boot configuration was written) - is given as warnings,
    shown in the normal output, and in RV(notes).
  - Only a variable that holds a template is templated; the catalogue is read as it is, a source list of 100,000
    networks is not rendered element by element.
seealso:
  - module: portwarden.ports.nft_table
  - module: portwarden.ports.firewalld_policy
  - module: portwarden.ports.firewall_managers
"""

EXAMPLES = r"""
- name: Open the catalogue's ports to their sources, nothing else (what the role runs)
  portwarden.ports.host_firewall:
    services:
      - {name: web, port: 443}
      - {name: api, port: 8443, sources: [10.0.0.0/8]}
    management_ports: [22]
    persist: false
  register: firewall

- name: Show what it did
  ansible.builtin.debug:
    msg: "backend {{ firewall.backend }}, table changed: {{ firewall.table_changed }} (steps: {{ firewall.ran }})"
"""

RETURN = r"""
backend:
  description: The backend the host uses - V(nftables) or V(firewalld) (chosen by M(portwarden.ports.nft_table)).
  returned: success
  type: str
  sample: nftables
ran:
  description: The steps that ran, in order - V(load) (nft_table), V(install) (the nftables package), V(reload)
    (nft_table again after the install), V(firewalld) (firewalld_policy).
  returned: always
  type: list
  elements: str
  sample: ["load"]
catalogue_cache:
  description: How the catalogue's model was made on the controller - V(hit) (taken from the model kept for exactly this
    catalogue, see O(catalogue_cache)), V(miss) (validated, then kept) or V(off) (validated, nothing kept -
    O(catalogue_cache=false), no usable cache directory, or a value that is not plain data).
  returned: when the options were valid
  type: str
  sample: hit
nft_missing:
  description: Whether the first load found no C(nft) binary on the host (then RV(install) says what the install did).
  returned: success
  type: bool
  sample: false
install:
  description: The result of the package step, where C(nft) was missing and O(install=true).
  returned: when nft was missing
  type: dict
  sample: {"changed": true}
firewalld:
  description: The result of M(portwarden.ports.firewalld_policy) (its own return values), with the firewalld backend.
  returned: when the backend is firewalld
  type: dict
  sample: {"changed": false, "zone": "public", "changes": {"create": [], "update": [], "delete": []}}
notes:
  description: What the task says besides its result (also given as warnings).
  returned: always
  type: list
  elements: str
  sample: []
table_changed:
  description: The return values of M(portwarden.ports.nft_table) (of the last load) are returned as they are -
    RV(table_changed), C(file_changed), RV(include_file), C(include_changed), RV(systemd_running), C(service_changed),
    RV(enable_nftables_service), RV(stopped), C(drifted), C(confirmed), C(released), C(kept) (the sets a
    replacement kept as they were) and the rest.
  returned: success
  type: bool
  sample: false
stopped:
  description: The conflicting managers that were stopped and disabled (O(conflicting=stop)).
  returned: success
  type: list
  elements: str
  sample: []
include_file:
  description: The nftables.conf that includes the rules file (with O(persist=true)).
  returned: success
  type: str
  sample: /etc/nftables.conf
systemd_running:
  description: Whether systemd runs on the host (where it does not, C(nftables.service) is not enabled).
  returned: success
  type: bool
  sample: true
enable_nftables_service:
  description: Whether C(nftables.service) is to be enabled on this host (not where firewalld stays enabled).
  returned: success
  type: bool
  sample: true
"""
