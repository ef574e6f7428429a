#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: firewall_managers
short_description: Find the host's firewall managers and choose the host_firewall backend; stop conflicting ones when asked
version_added: 0.1.0
description:
  - Finds the firewall managers of a Linux host - firewalld (running, enabled), ufw (active), the nftables tables of
    other tools (Docker, kube-proxy, libvirt, iptables-nft, others) and iptables-legacy rules - and makes the
    backend choice of the P(portwarden.ports.host_firewall#role) role. The role itself makes that choice in its load
    task (M(portwarden.ports.nft_table) with O(portwarden.ports.nft_table#module:backend)), one module call; this
    module is for reports and for playbooks of your own.
  - O(backend=auto) takes firewalld where it runs and nftables otherwise.
  - O(backend=nftables) where firewalld or ufw is active fails before anything changes, naming the manager and the
    ways out, unless O(conflicting=stop), which stops and disables them (C(systemctl disable --now firewalld),
    C(ufw disable)). O(backend=firewalld) where firewalld does not run fails; no manager is ever started.
  - RV(enable_nftables_service) is V(false) where firewalld is enabled or running (and stays so), so that the role
    never enables C(nftables.service) next to it.
author:
  - Portwarden maintainers (@portwarden)
options:
  backend:
    description: The backend asked for.
    type: str
    choices: [auto, nftables, firewalld]
    default: auto
  conflicting:
    description:
      - What to do with an active firewalld or ufw when the backend is nftables - V(fail) (before any change) or
        V(stop) (stop and disable them).
    type: str
    choices: [fail, stop]
    default: fail
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  check_mode:
    support: full
    details: Reports the managers it would stop, and stops none.
  diff_mode:
    support: none
  platform:
    platforms: linux
    support: full
  idempotent:
    support: full
    details: A stopped manager is not active on the next run, so nothing is stopped again.
'''

EXAMPLES = r'''
- name: Choose the backend for host_firewall
  portwarden.ports.firewall_managers:
    backend: auto
  register: firewall

- name: Use nftables, stopping firewalld or ufw first
  portwarden.ports.firewall_managers:
    backend: nftables
    conflicting: stop
'''

RETURN = r'''
backend:
  description: The chosen backend, V(nftables) or V(firewalld).
  returned: success
  type: str
  sample: firewalld
managers:
  description: The managers found, each with C(name), C(active), C(filters_input) and C(detail) (and for firewalld and
    ufw C(enabled)).
  returned: always
  type: list
  elements: dict
  sample: [{name: docker, active: true, filters_input: false, detail: 'nftables tables ip filter, ip nat'}]
in_place:
  description: The portwarden backend found in place before this run (V(nftables), V(firewalld)) or V(null).
  returned: always
  type: str
  sample: nftables
filtering_input:
  description: The active managers whose rules see the host's incoming traffic.
  returned: always
  type: list
  elements: str
  sample: [portwarden]
stopped:
  description: The managers stopped and disabled (in check mode - that would be).
  returned: success
  type: list
  elements: str
  sample: [ufw]
enable_nftables_service:
  description: Whether the nftables path may enable C(nftables.service) (false where firewalld is enabled or running).
  returned: success
  type: bool
  sample: true
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.firewall_choice import choose_backend, stop_managers
from ansible_collections.portwarden.ports.plugins.module_utils.managers import detect


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backend=dict(type='str', default='auto', choices=['auto', 'nftables', 'firewalld']),
            conflicting=dict(type='str', default='fail', choices=['fail', 'stop']),
        ),
        supports_check_mode=True,
    )

    def run(argv):
        return module.run_command(argv, check_rc=False)

    report = {}
    try:
        report = detect(run, module.get_bin_path)
        choice = choose_backend(report, module.params['backend'], module.params['conflicting'])
        stopped = stop_managers(run, module.get_bin_path, choice['stop'], module.check_mode)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, managers=report.get('managers', []), **exc.details)
    module.exit_json(changed=bool(stopped), backend=choice['backend'], managers=report['managers'],
                     in_place=report['backend'], filtering_input=report['filtering_input'], stopped=stopped,
                     enable_nftables_service=choice['enable_nftables_service'])


if __name__ == '__main__':
    main()
