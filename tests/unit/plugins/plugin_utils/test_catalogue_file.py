# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A catalogue read from a file of its own (plugin_utils/catalogue_file.py, the portwarden.ports.catalogue lookup).

The lookup in real playbooks (search path, vault, the role's task over it) is in
tests/integration/test_catalogue_lookup.py.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import catalogue_file
from ansible_collections.portwarden.ports.plugins.plugin_utils.catalogue_cache import CatalogueCache

CATALOGUE = [
    {'name': 'web', 'port': 443},
    {'name': 'api', 'port': 8443, 'sources': ['10.0.0.0/8', '2001:db8::/32'], 'description': 'a {{ brace }} stays text'},
]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding='utf-8')
    return str(path)


def entries(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


@pytest.mark.parametrize('name, text', [
    ('c.yml', yaml.safe_dump(CATALOGUE)),
    ('c.yaml', yaml.safe_dump({'portwarden_services': CATALOGUE})),
    ('c.json', json.dumps(CATALOGUE)),
    ('c.JSON', json.dumps({'portwarden_services': CATALOGUE})),
])
def test_a_list_or_the_group_vars_mapping_reads_as_the_catalogue(tmp_path, name, text):
    assert catalogue_file.read(write(tmp_path, name, text)) == CATALOGUE


@pytest.mark.parametrize('text', ['', '# nothing yet\n', '---\n', 'portwarden_services:\n', '[]\n'])
def test_an_empty_file_is_an_empty_catalogue(tmp_path, text):
    assert catalogue_file.read(write(tmp_path, 'c.yml', text)) == []


@pytest.mark.parametrize('name, text, fmt, expect', [
    ('c.yml', 'name: web\nport: 443\n', 'auto', ['a mapping may only hold portwarden_services (found name, port)']),
    ('c.yml', 'portwarden_services: []\nother: 1\n', 'auto', ['found other']),
    ('c.yml', '"web"\n', 'auto', ['must be a list of services', 'not str']),
    ('c.yml', 'portwarden_services: 443\n', 'auto', ['must be a list of services', 'not int']),
    ('c.yml', '- name: web\n- 443\n', 'auto', ['entry 1 must be a mapping', 'not int']),
    ('c.yml', '- name: web\n  port: [443\n', 'auto', ['invalid YAML', 'line 3 column 1']),
    ('c.yml', '- name: web\n  port: !unsafe 443\n', 'auto', ['invalid YAML', 'line 2 column 9', '!unsafe']),
    ('c.json', '[{"name": "web",}]', 'auto', ['invalid JSON', 'line 1 column 17']),
    ('c.json', '{"name": "web"}', 'auto', ['a mapping may only hold portwarden_services (found name)']),
    ('c.txt', '[]', 'auto', ['cannot tell the format', '.json, .yml, .yaml', 'format=json']),
    ('c.yml', '[]', 'toml', ["invalid format 'toml'", 'auto, json, yaml']),
])
def test_a_bad_file_is_refused_naming_it_and_what_is_allowed(tmp_path, name, text, fmt, expect):
    path = write(tmp_path, name, text)
    with pytest.raises(PortwardenError) as err:
        catalogue_file.read(path, fmt)
    assert fmt == 'toml' or path in err.value.msg
    for part in expect:
        assert part in err.value.msg, err.value.msg


def test_format_overrides_the_suffix(tmp_path):
    path = write(tmp_path, 'catalogue.txt', json.dumps(CATALOGUE))
    assert catalogue_file.read(path, 'json') == CATALOGUE
    assert catalogue_file.read(path, 'yaml') == CATALOGUE        # JSON is YAML


def test_not_utf8_and_missing_files_are_named(tmp_path):
    path = tmp_path / 'c.json'
    path.write_bytes(b'["\xff"]')
    with pytest.raises(PortwardenError, match='not UTF-8 text'):
        catalogue_file.read(str(path))
    with pytest.raises(PortwardenError, match='cannot read it: No such file'):
        catalogue_file.read(str(tmp_path / 'absent.yml'))


def test_a_yaml_file_read_again_comes_from_the_kept_json(tmp_path, monkeypatch):
    cache = CatalogueCache(str(tmp_path / 'kept'))
    path = write(tmp_path, 'c.yml', yaml.safe_dump(CATALOGUE))
    assert catalogue_file.read(path, cache=cache) == CATALOGUE
    kept = entries(cache.directory)
    assert len(kept) == 1 and kept[0].endswith('.json')
    with open(os.path.join(cache.directory, kept[0])) as handle:
        assert json.load(handle)['items'] == CATALOGUE

    def refuse(*_args, **_kwargs):
        raise AssertionError('the YAML was parsed again')
    monkeypatch.setattr(catalogue_file.yaml, 'load', refuse)
    assert catalogue_file.read(path, cache=cache) == CATALOGUE
    # one byte changed is another key: parsed (here: refused by the stand-in parser), never the old catalogue
    write(tmp_path, 'c.yml', yaml.safe_dump(CATALOGUE) + '# changed\n')
    with pytest.raises(AssertionError, match='parsed again'):
        catalogue_file.read(path, cache=cache)


def test_a_changed_file_gives_its_own_catalogue_and_a_damaged_entry_is_parsed_again(tmp_path):
    cache = CatalogueCache(str(tmp_path / 'kept'))
    path = write(tmp_path, 'c.yml', yaml.safe_dump(CATALOGUE))
    catalogue_file.read(path, cache=cache)
    changed = CATALOGUE[:1] + [dict(CATALOGUE[1], sources=['192.0.2.0/24'])]
    write(tmp_path, 'c.yml', yaml.safe_dump(changed))
    assert catalogue_file.read(path, cache=cache) == changed
    assert len(entries(cache.directory)) == 2
    for name in entries(cache.directory):
        with open(os.path.join(cache.directory, name), 'w') as handle:
            handle.write('{"key": "')
    assert catalogue_file.read(path, cache=cache) == changed


def test_values_json_cannot_write_are_read_but_not_kept(tmp_path):
    cache = CatalogueCache(str(tmp_path / 'kept'))
    path = write(tmp_path, 'c.yml', '- name: web\n  port: 443\n  description: 2026-12-03\n')
    services = catalogue_file.read(path, cache=cache)
    assert services[0]['description'].isoformat() == '2026-12-03'
    assert entries(cache.directory) == []


def test_json_files_are_never_kept(tmp_path):
    cache = CatalogueCache(str(tmp_path / 'kept'))
    assert catalogue_file.read(write(tmp_path, 'c.json', json.dumps(CATALOGUE)), cache=cache) == CATALOGUE
    assert entries(cache.directory) == []


def test_a_vaulted_file_is_decrypted_by_the_caller_and_never_kept(tmp_path):
    cache = CatalogueCache(str(tmp_path / 'kept'))
    path = write(tmp_path, 'c.yml', '$ANSIBLE_VAULT;1.1;AES256\n6162\n')
    with pytest.raises(PortwardenError, match='vault-encrypted and no vault secret'):
        catalogue_file.read(path, cache=cache)
    asked = []

    def decrypt(name):
        asked.append(name)
        return yaml.safe_dump(CATALOGUE).encode('utf-8')
    assert catalogue_file.read(path, cache=cache, decrypt=decrypt) == CATALOGUE
    assert asked == [path] and entries(cache.directory) == []


def test_a_directory_others_may_write_is_not_used(tmp_path):
    directory = tmp_path / 'kept'
    directory.mkdir(mode=0o700)
    os.chmod(str(directory), 0o777)
    cache = CatalogueCache(str(directory))
    assert catalogue_file.read(write(tmp_path, 'c.yml', yaml.safe_dump(CATALOGUE)), cache=cache) == CATALOGUE
    assert entries(str(directory)) == []


def test_the_default_directory_is_beside_the_role_models(monkeypatch, tmp_path):
    monkeypatch.setattr(catalogue_file, 'default_directory', lambda: str(tmp_path / 'portwarden' / 'catalogue_cache'))
    assert catalogue_file.default_cache().directory == str(tmp_path / 'portwarden' / 'catalogue_files')
