# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/firewalld.py: the desired state, listings, the plan (owned entries only) and the failure path
(firewall-cmd replaced by a fake at run_command; the restore code runs for real on a temporary config dir)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import firewalld
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

LIST_ALL = ''.join(line + '\n' for line in [   # firewall-cmd prints a blank after each empty field's colon
    'public (active)',
    '  target: default',
    '  icmp-block-inversion: no',
    '  interfaces: eth0',
    '  sources: ',
    '  services: dhcpv6-client http portwarden-old ssh',
    '  ports: 7000/tcp',
    '  protocols: ',
    '  forward: yes',
    '  masquerade: no',
    '  forward-ports: ',
    '  source-ports: ',
    '  icmp-blocks: ',
    '  rich rules: ',
    '\trule family="ipv4" source address="192.0.2.0/24" port port="5000" protocol="tcp" accept',
    '\trule family="ipv4" source address="10.0.0.0/8" service name="portwarden-old" accept',
])


def test_desired_state_services_rules_names_and_rate_warning():
    defs, zone, rules, warnings = firewalld.desired_state([
        {'name': 'web', 'port': 443},
        {'name': 'ssh', 'port': 22, 'sources': ['10.0.0.0/8', '2001:db8::/32'], 'rate_limit': '10/minute'},
        {'name': 'dns', 'port': 53, 'proto': 'udp'}, {'name': 'dns', 'port': 53, 'proto': 'tcp'},
        {'name': 'np', 'port': '30000-32767', 'rate_limit': '5/second'},
    ], management_ports=[22, '2222-2223'], management_sources=[])
    assert sorted(defs) == ['portwarden-dns-tcp', 'portwarden-dns-udp', 'portwarden-management', 'portwarden-np',
                            'portwarden-ssh', 'portwarden-web']
    assert defs['portwarden-np']['ports'] == [('30000-32767', 'tcp')]
    assert defs['portwarden-management']['ports'] == [('22', 'tcp'), ('2222-2223', 'tcp')]
    assert zone == {'portwarden-web', 'portwarden-dns-tcp', 'portwarden-dns-udp', 'portwarden-management'}
    assert rules == {
        'rule family="ipv4" source address="10.0.0.0/8" service name="portwarden-ssh" accept limit value="10/m"',
        'rule family="ipv6" source address="2001:db8::/32" service name="portwarden-ssh" accept limit value="10/m"',
        'rule service name="portwarden-np" accept limit value="5/s"',
    }
    assert len(warnings) == 2 and 'shared by all its sources' in warnings[0]


def test_management_sources_become_rich_rules():
    _defs, zone, rules, _w = firewalld.desired_state([], [22], ['192.0.2.7/32'])
    assert zone == set()
    assert rules == {'rule family="ipv4" source address="192.0.2.7/32" service name="portwarden-management" accept'}


@pytest.mark.parametrize('services, ports, sources, match', [
    ([{'name': 'x', 'port': 70000}], [], [], r'host_firewall_services: .*x.*port'),
    ([], ['ssh'], [], 'host_firewall_management_ports'),
    ([], [22], ['10.0.0.1/8'], 'host_firewall_management_sources'),
])
def test_bad_input_names_the_variable(services, ports, sources, match):
    with pytest.raises(PortwardenError, match=match):
        firewalld.desired_state(services, ports, sources)


def test_parse_list_all():
    zone = firewalld.parse_list_all(LIST_ALL)
    assert zone['services'] == ['dhcpv6-client', 'http', 'portwarden-old', 'ssh']
    assert zone['ports'] == ['7000/tcp']
    assert zone['sources'] == []
    assert len(zone['rich rules']) == 2


class FakeFw(object):
    """A Firewalld stand-in: zone listings and runtime service ports recorded; commands logged."""

    def __init__(self, tmp_path, runtime=LIST_ALL, permanent=LIST_ALL, runtime_ports=None, fail_on=None):
        self.zone = 'public'
        self.cmd = '/usr/bin/firewall-cmd'
        self.config_dir = str(tmp_path / 'etc')
        self.state_dir = str(tmp_path / 'state')
        os.makedirs(os.path.join(self.config_dir, 'zones'))
        os.makedirs(os.path.join(self.config_dir, 'services'))
        self.listing = {False: runtime, True: permanent}
        self.ports = runtime_ports or {}
        self.fail_on = fail_on
        self.calls = []

    zone_file = firewalld.Firewalld.zone_file
    service_file = firewalld.Firewalld.service_file
    owned_definitions = firewalld.Firewalld.owned_definitions
    read = firewalld.Firewalld.read

    def zone_state(self, permanent):
        return firewalld.parse_list_all(self.listing[permanent])

    def runtime_ports(self, name):
        return self.ports.get(name)

    def run(self, args, permanent=False):
        call = (['--permanent'] if permanent else []) + list(args)
        self.calls.append(call)
        if '--new-service' in call:          # firewalld writes the new definition's file at once
            _write(self.service_file(call[-1]), '<service/>')
        if self.fail_on and self.fail_on in call:
            raise PortwardenError('firewall-cmd %s failed (rc=1): boom' % ' '.join(call))
        return 'success'


