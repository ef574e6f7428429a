# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_firewall model, built on the controller from the service catalogue.

:func:`build_model` turns the role's variables into the model that the role's
template renders. Every value that reaches the ruleset is checked here against
a strict pattern or a closed list, so no variable can add a line or a
statement to the ruleset. :func:`check_role_paths` refuses the values that
would switch a guard off (a negative rollback timeout, relative paths).
Nothing here is shipped to a host.
"""

from __future__ import annotations

import bisect
import ipaddress
import os
import re
import socket

from ansible.module_utils.common.validation import check_type_int
from ansible.module_utils.parsing.convert_bool import BOOLEANS, boolean

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import RATE_RE, normalize_services, normalize_sources
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.firewalld import ZONE_RE
from ansible_collections.portwarden.ports.plugins.module_utils.firewall_choice import BACKENDS, CONFLICTING
from ansible_collections.portwarden.ports.plugins.module_utils.nft_boot import safe_path
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet
from ansible_collections.portwarden.ports.plugins.plugin_utils.sources import source_intervals

POLICIES = ('accept', 'drop')
LOG_PREFIX_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9 _.:=-]{0,39}\Z')
LOG_RATE_RE = re.compile(r'^([1-9][0-9]{0,5})/(second|minute|hour|day)\Z')
UNIT_TIMEOUT = {'second': '1s', 'minute': '1m', 'hour': '1h', 'day': '1d'}
_BOOL_WORDS = ', '.join(sorted(str(b) for b in BOOLEANS if isinstance(b, str)))
# Networks per nftables set of one service and family. The kernel dumps a set's elements 32 KiB at a time and
# walks the set from its first element for every chunk, so reading one large set back (the table's digest,
# `nft list`) slows down faster than it grows: 100,000 networks in one set take 0.5-1.4 s to dump, in sets of
# 32,768 about 0.08 s. Each further set is one more rule (about 0.4 us for a new connection from its sources).
# Catalogues up to the size keep one set per family, with the names they always had.
SET_SIZE = 32768


def check_bool(value, what):
    """A boolean as the argument spec accepts it: true/false, yes/no, on/off, 1/0 (also as strings, as -e gives them)."""
    if isinstance(value, (bool, str, int, float)) and not (isinstance(value, float) and value not in (0.0, 1.0)):
        try:
            return boolean(value.strip() if isinstance(value, str) else value, strict=True)
        except TypeError:
            pass
    raise PortwardenError('%s: invalid value %r: expected a boolean (true or false; as text one of %s).'
                          % (what, value, _BOOL_WORDS))


def check_int(value, what, low=0, high=None):
    """A whole number as the argument spec's int accepts it (also as text), within [low, high]; never a boolean."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = check_type_int(value)
    except TypeError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        raise PortwardenError('%s: invalid value %r: expected a whole number %s.'
                              % (what, value, 'from %d to %d' % (low, high) if high is not None else 'of at least %d' % low))
    return number


def _choice(value, allowed, what):
    if value in allowed:
        return value
    raise PortwardenError('%s: invalid value %r: allowed values are %s.' % (what, value, ', '.join(allowed)))


def _rate(text, what, regex=LOG_RATE_RE):
    if isinstance(text, str):
        match = regex.match(text)
        if match:
            return {'text': text, 'count': int(match.group(1)), 'unit': match.group(2), 'timeout': UNIT_TIMEOUT[match.group(2)]}
    raise PortwardenError('%s: invalid rate %r: expected N/second, N/minute, N/hour or N/day, for example 5/minute.' % (what, text))


def _set_id(index, service):
    safe = re.sub(r'[^a-z0-9]+', '_', service['name'].lower()).strip('_')[:24] or 'x'
    return 'svc%d_%s_%s' % (index + 1, safe, service['proto'])


def _sources(values, what):
    networks = normalize_sources(values, what)
    return ([str(n) for n in networks if n.version == 4], [str(n) for n in networks if n.version == 6])


def _interval(text):
    """(version, first, last, text) of a network in canonical form ("10.0.0.0/29", "2001:db8::/32")."""
    address, _sep, prefix = text.partition('/')
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    try:
        start = int.from_bytes(socket.inet_pton(family, address), 'big')
        bits = 128 if family == socket.AF_INET6 else 32
        size = 1 << (bits - int(prefix if prefix else bits))
    except (OSError, ValueError):
        size = None
    if size is None or start % size:
        net = ipaddress.ip_network(text)          # not canonical: the slow, strict parser
        return net.version, int(net.network_address), int(net.broadcast_address), str(net)
    return 6 if family == socket.AF_INET6 else 4, start, start + size - 1, text


