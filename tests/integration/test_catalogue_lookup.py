# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue read from a file by the portwarden.ports.catalogue lookup, in real playbooks and with real kernels.

One namespace host takes the catalogue from a YAML file through the lookup, another the same catalogue inline:
both load the same table. A bad entry in the file is refused naming it, a file that does not parse names its line,
and neither changes the table. The controller's ANSIBLE_HOME is the test's own.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess

import yaml

from conftest import FIREWALL_ROLE_TASK, _bin, ansible_env, firewall_load, firewall_vars

SOURCES = ['%s/29' % ipaddress.ip_address(int(ipaddress.ip_address('10.0.0.0')) + 16 * i) for i in range(3000)]
CATALOGUE = [{'name': 'api', 'port': 8443, 'sources': SOURCES}, {'name': 'web', 'port': 443}]


def from_file(path):
    return "{{ lookup('portwarden.ports.catalogue', %r) }}" % path


def load(host, home, services, check=False, expect_rc=0):
    return firewall_load(host, home, firewall_vars(host.tmpdir, services), check=check, expect_rc=expect_rc)


def kept_files(home):
    directory = os.path.join(home, 'portwarden', 'catalogue_files')
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def test_the_table_from_a_yaml_file_is_the_table_of_the_same_catalogue_inline(firewall_pair, tmp_path):
    (by_file, inline), home = firewall_pair
    path = str(tmp_path / 'catalogue.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump({'portwarden_services': CATALOGUE}, handle)
    for check, changed in ((True, True), (False, True), (True, False), (False, False)):
        result = load(by_file, home, from_file(path), check=check)
        assert result['changed'] is changed, (check, result)
    assert len(kept_files(home)) == 1                      # the parsed YAML, kept under the file's digest
    assert load(inline, home, CATALOGUE)['changed'] is True
    assert by_file.table_listing('portwarden') == inline.table_listing('portwarden')
    rules = [host.read_file(firewall_vars(host.tmpdir, None)['host_firewall_rules_path']) for host in (by_file, inline)]
    assert rules[0] == rules[1] and SOURCES[-1] in rules[0]


def test_a_bad_entry_or_a_broken_file_is_named_and_changes_nothing(firewall_pair, tmp_path):
    (host, dummy), home = firewall_pair
    path = str(tmp_path / 'catalogue.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump(CATALOGUE, handle)
    assert load(host, home, from_file(path))['changed'] is True
    before = host.table_digest('portwarden')
    bad = [dict(CATALOGUE[0], sources=SOURCES[:2000] + ['10.0.300.0/29'] + SOURCES[2000:]), CATALOGUE[1]]
    with open(path, 'w') as handle:
        yaml.safe_dump(bad, handle)
    result = load(host, home, from_file(path), expect_rc=2)
    assert result['failed'] is True and '10.0.300.0/29' in result['msg'] and 'api' in result['msg'], result['msg']
    assert host.table_digest('portwarden') == before
    with open(path, 'w') as handle:
        handle.write('- name: api\n  port: [8443\n')
    data = host.playbook([FIREWALL_ROLE_TASK], play_vars=firewall_vars(host.tmpdir, from_file(path)), env={'ANSIBLE_HOME': home})
    assert data['rc'] == 2
    text = json.dumps(data)
    assert path in text and 'invalid YAML' in text and 'line 3 column 1' in text, text[-3000:]
    assert 'Traceback' not in text + data['stderr']
    assert host.table_digest('portwarden') == before


def run_debug(host, home, expression, extra_args=()):
    data = host.playbook([{'name': 'show', 'ansible.builtin.debug': {'msg': expression}}], extra_args=extra_args,
                         env={'ANSIBLE_HOME': home})
    return data, data['plays'][0]['tasks'][0]['hosts']['localhost']


def test_files_are_joined_searched_in_files_and_a_missing_one_is_named(nshost, tmp_path):
    home = str(tmp_path / 'controller')
    (tmp_path / 'files').mkdir()
    (tmp_path / 'files' / 'common.yml').write_text(yaml.safe_dump(CATALOGUE[1:]))
    (tmp_path / 'web.json').write_text(json.dumps({'portwarden_services': CATALOGUE[:1]}))
    data, result = run_debug(nshost, home, "{{ lookup('portwarden.ports.catalogue', 'common.yml', %r) "
                                           "| map(attribute='name') | join(',') }}" % str(tmp_path / 'web.json'))
    assert data['rc'] == 0 and result['msg'] == 'web,api', result
    data, result = run_debug(nshost, home, "{{ lookup('portwarden.ports.catalogue', 'absent.yml') }}")
    assert data['rc'] == 2 and "the file 'absent.yml' was not found" in result['msg'], result
    data, result = run_debug(nshost, home, "{{ query('portwarden.ports.catalogue', 'common.yml') | length }}")
    assert result['msg'] == 1, result                     # query: a list holding the one catalogue


def test_a_vaulted_catalogue_is_read_with_the_runs_secret_and_never_kept(nshost, tmp_path):
    home = str(tmp_path / 'controller')
    (tmp_path / 'files').mkdir()
    path = tmp_path / 'files' / 'secret.yml'
    path.write_text(yaml.safe_dump(CATALOGUE))
    secret = tmp_path / 'vault-pass'
    secret.write_text('correct horse\n')
    subprocess.run([_bin('ansible-vault'), 'encrypt', '--vault-password-file', str(secret), str(path)],
                   check=True, capture_output=True, env=ansible_env(ANSIBLE_HOME=home))
    assert path.read_text().startswith('$ANSIBLE_VAULT;')
    expression = "{{ lookup('portwarden.ports.catalogue', 'secret.yml')[0].sources | length }}"
    data, result = run_debug(nshost, home, expression, extra_args=('--vault-password-file', str(secret)))
    assert data['rc'] == 0 and result['msg'] == len(SOURCES), result
    assert kept_files(home) == []
    data, result = run_debug(nshost, home, expression)
    assert data['rc'] == 2 and 'Traceback' not in json.dumps(data), result
    assert 'secret.yml: cannot decrypt it: ' in result['msg'] and 'no vault secrets' in result['msg'], result
