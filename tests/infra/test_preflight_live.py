"""Preflight against a running lab: a bad inventory fails with every error listed and
changes nothing (no unit restarted, no configuration file changed); the lab's own
inventory passes with changed=0.

    pytest tests/infra/test_preflight_live.py --hosts=ansible://all \\
        --ansible-inventory=inventories/local

The inventory comes from --ansible-inventory, else STREAMSTACK_INVENTORY, else
inventories/local. Only playbooks/preflight.yml is run; it is read-only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "preflight.yml"
# Units of our services (and the Kafka forwarders) whose start time must not move.
UNIT_PATTERNS = ["zookeeper*.service", "kafka*.service", "hdfs-*.service", "yarn-*.service",
                 "mapred-*.service", "spark*.service"]
CONFIG_DIRS = ["/etc/kafka", "/etc/hadoop", "/etc/zookeeper", "/etc/spark"]

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def inventory(request) -> str:
    option = None
    with contextlib.suppress(ValueError):  # ValueError: testinfra not loaded
        option = request.config.getoption("ansible_inventory")
    path = option or os.environ.get("STREAMSTACK_INVENTORY") or "inventories/local"
    path = Path(path)
    return str(path if path.is_absolute() else ROOT / path)


@pytest.fixture(scope="module")
def lab_hosts(inventory):
    hosts = testinfra.get_hosts(["ansible://all"], ansible_inventory=inventory)
    if not hosts:
        pytest.skip(f"no host in {inventory}")
    return hosts


def run_preflight(inventory: str, *extra: str) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).parent / "ansible-playbook"
    command = [str(binary if binary.exists() else "ansible-playbook"), "-i", inventory,
               str(PLAYBOOK), *extra]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300, check=False)


def snapshot(hosts) -> dict:
    """Per host: each service unit's start time and main PID, each config file's sha256."""
    state = {}
    for host in hosts:
        name = host.backend.get_hostname()
        units = host.run("systemctl list-units --all --type=service --no-legend --plain "
                         + " ".join(f"'{p}'" for p in UNIT_PATTERNS)).stdout.split()
        units = sorted(u for u in units if u.endswith(".service"))
        started = {}
        for unit in units:
            show = host.run(f"systemctl show -p ActiveEnterTimestamp -p MainPID -p ActiveState "
                            f"'{unit}'").stdout
            started[unit] = show.strip()
        files = host.run(
            "find " + " ".join(CONFIG_DIRS) + " -type f -exec sha256sum {} + 2>/dev/null | sort"
        ).stdout
        state[name] = {"units": started, "files": files}
    return state


def recap(output: str) -> dict[str, dict[str, int]]:
    out = {}
    for match in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", output, re.M):
        out[match[1]] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match[2])}
    return out


def test_bad_inventory_fails_with_every_error_and_changes_nothing(inventory, lab_hosts):
    before = snapshot(lab_hosts)
    # Every host gets two brokers on the same port, an unknown mode and too much YARN
    # memory: preflight must list all of it in one run.
    bad = {
        "kafka_brokers": [{"id": 0, "port": 9092}, {"id": 7, "port": 9092}],
        "kafka_mode": "raft",
        "hadoop_yarn_nodemanager_memory_mb": 10_000_000,
    }
    done = run_preflight(inventory, "-e", json.dumps(bad))
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "preflight found" in output, output
    assert ("kafka_brokers.port=9092: port used twice on the host (Kafka broker 0 external and "
            "Kafka broker 7 external; internal = port+10000). Fix: give every broker on the "
            "host its own port") in output
    assert "kafka_mode=raft: unknown Kafka mode. Fix: set kafka_mode to one of zookeeper, " \
        "kraft" in output
    assert "hadoop_yarn_nodemanager_memory_mb=10000000: larger than the host's memory" in output
    if len(lab_hosts) > 1:
        # Every host now claims broker 0: a clash across hosts (one host has no clash).
        assert "kafka_brokers.id=0: broker id used" in output
    for name, counts in recap(output).items():
        assert counts.get("changed", 0) == 0, f"{name} changed: {counts}"
    after = snapshot(lab_hosts)
    for name in before:
        assert after[name]["units"] == before[name]["units"], f"{name}: a unit restarted"
        assert after[name]["files"] == before[name]["files"], f"{name}: a config file changed"


def test_bad_inventory_in_check_mode_also_fails(inventory):
    done = run_preflight(inventory, "--check", "-e", json.dumps({"artifacts_source": "http"}))
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "artifacts_source=http: unknown artifacts source. Fix: set artifacts_source to one " \
        "of maven, archive" in output


def test_good_inventory_passes_with_nothing_changed(inventory, lab_hosts):
    before = snapshot(lab_hosts)
    done = run_preflight(inventory)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    counts = recap(output)
    assert set(counts) == {h.backend.get_hostname() for h in lab_hosts}, output
    for name, values in counts.items():
        assert values.get("changed", 0) == 0 and values.get("failed", 0) == 0, (name, values)
    assert snapshot(lab_hosts) == before
