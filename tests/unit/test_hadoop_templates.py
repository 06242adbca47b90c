"""Render the hadoop role's templates with Ansible (role_templates), from the real
defaults, role vars, the cross-role facts and the committed inventories, parse the XML
with xml.etree and check what the daemons get, for the 3-host lab and the one-host
layout: a test sees what a play would template.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

import role_templates
from role_templates import LOCAL, SINGLE, HostVars

GIB = 1024

# Facts of a lab host: the whole machine's memory is visible inside a container.
FACTS = {"architecture": "x86_64", "memtotal_mb": 24 * GIB, "processor_vcpus": 2}


def Inventory(directory: Path, facts: dict | None = None,
              **overrides) -> role_templates.Inventory:
    """The inventory as a play of the hadoop role sees it, facts over FACTS (overrides:
    extra_vars, groups, host_vars)."""
    return role_templates.Inventory(directory, default_roles=("common", "hadoop"),
                                    vars_role="hadoop", facts={**FACTS, **(facts or {})},
                                    **overrides)


local, single = role_templates.inventory_fixtures(Inventory)


def render(hv: HostVars, template: str) -> str:
    return role_templates.render(hv, "hadoop", template)


def site(hv: HostVars, name: str) -> dict[str, str]:
    """A *-site.xml rendered and parsed: {property name: value}, no duplicates."""
    root = ET.fromstring(render(hv, f"{name}.j2").encode())
    assert root.tag == "configuration"
    out: dict[str, str] = {}
    for prop in root.findall("property"):
        key, value = prop.findtext("name"), prop.findtext("value")
        assert key not in out, f"{name}: duplicate {key}"
        out[key] = value
    return out


def test_core_site_points_at_the_namenode(local, single):
    for host in local.groups["all"]:
        assert site(local.hostvars[host], "core-site.xml")["fs.defaultFS"] == (
            "hdfs://hadoop-master:9000")
    assert site(single.hostvars["localhost"], "core-site.xml")["fs.defaultFS"] == (
        "hdfs://localhost:9000")


def test_hdfs_site_three_hosts(local):
    for host in local.groups["all"]:
        hdfs = site(local.hostvars[host], "hdfs-site.xml")
        assert hdfs["dfs.replication"] == "2"
        assert hdfs["dfs.namenode.name.dir"] == "file:///var/lib/hadoop/name"
        assert hdfs["dfs.datanode.data.dir"] == "file:///var/lib/hadoop/data"
        assert hdfs["dfs.namenode.checkpoint.dir"] == "file:///var/lib/hadoop/namesecondary"
        assert hdfs["dfs.namenode.http-address"] == "0.0.0.0:9870"
        assert hdfs["dfs.datanode.http.address"] == "0.0.0.0:9864"
        assert hdfs["dfs.namenode.secondary.http-address"] == "0.0.0.0:9868"
        assert hdfs["dfs.permissions.enabled"] == "true"
        assert hdfs["dfs.webhdfs.enabled"] == "true"


def test_hdfs_site_one_host_replication_1(single):
    assert site(single.hostvars["localhost"], "hdfs-site.xml")["dfs.replication"] == "1"


def test_replication_never_above_2():
    inv = Inventory(LOCAL, groups={
        "hdfs_datanode": ["hadoop-master", "hadoop-worker1", "hadoop-worker2"]})
    assert site(inv.hostvars["hadoop-master"], "hdfs-site.xml")["dfs.replication"] == "2"


def test_yarn_site_three_hosts(local):
    yarn = site(local.hostvars["hadoop-worker1"], "yarn-site.xml")
    assert yarn["yarn.resourcemanager.hostname"] == "hadoop-master"
    assert yarn["yarn.nodemanager.aux-services"] == "mapreduce_shuffle"
    assert yarn["yarn.nodemanager.aux-services.mapreduce_shuffle.class"] == (
        "org.apache.hadoop.mapred.ShuffleHandler")
    # 24 GiB host: half of it capped at 4096 per NodeManager.
    assert yarn["yarn.nodemanager.resource.memory-mb"] == "4096"
    assert yarn["yarn.scheduler.minimum-allocation-mb"] == "256"
    assert yarn["yarn.scheduler.maximum-allocation-mb"] == "4096"
    assert yarn["yarn.nodemanager.resource.cpu-vcores"] == "4"
    assert yarn["yarn.nodemanager.vmem-check-enabled"] == "false"
    assert "JAVA_HOME" in yarn["yarn.nodemanager.env-whitelist"].split(",")
    assert "HADOOP_MAPRED_HOME" in yarn["yarn.nodemanager.env-whitelist"].split(",")
    share = "/opt/hadoop/share/hadoop"
    assert yarn["yarn.application.classpath"].split(",") == [
        "/etc/hadoop", f"{share}/common/*", f"{share}/common/lib/*", f"{share}/hdfs/*",
        f"{share}/hdfs/lib/*", f"{share}/yarn/*", f"{share}/yarn/lib/*"]
    assert yarn["yarn.nodemanager.local-dirs"] == "/var/lib/hadoop/yarn-local"
    assert yarn["yarn.nodemanager.log-dirs"] == "/var/lib/hadoop/yarn-logs"


def test_yarn_site_one_host(single):
    yarn = site(single.hostvars["localhost"], "yarn-site.xml")
    assert yarn["yarn.resourcemanager.hostname"] == "localhost"
    assert yarn["yarn.nodemanager.resource.memory-mb"] == "4096"


def test_two_small_jobs_fit():
    """Two streaming jobs (an AM and one executor each, 1 GiB containers) and their
    AMs under the CapacityScheduler's AM limit, on the one-host layout too."""
    for directory in (LOCAL, SINGLE):
        inv = Inventory(directory)
        nms = inv.groups["yarn_nodemanager"]
        total = sum(int(site(inv.hostvars[h], "yarn-site.xml")
                        ["yarn.nodemanager.resource.memory-mb"]) for h in nms)
        assert total >= 4 * GIB
        capacity = site(inv.hostvars[nms[0]], "capacity-scheduler.xml")
        am_share = float(capacity["yarn.scheduler.capacity.maximum-am-resource-percent"])
        assert am_share * total >= 2 * GIB


