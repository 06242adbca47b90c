"""NameNode and ResourceManager HA (experimental): what the hadoop role renders when two
hosts are in hdfs_namenode / yarn_resourcemanager (the `lab up --ha` layout), and that
one of each, the default, renders exactly what it rendered before HA existed.

tests/unit/golden/hadoop_single_masters.json holds the files the role rendered for the
committed local and single inventories (with and without metrics) at the commit before
HA; regenerate it only for a change meant to alter the single-master cluster:
STREAMSTACK_REGOLD=1 pytest tests/unit/test_hadoop_ha.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import role_templates
import test_hadoop_templates as hadoop
import yaml
from role_templates import LOCAL, SINGLE

from streamstack import layout

GOLDEN = Path(__file__).parent / "golden" / "hadoop_single_masters.json"
FILES = ["core-site.xml", "hdfs-site.xml", "yarn-site.xml", "mapred-site.xml", "hadoop-env.sh",
         "workers", "capacity-scheduler.xml", "log4j.properties", "start-hadoop.sh"]
MASTER, W1, W2 = "hadoop-master", "hadoop-worker1", "hadoop-worker2"


def _rendered_single_masters() -> dict[str, str]:
    out = {}
    for label, directory in (("local", LOCAL), ("single", SINGLE)):
        for metrics in (False, True):
            inv = hadoop.Inventory(directory, extra_vars=(
                {"streamstack_metrics_enabled": True} if metrics else None))
            suffix = "-metrics" if metrics else ""
            for host in inv.groups["all"]:
                hv = inv.hostvars[host]
                for name in FILES:
                    out[f"{label}{suffix}-{host}-{name}"] = hadoop.render(hv, f"{name}.j2")
                for daemon in hv["hadoop_host_daemons"]:
                    out[f"{label}{suffix}-{host}-{daemon['name']}.service"] = hadoop.render(
                        hv.with_overlay(hadoop_daemon=daemon), "hadoop-daemon.service.j2")
    return out


def test_single_masters_render_exactly_what_they_did_before_ha():
    rendered = _rendered_single_masters()
    if os.environ.get("STREAMSTACK_REGOLD"):
        GOLDEN.write_text(json.dumps(rendered, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(rendered) == sorted(golden)
    for name, text in golden.items():
        assert rendered[name] == text, name


def ha_inventory(groups: dict | None = None) -> role_templates.Inventory:
    """The committed 3-host lab with the groups of layout.inventory(3, ha=True)."""
    children = layout.inventory(3, ha=True)["all"]["children"]
    ha_groups = {g: list(v["hosts"]) for g, v in children.items()}
    return hadoop.Inventory(LOCAL, groups={**ha_groups, **(groups or {})})


@pytest.fixture
def ha():
    return ha_inventory()


def test_ha_clients_use_the_nameservice(ha):
    for host in (MASTER, W1, W2):
        core = hadoop.site(ha.hostvars[host], "core-site.xml")
        assert core["fs.defaultFS"] == "hdfs://streamstack"
        assert core["ha.zookeeper.quorum"] == (
            "hadoop-master:2181,hadoop-worker1:2181,hadoop-worker2:2181")
        hdfs = hadoop.site(ha.hostvars[host], "hdfs-site.xml")
        assert hdfs["dfs.nameservices"] == "streamstack"
        assert hdfs["dfs.ha.namenodes.streamstack"] == "nn1,nn2"
        assert hdfs["dfs.namenode.rpc-address.streamstack.nn1"] == "hadoop-master:9000"
        assert hdfs["dfs.namenode.rpc-address.streamstack.nn2"] == "hadoop-worker1:9000"
        assert hdfs["dfs.namenode.http-address.streamstack.nn1"] == "hadoop-master:9870"
        assert hdfs["dfs.namenode.http-address.streamstack.nn2"] == "hadoop-worker1:9870"
        assert hdfs["dfs.namenode.shared.edits.dir"] == (
            "qjournal://hadoop-master:8485;hadoop-worker1:8485;hadoop-worker2:8485/streamstack")
        assert hdfs["dfs.client.failover.proxy.provider.streamstack"] == (
            "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider")
        assert hdfs["dfs.ha.automatic-failover.enabled"] == "true"
        assert hdfs["dfs.ha.fencing.methods"] == "shell(/bin/true)"
        assert hdfs["dfs.journalnode.edits.dir"] == "/var/lib/hadoop/journal"


def test_ha_spark_and_jobs_use_the_nameservice(ha):
    hv = ha.hostvars[MASTER]
    assert hv["streamstack_namenode_uri"] == "hdfs://streamstack"


def test_ha_resourcemanagers(ha):
    for host in (MASTER, W1, W2):
        yarn = hadoop.site(ha.hostvars[host], "yarn-site.xml")
        assert "yarn.resourcemanager.hostname" not in yarn
        assert "yarn.resourcemanager.webapp.address" not in yarn
        assert yarn["yarn.resourcemanager.ha.enabled"] == "true"
        assert yarn["yarn.resourcemanager.ha.rm-ids"] == "rm1,rm2"
        assert yarn["yarn.resourcemanager.hostname.rm1"] == MASTER
        assert yarn["yarn.resourcemanager.hostname.rm2"] == W1
        assert yarn["yarn.resourcemanager.webapp.address.rm2"] == f"{W1}:8088"
        assert yarn["yarn.resourcemanager.cluster-id"] == "streamstack"
        assert yarn["yarn.resourcemanager.recovery.enabled"] == "true"
        assert yarn["yarn.resourcemanager.work-preserving-recovery.enabled"] == "true"
        assert yarn["yarn.resourcemanager.store.class"] == (
            "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore")
        assert yarn["hadoop.zk.address"] == (
            "hadoop-master:2181,hadoop-worker1:2181,hadoop-worker2:2181")


def test_ha_daemons_per_host(ha):
    # ZKFC beside each NameNode, no SecondaryNameNode (the standby checkpoints), one
    # JobHistory server, JournalNodes on the three hosts and first in start order.
    assert ha.hostvars[MASTER]["hadoop_host_daemon_names"] == [
        "hdfs-journalnode", "hdfs-namenode", "hdfs-zkfc", "yarn-resourcemanager",
        "mapred-historyserver"]
    assert ha.hostvars[W1]["hadoop_host_daemon_names"] == [
        "hdfs-journalnode", "hdfs-namenode", "hdfs-zkfc", "hdfs-datanode",
        "yarn-resourcemanager", "yarn-nodemanager"]
    assert ha.hostvars[W2]["hadoop_host_daemon_names"] == [
        "hdfs-journalnode", "hdfs-datanode", "yarn-nodemanager"]


def test_ha_small_heaps(ha):
    env = hadoop.render(ha.hostvars[W1], "hadoop-env.sh.j2")
    assert 'export HDFS_JOURNALNODE_OPTS="-Xmx128m"' in env
    assert 'export HDFS_ZKFC_OPTS="-Xmx128m"' in env


def test_ha_units(ha):
    hv = ha.hostvars[W1]
    for daemon in hv["hadoop_host_daemons"]:
        unit = hadoop.render(hv.with_overlay(hadoop_daemon=daemon), "hadoop-daemon.service.j2")
        assert "User=hdfs\n" in unit or daemon["user"] != "hdfs"
        assert f"ExecStart=/opt/hadoop/bin/{daemon['command']}\n" in unit


def test_three_namenodes():
    inv = ha_inventory(groups={"hdfs_namenode": [MASTER, W1, W2]})
    hdfs = hadoop.site(inv.hostvars[W2], "hdfs-site.xml")
    assert hdfs["dfs.ha.namenodes.streamstack"] == "nn1,nn2,nn3"
    assert hdfs["dfs.namenode.rpc-address.streamstack.nn3"] == "hadoop-worker2:9000"


def test_rm_ha_alone_keeps_one_namenode():
    inv = hadoop.Inventory(LOCAL, groups={"yarn_resourcemanager": [MASTER, W1]})
    core = hadoop.site(inv.hostvars[W2], "core-site.xml")
    assert core["fs.defaultFS"] == "hdfs://hadoop-master:9000"
    assert "ha.zookeeper.quorum" not in core
    assert "dfs.nameservices" not in hadoop.site(inv.hostvars[W2], "hdfs-site.xml")
    yarn = hadoop.site(inv.hostvars[W2], "yarn-site.xml")
    assert yarn["yarn.resourcemanager.ha.enabled"] == "true"


# --- the guards of the HA tasks: never reformat, never re-bootstrap, formatZK once ------

TASKS = Path(__file__).resolve().parents[2] / "roles" / "hadoop" / "tasks"


def _tasks(name: str) -> dict[str, dict]:
    return {t["name"]: t for t in yaml.safe_load((TASKS / name).read_text())}


def test_format_and_bootstrap_only_over_an_empty_name_directory():
    fmt = _tasks("namenode.yml")["Hadoop | Format the NameNode (first run only)"]
    assert fmt["ansible.builtin.command"]["creates"] == "{{ hadoop_name_dir }}/current/VERSION"
    assert "-nonInteractive" in fmt["ansible.builtin.command"]["argv"]
    # Only the first NameNode formats with HA.
    assert "hadoop_namenode_hosts | first" in fmt["when"]
    ha = _tasks("namenode_ha.yml")
    boot = ha["Hadoop | Bootstrap this standby NameNode from the first (first run only, HA)"]
    assert boot["ansible.builtin.command"]["creates"] == "{{ hadoop_name_dir }}/current/VERSION"
    assert boot["ansible.builtin.command"]["argv"][1:] == [
        "namenode", "-bootstrapStandby", "-nonInteractive"]


def test_format_zk_refusal_is_ok_and_unchanged():
    task = _tasks("namenode_ha.yml")["Hadoop | Create the failover znode in ZooKeeper once (HA)"]
    assert task["ansible.builtin.command"]["argv"][1:] == ["zkfc", "-formatZK", "-nonInteractive"]
    # upstream exits 2 when /hadoop-ha/<nameservice> exists and leaves it as it is
    assert task["failed_when"] == "hadoop_format_zk.rc not in [0, 2]"
    assert task["changed_when"] == "hadoop_format_zk.rc == 0"


def test_no_task_transitions_a_namenode_or_resourcemanager():
    # A re-run after a failover must leave the active one where it is.
    for path in TASKS.glob("*.yml"):
        text = path.read_text()
        for word in ("-transitionToActive", "-transitionToStandby", "-failover"):
            assert word not in text, f"{path.name} runs {word}"


def test_journalnodes_start_before_any_namenode():
    main = [t["name"] for t in yaml.safe_load((TASKS / "main.yml").read_text())]
    assert main.index("Hadoop | Start the JournalNodes") < main.index(
        "Hadoop | Format the NameNode if it never was")
