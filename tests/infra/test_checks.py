"""Every check of `streamstack verify` (streamstack/checks/) as a test: one probe pass
over the lab, then one test per check, failing with the words of each host it failed on.

    pytest tests/infra --hosts=ansible://all --ansible-inventory=inventories/local

A check that applies to no host of the inventory is skipped with the reason; a check
skipped on every host it applied to fails (it verified nothing).
"""

from __future__ import annotations

import pytest

from streamstack import checks, verify

NAMES = [c.name for c in checks.CHECKS] + ["kafka.controller"]


@pytest.fixture(scope="session")
def report(request) -> checks.Report:
    inventory = request.config.getoption("ansible_inventory")
    if not inventory:
        pytest.fail("--ansible-inventory is required")
    return checks.run(inventory)


@pytest.mark.parametrize("name", NAMES)
def test_check(report, name):
    if name in report.not_applicable:
        pytest.skip(f"not applicable: {report.not_applicable[name]}")
    records = [r for r in verify.records(report) if r["check"] == name]
    assert records, f"{name} produced no result"
    bad = [r for r in records if r["state"] != "passed"
           and not (r["state"] == "skipped" and name not in report.skipped_everywhere())]
    assert not bad, "\n".join(f"{r['state']} {r['host']} {r['service']}: {r['what']} -- "
                              f"{r['detail']}" for r in bad)

