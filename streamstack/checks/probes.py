"""The probes: what each host's probe reads (every check's input) and running them, all
hosts at once."""

from __future__ import annotations

import concurrent.futures
import json
import time

from .base import (
    DEFAULT_JOBS,
    HADOOP_CLIENT_FILES,
    HADOOP_COMMANDS,
    HADOOP_DAEMONS,
    HDFS_DIRECTORIES,
    KAFKA_COMMANDS,
    PROBE,
    SPARK_COMMANDS,
    SPARK_HOME,
    YARN_WAIT_SECONDS,
    Lab,
)
from .hosts import over_ssh

# --------------------------------------------------------------------- probe plans

def plan(lab: Lab, name: str, layouts: dict) -> list[dict]:
    """The probe tasks of one host: everything any check of this host reads."""
    groups = set(lab.vars[name].get("group_names", []))
    brokers = lab.vars[name].get("kafka_brokers", [])
    tasks = [
        {"id": "units", "kind": "units", "args": {"names": [
            *HADOOP_DAEMONS, "zookeeper", *(f"kafka@{b['id']}" for b in brokers)]}},
        {"id": "listening", "kind": "listening"},
        {"id": "commands", "kind": "commands", "args": {
            "names": [*KAFKA_COMMANDS, *HADOOP_COMMANDS, *SPARK_COMMANDS, "jps"]}},
        {"id": "hadoop_files", "kind": "files", "args": {
            "paths": [f"/etc/hadoop/{f}" for f in HADOOP_CLIENT_FILES]
            + [f"/etc/systemd/system/{u}.service" for u in HADOOP_DAEMONS],
            "content": True}},
        {"id": "jps", "kind": "sh", "args": {"command": "timeout 60 jps", "timeout": 70}},
    ]
    if over_ssh(lab, name):
        tasks += [{"id": "identity", "kind": "sh",
                   "args": {"command": "id -un; printenv SUDO_USER"}},
                  {"id": "host_key", "kind": "files", "args": {
                      "paths": ["/etc/ssh/ssh_host_ed25519_key.pub"], "content": True}}]
    tasks += [{"id": f"layout:{product}", "kind": "missing_paths",
               "args": {"home": layout.home, "paths": list(layout.paths)}}
              for product, layout in layouts.items()]
    if "zookeeper" in groups:
        tasks += [
            {"id": "zookeeper", "kind": "zookeeper", "args": {"members": lab.group("zookeeper")}},
            {"id": "zookeeper_files", "kind": "files", "args": {
                "paths": ["/var/lib/zookeeper/myid", "/etc/zookeeper/zoo.cfg"],
                "content": True}},
        ]
    if brokers:
        configs = [f"/etc/kafka/server-{b['id']}.properties" for b in brokers]
        tasks.append({"id": "kafka_files", "kind": "files",
                      "args": {"paths": configs, "content": True}})
        tasks.append({"id": "kafka_log_dirs", "kind": "sh", "args": {"command": (
            "for f in " + " ".join(configs) + "; do d=$(sed -n 's/^log\\.dirs=//p' $f); "
            "printf '%s %s %s\\n' \"$d\" \"$(stat -c %U \"$d\")\" "
            "\"$(test -f \"$d/meta.properties\" && echo meta)\"; done")}})
    all_brokers = lab.brokers()
    if all_brokers and name == all_brokers[0]["host"]:
        tasks.append({"id": "kafka_registered", "kind": "kafka_brokers",
                      "args": {"address": f"{name}:{all_brokers[0]['internal_port']}"}})
    if all_brokers and (brokers or lab.vars[name].get("kafka_forward_external_ports")):
        tasks.append({"id": "kafka_localhost", "kind": "kafka_brokers",
                      "args": {"address": f"localhost:{all_brokers[0]['port']}"}})
    namenode = lab.namenode_url()
    namenodes = lab.namenodes()
    if "hdfs_namenode" in groups:
        # With HA each NameNode answers for itself (a standby too); WebHDFS only the active.
        own = lab.namenode_url(name) if lab.namenode_ha else namenode
        tasks += [
            {"id": "namenode_version", "kind": "files", "args": {
                "paths": ["/var/lib/hadoop/name/current/VERSION"], "content": True}},
            {"id": "namenode_info", "kind": "http_json", "args": {
                "url": f"{own}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo"}},
        ]
        tasks += [{"id": f"hdfs_stat:{path}", "kind": "http_json", "args": {
            "url": lab.webhdfs_url(path, "GETFILESTATUS", "hdfs")}}
            for path in HDFS_DIRECTORIES]
        if lab.namenode_ha:
            tasks.append({"id": "namenode_status", "kind": "http_json", "args": {
                "url": f"{own}/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus"}})
    if "yarn_resourcemanager" in groups:
        tasks.append({"id": "yarn_nodes", "kind": "http_json", "args": {
            # With RM HA a standby redirects (not followed): every RM, the active answers.
            "url": [f"{lab.resourcemanager_url(rm)}/ws/v1/cluster/nodes"
                    for rm in lab.group("yarn_resourcemanager")]
            if lab.resourcemanager_ha else
            f"{lab.resourcemanager_url(name)}/ws/v1/cluster/nodes"}})
        if lab.resourcemanager_ha:
            # /ws/v1/cluster/info is one of the few pages a standby answers itself.
            tasks.append({"id": "rm_info", "kind": "http_json", "args": {
                "url": f"{lab.resourcemanager_url(name)}/ws/v1/cluster/info"}})
    if namenode and len(lab.hosts) > 1:
        tasks.append({"id": "hdfs_put", "kind": "webhdfs_put", "args": {
            "namenode": namenodes, "path": _token_path(lab, name), "text": lab.token[name]}})
    if "spark_client" in groups:
        tasks += [
            {"id": "spark_files", "kind": "files", "args": {
                "paths": [f"{SPARK_HOME}/bin/spark-submit",
                          f"{SPARK_HOME}/python/lib/pyspark.zip", f"{SPARK_HOME}/jars",
                          "/etc/spark/spark-defaults.conf", "/etc/spark/spark-env.sh"],
                "content": True, "listing": True}},
            {"id": "spark_version", "kind": "sh", "args": {
                "command": "env -u SPARK_HOME timeout 120 spark-submit --version 2>&1",
                "timeout": 130}},
            {"id": "kafka_python", "kind": "kafka_python"},
            {"id": "job_units", "kind": "sh", "args": {"command": (
                "for u in $(systemctl list-unit-files --plain --no-legend "
                "'spark-job-*.service' | cut -d' ' -f1); do j=${u#spark-job-}; "
                "j=${j%.service}; p=$(systemctl show -p MainPID --value $u); "
                "printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' \"$j\" \"$(systemctl is-enabled $u)\" "
                "\"$(systemctl is-active $u)\" \"$(ps -o user= -p $p 2>/dev/null)\" "
                "\"$(grep -c -e '^Restart=on-failure' -e '--deploy-mode client' "
                "/etc/systemd/system/$u)\" "
                "\"$(test -d /opt/streamstack-jobs/$j && echo dir)\"; done")}},
        ]
        resourcemanagers = lab.group("yarn_resourcemanager")
        if resourcemanagers:
            urls = [lab.resourcemanager_url(rm) for rm in resourcemanagers]
            tasks.append({"id": "yarn_apps", "kind": "yarn_apps", "args": {
                "url": urls if lab.resourcemanager_ha else urls[0],
                "wanted": list(DEFAULT_JOBS), "wait": YARN_WAIT_SECONDS}})
    return tasks


