# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host side of nft_table: apply ONE nftables table atomically, with a rollback timer the host runs by itself.

:class:`TableManager` reads, checks, loads and restores one table with the
``nft`` binary (argument lists, explicit return code checks); other tables
are never read or written and the ruleset is never flushed. The phases:

* :func:`apply_table` first settles what earlier runs left (an unconfirmed
  run's table is restored and its timer disarmed, its files removed), then
  compares, arms a timer keyed to this run's token and loads;
* :func:`confirm_table` takes this run's pending marker before the timer does
  and commits: rules file, boot configuration, record;
* :func:`status_table` tells whether this run's timer restored the table.

A failure after the load rolls the table back, or says why it could not.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.module_utils.fileio import (
    read_text, remove_stale_temps, writable_directory, write_file_atomic)
from ansible_collections.portwarden.ports.plugins.module_utils import nft_bans, nft_delta, nft_dynamic
from ansible_collections.portwarden.ports.plugins.module_utils.nft_boot import apply_persistence, plan_persistence, public
from ansible_collections.portwarden.ports.plugins.module_utils.nft_netlink import FAMILY_NUMBERS, Unavailable, table_state
from ansible_collections.portwarden.ports.plugins.module_utils.nft_record import (
    Record, content_digest, normalize_listing, observe, restore_script, ruleset_generation)
from ansible_collections.portwarden.ports.plugins.module_utils.nft_runs import (
    RUN_FILES, check_loaded_script, in_background, remove as _remove, runs, settle, wait_background)

FAMILIES = ('inet', 'ip', 'ip6', 'arp', 'bridge', 'netdev')
TABLE_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,31}\Z')

FLUSH_RULESET_RE = re.compile(r'(^|[;{])\s*flush\s+ruleset\b')
NOTHING_CHANGED = 'nothing was changed'
# The rollback timer, run detached on the host; it holds the host lock (an inherited descriptor) from the apply
# until the confirmation is done or the table is restored, so no other run applies in between. Wait up to $1
# seconds for the controller to take the pending marker $2 away (renamed to $2.confirmed by the confirmation, or
# taken by a later run settling this one); if it is still there, take it atomically (rename: only one of timer and
# confirmation wins) and load the restore script $3 with nft $4, writing the outcome to $5. Then wait while a
# confirmation is under way ($2.confirmed, removed when it is done).
WATCHDOG = r'''
i=0
while [ "$i" -lt "$1" ] && [ -e "$2" ]; do
  sleep 1
  i=$((i + 1))
done
if mv "$2" "$2.expired" 2>/dev/null; then
  "$4" -f "$3" > "$5.tmp" 2>&1
  echo "rc=$?" >> "$5.tmp"
  mv -f "$5.tmp" "$5"
  rm -f "$2.expired"
fi
j=0
while [ -e "$2.confirmed" ] && [ "$j" -lt 3000 ]; do
  sleep 0.2
  j=$((j + 1))
done
'''


def statements(content):
    """The lines of an nftables script that may hold a statement (comments and quoted strings left out)."""
    for line in content.splitlines():
        if 'flush' in line:
            yield nft_delta.code_of(line)


