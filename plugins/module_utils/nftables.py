# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nftables for the host_firewall role: the validated rendering model, and
applying one table atomically with a host-side rollback timer.

Two halves:

* :func:`build_model` turns the role's variables into a model that the
  template renders. Every value that reaches the ruleset is checked here
  against a strict pattern or a closed list, so no variable can add a line
  or a statement to the ruleset.
* :class:`NftTable` reads, checks, loads and restores one table with the
  ``nft`` binary (argument lists, explicit return code checks). Other tables
  are never read or written; the ruleset is never flushed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import RATE_RE, normalize_services, normalize_sources
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortSet

FAMILIES = ('inet', 'ip', 'ip6', 'arp', 'bridge', 'netdev')
TABLE_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,31}\Z')
POLICIES = ('accept', 'drop')
LOG_PREFIX_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9 _.:=-]{0,39}\Z')
LOG_RATE_RE = re.compile(r'^([1-9][0-9]{0,5})/(second|minute|hour|day)\Z')
PATH_RE = re.compile(r'^/[A-Za-z0-9_./-]{1,200}\Z')
UNIT_TIMEOUT = {'second': '1s', 'minute': '1m', 'hour': '1h', 'day': '1d'}
SET_SIZE = 65535


# ---------------------------------------------------------------- model
def _bool(value, what):
    if isinstance(value, bool):
        return value
    raise PortwardenError('%s: invalid value %r: expected true or false.' % (what, value))


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


def safe_path(value, what):
    """An absolute path made of a safe character set (it is written into nftables.conf)."""
    if not isinstance(value, str) or not PATH_RE.match(value) or '/../' in value + '/' or '//' in value:
        raise PortwardenError('%s: invalid path %r: expected an absolute path of letters, digits, "_", ".", "-" and "/".'
                              % (what, value))
    return value


def _sources(values, what):
    networks = normalize_sources(values, what)
    return ([str(n) for n in networks if n.version == 4], [str(n) for n in networks if n.version == 6])


def _collapse(networks):
    """Merge overlapping and adjacent networks (an interval set refuses overlapping elements)."""
    nets = [ipaddress.ip_network(n) for n in networks]
    return [str(n) for n in ipaddress.collapse_addresses(nets)] if nets else []


def build_model(services, management_ports=None, management_sources=None, allow_ping=True, dhcpv6_client=True,
                log=True, log_prefix='portwarden', log_rate='5/minute', forward_policy='drop', output_policy='accept',
                rules_path='/etc/portwarden/portwarden.nft'):
    """Validate everything the template renders; return the model it renders from.

    Raises PortwardenError naming the variable (and for the catalogue, the
    entry and the field) and what is allowed.
    """
    try:
        normalized = normalize_services(services)
    except PortwardenError as exc:
        raise PortwardenError('host_firewall_services: %s' % exc.msg)
    model_services = []
    for index, service in enumerate(normalized):
        item = dict(service)
        item['id'] = _set_id(index, service)
        item['nft_port'] = str(service['start']) if service['start'] == service['end'] else '%d-%d' % (service['start'], service['end'])
        item['any_source'] = not service['sources']
        item['sources_v4'] = _collapse(service['sources_v4'])
        item['sources_v6'] = _collapse(service['sources_v6'])
        item['rate'] = (_rate(service['rate_limit'], 'host_firewall_services: %s' % service['name'], regex=RATE_RE)
                        if service['rate_limit'] else None)
        model_services.append(item)

    if management_ports is None:
        management_ports = []
    if not isinstance(management_ports, (list, tuple)):
        management_ports = [management_ports]
    try:
        ports = PortSet.parse(list(management_ports)) if management_ports else PortSet([])
    except PortwardenError as exc:
        raise PortwardenError('host_firewall_management_ports: %s' % exc.msg)
    mgmt_v4, mgmt_v6 = _sources(management_sources, 'host_firewall_management_sources')
    mgmt_v4, mgmt_v6 = _collapse(mgmt_v4), _collapse(mgmt_v6)

    prefix = log_prefix
    if not isinstance(prefix, str) or not LOG_PREFIX_RE.match(prefix):
        raise PortwardenError('host_firewall_log_prefix: invalid value %r: use 1-40 letters, digits, spaces, "_", ".", ":", "=" '
                              'or "-", starting with a letter or digit.' % (log_prefix,))

    return {
        'services': model_services,
        'management': {
            'ports': ','.join(str(r.start) if r.start == r.end else '%d-%d' % (r.start, r.end) for r in ports.ranges),
            'sources_v4': mgmt_v4,
            'sources_v6': mgmt_v6,
            'any_source': not (mgmt_v4 or mgmt_v6),
        },
        'allow_ping': _bool(allow_ping, 'host_firewall_allow_ping'),
        'dhcpv6_client': _bool(dhcpv6_client, 'host_firewall_dhcpv6_client'),
        'log': _bool(log, 'host_firewall_log'),
        'log_prefix': prefix.rstrip(),
        'log_rate': _rate(log_rate, 'host_firewall_log_rate'),
        'forward_policy': _choice(forward_policy, POLICIES, 'host_firewall_forward_policy'),
        'output_policy': _choice(output_policy, POLICIES, 'host_firewall_output_policy'),
        'rules_path': safe_path(rules_path, 'host_firewall_rules_path'),
    }


