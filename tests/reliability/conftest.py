"""Fixtures of the fault tests (helpers in reliability_lib.py); the figures of every test
are printed at the end of the run and kept in the JSON report."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_lib import infra_kafka, install_scripts, summary_lines


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
    install_scripts(host)
    return host


@pytest.fixture(scope="module")
def bootstrap(host):
    return infra_kafka.internal_bootstrap(infra_kafka.brokers_all(host))


@pytest.fixture(scope="module")
def inventory(host) -> Path:
    return Path(host.backend.ansible_inventory).resolve()