class TableManager(object):
    """Read, check, load and restore ONE nftables table; never any other.

    ``module`` is an AnsibleModule (or a stand-in with ``run_command``,
    ``get_bin_path``, ``atomic_move`` and ``tmpdir`` in unit tests).
    """

    def __init__(self, module, family, name, state_dir):
        if family not in FAMILIES:
            raise PortwardenError('invalid family %r: allowed values are %s.' % (family, ', '.join(FAMILIES)))
        if not isinstance(name, str) or not TABLE_NAME_RE.match(name):
            raise PortwardenError('invalid table name %r: use 1-32 letters, digits or "_", starting with a letter.' % (name,))
        if not os.path.isabs(state_dir):
            raise PortwardenError('state_dir: invalid value %r: expected an absolute path (the rollback timer runs in /). '
                                  'Nothing was changed.' % (state_dir,))
        self.module = module
        self.family = family
        self.name = name
        self.state_dir = state_dir
        self.settled = []
        # The record of a loaded table taken by a child process while the controller reconnects (the module sets it;
        # unit tests' stand-ins take it in the apply itself).
        self.background = False
        self.nft = module.get_bin_path('nft')
        if not self.nft:
            raise PortwardenError('the nft binary was not found on the host (PATH, /sbin, /usr/sbin, /usr/local/sbin): install '
                                  'the nftables package (the host_firewall role does so with host_firewall_install: true). '
                                  'Nothing was changed.', nft_missing=True)

    # -- files in the state directory ------------------------------------------
    def state_path(self, suffix):
        return os.path.join(self.state_dir, '%s-%s.%s' % (self.family, self.name, suffix))

    def ensure_state_dir(self):
        if not os.path.isdir(self.state_dir):
            try:
                os.makedirs(self.state_dir, 0o700)
            except OSError as exc:
                raise PortwardenError('cannot create the state directory %s: %s' % (self.state_dir, exc))

    def write_atomic(self, path, content, mode=0o600):
        write_file_atomic(path, content, self.module.atomic_move, mode)

    def scratch(self, content):
        """A private temporary file holding ``content`` (removed with the module's temporary directory)."""
        fd, tmp = tempfile.mkstemp(prefix='.%s-%s.' % (self.family, self.name), suffix='.nft', dir=self.module.tmpdir)
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        return tmp

    def unchanged(self):
        """What a failure before the load leaves: nothing, or the table that settling earlier runs restored."""
        if not self.settled:
            return NOTHING_CHANGED
        return ('nothing else was changed (the table of an earlier, unconfirmed run (%s) was restored first, and is live)'
                % ', '.join(self.settled))

    # -- nft ---------------------------------------------------------------------
    def _nft(self, args):
        rc, out, err = self.module.run_command([self.nft] + list(args), check_rc=False)
        return rc, out, err

    def listing(self):
        """The table as the kernel lists it (normalized), or None if it does not exist."""
        rc, out, err = self._nft(['-s', 'list', 'table', self.family, self.name])
        if rc != 0:
            if 'No such file or directory' in err or 'does not exist' in err:
                return None
            raise PortwardenError('nft list table %s %s failed (rc=%d): %s' % (self.family, self.name, rc, err.strip()))
        return normalize_listing(out)

    def check_file(self, path, what, note=None):
        rc, out, err = self._nft(['-c', '-f', path])
        if rc != 0:
            raise PortwardenError('%s does not pass "nft -c -f" (rc=%d), %s: %s'
                                  % (what, rc, note or self.unchanged(), (err or out).strip()))

    def load_file(self, path, what, note=None):
        """``nft -f``: one transaction, which the kernel takes whole or not at all."""
        rc, out, err = self._nft(['-f', path])
        if rc != 0:
            raise PortwardenError('%s does not load: "nft -f" refused the whole transaction (rc=%d), %s: %s'
                                  % (what, rc, note or self.unchanged(), (err or out).strip()))

    def generation(self):
        """An identity of the ruleset's state, or None when the kernel cannot tell (see ruleset_generation)."""
        return ruleset_generation()

    def live_state(self, generation):
        """The table's netlink digest (nft_netlink; ABSENT when it does not exist) read at ``generation``, or None
        where netlink cannot give one at that generation (callers then list the table)."""
        if not generation:
            return None
        try:
            genid, state = table_state(FAMILY_NUMBERS[self.family], self.name)
        except Unavailable:
            return None
        return state if ruleset_generation(genid) == generation else None

    def start_watchdog(self, timeout, pending, restore, outcome, lock=None):
        """Start the rollback timer, detached from this process and its session; it takes over the host lock."""
        sh = self.module.get_bin_path('sh', required=True)
        argv = [sh, '-c', WATCHDOG, 'portwarden-rollback', str(int(timeout)), pending, restore, self.nft, outcome]
        fds = (lock.fd,) if lock is not None and lock.fd is not None else ()
        with open(os.devnull, 'r+b') as devnull:
            # A plain fork-and-forget: the timer must outlive this module and the connection that started it.
            import subprocess  # pylint: disable=import-outside-toplevel
            proc = subprocess.Popen(argv, stdin=devnull, stdout=devnull, stderr=devnull, close_fds=True, pass_fds=fds,
                                    start_new_session=True, cwd='/')
        if fds:
            holder = ('pid %d (the rollback timer of nft_table %s %s, run %s: until it is confirmed, at most %d s), since %s UTC'
                      % (proc.pid, self.family, self.name, os.path.basename(pending).split('.')[1], timeout,
                         time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())))
            os.ftruncate(lock.fd, 0)
            os.pwrite(lock.fd, holder.encode('utf-8') + b'\n', 0)
            os.close(lock.fd)                      # closed, not unlocked: the timer's copy keeps the lock
            lock.fd = None


