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
* :class:`TableManager` and :func:`apply_table` / :func:`confirm_table`
  read, load and restore one table with the ``nft`` binary (argument lists,
  explicit return code checks), and once a change is confirmed make it load
  at boot (an include line in nftables.conf, nftables.service enabled).
  Other tables are never read or written; the ruleset is never flushed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct
import tempfile

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import RATE_RE, normalize_services, normalize_sources
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import write_file_atomic
from ansible_collections.portwarden.ports.plugins.module_utils import nft_dynamic
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


def _interval(text):
    """(first, last, version, text) of a network in canonical form ("10.0.0.0/29", "2001:db8::/32")."""
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
        return int(net.network_address), int(net.broadcast_address), net.version, str(net)
    return start, start + size - 1, 6 if family == socket.AF_INET6 else 4, text


def _summarize(version, first, last):
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return [str(n) for n in ipaddress.summarize_address_range(cls(first), cls(last))]


def _collapse(networks):
    """Merge overlapping and adjacent networks (an interval set refuses overlapping elements).

    The same list as ``ipaddress.collapse_addresses`` gives (the fewest
    networks that cover the same addresses, in order), for networks of one
    family, computed on integer intervals: 100,000 networks take a fraction of
    a second. A network that nothing merges with is returned as given.
    """
    if not networks:
        return []
    items = sorted((_interval(text) for text in networks), key=lambda item: (item[0], -item[1]))
    out = []
    first, last, version, text = items[0]
    for start, end, _version, item_text in items[1:]:
        if start <= last + 1:                     # overlapping or adjacent: one run
            last = max(last, end)
            text = None
            continue
        out.extend([text] if text is not None else _summarize(version, first, last))
        first, last, text = start, end, item_text
    out.extend([text] if text is not None else _summarize(version, first, last))
    return out


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
        # The source lists become the set elements as text, ready for the template: a model of 100,000 sources
        # is then a handful of strings, which Ansible stores and templates at once (a list of 100,000 strings
        # costs it seconds to store, and again to join).
        item = dict((k, v) for k, v in service.items() if k not in ('sources', 'sources_v4', 'sources_v6'))
        item['id'] = _set_id(index, service)
        item['nft_port'] = str(service['start']) if service['start'] == service['end'] else '%d-%d' % (service['start'], service['end'])
        item['any_source'] = not service['sources']
        item['source_count'] = len(service['sources'])
        item['elements_v4'] = ', '.join(_collapse(service['sources_v4']))
        item['elements_v6'] = ', '.join(_collapse(service['sources_v6']))
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
            'elements_v4': ', '.join(mgmt_v4),
            'elements_v6': ', '.join(mgmt_v6),
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
    ``get_bin_path``, ``atomic_move`` and ``tmpdir`` in unit tests).
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
        self.nft = module.get_bin_path('nft')
        if not self.nft:
            raise PortwardenError('the nft binary was not found on the host (PATH, /sbin, /usr/sbin, /usr/local/sbin): install '
                                  'the nftables package (the host_firewall role does so with host_firewall_install: true).',
                                  nft_missing=True)

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
        write_file_atomic(path, content, self.module.atomic_move, mode)

    def scratch(self, content):
        """A private temporary file holding ``content`` (removed with the module's temporary directory)."""
        fd, tmp = tempfile.mkstemp(prefix='.%s-%s.' % (self.family, self.name), suffix='.nft', dir=self.module.tmpdir)
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        return tmp

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
        """``nft -f``: one transaction, which the kernel takes whole or not at all."""
        rc, out, err = self._nft(['-f', path])
        if rc != 0:
            raise PortwardenError('%s does not load: "nft -f" refused the whole transaction (rc=%d), nothing was changed: %s'
                                  % (what, rc, (err or out).strip()))

    def generation(self):
        """An identity of the ruleset's state, or None when the kernel cannot tell (see ruleset_generation)."""
        return ruleset_generation()

    def start_watchdog(self, timeout, pending, restore, outcome):
        """Start the rollback timer, detached from this process and its session."""
        sh = self.module.get_bin_path('sh', required=True)
        argv = [sh, '-c', WATCHDOG, 'portwarden-rollback', str(int(timeout)), pending, restore, self.nft, outcome]
        with open(os.devnull, 'r+b') as devnull:
            # A plain fork-and-forget: the timer must outlive this module and the connection that started it.
            import subprocess  # pylint: disable=import-outside-toplevel
            subprocess.Popen(argv, stdin=devnull, stdout=devnull, stderr=devnull, close_fds=True,
                             start_new_session=True, cwd='/')


