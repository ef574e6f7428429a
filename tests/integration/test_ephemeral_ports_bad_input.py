# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ephemeral_ports role's variables: a corpus of bad values, each refused with a clear message that names
the variable and the value, and the host unchanged (kernel values and drop-in, read back from the namespace).
Booleans given as strings, as ``-e`` gives them, are accepted."""

from __future__ import annotations

import os

import pytest
import yaml

from conftest import REPO

from test_ephemeral_ports_role import SITE, VERIFY, failure, on_host, refused, run_role, site_host

RANGE = 'net.ipv4.ip_local_port_range'
RESERVED = 'net.ipv4.ip_local_reserved_ports'
DROPIN = '/etc/sysctl.d/90-portwarden.conf'
GOOD_RANGE = {'start': 32000, 'end': 60999}


def svc(**entry):
    return {'portwarden_services': [dict({'name': 'web', 'port': 8080}, **entry)]}


CORPUS = [
    # -- the catalogue (ephemeral_ports_services, portwarden_services by default)
    (svc(port='http'), ['service #0 (web)', "'http'"]),
    (svc(port='30000-20000'), ['service #0 (web)', '30000-20000']),
    (svc(port=70000), ['service #0 (web)', '70000']),
    (svc(proto='sctp'), ['service #0 (web)', "invalid proto 'sctp'"]),
    (svc(sources=['10.0.0.1/8']), ['service #0 (web)', "'10.0.0.1/8'", 'host bits']),
    (svc(sources=['anywhere']), ['service #0 (web)', "invalid source 'anywhere'"]),
    (svc(rate_limit='fast'), ['service #0 (web)', "invalid rate_limit 'fast'"]),
    (svc(description='say "hi"'), ['service #0 (web)', 'invalid description']),
    (svc(colour='red'), ['service #0 (web)', 'unknown field(s) colour']),
    (svc(name='web server'), ["invalid name 'web server'"]),
    ({'portwarden_services': [{'name': 'a', 'port': 1}, {'name': 'a', 'port': 2}]}, ["'a' is used twice"]),
    # (the role's argument spec refuses these two before the plan)
    ({'portwarden_services': ['ssh']}, ['ephemeral_ports_services', 'of type str', 'convert to dict']),
    ({'ephemeral_ports_services': 'ssh'}, ['ephemeral_ports_services', 'of type str']),
    # -- the range
    ({'ephemeral_ports_range': {'start': 60999, 'end': 32768}}, ['ephemeral_ports_range 60999-32768', 'not greater than end']),
    ({'ephemeral_ports_range': {'start': '60999', 'end': '32768'}}, ['ephemeral_ports_range 60999-32768']),
    ({'ephemeral_ports_range': {'start': 0, 'end': 32768}}, ['ephemeral_ports_range.start', '0', '1 to 65535']),
    ({'ephemeral_ports_range': {'start': 32768, 'end': 65536}}, ['ephemeral_ports_range.end', '65536']),
    ({'ephemeral_ports_range': {'start': 32768}}, ['missing required arguments: end', 'ephemeral_ports_range']),
    ({'ephemeral_ports_range': {'start': 'low', 'end': 60999}}, ['ephemeral_ports_range', "'low'"]),
    ({'ephemeral_ports_range': {'start': 32768, 'end': 60999, 'step': 2}}, ['ephemeral_ports_range', 'step']),
    ({'ephemeral_ports_range': '32768-60999'}, ['ephemeral_ports_range', 'must be of type dict']),
    ({'ephemeral_ports_range': {'start': 1000, 'end': 60999}}, ['1000', 'ip_unprivileged_port_start (1024)']),
    # -- the extra reservations
    ({'ephemeral_ports_reserved': [22, '70000']}, ['ephemeral_ports_reserved', "entry #1 ('70000')"]),
    ({'ephemeral_ports_reserved': ['10-5']}, ['ephemeral_ports_reserved', "entry #0 ('10-5')"]),
    ({'ephemeral_ports_reserved': ['22;reboot']}, ['ephemeral_ports_reserved', "'22;reboot'"]),
    ({'ephemeral_ports_reserved': [{'port': 22}]}, ['ephemeral_ports_reserved', 'entry #0', "'port'"]),
    ({'ephemeral_ports_reserved': [None]}, ['ephemeral_ports_reserved', 'entry #0', 'None']),
    ({'ephemeral_ports_reserved': ['']}, ['ephemeral_ports_reserved', 'entry #0']),
    # -- the policies
    ({'ephemeral_ports_conflict_action': 'ignore'}, ['ephemeral_ports_conflict_action', 'ignore', 'reserve, fail, warn']),
    ({'ephemeral_ports_reserved_state': 'absent'}, ['ephemeral_ports_reserved_state', 'absent', 'present, exact']),
    ({'ephemeral_ports_reserved_state': 'EXACT'}, ['ephemeral_ports_reserved_state', 'EXACT']),
    ({'ephemeral_ports_range': GOOD_RANGE, 'ephemeral_ports_conflict_action': 'fail'},
     ['32000-32767,45000', 'node-ports, legacy-api', 'Nothing was changed']),
    # -- booleans, paths, numbers
    ({'ephemeral_ports_persist': 'maybe'}, ['ephemeral_ports_persist', 'maybe']),
    ({'ephemeral_ports_verify': 'sometimes'}, ['ephemeral_ports_verify', 'sometimes']),
    ({'ephemeral_ports_sysctl_file': 'sysctl.d/90-portwarden.conf'}, ['ephemeral_ports_sysctl_file', 'relative path']),
    ({'ephemeral_ports_sysctl_file': './90-portwarden.conf'}, ['ephemeral_ports_sysctl_file', "'./90-portwarden.conf'"]),
    ({'ephemeral_ports_sysctl_file': '90-portwarden.conf'}, ['ephemeral_ports_sysctl_file', 'absolute path']),
    ({'ephemeral_ports_conntrack_max': 0}, ['ephemeral_ports_conntrack_max', '0']),
    ({'ephemeral_ports_conntrack_max': -5}, ['ephemeral_ports_conntrack_max', '-5']),
    ({'ephemeral_ports_conntrack_max': 'lots'}, ['ephemeral_ports_conntrack_max', 'lots']),
    ({'ephemeral_ports_range': GOOD_RANGE, 'ephemeral_ports_conntrack_max': 1},
     ['net.netfilter.nf_conntrack_max', 'only the initial network namespace', 'Nothing was changed']),
]


@pytest.fixture
def host(nshost):
    return site_host(nshost)


def state(host):
    return host.sysctl(RANGE).split(), host.sysctl(RESERVED), host.ls('/etc/sysctl.d'), host.read_file(DROPIN)


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 35


@pytest.mark.parametrize('role_vars, words', CORPUS, ids=['%02d' % i for i in range(len(CORPUS))])
def test_bad_value_is_refused_clearly_and_the_host_is_unchanged(host, role_vars, words):
    before = state(host)
    refused(run_role(host, role_vars), words)
    assert state(host) == before


@pytest.mark.parametrize('value', ['false', 'no', 'False', 'off'])
def test_booleans_as_strings_are_accepted(host, value):
    role_vars = {'ephemeral_ports_range': GOOD_RANGE, 'ephemeral_ports_persist': value, 'ephemeral_ports_verify': value}
    data = run_role(host, role_vars)
    assert data['rc'] == 0, failure(data)
    assert host.sysctl(RANGE).split() == ['32000', '60999']
    assert host.read_file(DROPIN) == SITE, 'persist %r wrote the drop-in' % value
    assert VERIFY not in on_host(data), 'verify %r read the host' % value


# One bad value for every option of the role's argument spec, through the role imported with rolespec_validate: false
# (as the enforce playbook imports it, without Ansible's validation task): the role's own task refuses each before
# any change, naming the variable and the value.
UNVALIDATED = {
    'ephemeral_ports_range': ({'start': 32768}, ['ephemeral_ports_range', "{'start': 32768}", 'start and end']),
    'ephemeral_ports_reserved': ([{'port': 22}], ['ephemeral_ports_reserved', 'entry #0', "'port'"]),
    'ephemeral_ports_reserved_state': ('absent', ['ephemeral_ports_reserved_state', 'absent', 'present, exact']),
    'ephemeral_ports_services': ('ssh', ['ephemeral_ports_services', "'ssh'", 'expected a list']),
    'ephemeral_ports_conflict_action': ('ignore', ['ephemeral_ports_conflict_action', 'ignore', 'reserve, fail, warn']),
    'ephemeral_ports_persist': ('maybe', ['ephemeral_ports_persist', 'maybe']),
    'ephemeral_ports_sysctl_file': ('90-portwarden.conf', ['ephemeral_ports_sysctl_file', 'relative path']),
    'ephemeral_ports_conntrack_max': ('lots', ['ephemeral_ports_conntrack_max', 'lots']),
    'ephemeral_ports_verify': ('sometimes', ['ephemeral_ports_verify', 'sometimes']),
}


def test_every_option_of_the_argument_spec_has_an_unvalidated_case():
    with open(os.path.join(REPO, 'roles', 'ephemeral_ports', 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    assert sorted(UNVALIDATED) == sorted(options)


@pytest.mark.parametrize('name', sorted(UNVALIDATED))
def test_without_ansibles_validation_the_role_refuses_each_option(host, name):
    value, words = UNVALIDATED[name]
    task = {'name': 'apply the role', 'ansible.builtin.import_role': {
        'name': 'portwarden.ports.ephemeral_ports', 'rolespec_validate': False}}
    before = state(host)
    data = host.playbook([task], play_vars={'portwarden_services': [{'name': 'ssh', 'port': 22}], name: value})
    refused(data, words)
    names = [t['task']['name'] for t in data['plays'][0]['tasks']]
    assert len(names) == 1 and 'Validating arguments' not in names[0], names
    assert state(host) == before
