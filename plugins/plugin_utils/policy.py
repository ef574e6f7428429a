# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the ephemeral_ports role decides, on the controller.

:func:`plan` validates the role's variables once per host (the catalogue, the
extra reservations, the range, the policies, the paths) and keeps only what
the later steps need. :func:`state` turns the plan, the host's state (when the
plan needed a read) and the results of the module tasks into everything the
role's tasks use: the target range, the ports to reserve, the module to call,
what stays exposed, and the messages of the conflict policy. Both are pure,
and public through the filters of the same names. :func:`apply` is the role's
one task (the action plugin portwarden.ports.ephemeral_ports): it plans, runs
the module steps through a callable it is given, and says what the plan says.

Every error names the user's variable, the entry and the value.
"""

from __future__ import annotations

import os

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

from ansible_collections.portwarden.ports.plugins.module_utils.catalogue import normalize_services
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
from ansible_collections.portwarden.ports.plugins.plugin_utils.sources import source_intervals

PREFIX = 'ephemeral_ports_'
ACTIONS = ('reserve', 'fail', 'warn')
STATES = ('present', 'exact')
CONNTRACK_MAX = 2 ** 31 - 1
# The role's variables without the prefix, with the role's defaults (defaults/main.yml): the options of the action
# portwarden.ports.ephemeral_ports. The role passes every one (its services default to portwarden_services).
DEFAULTS = {
    'range': None, 'reserved': [], 'reserved_state': 'present', 'services': [], 'conflict_action': 'reserve',
    'persist': True, 'sysctl_file': None, 'conntrack_max': None, 'verify': True,
}


def _bool(name, value):
    """A boolean as the argument spec accepts it: true/false, yes/no, on/off, 1/0, also as strings."""
    if isinstance(value, bool):
        return value
    key = value.lower() if isinstance(value, str) else value
    if not isinstance(key, (str, int)) or isinstance(key, float):
        raise PortwardenError('%s%s: invalid value %r: expected a boolean (true or false).' % (PREFIX, name, value))
    if key in BOOLEANS_TRUE:
        return True
    if key in BOOLEANS_FALSE:
        return False
    raise PortwardenError('%s%s: invalid value %r: expected a boolean (true/false, yes/no, on/off, 1/0).' % (PREFIX, name, value))


def _int(name, value, low, high):
    """An integer, also given as a string of digits (as -e gives it), from low to high."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PortwardenError('%s%s: invalid value %r: expected a whole number from %d to %d.' % (PREFIX, name, value, low, high))
    return value


def _choice(name, value, choices):
    if value not in choices:
        raise PortwardenError('%s%s: invalid value %r: allowed values are %s.' % (PREFIX, name, value, ', '.join(choices)))
    return value


def _range(value):
    if value is None:
        return None
    name = PREFIX + 'range'
    if not isinstance(value, dict) or 'start' not in value or 'end' not in value:
        raise PortwardenError('%s: invalid value %r: expected a dictionary with start and end, such as '
                              '{start: 32768, end: 60999}, or null to keep the host\'s range.' % (name, value))
    unknown = sorted(str(k) for k in value if k not in ('start', 'end'))
    if unknown:
        raise PortwardenError('%s: unknown key(s) %s in %r: only start and end are allowed.' % (name, ', '.join(unknown), value))
    bounds = []
    for key in ('start', 'end'):
        item = value[key]
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 65535:
            raise PortwardenError('%s.%s: invalid value %r: expected a port from 1 to 65535.' % (name, key, value[key]))
        bounds.append(item)
    if bounds[0] > bounds[1]:
        raise PortwardenError('%s %d-%d is not a port range: start and end must be ports from 1 to 65535, with start not '
                              'greater than end.' % (name, bounds[0], bounds[1]))
    return {'start': bounds[0], 'end': bounds[1]}


def _reserved(value):
    name = PREFIX + 'reserved'
    if value is None:
        return PortSet()
    items = value if isinstance(value, (list, tuple)) else [value]
    result = PortSet()
    for index, item in enumerate(items):
        if item is None or (isinstance(item, str) and not item.strip()):
            raise PortwardenError('%s: entry #%d (%r) is empty: expected a port (1-65535) or a range "start-end".'
                                  % (name, index, item))
        try:
            result = result | PortSet.parse(item)
        except PortwardenError as exc:
            raise PortwardenError('%s: entry #%d (%r): %s' % (name, index, item, exc.msg))
    return result