# ---------------------------------------------------------------- listings
def _strip_dynamic_elements(block):
    """Lines of one ``set``/``map`` block, without its elements if the set is dynamic."""
    dynamic = block[0].strip().startswith('meter ') or any(
        line.strip().startswith('flags ') and 'dynamic' in line.strip()[6:].replace(' ', '').split(',') for line in block)
    if not dynamic:
        return block
    kept = []
    depth = 0
    for line in block:
        stripped = line.strip()
        if depth > 0:
            depth += stripped.count('{') - stripped.count('}')
            continue
        if stripped.startswith('elements = {'):
            depth = stripped.count('{') - stripped.count('}')
            continue
        kept.append(line)
    return kept


def normalize_listing(text):
    """A table listing without the state that changes by itself.

    Counters and quotas are already absent with ``nft -s``; this also drops
    the elements of dynamic sets (per-source rate limit state, added by
    packets) and trailing blanks, so two listings of an unchanged table are
    equal.
    """
    out = []
    block = None
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if block is not None:
            block.append(line)
            if stripped == '}' and len(line) - len(line.lstrip()) <= block_indent:
                out.extend(_strip_dynamic_elements(block))
                block = None
            continue
        if stripped.split(' ', 1)[0] in ('set', 'map', 'meter') and stripped.endswith('{'):
            block = [line]
            block_indent = len(line) - len(line.lstrip())
            continue
        out.append(line)
    if block is not None:
        out.extend(block)
    return '\n'.join(out).strip('\n') + '\n' if any(out) else ''


def restore_script(family, name, listing):
    """An ``nft -f`` script that puts the table back as ``listing`` shows it
    (or removes it when ``listing`` is None), in one transaction."""
    head = 'table %s %s {}\ndelete table %s %s\n' % (family, name, family, name)
    return head + (listing or '')


FLUSH_RULESET_RE = re.compile(r'(^|[;{\n])\s*flush\s+ruleset\b')

# The rollback timer, run detached on the host: wait up to $1 seconds for the
# controller to take the pending marker $2 away (the confirmation); if it is
# still there, take it atomically (rename: only one of timer and confirmation
# wins) and load the restore script $3 with nft $4, writing the outcome to $5.
WATCHDOG = r'''
i=0
while [ "$i" -lt "$1" ]; do
  [ -e "$2" ] || exit 0
  sleep 1
  i=$((i + 1))
done
mv "$2" "$2.expired" 2>/dev/null || exit 0
"$4" -f "$3" > "$5.tmp" 2>&1
echo "rc=$?" >> "$5.tmp"
mv -f "$5.tmp" "$5"
rm -f "$2.expired"
'''


