# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The port_info module: main() end to end against a fake procfs, failures as
fail_json, and RETURN documenting every key the module returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.portwarden.ports.plugins.module_utils import argspec, backend, portgather, portinfo, portread, report
from ansible_collections.portwarden.ports.plugins.modules import linux_port_info, port_info
from ansible_collections.portwarden.ports.plugins.plugin_utils import port_report

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'module_utils'))
from test_procnet import FakeProc  # noqa: E402
from test_conntrack import write_conntrack  # noqa: E402


@pytest.fixture
def fake_host(tmp_path, monkeypatch):
    proc = FakeProc(tmp_path / 'proc')
    proc.sysctl['ip_local_port_range'] = '40000\t40999'
    proc.add('tcp', ('0.0.0.0', 40100), state='0A', inode=1)
    proc.add('tcp', ('0.0.0.0', 22), state='0A', inode=2)
    proc.add('udp6', ('::', 5353), state='07', inode=3)
    for i in range(30):
        proc.add('tcp', ('10.0.0.1', 40200 + i), ('10.0.0.9', 443), '06' if i < 6 else '01')
    proc.process(77, 'api', [1])
    root = proc.write()
    write_conntrack(root, 500, 1000)
    monkeypatch.setattr(backend, 'system', lambda: 'Linux')
    monkeypatch.setattr(portgather.platform, 'system', lambda: 'Linux')
    monkeypatch.setattr(portread.platform, 'system', lambda: 'Linux')
    monkeypatch.setattr(portgather, 'PROC', str(root))  # the modules read this tree,
    monkeypatch.setattr(portread, 'PROC', str(root))    # in their reading thread too
    return proc


def run(args, capsys, check_mode=False, module=port_info):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_report(fake_host, capsys):
    result = run({'processes': True, 'services': [{'name': 'ssh', 'port': 22}], 'top': 1}, capsys)
    assert result['changed'] is False
    assert 'failed' not in result
    assert result['ephemeral_range'] == {'start': 40000, 'end': 40999, 'size': 1000}
    assert result['listeners'][0] == {'proto': 'tcp', 'family': 'ipv4', 'address': '0.0.0.0', 'port': 22, 'scope': 'any',
                                      'pid': None, 'process': None}
    assert [(c['type'], c['port']) for c in result['conflicts']] == [
        ('listener_in_range', 40100), ('listener_not_declared', 5353), ('listener_not_declared', 40100)]
    assert result['conflicts'][0]['processes'] == ['api']
    busiest = result['usage']['busiest']
    assert [(b['address'], b['port'], b['ports_in_use'], b['time_wait']) for b in busiest] == [('10.0.0.9', 443, 30, 6)]


def test_check_mode_reports_the_same(fake_host, capsys):
    assert run({}, capsys, check_mode=True) == run({}, capsys)


def test_invalid_catalogue_fails_cleanly(fake_host, capsys):
    result = run({'services': [{'name': 'web', 'port': '80-70'}]}, capsys)
    assert result['failed'] is True
    assert result['msg'] == ("service #0 (web): field port: Invalid port range '80-70': the start (80) is greater "
                             "than the end (70).")
    assert 'exception' not in result


@pytest.mark.parametrize('module', [port_info, linux_port_info])
def test_invalid_top_fails_cleanly(fake_host, capsys, module):
    """The same refusal from the host's own check (linux_port_info carries no report.py) as from the report's."""
    result = run({'top': -2}, capsys, module=module)
    assert result['failed'] is True
    assert result['msg'] == 'Invalid top -2: expected a whole number of destinations, 0 or more.'
    assert 'exception' not in result


def test_non_linux_fails_cleanly(capsys, monkeypatch):
    monkeypatch.setattr(backend, 'system', lambda: 'SunOS')
    monkeypatch.setattr(portgather.platform, 'system', lambda: 'SunOS')
    result = run({}, capsys)
    assert result['failed'] is True
    assert 'does not support SunOS' in result['msg']


# ---------------------------------------------------------------- documentation