def _path(name, value):
    if value is None or value == '':
        return None
    if not isinstance(value, str):
        raise PortwardenError('%s%s: invalid value %r: expected an absolute path or null.' % (PREFIX, name, value))
    if value.startswith('~'):
        return value  # the home directory of the user on the host: the module expands it there
    path = value
    if not os.path.isabs(path):
        raise PortwardenError('%s%s: %r is a relative path; it would be written relative to the directory the task runs '
                              'in. Give an absolute path (such as /etc/sysctl.d/90-portwarden.conf), or null for the '
                              "OS's own file." % (PREFIX, name, value))
    return os.path.normpath(path)


def plan(role_vars):
    """Validate the role's variables (full names, ``ephemeral_ports_*``) and return the plan (a plain dict)."""
    def var(name):
        return role_vars.get(PREFIX + name)

    try:
        # the controller's parser of the same contract: a catalogue of 20,000 sources in 0.05 s instead of 0.33 s
        catalogue = normalize_services(var('services'), sources=source_intervals)
    except PortwardenError as exc:
        raise PortwardenError('%sservices (portwarden_services by default): %s' % (PREFIX, exc.msg))
    requested = _range(var('range'))
    action = _choice('conflict_action', var('conflict_action'), ACTIONS)
    conntrack_max = var('conntrack_max')
    return {
        'range': requested,
        'extra': _reserved(var('reserved')).format(),
        'reserved_state': _choice('reserved_state', var('reserved_state'), STATES),
        'conflict_action': action,
        'persist': _bool('persist', var('persist')),
        'sysctl_file': _path('sysctl_file', var('sysctl_file')),
        'conntrack_max': None if conntrack_max is None else _int('conntrack_max', conntrack_max, 1, CONNTRACK_MAX),
        'verify': _bool('verify', var('verify')),
        'ports': PortSet([PortRange(s['start'], s['end']) for s in catalogue]).format(),
        'services': [[s['name'], s['start'], s['end']] for s in catalogue],
        # The host's state is needed where the plan depends on it: no range (the target is the current one), or
        # the fail / warn policies (which ports stay exposed).
        'read': requested is None or action != 'reserve',
    }


def _names(the_plan, ports):
    ports = PortSet.parse(ports)
    return ', '.join(name for name, start, end in the_plan['services'] if PortSet([PortRange(start, end)]) & ports)


def _ran(result):
    return isinstance(result, dict) and bool(result) and not result.get('skipped')


def _range_text(prange):
    return '%d-%d' % (prange['start'], prange['end'])


def state(the_plan, before=None, set_range=None, reserve=None, exact=None, after=None, check_mode=False):
    """The role's decisions and the state after its module tasks.

    ``before`` is port_info's result where the plan needed a read; the other
    arguments are the registered results of the module tasks and of the read
    after a change (None or skipped where they did not run). In check mode
    those results are the modules' predictions, so the policy is checked on
    the predicted state.
    """
    have = before if _ran(before) else None
    if the_plan['read'] and have is None:
        target = None
    else:
        target = the_plan['range'] or {'start': have['ephemeral_range']['start'], 'end': have['ephemeral_range']['end']}
    kept = have['reserved_ports']['ports'] if have is not None and the_plan['reserved_state'] == 'present' else ''
    ports = PortSet.parse(the_plan['ports'])
    inside = ports & PortSet([PortRange(target['start'], target['end'])]) if target else PortSet()
    wanted = PortSet.parse(the_plan['extra']) | (inside if the_plan['conflict_action'] == 'reserve' else PortSet())
    exposed = inside - (PortSet.parse(kept) | wanted)
    # One module task sets everything: ephemeral_range (with reserve and conntrack_max) when there is a range to
    # write; with the host's range kept and no conntrack max, reserved_ports (only when there is something to reserve).
    module = 'ephemeral_range' if the_plan['range'] is not None or the_plan['conntrack_max'] is not None else (
        'reserved_ports' if wanted else None)
    result = {
        'target': target,
        'reserve': wanted.to_list(),
        'exact': wanted.to_list() if the_plan['reserved_state'] == 'exact' else None,
        'exposed': exposed.format(),
        'module': module,
        'fail': '',
    }
    if target and exposed and the_plan['conflict_action'] == 'fail':
        result['fail'] = (
            'Catalogue port(s) %s (%s) fall inside the ephemeral range %s and are not reserved, so an outgoing connection '
            'can take them. Nothing was changed. Move the range (ephemeral_ports_range) so that it excludes them, reserve '
            'them (ephemeral_ports_reserved), or set ephemeral_ports_conflict_action to reserve.'
            % (exposed.format(), _names(the_plan, exposed), _range_text(target)))
    result.update(_after(the_plan, have, target, set_range, reserve, exact, check_mode))
    result.update(_seen(the_plan, have, after, result['changed']))
    return result


