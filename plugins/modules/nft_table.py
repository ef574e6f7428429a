#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: nft_table
short_description: Replace one nftables table atomically, with a rollback the host runs by itself
version_added: 0.1.0
description:
  - Loads an nftables script that replaces exactly one table (for example C(inet portwarden)) in one
    C(nft -f) transaction. The kernel takes the transaction whole or not at all, so a script with any
    error changes nothing (in check mode the script is checked with C(nft -c -f) instead). Other tables
    are never read or changed, and the ruleset is never flushed; a script with a C(flush ruleset) statement is
    refused (the words in a comment or a quoted string are not a statement).
  - "Lockout safe: before loading, the current table (or its absence) is saved and a detached rollback
    timer is started on the host. The action plugin then drops its connection, connects again and
    confirms. Without a confirmation within O(rollback_timeout) seconds, the host restores the saved
    table by itself and the task fails with a message saying so. The timer belongs to its run - it is keyed to
    the token of the apply that armed it, and a later run first settles an earlier run that was never confirmed
    (restores the table that run replaced, disarms its timer), so no timer restores over a newer table."
  - "One apply at a time per host: the apply and the confirmation each hold the host lock
    (C(/run/portwarden/apply.lock), shared with the collection's other modules that change the host), waiting
    at most O(lock_timeout) seconds."
  - "A failure after the load rolls the new table back (and puts back the files written) or says why it could not;
    every failure message says what is live."
  - After the confirmation the script is written to O(path) (for loading at boot), a record of the
    loaded table is kept in O(state_dir), so that a run that changes nothing reports no change, and a
    table changed behind Ansible's back is loaded again; then, with O(include_in) and O(enable_service),
    the boot configuration is completed. The confirmation sends no content again - it commits the copy the
    apply saved, and only if that is still the script the apply loaded (else the previous table is restored
    and the task fails).
  - The record of the loaded table is taken right after the load by a child process of the apply, while
    the controller reconnects; the confirmation waits for it.
  - A run that changes nothing is one module call and, when no nftables transaction was committed on the
    host since the record (the kernel's ruleset generation tells), reads nothing at all; otherwise it compares a
    digest of the live table, read over netlink, with the record's, and runs no C(nft) command either. The
    table is listed (C(nft -s list table)) only where its text is needed (the diff and the saved copy for
    rollback when it drifted, the saved copy when the rules file no longer matches the record) and where the
    kernel cannot give the digest (then the record holds the listing, as in earlier versions, whose records are
    read).
  - The script is expected to declare, delete and define the table, for example
    C(table inet portwarden {}), C(delete table inet portwarden), C(table inet portwarden { ... }).
  - "A replacement keeps the sets that stay the same: where the record vouches that the live table is the one
    the rules file declares (the table did not drift) and both scripts have the shape above (nothing but that
    table's block and comments), the table is changed in one transaction that flushes and deletes its chains and
    other objects and declares them from the new script, and leaves alone the leading sets, up to the first set
    whose declaration is not the same, character for character, in both scripts. The kernel then does not take in
    their elements again (100,000 source networks are most of a whole replacement's time), and as it keeps sets in
    the order they were made, the table is the one the whole script gives, in the same order. A kept set keeps its
    elements as they are, also those that packets added (bans, scan meters, rate limits). The sets kept are
    returned in RV(kept); O(path) receives the whole script."
author:
  - Portwarden maintainers (@portwarden)
options:
  content:
    description:
      - The complete nftables script that replaces the table, as the P(portwarden.ports.host_firewall#role)
        role renders it.
    type: str
    required: true
  path:
    description:
      - The file the script is written to once the change is confirmed, for the nftables service to
        include at boot. Written atomically.
    type: path
    required: true
  family:
    description:
      - The family of the table the script replaces.
    type: str
    choices: [inet, ip, ip6, arp, bridge, netdev]
    default: inet
  name:
    description:
      - The name of the table the script replaces.
    type: str
    default: portwarden
  rollback_timeout:
    description:
      - Seconds the host waits for the controller to reach it again (through a new connection) and
        confirm, before it restores the previous table.
      - V(0) applies without a rollback timer (the action plugin warns). A negative value is refused.
      - Should be greater than the connection timeout (C(ansible_timeout), 10 seconds by default),
        so that the controller has at least one complete attempt to reconnect.
    type: int
    default: 30
  state_dir:
    description:
      - Directory on the host for the saved table, the rollback timer's files and the record of the
        loaded table. Created with mode C(0700) if missing. Must be an absolute path.
      - Files that an interrupted run left there are settled by the next run - a change that was never
        confirmed is rolled back first (its timer disarmed), then its files are removed.
    type: path
    default: /var/lib/portwarden
  mode:
    description:
      - Permissions of O(path).
    type: raw
    default: '0644'
  include_in:
    description:
      - The nftables configuration that the distribution's C(nftables.service) loads at boot; a line
        C(include "<path>") for O(path) is appended to it when no such line is there (other lines and
        includes are left alone; the file is created when missing). The new file is checked with
        C(nft -c -f) before it replaces the old one, atomically.
      - V(auto) picks the distribution's file from C(/etc/os-release) - C(/etc/sysconfig/nftables.conf)
        when C(ID) or C(ID_LIKE) names the Red Hat family (rhel, fedora, centos, rocky, almalinux, ol,
        amzn), C(/etc/nftables.conf) otherwise (without an os-release, the one of the two that exists).
      - Done after the confirmation, like writing O(path). Not set - no include line.
      - O(path) must then be an absolute path of letters, digits, C(_), C(.), C(-) and C(/).
    type: str
  enable_service:
    description:
      - Enable C(nftables.service) (C(systemctl enable)) where systemd runs, after the confirmation. It is
        never started or restarted (the stock configuration of several distributions flushes the ruleset).
      - Where systemd does not run (containers) nothing is done and RV(systemd_running) is V(false).
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for the host lock that serializes the applies of port settings and firewall on the host
        (the apply and the confirmation of every run take it in turn). When another run holds it longer, the
        task fails naming that run, and nothing is changed.
    type: int
    default: 120
  keep_sets:
    description:
      - Names of dynamic sets of the table whose elements survive a replacement of the table, each with the time it
        had left (the P(portwarden.ports.host_firewall#role) role keeps its ban sets V(banned_v4) and V(banned_v6)).
        Where the replacement keeps the set itself (see RV(kept)), its elements stay as they are.
      - Elements of a set that the new content does not declare are not carried over.
    type: list
    elements: str
    default: []
  unban:
    description:
      - Sources to release from the ban sets V(banned_v4) and V(banned_v6) before their time runs out (IPv4
        addresses, and IPv6 addresses or /64 networks; an IPv6 source is banned with its /64).
      - A source that is not banned is no change. Released sources are returned in RV(released).
    type: list
    elements: str
    default: []
  backend:
    description:
      - Choose the host's firewall backend first, in the same call, as the P(portwarden.ports.host_firewall#role)
        role does (M(portwarden.ports.firewall_managers) reports the same choice without applying anything). Only
        firewalld and ufw are asked (C(systemctl is-active) / C(is-enabled), C(firewall-cmd --state), C(ufw status));
        no C(nft) command runs for it.
      - Not set - no choice, the table is applied.
      - V(auto) - where firewalld runs, nothing is changed in nftables and the result says so (RV(backend=firewalld),
        C(changed=false)); the role then opens the catalogue with M(portwarden.ports.firewalld_policy). Otherwise as
        V(nftables).
      - V(nftables) - where firewalld or ufw is active, fails before anything changes, naming them and the ways out,
        unless O(conflicting=stop). Where firewalld is enabled or running and stays so, C(nftables.service) is not
        enabled whatever O(enable_service) says (RV(enable_nftables_service=false)).
      - V(firewalld) - fails before anything changes where firewalld does not run (no manager is ever started);
        otherwise as V(auto) on a firewalld host.
    type: str
    choices: [auto, nftables, firewalld]
  conflicting:
    description:
      - When O(backend) chooses nftables next to an active firewalld or ufw - V(fail) before anything changes, or
        V(stop) - stop and disable them (C(systemctl disable --now firewalld.service), C(ufw disable)) under the host
        lock, right before the table is applied (in check mode, reported in RV(stopped) and not done).
    type: str
    choices: [fail, stop]
    default: fail
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
    details: Reports whether the table, O(path), the include line or the service would change, and checks
      the script with C(nft -c -f) when the table would change.
  diff_mode:
    support: full
    details: Before is the file previously written (or the listing of the live table when it was changed
      by someone else or is not recorded), after is O(content). When the include line is added, the diff
      of O(include_in) too (a list of two when both change). Returned only in diff mode and when something
      changes (or would change).
  platform:
    platforms: linux
    support: full
    details: Needs the C(nft) binary and the C(CAP_NET_ADMIN) capability (root).
  idempotent:
    support: full
    details: The live table is compared with the record of what was loaded, without dynamic state
      (counters, quotas, the elements of dynamic and timeout sets such as rate limit meters and bans, element
      expirations, handles); nothing is read while the ruleset generation is unchanged.
notes:
  - Works with any connection plugin; with C(local) the reconnection is a no-op but the confirmation still runs.
  - The rollback timer is a detached C(sh) process; on hosts where C(systemd-logind) kills a session's
    processes when it ends (C(KillUserProcesses=yes)), connect with a user whose session is not killed.
  - The nftables service is not restarted (the stock configuration of several distributions starts with
    C(flush ruleset)); the table is loaded directly.
  - When the C(nft) binary is missing the task fails with RV(nft_missing=true), so that a role can install
    the package and run the task again.
seealso:
  - name: nftables wiki, atomic rule replacement
    description: Replacing a table in one transaction.
    link: https://wiki.nftables.org/wiki-nftables/index.php/Atomic_rule_replacement
'''

EXAMPLES = r'''
- name: Replace the table inet portwarden, roll back unless the host is reachable again within 30 s
  portwarden.ports.nft_table:
    content: "{{ lookup('ansible.builtin.template', 'portwarden.nft.j2') }}"
    path: /etc/portwarden/portwarden.nft
    rollback_timeout: 30

- name: Same, without the rollback timer (console access, or local connection)
  portwarden.ports.nft_table:
    content: |
      table inet example {}
      delete table inet example
      table inet example {
        chain input { type filter hook input priority filter; policy accept; }
      }
    name: example
    path: /etc/portwarden/example.nft
    rollback_timeout: 0

- name: Replace the table and make it load at boot (include line in the distribution's nftables.conf, service enabled)
  portwarden.ports.nft_table:
    content: "{{ lookup('ansible.builtin.template', 'portwarden.nft.j2') }}"
    path: /etc/portwarden/portwarden.nft
    include_in: auto
    enable_service: true

- name: Replace the table, keep the sources it has banned, and release one of them early
  portwarden.ports.nft_table:
    content: "{{ lookup('ansible.builtin.template', 'portwarden.nft.j2') }}"
    path: /etc/portwarden/portwarden.nft
    keep_sets: [banned_v4, banned_v6]
    unban: [192.0.2.10, "2001:db8:1:2::/64"]
'''

RETURN = r'''
released:
  description: The sources that O(unban) released (or in check mode would release); IPv6 ones as their /64.
  returned: success, in the apply phase
  type: list
  elements: str
  sample: ["192.0.2.10", "2001:db8:1:2::/64"]
backend:
  description: The backend that O(backend) chose, V(nftables) or V(firewalld) (then nothing was changed in nftables).
  returned: when O(backend) is set
  type: str
  sample: nftables
stopped:
  description: The managers stopped and disabled with O(conflicting=stop) (in check mode - that would be).
  returned: when O(backend) is set
  type: list
  elements: str
  sample: [ufw]
enable_nftables_service:
  description: Whether C(nftables.service) may be enabled (false where firewalld is enabled or running and stays so;
    O(enable_service) is then not carried out).
  returned: when O(backend) is set
  type: bool
  sample: true
table_changed:
  description: Whether the live table was (or in check mode would be) replaced.
  returned: always
  type: bool
  sample: true
kept:
  description: The sets that the replacement of the table kept as they were, their declaration the same in the
    script that loaded the live table and in O(content) (empty where the whole script was loaded, or nothing was
    replaced).
  returned: always
  type: list
  elements: str
  sample: [svc1_api_tcp_v4, banned_v4, banned_v6]
file_changed:
  description: Whether O(path) was (or would be) written.
  returned: always
  type: bool
  sample: true
drifted:
  description: Whether the live table differed from the one recorded at the last successful run.
  returned: always
  type: bool
  sample: false
confirmed:
  description: Whether the controller reached the host again and confirmed the new table.
  returned: when the table was replaced with O(rollback_timeout) greater than 0
  type: bool
  sample: true
rolled_back:
  description: Whether the previous table was restored - by the host's timer because no confirmation came in
    time, or by the module after a write failed once the new table was loaded, or because what the confirmation
    was to commit was not the script the apply loaded.
  returned: always
  type: bool
  sample: false
rollback_output:
  description: What C(nft) printed while restoring, and its return code.
  returned: when RV(rolled_back) is true
  type: str
  sample: rc=0
include_file:
  description: The nftables configuration that includes O(path) (O(include_in), with V(auto) resolved).
  returned: when O(include_in) is set (and the backend is nftables)
  type: str
  sample: /etc/nftables.conf
include_changed:
  description: Whether the include line was (or in check mode would be) added to RV(include_file).
  returned: when O(include_in) is set
  type: bool
  sample: false
systemd_running:
  description: Whether systemd runs on the host; where it does not, C(nftables.service) is left alone.
  returned: when O(enable_service=true)
  type: bool
  sample: true
service_changed:
  description: Whether C(nftables.service) was (or in check mode would be) enabled.
  returned: when O(enable_service=true)
  type: bool
  sample: false
settled:
  description: Tokens of earlier runs that were never confirmed and that this run rolled back (in check mode,
    would roll back) before applying its own table.
  returned: when the apply phase ran
  type: list
  elements: str
  sample: []
timer_fired:
  description: The confirmation came after the rollback timer had restored the previous table (the task failed).
  returned: when the task failed for that reason
  type: bool
  sample: true
superseded:
  description: The confirmation came after another run had settled this run's change (the task failed).
  returned: when the task failed for that reason
  type: bool
  sample: true
lock_holder:
  description: Who held the host lock when the task gave up waiting for it (the task failed).
  returned: when the task failed for that reason
  type: str
  sample: pid 4242 (nft_table inet portwarden, apply phase), since 2026-12-01 08:00:00 UTC
nft_missing:
  description: The C(nft) binary was not found on the host (the task failed).
  returned: when the task failed for that reason
  type: bool
  sample: true
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import onceimport

# The collection's code below compiled once from the AnsiballZ zip, or loaded as the host keeps it (codecache.py).
onceimport.install()
from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.firewall_choice import choose_backend, stop_managers
from ansible_collections.portwarden.ports.plugins.module_utils.hostlock import HostLock
from ansible_collections.portwarden.ports.plugins.module_utils.managers import daemons
from ansible_collections.portwarden.ports.plugins.module_utils.nft_runs import TOKEN_RE, take_lock, try_lock
from ansible_collections.portwarden.ports.plugins.module_utils.nft_table import (
    TableManager, apply_table, cleanup_token, confirm_table, status_table)


def choose(module):
    """The backend (O(backend)): detection of firewalld / ufw and the choice, before anything changes."""
    def command(argv):
        return module.run_command(argv, check_rc=False)
    report = daemons(command, module.get_bin_path)
    choice = choose_backend(report, module.params['backend'], module.params['conflicting'])
    return dict(choice, managers=report['managers'], command=command)


def run(module):
    params = module.params
    choice = None
    if params['backend'] and params['_phase'] == 'apply':
        choice = choose(module)
        if choice['backend'] == 'firewalld':
            return {'changed': False, 'backend': 'firewalld', 'table_changed': False, 'file_changed': False,
                    'drifted': False, 'rolled_back': False, 'stopped': [], 'enable_nftables_service': False,
                    'msg': 'firewalld runs on this host: the firewalld backend applies the catalogue; nothing was changed '
                           'in nftables.'}
        params['enable_service'] = params['enable_service'] and choice['enable_nftables_service']
    try:
        result = apply_or_confirm(module, choice)
    except PortwardenError as exc:
        if choice is not None and choice.get('stopped'):
            raise PortwardenError('%s (%s stopped and disabled before, as host_firewall_conflicting: stop asked, and stays so.)'
                                  % (exc.msg, ' and '.join(choice['stop'])), stopped=choice['stop'], **exc.details)
        raise
    if choice is not None:
        result.update(backend='nftables', stopped=choice['stop'], enable_nftables_service=choice['enable_nftables_service'],
                      changed=result['changed'] or bool(choice['stop']))
    if not (module._diff and result.get('changed')):
        # The diff holds the rules twice (3.2 MiB at 100,000 sources): sent back only when asked for and there is one.
        result.pop('diff', None)
    return result


def stop_conflicting(module, choice):
    """Stop and disable firewalld / ufw (conflicting=stop), under the host lock, right before the table is applied."""
    if choice is not None and choice['stop'] and not module.check_mode:
        stop_managers(choice['command'], module.get_bin_path, choice['stop'])
        choice['stopped'] = True


def apply_or_confirm(module, choice):
    params = module.params
    mgr = TableManager(module, params['family'], params['name'], params['state_dir'])
    mgr.background = True        # the record of a loaded table is taken while the controller reconnects
    mode = params['mode']
    file_mode = int(mode, 8) if isinstance(mode, str) else int(mode)
    phase = params['_phase']
    token = params['_token'] or os.urandom(8).hex()
    if not TOKEN_RE.match(token):
        raise PortwardenError('invalid internal token %r.' % token)
    if params['rollback_timeout'] < 0:
        raise PortwardenError('rollback_timeout: invalid value %d: expected 0 (no rollback) or a number of seconds. Nothing '
                              'was changed.' % params['rollback_timeout'])
    if phase == 'status':
        result = status_table(mgr, token)
        if not result['waiting']:
            cleanup_token(mgr, token)
        return result
    persist = dict(include_in=params['include_in'], enable_service=params['enable_service'])
    dynamic = dict(keep_sets=params['keep_sets'], unban=params['unban'])
    if module.check_mode:
        return apply_table(mgr, params['content'], params['path'], 0, token, True, file_mode, **dict(persist, **dynamic))
    what = 'nft_table %s %s, %s phase of run %s' % (params['family'], params['name'], phase, token)
    # The confirmation runs under the lock that this run's timer holds since the apply (it took it over).
    lock = (try_lock(HostLock(what, timeout=0)) if phase == 'confirm'
            else take_lock(mgr, what, params['lock_timeout'], HostLock))
    try:
        if phase == 'confirm':
            return confirm_table(mgr, params['content'], params['path'], token, file_mode, **persist)
        stop_conflicting(module, choice)
        timeout = params['rollback_timeout'] if params['_token'] else 0
        return apply_table(mgr, params['content'], params['path'], timeout, token, False, file_mode, lock=lock,
                           **dict(persist, **dynamic))
    finally:
        if lock is not None:
            lock.release()


def main():
    module = AnsibleModule(
        argument_spec=argspec.NFT_TABLE,
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except PortwardenError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
