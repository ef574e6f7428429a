# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogues' models kept on the controller (plugin_utils/catalogue_cache.py) and the role's task over them.

The role's task runs with the cache on real kernels in tests/integration/test_host_firewall_catalogue_cache.py.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.portwarden.ports.plugins.plugin_utils import catalogue_cache, firewall_model, firewall_role

CATALOGUE = [{'name': 'web', 'port': 443}, {'name': 'api', 'port': 8443, 'sources': ['10.0.0.0/8', '2001:db8::/32']}]


def values(**overrides):
    out = dict(firewall_role.DEFAULTS, services=CATALOGUE)
    out.update(overrides)
    return out


class Host(object):
    """Answers nft_table and firewalld_policy as a host that has nothing to change; keeps the calls."""

    def __init__(self, backend='nftables'):
        self.backend = backend
        self.calls = []

    def run(self, module, args, check_mode=None):
        self.calls.append((module, args))
        if module == 'firewalld_policy':
            return {'changed': False, 'zone': 'public', 'changes': {'create': []}}
        return {'changed': False, 'backend': self.backend, 'table_changed': False, 'systemd_running': True}


def render(model):
    return 'table inet portwarden { # %s, %s, %s }\n' % (
        ' '.join('%s=%s|%s' % (s['name'], s['elements_v4'], s['elements_v6']) for s in model['services']),
        model['log_rate']['text'], model['rules_path'])


class Counting(object):
    """firewall_model.service_items, counted: a catalogue taken from the cache is not validated again."""

    def __init__(self, monkeypatch):
        self.calls = 0
        original = firewall_model.service_items

        def counted(services):
            self.calls += 1
            return original(services)
        monkeypatch.setattr(firewall_model, 'service_items', counted)


@pytest.fixture
def cache(tmp_path):
    return catalogue_cache.CatalogueCache(str(tmp_path / 'home' / 'portwarden' / 'catalogue_cache'))


def entries(cache):
    return sorted(name for name in os.listdir(cache.directory) if name.endswith('.json'))


def test_another_host_takes_the_catalogues_model_and_loads_the_same_table(cache, monkeypatch):
    counted, first, second = Counting(monkeypatch), Host(), Host()
    out = firewall_role.apply(values(), render, first.run, cache=cache)
    assert out['catalogue_cache'] == 'miss' and counted.calls == 1 and len(entries(cache)) == 1
    again = firewall_role.apply(values(), render, second.run, cache=cache)
    assert again['catalogue_cache'] == 'hit' and counted.calls == 1      # not validated again
    assert second.calls == first.calls and again['changed'] is False
    assert '10.0.0.0/8' in second.calls[0][1]['content'] and '2001:db8::/32' in second.calls[0][1]['content']
    mode = stat.S_IMODE(os.stat(cache.directory).st_mode)
    assert mode == 0o700, oct(mode)


def test_the_other_variables_are_validated_and_rendered_on_every_run(cache, monkeypatch):
    counted = Counting(monkeypatch)
    firewall_role.apply(values(), render, Host().run, cache=cache)
    host = Host()
    out = firewall_role.apply(values(log_rate='6/minute', rules_path='/etc/other.nft'), render, host.run, cache=cache)
    assert out['catalogue_cache'] == 'hit' and counted.calls == 1
    assert host.calls[0][1]['content'].endswith('6/minute, /etc/other.nft }\n') and host.calls[0][1]['path'] == '/etc/other.nft'
    host = Host()
    bad = firewall_role.apply(values(log_rate='often'), render, host.run, cache=cache)
    assert bad['failed'] is True and 'host_firewall_log_rate' in bad['msg'] and host.calls == []


def test_the_firewalld_step_gets_the_catalogue_as_it_is(cache):
    firewall_role.apply(values(), render, Host(backend='firewalld').run, cache=cache)
    host = Host(backend='firewalld')
    out = firewall_role.apply(values(), render, host.run, cache=cache)
    assert out['catalogue_cache'] == 'hit' and host.calls[1] == ('firewalld_policy', firewall_role.plan(values())['firewalld'])


