# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/firewall_scale.py timeline: the phases of a replace read from the marks of one run's processes."""

from __future__ import annotations

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'benchmarks'))

import firewall_scale  # noqa: E402  pylint: disable=wrong-import-position

# (seconds, pid, mark) of one replace: the controller (pid 10, worker 11), the apply (20), its child (21), the confirm (30)
MARKS = '''100.000 10 queue start
100.010 11 executor start
100.200 11 module call start
100.201 11 ansiballz start
100.350 11 ansiballz end
100.370 20 module start
100.500 20 rename inet-portwarden.abcd0001.restore
100.510 20 rename inet-portwarden.abcd0001.pending
100.520 20 nft -f start
101.120 20 nft -f end
101.130 20 module exit
101.140 11 module call end
101.141 11 module call start
101.150 30 module start
101.290 30 rename inet-portwarden.abcd0001.pending.confirmed
101.310 21 rename inet-portwarden.abcd0001.loaded
101.320 30 rename portwarden.nft
101.325 30 rename inet-portwarden.record
101.330 30 module exit
101.350 11 module call end
101.352 11 executor end
'''


def test_the_phases_of_a_replace(tmp_path):
    path = tmp_path / 'marks'
    path.write_text(MARKS)
    phases, in_child = firewall_scale.timeline_phases(firewall_scale._timeline_events(str(path)))  # pylint: disable=protected-access
    got = dict(phases)
    assert in_child is True
    assert got['read, validate, model, render (controller)'] == pytest.approx(0.19)
    assert got['apply: nft -f'] == pytest.approx(0.6)
    assert got['the digest, after nft -f (in the child: overlaps what follows)'] == pytest.approx(0.19)
    assert got['confirm: the marker to the record written (waiting for the digest, writes)'] == pytest.approx(0.035)
    assert got['load task (queued to done)'] == pytest.approx(1.352)
    # the phases on the critical path add up to the task
    assert sum(v for k, v in phases[:-1] if not k.startswith('the digest')) == pytest.approx(1.352)


def test_a_digest_in_the_apply_module_is_said_so(tmp_path):
    path = tmp_path / 'marks'
    path.write_text(MARKS.replace('101.310 21 rename inet-portwarden.abcd0001.loaded\n', '').replace(
        '101.130 20 module exit', '101.125 20 rename inet-portwarden.abcd0001.loaded\n101.130 20 module exit'))
    _phases, in_child = firewall_scale.timeline_phases(firewall_scale._timeline_events(str(path)))  # pylint: disable=protected-access
    assert in_child is False
