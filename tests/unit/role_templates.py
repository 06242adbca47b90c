"""Render role templates in unit tests as a play would, with Ansible itself, no host reached.

Shared by the kafka, hadoop and spark template tests. An inventory directory (hosts.yml,
group_vars/, host_vars/) is read by Ansible's InventoryManager; a host's variables are
VariableManager.get_vars for a play of some roles, that host and a task of one of the
roles, so precedence (role defaults < group_vars/all < group_vars of the host's other
groups, inventory's below playbook's at each level < host vars < facts < role vars < extra
vars), hostvars, role_path and the filters are Ansible's own.
Templates are rendered as the template module renders them. What differs between the
roles (which roles, the facts, overrides of the inventory) is a parameter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
LOCAL = ROOT / "inventories" / "local"
SINGLE = ROOT / "inventories" / "single"

# The project's ansible.cfg (collections path), wherever pytest runs from; read when
# ansible.constants is first imported, just below.
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))

# ruff: noqa: E402 - ansible reads its configuration when first imported
from ansible._internal._templating._template_vars import generate_ansible_template_vars
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.block import Block
from ansible.playbook.play import Play
from ansible.playbook.task import Task
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.vars.hostvars import HostVars as AnsibleHostVars
from ansible.vars.manager import VariableManager

if not AnsibleCollectionConfig.collection_finder:  # as ansible-playbook starts
    init_plugin_loader()

# Plays of site.yml live in playbooks/: its group_vars apply, as for every playbook there.
LOADER = DataLoader()
LOADER.set_basedir(str(ROOT / "playbooks"))


def load(path: Path, optional: bool = False) -> dict:
    """A YAML file as a dict; a missing file is {} only when optional."""
    if optional and not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


@cache
def _play(roles: tuple[str, ...], task_role: str) -> tuple[Play, Task]:
    """A play of these roles and a task of task_role in it, parsed once (only read)."""
    play = Play.load({"name": "role_templates", "hosts": "all", "gather_facts": False,
                      "roles": [str(ROLES / role) for role in roles]},
                     variable_manager=VariableManager(loader=LOADER), loader=LOADER)
    role = next(r for r in play.get_roles() if r.get_name() == str(ROLES / task_role))
    block = Block.load({"block": [{"name": "render", "ansible.builtin.debug": {}}]},
                       play=play, role=role, loader=LOADER)
    return play, block.block[0]


class Inventory:
    """An inventory directory plus overrides, seen by a play of `default_roles` (and
    `vars_role`) from a task of `vars_role`. Overrides: `host_vars` ({host: {name: value}},
    as inventory host vars), `groups` ({group: [hosts]}, the group's hosts replaced),
    `extra_vars`. Every host gets `facts`. Every host's variables are in .hostvars."""

    def __init__(self, directory: Path, *, default_roles: Iterable[str], vars_role: str,
                 facts: dict, extra_vars: dict | None = None, groups: dict | None = None,
                 host_vars: dict | None = None):
        self.role = vars_role
        roles = tuple(dict.fromkeys([*default_roles, vars_role]))
        self.play, self.task = _play(roles, vars_role)
        self.manager = InventoryManager(loader=LOADER, sources=[str(directory)])
        for group, hosts in (groups or {}).items():
            self.manager.add_group(group)
            for host in list(self.manager.groups[group].get_hosts()):
                self.manager.groups[group].remove_host(host)
            for host in hosts:
                self.manager.add_host(host, group)
        self.manager.reconcile_inventory()
        for host, values in (host_vars or {}).items():
            for name, value in values.items():
                self.manager.get_host(host).set_variable(name, value)
        self.variables = VariableManager(loader=LOADER, inventory=self.manager)
        # Extra vars come from the command line (-e), which there is none of here.
        self.variables._extra_vars = dict(extra_vars or {})
        AnsibleHostVars(self.manager, self.variables, LOADER)  # the `hostvars` of plays
        for host in self.manager.hosts:
            self.variables.set_host_facts(host, facts)
        self.hostvars = {h: HostVars(self, h) for h in self.manager.hosts}

    @property
    def groups(self) -> Mapping[str, tuple[str, ...]]:
        """{group: hosts}, read-only: change groups with the `groups` override."""
        groups = self.manager.get_groups_dict()
        return MappingProxyType({g: tuple(hosts) for g, hosts in groups.items()})


def inventory_fixtures(factory: Callable[[Path], Inventory]):
    """The pytest fixtures `local` and `single`: factory's inventory of each layout.
    Assign them in a test module: `local, single = inventory_fixtures(Inventory)`."""

    @pytest.fixture
    def local():
        return factory(LOCAL)

    @pytest.fixture
    def single():
        return factory(SINGLE)

    return local, single


class HostVars(Mapping):
    """One host's variables as the play's task sees them; values templated when read.
    with_overlay adds task-level variables (a loop item), above everything else."""

    def __init__(self, inventory: Inventory, host: str, overlay: dict | None = None):
        self.inv, self.host, self.role = inventory, host, inventory.role
        self.overlay = dict(overlay or {})

    @cached_property
    def variables(self) -> dict:
        inv = self.inv
        found = inv.variables.get_vars(play=inv.play, host=inv.manager.get_host(self.host),
                                       task=inv.task)
        return {**found, **self.overlay}

    @cached_property
    def templar(self) -> Templar:
        return Templar(loader=LOADER, variables=self.variables)

    def with_overlay(self, **overlay) -> HostVars:
        return HostVars(self.inv, self.host, {**self.overlay, **overlay})

    def __getitem__(self, key):
        return self.templar.template(self.variables[key])

    def __iter__(self):
        return iter(self.variables)

    def __len__(self):
        return len(self.variables)


class RoleVars(HostVars):
    """One host's variables for one role of a play over an inventory (the 3-host lab by
    default)."""

    def __init__(self, role: str, host: str, facts: dict, extra: dict | None = None,
                 directory: Path = LOCAL):
        super().__init__(Inventory(directory, default_roles=(), vars_role=role, facts=facts,
                                   extra_vars=extra), host)


def render(variables: HostVars, role: str, template: str) -> str:
    """roles/<role>/templates/<template> rendered with these variables, the way the
    template module does (its search path for {% import %}, its template_* variables,
    trim_blocks)."""
    source = ROLES / role / "templates" / template
    task_vars = dict(variables.variables)
    searchpath = [*task_vars.get("ansible_search_path", []), LOADER.get_basedir(),
                  str(source.parent)]
    task_vars.update(generate_ansible_template_vars(
        path=template, fullpath=str(source),
        include_ansible_managed="ansible_managed" not in task_vars))
    templar = Templar(loader=LOADER).copy_with_new_env(
        searchpath=[path for base in searchpath for path in (f"{base}/templates", base)],
        available_variables=task_vars)
    return templar.template(trust_as_template(source.read_text()), escape_backslashes=False,
                            overrides={"trim_blocks": True}) or ""
