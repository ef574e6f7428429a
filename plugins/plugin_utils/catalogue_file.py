# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A service catalogue read from a file of its own on the controller (the ``portwarden.ports.catalogue`` lookup).

A catalogue in group_vars or ``-e @file`` is decoded by ansible-core with a data tag on each of its strings before
any task runs: 0.5 s (JSON) to 1.9 s (``-e``) for 100,000 sources on the benchmark's machine, on every run, whatever
the roles do. Read here, the file is data: JSON with the standard library's decoder, YAML with PyYAML's safe loader
(libyaml's where it is built in). Nothing in it is a template.

YAML costs about 0.3 s per 100,000 strings even with libyaml, and a lookup runs again wherever its variable is
rendered (each host, each task). So a YAML file's parsed catalogue is kept as JSON under the SHA-256 of its bytes and
of the loader (:class:`catalogue_cache.CatalogueCache`, ``<ANSIBLE_HOME>/portwarden/catalogue_files``): the next
read of the same bytes is a JSON decode (4 ms at that size). A changed byte is another key. A vault-encrypted file
is decrypted by the caller and never kept.
"""

from __future__ import annotations

import hashlib
import json
import os

import yaml

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils.catalogue_cache import CatalogueCache, default_directory
from ansible_collections.portwarden.ports.plugins.plugin_utils.gc_pause import cyclic_gc_paused

VERSION = 1
JSON_SUFFIXES = ('.json',)
YAML_SUFFIXES = ('.yml', '.yaml')
SUFFIXES = JSON_SUFFIXES + YAML_SUFFIXES
KEY = 'portwarden_services'
VAULT_HEADER = b'$ANSIBLE_VAULT;'
_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def default_cache():
    """The kept YAML files' catalogues: ``<ANSIBLE_HOME>/portwarden/catalogue_files``."""
    return CatalogueCache(os.path.join(os.path.dirname(default_directory()), 'catalogue_files'))


def file_format(path, fmt='auto'):
    """'json' or 'yaml': ``fmt`` when given, else by the file's suffix."""
    if fmt in ('json', 'yaml'):
        return fmt
    if fmt != 'auto':
        raise PortwardenError('catalogue: invalid format %r: allowed are auto, json, yaml.' % (fmt,))
    lower = path.lower()
    if lower.endswith(JSON_SUFFIXES):
        return 'json'
    if lower.endswith(YAML_SUFFIXES):
        return 'yaml'
    raise PortwardenError('catalogue: %s: cannot tell the format from the name: allowed suffixes are %s, or set '
                          'format=json or format=yaml.' % (path, ', '.join(SUFFIXES)))


def _key(data):
    digest = hashlib.sha256(('catalogue-file %d yaml %s %s\0' % (VERSION, yaml.__version__, _LOADER.__name__))
                            .encode('ascii'))
    digest.update(data)
    return digest.hexdigest()


def _decode_json(data, name):
    try:
        return json.loads(data.decode('utf-8'))
    except UnicodeDecodeError as exc:
        raise PortwardenError('catalogue: %s: not UTF-8 text (byte %d).' % (name, exc.start))
    except ValueError as exc:
        raise PortwardenError('catalogue: %s: invalid JSON: %s.' % (name, exc))


def _decode_yaml(data, name):
    try:
        return yaml.load(data, Loader=_LOADER)  # nosec B506: a safe loader (libyaml's CSafeLoader or SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = ' line %d column %d:' % (mark.line + 1, mark.column + 1) if mark is not None else ''
        problem = getattr(exc, 'problem', None) or str(exc)
        raise PortwardenError('catalogue: %s:%s invalid YAML: %s.' % (name, where, problem))


def services_of(value, name):
    """The catalogue a file holds: a list of services, or a mapping whose only key is ``portwarden_services`` (a
    group_vars file's text moved as it is); an empty file is an empty catalogue."""
    if value is None:
        return []
    if isinstance(value, dict):
        other = sorted(str(key) for key in value if key != KEY)
        if other or KEY not in value:
            raise PortwardenError('catalogue: %s: a mapping may only hold %s (found %s).'
                                  % (name, KEY, ', '.join(other) or 'nothing'))
        value = value[KEY]
        if value is None:
            return []
    if not isinstance(value, list):
        raise PortwardenError('catalogue: %s: the catalogue must be a list of services (or a mapping with %s), '
                              'not %s.' % (name, KEY, type(value).__name__))
    for index, service in enumerate(value):
        if not isinstance(service, dict):
            raise PortwardenError('catalogue: %s: entry %d must be a mapping (a service), not %s.'
                                  % (name, index, type(service).__name__))
    return value


def parse(data, name, fmt, cache=None):
    """The catalogue in ``data`` (the file's bytes; ``name`` names it in errors) of format 'json' or 'yaml'. A YAML
    file's catalogue is taken from ``cache`` when its bytes were read before, and kept there when it is plain JSON."""
    with cyclic_gc_paused():
        if fmt == 'json':
            return services_of(_decode_json(data, name), name)
        key = _key(data) if cache is not None else None
        kept = cache.load(key) if key else None
        if kept is not None:
            return kept
        services = services_of(_decode_yaml(data, name), name)
        if key:
            cache.store(key, services)     # not kept where a value is not plain JSON (a date): read again next time
        return services


def read(path, fmt='auto', cache=None, decrypt=None):
    """The catalogue in the file at ``path`` (see :func:`parse`). A vault-encrypted file is given to ``decrypt(path)``
    (the lookup's: the run's vault secrets; it returns the plain bytes), and its catalogue is never kept."""
    fmt = file_format(path, fmt)
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise PortwardenError('catalogue: %s: cannot read it: %s.' % (path, exc.strerror or exc))
    if data.lstrip()[:len(VAULT_HEADER)] == VAULT_HEADER:
        if decrypt is None:
            raise PortwardenError('catalogue: %s: the file is vault-encrypted and no vault secret is at hand.' % path)
        return parse(decrypt(path), path, fmt)
    return parse(data, path, fmt, cache)
