# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The three action plugins: which path they take, what they pass on, and that
their Windows argument specs match the modules' documentation."""

from __future__ import annotations

import functools
import importlib
import json
import os
import subprocess
import sys
from unittest import mock

import pytest
import yaml

from ansible.plugins.shell.cmd import ShellModule as CmdShell
from ansible.plugins.shell.powershell import ShellModule as PowerShell
from ansible.plugins.shell.sh import ShellModule as ShShell

from ansible_collections.portwarden.ports.plugins.module_utils import backend
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import netsh_action

NAMES = ('ephemeral_range', 'reserved_ports', 'port_info')


def action_module(name):
    return importlib.import_module('ansible_collections.portwarden.ports.plugins.action.%s' % name)


@functools.lru_cache(maxsize=None)
def module_doc(name):
    """The module's documentation as ansible-doc shows it, with the doc fragments merged in."""
    collections = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '.build', 'collections'))
    ansible_doc = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections)
    out = subprocess.run([ansible_doc, '-j', 'portwarden.ports.' + name], capture_output=True, text=True, env=env,
                         check=True).stdout
    return json.loads(out)['portwarden.ports.' + name]['doc']


@pytest.mark.parametrize('name', NAMES)
def test_shared_options_come_from_the_doc_fragments(name):
    doc = module_doc(name)
    module = importlib.import_module('ansible_collections.portwarden.ports.plugins.modules.%s' % name)
    own = yaml.safe_load(module.DOCUMENTATION)
    assert 'portwarden.ports.platforms' in own['extends_documentation_fragment']
    assert any('netsh' in note and 'no module code is sent' in note for note in doc['notes'])
    if name != 'port_info':
        assert {'portwarden.ports.tables', 'portwarden.ports.persist'} <= set(own['extends_documentation_fragment'])
        for option in ('protocol', 'family', 'persist', 'sysctl_file'):
            assert option in doc['options'] and option not in own['options']
        assert 'default' not in doc['options']['sysctl_file']


@pytest.mark.parametrize('name', NAMES)
def test_windows_spec_matches_module_documentation(name):
    spec = action_module(name).ActionModule.ARGUMENT_SPEC
    options = module_doc(name)['options']
    assert sorted(spec) == sorted(options)
    for option, doc in options.items():
        mine = spec[option]
        assert mine.get('type', 'str') == doc.get('type', 'str'), option
        assert mine.get('default') == doc.get('default'), option
        assert mine.get('choices') == doc.get('choices'), option
        assert bool(mine.get('required')) == bool(doc.get('required')), option
        assert mine.get('elements') == doc.get('elements'), option


def test_shell_detection():
    assert netsh_action.is_windows_shell(PowerShell())
    assert netsh_action.is_windows_shell(CmdShell())
    assert not netsh_action.is_windows_shell(ShShell())


def make_action(name, shell, args, check_mode=False, diff=False):
    task = mock.MagicMock()
    task.args = dict(args)
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = 'portwarden.ports.' + name
    task.delegate_to = None
    connection = mock.MagicMock()
    connection._shell = shell
    connection.has_native_async = False
    plugin = action_module(name).ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                              mock.MagicMock())
    return plugin


DYN = '\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\nStart Port      : 49152\r\nNumber of Ports : 16384\r\n'
EXCL = ('\r\nProtocol tcp Port Exclusion Ranges\r\n\r\nStart Port    End Port\r\n----------    --------\r\n'
        '     50000       50059     *\r\n\r\n* - Administered port exclusions.\r\n')


def test_windows_path_runs_netsh_through_the_connection():
    plugin = make_action('ephemeral_range', PowerShell(), {'start': 49152, 'end': 65535, 'protocol': 'tcp', 'family': 'ipv4'},
                         diff=True)
    answers = {'netsh interface ipv4 show dynamicportrange protocol=tcp': DYN,
               'netsh interface ipv4 show excludedportrange protocol=tcp': EXCL}
    plugin._low_level_execute_command = mock.MagicMock(side_effect=lambda line: {'rc': 0, 'stdout': answers[line],
                                                                                 'stderr': ''})
    plugin._execute_module = mock.MagicMock()
    result = plugin.run(task_vars={})
    assert result['changed'] is False
    assert result['diff'][0]['before_header'] == 'dynamicportrange ipv4/tcp'
    assert result['ephemeral_range'] == {'start': 49152, 'end': 65535, 'size': 16384}
    assert result['reserved_ports'] == {'ports': '50000-50059', 'list': ['50000-50059']}
    assert [c.args[0] for c in plugin._low_level_execute_command.call_args_list] == [
        'netsh interface ipv4 show excludedportrange protocol=tcp', 'netsh interface ipv4 show dynamicportrange protocol=tcp']
    plugin._execute_module.assert_not_called()