def check_content(mgr, content):
    if not isinstance(content, str) or not content.strip():
        raise PortwardenError('content is empty: expected an nftables script that defines the table %s %s. Nothing was '
                              'changed.' % (mgr.family, mgr.name))
    if any(FLUSH_RULESET_RE.search(line) for line in statements(content)):
        raise PortwardenError('content contains the statement "flush ruleset": refused, it would remove the tables of other '
                              'tools (Docker, Kubernetes, libvirt). Replace only the table %s %s. Nothing was changed.'
                              % (mgr.family, mgr.name))


def _preflight(mgr, path, persist, file_changed):
    """Fail before anything changes where a write would fail (an unwritable or read-only directory)."""
    try:
        writable_directory(os.path.join(mgr.state_dir, 'record'))
        if file_changed:
            writable_directory(path)
        if persist.get('include_changed'):
            writable_directory(persist['include_file'])
    except PortwardenError as exc:
        raise PortwardenError('%s The new table was not loaded: %s.' % (exc.msg, mgr.unchanged()), path=exc.details.get('path'))


def _compare(mgr, content, path, include_in, enable_service):
    record = Record.parse(read_text(mgr.state_path('record')))
    generation = mgr.generation()
    live = observe(mgr, record, generation)
    try:
        on_disk = read_text(path)
    except PortwardenError:
        on_disk = None                            # not readable as a file: the preflight names what is wrong
    drifted = live.drifted
    table_changed = not live.exists or record is None or record.digest != content_digest(content) or drifted
    persist = plan_persistence(mgr.module, path, include_in, enable_service)
    if on_disk is not None and not drifted and record is not None:
        before, before_header = on_disk, path
    else:
        before, before_header = live.text(), 'nft list table %s %s' % (mgr.family, mgr.name)
    diff = {'before': before, 'after': content, 'before_header': before_header, 'after_header': path}
    file_changed = on_disk != content
    if persist.get('include_diff'):
        diff = [diff, persist['include_diff']] if (table_changed or file_changed) else persist['include_diff']
    state = dict(record=record, generation=generation, live=live, on_disk=on_disk, persist=persist)
    result = {'changed': table_changed or file_changed or persist['changed'] or bool(mgr.settled),
              'table_changed': table_changed, 'file_changed': file_changed, 'drifted': drifted, 'diff': diff,
              'pending': None, 'rolled_back': False, 'settled': list(mgr.settled), 'kept': []}
    result.update(public(persist))
    return result, state


def _vouched(state, result):
    """The script the live table was loaded from, where the record vouches for it (the rules file is the script
    recorded, and the table did not drift since); else None."""
    record, on_disk = state['record'], state['on_disk']
    vouched = state['live'].exists and not result['drifted'] and record is not None and on_disk is not None
    return on_disk if vouched and content_digest(on_disk) == record.digest else None


