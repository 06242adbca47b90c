"""Break one daemon on purpose: `streamstack verify` must fail and name the host and the
daemon; once the daemon is back, the same checks pass again.

    pytest tests/e2e/test_verify_names_faults.py --hosts=ansible://spark_client \
        --ansible-inventory=inventories/local

The stopped daemon is always restarted (finally), and the test waits until the cluster
has healed (DataNode live in the NameNode, no under-replicated partition) before it
ends, so later tests find the lab as it was. Runs last in tests/e2e on purpose.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra
from test_pipelines import install_scripts, partitions_in_sync, remove_credentials

STREAMSTACK = str(Path(sys.executable).parent / "streamstack")
INTERNAL_OFFSET = 10000
HEAL_SECONDS = 240
HADOOP_UNIT_CHECK = "hadoop.unit"
KAFKA_CHECKS = "kafka.unit or kafka.registered"


@pytest.fixture(scope="module", autouse=True)
def login_set_up(host):
    """partitions_in_sync runs through login(), which sources the e2e login set-up; the
    pipelines module removes it when it ends."""
    install_scripts(host)
    yield
    remove_credentials(host)


@pytest.fixture(scope="module")
def inventory(host) -> str:
    return host.backend.ansible_inventory


@pytest.fixture(scope="module")
def groups(host) -> dict:
    return host.ansible.get_variables().get("groups", {})


def lab_host(inventory: str, name: str):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)


def verify(inventory: str, keyword: str) -> subprocess.CompletedProcess:
    return subprocess.run([STREAMSTACK, "verify", "-i", inventory, "-k", keyword],
                          capture_output=True, text=True, timeout=600, check=False)


def wait_until(what: str, check, seconds: int = HEAL_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(5)
    pytest.fail(f"not healed after {seconds}s: {what}")


def test_stopped_datanode_is_named(host, inventory, groups):
    datanodes = groups.get("hdfs_datanode", [])
    if not datanodes:
        pytest.skip("no DataNode in this inventory")
    victim_name = datanodes[-1]
    victim = lab_host(inventory, victim_name)
    victim.run("systemctl stop hdfs-datanode")
    try:
        broken = verify(inventory, HADOOP_UNIT_CHECK)
    finally:
        victim.run("systemctl start hdfs-datanode")

    assert broken.returncode == 1, broken.stdout[-2000:]
    assert re.search(rf"^FAILED {re.escape(victim_name)} hdfs-datanode hadoop\.unit: "
                     rf"hdfs-datanode is not running on {re.escape(victim_name)} \(",
                     broken.stdout, re.M), broken.stdout[-2000:]
    # Only the stopped daemon is reported, not its neighbours.
    assert len(re.findall(r"^FAILED ", broken.stdout, re.M)) == 1, broken.stdout[-2000:]

    namenode = lab_host(inventory, groups["hdfs_namenode"][0])
    wait_until(f"hdfs-datanode on {victim_name} live in the NameNode", lambda: re.search(
        rf"^Hostname: {re.escape(victim_name)}$",
        namenode.run("sudo -u hdfs hdfs dfsadmin -report -live").stdout, re.M))
    healed = verify(inventory, HADOOP_UNIT_CHECK)
    assert healed.returncode == 0, healed.stdout[-2000:]


def test_stopped_broker_is_named(host, inventory, groups):
    kafka_hosts = groups.get("kafka", [])
    runner = host.backend.ansible_runner
    brokers = [(name, broker) for name in kafka_hosts
               for broker in runner.get_variables(name).get("kafka_brokers", [])]
    if len(brokers) < 2:
        pytest.skip("stopping the only broker would take the cluster down")
    victim_name, broker = brokers[-1]
    unit = f"kafka@{broker['id']}"
    victim = lab_host(inventory, victim_name)
    bootstrap = ",".join(f"{name}:{int(b['port']) + INTERNAL_OFFSET}" for name, b in brokers)
    victim.run(f"systemctl stop {unit}")
    try:
        broken = verify(inventory, KAFKA_CHECKS)
    finally:
        victim.run(f"systemctl start {unit}")

    assert broken.returncode == 1, broken.stdout[-2000:]
    failures = re.findall(r"^FAILED .*$", broken.stdout, re.M)
    assert any(line.startswith(f"FAILED {victim_name} {unit} kafka.unit: {unit} is not "
                               f"running on {victim_name}") for line in failures), (
        broken.stdout[-2000:])
    assert any(f"brokers not registered in the cluster: {unit} on {victim_name}" in line
               for line in failures), broken.stdout[-2000:]

    wait_until(f"{unit} back in every ISR", lambda: partitions_in_sync(host, bootstrap))
    healed = verify(inventory, KAFKA_CHECKS)
    assert healed.returncode == 0, healed.stdout[-2000:]
