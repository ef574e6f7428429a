# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/nft_boot.py: which nftables.conf the distribution loads, read through ansible-core's distro."""

from __future__ import annotations

import pytest

from ansible.module_utils.distro import LinuxDistribution

from ansible_collections.portwarden.ports.plugins.module_utils import nft_boot
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError


def distribution(tmp_path, os_release):
    """What ansible-core's distro reads from this os-release file alone (no lsb_release, no uname, no /etc/*-release)."""
    path = tmp_path / 'os-release'
    path.write_text(os_release)
    return LinuxDistribution(include_lsb=False, os_release_file=str(path), distro_release_file=str(tmp_path / 'none'),
                             include_uname=False, include_oslevel=False)


@pytest.mark.parametrize('os_release, expected', [
    ('ID=debian\nVERSION_ID="12"\n', '/etc/nftables.conf'),
    ('ID=ubuntu\nID_LIKE=debian\n', '/etc/nftables.conf'),
    ('ID="rhel"\nID_LIKE="fedora"\n', '/etc/sysconfig/nftables.conf'),
    ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', '/etc/sysconfig/nftables.conf'),
    ('ID=fedora\n', '/etc/sysconfig/nftables.conf'),
    ('ID="amzn"\nID_LIKE="fedora"\n', '/etc/sysconfig/nftables.conf'),
    ('ID=arch\n', '/etc/nftables.conf'),
    ('ID=opensuse-tumbleweed\nID_LIKE="opensuse suse"\n', '/etc/nftables.conf'),
])
def test_distribution_nftables_conf(tmp_path, os_release, expected):
    assert nft_boot.distribution_nftables_conf(distribution(tmp_path, os_release)) == expected


def test_distribution_nftables_conf_without_os_release(tmp_path):
    unknown = distribution(tmp_path, '')
    assert unknown.id() == ''
    only_red_hat = {'/etc/sysconfig/nftables.conf'}
    assert nft_boot.distribution_nftables_conf(unknown, exists=only_red_hat.__contains__) == '/etc/sysconfig/nftables.conf'
    assert nft_boot.distribution_nftables_conf(unknown, exists=set().__contains__) == '/etc/nftables.conf'
    both = {'/etc/sysconfig/nftables.conf', '/etc/nftables.conf'}
    assert nft_boot.distribution_nftables_conf(unknown, exists=both.__contains__) == '/etc/nftables.conf'


def test_this_machine_is_read_through_distro():
    # Debian here (the machine and the test images): the default distro module answers.
    assert nft_boot.distribution_nftables_conf() == '/etc/nftables.conf'


@pytest.mark.parametrize('bad', ['relative.nft', '/etc/../x', '/etc//x', '/etc/x"\ninclude "/tmp/evil', None, 5])
def test_safe_path_refuses_what_could_escape_the_include_line(bad):
    with pytest.raises(PortwardenError) as info:
        nft_boot.safe_path(bad, 'host_firewall_rules_path')
    assert 'host_firewall_rules_path' in info.value.msg and 'absolute path' in info.value.msg