def test_small_hosts_get_half_their_memory():
    inv = Inventory(LOCAL, facts={"memtotal_mb": 6000, "processor_vcpus": 8})
    yarn = site(inv.hostvars["hadoop-worker1"], "yarn-site.xml")
    assert yarn["yarn.nodemanager.resource.memory-mb"] == "3000"
    assert yarn["yarn.scheduler.maximum-allocation-mb"] == "3000"
    assert yarn["yarn.nodemanager.resource.cpu-vcores"] == "8"


def test_yarn_memory_overrides_win():
    inv = Inventory(LOCAL, host_vars={"hadoop-worker1": {
        "hadoop_yarn_nodemanager_memory_mb": 2048, "hadoop_yarn_nodemanager_vcores": 3}})
    yarn = site(inv.hostvars["hadoop-worker1"], "yarn-site.xml")
    assert yarn["yarn.nodemanager.resource.memory-mb"] == "2048"
    assert yarn["yarn.scheduler.maximum-allocation-mb"] == "2048"
    assert yarn["yarn.nodemanager.resource.cpu-vcores"] == "3"
    # The other worker keeps the derived value.
    other = site(inv.hostvars["hadoop-worker2"], "yarn-site.xml")
    assert other["yarn.nodemanager.resource.memory-mb"] == "4096"
    # A bigger cap on big hosts.
    inv = Inventory(LOCAL, extra_vars={"hadoop_yarn_nodemanager_memory_cap_mb": 8192})
    assert site(inv.hostvars["hadoop-worker1"], "yarn-site.xml")[
        "yarn.nodemanager.resource.memory-mb"] == "8192"


def test_extra_properties_override(local):
    inv = Inventory(LOCAL, extra_vars={"hadoop_yarn_site_extra": {
        "yarn.nodemanager.vmem-check-enabled": True, "my.prop": "a&b<c"}})
    yarn = site(inv.hostvars["hadoop-worker1"], "yarn-site.xml")
    assert yarn["yarn.nodemanager.vmem-check-enabled"] == "true"
    assert yarn["my.prop"] == "a&b<c"


def test_mapred_site(local, single):
    for inv, master in ((local, "hadoop-master"), (single, "localhost")):
        mapred = site(inv.hostvars[inv.groups["all"][0]], "mapred-site.xml")
        assert mapred["mapreduce.framework.name"] == "yarn"
        for key in ("yarn.app.mapreduce.am.env", "mapreduce.map.env", "mapreduce.reduce.env"):
            assert mapred[key] == "HADOOP_MAPRED_HOME=/opt/hadoop"
        assert mapred["mapreduce.application.classpath"] == (
            "/opt/hadoop/share/hadoop/mapreduce/*,/opt/hadoop/share/hadoop/mapreduce/lib/*")
        assert mapred["mapreduce.jobhistory.address"] == f"{master}:10020"
        assert mapred["mapreduce.jobhistory.webapp.address"] == f"{master}:19888"
        for key in ("yarn.app.mapreduce.am.resource.mb", "mapreduce.map.memory.mb",
                    "mapreduce.reduce.memory.mb"):
            assert int(mapred[key]) <= 1024
        # Container JVMs on Java 17: heap below the container, module openings.
        for key in ("yarn.app.mapreduce.am.command-opts", "mapreduce.map.java.opts",
                    "mapreduce.reduce.java.opts"):
            assert "-Xmx384m" in mapred[key]
            assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in mapred[key]


