"""Shared by the tests of a lab reached like VMs: the inventory they run against."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def inventory(request) -> Path:
    path = request.config.getoption("ansible_inventory")
    assert path, "run with --ansible-inventory=INVENTORY"
    return Path(path).resolve()
