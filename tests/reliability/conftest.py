"""Fixtures of the fault tests (helpers in reliability_lib.py); the figures of every test
are printed at the end of the run and kept in the JSON report."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_lib import LOAD, VERIFY, WATCH, WORK, e2e, infra_kafka, summary_lines


def pytest_terminal_summary(terminalreporter):
    lines = summary_lines()
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


# --- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def node(host):
    """The first spark_client host, with the scripts in place; other hosts skip."""
    clients = host.ansible.get_variables().get("groups", {}).get("spark_client", [])
    if not clients or host.backend.get_hostname() != clients[0]:
        pytest.skip("the fault tests run once, from the first spark_client host")
    host.run(f"mkdir -p {WORK} {e2e.WORK}")
    for directory, name, body in ((WORK, "load.py", LOAD), (WORK, "verify.py", VERIFY),
                                  (WORK, "watch.py", WATCH),
                                  (e2e.WORK, "produce.py", e2e.PRODUCE),
                                  (e2e.WORK, "text_produce.py", e2e.TEXT_PRODUCE),
                                  (e2e.WORK, "results.py", e2e.RESULTS),
                                  (e2e.WORK, "count.py", e2e.COUNT)):
        e2e.write(host, f"{directory}/{name}", body)
    return host


@pytest.fixture(scope="module")
def bootstrap(host):
    return infra_kafka.internal_bootstrap(infra_kafka.brokers_all(host))


@pytest.fixture(scope="module")
def inventory(host) -> Path:
    return Path(host.backend.ansible_inventory).resolve()


