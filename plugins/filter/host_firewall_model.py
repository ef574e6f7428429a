# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portwarden.ports contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter ``host_firewall_model``: validate the host_firewall role's variables
(the service catalogue first) and return what its nftables template renders,
or, given the template's text, the rendered ruleset."""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.portwarden.ports.plugins.module_utils.errors import PortwardenError
from ansible_collections.portwarden.ports.plugins.plugin_utils.firewall_role import model as role_model


# Compiled templates by their text. Compiling the role's template costs about 12 ms, rendering it a small part of that;
# every host's worker is a fork of the controller's main process, so a template compiled there (see precompile) is
# compiled once per run instead of once per host. Keyed by the whole text: another text is compiled as it comes.
_COMPILED = {}
_ENV = []


def _compiled(template):
    text = str(template)
    found = _COMPILED.get(text)
    if found is None:
        if not _ENV:
            from jinja2 import StrictUndefined  # pylint: disable=import-outside-toplevel
            from jinja2.sandbox import ImmutableSandboxedEnvironment  # pylint: disable=import-outside-toplevel
            _ENV.append(ImmutableSandboxedEnvironment(trim_blocks=True, keep_trailing_newline=True,
                                                      undefined=StrictUndefined, autoescape=False))
        found = _COMPILED[text] = _ENV[0].from_string(text)
    return found


def render_ruleset(template, model):
    """The role's template rendered with the model, as Ansible's template lookup renders it (trim_blocks, the
    trailing newline kept), in a sandbox. The template uses Jinja2's own syntax and filters only.

    The role renders it here rather than with ``lookup('ansible.builtin.template')``, which deep-copies every
    variable of the host first: with a catalogue of 100,000 sources that copy alone took 1.7 s per host.
    """
    from jinja2.exceptions import TemplateError  # pylint: disable=import-outside-toplevel
    try:
        return _compiled(template).render(__host_firewall_model=model)
    except TemplateError as exc:
        raise AnsibleFilterError('host_firewall_model: the template does not render: %s' % exc)


def precompile():
    """Compile the role's own template (roles/host_firewall/templates/portwarden.nft.j2 of this collection), if it is
    there: called where the controller's main process loads the nft_table action plugin, before it forks the workers."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        'roles', 'host_firewall', 'templates', 'portwarden.nft.j2')
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            text = handle.read()
    except (IOError, OSError):
        return
    try:
        _compiled(text)
    except Exception:  # pylint: disable=broad-except
        return  # a template that does not compile fails where the role renders it, with its message


def _plain_text(item):
    """The text of one list element as ansible-core's lazy list holds it before rendering it, when rendering cannot
    change it (text without "{", which no template can be); else None."""
    if type(item).__name__ == '_LazyValue':       # ansible-core >= 2.19: the element not yet rendered
        item = getattr(item, 'value', None)
    return item if isinstance(item, str) and '{' not in item else None


def _read_sources(services):
    """The catalogue with each entry's source list read once, directly: ansible-core renders a list variable one
    element at a time as it is read (about 4 us each, 0.4 s for 100,000 sources); an element that could be a
    template (not text, or text with "{") is still read through the list, so it is rendered as before. Every
    value is then validated by build_model as given."""
    if not isinstance(services, list):
        return services
    out = []
    for entry in services:
        sources = entry.get('sources') if isinstance(entry, dict) else None
        if isinstance(sources, list) and type(sources) is not list:   # pylint: disable=unidiomatic-typecheck
            texts = [_plain_text(item) for item in list.__iter__(sources)]
            entry = dict(entry, sources=[sources[i] if text is None else text for i, text in enumerate(texts)])
        out.append(entry)
    return out


def host_firewall_model(services, template=None, **options):
    """The role's validation and model (plugin_utils/firewall_role.py ``model``), with the catalogue's source lists
    read directly (see _read_sources); given the template's text, the ruleset rendered with it."""
    try:
        model = role_model(_read_sources(services), **options)
    except PortwardenError as exc:
        raise AnsibleFilterError(exc.msg)
    if template is None:
        return model
    if not isinstance(template, str) or not template.strip():
        raise AnsibleFilterError('host_firewall_model: template: expected the text of the nftables template, got %r.'
                                 % (template,))
    return render_ruleset(template, model)


class FilterModule(object):
    def filters(self):
        return {'host_firewall_model': host_firewall_model}
