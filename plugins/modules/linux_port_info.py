#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: linux_port_info
short_description: Internal - what the host reads and counts for portwarden.ports.port_info on Linux
version_added: 0.2.0
description:
  - B(Internal.) Use M(portwarden.ports.port_info); its action plugin runs this module on Linux targets, validates the
    catalogue and builds the report with its RV(portwarden.ports.port_info#module:conflicts) on the controller, so that
    this payload carries only the code that reads the host.
  - Returns what the host read and counted; the action plugin builds the report of M(portwarden.ports.port_info) of it.
    With C(async) the action plugin runs M(portwarden.ports.port_info) itself, which builds the whole report on the host.
  - Never changes anything. On FreeBSD or macOS it fails, naming the system (the action plugin then runs
    M(portwarden.ports.bsd_port_info)).
author:
  - Portwarden maintainers (@portwarden)
extends_documentation_fragment:
  - portwarden.ports.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it reports the same in check mode.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: [linux]
  idempotent:
    support: full
options:
  processes:
    description: As in M(portwarden.ports.port_info).
    type: bool
    default: false
  top:
    description: As in M(portwarden.ports.port_info).
    type: int
    default: 10
seealso:
  - module: portwarden.ports.port_info
"""

EXAMPLES = r"""
# Not called directly: this task runs portwarden.ports.linux_port_info on a Linux host.
- name: Read the port space of the host
  portwarden.ports.port_info:
  register: ports
"""

RETURN = r"""
gathered:
  description:
    - What the host read and counted, from which the action plugin builds the report of M(portwarden.ports.port_info).
    - Its keys are internal and may change with the collection.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portwarden.ports.plugins.module_utils import onceimport


def main():
    onceimport.install()  # the collection's code compiled once, not twice, from the AnsiballZ zip
    from ansible_collections.portwarden.ports.plugins.module_utils import portread

    # The socket tables, read in a thread from here on: the kernel copies them out while this thread compiles
    # the rest of the module's code (imported only now), parses the arguments and reads the firewall state.
    reading = portread.start_reading()
    from ansible_collections.portwarden.ports.plugins.module_utils import probes

    prefetched = probes.start()  # the firewall probes, side by side from here on
    from ansible_collections.portwarden.ports.plugins.module_utils import argspec, backend, portgather

    module = AnsibleModule(argument_spec=argspec.PORT_INFO_GATHER, supports_check_mode=True)
    backend.run(module, portgather.port_info, reading, prefetched)


if __name__ == '__main__':
    main()
