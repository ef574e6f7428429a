# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter ``host_firewall_model``: validate the host_firewall role's variables
(the service catalogue first) and return what its nftables template renders."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.nftables import build_model


def host_firewall_model(services, **options):
    try:
        return build_model(services, **options)
    except PortwardenError as exc:
        raise AnsibleFilterError(exc.msg)
    except TypeError as exc:
        raise AnsibleFilterError('host_firewall_model: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'host_firewall_model': host_firewall_model}
