# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/managers.py: detection from recorded command output, and the backend choice."""

from __future__ import annotations

import json

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import firewall_choice, managers
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError

DOCKER_CHAINS = {'nftables': [
    {'metainfo': {'version': '1.0.6'}},
    {'chain': {'family': 'ip', 'table': 'filter', 'name': 'FORWARD', 'type': 'filter', 'hook': 'forward'}},
    {'chain': {'family': 'ip', 'table': 'filter', 'name': 'DOCKER-USER'}},
    {'chain': {'family': 'ip', 'table': 'nat', 'name': 'DOCKER'}},
    {'chain': {'family': 'ip', 'table': 'kube-proxy', 'name': 'services'}},
    {'chain': {'family': 'inet', 'table': 'portwarden', 'name': 'input', 'type': 'filter', 'hook': 'input'}},
    {'chain': {'family': 'inet', 'table': 'firewalld', 'name': 'filter_INPUT', 'type': 'filter', 'hook': 'input'}},
]}


class Host(object):
    """Recorded answers per argv (joined with spaces); binaries that exist; files."""

    def __init__(self, answers, binaries, files=None, systemd=True):
        self.answers = answers
        self.binaries = binaries
        self.files = files or {}
        self.systemd = systemd
        self.calls = []

    def run(self, argv):
        self.calls.append(argv)
        return self.answers.get(' '.join(argv), (1, '', 'not recorded'))

    def which(self, name):
        return '/usr/sbin/' + name if name in self.binaries else None

    def exists(self, path):
        return self.systemd and path == managers.SYSTEMD_RUNNING

    def read(self, path):
        return self.files.get(path)

    def detect(self):
        return managers.detect(self.run, self.which, exists=self.exists, read=self.read)


def firewalld_host(active=True, enabled=True):
    return Host({
        '/usr/sbin/systemctl is-active firewalld.service': (0, 'active\n', '') if active else (3, 'inactive\n', ''),
        '/usr/sbin/systemctl is-enabled firewalld.service': (0, 'enabled\n', '') if enabled else (1, 'disabled\n', ''),
        '/usr/sbin/firewall-cmd --state': (0, 'running\n', '') if active else (252, 'not running\n', ''),
        '/usr/sbin/nft -j list chains': (0, json.dumps(DOCKER_CHAINS), ''),
        '/usr/sbin/nft -j list tables': (0, '{"nftables": []}', ''),
    }, ['systemctl', 'firewall-cmd', 'nft'])


def test_detects_firewalld_docker_kube_proxy_and_own_table():
    report = firewalld_host().detect()
    names = [item['name'] for item in report['managers']]
    assert names == ['firewalld', 'docker', 'kube-proxy']      # firewalld's own table folded into firewalld
    assert report['managers'][0]['active'] and report['managers'][0]['enabled']
    assert report['backend'] == 'nftables'
    assert report['filtering_input'] == ['portwarden', 'firewalld']
    assert 'portwarden and firewalld all filter' in managers.two_filters_warning(report)
    assert not [item for item in report['managers'] if item['name'] == 'docker'][0]['filters_input']


def test_ufw_active_and_legacy_rules():
    host = Host({
        '/usr/sbin/ufw status': (0, 'Status: active\n\nTo Action From\n', ''),
        '/usr/sbin/iptables-legacy-save': (0, '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n', ''),
    }, ['ufw', 'iptables-legacy-save'], files={managers.UFW_CONF: 'ENABLED=yes\n', '/proc/net/ip_tables_names': 'filter\n'},
        systemd=False)
    report = host.detect()
    assert [(m['name'], m['active']) for m in report['managers']] == [('ufw', True), ('iptables-legacy', True)]
    assert report['managers'][1]['detail'] == 'rules in iptables filter'
    assert report['backend'] is None
    assert report['filtering_input'] == ['ufw', 'iptables-legacy']


def test_legacy_tables_not_loaded_are_not_read():
    host = Host({}, ['iptables-legacy-save'], files={'/proc/net/ip_tables_names': ''}, systemd=False)
    assert host.detect()['managers'] == []
    assert host.calls == []


def test_clean_host():
    report = Host({}, [], systemd=False).detect()
    assert report == {'managers': [], 'backend': None, 'filtering_input': []}
    assert managers.two_filters_warning(report) is None


def test_nft_failure_is_an_error_naming_the_command():
    host = Host({'/usr/sbin/nft -j list chains': (1, '', 'Operation not permitted')}, ['nft'], systemd=False)
    with pytest.raises(PortwardenError, match='nft -j list chains failed.*Operation not permitted'):
        host.detect()