# ---------------------------------------------------------------- ruleset generation
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWGEN = 15
NFT_MSG_GETGEN = 16
NFTA_GEN_ID = 1
SO_NETNS_COOKIE = 71
NLMSG_ERROR = 2


def _nft_genid():
    """The nftables generation of this network namespace (NFT_MSG_GETGEN over netlink); it goes up by one with every
    committed transaction, whatever table it touches, and never otherwise (packets filling dynamic sets, ``nft -c``
    and listings leave it alone)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        sock.settimeout(2)
        sock.bind((0, 0))
        body = struct.pack('=BBH', socket.AF_UNSPEC, 0, 0)
        sock.send(struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN, 1, 1, 0) + body)
        data = sock.recv(8192)
    finally:
        sock.close()
    offset = 0
    while offset + 16 <= len(data):
        length, msg_type = struct.unpack_from('=IH', data, offset)
        if length < 16:
            break
        if msg_type == NLMSG_ERROR:
            return None
        if msg_type == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN:
            attr = offset + 20
            while attr + 4 <= offset + length:
                attr_len, attr_type = struct.unpack_from('=HH', data, attr)
                if attr_len < 4:
                    break
                if attr_type & 0x3fff == NFTA_GEN_ID and attr_len >= 8:
                    return struct.unpack_from('>I', data, attr + 4)[0]
                attr += (attr_len + 3) & ~3
        offset += (length + 3) & ~3
    return None


def ruleset_generation():
    """``boot id:network namespace cookie:nftables generation``, or None.

    Equal values from two moments prove that no nftables transaction was
    committed in this network namespace in between: the boot id and the
    namespace cookie (never reused during a boot; Linux 5.14 and later) pin
    the namespace, and its generation goes up with every commit. None where
    any part is not available (older kernels, no netlink access): callers then
    list the table.
    """
    try:
        with open('/proc/sys/kernel/random/boot_id') as handle:
            boot_id = handle.read().strip()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            cookie = struct.unpack('=Q', probe.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
        finally:
            probe.close()
        genid = _nft_genid()
    except (AttributeError, OSError, ValueError, struct.error):
        return None
    if not boot_id or genid is None:
        return None
    return '%s:%d:%d' % (boot_id, cookie, genid)


# ---------------------------------------------------------------- the record of the loaded table
class Record(object):
    """What was loaded last: the script's digest, the ruleset generation right before the table was listed (or None),
    and the listing. Stored as ``digest`` / ``generation G`` (optional) / listing lines."""

    def __init__(self, digest, generation, listing):
        self.digest = digest
        self.generation = generation
        self.listing = listing

    @classmethod
    def parse(cls, text):
        if text is None:
            return None
        digest, _sep, rest = text.partition('\n')
        generation = None
        if rest.startswith('generation '):
            line, _sep, rest = rest.partition('\n')
            generation = line[len('generation '):].strip() or None
        return cls(digest, generation, rest)

    def format(self):
        gen = 'generation %s\n' % self.generation if self.generation else ''
        return '%s\n%s%s' % (self.digest, gen, self.listing or '')


def content_digest(content):
    import hashlib  # pylint: disable=import-outside-toplevel
    return 'sha256:' + hashlib.sha256(content.encode('utf-8')).hexdigest()


# ---------------------------------------------------------------- persistence: nftables.conf and nftables.service
RED_HAT_LIKE = frozenset(('rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'amzn'))
NFTABLES_CONF = '/etc/nftables.conf'
NFTABLES_CONF_RED_HAT = '/etc/sysconfig/nftables.conf'
SERVICE = 'nftables.service'
SYSTEMD_RUNNING = '/run/systemd/system'   # exists while systemd is the init system (sd_booted)


def parse_os_release(text):
    values = {}
    for line in (text or '').splitlines():
        key, sep, value = line.strip().partition('=')
        if sep and key and not key.startswith('#'):
            values[key] = value.strip().strip('"\'')
    return values


def distribution_nftables_conf(os_release=None, exists=os.path.exists):
    """The nftables.conf the distribution's nftables.service loads: /etc/sysconfig/nftables.conf on the Red Hat
    family (ID or ID_LIKE in /etc/os-release), /etc/nftables.conf elsewhere; without an os-release, the one of the
    two that exists (/etc/nftables.conf when both or neither do)."""
    if os_release is None:
        for path in ('/etc/os-release', '/usr/lib/os-release'):
            os_release = TableManager.read(path)
            if os_release is not None:
                break
    if os_release is not None:
        values = parse_os_release(os_release)
        ids = set([values.get('ID', '').lower()]) | set(values.get('ID_LIKE', '').lower().split())
        return NFTABLES_CONF_RED_HAT if ids & RED_HAT_LIKE else NFTABLES_CONF
    if exists(NFTABLES_CONF_RED_HAT) and not exists(NFTABLES_CONF):
        return NFTABLES_CONF_RED_HAT
    return NFTABLES_CONF


def include_line(path):
    return 'include "%s"' % safe_path(path, 'path (written into the include line of nftables.conf)')


def plan_persistence(mgr, path, include_in=None, enable_service=False):
    """What loading the table at boot still needs: the include line in nftables.conf, nftables.service enabled.

    Returns a dict with ``changed``; with ``include_in``: ``include_file``, ``include_changed`` and the diff of that
    file; with ``enable_service``: ``systemd_running`` and ``service_changed``. Nothing is changed here.
    """
    plan = {'changed': False}
    if include_in:
        conf = distribution_nftables_conf() if include_in == 'auto' else include_in
        if not os.path.isabs(conf):
            raise PortwardenError('include_in: invalid value %r: expected auto or an absolute path.' % (include_in,))
        line = include_line(path)
        current = mgr.read(conf)
        present = current is not None and any(item.strip() == line for item in current.splitlines())
        plan.update(include_file=conf, include_changed=not present)
        if not present:
            text = current or ''
            after = text + ('\n' if text and not text.endswith('\n') else '') + line + '\n'
            plan['include_diff'] = {'before': text, 'after': after, 'before_header': conf, 'after_header': conf}
    if enable_service:
        running = os.path.isdir(SYSTEMD_RUNNING)
        plan.update(systemd_running=running, service_changed=False)
        if running:
            systemctl = mgr.module.get_bin_path('systemctl')
            if not systemctl:
                raise PortwardenError('systemd runs on this host but systemctl was not found: cannot enable %s.' % SERVICE)
            rc, _out, _err = mgr.module.run_command([systemctl, 'is-enabled', SERVICE], check_rc=False)
            plan['service_changed'] = rc != 0
    plan['changed'] = bool(plan.get('include_changed') or plan.get('service_changed'))
    return plan


def apply_persistence(mgr, plan):
    """Carry out a plan of plan_persistence: the include line (the new nftables.conf checked with ``nft -c -f``
    first; other lines untouched), then ``systemctl enable`` (never start or restart)."""
    if plan.get('include_changed'):
        conf = plan['include_file']
        try:
            mode = os.stat(conf).st_mode & 0o7777  # the file's own permissions are kept
        except OSError:
            mode = 0o755                          # a new one: like the stock file (#!/usr/sbin/nft -f)
        write_file_atomic(conf, plan['include_diff']['after'], mgr.module.atomic_move, mode,
                          check=lambda tmp: mgr.check_file(tmp, '%s with the include line' % conf))
    if plan.get('service_changed'):
        systemctl = mgr.module.get_bin_path('systemctl', required=True)
        rc, out, err = mgr.module.run_command([systemctl, 'enable', SERVICE], check_rc=False)
        if rc != 0:
            raise PortwardenError('systemctl enable %s failed (rc=%d): %s' % (SERVICE, rc, (err or out).strip()))


def _public(plan):
    return dict((k, v) for k, v in plan.items() if k not in ('changed', 'include_diff'))


# ---------------------------------------------------------------- apply / confirm / status
def _check_content(mgr, content):
    if not isinstance(content, str) or not content.strip():
        raise PortwardenError('content is empty: expected an nftables script that defines the table %s %s.' % (mgr.family, mgr.name))
    if FLUSH_RULESET_RE.search(content):
        raise PortwardenError('content contains "flush ruleset": refused, it would remove the tables of other tools '
                              '(Docker, Kubernetes, libvirt). Replace only the table %s %s.' % (mgr.family, mgr.name))


def _declared(script, bans):
    """The part of ``bans`` whose sets ``script`` declares (elements of other sets cannot be added to it)."""
    return dict((name, items) for name, items in bans.items() if ('set %s {' % name) in script)


def apply_table(mgr, content, path, rollback_timeout, token, check_mode, file_mode=0o644, include_in=None,
                enable_service=False, keep_sets=(), unban=()):
    """Apply phase. Returns a result dict; ``pending`` is set when the
    controller must confirm within ``rollback_timeout`` seconds.

    nft runs only where needed: none at all when the ruleset generation shows
    that nothing was committed since the record (otherwise one listing); in
    check mode ``nft -c -f`` when the table would change; when applying, one
    ``nft -f`` (all or nothing, so it is also the check), one listing for the
    record, and a ``nft -c -f`` of the saved table only when it has to be
    restored from a listing.
    """
    _check_content(mgr, content)
    what = 'the new ruleset for table %s %s' % (mgr.family, mgr.name)
    digest = content_digest(content)
    record = Record.parse(mgr.read(mgr.state_path('record')))
    generation = mgr.generation()
    if record is not None and record.generation and generation == record.generation:
        live, listed = record.listing, False      # nothing committed since the record: the table is as recorded
    else:
        live, listed = mgr.listing(), True
    on_disk = mgr.read(path)
    drifted = live is not None and record is not None and live != record.listing
    table_changed = live is None or record is None or record.digest != digest or drifted
    file_changed = on_disk != content
    persist = plan_persistence(mgr, path, include_in, enable_service)
    if on_disk is not None and not drifted and record is not None:
        before, before_header = on_disk, path
    else:
        before, before_header = (live or ''), 'nft list table %s %s' % (mgr.family, mgr.name)
    diff = {'before': before, 'after': content, 'before_header': before_header, 'after_header': path}
    release = [nft_dynamic.ban_key(source) for source in unban]
    bans = {}
    if release or (keep_sets and live is not None and table_changed):
        bans = nft_dynamic.DynamicState(lambda argv: mgr.module.run_command(argv, check_rc=False), mgr.nft,
                                        mgr.family, mgr.name).bans()
    kept = dict((name, items) for name, items in bans.items() if name in keep_sets)
    release_text = nft_dynamic.release_script(mgr.family, mgr.name, bans, release)
    released = sorted(set('%s%s' % (value, '/64' if name == 'banned_v6' else '') for name, value in release
                          if any(v == value for v, dummy in bans.get(name, []))))
    if persist.get('include_diff'):
        diff = [diff, persist['include_diff']] if (table_changed or file_changed) else persist['include_diff']
    result = {
        'changed': table_changed or file_changed or persist['changed'] or bool(release_text),
        'released': released,
        'table_changed': table_changed,
        'file_changed': file_changed,
        'drifted': drifted,
        'diff': diff,
        'pending': None,
        'rolled_back': False,
    }
    result.update(_public(persist))
    if check_mode:
        if table_changed:
            mgr.check_file(mgr.scratch(content), what)
        return result
    if not result['changed']:
        if listed and generation and record is not None:
            # Remember that this listing matched: the next run needs no nft at all unless something is committed.
            mgr.write_atomic(mgr.state_path('record'), Record(record.digest, generation, record.listing).format())
        return result

    mgr.ensure_state_dir()
    if release_text and not table_changed:
        mgr.load_file(mgr.scratch(release_text), 'the release of %s from the ban sets' % ', '.join(released))
    if table_changed:
        # The replacement deletes the table and every element packets added: the bans go over with their time left.
        carry = nft_dynamic.carry_over_script(mgr.family, mgr.name, _declared(content, kept), release)
        candidate = mgr.scratch(content + carry)
        if rollback_timeout > 0:
            restore = mgr.state_path('%s.restore' % token)
            if live is None:
                mgr.write_atomic(restore, restore_script(mgr.family, mgr.name, None))
            elif not drifted and record is not None and on_disk is not None and content_digest(on_disk) == record.digest:
                # the script that loaded the current table (known to load), and the bans it holds now
                mgr.write_atomic(restore, on_disk + nft_dynamic.carry_over_script(mgr.family, mgr.name, _declared(on_disk, bans)))
            else:
                mgr.write_atomic(restore, restore_script(mgr.family, mgr.name, live))
                mgr.check_file(restore, 'the saved copy of the current table %s %s (needed for rollback)' % (mgr.family, mgr.name))
            # The confirmation commits this copy, so the controller need not send the content a second time.
            saved = mgr.state_path('%s.candidate' % token)
            mgr.write_atomic(saved, content)
            pending = mgr.state_path('%s.pending' % token)
            mgr.write_atomic(pending, token)
            mgr.start_watchdog(rollback_timeout, pending, restore, mgr.state_path('%s.rolledback' % token))
            try:
                mgr.load_file(candidate, what)
            except PortwardenError:
                _disarm(pending)
                _disarm(restore)
                _disarm(saved)
                raise
            result['pending'] = token
            return result
        mgr.load_file(candidate, what)
        commit(mgr, content, path, file_mode, include_in, enable_service)
    else:
        commit(mgr, content, path, file_mode, include_in, enable_service, known=(generation, live), on_disk=on_disk,
               persist=persist)
    return result


def _disarm(marker):
    try:
        os.unlink(marker)
    except OSError:
        pass


_UNREAD = object()


def commit(mgr, content, path, file_mode=0o644, include_in=None, enable_service=False, known=None, on_disk=_UNREAD,
           persist=None):
    """Write the persistent file and the record of what the kernel holds now, then the boot configuration.

    ``known`` is (generation, listing) when the table was not loaded by this
    run (its listing is then known); otherwise the table is listed.
    """
    if on_disk is _UNREAD:
        on_disk = mgr.read(path)
    if on_disk != content:
        mgr.write_atomic(path, content, file_mode)
    if known is None:
        generation = mgr.generation()            # before listing: a commit in between makes the next run list again
        live = mgr.listing()
    else:
        generation, live = known
    mgr.ensure_state_dir()
    mgr.write_atomic(mgr.state_path('record'), Record(content_digest(content), generation, live or '').format())
    if persist is None:
        persist = plan_persistence(mgr, path, include_in, enable_service)
    apply_persistence(mgr, persist)
    return _public(persist)


def rollback_outcome(mgr, token):
    """(rolled_back, detail) for the timer of ``token``."""
    text = mgr.read(mgr.state_path('%s.rolledback' % token))
    if text is None:
        return False, None
    return True, text.strip()


def confirm_table(mgr, content, path, token, file_mode=0o644, include_in=None, enable_service=False):
    """Confirm phase: the controller reached the host again. Take the pending
    marker away before the timer does; then persist. Raises if too late.

    An empty ``content`` stands for the copy that the apply phase saved.
    """
    pending = mgr.state_path('%s.pending' % token)
    saved = mgr.state_path('%s.candidate' % token)
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
    _disarm(mgr.state_path('%s.restore' % token))
    if not content:
        content = mgr.read(saved)
        if content is None:
            raise PortwardenError('confirmed the new table %s %s, but its saved copy %s is gone: the rules file %s was not '
                                  'written; run the task again.' % (mgr.family, mgr.name, saved, path))
    result = {'changed': True, 'confirmed': True}
    result.update(commit(mgr, content, path, file_mode, include_in, enable_service))
    _disarm(saved)
    return result


def status_table(mgr, token):
    """Status phase (after the controller lost the host): did it roll back?"""
    rolled_back, detail = rollback_outcome(mgr, token)
    pending = mgr.state_path('%s.pending' % token)
    return {'rolled_back': rolled_back, 'rollback_output': detail, 'waiting': os.path.exists(pending)
            or os.path.exists(pending + '.expired')}


def cleanup_token(mgr, token):
    for suffix in ('restore', 'rolledback', 'pending', 'candidate'):
        _disarm(mgr.state_path('%s.%s' % (token, suffix)))
