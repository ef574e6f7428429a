# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the host_firewall role does, on the controller: its one task (the action portwarden.ports.host_firewall).

:func:`read` takes the role's variables (``host_firewall_*``) from the task's options or the host's variables,
templating only the values that are templates. :func:`model` validates every one of them (every variable of
meta/argument_specs.yml, the catalogue entry by entry) and builds what the role's nftables template renders;
:func:`plan` adds the arguments of the steps. :func:`apply` runs the steps through a callable it is given (the
action plugins of nft_table, firewalld_policy and ansible.builtin.package): load the table (which also chooses the
backend on the host), install nftables and load again where nft was missing, open the catalogue in firewalld where
that is the backend, and say what the role does not do there.

Every error names the role's variable (for the catalogue, the entry and the field). Nothing here reaches a host.
"""

from __future__ import annotations

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils.firewall_model import (
    build_model, check_bool, check_role_paths, check_role_switches)
from ansible_collections.portwarden.ports.plugins.plugin_utils.gc_pause import cyclic_gc_paused
from ansible_collections.portwarden.ports.plugins.plugin_utils.scan_model import scan_model

PREFIX = 'host_firewall_'
# The role's variables without the prefix, with the role's defaults (defaults/main.yml; a test checks they agree):
# the options of the action portwarden.ports.host_firewall. services defaults to portwarden_services, else [].
DEFAULTS = {
    'services': [], 'management_ports': [22], 'management_sources': [], 'allow_ping': True, 'dhcpv6_client': True,
    'log': True, 'log_prefix': 'portwarden', 'log_rate': '5/minute', 'forward_policy': 'drop',
    'output_policy': 'accept', 'scan_detect': True, 'scan_threshold': 20, 'scan_window': 60, 'scan_ban': 600,
    'scan_allow': [], 'unban': [], 'rollback_timeout': 30, 'rules_path': '/etc/portwarden/portwarden.nft',
    'state_dir': '/var/lib/portwarden', 'persist': True, 'nftables_conf': '', 'enable_service': True,
    'lock_timeout': 120, 'install': True, 'backend': 'auto', 'firewalld_zone': '', 'conflicting': 'fail',
    'filter_published': True, 'catalogue_cache': True,
}
SCAN_OPTIONS = ('scan_detect', 'scan_threshold', 'scan_window', 'scan_ban', 'scan_allow', 'unban')
# The role's variables that guard the rollback: checked before anything reaches the host.
GUARDS = ('rollback_timeout', 'state_dir', 'nftables_conf', 'persist')
# The role's variables that only choose what it does (see check_role_switches).
SWITCHES = ('backend', 'conflicting', 'firewalld_zone', 'install', 'enable_service', 'lock_timeout')
# The role's variables that only say how the controller works (not options of the model).
CONTROLLER = ('catalogue_cache',)
# Lists: given as null they are refused (the argument spec refuses null for a list), not read as empty.
LISTS = ('management_ports', 'management_sources', 'scan_allow', 'unban')
# The sets a re-apply keeps with their elements (the bans and the time they have left).
BAN_SETS = ['banned_v4', 'banned_v6']
# What a failed step says about how it failed, given on top of the task's result (a failed firewalld step's rollback).
FAILURE_KEYS = ('rolled_back', 'rollback_output', 'confirmed')


def lean(value, template):
    """A variable's value with only its templates rendered: ``template(text)`` for each string that may be one (it
    holds "{"), every other value as it is. A catalogue of 100,000 sources is then read in milliseconds, where
    rendering the whole list (each element checked as a template) takes about 0.4 s."""
    if isinstance(value, str):
        return template(value) if '{' in value else value
    if isinstance(value, list):
        return [lean(item, template) for item in value]
    if isinstance(value, dict):
        return dict((key, lean(item, template)) for key, item in value.items())
    return value


def read(args, host_vars, template):
    """The role's variables (names without the prefix): an option of the task wins; else the host's variable
    ``host_firewall_<name>`` (the role's defaults are among them), else the default. ``template(value)`` renders a
    value that is a template (the action's templar); the task's options are rendered already."""
    unknown = sorted(set(args) - set(DEFAULTS))
    if unknown:
        raise PortwardenError('host_firewall: unknown option(s) %s: allowed are %s.' % (', '.join(unknown), ', '.join(sorted(DEFAULTS))))
    values = {}
    for name, default in DEFAULTS.items():
        if name in args:
            values[name] = args[name]
            continue
        variable = PREFIX + name
        if variable not in host_vars and name == 'services':
            variable = 'portwarden_services'
        try:
            values[name] = lean(host_vars.get(variable, default), template)
        except PortwardenError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            # the templar's own errors (an undefined variable, a syntax error) with the variable named
            raise PortwardenError('%s%s: the value does not render: %s' % (PREFIX, name, str(exc).splitlines()[0] if str(exc) else exc))
    return values


def model(services, items=None, **options):
    """Validate the role's variables (keywords: the names without the prefix; the host_firewall_model filter passes
    what it is given) and return the model the template renders. Raises PortwardenError naming the variable.
    ``items``: the model of these very ``services`` made before (catalogue_cache.py), which is then not made again."""
    guards = dict((key, options.pop(key)) for key in GUARDS if key in options)
    switches = dict((key, options.pop(key)) for key in SWITCHES if key in options)
    scan = dict((key, options.pop(key)) for key in SCAN_OPTIONS if key in options)
    controller = dict((key, options.pop(key)) for key in CONTROLLER if key in options)
    try:
        for key, value in controller.items():
            check_bool(value, PREFIX + key)
        for key, value in [('services', services)] + [(key, scan.get(key, options.get(key))) for key in LISTS]:
            if value is None and (key == 'services' or key in options or key in scan):
                raise PortwardenError('host_firewall_%s: invalid value None: expected a list ([] for none).' % key)
        if guards:
            check_role_paths(**guards)
        if switches:
            check_role_switches(**switches)
        built = build_model(services, items=items, **options)
        built['scan'] = scan_model(
            detect=scan.get('scan_detect', True), threshold=scan.get('scan_threshold', 20),
            window=scan.get('scan_window', 60), ban=scan.get('scan_ban', 600), allow=scan.get('scan_allow'),
            management_sources=options.get('management_sources'), unban=scan.get('unban'))
    except TypeError as exc:
        raise PortwardenError('host_firewall_model: %s' % exc)
    return built


def plan(values, cache=None):
    """Validate every variable (``values`` as :func:`read` returns them) and return the model and the steps'
    arguments (plain values, checked): ``load`` for nft_table (without its content), ``firewalld`` for
    firewalld_policy, and ``install``; ``catalogue_cache`` says how the catalogue's model was made: ``hit`` (taken from
    ``cache``, a catalogue_cache.CatalogueCache, which holds the model of exactly this catalogue), ``miss`` (validated,
    then kept there) or ``off`` (validated, not kept: no cache, ``catalogue_cache`` false, a value that has no key, a
    directory that cannot be used)."""
    # catalogue_cache is checked here, once; model() checks it for the filter, which passes every option
    options = dict((name, values[name]) for name in DEFAULTS if name != 'services' and name not in CONTROLLER)
    use = check_bool(values['catalogue_cache'], PREFIX + 'catalogue_cache') and cache is not None
    key = cache.key(values['services']) if use else None
    items = cache.load(key) if key else None
    if items is not None and not (isinstance(values['services'], list) and len(items) == len(values['services'])):
        items = None                              # one item per entry: anything else is not this catalogue's
    the_model = model(values['services'], items=items, **options)
    persist = check_bool(values['persist'], PREFIX + 'persist')
    scan = the_model['scan']
    load = {
        'family': 'inet', 'name': 'portwarden', 'path': the_model['rules_path'],
        'rollback_timeout': check_role_paths(values['rollback_timeout'], values['state_dir'], values['nftables_conf'],
                                             values['persist']),
        'state_dir': values['state_dir'], 'mode': '0644',
        'enable_service': persist and check_bool(values['enable_service'], PREFIX + 'enable_service'),
        'lock_timeout': values['lock_timeout'],
        'keep_sets': list(BAN_SETS) if scan.get('detect', True) else [],
        'unban': values['unban'], 'backend': values['backend'], 'conflicting': values['conflicting'],
    }
    if persist:
        load['include_in'] = values['nftables_conf'] or 'auto'
    firewalld = {
        'services': values['services'], 'zone': values['firewalld_zone'],
        'management_ports': values['management_ports'], 'management_sources': values['management_sources'],
        'rollback_timeout': load['rollback_timeout'], 'state_dir': values['state_dir'],
    }
    install = check_bool(values['install'], PREFIX + 'install')
    # kept once every variable validated
    how = 'hit' if items is not None else 'miss' if key and cache.store(key, the_model['services']) else 'off'
    return {'model': the_model, 'load': load, 'firewalld': firewalld, 'install': install,
            'filter_published': the_model['filter_published'], 'catalogue_cache': how}


# -- the role's one task -------------------------------------------------------------------------------------------
class _StepFailed(Exception):
    def __init__(self, name, answer):
        super(_StepFailed, self).__init__(answer.get('msg', ''))
        self.name = name
        self.answer = answer


def _note_firewalld(the_plan, answer):
    """Said when the owned service definitions are created (the first run), not on every run."""
    if not (answer.get('changes') or {}).get('create'):
        return None
    return ('firewalld backend, zone %s: scan detection, the log of drops by reason and host_firewall_output_policy are '
            'nftables-backend features and are not applied%s' % (
                answer.get('zone'), '; forwarded (published) container ports are left to the policies of firewalld.'
                if the_plan['filter_published'] else '.'))


def _note_systemd(the_plan, load, check_mode):
    """Said when the table or its boot configuration was written (not again on every run that changes nothing)."""
    if load.get('systemd_running', True) is not False or not load.get('changed'):
        return None
    would = check_mode
    return ('systemd is not running on this host (a container?): nftables.service %s enabled. The table %s and %s %s %s; '
            'load that file at boot by the host\'s own means.' % (
                'would not be' if would else 'was not', 'would be loaded' if would else 'is loaded now',
                load.get('include_file'), 'would include' if would else 'includes', the_plan['load']['path']))


def apply(values, render, run, check_mode=False, cache=None):
    """The role's work; return the task's result.

    ``render(model)`` returns the ruleset (the role's template); ``run(module, args, check_mode)`` runs a module
    through its action plugin and returns its result (``check_mode`` None keeps the task's own); ``cache`` (a
    catalogue_cache.CatalogueCache, or None) may hold the model of this very catalogue (:func:`plan`). The result is the
    last load's (nft_table's keys: backend, stopped, table_changed, include_file, systemd_running, ...), with
    ``ran`` (the steps, in order: load, install, reload, firewalld), ``nft_missing`` (the first load found no nft),
    ``install`` and ``firewalld`` (those steps' results), ``notes`` (also given as warnings) and ``catalogue_cache``
    (how the catalogue's model was made: ``hit``, ``miss`` or ``off``).
    """
    out = {'ran': [], 'notes': [], 'warnings': [], 'deprecations': []}
    try:
        with cyclic_gc_paused():
            the_plan = plan(values, cache)
            content = render(the_plan['model'])
        out['catalogue_cache'] = the_plan['catalogue_cache']
        _steps(out, the_plan, content, run, bool(check_mode))
    except PortwardenError as exc:
        out.update(failed=True, msg=exc.msg)
    except _StepFailed as exc:
        if exc.name in ('install', 'firewalld'):
            # the load's keys stay, the step's result under its own key; what says how the step failed on top
            out[exc.name] = exc.answer
            out.update((key, exc.answer[key]) for key in FAILURE_KEYS if key in exc.answer)
        else:
            out.update(exc.answer)               # nft_table's keys (nft_missing, rolled_back, lock_holder, ...)
        step = '' if exc.name in ('load', 'reload') else 'host_firewall (%s step): ' % exc.name
        out.update(failed=True, msg=step + (exc.answer.get('msg') or 'the %s step failed' % exc.name))
    out['warnings'].extend(out['notes'])
    out['changed'] = bool(out.get('changed')) or any(
        isinstance(out.get(key), dict) and out[key].get('changed') for key in ('install', 'firewalld'))
    if not out['deprecations']:
        del out['deprecations']
    return out


def _step(out, run, name, module, args, check_mode=None, fails=True):
    answer = dict(run(module, args, check_mode))
    out['warnings'].extend(answer.pop('warnings', None) or [])
    out['deprecations'].extend(answer.pop('deprecations', None) or [])
    answer.pop('invocation', None)
    out['ran'].append(name)
    if fails and (answer.get('failed') or answer.get('unreachable')):
        raise _StepFailed(name, answer)
    return answer


def _steps(out, the_plan, content, run, check_mode):
    load_args = dict(the_plan['load'], content=content)
    load = _step(out, run, 'load', 'nft_table', load_args, fails=False)
    if load.get('nft_missing') and the_plan['install'] and (load.get('failed') or load.get('unreachable')):
        out['nft_missing'] = True
        out['install'] = _step(out, run, 'install', 'ansible.builtin.package', {'name': 'nftables', 'state': 'present'})
        if check_mode:
            # In check mode the package is not installed, so there is nothing to load with.
            out.update((k, v) for k, v in load.items() if k not in ('failed', 'msg', 'rc', 'stderr', 'stdout'))
            out['msg'] = 'nftables would be installed (the nft binary is missing); the table is loaded after the install.'
            return
        load = _step(out, run, 'reload', 'nft_table', load_args, fails=False)
    if load.get('failed') or load.get('unreachable'):
        raise _StepFailed(out['ran'][-1], load)
    out.update(load)
    if out.get('nft_missing') is None:
        out['nft_missing'] = False
    note = _note_systemd(the_plan, load, check_mode)
    if note:
        out['notes'].append(note)
    if load.get('backend') == 'firewalld':
        answer = out['firewalld'] = _step(out, run, 'firewalld', 'firewalld_policy', the_plan['firewalld'])
        if answer.get('diff') and not out.get('diff'):
            out['diff'] = answer['diff']
        note = _note_firewalld(the_plan, answer)
        if note:
            out['notes'].append(note)