class TableManager(object):
    """Read, check, load and restore ONE nftables table; never any other.

    ``module`` is an AnsibleModule (or a stand-in with ``run_command``,
    ``get_bin_path``, ``atomic_move`` in unit tests).
    """

    def __init__(self, module, family, name, state_dir):
        if family not in FAMILIES:
            raise PortwardenError('invalid family %r: allowed values are %s.' % (family, ', '.join(FAMILIES)))
        if not isinstance(name, str) or not TABLE_NAME_RE.match(name):
            raise PortwardenError('invalid table name %r: use 1-32 letters, digits or "_", starting with a letter.' % (name,))
        self.module = module
        self.family = family
        self.name = name
        self.state_dir = state_dir
        self.nft = module.get_bin_path('nft', required=True)

    # -- files in the state directory ------------------------------------------
    def state_path(self, suffix):
        return os.path.join(self.state_dir, '%s-%s.%s' % (self.family, self.name, suffix))

    def ensure_state_dir(self):
        if not os.path.isdir(self.state_dir):
            try:
                os.makedirs(self.state_dir, 0o700)
            except OSError as exc:
                raise PortwardenError('cannot create the state directory %s: %s' % (self.state_dir, exc))

    @staticmethod
    def read(path):
        try:
            with open(path, 'r') as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def write_atomic(self, path, content, mode=0o600):
        directory = os.path.dirname(path) or '.'
        if not os.path.isdir(directory):
            try:
                os.makedirs(directory, 0o755)
            except OSError as exc:
                raise PortwardenError('cannot create the directory %s: %s' % (directory, exc))
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            self.module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- nft ---------------------------------------------------------------------
    def _nft(self, args):
        rc, out, err = self.module.run_command([self.nft] + list(args), check_rc=False)
        return rc, out, err

    def listing(self):
        """The table as the kernel lists it (normalized), or None if it does not exist."""
        rc, out, err = self._nft(['-s', 'list', 'table', self.family, self.name])
        if rc != 0:
            if 'No such file or directory' in err or 'does not exist' in err:
                return None
            raise PortwardenError('nft list table %s %s failed (rc=%d): %s' % (self.family, self.name, rc, err.strip()))
        return normalize_listing(out)

    def check_file(self, path, what):
        rc, out, err = self._nft(['-c', '-f', path])
        if rc != 0:
            raise PortwardenError('%s does not pass "nft -c -f" (rc=%d), nothing was changed: %s'
                                  % (what, rc, (err or out).strip()))

    def load_file(self, path, what):
        rc, out, err = self._nft(['-f', path])
        if rc != 0:
            raise PortwardenError('loading %s with "nft -f" failed (rc=%d): %s' % (what, rc, (err or out).strip()))

    def start_watchdog(self, timeout, pending, restore, outcome):
        """Start the rollback timer, detached from this process and its session."""
        sh = self.module.get_bin_path('sh', required=True)
        argv = [sh, '-c', WATCHDOG, 'portwarden-rollback', str(int(timeout)), pending, restore, self.nft, outcome]
        with open(os.devnull, 'r+b') as devnull:
            # A plain fork-and-forget: the timer must outlive this module and the connection that started it.
            import subprocess  # pylint: disable=import-outside-toplevel
            subprocess.Popen(argv, stdin=devnull, stdout=devnull, stderr=devnull, close_fds=True,
                             start_new_session=True, cwd='/')


def content_digest(content):
    import hashlib  # pylint: disable=import-outside-toplevel
    return 'sha256:' + hashlib.sha256(content.encode('utf-8')).hexdigest()