def _dynamic(mgr, content, keep_sets, unban, result, exists):
    """Bans to carry over a replacement and to release: (release script, the bans of ``keep_sets`` that the
    content declares, the bans now, the ``(set, value)`` pairs to release). Reads the ban sets only when there is
    something to do with them."""
    release = [nft_bans.ban_key(source) for source in unban]
    bans = {}
    if release or (keep_sets and exists and result['table_changed']):
        bans = nft_dynamic.DynamicState(lambda argv: mgr.module.run_command(argv, check_rc=False), mgr.nft,
                                        mgr.family, mgr.name).bans()
    release_text = nft_bans.release_script(mgr.family, mgr.name, bans, release)
    released = sorted(set('%s%s' % (value, '/64' if name == 'banned_v6' else '') for name, value in release
                          if any(v == value for v, dummy in bans.get(name, []))))
    wanted = dict((name, items) for name, items in bans.items() if name in keep_sets)
    result['released'] = released
    result['changed'] = result['changed'] or bool(release_text)
    return release_text, nft_bans.declared(content, wanted), bans, release


def apply_table(mgr, content, path, rollback_timeout, token, check_mode, file_mode=0o644, include_in=None,
                enable_service=False, lock=None, keep_sets=(), unban=()):
    """Apply phase. Returns a result dict; ``pending`` is set when the controller must confirm within
    ``rollback_timeout`` seconds; the timer then holds ``lock`` (the host lock this run took) until the confirmation
    is done or the table restored.

    nft runs only where needed: none at all when the ruleset generation shows that nothing was committed since the
    record (otherwise the netlink digest); in check mode ``nft -c -f`` when the table would change; when applying,
    one ``nft -f`` (all or nothing, so it is also the check; the sets that stay are kept: nft_delta), and a
    ``nft -c -f`` of the saved table only when it has to be restored from a listing.
    """
    check_content(mgr, content)
    what = 'the new ruleset for table %s %s' % (mgr.family, mgr.name)
    mgr.settled = []
    if check_mode:
        result, state = _compare(mgr, content, path, include_in, enable_service)
        dummy, carried, dummy, release = _dynamic(mgr, content, keep_sets, unban, result, state['live'].exists)
        unsettled = sorted(t for t, s in runs(mgr).items() if 'pending' in s and t != token)
        result.update(settled=unsettled, changed=result['changed'] or bool(unsettled))
        if result['changed']:
            _preflight(mgr, path, state['persist'], result['file_changed'] or result['table_changed'])
        if result['table_changed']:
            before = _vouched(state, result)
            script, result['kept'] = nft_delta.load_script(mgr.family, mgr.name, content, before, carried, release)
            mgr.check_file(mgr.scratch(script), what)
        return result
    settle(mgr, token)
    remove_stale_temps(os.path.dirname(path))
    result, state = _compare(mgr, content, path, include_in, enable_service)
    record, live, on_disk = state['record'], state['live'], state['on_disk']
    release_text, carried, bans, release = _dynamic(mgr, content, keep_sets, unban, result, live.exists)
    if release_text and not result['table_changed']:
        mgr.load_file(mgr.scratch(release_text), 'the release of %s from the ban sets' % ', '.join(result['released']))
        if not (result['file_changed'] or state['persist']['changed']):
            return result
    if not result['changed']:
        if state['generation'] and record is not None and state['generation'] != record.generation:
            # Remember that the table matched at this generation: the next run reads nothing unless something is
            # committed (and a record of an earlier version holds the digest from now on).
            mgr.write_atomic(mgr.state_path('record'), live.record(record.digest, state['generation']).format())
        return result
    _preflight(mgr, path, state['persist'], result['file_changed'] or result['table_changed'])
    mgr.ensure_state_dir()
    digest = content_digest(content)
    if not result['table_changed']:
        commit(mgr, content, path, file_mode, state['persist'], live.record(digest, state['generation']),
               undo=None, on_disk=on_disk)
        return result
    # The replacement keeps the sets that stay the same where the record vouches for the script the live table was
    # loaded from; the bans of the sets it does not keep go over with their time left.
    before = _vouched(state, result)
    script, result['kept'] = nft_delta.load_script(mgr.family, mgr.name, content, before, carried, release)
    candidate = mgr.scratch(script)
    # What puts the current table back, taken before the load: the script that loaded it (known to load) where the
    # record vouches for it, else its listing (the only place where a replacement needs the table's text).
    if not live.exists:
        undo_text, checked = restore_script(mgr.family, mgr.name, None), True
    elif before is not None:
        undo_text, checked = on_disk, True
    else:
        undo_text, checked = restore_script(mgr.family, mgr.name, live.text()), False
    if rollback_timeout <= 0:
        mgr.load_file(candidate, what)
        commit(mgr, content, path, file_mode, state['persist'], _loaded(mgr, digest),
               undo=lambda: _load_undo(mgr, mgr.scratch(undo_text)), on_disk=on_disk)
        return result
    restore = mgr.state_path('%s.restore' % token)
    # ... with the bans it holds now
    mgr.write_atomic(restore, undo_text + nft_bans.carry_over_script(mgr.family, mgr.name, nft_bans.declared(undo_text, bans)))
    if not checked:
        mgr.check_file(restore, 'the saved copy of the current table %s %s (needed for rollback)' % (mgr.family, mgr.name))
    # The confirmation commits this copy, so the controller need not send the content a second time.
    saved = mgr.state_path('%s.candidate' % token)
    mgr.write_atomic(saved, content)
    pending = mgr.state_path('%s.pending' % token)
    mgr.write_atomic(pending, '%s\n%s\n' % (token, digest))     # what the confirmation may commit: this script only
    mgr.start_watchdog(rollback_timeout, pending, restore, mgr.state_path('%s.rolledback' % token), lock=lock)
    try:
        mgr.load_file(candidate, what)
    except PortwardenError:
        for leftover in (pending, restore, saved):
            _remove(leftover)
        raise
    # What is live right after this run's load, under the host lock: the record the confirmation writes. The
    # generation is read now; the table's digest (a dump of every element) is taken by a child process while the
    # controller reconnects, and the confirmation waits for it.
    generation = mgr.generation()
    loaded = mgr.state_path('%s.loaded' % token)

    def record():
        mgr.write_atomic(loaded, _loaded(mgr, digest, generation).format())
    if not (mgr.background and in_background(mgr, token, record)):
        record()
    result['pending'] = token
    return result


