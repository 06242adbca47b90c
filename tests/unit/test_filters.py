"""The filter plugins of plugins/filter (issue 19, item 8): role logic as Python, called
from the roles' YAML, found by Ansible through ansible.cfg."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def project_filters() -> dict:
    """Every filter of plugins/filter/*.py, by name."""
    filters: dict = {}
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"streamstack_filter_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        filters.update(module.FilterModule().filters())
    return filters


F = project_filters()

KAFKA = dict(kafka_hosts=["a", "b"], controller_id_base=3000, controller_port=9193,
             controller_port_offset=20000, internal_port_offset=10000, data_dir="/var/lib/kafka")
BROKERS_ALL = [{"host": "a", "id": 0, "port": 9092}, {"host": "b", "id": 1, "port": 9093}]


@pytest.mark.parametrize("path", ["roles/kafka/vars/main.yml", "roles/hadoop/vars/main.yml",
                                  "roles/kafka/tasks/topics.yml"])
def test_no_jinja_loops_left_in_the_yaml(path):
    text = (ROOT / path).read_text()
    assert not re.search(r"\{%-?\s*for\b", text), f"{path} still loops in Jinja"


def test_ansible_finds_the_filters_by_their_collection_name_through_ansible_cfg():
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_STRATEGY": "linear", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
           "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
    expr = "{{ ['hdfs'] | streamstack.lab.hadoop_user_dirs(group='hadoop') }}"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,",
         "-c", "local", "-m", "ansible.builtin.debug", "-a", f"msg={expr}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-800:] + done.stderr[-800:]
    assert "/user/hdfs" in done.stdout


def test_zookeeper_mode_brokers_of_this_host_only():
    nodes = F["kafka_local_nodes"]([{"id": 1, "port": "9093"}], host="b", mode="zookeeper",
                                   controller_hosts=[], **KAFKA)
    assert nodes == [{"id": 1, "port": 9093, "internal_port": 19093, "controller_port": None,
                      "roles": "broker", "log_dir": "/var/lib/kafka/broker-1"}]
    assert F["kafka_local_nodes"]([{"id": 1, "port": 9093}], host="c", mode="zookeeper",
                                  controller_hosts=[], **KAFKA) == []


def test_kraft_combined_and_dedicated_nodes():
    combined = F["kafka_local_nodes"]([{"id": 0, "port": 9092}], host="a", mode="kraft",
                                      controller_hosts=[], **KAFKA)
    assert [(n["roles"], n["controller_port"]) for n in combined] == [("broker,controller", 29092)]
    dedicated = F["kafka_local_nodes"]([{"id": 0, "port": 9092}], host="a", mode="kraft",
                                       controller_hosts=["c", "a"], **KAFKA)
    assert [(n["id"], n["roles"], n["controller_port"]) for n in dedicated] == [
        (0, "broker", None), (3001, "controller", 9193)]
    assert dedicated[1]["log_dir"] == "/var/lib/kafka/controller-3001"


def test_quorum_voters():
    kw = dict(controller_id_base=3000, controller_port=9193, controller_port_offset=20000)
    assert F["kafka_quorum_voters"](BROKERS_ALL, mode="kraft", controller_hosts=[], **kw) == \
        "0@a:29092,1@b:29093"
    assert F["kafka_quorum_voters"](BROKERS_ALL, mode="kraft", controller_hosts=["x", "y"],
                                    **kw) == "3000@x:9193,3001@y:9193"


def test_forwarded_ports_skip_own_host_and_own_ports():
    fwd = F["kafka_forwarded_ports"]
    assert fwd(BROKERS_ALL, host="a", local_brokers=[{"id": 0, "port": 9092}]) == [
        {"port": 9093, "host": "b"}]
    # A broker elsewhere on a port this host uses itself is not forwarded.
    assert fwd(BROKERS_ALL, host="a", local_brokers=[{"id": 7, "port": 9093}]) == []
    assert fwd(BROKERS_ALL, host="c", local_brokers=[]) == [
        {"port": 9092, "host": "a"}, {"port": 9093, "host": "b"}]
    assert fwd(BROKERS_ALL, host="c", local_brokers=[], enabled=False) == []


def test_topics_wanted_defaults_min_isr_cap_and_configs():
    wanted = F["kafka_topics_wanted"](
        [{"name": "events", "partitions": 3}, {"name": "one", "replication": 1},
         {"name": "own", "replication": 3, "min_insync_replicas": 1,
          "configs": {"retention.ms": 600000}}],
        default_replication="3", derived_min_insync="2")
    assert wanted == [
        {"name": "events", "partitions": 3, "replication_factor": 3,
         "configs": {"min.insync.replicas": "2"}},
        {"name": "one", "partitions": 1, "replication_factor": 1,
         "configs": {"min.insync.replicas": "1"}},
        {"name": "own", "partitions": 1, "replication_factor": 3,
         "configs": {"min.insync.replicas": "1", "retention.ms": "600000"}}]


def test_hadoop_user_dirs():
    assert F["hadoop_user_dirs"](["spark", "hdfs"], group="hadoop") == [
        {"path": "/user/spark", "owner": "spark", "group": "hadoop", "mode": "0755"},
        {"path": "/user/hdfs", "owner": "hdfs", "group": "hadoop", "mode": "0755"}]


def test_hadoop_restart_plan_daemon_order_then_host_order():
    daemons = [{"name": "hdfs-namenode", "port": 9870}, {"name": "hdfs-datanode", "port": 9866},
               {"name": "yarn-nodemanager", "port": 8042}]
    hostvars = {"m": {"hadoop_restart_pending": ["hdfs-namenode"]},
                "w1": {"hadoop_restart_pending": ["yarn-nodemanager", "hdfs-datanode"]},
                "w2": {"hadoop_restart_pending": ["hdfs-datanode"]}, "w3": {}}
    plan = F["hadoop_restart_plan"](daemons, play_hosts=["m", "w1", "w2", "w3"],
                                    hostvars=hostvars)
    assert [(p["daemon"], p["host"]) for p in plan] == [
        ("hdfs-namenode", "m"), ("hdfs-datanode", "w1"), ("hdfs-datanode", "w2"),
        ("yarn-nodemanager", "w1")]
    assert json.dumps(plan)  # plain data for the handler's loop


def test_an_explicit_controller_id_survives_a_reordered_group():
    kw = dict(mode="kraft", controller_id_base=3000, controller_port=9193,
              controller_port_offset=20000)
    pinned = {"x": {"kafka_kraft_controller_id": 3000}, "y": {"kafka_kraft_controller_id": 3001}}
    # y listed first now: without the pinned ids it would become 3000.
    assert F["kafka_quorum_voters"](BROKERS_ALL, controller_hosts=["y", "x"], hostvars=pinned,
                                    **kw) == "3001@y:9193,3000@x:9193"
    nodes = F["kafka_local_nodes"]([], host="y", kafka_hosts=[], controller_hosts=["y", "x"],
                                   internal_port_offset=10000, data_dir="/d", hostvars=pinned,
                                   **kw)
    assert [(n["id"], n["log_dir"]) for n in nodes] == [(3001, "/d/controller-3001")]


# Shapes as Hadoop 3.3.6 serves them: NameNodeInfo's LiveNodes (a JSON string in the
# bean) and the ResourceManager's /ws/v1/cluster/nodes.
LIVE_NODES = {
    "hadoop-worker1:9866": {"xferaddr": "172.18.0.3:9866", "adminState": "In Service"},
    "hadoop-worker3:9866": {"xferaddr": "172.18.0.5:9866",
                            "adminState": "Decommission In Progress"},
}


def test_hadoop_datanodes_of_by_name_or_by_address():
    assert F["hadoop_datanodes_of"](LIVE_NODES, ["hadoop-worker3"]) == {
        "hadoop-worker3": "Decommission In Progress"}
    # A VM known to the inventory by its address; one without a live DataNode is absent.
    hostvars = {"vm3": {"ansible_host": "172.18.0.5"}, "vm9": {"ansible_host": "10.0.0.9"}}
    assert F["hadoop_datanodes_of"](LIVE_NODES, ["vm3", "vm9"], hostvars) == {
        "vm3": "Decommission In Progress"}


def test_hadoop_nodemanagers_of_reports_the_most_active_entry():
    nodes = {"nodes": {"node": [
        {"nodeHostName": "hadoop-worker3", "nodeHTTPAddress": "hadoop-worker3:8042",
         "state": "DECOMMISSIONED"},
        {"nodeHostName": "hadoop-worker3", "nodeHTTPAddress": "hadoop-worker3:8042",
         "state": "RUNNING"},
        {"nodeHostName": "hadoop-worker1", "nodeHTTPAddress": "hadoop-worker1:8042",
         "state": "RUNNING"}]}}
    assert F["hadoop_nodemanagers_of"](nodes, ["hadoop-worker3"]) == {"hadoop-worker3": "RUNNING"}
    # No NodeManager at all: the ResourceManager answers {"nodes": null}.
    assert F["hadoop_nodemanagers_of"]({"nodes": None}, ["hadoop-worker3"]) == {}


@pytest.mark.parametrize(("release", "arch", "package", "home"), [
    ("12", "x86_64", "openjdk-17-jdk-headless", "/usr/lib/jvm/java-17-openjdk-amd64"),
    ("13", "x86_64", "openjdk-21-jdk-headless", "/usr/lib/jvm/java-21-openjdk-amd64"),
    ("13", "aarch64", "openjdk-21-jdk-headless", "/usr/lib/jvm/java-21-openjdk-arm64"),
    # A release the roles do not know: preflight refuses it; the filter stays on 17.
    ("11", "x86_64", "openjdk-17-jdk-headless", "/usr/lib/jvm/java-17-openjdk-amd64"),
])
def test_the_release_s_jdk(release, arch, package, home):
    facts = {"distribution_major_version": release, "architecture": arch}
    assert F["release_java_package"](facts) == package
    assert F["release_java_home"](facts) == home


def test_a_jdk_package_the_inventory_names_gives_its_home_on_any_release():
    facts = {"distribution_major_version": "13", "architecture": "x86_64"}
    assert F["release_java_home"](facts, "openjdk-25-jdk-headless") == \
        "/usr/lib/jvm/java-25-openjdk-amd64"
    assert F["release_java_home"](facts, None) == "/usr/lib/jvm/java-21-openjdk-amd64"


def _python(major: int, minor: int) -> dict:
    return {"ansible_facts": {"python": {"version": {"major": major, "minor": minor}}}}


def test_nodemanagers_of_another_python_minor_are_kept_off_pyspark():
    hostvars = {"vm1": _python(3, 11), "vm5": _python(3, 13), "new": {}}
    driver = _python(3, 11)["ansible_facts"]
    mismatched = F["spark_python_mismatched"]
    assert mismatched(["vm1", "vm5", "new"], hostvars, driver) == ["vm5"]
    # Unknown on either side: nothing is excluded.
    assert mismatched(["vm1", "vm5"], hostvars, {}) == []
    assert mismatched([], hostvars, driver) == []
