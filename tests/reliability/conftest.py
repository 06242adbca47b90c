"""Fixtures of the fault tests (helpers in reliability_lib.py); the figures of every test
are printed at the end of the run and kept in the JSON report."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_lib import REPORT, infra_kafka, install_scripts


# The report: every collected scenario, then each one's verdict as it ends.
def pytest_collection_finish(session):
    REPORT.collected([item.originalname for item in session.items])
    inventory = session.config.getoption("ansible_inventory", None)
    REPORT.meta["inventory"] = str(inventory) if inventory else None


def pytest_runtest_setup(item):
    REPORT.begin(item.originalname)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # One verdict per test: the call's, or the setup's when the setup skipped or failed.
    if report.when == "call" or (report.when == "setup" and not report.passed):
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2].removeprefix("Skipped: ")
        elif report.failed:
            reason = str(call.excinfo.value)[:300] if call.excinfo else "failed"
        verdict = "passed" if report.passed else "skipped" if report.skipped else "failed"
        node = item.callspec.id if hasattr(item, "callspec") else ""
        REPORT.outcome(item.originalname, node, verdict, report.duration, reason)


def pytest_sessionfinish(session):
    # Only a run that ran something leaves a report (not --collect-only).
    if any(entry["runs"] for entry in REPORT.scenarios.values()):
        REPORT.write(finished=True)


def pytest_terminal_summary(terminalreporter):
    lines = REPORT.summary_lines()
    if lines:
        terminalreporter.section("reliability verdicts and figures")
        for line in lines:
            terminalreporter.write_line(line)


# --- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def node(host):
    """The first spark_client host, with the scripts in place; other hosts skip."""
    clients = host.ansible.get_variables().get("groups", {}).get("spark_client", [])
    if not clients or host.backend.get_hostname() != clients[0]:
        pytest.skip("the fault tests run once, from the first spark_client host")
    install_scripts(host)
    return host


@pytest.fixture(scope="module")
def bootstrap(host):
    return infra_kafka.internal_bootstrap(infra_kafka.brokers_all(host))


@pytest.fixture(scope="module")
def inventory(host) -> Path:
    return Path(host.backend.ansible_inventory).resolve()


