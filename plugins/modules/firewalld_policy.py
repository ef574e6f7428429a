#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: firewalld_policy
short_description: Open the service catalogue in a firewalld zone, lockout safe, changing only what the collection owns
version_added: 0.1.0
description:
  - Opens each catalogue entry in one firewalld zone, in the runtime and the permanent configuration, through
    C(firewall-cmd) (never by editing firewalld's nftables table).
  - Each entry gets a service definition of its own, C(portwarden-<name>) (C(portwarden-<name>-<proto>) where two
    entries share a name), holding its port or range. An entry open to anyone (and without a rate limit) is added to
    the zone as that service; an entry with C(sources) becomes one rich rule per source network (IPv4 and
    IPv6) naming the service. O(management_ports) likewise, as C(portwarden-management).
  - C(rate_limit) becomes the rich rule's C(limit). firewalld counts that limit per rule, for all its sources
    together, not per source as the nftables backend does; the module warns where it applies one.
  - Only owned content is changed or removed - C(portwarden-*) service definitions, those services in the zone and
    rich rules that name them. A service dropped from the catalogue disappears from the zone; the zone's other
    services, ports, sources and rich rules are left as they are.
  - Service definitions exist only in the permanent configuration, so a change that creates or alters one ends with
    C(firewall-cmd --reload); the zone's runtime-only entries (made without C(--permanent)) are added again right after
    it. Other changes are made to the runtime and the permanent configuration directly, without a reload.
  - "Lockout safe: before a change, the zone's file and the owned service files are copied to O(state_dir) with the
    zone's runtime-only entries, and a detached timer is started. The action plugin drops its connection, connects
    again and confirms. Without a confirmation within O(rollback_timeout) seconds the host puts the copies back,
    reloads firewalld and adds the runtime-only entries again: the previous runtime and permanent configuration of
    the zone and of the owned services. A change that fails half-way is put back at once the same way."
author:
  - Portwarden maintainers (@portwarden)
options:
  services:
    description:
      - The service catalogue (C(portwarden_services)), as the P(portwarden.ports.host_firewall#role) role takes it.
    type: list
    elements: dict
    default: []
  zone:
    description:
      - The firewalld zone; V("") is firewalld's default zone (C(firewall-cmd --get-default-zone)).
    type: str
    default: ''
  management_ports:
    description:
      - TCP ports kept open from O(management_sources) whatever the catalogue says (the lockout guard).
    type: list
    elements: raw
    default: []
  management_sources:
    description:
      - Networks the management ports are open to; V([]) means anywhere.
    type: list
    elements: str
    default: []
  rollback_timeout:
    description:
      - Seconds the host waits for the controller to reconnect and confirm before it puts the previous configuration
        back. V(0) applies without a timer (a change that fails half-way is still put back).
    type: int
    default: 30
  state_dir:
    description:
      - Directory on the host for the copies and the timer's files.
    type: path
    default: /var/lib/portwarden
  _phase:
    description:
      - Internal, set by the action plugin; do not set it.
    type: str
    choices: [apply, confirm, status]
    default: apply
  _token:
    description:
      - Internal, set by the action plugin (identifies one pending change); do not set it.
    type: str
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  check_mode:
    support: full
    details: Reads the zone (runtime and permanent) and the owned definitions and reports what would change; runs no
      command that changes anything.
  diff_mode:
    support: full
    details: Before and after are the owned definitions and zone entries of the permanent configuration, one a line.
  platform:
    platforms: linux
    support: full
    details: Needs firewalld running and C(firewall-cmd) (root).
  idempotent:
    support: full
    details: Compares the zone's runtime and permanent entries and the definitions (permanent files and the runtime's
      view) with the catalogue; rich rules are compared as firewalld lists them.
notes:
  - The rollback timer is a detached Python process of the module's interpreter.
  - What a rollback restores - the zone file and the owned service files as they were, then a reload, then the
    zone's runtime-only entries. Runtime-only changes to other zones are dropped by that reload, as by any
    C(firewall-cmd --reload).
seealso:
  - module: portwarden.ports.nft_table
  - name: firewalld rich language
    description: The rich rules this module writes.
    link: https://firewalld.org/documentation/man-pages/firewalld.richlanguage.html
'''

EXAMPLES = r'''
- name: Open the catalogue in firewalld's default zone, roll back unless the host is reachable again within 30 s
  portwarden.ports.firewalld_policy:
    services:
      - name: web
        port: 443
      - name: metrics
        port: 9100
        sources: [10.0.0.0/8, 2001:db8::/32]
    management_ports: [22]

- name: The same in the zone internal, without the rollback timer (console access)
  portwarden.ports.firewalld_policy:
    services: "{{ portwarden_services }}"
    zone: internal
    rollback_timeout: 0
'''

RETURN = r'''
zone:
  description: The zone changed (O(zone), or the default zone).
  returned: always
  type: str
  sample: public
definitions:
  description: The owned service definitions the catalogue asks for.
  returned: when the phase is apply
  type: list
  elements: str
  sample: [portwarden-web, portwarden-management]
zone_services:
  description: The owned services added to the zone as such (open to anyone).
  returned: when the phase is apply
  type: list
  elements: str
  sample: [portwarden-web]
rich_rules:
  description: The owned rich rules of the zone.
  returned: when the phase is apply
  type: list
  elements: str
  sample: ['rule family="ipv4" source address="10.0.0.0/8" service name="portwarden-metrics" accept']
changes:
  description: What was (or would be) created, deleted or changed - definitions, and per configuration the services and
    rich rules added and removed.
  returned: when the phase is apply
  type: dict
  sample: {create: [portwarden-web], delete: [], change: [], runtime: {add_services: [portwarden-web]}}
reloaded:
  description: Whether firewalld was reloaded (a definition was created or changed).
  returned: when the phase is apply
  type: bool
  sample: true
confirmed:
  description: Whether the controller reached the host again and confirmed.
  returned: when a change was made with O(rollback_timeout) greater than 0
  type: bool
  sample: true
rolled_back:
  description: Whether the host put the previous configuration back because no confirmation came in time.
  returned: always
  type: bool
  sample: false
rollback_output:
  description: What the restore's commands printed, with their return codes.
  returned: when RV(rolled_back) is true
  type: str
  sample: '--reload: rc=0 success'
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import onceimport

# The collection's code below compiled once from the AnsiballZ zip, or loaded as the host keeps it (codecache.py).
onceimport.install()
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.firewalld import (
    Firewalld, apply_policy, cleanup_token, confirm_policy, status_policy)

TOKEN_RE = re.compile(r'^[a-f0-9]{8,32}\Z')


def run(module):
    params = module.params
    token = params['_token'] or os.urandom(8).hex()
    if not TOKEN_RE.match(token):
        raise PortwardenError('invalid internal token %r.' % token)
    if params['rollback_timeout'] < 0:
        raise PortwardenError('invalid rollback_timeout %d: expected 0 (no rollback) or a number of seconds.'
                              % params['rollback_timeout'])
    fw = Firewalld(module, params['zone'], state_dir=params['state_dir'])
    if params['_phase'] == 'confirm':
        return confirm_policy(fw, token)
    if params['_phase'] == 'status':
        result = status_policy(fw, token)
        if not result['waiting']:
            cleanup_token(fw, token)
        return result
    timeout = params['rollback_timeout'] if params['_token'] else 0
    return apply_policy(fw, params['services'], params['management_ports'], params['management_sources'], timeout, token,
                        module.check_mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            services=dict(type='list', elements='dict', default=[]),
            zone=dict(type='str', default=''),
            management_ports=dict(type='list', elements='raw', default=[]),
            management_sources=dict(type='list', elements='str', default=[]),
            rollback_timeout=dict(type='int', default=30),
            state_dir=dict(type='path', default='/var/lib/portwarden'),
            _phase=dict(type='str', default='apply', choices=['apply', 'confirm', 'status']),
            _token=dict(type='str', no_log=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    for warning in result.pop('warnings', []):
        module.warn(warning)
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