def _loaded(mgr, digest, generation=None):
    """The record of what is live right after this run's load: the table's netlink digest, or its listing where
    netlink cannot give one. The generation is read first (or given, read right after the load): a commit in
    between makes the next run read again."""
    generation = mgr.generation() if generation is None else generation
    state = mgr.live_state(generation)
    return Record(digest, generation, None if state else (mgr.listing() or ''), state)


def _load_undo(mgr, script):
    """Load the script file that puts the previous table back; None when done, else why it could not be."""
    try:
        mgr.load_file(script, 'the saved copy of the previous table', note='the new table stays live')
    except PortwardenError as exc:
        return exc.msg
    return None


def commit(mgr, content, path, file_mode, persist, record, undo, on_disk):
    """Write the rules file, the boot configuration and the record (``record``: what is live now).

    When a write fails after the table was loaded (``undo`` given), the files written are put back and ``undo()``
    loads the previous table; the error then says whether that worked and what is live.
    """
    written = []
    try:
        if on_disk != content:
            write_file_atomic(path, content, mgr.module.atomic_move, file_mode)
            written.append((path, on_disk, file_mode))
        if persist.get('include_changed'):
            written.append((persist['include_file'], persist['include_diff']['before'] or None, None))
        apply_persistence(mgr.module, persist, check=lambda tmp: mgr.check_file(
            tmp, '%s with the include line' % persist['include_file'], note='see below'))
        mgr.write_atomic(mgr.state_path('record'), record.format())
    except PortwardenError as exc:
        for target, before, mode in reversed(written):
            try:
                if before is None:
                    _remove(target)
                else:
                    write_file_atomic(target, before, mgr.module.atomic_move, mode or 0o644)
            except PortwardenError:
                pass
        reason = exc.msg.replace(', see below', '')
        if undo is None:
            raise PortwardenError('%s The table was already as wanted and stays live; the files were put back as they were.'
                                  % reason)
        why_not = undo()
        if why_not is None:
            raise PortwardenError('ROLLED BACK after the load: %s The previous table is live again and the files were put back '
                                  'as they were: nothing was changed.' % reason, rolled_back=True)
        raise PortwardenError('%s The new table is live and was not rolled back because %s' % (reason, why_not),
                              rolled_back=False)
    return public(persist)