def test_windows_path_failure_is_a_failed_result():
    plugin = make_action('ephemeral_range', PowerShell(), {'start': 1024, 'end': 65535})
    plugin._low_level_execute_command = mock.MagicMock()
    result = plugin.run(task_vars={})
    assert result['failed'] and 'below 1025' in result['msg']
    plugin._low_level_execute_command.assert_not_called()


def test_windows_path_validates_arguments():
    plugin = make_action('reserved_ports', PowerShell(), {'ports': ['9100'], 'state': 'gone'})
    from ansible.errors import AnsibleActionFail
    with pytest.raises(AnsibleActionFail) as err:
        plugin.run(task_vars={})
    assert 'state' in str(err.value)


def posix_action(name, answers, args=None, async_val=0):
    """An action on a POSIX target whose module runs answer from ``answers`` in turn."""
    if args is None:
        args = {} if name == 'port_info' else {'whatever': 1}  # port_info's action checks its options on Linux
    plugin = make_action(name, ShShell(), args, check_mode=True)
    plugin._task.async_val = async_val
    plugin._execute_module = mock.MagicMock(side_effect=list(answers))
    plugin._low_level_execute_command = mock.MagicMock()
    plugin._remove_tmp_path = mock.MagicMock()
    return plugin


def ran(plugin):
    return [c.kwargs['module_name'] for c in plugin._execute_module.call_args_list]


def linux_module(name):
    """What runs on Linux: the module itself, but port_info's gathering module (the controller adds the conflicts)."""
    return 'portwarden.ports.' + ('linux_port_info' if name == 'port_info' else name)


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('task_vars', [{'a': 1}, {'ansible_facts': {'system': 'Linux'}}, {'ansible_system': 'Linux'}])
def test_linux_and_unknown_targets_run_the_linux_module_once(name, task_vars):
    """Linux pays nothing: one call, of the module itself, with the task's own arguments."""
    plugin = posix_action(name, [{'changed': True, 'x': 1}])
    result = plugin.run(task_vars=task_vars)
    assert result['changed'] is True and result['x'] == 1
    extra = {}
    if name == 'port_info':  # the catalogue and the conntrack threshold stay on the controller, which builds the conflicts
        extra['module_args'] = {'processes': False, 'top': 10}
    plugin._execute_module.assert_called_once_with(module_name=linux_module(name), task_vars=task_vars,
                                                   wrap_async=0, **extra)
    plugin._low_level_execute_command.assert_not_called()


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('task_vars', [{'ansible_facts': {'system': 'FreeBSD'}}, {'ansible_system': 'Darwin'},
                                       {'ansible_facts': {'system': 'Darwin'}, 'ansible_system': 'Darwin'}])
def test_facts_of_freebsd_or_macos_run_the_bsd_module(name, task_vars):
    plugin = posix_action(name, [{'changed': False, 'y': 2}])
    result = plugin.run(task_vars=task_vars)
    assert result['y'] == 2 and 'failed' not in result
    assert ran(plugin) == ['portwarden.ports.bsd_' + name]


def refusal(monkeypatch, system, module):
    """What the Linux module answers on a host of another system (backend.check_system, fail_json's keys)."""
    monkeypatch.setattr(backend, 'system', lambda: system)
    with pytest.raises(PortwardenError) as err:
        backend.check_system(module, 'linux')
    return dict(err.value.details, failed=True, msg=err.value.msg)


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('system', ['FreeBSD', 'Darwin'])
def test_unknown_target_that_is_bsd_runs_the_bsd_module_once_more(monkeypatch, name, system):
    """Without facts the Linux module runs; its answer names the system and the BSD module runs in its place."""
    marker = refusal(monkeypatch, system, name)
    assert 'portwarden.ports.bsd_%s' % name in marker['msg'] and marker[backend.SYSTEM_KEY] == system
    plugin = posix_action(name, [marker, {'changed': False, 'ephemeral_range': {'start': 1, 'end': 2, 'size': 2}}])
    result = plugin.run(task_vars={})
    assert ran(plugin) == [linux_module(name), 'portwarden.ports.bsd_' + name]
    assert 'failed' not in result and backend.SYSTEM_KEY not in result and result['ephemeral_range']['start'] == 1
    plugin._remove_tmp_path.assert_called_once()


@pytest.mark.parametrize('name', NAMES)
def test_stale_facts_are_corrected_once(name):
    """Facts that say FreeBSD on a Linux host: the BSD module's refusal names Linux, the Linux module runs."""
    plugin = posix_action(name, [{'failed': True, 'msg': 'no', backend.SYSTEM_KEY: 'Linux'}, {'changed': False}])
    result = plugin.run(task_vars={'ansible_system': 'FreeBSD'})
    assert ran(plugin) == ['portwarden.ports.bsd_' + name, 'portwarden.ports.' + name]
    assert 'failed' not in result