def test_workers_and_env(local, single):
    assert render(local.hostvars["hadoop-master"], "workers.j2").split() == [
        "hadoop-worker1", "hadoop-worker2"]
    assert render(single.hostvars["localhost"], "workers.j2").split() == ["localhost"]
    env = render(local.hostvars["hadoop-master"], "hadoop-env.sh.j2")
    assert "export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64" in env
    assert "export HADOOP_LOG_DIR=/var/log/hadoop" in env
    # Each daemon's heap and its Prometheus JMX agent on its own port.
    agent = "-javaagent:/opt/jmx_exporter/jmx_prometheus_javaagent-1.0.1.jar"
    assert (f'export HDFS_NAMENODE_OPTS="-Xmx384m {agent}=7072:/etc/hadoop/jmx-exporter.yml"'
            in env)
    assert (f'export HDFS_DATANODE_OPTS="-Xmx256m {agent}=7074:/etc/hadoop/jmx-exporter.yml"'
            in env)


def _daemons(hv: HostVars) -> list[str]:
    return hv["hadoop_host_daemon_names"]


def test_daemons_per_host(local, single):
    assert _daemons(local.hostvars["hadoop-master"]) == [
        "hdfs-namenode", "hdfs-secondarynamenode", "yarn-resourcemanager",
        "mapred-historyserver"]
    assert _daemons(local.hostvars["hadoop-worker1"]) == ["hdfs-datanode", "yarn-nodemanager"]
    assert _daemons(single.hostvars["localhost"]) == [
        "hdfs-namenode", "hdfs-secondarynamenode", "hdfs-datanode", "yarn-resourcemanager",
        "yarn-nodemanager", "mapred-historyserver"]


def test_units_run_as_service_users(single):
    hv = single.hostvars["localhost"]
    users = {"hdfs-namenode": "hdfs", "hdfs-secondarynamenode": "hdfs", "hdfs-datanode": "hdfs",
             "yarn-resourcemanager": "yarn", "yarn-nodemanager": "yarn",
             "mapred-historyserver": "mapred"}
    for daemon in hv["hadoop_host_daemons"]:
        unit = render(hv.with_overlay(hadoop_daemon=daemon), "hadoop-daemon.service.j2")
        assert f"User={users[daemon['name']]}\n" in unit
        assert "Restart=on-failure\n" in unit
        tool, sub = daemon["command"].split()
        assert f"ExecStart=/opt/hadoop/bin/{tool} {sub}\n" in unit


def test_hdfs_dirs(local):
    dirs = {d["path"]: d for d in local.hostvars["hadoop-master"]["hadoop_hdfs_dirs"]}
    for path in ("/user/root", "/user/spark", "/checkpoints", "/data", "/tmp", "/spark-logs",
                 "/user/history"):
        assert path in dirs
    assert dirs["/tmp"]["mode"] == "1777"
    assert dirs["/spark-logs"]["mode"] == "1777"
    assert dirs["/user/spark"]["owner"] == "spark"
    paths = list(dirs)
    for path in paths:  # parents first
        parent = path.rsplit("/", 1)[0]
        if parent in dirs:
            assert paths.index(parent) < paths.index(path)


def test_start_script_lists_other_hosts(local):
    script = render(local.hostvars["hadoop-master"], "start-hadoop.sh.j2")
    assert 'units="hdfs-namenode hdfs-secondarynamenode yarn-resourcemanager' in script
    assert "hadoop-worker1: hdfs-datanode yarn-nodemanager" in script


def test_both_masters_read_one_exclude_file(local):
    hv = local.hostvars["hadoop-master"]
    assert site(hv, "hdfs-site.xml")["dfs.hosts.exclude"] == "/etc/hadoop/hosts.exclude"
    assert site(hv, "yarn-site.xml")["yarn.resourcemanager.nodes.exclude-path"] == (
        "/etc/hadoop/hosts.exclude")
    assert render(hv, "hosts.exclude.j2") == ""


def test_exclude_file_keeps_decommissioned_hosts_until_a_group_takes_them_back():
    inv = Inventory(LOCAL, groups={"decommission": ["hadoop-worker3"]})
    # What the NameNode's file held: a host decommissioned earlier and hadoop-worker1,
    # which is back in hdfs_datanode.
    before = base64.b64encode(b"hadoop-worker9\nhadoop-worker1\n").decode()
    for host in ("hadoop-master", "hadoop-worker2"):
        hv = inv.hostvars[host].with_overlay(hadoop_exclude_read={"content": before})
        assert render(hv, "hosts.exclude.j2").split() == ["hadoop-worker3", "hadoop-worker9"]
    # No file yet (slurp failed): the decommission group only.
    hv = inv.hostvars["hadoop-worker2"].with_overlay(hadoop_exclude_read={"failed": True})
    assert render(hv, "hosts.exclude.j2").split() == ["hadoop-worker3"]


def test_log_aggregation_off_in_the_secure_profile(local):
    """With Kerberos, aggregation would need libhadoop.so: the first finished application
    stopped every NodeManager ("Secure IO is not possible without native code")."""
    assert local.hostvars["hadoop-worker1"]["hadoop_yarn_log_aggregation_enabled"] is True
    secure = Inventory(LOCAL, extra_vars={"streamstack_security": "kerberos"})
    assert secure.hostvars["hadoop-worker1"]["hadoop_yarn_log_aggregation_enabled"] is False
