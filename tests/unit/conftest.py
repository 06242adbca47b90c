"""The project's filter plugins (plugins/filter, ansible.cfg's filter_plugins) in the
jinja2 environment of role_templates.py, as a play has them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import role_templates

FILTER_DIR = Path(__file__).resolve().parents[2] / "plugins" / "filter"


def project_filters() -> dict:
    """Every filter of plugins/filter/*.py, by name."""
    filters: dict = {}
    for path in sorted(FILTER_DIR.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"streamstack_filter_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        filters.update(module.FilterModule().filters())
    return filters


# role_templates templates variables with its NATIVE environment (the text templates of
# the roles call no project filter).
if hasattr(role_templates, "NATIVE"):
    for _name, _func in project_filters().items():
        role_templates.NATIVE.filters.setdefault(_name, _func)