def test_any_other_catalogue_is_validated_and_a_bad_entry_among_many_is_named(cache, monkeypatch):
    sources = ['10.%d.%d.0/24' % (i // 256, i % 256) for i in range(5000)]
    good = values(services=[{'name': 'api', 'port': 8443, 'sources': sources}])
    counted = Counting(monkeypatch)
    assert firewall_role.apply(good, render, Host().run, cache=cache)['catalogue_cache'] == 'miss'
    assert firewall_role.apply(good, render, Host().run, cache=cache)['catalogue_cache'] == 'hit'
    bad = values(services=[{'name': 'api', 'port': 8443, 'sources': sources[:4000] + ['10.1.2.300/24'] + sources[4000:]}])
    host = Host()
    out = firewall_role.apply(bad, render, host.run, cache=cache)
    assert out['failed'] is True and '10.1.2.300/24' in out['msg'] and 'service #0 (api)' in out['msg'] and host.calls == []
    assert len(entries(cache)) == 1 and counted.calls == 2   # validated, and a catalogue that did not validate is not kept
    # a good catalogue with a bad variable beside it: refused, and its model not kept either
    out = firewall_role.apply(values(log_prefix='!'), render, Host().run, cache=cache)
    assert out['failed'] is True and 'host_firewall_log_prefix' in out['msg'] and len(entries(cache)) == 1


def test_the_key_is_the_catalogue_and_the_code(cache, monkeypatch):
    key = cache.key(CATALOGUE)
    assert key == cache.key(json.loads(json.dumps(CATALOGUE)))          # the same data: the same key
    assert cache.key([dict(CATALOGUE[0], port='443'), CATALOGUE[1]]) != key     # "443" is not 443
    assert cache.key([dict(CATALOGUE[0], port=443.0), CATALOGUE[1]]) != key
    assert cache.key(CATALOGUE[::-1]) != key
    monkeypatch.setattr(catalogue_cache, '_CODE', ['another version of the code'])
    assert cache.key(CATALOGUE) != key


def test_the_code_digest_changes_with_a_file_of_the_code(tmp_path, monkeypatch):
    for sub in catalogue_cache.CODE_DIRS:
        (tmp_path / sub).mkdir()
    (tmp_path / 'plugin_utils' / 'a.py').write_text('A = 1\n')
    monkeypatch.setattr(catalogue_cache, 'PLUGINS', str(tmp_path))
    monkeypatch.setattr(catalogue_cache, '_CODE', [])
    first = catalogue_cache.code_digest()
    (tmp_path / 'plugin_utils' / 'a.py').write_text('A = 2\n')
    monkeypatch.setattr(catalogue_cache, '_CODE', [])
    assert catalogue_cache.code_digest() != first
    (tmp_path / 'filter' / 'b.py').mkdir()                # a name of the code that cannot be read: no digest, no key
    monkeypatch.setattr(catalogue_cache, '_CODE', [])
    assert catalogue_cache.code_digest() is None
    assert catalogue_cache.CatalogueCache(str(tmp_path / 'cache')).key(CATALOGUE) is None


def test_a_value_that_is_not_plain_data_has_no_key_and_the_task_validates_as_usual(cache, monkeypatch):
    for odd in ({443}, b'443', float('nan'), object()):
        assert cache.key([dict(CATALOGUE[0], port=odd)]) is None, odd
    monkeypatch.setattr(cache, 'key', lambda services: None)
    counted = Counting(monkeypatch)
    for _round in range(2):
        assert firewall_role.apply(values(), render, Host().run, cache=cache)['catalogue_cache'] == 'off'
    assert counted.calls == 2 and not os.path.exists(cache.directory)


def test_catalogue_cache_false_keeps_nothing_and_a_bad_value_is_named(cache, monkeypatch):
    counted = Counting(monkeypatch)
    for _round in range(2):
        assert firewall_role.apply(values(catalogue_cache=False), render, Host().run, cache=cache)['catalogue_cache'] == 'off'
    assert counted.calls == 2 and not os.path.exists(cache.directory)
    for given in (cache, None):
        host = Host()
        out = firewall_role.apply(values(catalogue_cache='sometimes'), render, host.run, cache=given)
        assert out['failed'] is True and 'host_firewall_catalogue_cache' in out['msg'] and "'sometimes'" in out['msg']
        assert host.calls == []
    assert firewall_role.apply(values(), render, Host().run)['catalogue_cache'] == 'off'     # no cache given


@pytest.mark.parametrize('damage', ['truncated', 'other key', 'not a dict', 'no items', 'items not dicts', 'one item short'])
def test_an_entry_that_does_not_read_back_is_ignored_and_written_again(cache, monkeypatch, damage):
    counted = Counting(monkeypatch)
    first = Host()
    firewall_role.apply(values(), render, first.run, cache=cache)
    key = cache.key(CATALOGUE)
    path = os.path.join(cache.directory, key + '.json')
    with open(path) as handle:
        entry = json.load(handle)
    text = {'truncated': json.dumps(entry)[:-20], 'other key': json.dumps(dict(entry, key='0' * 64)),
            'not a dict': '[1, 2]', 'no items': json.dumps({'key': key}),
            'items not dicts': json.dumps(dict(entry, items=['web', 'api'])),
            'one item short': json.dumps(dict(entry, items=entry['items'][:1]))}[damage]
    with open(path, 'w') as handle:
        handle.write(text)
    host = Host()
    out = firewall_role.apply(values(), render, host.run, cache=cache)
    assert out['catalogue_cache'] == 'miss' and counted.calls == 2 and host.calls == first.calls
    assert cache.load(key) == entry['items']


def test_a_directory_others_can_write_to_or_a_link_is_not_used(cache, monkeypatch):
    os.makedirs(cache.directory)
    os.chmod(cache.directory, 0o777)
    counted = Counting(monkeypatch)
    for _round in range(2):
        assert firewall_role.apply(values(), render, Host().run, cache=cache)['catalogue_cache'] == 'off'
    assert entries(cache) == [] and counted.calls == 2
    os.chmod(cache.directory, 0o700)
    os.rmdir(cache.directory)
    os.symlink(os.path.dirname(cache.directory), cache.directory)
    assert firewall_role.apply(values(), render, Host().run, cache=cache)['catalogue_cache'] == 'off'


def test_a_directory_that_cannot_be_made_only_means_no_cache(tmp_path):
    (tmp_path / 'file').write_text('')
    cache = catalogue_cache.CatalogueCache(str(tmp_path / 'file' / 'catalogue_cache'))
    out = firewall_role.apply(values(), render, Host().run, cache=cache)
    assert out['catalogue_cache'] == 'off' and not out.get('failed')


def test_the_least_recently_used_go_beyond_the_limit(cache, monkeypatch):
    monkeypatch.setattr(catalogue_cache, 'MAX_ENTRIES', 3)
    keys = []
    for index in range(5):
        keys.append(cache.key([{'name': 'web', 'port': 440 + index}]))
        assert cache.store(keys[-1], [{'index': index}])
        os.utime(os.path.join(cache.directory, keys[-1] + '.json'), (1000 + index, 1000 + index))
        if index == 1:
            assert cache.load(keys[0]) == [{'index': 0}]         # used: now the most recent
            os.utime(os.path.join(cache.directory, keys[0] + '.json'), (2000, 2000))
    assert entries(cache) == sorted(key + '.json' for key in (keys[0], keys[3], keys[4]))
    assert [name for name in os.listdir(cache.directory) if not name.endswith('.json')] == []


def test_the_model_survives_the_round_trip_through_json():
    items = firewall_model.service_items(CATALOGUE + [{'name': 'dns', 'port': 53, 'proto': 'udp', 'rate_limit': '10/second'}])
    assert json.loads(json.dumps(items)) == items


def test_the_default_directory_is_under_ansible_home():
    from ansible import constants as C
    assert catalogue_cache.default_directory() == os.path.join(C.ANSIBLE_HOME, 'portwarden', 'catalogue_cache')
