# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one domain exception of the collection.

Everything below the modules raises :class:`PortwardenError`; each module's
``main()`` turns it into ``fail_json(msg=...)`` in exactly one place.
"""

from __future__ import annotations


class PortwardenError(Exception):
    """A domain error: bad input, a value the OS would refuse, a failed read or write.

    The message says what was wrong, with the offending value, and what is allowed.
    """

    def __init__(self, msg, **details):
        super(PortwardenError, self).__init__(msg)
        self.msg = msg
        self.details = details
