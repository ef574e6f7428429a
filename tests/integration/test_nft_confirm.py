# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nft_table's apply returns before the record of the loaded table is taken, and what the confirmation verifies, on
a real kernel (a network namespace, real nft, the module run phase by phase as an interrupted controller would).

The apply phase loads the table and returns; a child process takes the table's netlink digest at the generation
read right after the load, while the controller reconnects; the confirmation waits for it, checks that what it
commits is the script the apply loaded, and commits. A commit by another tool between load and confirmation is
drift for the next run (the record is of the table as loaded, not as found at the confirmation); a saved copy
changed, or other content given, between apply and confirmation is refused and the previous table restored.
"""

from __future__ import annotations

import os
import time

from test_host_firewall import list_table
from test_host_firewall_faults import TABLE, host, module_phase, state_dir, state_files  # noqa: F401 pylint: disable=unused-import

TOKEN = 'abcd0001'


def digest(h):
    return h.table_digest('portwarden')


def record(h):
    with open(os.path.join(state_dir(h), 'inet-portwarden.record')) as handle:
        return handle.read().splitlines()


def rules(h):
    return h.read_file(os.path.join(h.tmpdir, 'phases.nft'))


def apply(h, port, token=TOKEN):
    result = module_phase(h, {'content': TABLE % port, 'rollback_timeout': 10, '_token': token})
    assert result.get('pending') == token, result
    return result


def confirm(h, token=TOKEN, content=''):
    return module_phase(h, {'content': content, '_phase': 'confirm', '_token': token})


def settled(h, token=TOKEN, timeout=10):
    """Wait until the apply's child has taken the record (its marker is gone)."""
    marker = os.path.join(state_dir(h), 'inet-portwarden.%s.digesting' % token)
    deadline = time.time() + timeout
    while os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(marker)


def loaded_with_record(h, port):
    apply(h, port, 'ffff0000')
    assert confirm(h, 'ffff0000')['confirmed'] is True


def test_check_apply_check_apply_through_the_action(host):
    """The four steps through nft_table's action (apply, reconnect, confirm); the record is the live table's digest."""
    args = {'content': TABLE % 7301, 'path': os.path.join(host.tmpdir, 'phases.nft'), 'state_dir': state_dir(host),
            'rollback_timeout': 10}
    first = host.module('portwarden.ports.nft_table', args, check=True)
    assert first['changed'] is True and first['table_changed'] is True and list_table(host, 'inet', 'portwarden') is None
    applied = host.module('portwarden.ports.nft_table', args)
    assert applied['changed'] is True and applied['confirmed'] is True, applied
    assert 'tcp dport 7301 accept' in list_table(host, 'inet', 'portwarden') and rules(host) == TABLE % 7301
    assert record(host)[2] == 'state ' + digest(host)
    assert state_files(host) == ['inet-portwarden.record']
    assert host.module('portwarden.ports.nft_table', args, check=True)['changed'] is False
    again = host.module('portwarden.ports.nft_table', args)
    assert again['changed'] is False and 'confirmed' not in again


def test_the_record_is_of_the_table_as_loaded_not_as_found_at_the_confirmation(host):
    apply(host, 7302)
    settled(host)                                           # the child took the record right after the load
    host.run(['nft', 'add', 'rule', 'inet', 'portwarden', 'input', 'tcp', 'dport', '4444', 'accept'])   # another tool
    assert confirm(host)['confirmed'] is True
    assert state_files(host) == ['inet-portwarden.record']
    check = module_phase(host, {'content': TABLE % 7302, '_ansible_check_mode': True})
    assert check['changed'] is True and check['drifted'] is True
    fixed = module_phase(host, {'content': TABLE % 7302})
    assert fixed['drifted'] is True and '4444' not in list_table(host, 'inet', 'portwarden')
    assert module_phase(host, {'content': TABLE % 7302, '_ansible_check_mode': True})['changed'] is False


def test_a_saved_copy_changed_between_apply_and_confirmation_is_refused_and_rolled_back(host):
    loaded_with_record(host, 7303)
    before = (list_table(host, 'inet', 'portwarden'), rules(host), record(host))
    apply(host, 7304)
    assert 'tcp dport 7304 accept' in list_table(host, 'inet', 'portwarden')
    saved = os.path.join(state_dir(host), 'inet-portwarden.%s.candidate' % TOKEN)
    with open(saved, 'w') as handle:
        handle.write(TABLE % 7399)
    refused = confirm(host)
    assert refused['failed'] is True and refused['rolled_back'] is True
    assert refused['msg'].startswith('ROLLED BACK: refused to confirm the table inet portwarden: %s' % saved)
    assert (list_table(host, 'inet', 'portwarden'), rules(host), record(host)) == before
    assert state_files(host) == ['inet-portwarden.record']
    started = time.time()                                   # the timer stood down and let the host lock go
    assert module_phase(host, {'content': TABLE % 7303})['changed'] is False
    assert time.time() - started < 5


def test_other_content_given_to_the_confirmation_is_refused_and_rolled_back(host):
    loaded_with_record(host, 7305)
    before = (list_table(host, 'inet', 'portwarden'), rules(host), record(host))
    apply(host, 7306)
    refused = confirm(host, content=TABLE % 7399)
    assert refused['failed'] is True and refused['rolled_back'] is True and 'the content given' in refused['msg']
    assert (list_table(host, 'inet', 'portwarden'), rules(host), record(host)) == before
    assert state_files(host) == ['inet-portwarden.record']


def test_a_rules_file_changed_between_apply_and_confirmation_is_written_as_loaded(host):
    loaded_with_record(host, 7307)
    apply(host, 7308)
    with open(os.path.join(host.tmpdir, 'phases.nft'), 'w') as handle:
        handle.write('# edited by hand\n')
    assert confirm(host)['confirmed'] is True
    assert rules(host) == TABLE % 7308 and 'tcp dport 7308 accept' in list_table(host, 'inet', 'portwarden')
    assert record(host)[2] == 'state ' + digest(host)
    assert module_phase(host, {'content': TABLE % 7308, '_ansible_check_mode': True})['changed'] is False
