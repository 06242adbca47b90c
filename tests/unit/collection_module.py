"""Load a plugin file of the collection by path (any of plugins/; a module importing the
collection's module_utils gets them), without importing the ansible_collections package
into the test process (that would shadow Ansible's own collection loader for the tests
that run playbooks in-process)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

from streamstack.plugins.module_utils import stale

PACKAGE = "ansible_collections.streamstack.lab.plugins.module_utils"


def load(path: Path, name: str):
    package = types.ModuleType(PACKAGE)
    package.stale = stale
    stand_ins = {PACKAGE: package, f"{PACKAGE}.stale": stale}
    saved = {key: sys.modules.get(key) for key in stand_ins}
    sys.modules.update(stand_ins)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