def _conflicts(report, kind):
    return [c.get('msg', '') for c in (report or {}).get('conflicts') or [] if c.get('type') == kind]


def _seen(the_plan, have, after, changed):
    """From the read after a change: catalogue ports still exposed (a failed verification) and the listeners inside
    the range that the catalogue does not declare; on a run that changed nothing, those from the first read (the same
    state). A run that read neither leaves the listeners to the audit playbook."""
    seen = after if _ran(after) else (have if not changed else None)
    return {
        'verify_failed': ' '.join(_conflicts(after, 'service_in_range')) if _ran(after) and the_plan['conflict_action'] != 'warn' else '',
        'listeners': _conflicts(seen, 'listener_in_range'),
    }


def _after(the_plan, have, target, set_range, reserve, exact, check_mode):
    """What the kernel holds after the module tasks, from their own results, and what is left to check or say."""
    after_range = set_range['after'] if _ran(set_range) else target
    if the_plan['reserved_state'] == 'exact' and _ran(exact):
        after_reserved = exact['after']['ports']
    elif _ran(set_range) and 'reserved' in set_range:
        after_reserved = set_range['reserved']['after']['ports']
    elif _ran(reserve):
        after_reserved = reserve['after']['ports']
    elif have is not None:
        after_reserved = have['reserved_ports']['ports']
    else:
        # Unknown only when nothing read them: a range and conflict action reserve with nothing to reserve, so no
        # catalogue port is in the range and none can be exposed.
        after_reserved = None
    exposed = PortSet()
    if after_range:
        exposed = (PortSet.parse(the_plan['ports']) & PortSet([PortRange(after_range['start'], after_range['end'])])) - \
            PortSet.parse(after_reserved or '')
    changed = any(_ran(r) and r.get('changed') for r in (set_range, reserve, exact))
    warn = the_plan['conflict_action'] == 'warn'
    out = {
        'after_range': after_range,
        'after_reserved': after_reserved,
        'exposed_after': exposed.format(),
        'changed': changed,
        'check_failed': '',
        'warning': '',
        'verify_on_host': the_plan['verify'] and not check_mode and changed,
        'note': '',
    }
    if exposed and not warn:
        out['check_failed'] = ('After the change, catalogue port(s) %s would still be inside the ephemeral range %s '
                               'unreserved (reservations: %s).' % (exposed.format(), _range_text(after_range),
                                                                   after_reserved or 'none'))
    if exposed and warn:
        out['warning'] = ('WARNING: catalogue port(s) %s (%s) are inside the ephemeral range %s and not reserved: an '
                          'outgoing connection can take them and the service then fails to bind.'
                          % (exposed.format(), _names(the_plan, exposed), _range_text(after_range)))
    if the_plan['verify'] and check_mode and after_range:
        out['note'] = ('Check mode: port_info would read the unchanged host, so the policy was checked on the predicted '
                       'state instead (range %s, reservations %s).' % (
                           _range_text(after_range),
                           'unchanged, none needed in the range' if after_reserved is None else (after_reserved or 'none')))
    # Whatever is left after the module tasks (finish.yml): the release (exact), a check that failed, a warning, a
    # change to verify on the host, check mode, or a first read whose listeners to point out.
    out['finish'] = bool(the_plan['reserved_state'] == 'exact' or exposed or
                         (the_plan['verify'] and (check_mode or changed or the_plan['read'])))
    return out


# -- the role's one task -------------------------------------------------------------------------------------------
# The steps that run a module on the host, in the order they can run: step name -> module (its action plugin).
STEPS = (('read', 'port_info'), ('range', 'ephemeral_range'), ('reserve', 'reserved_ports'),
         ('exact', 'reserved_ports'), ('verify', 'port_info'))


class _StepFailed(Exception):
    def __init__(self, answer):
        super(_StepFailed, self).__init__(answer.get('msg', ''))
        self.answer = answer