def _documented(spec):
    """{key: contains-spec or None} of one RETURN level."""
    return dict((key, value.get('contains')) for key, value in spec.items())


def _check(value, spec, where, missing):
    if isinstance(value, list):
        for item in value:
            _check(item, spec, where + '[]', missing)
        return
    if not isinstance(value, dict) or spec is None:
        return
    documented = _documented(spec)
    for key, sub in value.items():
        if key not in documented:
            missing.append('%s.%s' % (where, key))
        elif documented[key] is not None:
            _check(sub, documented[key], '%s.%s' % (where, key), missing)


def test_return_documents_every_key(fake_host, capsys):
    ret = yaml.safe_load(port_info.RETURN)
    missing = []
    args = {'processes': True, 'top': 5, 'conntrack_warn_percent': 50,
            'services': [{'name': 'ssh', 'port': 22}, {'name': 'api', 'port': '40100-40101'}, {'name': 'gone', 'port': 9}]}
    result = run(args, capsys)
    kinds = set(c['type'] for c in result['conflicts'])
    # every kind of conflict a Linux host can have is exercised (service_port_held: Windows only, in test_windows.py)
    assert kinds == set(report.CONFLICT_ORDER) - {'service_port_held'}
    result.pop('changed')
    result.pop('invocation', None)  # added by AnsibleModule, not by the module
    _check(result, ret, 'result', missing)
    assert missing == []
    assert set(['ephemeral_range', 'unprivileged_port_start', 'reserved_ports', 'listeners', 'conflicts', 'usage']) <= set(ret)


def test_options_documented_as_specified():
    doc = yaml.safe_load(port_info.DOCUMENTATION)
    options = doc['options']
    assert sorted(options) == ['conntrack_warn_percent', 'processes', 'services', 'top']
    assert sorted(options) == sorted(argspec.PORT_INFO)
    assert (options['conntrack_warn_percent']['type'], options['conntrack_warn_percent']['default']) == ('int', 80)
    assert (options['processes']['type'], options['processes']['default']) == ('bool', False)
    assert (options['services']['type'], options['services']['elements']) == ('list', 'dict')
    assert (options['top']['type'], options['top']['default']) == ('int', 10)
    assert doc['attributes']['check_mode']['support'] == 'full'


def test_the_gathering_module_takes_port_infos_options_but_those_of_the_conflicts():
    """linux_port_info, which the action runs on Linux: port_info's options and defaults, without the catalogue and
    the conntrack threshold (the controller builds the conflicts)."""
    options = yaml.safe_load(linux_port_info.DOCUMENTATION)['options']
    assert sorted(options) == sorted(argspec.PORT_INFO_GATHER) == ['processes', 'top']
    whole = yaml.safe_load(port_info.DOCUMENTATION)['options']
    for name, option in options.items():
        assert (option['type'], option.get('default')) == (whole[name]['type'], whole[name].get('default')), name
    assert list(yaml.safe_load(linux_port_info.RETURN)) == ['gathered']   # counts: the controller builds the report


def test_return_follows_the_report_schema():
    """RETURN's top-level keys are exactly report.py's schema (the keys of every OS plus each OS's extras)."""
    ret = yaml.safe_load(port_info.RETURN)
    assert sorted(ret) == sorted(list(report.KEYS) + list(report.EXTRA_KEYS))
    for key in report.KEYS:
        assert ret[key]['returned'] == 'success', key
    for key, systems in report.EXTRA_KEYS.items():
        assert ret[key]['returned'] == 'on %s' % systems, key


def test_report_builder_refuses_keys_outside_the_schema():
    from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
    from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
    with pytest.raises(PortwardenError, match='unknown report keys extra'):
        report.build(PortRange(1024, 2047), PortSet(), [], [], {}, 1024, extra=1)