def _summarize(version, first, last):
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return [str(n) for n in ipaddress.summarize_address_range(cls(first), cls(last))]


def collapse(networks):
    """Merge overlapping and adjacent networks (an interval set refuses overlapping elements).

    The same list as ``ipaddress.collapse_addresses`` gives (the fewest
    networks that cover the same addresses, in order), for networks of one
    family, computed on integer intervals: 100,000 networks take a fraction of
    a second. A network that nothing merges with is returned as given.
    """
    return merge(sorted((_interval(text) for text in networks), key=lambda item: (item[1], -item[2])))


def merge(items):
    """:func:`collapse` of networks of one family already parsed and sorted: (version, first, last, text) in the
    order of (first, -last), as plugin_utils/sources.py's ``source_intervals`` gives them (the catalogue's sources
    are not parsed a second time)."""
    if not items:
        return []
    out = []
    version, first, last, text = items[0]
    for _version, start, end, item_text in items[1:]:
        if start <= last + 1:                     # overlapping or adjacent: one run
            last = max(last, end)
            text = None
            continue
        out.extend([text] if text is not None else _summarize(version, first, last))
        first, last, text = start, end, item_text
    out.extend([text] if text is not None else _summarize(version, first, last))
    return out


def shards(name, family, networks, size=None):
    """The sets that hold ``networks`` (merged, in order) for the template: ``{'name', 'family', 'elements'}``
    each, at most ``size`` (default SET_SIZE) networks a set, consecutive address ranges, named ``name``, ``name_2``,
    ``name_3`` ...; none when there are no networks."""
    size = size or SET_SIZE
    return [{'name': name if start == 0 else '%s_%d' % (name, start // size + 1), 'family': family,
             'elements': ', '.join(networks[start:start + size])} for start in range(0, len(networks), size)]


def _service_item(index, service, parsed):
    # The source lists become the set elements as text, ready for the template: a model of 100,000 sources
    # is then a handful of strings, which Ansible stores and templates at once.
    item = dict((k, v) for k, v in service.items() if k not in ('sources', 'sources_v4', 'sources_v6'))
    item['id'] = _set_id(index, service)
    item['nft_port'] = str(service['start']) if service['start'] == service['end'] else '%d-%d' % (service['start'], service['end'])
    item['any_source'] = not service['sources']
    item['source_count'] = len(service['sources'])
    # ``parsed``: the entry's sources as source_intervals gave them to normalize_services (sorted, IPv4 first)
    split = bisect.bisect_left(parsed, 6, key=lambda source: source[0])
    merged_v4, merged_v6 = merge(parsed[:split]), merge(parsed[split:])
    item['elements_v4'] = ', '.join(merged_v4)
    item['elements_v6'] = ', '.join(merged_v6)
    item['sets'] = shards(item['id'] + '_v4', 'ip', merged_v4) + shards(item['id'] + '_v6', 'ip6', merged_v6)
    item['rate'] = (_rate(service['rate_limit'], 'host_firewall_services: %s' % service['name'], regex=RATE_RE)
                    if service['rate_limit'] else None)
    return item


def _management(management_ports, management_sources):
    if management_ports is None:
        management_ports = []
    if not isinstance(management_ports, (list, tuple)):
        management_ports = [management_ports]
    try:
        ports = PortSet.parse(list(management_ports)) if management_ports else PortSet([])
    except PortwardenError as exc:
        raise PortwardenError('host_firewall_management_ports: %s' % exc.msg)
    mgmt_v4, mgmt_v6 = _sources(management_sources, 'host_firewall_management_sources')
    mgmt_v4, mgmt_v6 = collapse(mgmt_v4), collapse(mgmt_v6)
    return {
        'ports': ','.join(str(r.start) if r.start == r.end else '%d-%d' % (r.start, r.end) for r in ports.ranges),
        'elements_v4': ', '.join(mgmt_v4),
        'elements_v6': ', '.join(mgmt_v6),
        'any_source': not (mgmt_v4 or mgmt_v6),
    }


def service_items(services):
    """The catalogue validated (every entry, every source: PortwardenError naming the entry and the field) and its
    services as the template renders them: the model's ``services``, plain JSON values (what
    plugin_utils/catalogue_cache.py keeps)."""
    parsed = []

    def sources(values, where):
        items = source_intervals(values, where)
        parsed.append(items)                      # one call per entry, in order: the entry's parsed sources
        return items
    try:
        normalized = normalize_services(services, sources=sources)
    except PortwardenError as exc:
        raise PortwardenError('host_firewall_services: %s' % exc.msg)
    return [_service_item(index, service, parsed[index]) for index, service in enumerate(normalized)]


def build_model(services, management_ports=None, management_sources=None, allow_ping=True, dhcpv6_client=True,
                log=True, log_prefix='portwarden', log_rate='5/minute', forward_policy='drop', output_policy='accept',
                rules_path='/etc/portwarden/portwarden.nft', filter_published=True, items=None):
    """Validate everything the template renders; return the model it renders from. ``items``: what
    :func:`service_items` gave for ``services`` before (the catalogue's model kept on the controller), else None.

    Raises PortwardenError naming the variable (and for the catalogue, the
    entry and the field) and what is allowed.
    """
    if items is None:
        items = service_items(services)
    prefix = log_prefix
    if not isinstance(prefix, str) or not LOG_PREFIX_RE.match(prefix):
        raise PortwardenError('host_firewall_log_prefix: invalid value %r: use 1-40 letters, digits, spaces, "_", ".", ":", "=" '
                              'or "-", starting with a letter or digit.' % (log_prefix,))
    return {
        'services': items,
        'management': _management(management_ports, management_sources),
        'allow_ping': check_bool(allow_ping, 'host_firewall_allow_ping'),
        'dhcpv6_client': check_bool(dhcpv6_client, 'host_firewall_dhcpv6_client'),
        'log': check_bool(log, 'host_firewall_log'),
        'log_prefix': prefix.rstrip(),
        'log_rate': _rate(log_rate, 'host_firewall_log_rate'),
        'forward_policy': _choice(forward_policy, POLICIES, 'host_firewall_forward_policy'),
        'filter_published': check_bool(filter_published, 'host_firewall_filter_published'),
        'output_policy': _choice(output_policy, POLICIES, 'host_firewall_output_policy'),
        'rules_path': safe_path(rules_path, 'host_firewall_rules_path'),
    }


def check_role_paths(rollback_timeout=30, state_dir='/var/lib/portwarden', nftables_conf='', persist=True):
    """The role's guards, checked on the controller (the action plugin warns about a timeout of 0).

    A negative rollback timeout or a relative state directory would switch
    the rollback off without a word (the timer runs in ``/``); a relative
    nftables.conf would be written next to wherever the module runs.
    """
    try:
        timeout = None if isinstance(rollback_timeout, bool) else int(str(rollback_timeout).strip())
    except (TypeError, ValueError):
        timeout = None
    if timeout is None or timeout < 0:
        raise PortwardenError('host_firewall_rollback_timeout: invalid value %r: expected a number of seconds (greater than the '
                              'connection timeout, 30 by default), or 0 to apply without the rollback that protects against a '
                              'lockout. Nothing was changed.' % (rollback_timeout,))
    if not isinstance(state_dir, str) or not os.path.isabs(state_dir):
        raise PortwardenError('host_firewall_state_dir: invalid value %r: expected an absolute path (the rollback timer runs in /, '
                              'a relative directory would disable it). Nothing was changed.' % (state_dir,))
    if check_bool(persist, 'host_firewall_persist') and nftables_conf:
        if not isinstance(nftables_conf, str) or not os.path.isabs(nftables_conf):
            raise PortwardenError('host_firewall_nftables_conf: invalid value %r: expected an absolute path, or "" for the '
                                  "distribution's own file. Nothing was changed." % (nftables_conf,))
    return timeout


def check_role_switches(backend='auto', conflicting='fail', firewalld_zone='', install=True, enable_service=True,
                        lock_timeout=120):
    """The role's variables that only choose what the role does (backend, conflicting managers, install, service,
    lock): checked on the controller with the role's names, so that no bad value reaches a host or a ``when:``."""
    _choice(backend, BACKENDS, 'host_firewall_backend')
    _choice(conflicting, CONFLICTING, 'host_firewall_conflicting')
    if firewalld_zone not in (None, '') and not (isinstance(firewalld_zone, str) and ZONE_RE.match(firewalld_zone)):
        raise PortwardenError('host_firewall_firewalld_zone: invalid value %r: expected "" (firewalld\'s default zone) or a '
                              'zone name of 1-17 letters, digits, "_", "+" or "-".' % (firewalld_zone,))
    check_bool(install, 'host_firewall_install')
    check_bool(enable_service, 'host_firewall_enable_service')
    check_int(lock_timeout, 'host_firewall_lock_timeout')