@pytest.mark.parametrize('backend, active, enabled, want', [
    ('auto', True, True, ('firewalld', False)),
    ('auto', False, True, ('nftables', False)),     # enabled, not running: nftables, but nftables.service stays off
    ('auto', False, False, ('nftables', True)),
    ('firewalld', True, False, ('firewalld', False)),
])
def test_choice(backend, active, enabled, want):
    choice = firewall_choice.choose_backend(firewalld_host(active, enabled).detect(), backend)
    assert (choice['backend'], choice['enable_nftables_service']) == want
    assert choice['stop'] == []


def test_nftables_next_to_firewalld_fails_naming_it_and_the_ways_out():
    with pytest.raises(PortwardenError) as info:
        firewall_choice.choose_backend(firewalld_host().detect(), 'nftables')
    assert 'firewalld is active' in info.value.msg
    assert 'host_firewall_backend: firewalld' in info.value.msg and 'host_firewall_conflicting: stop' in info.value.msg
    assert 'Nothing was changed' in info.value.msg
    assert info.value.details == {'conflicting_managers': ['firewalld']}


def test_stop_then_nftables_service_may_be_enabled():
    host = firewalld_host()
    choice = firewall_choice.choose_backend(host.detect(), 'nftables', 'stop')
    assert choice == {'backend': 'nftables', 'stop': ['firewalld'], 'enable_nftables_service': True}
    host.answers['/usr/sbin/systemctl disable --now firewalld.service'] = (0, '', '')
    assert firewall_choice.stop_managers(host.run, host.which, ['firewalld'], check_mode=True) == ['firewalld']
    assert ['/usr/sbin/systemctl', 'disable', '--now', 'firewalld.service'] not in host.calls
    assert firewall_choice.stop_managers(host.run, host.which, ['firewalld']) == ['firewalld']
    assert host.calls[-1] == ['/usr/sbin/systemctl', 'disable', '--now', 'firewalld.service']


def test_stop_failure_names_the_command():
    host = Host({'/usr/sbin/ufw disable': (1, '', 'ERROR: problem running')}, ['ufw'], systemd=False)
    with pytest.raises(PortwardenError, match=r'/usr/sbin/ufw disable failed \(rc=1\): ERROR: problem running'):
        firewall_choice.stop_managers(host.run, host.which, ['ufw'])


def test_firewalld_asked_for_but_not_running_is_never_started():
    with pytest.raises(PortwardenError, match='never starts a firewall manager'):
        firewall_choice.choose_backend(firewalld_host(active=False).detect(), 'firewalld')


@pytest.mark.parametrize('backend, conflicting', [('iptables', 'fail'), ('auto', 'ignore')])
def test_bad_values_are_named(backend, conflicting):
    with pytest.raises(PortwardenError, match='invalid value'):
        firewall_choice.choose_backend({'managers': []}, backend, conflicting)


def test_port_info_firewall_section_and_fleet_report_column():
    """port_info's ``firewall`` (active managers only, the warning) as the fleet report shows it."""
    from ansible_collections.portwarden.ports.plugins.plugin_utils import fleet_report
    section = managers.firewall_report(firewalld_host().run, firewalld_host().which)
    assert [m['name'] for m in section['managers']] == ['firewalld', 'docker', 'kube-proxy']
    assert section['backend'] == 'nftables' and 'portwarden and firewalld' in section['warning']
    inactive = managers.firewall_report(firewalld_host(active=False, enabled=False).run, firewalld_host().which)
    assert 'firewalld' not in [m['name'] for m in inactive['managers']]
    broken = managers.firewall_report(lambda argv: (1, '', 'denied'), lambda name: '/usr/sbin/' + name)
    assert broken['managers'] == [] and 'denied' in broken['error']

    result = {'ephemeral_range': {'start': 32768, 'end': 60999, 'size': 28232}, 'reserved_ports': {'ports': ''},
              'listeners': [], 'conflicts': [], 'usage': {}, 'firewall': section}
    model = fleet_report.build_model({'web1': result, 'web2': dict(result, firewall=None)}, generated='2026-01-01T00:00:00Z')
    lines = fleet_report.text_table(model)
    assert lines[0].split()[-1] == 'FIREWALL'
    assert lines[1].endswith('nftables (+firewalld, docker, kube-proxy)') and lines[2].endswith('-')
    assert any(line.startswith('warning: web1: portwarden and firewalld all filter') for line in lines)
    markdown = fleet_report.render(model, formats=('md',))['md']
    assert '| Firewall |' in markdown and 'nftables (+firewalld, docker, kube-proxy) |' in markdown
    assert 'Two firewall managers filter incoming traffic on:\n- web1\n' in markdown and '- web2\n' not in markdown
