#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ephemeral_ports
short_description: Keep the service catalogue's ports out of the ephemeral port range, in one task
version_added: 0.1.0
description:
  - The one task of the role C(portwarden.ports.ephemeral_ports). Its options are the role's variables without the
    C(ephemeral_ports_) prefix; an option the task does not give is taken from the variable C(ephemeral_ports_<option>)
    when it is defined (the role's task gives none, so the role's variables and defaults apply), else its default. Its
    messages name the role's variables (C(ephemeral_ports_range) for O(range) and so on). Use the role; the task is
    documented so that C(ansible-doc) shows what it does and returns.
  - Validates every option first, on the controller, before anything runs on the host - the catalogue, the extra
    reservations, the range, the policies, the paths - with a message that names the variable, the entry and the value.
  - Then runs, through their own action plugins (which choose the OS - netsh on Windows, the C(bsd_*) modules on FreeBSD
    and macOS), only the steps the plan needs - M(portwarden.ports.port_info) where the plan depends on the host (a null
    O(range), or the V(fail) and V(warn) policies); one module call that reserves and sets everything
    (M(portwarden.ports.ephemeral_range) with its O(portwarden.ports.ephemeral_range#module:reserve), or
    M(portwarden.ports.reserved_ports) with a null O(range)); the release of O(reserved_state=exact); and after a change,
    M(portwarden.ports.port_info) again to verify that no catalogue port is left exposed.
  - A run with a range and O(conflict_action=reserve) that changes nothing is one module call on the host.
  - The conflict policy - V(fail) fails before any change naming the ports, V(warn) leaves them and warns.
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: The plan runs on the controller; the steps run the collection's modules on the target.
  check_mode:
    support: full
    details: Each step predicts its change; the policy is checked on the predicted state (the verification on the host is
      skipped, and RV(note) says so).
  diff_mode:
    support: full
    details: The diffs of the module steps, in order.
  platform:
    support: full
    platforms: [posix, windows]
    details: Where M(portwarden.ports.ephemeral_range), M(portwarden.ports.reserved_ports) and M(portwarden.ports.port_info)
      run - Linux, FreeBSD and macOS, Windows.
  idempotent:
    support: full
options:
  range:
    description:
      - The ephemeral range to set, a dictionary with C(start) and C(end) (ports, inclusive). Null leaves the host's range
        as it is (then the host is read first).
    type: dict
  reserved:
    description:
      - Ports to reserve in addition to the catalogue's, as integers and C(start-end) strings.
    type: list
    elements: raw
    default: []
  reserved_state:
    description:
      - V(present) adds the reservations and keeps any others on the host; V(exact) releases every other one.
    type: str
    choices: [present, exact]
    default: present
  services:
    description:
      - The service catalogue, in the C(portwarden_services) shape (name, port, proto, sources, rate_limit, description,
        expect_listener).
    type: list
    elements: dict
    default: []
  conflict_action:
    description:
      - What to do with catalogue ports inside the (target) range that are not reserved - V(reserve) them, V(fail) before
        any change naming them, or V(warn) and leave them.
    type: str
    choices: [reserve, fail, warn]
    default: reserve
  persist:
    description:
      - Keep the range and the reservations in O(sysctl_file) so that they survive a reboot.
    type: bool
    default: true
  sysctl_file:
    description:
      - The file that holds the persistent values, an absolute path. Null is each OS's own file.
    type: path
  conntrack_max:
    description:
      - The size of the connection tracking table, C(net.netfilter.nf_conntrack_max), set in the same module call as the
        range (Linux, the host's initial network namespace). Null leaves it alone.
    type: int
  verify:
    description:
      - After a change, read the host with M(portwarden.ports.port_info) and fail if a catalogue port is still exposed; point
        out listeners inside the range that the catalogue does not declare.
    type: bool
    default: true
notes:
  - The options are checked by the plan itself, once, not by Ansible's argument spec, so that one message names the
    role's variable - the role can then be imported with C(rolespec_validate=false), as the playbook
    C(portwarden.ports.enforce) does.
  - Listeners inside the range that the catalogue does not declare, and the catalogue ports left exposed with
    O(conflict_action=warn), are shown as warnings.
seealso:
  - module: portwarden.ports.ephemeral_range
  - module: portwarden.ports.reserved_ports
  - module: portwarden.ports.port_info
"""

EXAMPLES = r"""
- name: Keep the catalogue's ports out of the ephemeral range (what the role runs)
  portwarden.ports.ephemeral_ports:
    range: {start: 32768, end: 60999}
    services:
      - {name: ssh, port: 22}
      - {name: grpc, port: 50051}
    reserved: [9100]
  register: ports

- name: Show what it did
  ansible.builtin.debug:
    msg: "{{ ports.msg }} (steps on the host: {{ ports.ran }})"
"""

RETURN = r"""
msg:
  description: One line - what changed (or would, in check mode), the range and the reservations after it.
  returned: success
  type: str
  sample: "nothing to change; range 32768-60999; reservations 9100,50051."
ran:
  description: The steps that ran a module on the host, in order - V(read) and V(verify) (port_info before and after),
    V(range) (ephemeral_range), V(reserve) (reserved_ports, present), V(exact) (reserved_ports, exact).
  returned: always
  type: list
  elements: str
  sample: ["range"]
steps:
  description: The result of each step that ran, by the names in RV(ran) (the module's own return values).
  returned: always
  type: dict
  sample: {"range": {"changed": false, "before": {"start": 32768, "end": 60999}, "after": {"start": 32768, "end": 60999}}}
target:
  description: The range after the steps (in check mode, the predicted one); null when the host's range is kept and was
    not read.
  returned: success
  type: dict
  sample: {"start": 32768, "end": 60999}
reserved:
  description: The reservations after the steps, in canonical form; null when no step read them (a range and
    O(conflict_action=reserve) with nothing to reserve).
  returned: success
  type: str
  sample: "9100,50051"
exposed:
  description: Catalogue ports left inside the range without a reservation (only with O(conflict_action=warn)).
  returned: success
  type: str
  sample: ""
note:
  description: In check mode, that the verification on the host was done on the predicted state.
  returned: success
  type: str
  sample: ""
listeners:
  description: Listeners inside the range that the catalogue does not declare, from the read of the host (also shown as
    warnings).
  returned: success
  type: list
  elements: str
  sample: []
"""