def rollback_outcome(mgr, token):
    """(rolled_back, detail) for the timer of ``token``."""
    text = read_text(mgr.state_path('%s.rolledback' % token))
    if text is None:
        return False, None
    return True, text.strip()


def confirm_table(mgr, content, path, token, file_mode=0o644, include_in=None, enable_service=False):
    """Confirm phase: the controller reached the host again. Take this run's pending marker away before the timer
    does; then commit. Raises if too late, or if a later run settled this one.

    An empty ``content`` stands for the copy that the apply phase saved. What is committed must be the script the
    apply loaded (its digest is in the pending marker): otherwise the previous table is restored and nothing is
    written. The record is the one taken right after the load (waited for where a child process takes it); where
    there is none, or not of this script, a record that makes the next run compare the whole table and load it again.
    """
    pending = mgr.state_path('%s.pending' % token)
    saved = mgr.state_path('%s.candidate' % token)
    restore = mgr.state_path('%s.restore' % token)
    try:
        os.rename(pending, pending + '.confirmed')
    except OSError:
        rolled_back, detail = rollback_outcome(mgr, token)
        if rolled_back or os.path.exists(pending + '.expired'):
            raise PortwardenError('too late to confirm: the rollback timer had already expired and the host restored the '
                                  'previous table %s %s (%s).' % (mgr.family, mgr.name, detail or 'restore in progress'),
                                  rolled_back=True, timer_fired=True)
        raise PortwardenError('nothing to confirm for table %s %s: the change of this run (%s) is no longer pending. Another '
                              'run settled it (restored the table it had replaced) before applying its own, which is live '
                              'now; this run wrote no file. Run again to apply this run\'s rules.'
                              % (mgr.family, mgr.name, token), superseded=True)
    given = bool(content)
    if not content:
        content = read_text(saved)
        if content is None:
            raise PortwardenError('confirmed the new table %s %s, but its saved copy %s is gone: the new table is live, the '
                                  'rules file %s was not written; run the task again.' % (mgr.family, mgr.name, saved, path))
    result = {'changed': True, 'confirmed': True}

    def undo():
        return _load_undo(mgr, restore)
    try:
        digest = content_digest(content)
        check_loaded_script(mgr, read_text(pending + '.confirmed'), digest, 'the content given' if given else saved,
                            undo=undo)
        wait_background(mgr, token)
        loaded = Record.parse(read_text(mgr.state_path('%s.loaded' % token)))
        if loaded is None or loaded.digest != digest:
            loaded = Record(digest, None, '')
        persist = plan_persistence(mgr.module, path, include_in, enable_service)
        result.update(commit(mgr, content, path, file_mode, persist, loaded, undo=undo, on_disk=read_text(path)))
    finally:
        cleanup_token(mgr, token)
    return result


def status_table(mgr, token):
    """Status phase (after the controller lost the host): did it roll back?"""
    rolled_back, detail = rollback_outcome(mgr, token)
    pending = mgr.state_path('%s.pending' % token)
    return {'rolled_back': rolled_back, 'rollback_output': detail, 'waiting': os.path.exists(pending)
            or os.path.exists(pending + '.expired')}


def cleanup_token(mgr, token):
    wait_background(mgr, token)                 # a child still taking the record would write it afterwards
    for suffix in RUN_FILES:
        _remove(mgr.state_path('%s.%s' % (token, suffix)))
