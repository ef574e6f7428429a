# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue filters take raw and normalized catalogues through the one validation (no special case)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.filter import catalogue

CATALOGUE = [{'name': 'ssh', 'port': 22}, {'name': 'api', 'port': '45000-45001'}, {'name': 'dns', 'port': 53, 'proto': 'udp'}]


def test_normalized_input_is_validated_again_and_gives_the_same_answers():
    normalized = catalogue.normalize_services(CATALOGUE)
    assert catalogue.normalize_services(normalized) == normalized
    assert catalogue.service_ports(normalized) == catalogue.service_ports(CATALOGUE) == '22,53,45000-45001'
    assert catalogue.services_overlapping(normalized, '45001') == catalogue.services_overlapping(CATALOGUE, '45001')


def test_a_tampered_normalized_entry_is_refused():
    normalized = catalogue.normalize_services(CATALOGUE)
    normalized[1] = dict(normalized[1], end=45999)
    for call in (catalogue.normalize_services, catalogue.service_ports):
        with pytest.raises(AnsibleFilterError, match=r'service #1 \(api\): field end is 45999'):
            call(normalized)
    with pytest.raises(AnsibleFilterError, match='field end is 45999'):
        catalogue.services_overlapping(normalized, '45000')
