"""The checks of Hadoop: its units and client configuration, HDFS (NameNode, DataNodes,
directories, a file across hosts) and YARN's NodeManagers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from .base import (
    HA_ONLY_DAEMONS,
    HADOOP_CLIENT_FILES,
    HADOOP_DAEMONS,
    HDFS_DIRECTORIES,
    JOBHISTORY_HTTP,
    NAMENODE_HTTP,
    RESOURCEMANAGER_HTTP,
    Lab,
    _listens,
    _probe_error,
    _result,
    _unit_problems,
    check,
)

# Hadoop ------------------------------------------------------------------------------

@check("hadoop.unit", "every host (present where its group says, absent elsewhere)")
def hadoop_units(lab: Lab):
    for host in lab.hosts:
        files = lab.got(host, "hadoop_files") or {}
        for unit, (group, user) in HADOOP_DAEMONS.items():
            if unit in HA_ONLY_DAEMONS and not lab.namenode_ha:
                continue
            if host in lab.daemon_hosts(unit):
                yield _result("hadoop.unit", host, unit,
                              f"unit enabled and running as user {user} ({group})",
                              _unit_problems(lab, host, unit, user))
            else:
                present = files.get(f"/etc/systemd/system/{unit}.service", {}).get("exists")
                error = _probe_error(lab, host, "hadoop_files")
                yield _result("hadoop.unit", host, unit, f"no unit file (not in {group})",
                              [error] if error else (
                                  [f"{unit} is installed on {host}, not in {group}"]
                                  if present else []))


@check("hadoop.client", "every host")
def hadoop_client(lab: Lab):
    for host in lab.hosts:
        files = lab.got(host, "hadoop_files") or {}
        missing = [f for f in HADOOP_CLIENT_FILES
                   if not files.get(f"/etc/hadoop/{f}", {}).get("exists")]
        problems = [f"missing in /etc/hadoop: {', '.join(missing)}"] if missing else []
        default_fs = _xml_property(files.get("/etc/hadoop/core-site.xml", {}).get(
            "content", ""), "fs.defaultFS")
        if not (default_fs or "").startswith("hdfs://"):
            problems.append(f"fs.defaultFS is {default_fs!r}")
        yield _result("hadoop.client", host, "hadoop",
                      f"client configuration in /etc/hadoop, fs.defaultFS={default_fs}",
                      problems)


def _xml_property(text: str, name: str) -> str | None:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    for prop in root.iter("property"):
        if prop.findtext("name") == name:
            return prop.findtext("value")
    return None


def _namenode_info(lab: Lab, host: str) -> tuple[dict, str | None]:
    error = _probe_error(lab, host, "namenode_info")
    beans = (lab.got(host, "namenode_info") or {}).get("json", {}) or {}
    beans = beans.get("beans") or [{}]
    return beans[0], error


@check("hdfs.namenode", "the hdfs_namenode host")
def hdfs_namenode(lab: Lab):
    for host in lab.group("hdfs_namenode"):
        version = (lab.got(host, "namenode_version") or {}).get(
            "/var/lib/hadoop/name/current/VERSION", {})
        problems = []
        cluster_id = re.search(r"^clusterID=(CID-\S+)$", version.get("content", ""), re.M)
        if version.get("user") != "hdfs" or not cluster_id:
            problems.append(f"name/current/VERSION: owner {version.get('user')}, "
                            f"clusterID {cluster_id[1] if cluster_id else 'missing'}")
        info, error = _namenode_info(lab, host)
        if error:
            problems.append(error)
        elif info.get("Safemode"):
            problems.append(f"safe mode: {info['Safemode'][:120]}")
        # One JobHistory server, on the first NameNode's host (HA has more NameNodes).
        ports = [NAMENODE_HTTP] + (
            [JOBHISTORY_HTTP] if host in lab.daemon_hosts("mapred-historyserver") else [])
        problems += [f"nothing listens on *:{p}" for p in ports
                     if not _listens(lab, host, p, everywhere=True)]
        yield _result("hdfs.namenode", host, "hdfs-namenode",
                      "formatted once (a clusterID of its own), safe mode off, UIs on "
                      + " and ".join(f"*:{p}" for p in ports), problems)


@check("hdfs.datanodes", "the hdfs_namenode host")
def hdfs_datanodes(lab: Lab):
    expected = lab.group("hdfs_datanode")
    for host in lab.group("hdfs_namenode"):
        info, error = _namenode_info(lab, host)
        live = {name.split(":")[0] for name in json.loads(info.get("LiveNodes") or "{}")}
        missing = sorted(set(expected) - live)
        problems = [error] if error else (
            [f"hdfs-datanode not live in the NameNode: {', '.join(missing)}"] if missing
            else [])
        yield _result("hdfs.datanodes", host, "hdfs-namenode",
                      f"all {len(expected)} DataNode(s) live in the NameNode", problems)


@check("hdfs.directories", "the hdfs_namenode host")
def hdfs_directories(lab: Lab):
    for host in lab.group("hdfs_namenode"):
        problems = []
        for path, wanted in HDFS_DIRECTORIES.items():
            answer = lab.got(host, f"hdfs_stat:{path}") or {}
            status = ((answer.get("json") or {}).get("FileStatus") or {})
            got = f"{status.get('owner')} {status.get('group')} {status.get('permission')}"
            if answer.get("error") or got != wanted:
                problems.append(f"{path} is {answer.get('error') or got}, not {wanted}")
        yield _result("hdfs.directories", host, "hdfs",
                      f"{len(HDFS_DIRECTORIES)} directories with their owner and mode",
                      problems)


@check("hdfs.cross_host", "every host, when there are several")
def hdfs_cross_host(lab: Lab):
    for host in lab.hosts:
        reader = lab.reader.get(host)
        if not reader:
            continue
        put = lab.got(host, "hdfs_put") or {}
        read = lab.got(reader, f"hdfs_read:{host}") or {}
        problems = []
        if put.get("error"):
            problems.append(f"write through WebHDFS failed: {put['error']}")
        elif read.get("error") or read.get("text") != lab.token[host]:
            problems.append(f"{reader} read {read.get('error') or repr(read.get('text'))}")
        yield _result("hdfs.cross_host", host, "hdfs",
                      f"a file written here is read on {reader}", problems)


@check("yarn.nodemanagers", "the yarn_resourcemanager host")
def yarn_nodemanagers(lab: Lab):
    expected = lab.group("yarn_nodemanager")
    for host in lab.group("yarn_resourcemanager"):
        error = _probe_error(lab, host, "yarn_nodes")
        nodes = (((lab.got(host, "yarn_nodes") or {}).get("json") or {}).get("nodes") or {})
        running = {n["nodeHostName"] for n in nodes.get("node") or []
                   if n.get("state") == "RUNNING"}
        missing = sorted(set(expected) - running)
        problems = [error] if error else (
            [f"yarn-nodemanager not RUNNING in the ResourceManager: {', '.join(missing)}"]
            if missing else [])
        if not _listens(lab, host, RESOURCEMANAGER_HTTP, everywhere=True):
            problems.append(f"nothing listens on *:{RESOURCEMANAGER_HTTP}")
        yield _result("yarn.nodemanagers", host, "yarn-resourcemanager",
                      f"all {len(expected)} NodeManager(s) RUNNING, UI on "
                      f"*:{RESOURCEMANAGER_HTTP}", problems)


@check("hadoop.ha", "the hdfs_namenode and yarn_resourcemanager hosts, with HA")
def hadoop_ha(lab: Lab):
    """One active NameNode (ResourceManager), the others standby, as each says itself."""
    for group, probe, service in (("hdfs_namenode", "namenode_status", "hdfs-namenode"),
                                  ("yarn_resourcemanager", "rm_info", "yarn-resourcemanager")):
        hosts = lab.group(group)
        if len(hosts) < 2:
            continue
        states = {}
        for host in hosts:
            answer = lab.got(host, probe) or {}
            body = answer.get("json") or {}
            if probe == "namenode_status":
                state = ((body.get("beans") or [{}])[0].get("State") or "").lower()
            else:
                state = ((body.get("clusterInfo") or {}).get("haState") or "").lower()
            states[host] = state or answer.get("error") or "no answer"
        active = [h for h, s in states.items() if s == "active"]
        for host in hosts:
            problems = []
            if len(active) != 1:
                problems.append(f"{len(active)} active: " + ", ".join(
                    f"{h} {s}" for h, s in states.items()))
            elif states[host] not in ("active", "standby"):
                problems.append(f"{host} is {states[host]}")
            yield _result("hadoop.ha", host, service,
                          f"one active, the others standby (this one: {states[host]})", problems)
