# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.portwarden.ports.plugins.module_utils import backend, bsd, linux
from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError


def collections_path():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, '..', '..', '..', '..', '.build', 'collections')


def test_backend_knows_the_bsd_systems():
    assert backend.BSD_SYSTEMS == ('FreeBSD', 'Darwin')   # platform.system()'s names, as bsd.py serves them
    assert backend.SYSCTL_FILES == {'linux': linux.DEFAULT_SYSCTL_FILE, 'bsd': bsd.SYSCTL_CONF}


def loaded_by(module):
    """The collection's modules that importing ``module`` (of module_utils) loads, in a fresh interpreter."""
    code = ('import sys; sys.path.insert(0, %r)\n'
            'from ansible_collections.portwarden.ports.plugins.module_utils import %s\n'
            'mods = [m.rsplit(".", 1)[-1] for m in sys.modules if m.startswith("ansible_collections.portwarden")]\n'
            'print(" ".join(sorted(mods)))' % (collections_path(), module))
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split()


def test_backend_loads_no_os_backend():
    loaded = loaded_by('backend')
    for other in ('linux', 'procsys', 'bsd', 'bsd_report', 'report', 'portinfo', 'procnet', 'nftables', 'catalogue'):
        assert other not in loaded


def test_bsd_entry_points_load_no_linux_code():
    for module in ('backend_bsd', 'bsd_report'):
        loaded = loaded_by(module)
        assert 'bsd' in loaded
        for other in ('linux', 'procsys', 'sysctld', 'procnet', 'sockdiag', 'portinfo'):
            assert other not in loaded, (module, other)


def test_linux_import_does_not_load_other_backends():
    loaded = loaded_by('backend_linux')
    assert 'linux' in loaded and 'backend' in loaded
    for other in ('bsd', 'bsd_report', 'report', 'portinfo', 'procnet', 'nftables', 'catalogue'):
        assert other not in loaded


def test_linux_port_info_does_not_load_the_bsd_report_or_write_code():
    loaded = loaded_by('portgather')  # all of linux_port_info's host code
    assert 'procnet' in loaded and 'procsys' in loaded and 'sockdiag' in loaded
    for other in ('bsd', 'bsd_report', 'nftables', 'linux', 'sysctld', 'hostlock'):
        assert other not in loaded
    # loaded where they are used: the module reads the tables in a thread meanwhile, or the controller builds them
    for later in ('conflicts', 'catalogue', 'managers', 'nft_dynamic', 'procowners'):
        assert later not in loaded, later


def test_probe_runner_returns_what_run_command_does():
    """port_info's probes: rc, stdout and stderr as text, the module's environment update applied."""
    module = type('Module', (), {'run_command_environ_update': {'PW_PROBE': 'seen'}})()
    run = backend.probe_runner(module)
    assert run(['sh', '-c', 'echo "$PW_PROBE"; echo err >&2; exit 3']) == (3, 'seen\n', 'err\n')
    with pytest.raises(PortwardenError) as err:
        run(['/nonexistent/portwarden-probe'])
    assert 'Cannot run /nonexistent/portwarden-probe' in err.value.msg