def _write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def test_plan_touches_owned_entries_only(tmp_path):
    fw = FakeFw(tmp_path)
    _write(fw.service_file('portwarden-old'), '<service><port port="9000" protocol="tcp"/></service>')
    current = fw.read()
    defs, zone, rules, _w = firewalld.desired_state([{'name': 'web', 'port': 443}])
    changes = firewalld.plan(fw, current, defs, zone, rules)
    assert changes['create'] == ['portwarden-web'] and changes['delete'] == ['portwarden-old']
    assert changes['reload']
    for where in ('runtime', 'permanent'):
        assert changes[where] == {'add_services': ['portwarden-web'], 'remove_services': ['portwarden-old'],
                                  'add_rules': [], 'remove_rules': [
                                      'rule family="ipv4" source address="10.0.0.0/8" service name="portwarden-old" accept']}


def test_plan_without_change_and_without_reload(tmp_path):
    listing = LIST_ALL.replace('portwarden-old ssh', 'portwarden-web ssh').replace(
        '\trule family="ipv4" source address="10.0.0.0/8" service name="portwarden-old" accept\n', '')
    fw = FakeFw(tmp_path, listing, listing, runtime_ports={'portwarden-web': ['443/tcp']})
    _write(fw.service_file('portwarden-web'), '<service><port port="443" protocol="tcp"/></service>')
    defs, zone, rules, _w = firewalld.desired_state([{'name': 'web', 'port': 443}])
    result = firewalld.apply_policy(fw, [{'name': 'web', 'port': 443}], [], [], 0, 'ab12cd34', False)
    assert not result['changed'] and fw.calls == []
    # The runtime lost the definition (permanent changed without a reload): a reload is planned.
    fw.ports = {}
    assert firewalld.plan(fw, fw.read(), defs, zone, rules)['reload']


def test_check_mode_changes_nothing(tmp_path):
    fw = FakeFw(tmp_path)
    result = firewalld.apply_policy(fw, [{'name': 'web', 'port': 443}], [22], [], 30, 'ab12cd34', True)
    assert result['changed'] and fw.calls == []
    assert 'zone service portwarden-web' in result['diff']['after']
    assert not os.path.exists(fw.state_dir)


def test_reload_keeps_runtime_only_foreign_entries(tmp_path):
    runtime = LIST_ALL.replace('ports: 7000/tcp', 'ports: 7000/tcp 7777/tcp')
    fw = FakeFw(tmp_path, runtime=runtime)
    result = firewalld.apply_policy(fw, [{'name': 'web', 'port': 443}], [], [], 0, 'ab12cd34', False)
    assert result['changed']
    assert fw.calls.index(['--reload']) < fw.calls.index(['--zone', 'public', '--add-port', '7777/tcp'])
    assert ['--permanent', '--new-service', 'portwarden-web'] in fw.calls
    assert ['--permanent', '--service', 'portwarden-web', '--add-port', '443/tcp'] in fw.calls
    # Runtime changes were not made one by one: the reload brought the permanent configuration in.
    assert ['--zone', 'public', '--add-service', 'portwarden-web'] not in fw.calls


def test_failure_half_way_puts_the_copies_back(tmp_path, monkeypatch):
    fw = FakeFw(tmp_path, fail_on='--add-port')
    zone_xml = '<?xml version="1.0"?>\n<zone><service name="ssh"/></zone>\n'
    _write(fw.zone_file(), zone_xml)
    # The restore really runs (same interpreter); its reload goes to a stand-in firewall-cmd that logs.
    log = tmp_path / 'restore.log'
    fake = tmp_path / 'firewall-cmd'
    _write(str(fake), '#!/bin/sh\necho "$@" >> %s\necho success\n' % log)
    os.chmod(str(fake), 0o755)
    fw.cmd = str(fake)
    # Stand-in for what firewalld would have written before the failure.
    _write(fw.zone_file(), zone_xml.replace('ssh', 'ssh"/><service name="portwarden-web'))
    monkeypatch.setattr(firewalld, 'read_text', lambda path, real=firewalld.read_text: (
        zone_xml if path == fw.zone_file() else real(path)))
    with pytest.raises(PortwardenError, match='boom.*previous firewalld configuration was put back'):
        firewalld.apply_policy(fw, [{'name': 'web', 'port': 443}], [], [], 30, 'ab12cd34', False)
    assert ['--permanent', '--new-service', 'portwarden-web'] in fw.calls
    assert not os.path.exists(fw.service_file('portwarden-web'))   # created by the change: removed again
    with open(fw.zone_file()) as handle:
        assert handle.read() == zone_xml
    assert log.read_text().splitlines()[0] == '--reload'
    assert os.listdir(fw.state_dir) == []
