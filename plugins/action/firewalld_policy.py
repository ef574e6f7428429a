# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.firewalld_policy: apply, reconnect, confirm (as nft_table does for nftables).

1. Run the module (apply phase) with a fresh token: it saves copies, starts the host's rollback timer, changes
   firewalld and returns. When nothing changes this is the only module call.
2. Drop the connection and run the module again over a NEW connection (confirm phase) until it succeeds or the
   rollback timeout has passed.
3. Without a confirmation, reach the host again after the timer, read the outcome (status phase) and fail saying
   the change was rolled back.
"""

from __future__ import annotations

import os
import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

# The reconnection (_reset) and the connection timeout are nft_table's: the same steps for another module.
from ansible_collections.portwarden.ports.plugins.action.nft_table import ActionModule as NftTableAction

display = Display()

MODULE = 'portwarden.ports.firewalld_policy'
# After the timer should have fired: how long to keep trying to learn the outcome (a reload takes a second or two).
GRACE = 10


class ActionModule(NftTableAction):

    _VALID_ARGS = frozenset(('services', 'zone', 'management_ports', 'management_sources', 'rollback_timeout',
                             'state_dir'))
    _supports_check_mode = True
    _supports_async = False

    def _try_module(self, args, task_vars):
        """Run the module once over a new connection; None if the host cannot be reached."""
        self._reset()
        try:
            result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            display.vvv('firewalld_policy: host not reachable yet: %s' % exc)
            return None
        if result.get('unreachable'):
            return None
        return result

    def _until(self, args, deadline, task_vars, done):
        answer = None
        while time.time() < deadline:
            answer = self._try_module(args, task_vars)
            if answer is not None and done(answer):
                return answer
            time.sleep(1)
        return answer

    def run(self, tmp=None, task_vars=None):
        result = ActionBase.run(self, tmp, task_vars)   # not nft_table's run: only its connection helpers
        del tmp
        args = dict(self._task.args)
        try:
            timeout = int(args.get('rollback_timeout', 30))
        except (TypeError, ValueError):
            raise AnsibleActionFail('rollback_timeout: invalid value %r: expected a number of seconds (0 disables the '
                                    'rollback).' % (args.get('rollback_timeout'),))
        if timeout > 0 and not self._play_context.check_mode:
            args['_token'] = os.urandom(8).hex()
            if self._connection.transport not in ('local', 'ansible.builtin.local') and timeout <= self._connection_timeout():
                display.warning('firewalld_policy: rollback_timeout (%ds) is not greater than the connection timeout '
                                '(%ds): a working host may be rolled back before the controller can confirm.'
                                % (timeout, self._connection_timeout()))
        applied = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        result.update(applied)
        if applied.get('failed') or not applied.get('pending'):
            result.pop('pending', None)
            return result
        result.pop('pending', None)
        small = dict((k, v) for k, v in args.items() if k in ('zone', 'state_dir', '_token'))
        deadline = time.time() + timeout
        confirmed = self._until(dict(small, _phase='confirm'), deadline, task_vars, lambda answer: True)
        if confirmed is not None and not confirmed.get('failed'):
            result.update(confirmed=True, changed=True)
            return result
        if confirmed is not None and not confirmed.get('rolled_back'):
            result.update(failed=True, confirmed=False, msg='firewalld_policy: confirming the change failed: %s'
                          % confirmed.get('msg'))
            return result
        give_up = max(deadline, time.time()) + GRACE + self._connection_timeout() * 2
        status = self._until(dict(small, _phase='status'), give_up, task_vars,
                             lambda answer: not answer.get('failed') and not answer.get('waiting'))
        result.update(confirmed=False, failed=True, changed=True)
        if status is not None and status.get('rolled_back'):
            result.update(rolled_back=True, rollback_output=status.get('rollback_output'), msg=(
                'ROLLED BACK: the controller could not reach the host again within %ds after changing firewalld zone '
                '%s, so the host put back the previous zone and portwarden services and reloaded firewalld by itself. '
                'The change probably cut the management path (host_firewall role: check host_firewall_management_ports '
                'and _sources). (%s)' % (timeout, applied.get('zone'), status.get('rollback_output'))))
        else:
            result.update(rolled_back=None, msg=(
                'firewalld_policy: the change was made but could not be confirmed within %ds, and the host could not be '
                'reached afterwards to learn whether its rollback timer put the previous configuration back.' % timeout))
        return result
