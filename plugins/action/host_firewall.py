# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.host_firewall: the host_firewall role's one task.

What it does is plugin_utils/firewall_role.py (``read``, ``plan``, ``apply``); this plugin gives it the host's
variables, the role's template and a way to run the steps through their own action plugins: nft_table (its apply,
reconnect, confirm and rollback), firewalld_policy (the same for firewalld) and ansible.builtin.package.

Only a variable that holds a template is templated, and a list or a dictionary is not rendered as a whole (each
templated argument would be a Jinja compile in every forked worker, once per host; rendering a catalogue of 100,000
sources element by element takes about 0.4 s). The action plugins of the steps are imported here, in the controller's
main process (which loads this plugin before it forks the workers), and the role's template is compiled there, so
no worker compiles it again. So is the digest of the collection's code, which keys the catalogues' models kept on the
controller (plugin_utils/catalogue_cache.py): a host whose catalogue is one already validated (another host of the
fleet, an earlier run) takes its model instead of validating it again.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19 and later: a template's result without rendering every element of a list it returns
    from ansible._internal._templating._engine import TemplateMode
    STOP_ON_CONTAINER = TemplateMode.STOP_ON_CONTAINER
except ImportError:  # ansible-core 2.16 to 2.18
    STOP_ON_CONTAINER = None

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import catalogue_cache, firewall_role
from ansible_collections.portwarden.ports.plugins.plugin_utils.action_steps import run_action
from ansible_collections.portwarden.ports.plugins.filter.host_firewall_model import precompile, render_ruleset
# (imported for the forked workers, see above; loaded again through the action loader, from sys.modules)
from ansible_collections.portwarden.ports.plugins.action import firewalld_policy, nft_table  # noqa: F401 pylint: disable=unused-import

# The role's template compiled here, in the main process, before the workers fork (see above).
precompile()
catalogue_cache.code_digest()

TEMPLATE = os.path.join('templates', 'portwarden.nft.j2')
# The collection's own role, for the task used outside the role.
OWN_ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles', 'host_firewall')


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _render(self, text):
        """A string that may be a template, rendered; where it gives a list or a dictionary, only the elements that
        may be templates are rendered after it (firewall_role.lean), not every element."""
        rendered = self._template(text)
        return rendered if isinstance(rendered, str) else firewall_role.lean(rendered, self._render)

    def _template(self, text):
        """``text`` rendered without finalizing the elements of a container it gives (STOP_ON_CONTAINER), or as
        any task argument is where ansible-core does not offer that mode (or its internal API moved)."""
        if STOP_ON_CONTAINER is not None:
            try:
                return self._templar._engine.template(text, mode=STOP_ON_CONTAINER)  # pylint: disable=protected-access
            except (AttributeError, TypeError):
                pass
        return self._templar.template(text)

    def _template_text(self, task_vars):
        """The role's template: the one next to the role's tasks (role_path), else the collection's own."""
        for role in (task_vars.get('role_path'), OWN_ROLE):
            if not role:
                continue
            path = os.path.join(str(role), TEMPLATE)
            try:
                with open(path, 'r', encoding='utf-8') as handle:
                    return handle.read()
            except (IOError, OSError):
                continue
        raise PortwardenError('host_firewall: the role template %s was not found next to the role (%s).'
                              % (TEMPLATE, task_vars.get('role_path') or OWN_ROLE))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        def render(model):
            try:
                return render_ruleset(self._template_text(task_vars), model)
            except AnsibleError as exc:
                raise PortwardenError('host_firewall: %s' % exc.message)

        def run_module(module, args, check_mode=None):
            fqcn = module if '.' in module else 'portwarden.ports.' + module
            return run_action(self, fqcn, args, task_vars, check_mode)

        try:
            values = firewall_role.read(self._task.args, task_vars, self._render)
        except PortwardenError as exc:
            result.update(failed=True, msg=exc.msg)
            return result
        answer = firewall_role.apply(values, render, run_module, check_mode=self._task.check_mode,
                                     cache=catalogue_cache.CatalogueCache())
        answer['warnings'] = list(result.pop('warnings', None) or []) + answer['warnings']
        result.update(answer)
        return result
