"""Hadoop: HDFS and YARN daemons placed by the inventory groups, one cluster.

Which units a host should run comes from its groups (hdfs_namenode, hdfs_datanode,
yarn_resourcemanager, yarn_nodemanager), so the same tests serve any inventory.
"""

from __future__ import annotations

import re
import uuid

import pytest
import testinfra

# unit -> (group, user); the JobHistory server runs with the NameNode.
DAEMONS = {
    "hdfs-namenode": ("hdfs_namenode", "hdfs"),
    "hdfs-secondarynamenode": ("hdfs_namenode", "hdfs"),
    "hdfs-datanode": ("hdfs_datanode", "hdfs"),
    "yarn-resourcemanager": ("yarn_resourcemanager", "yarn"),
    "yarn-nodemanager": ("yarn_nodemanager", "yarn"),
    "mapred-historyserver": ("hdfs_namenode", "mapred"),
}
COMMANDS = ["hdfs", "yarn", "mapred", "hadoop", "start-hadoop.sh"]


@pytest.fixture(scope="module")
def ansible_vars(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def groups(ansible_vars):
    return ansible_vars.get("groups", {})


@pytest.fixture(scope="module")
def name(host):
    return host.backend.get_hostname()


def _in(groups, group, name) -> bool:
    return name in groups.get(group, [])


def _require(groups, group, name):
    if not _in(groups, group, name):
        pytest.skip(f"not in the {group} group")


def as_hdfs(host, command: str, *args):
    return host.run("sudo -u hdfs " + command, *args)


@pytest.mark.parametrize("unit", list(DAEMONS))
def test_unit_active_and_enabled_where_its_group_says(host, groups, name, unit):
    group, user = DAEMONS[unit]
    service = host.service(unit)
    if not _in(groups, group, name):
        assert not host.file(f"/etc/systemd/system/{unit}.service").exists
        return
    assert service.is_enabled, f"{unit} is not enabled on {name}"
    assert service.is_running, f"{unit} is not running on {name}"
    pid = host.check_output("systemctl show -p MainPID --value %s", unit)
    assert pid != "0", f"{unit} has no main process on {name}"
    assert host.check_output("ps -o user= -p %s", pid) == user, f"{unit} runs as the wrong user"


@pytest.mark.parametrize("command", COMMANDS)
def test_commands_on_path(host, command):
    assert host.exists(command)


def test_client_configuration(host):
    for name in ("core-site.xml", "hdfs-site.xml", "yarn-site.xml", "mapred-site.xml",
                 "capacity-scheduler.xml", "hadoop-env.sh", "log4j.properties", "workers"):
        assert host.file(f"/etc/hadoop/{name}").exists
    out = host.check_output("hdfs getconf -confKey fs.defaultFS")
    assert out.startswith("hdfs://")


def test_namenode_formatted_once_with_fixed_cluster_id(host, groups, name):
    _require(groups, "hdfs_namenode", name)
    version = host.file("/var/lib/hadoop/name/current/VERSION")
    assert version.exists
    assert version.user == "hdfs"
    assert re.search(r"^clusterID=CID-streamstack$", version.content_string, re.M)


def test_web_uis_listening(host, groups, name):
    ports = []
    if _in(groups, "hdfs_namenode", name):
        ports += [9870, 19888]
    if _in(groups, "yarn_resourcemanager", name):
        ports.append(8088)
    if not ports:
        pytest.skip("no web UI on this host")
    for port in ports:
        assert host.socket(f"tcp://0.0.0.0:{port}").is_listening, port


def test_safe_mode_off(host, groups, name):
    _require(groups, "hdfs_namenode", name)
    assert "Safe mode is OFF" in host.check_output("hdfs dfsadmin -safemode get")


def test_every_datanode_live(host, groups, name):
    _require(groups, "hdfs_namenode", name)
    report = as_hdfs(host, "hdfs dfsadmin -report -live")
    assert report.rc == 0, report.stderr
    expected = len(groups.get("hdfs_datanode", []))
    live = set(re.findall(r"^Hostname: (\S+)$", report.stdout, re.M))
    missing = sorted(set(groups.get("hdfs_datanode", [])) - live)
    assert not missing, f"hdfs-datanode not live in the NameNode's report: {', '.join(missing)}"
    assert f"Live datanodes ({expected}):" in report.stdout


def test_every_nodemanager_running(host, groups, name):
    _require(groups, "yarn_resourcemanager", name)
    out = host.check_output("yarn node -list -all 2>/dev/null")
    running = {line.split(":")[0] for line in out.splitlines()
               if re.match(r"^\S+:\d+\s+RUNNING\s", line)}
    missing = sorted(set(groups.get("yarn_nodemanager", [])) - running)
    assert not missing, f"yarn-nodemanager not RUNNING in the ResourceManager: {', '.join(missing)}"
    assert running == set(groups.get("yarn_nodemanager", []))


def test_hdfs_directories(host, groups, name):
    _require(groups, "hdfs_namenode", name)
    expected = {"/tmp": "hdfs hadoop 1777", "/spark-logs": "spark hadoop 1777",
                "/user/root": "root hadoop 755", "/user/spark": "spark hadoop 755",
                "/checkpoints": "spark hadoop 1777", "/data": "spark hadoop 1777"}
    for path, stat in expected.items():
        out = host.check_output("hdfs dfs -stat '%%u %%g %%a' %s", path)
        assert out == stat, path


def test_file_written_here_is_read_on_another_host(host, groups, name):
    """Unique content per run, written on this host, read on the next host, removed."""
    hosts = groups.get("all", [])
    if len(hosts) < 2:
        pytest.skip("one host only")
    reader_name = hosts[(hosts.index(name) + 1) % len(hosts)]
    reader = testinfra.get_host(f"ansible://{reader_name}",
                                ansible_inventory=host.backend.ansible_inventory)
    token = f"{name}-{uuid.uuid4().hex}"
    path = f"/tmp/testinfra-{token}"
    put = host.run("echo %s | hdfs dfs -put - %s", token, path)
    assert put.rc == 0, put.stderr
    try:
        assert reader.check_output("hdfs dfs -cat %s", path) == token
    finally:
        host.run("hdfs dfs -rm -skipTrash %s", path)
