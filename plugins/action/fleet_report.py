# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of portwarden.ports.fleet_report: render the fleet report on the controller.

Nothing runs on the target: the port_info results of the fleet come in as
O(hosts), earlier runs' report.json files as O(merge); the model and the files
are made by plugin_utils/fleet_report.py and written atomically into O(dest)
on the controller.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.action import ActionBase

from ansible_collections.portwarden.ports.plugins.module_utils import argspec
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import read_bytes, write_file_atomic
from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report

ARGUMENT_SPEC = argspec.FLEET_REPORT


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_one_of=[['hosts', 'merge']])
        dest = os.path.abspath(os.path.expanduser(args['dest']))
        merge = [os.path.abspath(os.path.expanduser(path)) for path in args['merge'] or []]
        formats = []
        for fmt in args['formats']:
            if fmt not in formats:
                formats.append(fmt)
        try:
            model, texts = fleet_report.make_report(args['hosts'], merge=merge, title=args['title'], formats=formats)
        except PortwardenError as exc:
            raise AnsibleActionFail('fleet_report: %s' % exc.msg)

        files = {}
        changed = []
        for fmt in formats:
            path = os.path.join(dest, fleet_report.FILE_NAMES[fmt])
            files[fmt] = path
            if read_bytes(path) != to_bytes(texts[fmt]):
                changed.append((fmt, path))
        if changed and not self._task.check_mode:
            try:
                if not os.path.isdir(dest):
                    os.makedirs(dest, mode=0o755)
                for fmt, path in changed:
                    write_file_atomic(path, texts[fmt], os.replace)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail('fleet_report: cannot write the report into %s: %s' % (dest, to_native(exc)))
            except PortwardenError as exc:
                raise AnsibleActionFail('fleet_report: cannot write the report into %s: %s' % (dest, exc.msg))

        result.update(
            changed=bool(changed),
            dest=dest,
            files=files,
            written=[] if self._task.check_mode else [path for dummy, path in changed],
            fleet=model['fleet'],
            summary=fleet_report.summary_rows(model),
            table=fleet_report.text_table(model),
        )
        return result