def apply_table(mgr, content, path, rollback_timeout, token, check_mode, file_mode=0o644):
    """Apply phase. Returns a result dict; ``pending`` is set when the
    controller must confirm within ``rollback_timeout`` seconds."""
    if not isinstance(content, str) or not content.strip():
        raise PortwardenError('content is empty: expected an nftables script that defines the table %s %s.' % (mgr.family, mgr.name))
    if FLUSH_RULESET_RE.search(content):
        raise PortwardenError('content contains "flush ruleset": refused, it would remove the tables of other tools '
                              '(Docker, Kubernetes, libvirt). Replace only the table %s %s.' % (mgr.family, mgr.name))
    mgr.ensure_state_dir()
    candidate = mgr.state_path('candidate')
    mgr.write_atomic(candidate, content)
    try:
        mgr.check_file(candidate, 'the new ruleset for table %s %s' % (mgr.family, mgr.name))
    except PortwardenError:
        os.unlink(candidate)
        raise

    live = mgr.listing()
    record = mgr.read(mgr.state_path('record'))
    on_disk = mgr.read(path)
    digest = content_digest(content)
    recorded_digest, _sep, recorded_listing = (record or '').partition('\n')
    drifted = live is not None and record is not None and live != recorded_listing
    table_changed = live is None or record is None or recorded_digest != digest or live != recorded_listing
    file_changed = on_disk != content
    if on_disk is not None and not drifted and record is not None:
        before, before_header = on_disk, path
    else:
        before, before_header = (live or ''), 'nft list table %s %s' % (mgr.family, mgr.name)
    result = {
        'changed': table_changed or file_changed,
        'table_changed': table_changed,
        'file_changed': file_changed,
        'drifted': drifted,
        'diff': {'before': before, 'after': content, 'before_header': before_header, 'after_header': path},
        'pending': None,
        'rolled_back': False,
    }
    if check_mode or not result['changed']:
        os.unlink(candidate)
        return result

    if table_changed:
        restore = mgr.state_path('%s.restore' % token)
        mgr.write_atomic(restore, restore_script(mgr.family, mgr.name, live))
        mgr.check_file(restore, 'the saved copy of the current table %s %s (needed for rollback)' % (mgr.family, mgr.name))
        if rollback_timeout > 0:
            pending = mgr.state_path('%s.pending' % token)
            mgr.write_atomic(pending, content)
            mgr.start_watchdog(rollback_timeout, pending, restore, mgr.state_path('%s.rolledback' % token))
            try:
                mgr.load_file(candidate, 'the new ruleset for table %s %s' % (mgr.family, mgr.name))
            except PortwardenError:
                _disarm(pending)
                raise
            result['pending'] = token
            return result
        mgr.load_file(candidate, 'the new ruleset for table %s %s' % (mgr.family, mgr.name))
        os.unlink(restore)
    commit(mgr, content, path, file_mode)
    return result


def _disarm(pending):
    try:
        os.unlink(pending)
    except OSError:
        pass


def commit(mgr, content, path, file_mode=0o644):
    """Write the persistent file and the record of what the kernel holds now."""
    mgr.write_atomic(path, content, file_mode)
    live = mgr.listing()
    mgr.write_atomic(mgr.state_path('record'), '%s\n%s' % (content_digest(content), live or ''))
    candidate = mgr.state_path('candidate')
    if os.path.exists(candidate):
        os.unlink(candidate)


def rollback_outcome(mgr, token):
    """(rolled_back, detail) for the timer of ``token``."""
    text = mgr.read(mgr.state_path('%s.rolledback' % token))
    if text is None:
        return False, None
    return True, text.strip()


def confirm_table(mgr, content, path, token, file_mode=0o644):
    """Confirm phase: the controller reached the host again. Take the pending
    marker away before the timer does; then persist. Raises if too late."""
    pending = mgr.state_path('%s.pending' % token)
    try:
        os.rename(pending, pending + '.confirmed')
    except OSError:
        rolled_back, detail = rollback_outcome(mgr, token)
        if rolled_back or os.path.exists(pending + '.expired'):
            raise PortwardenError('too late to confirm: the rollback timer had already expired and the host restored the '
                                  'previous table %s %s (%s).' % (mgr.family, mgr.name, detail or 'restore in progress'),
                                  rolled_back=True)
        raise PortwardenError('nothing to confirm for table %s %s: no pending change %s.' % (mgr.family, mgr.name, token))
    os.unlink(pending + '.confirmed')
    restore = mgr.state_path('%s.restore' % token)
    if os.path.exists(restore):
        os.unlink(restore)
    commit(mgr, content, path, file_mode)
    return {'changed': True, 'confirmed': True}


def status_table(mgr, token):
    """Status phase (after the controller lost the host): did it roll back?"""
    rolled_back, detail = rollback_outcome(mgr, token)
    pending = mgr.state_path('%s.pending' % token)
    return {'rolled_back': rolled_back, 'rollback_output': detail, 'waiting': os.path.exists(pending)
            or os.path.exists(pending + '.expired')}


def cleanup_token(mgr, token):
    for suffix in ('restore', 'rolledback', 'pending', 'candidate'):
        path = mgr.state_path('%s.%s' % (token, suffix)) if suffix != 'candidate' else mgr.state_path(suffix)
        if os.path.exists(path):
            os.unlink(path)