def apply(role_vars, run, check_mode=False):
    """The role's work: validate and plan, run the module steps, check and verify; return the task's result.

    ``run(module, args, check_mode)`` runs one of the collection's modules through its action plugin (which chooses
    the OS: netsh on Windows, the BSD modules on FreeBSD and macOS) and returns its result; ``check_mode`` None keeps
    the task's own. A run with a range, conflict action reserve and nothing to change makes one module call
    (ephemeral_range); port_info reads the host first only where the plan depends on it, and again after a change.
    The result carries every step's result (``steps``, by name; ``ran``, in order), their warnings and diffs, and
    ``failed`` with the message of the step or the policy that refused.
    """
    out = {'changed': False, 'ran': [], 'steps': {}, 'warnings': [], 'deprecations': [], 'diff': []}
    try:
        the_plan = plan(role_vars)
        _steps(out, the_plan, role_vars.get(PREFIX + 'services'), run, bool(check_mode))
    except PortwardenError as exc:
        out.update(failed=True, msg=exc.msg)
    except _StepFailed as exc:
        details = dict((k, v) for k, v in exc.answer.items() if k not in out and k != 'changed')
        out.update(details, failed=True, msg=exc.answer.get('msg', 'the %s step failed' % out['ran'][-1]))
    for key in ('diff', 'deprecations'):
        if not out[key]:
            del out[key]
    return out


def _step(out, run, name, args, check_mode=None):
    answer = dict(run(dict(STEPS)[name], args, check_mode))
    out['warnings'].extend(answer.pop('warnings', None) or [])
    out['deprecations'].extend(answer.pop('deprecations', None) or [])
    diff = answer.pop('diff', None)
    if diff:
        out['diff'].extend(diff if isinstance(diff, list) else [diff])
    answer.pop('invocation', None)
    out['steps'][name] = answer
    out['ran'].append(name)
    out['changed'] = out['changed'] or bool(answer.get('changed'))
    if answer.get('failed') or answer.get('unreachable'):
        raise _StepFailed(answer)
    return answer


def _steps(out, the_plan, services, run, check_mode):
    files = {'persist': the_plan['persist']}
    if the_plan['sysctl_file']:
        files['sysctl_file'] = the_plan['sysctl_file']
    # The read is never a check: port_info changes nothing, and the plan needs the host's real state.
    before = _step(out, run, 'read', {'services': services}, False) if the_plan['read'] else None
    now = state(the_plan, before, check_mode=check_mode)
    if now['fail']:
        raise PortwardenError(now['fail'])
    results = {'range': None, 'reserve': None, 'exact': None}
    if now['module'] == 'ephemeral_range':
        args = dict(files, start=now['target']['start'], end=now['target']['end'], reserve=now['reserve'])
        if the_plan['conntrack_max'] is not None:
            args['conntrack_max'] = the_plan['conntrack_max']
        results['range'] = _step(out, run, 'range', args)
    elif now['module'] == 'reserved_ports':
        results['reserve'] = _step(out, run, 'reserve', dict(files, ports=now['reserve'], state='present'))
    if the_plan['reserved_state'] == 'exact':
        results['exact'] = _step(out, run, 'exact', dict(files, ports=now['exact'], state='exact'))
    now = state(the_plan, before, results['range'], results['reserve'], results['exact'], None, check_mode)
    if now['check_failed']:
        raise PortwardenError(now['check_failed'])
    if now['verify_on_host']:
        after = _step(out, run, 'verify', {'services': services})
        now = state(the_plan, before, results['range'], results['reserve'], results['exact'], after, check_mode)
        if now['verify_failed']:
            raise PortwardenError(now['verify_failed'])
    if now['warning']:
        out['warnings'].append(now['warning'].split('WARNING: ', 1)[-1])
    listeners = now['listeners'] if the_plan['verify'] and not check_mode else []
    out['warnings'].extend(listeners)
    out.update(target=now['after_range'], reserved=now['after_reserved'], exposed=now['exposed_after'],
               note=now['note'], listeners=listeners, msg=_summary(out, now, check_mode))


def _summary(out, now, check_mode):
    """One line for the task's msg: what changed (or would), the range and reservations after it, what is left."""
    changed = [name for name in out['ran'] if out['steps'][name].get('changed')]
    parts = ['%s %s' % ('would change' if check_mode else 'changed', ', '.join(changed)) if changed else 'nothing to change']
    if now['after_range']:
        parts.append('range %s' % _range_text(now['after_range']))
    if now['after_reserved'] is not None:
        parts.append('reservations %s' % (now['after_reserved'] or 'none'))
    if now['exposed_after']:
        parts.append('catalogue ports left inside the range: %s' % now['exposed_after'])
    if now['note']:
        parts.append(now['note'])
    return '; '.join(parts) + '.'