@pytest.mark.parametrize('answer', [{'failed': True, 'msg': 'port_info does not support SunOS', 'portwarden_system': 'SunOS'},
                                    {'failed': True, 'msg': 'Cannot read net.ipv4.ip_local_port_range'},
                                    {'failed': True, 'msg': 'again', 'portwarden_system': 'Linux'}])
def test_other_failures_are_returned_as_they_are(answer):
    """No second run for an unsupported system, a failure without the marker, or a marker naming the module's own OS."""
    plugin = posix_action('port_info', [dict(answer)])
    result = plugin.run(task_vars={})
    assert ran(plugin) == ['portwarden.ports.linux_port_info']
    assert result['failed'] and result['msg'] == answer['msg']


def test_delegated_task_ignores_the_facts_of_the_inventory_host():
    plugin = posix_action('reserved_ports', [{'changed': False}])
    plugin._task.delegate_to = 'elsewhere'
    plugin.run(task_vars={'ansible_system': 'FreeBSD'})
    assert ran(plugin) == ['portwarden.ports.reserved_ports']


def test_async_takes_the_facts_and_never_runs_twice():
    """With async the module's answer is the job, not its result: the choice comes from the facts alone."""
    plugin = posix_action('ephemeral_range', [{'started': 1, 'ansible_job_id': 'j1'}], async_val=30)
    result = plugin.run(task_vars={'ansible_facts': {'system': 'FreeBSD'}})
    assert ran(plugin) == ['portwarden.ports.bsd_ephemeral_range'] and result['ansible_job_id'] == 'j1'
    assert plugin._execute_module.call_args.kwargs['wrap_async']
    plugin = posix_action('ephemeral_range', [{'failed': True, 'msg': 'x', 'portwarden_system': 'FreeBSD'}], async_val=30)
    plugin.run(task_vars={})
    assert ran(plugin) == ['portwarden.ports.ephemeral_range']


@pytest.mark.parametrize('async_val, task_vars', [(30, {'ansible_system': 'Linux'}), (0, {'ansible_system': 'FreeBSD'})])
def test_port_info_bad_catalogue_fails_before_async_or_bsd_modules_run(async_val, task_vars):
    plugin = posix_action('port_info', [], args={'services': [{'name': 'web', 'port': 0}]}, async_val=async_val)
    result = plugin.run(task_vars=task_vars)
    assert result['failed'] is True and 'service #0 (web): field port' in result['msg'] and 'exception' not in result
    plugin._execute_module.assert_not_called()


def test_port_info_with_async_leaves_the_whole_report_to_the_module():
    """With async the answer comes back through async_status, not this plugin: the module gets the task's arguments."""
    plugin = posix_action('port_info', [{'started': 1, 'ansible_job_id': 'j2'}], args={'services': [{'name': 'ssh', 'port': 22}]},
                          async_val=30)
    result = plugin.run(task_vars={'ansible_system': 'Linux'})
    assert result['ansible_job_id'] == 'j2'
    assert 'module_args' not in plugin._execute_module.call_args.kwargs and plugin._execute_module.call_args.kwargs['wrap_async']
    assert ran(plugin) == ['portwarden.ports.port_info']   # the module that builds the whole report on the host


@pytest.mark.parametrize('services, words', [
    ([{'name': 'web', 'port': '80-70'}], ['service #0 (web)', 'field port', "'80-70'"]),
    ([{'name': 'ssh', 'port': 22}, {'name': 'db', 'port': 5432, 'sources': ['10.0.0.1/8']}],
     ['service #1 (db)', 'field sources', "'10.0.0.1/8'"]),
    ([{'name': 'ssh', 'port': 22, 'colour': 'red'}], ['service #0 (ssh)', 'unknown field(s) colour']),
])
def test_port_info_bad_catalogue_fails_on_the_controller(services, words):
    """A bad entry fails the task naming the entry and the field, before any module runs, without a traceback."""
    plugin = posix_action('port_info', [], args={'services': services})
    result = plugin.run(task_vars={'ansible_system': 'Linux'})
    assert result['failed'] is True and 'exception' not in result
    for word in words:
        assert word in result['msg'], (word, result['msg'])
    plugin._execute_module.assert_not_called()


@pytest.mark.parametrize('args, word', [({'top': -1}, 'Invalid top -1'), ({'conntrack_warn_percent': 0}, 'conntrack_warn_percent 0')])
def test_port_info_bad_option_fails_on_the_controller(args, word):
    plugin = posix_action('port_info', [], args=args)
    result = plugin.run(task_vars={})
    assert result['failed'] is True and word in result['msg']
    plugin._execute_module.assert_not_called()
