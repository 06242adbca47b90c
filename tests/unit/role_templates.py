"""Render role templates in unit tests the way a play would, without Ansible running.

Shared by the kafka, hadoop and spark template tests. Variables are resolved lazily
with Ansible's own filter and test plugins, in Ansible's precedence order (role defaults
< inventory group_vars < playbook group_vars < host vars < role vars < extra vars), so a
test sees what a play would template. What differs between the roles (which defaults and
role vars, the facts, the inventory) is a parameter.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.filter.mathstuff import FilterModule as MathFilters
from ansible.plugins.test.core import TestModule as CoreTests
from jinja2.nativetypes import NativeEnvironment, native_concat

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
LOCAL = ROOT / "inventories" / "local"
SINGLE = ROOT / "inventories" / "single"
PLAYBOOK_GROUP_VARS = ROOT / "playbooks/group_vars/all/streamstack.yml"


def load(path: Path, optional: bool = False) -> dict:
    """A YAML file as a dict; a missing file is {} only when optional."""
    if optional and not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def _env(cls, **kwargs):
    env = cls(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
              trim_blocks=True, extensions=["jinja2.ext.do"], **kwargs)
    # Ansible's filters and tests, without replacing jinja2's own (default, ...).
    for name, func in {**CoreFilters().filters(), **MathFilters().filters()}.items():
        env.filters.setdefault(name, func)
    for name, func in CoreTests().tests().items():
        env.tests.setdefault(name, func)
    return env


NATIVE = _env(NativeEnvironment)


@cache
def _text_env(role: str) -> jinja2.Environment:
    """The environment for one role's templates ({% import %} resolves in its dir)."""
    return _env(jinja2.Environment, loader=jinja2.FileSystemLoader(ROLES / role / "templates"))


def render(variables: Mapping, role: str, template: str) -> str:
    """roles/<role>/templates/<template> rendered with these variables."""
    tmpl = _text_env(role).get_template(template)
    return "".join(tmpl.root_render_func(tmpl.new_context(variables, shared=True)))


class TemplatedVars(Mapping):
    """One host's variables; string values are templated when read, as Ansible does.

    Subclasses give the layers (dicts, lowest precedence first, read every time so later
    changes to them count); overlays (task-level vars such as a loop item) go on top.
    """

    def __init__(self):
        self.overlays: list[dict] = []
        self.cache: dict = {}

    def layers(self) -> list[dict]:
        raise NotImplementedError

    def with_overlay(self, **overlay) -> TemplatedVars:
        """A copy with these variables on top of everything else, nothing cached."""
        new = copy.copy(self)
        new.overlays = [*self.overlays, overlay]
        new.cache = {}
        return new

    def _raw(self) -> dict:
        merged: dict = {}
        for layer in [*self.layers(), *self.overlays]:
            merged.update(layer)
        return merged

    def __getitem__(self, key):
        if key not in self.cache:
            raw = self._raw()
            if key not in raw:
                raise KeyError(key)
            self.cache[key] = self._template(raw[key])
        return self.cache[key]

    def _template(self, value):
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            tmpl = NATIVE.from_string(value)
            return native_concat(tmpl.root_render_func(tmpl.new_context(self, shared=True)))
        if isinstance(value, list):
            return [self._template(v) for v in value]
        if isinstance(value, dict):
            return {k: self._template(v) for k, v in value.items()}
        return value

    def __iter__(self):
        return iter(self._raw())

    def __len__(self):
        return len(self._raw())


def _inventory(directory: Path) -> tuple[dict, dict]:
    """hosts.yml as ({host: vars}, {group: [hosts]}), with the "all" group."""
    data = load(directory / "hosts.yml")["all"]
    host_vars = {h: dict(v or {}) for h, v in data["hosts"].items()}
    groups = {"all": list(host_vars)}
    for group, body in data.get("children", {}).items():
        groups[group] = list((body or {}).get("hosts", {}) or {})
    return host_vars, groups


class Inventory:
    """A YAML inventory (hosts, children groups, group_vars/all.yml) plus overrides, for
    plays applying the roles' defaults (merged in order) and one role's vars/main.yml.
    Every host's variables are in .hostvars, lazily templated."""

    def __init__(self, directory: Path, *, default_roles: Iterable[str], vars_role: str,
                 facts: dict, extra_vars: dict | None = None, groups: dict | None = None,
                 host_vars: dict | None = None):
        self.host_vars, self.groups = _inventory(directory)
        for host, values in (host_vars or {}).items():
            self.host_vars[host].update(values)
        self.groups.update(groups or {})
        gv = directory / "group_vars" / "all.yml"
        self.inventory_group_vars = load(gv) if gv.exists() else {}
        self.playbook_group_vars = load(PLAYBOOK_GROUP_VARS)
        self.defaults: dict = {}
        for role in default_roles:
            self.defaults.update(load(ROLES / role / "defaults/main.yml"))
        self.role_vars = load(ROLES / vars_role / "vars/main.yml")
        self.extra_vars = extra_vars or {}
        self.facts = facts
        self.hostvars = {h: HostVars(self, h) for h in self.host_vars}


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


class HostVars(TemplatedVars):
    """One inventory host's variables; hostvars of the others are HostVars too."""

    def __init__(self, inventory: Inventory, host: str):
        super().__init__()
        self.inv, self.host = inventory, host

    def layers(self) -> list[dict]:
        inv = self.inv
        magic = {
            "inventory_hostname": self.host,
            "groups": inv.groups,
            "group_names": [g for g, m in inv.groups.items() if self.host in m and g != "all"],
            "hostvars": inv.hostvars,
            "ansible_facts": inv.facts,
        }
        return [inv.defaults, inv.inventory_group_vars, inv.playbook_group_vars,
                inv.host_vars[self.host], inv.role_vars, inv.extra_vars, magic]


class RoleVars(TemplatedVars):
    """One host's variables for one role of a play over an inventory (the 3-host lab by
    default); hostvars of the others are their raw inventory host vars."""

    def __init__(self, role: str, host: str, facts: dict, extra: dict | None = None,
                 directory: Path = LOCAL):
        super().__init__()
        self.host_vars, self.groups = _inventory(directory)
        self.role, self.host, self.facts = role, host, facts
        self.base = [
            load(ROLES / role / "defaults/main.yml", optional=True),
            load(directory / "group_vars/all.yml", optional=True),
            load(PLAYBOOK_GROUP_VARS, optional=True),
            self.host_vars[host],
            load(ROLES / role / "vars/main.yml", optional=True),
            extra or {},
        ]

    def layers(self) -> list[dict]:
        return [*self.base, {
            "inventory_hostname": self.host,
            "groups": self.groups,
            "hostvars": {h: {**self.host_vars[h]} for h in self.host_vars},
            "ansible_facts": self.facts,
            "ansible_managed": "Managed by streamstack",
            "role_path": str(ROLES / self.role),
            "ansible_check_mode": False,
        }]