def test_return_documents_the_windows_conflicts():
    """A Windows report with a held row (netsh_plan, through a scripted netsh) has only documented keys."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'module_utils'))
    from test_windows import FakeNetsh  # noqa: E402  pylint: disable=import-error
    from ansible_collections.portwarden.ports.plugins.plugin_utils import netsh_plan
    fake = FakeNetsh(excluded={('ipv4', 'tcp'): [(50000, 50059, False)]},
                     sockets='  TCP    0.0.0.0:50010          0.0.0.0:0              LISTENING       2840\r\n')
    result = netsh_plan.port_info(fake, services=[{'name': 'api', 'port': 50020}])
    assert sorted(c['type'] for c in result['conflicts']) == ['listener_not_declared', 'service_not_listening',
                                                              'service_port_held', 'service_port_held']
    missing = []
    _check(result, yaml.safe_load(port_info.RETURN), 'result', missing)
    assert missing == []


# ---------------------------------------------------------------- gathered on the host, finished on the controller

@pytest.mark.parametrize('args', [
    {},
    {'processes': True, 'top': 1, 'services': [{'name': 'ssh', 'port': 22}]},
    {'conntrack_warn_percent': 50, 'services': [{'name': 'ssh', 'port': 22}, {'name': 'api', 'port': '40100-40101'},
                                                {'name': 'gone', 'port': 9}]},
    {'services': []},
])
def test_gathered_and_finished_on_the_controller_is_the_same_report(fake_host, capsys, args):
    """What the action plugin returns on Linux (linux_port_info, then port_report on the controller) is the report
    the port_info module builds on the host by itself (with async, and what port_metrics runs)."""
    whole = run(args, capsys)
    request = port_report.Request(dict({'processes': False, 'services': None, 'top': 10, 'conntrack_warn_percent': 80},
                                       **args))
    gathered = run(request.module_args(), capsys, module=linux_port_info)
    assert sorted(gathered) == ['changed', 'gathered', 'invocation']
    assert 'services' not in gathered['invocation']['module_args']
    for key in ('conflicts', 'busiest', 'scope'):  # the report is built on the controller
        assert key not in json.dumps(gathered['gathered']), key
    finished = request.finish(gathered)
    # the options as the task gave them, as the port_info module echoes them
    assert finished.pop('invocation')['module_args'] == whole.pop('invocation')['module_args']
    assert finished == whole
    assert list(finished)[:len(report.KEYS)] == list(report.KEYS)


def test_a_failed_answer_is_returned_as_it_is():
    request = port_report.Request({'processes': False, 'services': None, 'top': 10, 'conntrack_warn_percent': 80})
    answer = {'failed': True, 'msg': 'Cannot read /proc/sys/net/ipv4/ip_local_port_range: denied.'}
    assert request.finish(dict(answer)) == answer


LOADED = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.portwarden.ports.plugins.module_utils import portgather
from ansible_collections.portwarden.ports.plugins.module_utils.portset import PortRange, PortSet
erange, reserved = PortRange(40000, 40999), PortSet()
tables = (erange, reserved, 1024, portgather.portread.Counted.of(portgather.procnet.Scan(), erange, reserved))
if sys.argv[3] == 'whole':
    from ansible_collections.portwarden.ports.plugins.module_utils import portinfo
    result = portinfo.collect(tables, proc=sys.argv[2])
else:
    result = portgather.collect(tables, proc=sys.argv[2])
print(json.dumps(['conflicts' in result] + sorted(m.rsplit('.', 1)[-1] for m in sys.modules if '.portwarden.' in m)))
'''


@pytest.mark.parametrize('mode', ['gathered', 'whole'])
def test_the_gathered_report_loads_no_conflict_or_catalogue_code(tmp_path, mode):
    """linux_port_info's code (portgather.py) loads none of the conflicts' code; the whole report does."""
    root = FakeProc(tmp_path / 'proc').write()
    collections = os.path.abspath(portinfo.__file__).split(os.sep + 'ansible_collections' + os.sep)[0]
    out = subprocess.run([sys.executable, '-c', LOADED, collections, str(root), mode], capture_output=True, text=True,
                         check=True).stdout
    loaded = json.loads(out)
    assert loaded[0] is (mode == 'whole')
    for name in ('conflicts', 'catalogue'):
        assert (name in loaded) is (mode == 'whole'), name
