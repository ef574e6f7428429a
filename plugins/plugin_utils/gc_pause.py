# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cyclic garbage collector held off on the controller while a large model of plain trees is built.

The fleet report's model and the host_firewall role's catalogue are made of hundreds of thousands of tuples,
strings and dictionaries and hold no cycles: reference counting frees what is dropped, and each pass of the cyclic
collector would only walk the growing heap again (benchmarks/report_render.py: 15x instead of 10x from 1,000 to
10,000 hosts; 0.03-0.06 s of the role's 100,000-source model).
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def cyclic_gc_paused():
    """Hold the cyclic collector off inside the block; as it was after it (also when the block raises)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
