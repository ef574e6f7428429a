# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters over the service catalogue (``portwarden_services``).

Thin wrappers around ``module_utils/catalogue.py``: the same validation the
modules run on the target runs on the controller, so a role can refuse a bad
catalogue before it changes anything.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services as _normalize
from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import service_ports as _service_ports
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet

NORMALIZED_KEYS = frozenset(('name', 'port', 'start', 'end', 'proto', 'sources', 'sources_v4', 'sources_v6',
                             'rate_limit', 'description', 'expect_listener'))


def _is_normalized(services):
    return (isinstance(services, (list, tuple)) and
            all(isinstance(item, dict) and frozenset(item) == NORMALIZED_KEYS for item in services))


def normalize_services(services):
    """Validate the catalogue strictly and return it in canonical form."""
    try:
        return _normalize(services)
    except PortwardenError as exc:
        raise AnsibleFilterError('portwarden_services: %s' % exc.msg)


def service_ports(services, proto=None):
    """The catalogue's ports in the kernel's canonical form, e.g. ``"22,443,30000-32767"``."""
    if proto not in (None, 'tcp', 'udp'):
        raise AnsibleFilterError('service_ports: invalid proto %r: allowed values are tcp, udp or none (both).' % (proto,))
    if not _is_normalized(services):
        services = normalize_services(services)
    return _service_ports(services, proto).format()


def services_overlapping(services, ports):
    """The services (normalized) that have a port in ``ports``, each with ``overlap``: the shared ports."""
    if not _is_normalized(services):
        services = normalize_services(services)
    try:
        wanted = PortSet([PortRange(ports['start'], ports['end'])]) if isinstance(ports, dict) else PortSet.parse(ports)
    except (PortwardenError, KeyError) as exc:
        raise AnsibleFilterError('services_overlapping: invalid ports %r: %s' % (ports, getattr(exc, 'msg', exc)))
    result = []
    for service in services:
        overlap = PortSet([PortRange(service['start'], service['end'])]) & wanted
        if overlap:
            result.append(dict(service, overlap=overlap.format()))
    return result


class FilterModule(object):
    """Service catalogue filters."""

    def filters(self):
        return {
            'normalize_services': normalize_services,
            'service_ports': service_ports,
            'services_overlapping': services_overlapping,
        }
