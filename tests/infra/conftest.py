"""Shared fixtures for the testinfra suite, and the report `streamstack verify` prints.

Each test's outcome is written as one JSON line (host, service, check, state, detail)
to the file named by STREAMSTACK_VERIFY_REPORT, when set.
"""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture(scope="module")
def host_groups(host):
    """The inventory groups of the host under test."""
    return set(host.ansible.get_variables().get("group_names", []))


def _host_of(item) -> str:
    host = getattr(item, "funcargs", {}).get("host")
    return host.backend.get_hostname() if host is not None else "controller"


def _service_of(item) -> str:
    """The systemd unit when the check is parametrized by one, else the test module's area."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get("unit") or item.module.__name__.removeprefix("test_")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    path = os.environ.get("STREAMSTACK_VERIFY_REPORT")
    if not path or (report.when != "call" and not (report.failed or report.skipped)):
        return
    detail = ""
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        detail = crash.message if crash else str(report.longrepr).splitlines()[-1]
        detail = detail.removeprefix("AssertionError: ")
    elif report.skipped:
        detail = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
    record = {
        "host": _host_of(item),
        "service": _service_of(item),
        "check": item.originalname or item.name,
        "state": report.outcome,
        "detail": detail.splitlines()[0][:200] if detail else "",
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
