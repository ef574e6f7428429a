# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A replacement of ONE table that keeps the sets it would only declare again.

A script in the shape that replaces one table whole (``table F N {}``, ``delete table F N``, then ``table F N {
... }`` with the table's objects) makes the kernel delete every element of every set and parse and add them again:
at 100,000 source networks that is most of the replacement's time (0.7 s of ``nft -f``), also when only a rule
changed. Where the live table is the one the previous script declared (the record vouches for it, nothing drifted),
:func:`replacement` writes the same change as one transaction that leaves the leading sets alone, up to the first
set whose declaration is not the same, character for character, in both scripts: it flushes and deletes the
table's chains and the other objects, and declares them from the new script. The kernel keeps a table's sets in
the order they were made, so the table is then the one the whole script gives, in the same order. A kept set that
packets fill (the bans, the scan meters, the per-source rate limits) keeps its elements as they are.

Any other shape of script (a ``define``, statements outside the table block, a ``meter``, another table) gets None:
the caller loads the script whole.
"""

from __future__ import annotations

import re

from ansible_collections.portwarden.ports.plugins.module_utils import nft_bans

# The objects a table block declares, by the keyword(s) that start them (``ct helper`` and the others: two words).
KINDS = ('set', 'map', 'chain', 'counter', 'quota', 'limit', 'flowtable', 'ct helper', 'ct timeout', 'ct expectation',
         'synproxy', 'secmark')
HEADER_RE = re.compile(r'^(%s)\s+([A-Za-z_][A-Za-z0-9_./-]*)\s*\{' % '|'.join(kind.replace(' ', r'\s+') for kind in KINDS))
# A meter is a set that a rule makes: a script with one is loaded whole.
METER_RE = re.compile(r'\bmeter\b')


def code_of(line):
    """A line without its comment and the text of quoted strings (the braces and words that nft reads)."""
    if '#' not in line and '"' not in line:
        return line
    kept, quoted = [], False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == '#' and not quoted:
            break
        elif not quoted:
            kept.append(char)
    return ''.join(kept)


def table_objects(content, family, name):
    """``(attributes, objects)`` of a script that replaces the table ``family name`` whole: the table block's own
    statements (``flags``, ``comment`` ...) and its objects as ``(kind, name, text)`` in order; None for a script of
    any other shape."""
    prelude = ['table %s %s {}' % (family, name), 'delete table %s %s' % (family, name), 'table %s %s {' % (family, name)]
    stage, depth, current = 0, 0, None
    attributes, objects, seen = [], [], set()
    for line in content.split('\n'):
        code = code_of(line)
        if 'meter' in code and METER_RE.search(code):
            return None
        if current is None:                       # a statement of its own (inside an object: only the braces count)
            code = ' '.join(code.split())
        if stage < len(prelude):
            if not code:
                continue
            if code != prelude[stage]:
                return None
            stage += 1
            depth = 1 if stage == len(prelude) else 0
            continue
        if depth == 0:                            # after the table block: only comments and blank lines
            if code:
                return None
            continue
        if current is None:
            if not code:
                continue
            if code == '}':
                depth = 0
                continue
            match = HEADER_RE.match(code)
            if not match:
                if '{' in code or '}' in code:
                    return None
                attributes.append(line.strip())   # as written: any difference, comments too, loads the whole script
                continue
            kind = ' '.join(match.group(1).split())
            current = (kind, match.group(2), [line])
            key = ('set' if kind == 'map' else kind, current[1])    # sets and maps share their names
            if key in seen:
                return None                       # declared twice
            seen.add(key)
        else:
            current[2].append(line)
        depth += code.count('{') - code.count('}')
        if depth < 1:
            return None
        if depth == 1:
            objects.append((current[0], current[1], '\n'.join(current[2])))
            current = None
    if stage < len(prelude) or depth != 0 or current is not None:
        return None
    return attributes, objects


def replacement(family, name, before, after):
    """``(script, kept)``: one ``nft -f`` transaction that turns the live table declared by ``before`` into the one
    ``after`` declares, keeping the sets in ``kept``: the leading sets of ``after`` (in the order it declares its
    sets and maps) that ``before`` declares in the same places, the same character for character. The kernel lists
    a table's sets in the order they were made, and the sets after them are made again in the script's order, so the
    table is the one the whole script gives, in the same order (the record's digest is the same). None when either
    script is not in the shape :func:`table_objects` reads, the table's own statements differ, or no set is kept
    (the whole script is then as good)."""
    old = table_objects(before, family, name) if before else None
    new = table_objects(after, family, name) if old else None
    if old is None or new is None or old[0] != new[0]:
        return None
    kept = []
    for (kind, object_name, text), was in zip(_sets(new[1]), _sets(old[1])):
        if kind != 'set' or (kind, object_name, text) != was:
            break
        kept.append(object_name)
    if not kept:
        return None
    keep = set(kept)
    target = '%s %s' % (family, name)
    chains = [object_name for kind, object_name, dummy in old[1] if kind == 'chain']
    lines = ['# nft_table: the table %s replaced, its unchanged leading sets kept: %s' % (target, ', '.join(kept))]
    lines.extend('flush chain %s %s' % (target, chain) for chain in chains)
    lines.extend('delete chain %s %s' % (target, chain) for chain in chains)
    lines.extend('delete %s %s %s' % (kind, target, object_name) for kind, object_name, dummy in old[1]
                 if kind != 'chain' and not (kind == 'set' and object_name in keep))
    lines.append('table %s {' % target)
    lines.extend(text for kind, object_name, text in new[1] if not (kind == 'set' and object_name in keep))
    lines.append('}')
    return '\n'.join(lines) + '\n', kept


def _sets(objects):
    """The sets and maps among ``objects``, in order (the kernel keeps them in one list)."""
    return [item for item in objects if item[0] in ('set', 'map')]


def load_script(family, name, content, before, carried, release=()):
    """What loads ``content`` over the live table: ``(script, kept)``. Where ``before`` (the script the live table
    was loaded from, vouched for by the record; None otherwise) and ``content`` both replace the table whole, the
    transaction of :func:`replacement` (the bans in the sets it keeps stay, minus the ``(set, value)`` pairs of
    ``release``, as nft_bans.ban_key names them); else ``content`` itself. The bans ``carried`` (``{set: [(value,
    seconds_left)]}``) of the sets not kept go over with the time they have left."""
    script, kept = replacement(family, name, before, content) or (content, [])
    moved = dict((set_name, items) for set_name, items in carried.items() if set_name not in kept)
    stayed = dict((set_name, items) for set_name, items in carried.items() if set_name in kept)
    return (script + nft_bans.carry_over_script(family, name, moved, release)
            + nft_bans.release_script(family, name, stayed, release)), kept
