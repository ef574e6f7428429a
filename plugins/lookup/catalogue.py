# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: catalogue
version_added: 0.2.0
short_description: Read a service catalogue from a YAML or JSON file of its own
description:
  - Reads a C(portwarden_services) catalogue from one or more files on the controller and returns it as one list of
    services; several files are joined in the order given.
  - Made for large catalogues (tens of thousands of sources). In C(group_vars) or C(-e @file), ansible-core decodes
    every string of the catalogue with a data tag before any task runs (about 0.5 s as JSON, 1 s as YAML for
    100,000 sources on the benchmark's machine, on every run). Read by this lookup, the file is plain data.
  - A YAML file's catalogue is kept on the controller as JSON, under the SHA-256 of the file's bytes, in
    C(<ANSIBLE_HOME>/portwarden/catalogue_files) (a directory of the controller's user, mode 0700), so that the
    next read of the same file, on another host or in a later run, is a JSON decode instead of a YAML parse.
    A vault-encrypted file is decrypted with the run's vault secrets and never kept.
  - The file holds a list of services, or a mapping whose only key is C(portwarden_services) (the text of a
    group_vars file moved as it is). An empty file is an empty catalogue.
  - The lookup reads the file; the roles and the M(portwarden.ports.ephemeral_ports) and
    M(portwarden.ports.host_firewall) tasks validate the catalogue as strictly as one from any other variable,
    naming the entry and the value.
author:
  - Portwarden maintainers (@portwarden)
options:
  _terms:
    description:
      - The files. A relative path is searched as by the P(ansible.builtin.file#lookup) lookup, in the C(files)
        directories of the role and the playbook. Not in an inventory directory, whose every file ansible-core reads
        as inventory.
    type: list
    elements: path
    required: true
  format:
    description:
      - How the files are written. V(auto) takes JSON for a name that ends in C(.json), YAML for C(.yml) or
        C(.yaml), and refuses any other name.
    type: str
    choices: [auto, json, yaml]
    default: auto
  keep:
    description:
      - Keep a YAML file's parsed catalogue on the controller (see above). V(false) parses the file on each read.
    type: bool
    default: true
notes:
  - Nothing in the file is a template; C({{ }}) in a value is kept as text.
  - YAML is read with PyYAML's safe loader (libyaml's where built in). Tags such as C(!unsafe) are refused naming
    the file, line and column, and a key given twice in one mapping takes its last value (ansible-core would
    warn).
  - Use C(lookup), not C(query). The result is one list, so C(query) gives a list holding that list.
seealso:
  - plugin: ansible.builtin.file
    plugin_type: lookup
    description: A file's text; a list of sources one per line is C(lookup('ansible.builtin.file', path).splitlines()).
  - plugin: portwarden.ports.normalize_services
    plugin_type: filter
    description: Validate a catalogue and return it in canonical form.
"""

EXAMPLES = r"""
# In group_vars/all.yml, the catalogue is a file next to the playbook (files/catalogue.yml), read where a role
# needs it. Keep it out of an inventory directory: ansible-core reads every file there as inventory.
#
#   portwarden_services: "{{ lookup('portwarden.ports.catalogue', 'catalogue.yml') }}"
#
# Two files joined into one catalogue, the services every host has, then this group's:
#
#   portwarden_services: "{{ lookup('portwarden.ports.catalogue', 'common.yml', 'web.yml') }}"

- name: Open the catalogue's ports to its sources
  ansible.builtin.include_role:
    name: portwarden.ports.host_firewall
  vars:
    host_firewall_services: "{{ lookup('portwarden.ports.catalogue', playbook_dir ~ '/files/catalogue.yml') }}"

- name: Show the catalogue's ports, validated on the controller
  ansible.builtin.debug:
    msg: "{{ lookup('portwarden.ports.catalogue', 'catalogue.json') | portwarden.ports.service_ports }}"
"""

RETURN = r"""
_raw:
  description:
    - The catalogue of all the files, one list of service dictionaries (as written in the files, not normalized).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.lookup import LookupBase

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils import catalogue_file


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        fmt = self.get_option('format')
        cache = catalogue_file.default_cache() if self.get_option('keep') else None

        def decrypt(path):
            try:
                return to_bytes(self._loader.get_text_file_contents(path), errors='surrogate_or_strict')
            except AnsibleError as exc:
                raise PortwardenError('catalogue: %s: cannot decrypt it: %s' % (path, exc.message))

        services = []
        for term in terms:
            path = self.find_file_in_search_path(variables, 'files', term, ignore_missing=True)
            if not path:
                raise AnsibleLookupError('portwarden.ports.catalogue: the file %r was not found: a relative path is '
                                         'searched in the files directories of the role and the playbook.' % (term,))
            try:
                services.extend(catalogue_file.read(path, fmt, cache, decrypt))
            except PortwardenError as exc:
                raise AnsibleLookupError('portwarden.ports.%s' % exc.msg)
        return [services]