def _token_path(lab: Lab, name: str) -> str:
    return f"/tmp/streamstack-verify-{name}-{lab.token[name]}"


def probe_command(tasks: list[dict], auth: dict | None = None) -> str:
    """One shell command: the probe with its tasks (and, in the secure profile, where
    its credentials are on the host), fed to python3 on the host."""
    return ("python3 - <<'STREAMSTACK_PROBE'\n" + _with_tasks(tasks, auth or {})
            + "\nSTREAMSTACK_PROBE")


def _with_tasks(tasks: list[dict], auth: dict) -> str:
    source = PROBE.read_text()
    for name, empty, value in (("TASKS: list[dict]", "[]", tasks), ("AUTH: dict", "{}", auth)):
        marker = f"{name} = {empty}  # replaced by the controller"
        if marker not in source:
            raise RuntimeError(f"{PROBE} lost its line {marker!r}")
        literal = json.dumps(json.dumps(value))  # a JSON string is a valid Python literal
        source = source.replace(marker, f"{name} = json.loads({literal})")
    return source


def probe_hosts(lab: Lab, plans: dict[str, list[dict]]) -> None:
    """Run each host's probe, all hosts at once; a host that cannot be probed gets an
    `error` entry its checks report."""
    def one(name: str) -> tuple[str, dict, float]:
        started = time.monotonic()
        done = lab.testinfra_host(name).run(probe_command(plans[name], lab.auth(name)))
        seconds = time.monotonic() - started
        if done.rc != 0:
            return name, {"_error": {"result": (done.stderr or done.stdout)[-500:]}}, seconds
        try:
            return name, json.loads(done.stdout.strip().splitlines()[-1]), seconds
        except (json.JSONDecodeError, IndexError):
            return name, {"_error": {"result": done.stdout[-500:]}}, seconds

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(plans))) as pool:
        for name, seen, seconds in pool.map(one, plans):
            lab.seen.setdefault(name, {}).update(seen)
            lab.seconds[name] = lab.seconds.get(name, 0.0) + round(seconds, 2)
