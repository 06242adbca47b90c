"""A restart that a failed run owed is done by the next plain run (README, Re-runs).

    pytest tests/e2e/test_lost_restart.py --hosts=ansible://yarn_resourcemanager \
        --ansible-inventory=.cache/inventory-pr-streamstack-2

1. a run changes a yarn-site.xml property (an extra var, standing for an inventory
   variable) and fails right after the templates, before the restart handler;
2. the next site.yml with the same variables, and nothing else to change, restarts the
   ResourceManager (its main process is new) and the running daemon serves the new value
   (the ResourceManager's /conf lists its running configuration);
3. the one after restarts nothing and reports changed=0, and so does one that runs every
   role (no short cut);
4. the lab gets its configuration back (finally).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from streamstack import runner

# Three converges of the lab (about 6 minutes): `make e2e-slow`, in test-all.
pytestmark = pytest.mark.slow

PROPERTY = "yarn.resourcemanager.streamstack.e2e-lost-restart"
UNIT = "yarn-resourcemanager"
# Fails right after the configuration templates (services.yml links start-hadoop.sh into
# this directory), before any start or restart.
BREAK = {"hadoop_handout_dir": "/nonexistent/streamstack-e2e"}


@pytest.fixture(scope="module")
def rm(host):
    variables = host.ansible.get_variables()
    managers = variables.get("groups", {}).get("yarn_resourcemanager", [])
    if not managers or host.backend.get_hostname() != managers[0]:
        pytest.skip("checked on the first yarn_resourcemanager host")
    return host


@pytest.fixture(scope="module")
def inventory(host):
    return Path(host.backend.ansible_inventory).resolve()


def _unit(host) -> dict[str, str]:
    out = host.run(f"systemctl show -p MainPID -p ExecMainStartTimestamp -p ActiveState "
                   f"--timestamp=us+utc {UNIT}").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _running_value(host) -> str | None:
    """The property as the running ResourceManager has it (its /conf page)."""
    name = host.backend.get_hostname()
    script = (f"import urllib.request; print(urllib.request.urlopen("
              f"'http://{name}:8088/conf', timeout=20).read().decode())")
    for _ in range(30):
        done = host.run(f"python3 -c \"{script}\"")
        if done.rc == 0:
            break
        time.sleep(3)
    assert done.rc == 0, done.stderr[-500:]
    for prop in ET.fromstring(done.stdout).iter("property"):
        if prop.findtext("name") == PROPERTY:
            return prop.findtext("value")
    return None


def _run(inventory, playbook: str, extravars: dict):
    started = time.monotonic()
    summary, run_dir = runner.run_playbook(playbook, inventory, quiet=True, extravars=extravars)
    print(f"{playbook} {sorted(extravars)}: {time.monotonic() - started:.0f}s, "
          f"changed={summary.changed}, ok={summary.ok}, {run_dir}")
    return summary, run_dir


def test_a_restart_lost_by_a_failed_run_is_done_by_the_next_run(rm, inventory):
    value = f"e2e-{int(time.time())}"
    changed = {"hadoop_yarn_site_extra": {PROPERTY: value}}
    before = _unit(rm)
    assert before["ActiveState"] == "active", before
    assert _running_value(rm) != value
    try:
        failed, run_dir = _run(inventory, "playbooks/hadoop.yml", {**changed, **BREAK})
        assert not failed.ok, "the run meant to fail did not"
        assert any("start-hadoop.sh" in f.task for f in failed.failures), \
            runner.format_summary(failed, run_dir)
        assert value in rm.file("/etc/hadoop/yarn-site.xml").content_string
        assert _unit(rm)["MainPID"] == before["MainPID"], "restarted by the failed run"

        plain, run_dir = _run(inventory, "site.yml", changed)
        assert plain.ok, runner.format_summary(plain, run_dir)
        after = _unit(rm)
        assert after["ActiveState"] == "active", after
        assert after["MainPID"] != before["MainPID"], "the owed restart was not done"
        assert after["ExecMainStartTimestamp"] != before["ExecMainStartTimestamp"]
        assert _running_value(rm) == value

        again, run_dir = _run(inventory, "site.yml", changed)
        assert again.ok and again.changed == 0, runner.format_summary(again, run_dir)
        assert _unit(rm)["MainPID"] == after["MainPID"]
        # The same with every role run (no short cut): nothing is stale any more.
        full, run_dir = _run(inventory, "site.yml", {**changed, "streamstack_full_run": True})
        assert full.ok and full.changed == 0, runner.format_summary(full, run_dir)
        assert _unit(rm)["MainPID"] == after["MainPID"]
    finally:
        back, run_dir = _run(inventory, "site.yml", {})
    assert back.ok, runner.format_summary(back, run_dir)
    assert _running_value(rm) is None
    assert re.search(PROPERTY, rm.file("/etc/hadoop/yarn-site.xml").content_string) is None
