# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.nft_table: apply, reconnect, confirm.

1. Run the module (apply phase) with a fresh token: it compares, saves the
   current table, starts the host's rollback timer and loads the new table,
   then returns at once. When nothing changes (or the table stays and only
   the file or the boot configuration changes) this is the only module call.
2. Drop the connection (so that a persistent SSH master that survives through
   conntrack's established state cannot fake reachability) and run the module
   again over a NEW connection (confirm phase) until it succeeds or the
   rollback timeout has passed. The confirmation writes the rules file, the
   record and the boot configuration (include line, nftables.service).
3. Without a confirmation, wait for the timer, reach the host again, read the
   rollback outcome (status phase) and fail saying the change was rolled back.
"""

from __future__ import annotations

import os
import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

# After the timer should have fired: how long to keep trying to reach the host
# to learn the outcome (restoring the table takes a fraction of a second).
GRACE = 5


class ActionModule(ActionBase):

    _VALID_ARGS = frozenset(('content', 'path', 'family', 'name', 'rollback_timeout', 'state_dir', 'mode', 'include_in',
                             'enable_service', 'lock_timeout', 'keep_sets', 'unban', 'backend', 'conflicting'))
    # What the confirmation reports about the boot configuration it completed.
    _CONFIRM_KEYS = ('include_file', 'include_changed', 'systemd_running', 'service_changed')
    _supports_check_mode = True
    _supports_async = False

    def _reset(self):
        connection = self._connection
        if getattr(type(connection), 'reset', None) is ConnectionBase.reset:
            # A connection without a reset of its own (local, podman exec ...) keeps nothing open between commands:
            # the next command is a new connection already. Close it only (ConnectionBase.reset would just warn).
            connection.close()
            return
        try:
            connection.reset()
        except (AttributeError, NotImplementedError):
            pass
        except AnsibleConnectionFailure:
            pass

    def _connection_timeout(self):
        try:
            value = self._connection.get_option('timeout')
        except (AttributeError, KeyError):
            value = None
        try:
            return int(value or getattr(self._play_context, 'timeout', None) or 10)
        except (TypeError, ValueError):
            return 10

    def _try_module(self, args, task_vars):
        """Run the module once over a new connection; None if the host cannot be reached."""
        self._reset()
        try:
            result = self._execute_module(module_name='portwarden.ports.nft_table', module_args=args,
                                          task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            display.vvv('nft_table: host not reachable yet: %s' % exc)
            return None
        if result.get('unreachable'):
            display.vvv('nft_table: host not reachable yet: %s' % result.get('msg'))
            return None
        return result

    @staticmethod
    def _check_args(args):
        """Refuse on the controller what would switch a guard off; return the rollback timeout."""
        timeout = args.get('rollback_timeout', 30)
        try:
            timeout = int(str(timeout).strip()) if not isinstance(timeout, bool) else None
        except (TypeError, ValueError):
            timeout = None
        if timeout is None or timeout < 0:
            raise AnsibleActionFail('rollback_timeout: invalid value %r: expected a number of seconds, or 0 to apply without '
                                    'the rollback. Nothing was changed.' % (args.get('rollback_timeout'),))
        for option, optional, hint in (('path', False, ''), ('state_dir', True, ' (the rollback timer runs in /)'),
                                       ('include_in', True, ' or auto')):
            value = args.get(option)
            if optional and (value in (None, '') or option == 'include_in' and value == 'auto'):
                continue
            if not isinstance(value, str) or not os.path.isabs(os.path.expanduser(value)):
                raise AnsibleActionFail('%s: invalid value %r: expected an absolute path%s. Nothing was changed.'
                                        % (option, value, hint))
        if timeout == 0:
            display.warning('nft_table: rollback_timeout is 0: the table is applied without the rollback timer, so rules '
                            'that cut the management path are not undone by the host.')
        return timeout

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        timeout = self._check_args(args)
        check_mode = self._play_context.check_mode
        token = os.urandom(8).hex()
        if timeout > 0 and not check_mode:
            args['_token'] = token
            conn_timeout = self._connection_timeout()
            if self._connection.transport not in ('local', 'ansible.builtin.local') and timeout <= conn_timeout:
                display.warning('nft_table: rollback_timeout (%ds) is not greater than the connection timeout (%ds): a '
                                'working host may be rolled back before the controller can confirm.' % (timeout, conn_timeout))

        applied = self._execute_module(module_name='portwarden.ports.nft_table', module_args=args, task_vars=task_vars)
        result.update(applied)
        if applied.get('failed') or not applied.get('pending'):
            result.pop('pending', None)
            return result

        # Phase 2: reach the host again through a new connection and confirm.
        started = time.time()
        deadline = started + timeout
        # The host saved the content in the apply phase: the confirmation does not send it again (1.6 MiB of rules at
        # 100,000 sources); an empty content stands for that copy.
        confirm_args = dict(args, _phase='confirm', content='')
        confirm_args.pop('backend', None)        # chosen (and conflicting managers stopped) in the apply phase
        if applied.get('enable_nftables_service') is False:
            confirm_args['enable_service'] = False   # firewalld stays enabled here: nftables.service is left alone
        confirmed = None
        while time.time() < deadline:
            confirmed = self._try_module(confirm_args, task_vars)
            if confirmed is not None:
                break
            time.sleep(1)
        result.pop('pending', None)
        if confirmed is not None and not confirmed.get('failed'):
            result['confirmed'] = True
            result['changed'] = True
            result.update((key, confirmed[key]) for key in self._CONFIRM_KEYS if key in confirmed)
            return result
        if confirmed is not None and not confirmed.get('timer_fired'):
            result.update(failed=True, confirmed=False, msg='nft_table: confirming the new table failed: %s' % confirmed.get('msg'))
            result.update((key, confirmed[key]) for key in ('rolled_back', 'superseded', 'lock_holder') if key in confirmed)
            return result

        # Phase 3: the timer fired (or is about to): reach the host again to learn the outcome.
        status_args = dict(confirm_args, _phase='status')
        status = None
        give_up = max(deadline, time.time()) + GRACE + self._connection_timeout() * 2
        while time.time() < give_up:
            status = self._try_module(status_args, task_vars)
            if status is not None and not status.get('failed') and not status.get('waiting'):
                break
            time.sleep(1)
        result['confirmed'] = False
        result['failed'] = True
        result['changed'] = True
        if status is not None and status.get('rolled_back'):
            result['rolled_back'] = True
            result['rollback_output'] = status.get('rollback_output')
            result['msg'] = ('ROLLED BACK: the controller could not reach the host again within %ds after loading the new '
                             'table %s %s, so the host restored the previous table by itself. The new rules probably cut '
                             'the management path (host_firewall role: check host_firewall_management_ports and _sources). '
                             '(%s)' % (timeout, args.get('family', 'inet'), args.get('name', 'portwarden'),
                                       status.get('rollback_output')))
        else:
            result['rolled_back'] = None
            result['msg'] = ('nft_table: the new table was loaded but could not be confirmed within %ds, and the host could not '
                             'be reached afterwards to learn whether its rollback timer restored the previous table.' % timeout)
        return result
