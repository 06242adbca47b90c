"""The checks behind `streamstack verify` and tests/infra: every daemon of the lab, its
cluster and both jobs, read in one pass per host.

Each host runs streamstack/probe.py once (all hosts at once, each probe's reads in
threads), then every check judges what the probes saw. What a host should run comes from
the inventory (groups, kafka_brokers, zookeeper_id), so the same checks serve the 3-host
lab, the one-host layout, KRaft mode and VMs. The checks only read; the one write is a
file of their own under /tmp in HDFS, removed at once.

A check yields one Result per host it looked at: the host, the unit or area, passed /
failed / skipped, what was checked in words, and the detail of a failure. A check that
does not apply to the inventory (no ZooKeeper in KRaft mode, SSH-only facts on a docker
lab) is not run and is listed as such; a check skipped on every host it applied to is a
failure (see `verify.exit_code`).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

INTERNAL_OFFSET = 10000
ZOOKEEPER_PORT = 2181
NAMENODE_HTTP = 9870
JOBHISTORY_HTTP = 19888
RESOURCEMANAGER_HTTP = 8088
DEFAULT_JOBS = ("wordcount", "kafka-to-hdfs")
YARN_WAIT_SECONDS = 300
PROBE = Path(__file__).resolve().parent / "probe.py"

# unit -> (group, user); the JobHistory server runs with the NameNode.
HADOOP_DAEMONS = {
    "hdfs-namenode": ("hdfs_namenode", "hdfs"),
    "hdfs-secondarynamenode": ("hdfs_namenode", "hdfs"),
    "hdfs-datanode": ("hdfs_datanode", "hdfs"),
    "yarn-resourcemanager": ("yarn_resourcemanager", "yarn"),
    "yarn-nodemanager": ("yarn_nodemanager", "yarn"),
    "mapred-historyserver": ("hdfs_namenode", "mapred"),
}
KAFKA_COMMANDS = ("kafka-topics.sh", "kafka-console-producer.sh", "kafka-console-consumer.sh",
                  "kafka-consumer-groups.sh", "kafka-server-start.sh",
                  "kafka-producer-perf-test.sh", "kafka-consumer-perf-test.sh",
                  "zookeeper-shell.sh", "start-kafka-zookeeper.sh")
HADOOP_COMMANDS = ("hdfs", "yarn", "mapred", "hadoop", "start-hadoop.sh")
SPARK_COMMANDS = ("spark-submit", "pyspark", "spark-shell", "spark-class")
HADOOP_CLIENT_FILES = ("core-site.xml", "hdfs-site.xml", "yarn-site.xml", "mapred-site.xml",
                       "capacity-scheduler.xml", "hadoop-env.sh", "log4j.properties",
                       "workers")
SPARK_HOME = "/opt/spark"
KAFKA_CONNECTOR_JARS = ("spark-sql-kafka-0-10_2.12-3.5.0.jar",
                        "spark-token-provider-kafka-0-10_2.12-3.5.0.jar")
HDFS_DIRECTORIES = {"/tmp": "hdfs hadoop 1777", "/spark-logs": "spark hadoop 1777",
                    "/user/root": "root hadoop 755", "/user/spark": "spark hadoop 755",
                    "/checkpoints": "spark hadoop 1777", "/data": "spark hadoop 1777"}


@dataclass
class Result:
    check: str
    host: str
    service: str
    state: str  # passed | failed | skipped
    what: str
    detail: str = ""

    def record(self) -> dict:
        return {"check": self.check, "host": self.host, "service": self.service,
                "state": self.state, "what": self.what, "detail": self.detail}


class Lab:
    """The inventory's hosts and variables, and what each host's probe saw."""

    def __init__(self, inventory: str):
        from testinfra.utils.ansible_runner import AnsibleRunner

        # testinfra calls ansible-inventory by name: the one of this interpreter's venv.
        venv_bin = str(Path(sys.executable).parent)
        if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([venv_bin, os.environ.get("PATH", "")])
        self.inventory = inventory
        self.runner = AnsibleRunner(inventory)
        self.hosts = list(self.runner.get_hosts("all"))
        self.vars = {name: self.runner.get_variables(name) for name in self.hosts}
        first = self.vars[self.hosts[0]] if self.hosts else {}
        self.groups: dict[str, list[str]] = {
            g: list(members) for g, members in first.get("groups", {}).items()}
        self.seen: dict[str, dict] = {}
        self.seconds: dict[str, float] = {}
        from streamstack import release_layout
        from streamstack.artifacts_catalog import PRODUCTS

        self.layouts = {p: release_layout.load(p, PRODUCTS[p].version) for p in sorted(PRODUCTS)}
        # hdfs.cross_host: each host writes a file of its own, the next host reads it.
        self.token = {h: uuid.uuid4().hex for h in self.hosts}
        self.reader = ({h: self.hosts[(i + 1) % len(self.hosts)]
                        for i, h in enumerate(self.hosts)}
                       if len(self.hosts) > 1 and self.namenode_url() else {})

    def group(self, name: str) -> list[str]:
        return self.groups.get(name, [])

    def brokers(self) -> list[dict]:
        """Every broker: host, id, external port, internal port (inventory order)."""
        out = []
        for name in self.group("kafka"):
            for broker in self.vars[name].get("kafka_brokers", []):
                port = int(broker["port"])
                out.append({"host": name, "id": int(broker["id"]), "port": port,
                            "internal_port": port + INTERNAL_OFFSET})
        return out

    def internal_bootstrap(self, brokers: list[dict] | None = None) -> str:
        return ",".join(f"{b['host']}:{b['internal_port']}" for b in
                        (self.brokers() if brokers is None else brokers))

    def client_host(self) -> str | None:
        """Where the handout's commands are typed: the spark client (hadoop-master)."""
        return (self.group("spark_client") or self.group("kafka") or [None])[0]

    def namenode_url(self) -> str | None:
        namenodes = self.group("hdfs_namenode")
        return f"http://{namenodes[0]}:{NAMENODE_HTTP}" if namenodes else None

    def got(self, host: str, task: str):
        """The result of one probe task on a host (None when it was not asked)."""
        return (self.seen.get(host, {}).get(task) or {}).get("result")

    def testinfra_host(self, name: str):
        import testinfra

        return testinfra.get_host(f"ansible://{name}", ansible_inventory=self.inventory)


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
    if "hdfs_namenode" in groups:
        tasks += [
            {"id": "namenode_version", "kind": "files", "args": {
                "paths": ["/var/lib/hadoop/name/current/VERSION"], "content": True}},
            {"id": "namenode_info", "kind": "http_json", "args": {
                "url": f"{namenode}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo"}},
        ]
        tasks += [{"id": f"hdfs_stat:{path}", "kind": "http_json", "args": {
            "url": f"{namenode}/webhdfs/v1{path}?op=GETFILESTATUS&user.name=hdfs"}}
            for path in HDFS_DIRECTORIES]
    if "yarn_resourcemanager" in groups:
        tasks.append({"id": "yarn_nodes", "kind": "http_json", "args": {
            "url": f"http://{name}:{RESOURCEMANAGER_HTTP}/ws/v1/cluster/nodes"}})
    if namenode and len(lab.hosts) > 1:
        tasks.append({"id": "hdfs_put", "kind": "webhdfs_put", "args": {
            "namenode": namenode, "path": _token_path(lab, name), "text": lab.token[name]}})
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
            tasks.append({"id": "yarn_apps", "kind": "yarn_apps", "args": {
                "url": f"http://{resourcemanagers[0]}:{RESOURCEMANAGER_HTTP}",
                "wanted": list(DEFAULT_JOBS), "wait": YARN_WAIT_SECONDS}})
    return tasks


def _token_path(lab: Lab, name: str) -> str:
    return f"/tmp/streamstack-verify-{name}-{lab.token[name]}"


def probe_command(tasks: list[dict]) -> str:
    """One shell command: the probe with its tasks, fed to python3 on the host."""
    return "python3 - <<'STREAMSTACK_PROBE'\n" + _with_tasks(tasks) + "\nSTREAMSTACK_PROBE"


def _with_tasks(tasks: list[dict]) -> str:
    marker = "TASKS: list[dict] = []  # replaced by the controller"
    literal = json.dumps(json.dumps(tasks))  # a JSON string is a valid Python literal
    return PROBE.read_text().replace(marker, f"TASKS: list[dict] = json.loads({literal})")


def probe_hosts(lab: Lab, plans: dict[str, list[dict]]) -> None:
    """Run each host's probe, all hosts at once; a host that cannot be probed gets an
    `error` entry its checks report."""
    def one(name: str) -> tuple[str, dict, float]:
        started = time.monotonic()
        done = lab.testinfra_host(name).run(probe_command(plans[name]))
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


# --------------------------------------------------------------------------- checks

@dataclass
class Check:
    name: str
    applies_to: str  # in words: the hosts it looks at, for the "not applicable" line
    run: Callable[[Lab], Iterator[Result]]


CHECKS: list[Check] = []


def check(name: str, applies_to: str):
    def register(fn: Callable[[Lab], Iterator[Result]]):
        CHECKS.append(Check(name, applies_to, fn))
        return fn
    return register


def _result(name: str, host: str, service: str, what: str, problems: list[str],
            skipped: str | None = None) -> Result:
    if skipped:
        return Result(name, host, service, "skipped", what, skipped)
    # One line per check: a traceback's lines are joined.
    detail = " | ".join(line.strip() for line in "; ".join(problems).splitlines()
                        if line.strip())
    return Result(name, host, service, "failed" if problems else "passed", what, detail)


def _probe_error(lab: Lab, host: str, task: str) -> str | None:
    """Why a task's result is missing or an error, else None."""
    if "_error" in lab.seen.get(host, {}):
        return f"probe failed on {host}: {lab.got(host, '_error')}"
    got = lab.got(host, task)
    if got is None:
        return f"{task} not read on {host}"
    if isinstance(got, dict) and got.get("error"):
        return str(got["error"])
    return None


def _unit_problems(lab: Lab, host: str, unit: str, user: str) -> list[str]:
    error = _probe_error(lab, host, "units")
    if error:
        return [error]
    state = lab.got(host, "units").get(unit, {})
    problems = []
    if state.get("UnitFileState") != "enabled":
        problems.append(f"{unit} is not enabled on {host} ({state.get('UnitFileState')})")
    if state.get("ActiveState") != "active":
        problems.append(f"{unit} is not running on {host} ({state.get('ActiveState')}/"
                        f"{state.get('SubState')})")
    elif state.get("user") != user:
        problems.append(f"{unit} runs as {state.get('user')}, not {user}")
    return problems


def _listens(lab: Lab, host: str, port: int, everywhere: bool = False) -> bool:
    sockets = lab.got(host, "listening") or []
    wildcard = {f"0.0.0.0:{port}", f":::{port}"}
    return any(s in wildcard for s in sockets) if everywhere else any(
        s.rsplit(":", 1)[1] == str(port) for s in sockets)


def _jps_classes(lab: Lab, host: str) -> list[str]:
    out = (lab.got(host, "jps") or {}).get("out", "")
    return [parts[1] for parts in (line.split() for line in out.splitlines()) if len(parts) > 1]


# ZooKeeper --------------------------------------------------------------------------

@check("zookeeper.unit", "hosts of the zookeeper group")
def zookeeper_unit(lab: Lab):
    for host in lab.group("zookeeper"):
        yield _result("zookeeper.unit", host, "zookeeper",
                      "unit enabled and running as user zookeeper",
                      _unit_problems(lab, host, "zookeeper", "zookeeper"))


@check("zookeeper.serves", "hosts of the zookeeper group")
def zookeeper_serves(lab: Lab):
    for host in lab.group("zookeeper"):
        problems = []
        if not _listens(lab, host, ZOOKEEPER_PORT, everywhere=True):
            problems.append(f"nothing listens on *:{ZOOKEEPER_PORT}")
        seen = lab.got(host, "zookeeper") or {}
        if seen.get("ruok") != "imok":
            problems.append(f"ruok answered {seen.get('ruok')!r}, not 'imok'")
        if "QuorumPeerMain" not in _jps_classes(lab, host):
            problems.append("jps does not list QuorumPeerMain")
        yield _result("zookeeper.serves", host, "zookeeper",
                      f"port {ZOOKEEPER_PORT} listening, ruok answers imok, jps lists "
                      "QuorumPeerMain", problems)


@check("zookeeper.config", "hosts of the zookeeper group")
def zookeeper_config(lab: Lab):
    members = lab.group("zookeeper")
    for host in members:
        seen = lab.got(host, "zookeeper_files") or {}
        expected = str(lab.vars[host].get("zookeeper_id", members.index(host) + 1))
        myid = (seen.get("/var/lib/zookeeper/myid") or {}).get("content", "").strip()
        cfg = (seen.get("/etc/zookeeper/zoo.cfg") or {}).get("content", "")
        problems = [] if myid == expected else [f"myid is {myid!r}, inventory says {expected}"]
        wanted = ["dataDir=/var/lib/zookeeper", "4lw.commands.whitelist=ruok,srvr,mntr,stat"]
        if len(members) > 1:
            wanted += [f"server.{lab.vars[m].get('zookeeper_id', i)}={m}:2888:3888"
                       for i, m in enumerate(members, start=1)]
        problems += [f"zoo.cfg lacks {line}" for line in wanted
                     if line not in cfg.splitlines()]
        yield _result("zookeeper.config", host, "zookeeper",
                      f"myid {expected}, zoo.cfg data dir, 4lw whitelist and "
                      f"{len(members)} server line(s)", problems)


@check("zookeeper.ensemble", "hosts of the zookeeper group")
def zookeeper_ensemble(lab: Lab):
    members = lab.group("zookeeper")
    for host in members:
        srvr = (lab.got(host, "zookeeper") or {}).get("srvr", {})
        modes = {m: (re.search(r"Mode: (\w+)", srvr.get(m, "")) or [None, None])[1]
                 for m in members}
        wanted = (["standalone"] if len(members) == 1
                  else ["follower"] * (len(members) - 1) + ["leader"])
        problems = [] if sorted(m or "down" for m in modes.values()) == wanted else [
            "modes seen from here: " + ", ".join(f"{m}={v or 'down'}" for m, v in modes.items())]
        yield _result("zookeeper.ensemble", host, "zookeeper",
                      f"all {len(members)} member(s) answer srvr from here, one leader",
                      problems)


# Kafka -------------------------------------------------------------------------------

@check("kafka.unit", "hosts with kafka_brokers")
def kafka_unit(lab: Lab):
    for broker in lab.brokers():
        host, unit = broker["host"], f"kafka@{broker['id']}"
        problems = _unit_problems(lab, host, unit, "kafka")
        for port in (broker["port"], broker["internal_port"]):
            if not _listens(lab, host, port):
                problems.append(f"nothing listens on {port}")
        yield _result("kafka.unit", host, unit,
                      f"unit enabled, running as kafka, listening on {broker['port']} "
                      f"(external) and {broker['internal_port']} (internal)", problems)


@check("kafka.config", "hosts with kafka_brokers")
def kafka_config(lab: Lab):
    for host in lab.group("kafka"):
        brokers = [b for b in lab.brokers() if b["host"] == host]
        if not brokers:
            continue
        error = _probe_error(lab, host, "kafka_files")
        files = lab.got(host, "kafka_files") or {}
        log_dirs = (lab.got(host, "kafka_log_dirs") or {}).get("out", "").splitlines()
        problems = [error] if error else []
        for index, broker in enumerate(brokers):
            path = f"/etc/kafka/server-{broker['id']}.properties"
            props = files.get(path, {})
            text = props.get("content", "")
            if (props.get("user"), props.get("group")) != ("root", "kafka"):
                problems.append(f"{path} owned {props.get('user')}:{props.get('group')}")
            ident = re.search(r"^(broker\.id|node\.id)=(\d+)$", text, re.M)
            if not ident or int(ident.group(2)) != broker["id"]:
                problems.append(f"{path}: id is not {broker['id']}")
            if not re.search(rf"^advertised\.listeners=INTERNAL://{re.escape(host)}:"
                             rf"{broker['internal_port']},EXTERNAL://[\w.-]+:{broker['port']}$",
                             text, re.M):
                problems.append(f"{path}: advertised.listeners is not INTERNAL://{host}:"
                                f"{broker['internal_port']},EXTERNAL://<host>:{broker['port']}")
            fields = log_dirs[index].split() if index < len(log_dirs) else []
            if len(fields) != 3 or fields[1:] != ["kafka", "meta"]:
                problems.append(f"log.dirs of kafka@{broker['id']} not owned by kafka with "
                                f"meta.properties ({' '.join(fields) or 'unreadable'})")
        dirs = [line.split()[0] for line in log_dirs if line.split()]
        if len(set(dirs)) != len(brokers):
            problems.append(f"log.dirs shared between brokers: {dirs}")
        jps = _jps_classes(lab, host).count("Kafka")
        if jps != len(brokers):
            problems.append(f"jps lists {jps} Kafka process(es), not {len(brokers)}")
        yield _result("kafka.config", host, "kafka",
                      f"server-<id>.properties of {len(brokers)} broker(s): owner, id, "
                      "advertised listeners, own log.dirs with meta.properties; jps", problems)


@check("kafka.registered", "the first Kafka host")
def kafka_registered(lab: Lab):
    brokers = lab.brokers()
    if not brokers:
        return
    host = brokers[0]["host"]
    error = _probe_error(lab, host, "kafka_registered")
    live = {b["id"] for b in (lab.got(host, "kafka_registered") or {}).get("brokers", [])}
    missing = [f"kafka@{b['id']} on {b['host']}" for b in brokers if b["id"] not in live]
    problems = [error] if error else (
        [f"brokers not registered in the cluster: {', '.join(missing)}"] if missing else [])
    yield _result("kafka.registered", host, "kafka",
                  f"all {len(brokers)} broker(s) in the cluster's metadata "
                  f"(asked {host}:{brokers[0]['internal_port']})", problems)


@check("kafka.localhost", "hosts with a broker or the localhost forwarders")
def kafka_localhost(lab: Lab):
    brokers = lab.brokers()
    for host in lab.hosts:
        if lab.got(host, "kafka_localhost") is None and "_error" not in lab.seen.get(host, {}):
            continue
        problems = [f"localhost:{b['port']} (kafka@{b['id']}) not reachable here"
                    for b in brokers if not _listens(lab, host, b["port"])]
        error = _probe_error(lab, host, "kafka_localhost")
        ids = sorted(b["id"] for b in (lab.got(host, "kafka_localhost") or {}).get(
            "brokers", []))
        if error:
            problems.append(error)
        elif ids != sorted(b["id"] for b in brokers):
            problems.append(f"localhost:{brokers[0]['port']} reports brokers {ids}")
        yield _result("kafka.localhost", host, "kafka",
                      f"the handout's localhost:{brokers[0]['port']} bootstrap reaches all "
                      f"{len(brokers)} broker(s) from this host", problems)


@check("commands", "every host")
def commands_on_path(lab: Lab):
    for host in lab.hosts:
        seen = lab.got(host, "commands") or {}
        plain = seen.get("plain", {})
        names = [*KAFKA_COMMANDS, *HADOOP_COMMANDS, "jps"]
        if "spark_client" in lab.vars[host].get("group_names", []):
            names += SPARK_COMMANDS
            missing_login = [n for n in SPARK_COMMANDS if not seen.get("login", {}).get(n)]
        else:
            missing_login = []
        missing = [n for n in names if not plain.get(n)]
        problems = ([f"not on PATH: {', '.join(missing)}"] if missing else []) + (
            [f"not on a login shell's PATH: {', '.join(missing_login)}"] if missing_login
            else [])
        yield _result("commands", host, "shell", f"{len(names)} handout and release "
                      "commands on PATH", problems or ([_probe_error(lab, host, "commands")]
                                                      if not seen else []))


# Hadoop ------------------------------------------------------------------------------

@check("hadoop.unit", "every host (present where its group says, absent elsewhere)")
def hadoop_units(lab: Lab):
    for host in lab.hosts:
        groups = lab.vars[host].get("group_names", [])
        files = lab.got(host, "hadoop_files") or {}
        for unit, (group, user) in HADOOP_DAEMONS.items():
            if group in groups:
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
        if version.get("user") != "hdfs" or not re.search(
                r"^clusterID=CID-streamstack$", version.get("content", ""), re.M):
            problems.append(f"name/current/VERSION: owner {version.get('user')}, "
                            "clusterID is not CID-streamstack")
        info, error = _namenode_info(lab, host)
        if error:
            problems.append(error)
        elif info.get("Safemode"):
            problems.append(f"safe mode: {info['Safemode'][:120]}")
        ports = [NAMENODE_HTTP, JOBHISTORY_HTTP]
        problems += [f"nothing listens on *:{p}" for p in ports
                     if not _listens(lab, host, p, everywhere=True)]
        yield _result("hdfs.namenode", host, "hdfs-namenode",
                      "formatted once (clusterID CID-streamstack), safe mode off, UIs on "
                      f"*:{NAMENODE_HTTP} and *:{JOBHISTORY_HTTP}", problems)


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


# Spark and the jobs ------------------------------------------------------------------

def _spark_defaults(lab: Lab, host: str) -> dict:
    text = ((lab.got(host, "spark_files") or {}).get("/etc/spark/spark-defaults.conf")
            or {}).get("content", "")
    conf = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.strip().partition(" ")
            conf[key] = value.strip()
    return conf


@check("spark.client", "spark_client hosts")
def spark_client(lab: Lab):
    for host in lab.group("spark_client"):
        files = lab.got(host, "spark_files") or {}
        problems = [f"missing {p}" for p in (f"{SPARK_HOME}/bin/spark-submit",
                                             f"{SPARK_HOME}/python/lib/pyspark.zip")
                    if not files.get(p, {}).get("exists")]
        jars = files.get(f"{SPARK_HOME}/jars", {}).get("entries", [])
        problems += [f"jars/ lacks {j}" for j in KAFKA_CONNECTOR_JARS if j not in jars]
        for prefix in ("kafka-clients-", "commons-pool2-", "spark-yarn_2.12-3.5.0"):
            if not any(j.startswith(prefix) for j in jars):
                problems.append(f"jars/ lacks {prefix}*")
        env = (lab.got(host, "commands") or {}).get("login_env", [])
        if env != ["/etc/spark", SPARK_HOME, "python3"]:
            problems.append(f"login shell SPARK_CONF_DIR SPARK_HOME PYSPARK_PYTHON = {env}")
        version = lab.got(host, "spark_version") or {}
        if version.get("rc") != 0 or "version 3.5.0" not in version.get("out", ""):
            problems.append("spark-submit --version without SPARK_HOME: "
                            + (version.get("out") or version.get("err") or "")[-200:])
        yield _result("spark.client", host, "spark",
                      "distribution and Kafka connector jars, login shell environment, "
                      "spark-submit --version 3.5.0 without SPARK_HOME", problems)


@check("spark.config", "spark_client hosts")
def spark_config(lab: Lab):
    for host in lab.group("spark_client"):
        conf = _spark_defaults(lab, host)
        problems = []
        master = conf.get("spark.master", "")
        if master not in ("yarn", "local[*]") and not master.startswith("spark://"):
            problems.append(f"spark.master is {master!r}")
        for key in ("spark.driver.memory", "spark.executor.memory"):
            if conf.get(key) != "512m":
                problems.append(f"{key} is {conf.get(key)}")
        if lab.group("hdfs_namenode") and not (
                conf.get("spark.eventLog.enabled") == "true"
                and conf.get("spark.eventLog.dir", "").endswith("/spark-logs")):
            problems.append("event log not enabled in /spark-logs")
        if master == "yarn" and not re.search(
                r"/spark/spark-jars-3\.5\.0-[0-9a-f]{16}\.zip$",
                conf.get("spark.yarn.archive", "")):
            problems.append(f"spark.yarn.archive is {conf.get('spark.yarn.archive')}")
        spark_env = ((lab.got(host, "spark_files") or {}).get("/etc/spark/spark-env.sh")
                     or {}).get("content", "")
        if "HADOOP_CONF_DIR" not in spark_env:
            problems.append("spark-env.sh does not set HADOOP_CONF_DIR")
        yield _result("spark.config", host, "spark",
                      f"spark-defaults.conf (master {master}, 512m heaps, event log, "
                      "jars archive named by digest), spark-env.sh", problems)


@check("spark.kafka_python", "spark_client hosts")
def spark_kafka_python(lab: Lab):
    for host in lab.group("spark_client"):
        seen = lab.got(host, "kafka_python") or {}
        problems = []
        if not (seen.get("version") or "").startswith("2."):
            problems.append(f"kafka-python: {seen.get('version') or seen.get('error')}")
        if lab.vars[host].get("spark_kafka_python_install", "wheel") == "wheel" and \
                seen.get("installer") != "pip":
            problems.append(f"kafka-python installed by {seen.get('installer')}, not pip")
        yield _result("spark.kafka_python", host, "spark",
                      f"kafka-python {seen.get('version')} importable, installed by pip",
                      problems)


@check("jobs.units", "spark_client hosts")
def job_units(lab: Lab):
    for host in lab.group("spark_client"):
        rows = [line.split("\t") for line in
                (lab.got(host, "job_units") or {}).get("out", "").splitlines() if line]
        jobs = {row[0]: row for row in rows if len(row) == 6}
        problems = [f"spark-job-{j} is not installed" for j in DEFAULT_JOBS if j not in jobs]
        for job, (_, enabled, active, user, lines, directory) in sorted(jobs.items()):
            if (enabled, active, user) != ("enabled", "active", "spark"):
                problems.append(f"spark-job-{job} is {enabled}/{active} as {user or '-'}")
            if lines != "2" or directory != "dir":
                problems.append(f"spark-job-{job}: unit lacks Restart=on-failure or "
                                "--deploy-mode client, or its job directory is missing")
        yield _result("jobs.units", host, "spark-job-*",
                      f"{len(jobs)} job unit(s) enabled and running as spark", problems)


@check("jobs.yarn", "spark_client hosts, on YARN")
def jobs_on_yarn(lab: Lab):
    for host in lab.group("spark_client"):
        conf = _spark_defaults(lab, host)
        if conf.get("spark.master") != "yarn" or not lab.group("yarn_resourcemanager"):
            continue
        seen = lab.got(host, "yarn_apps") or {}
        running = seen.get("running", [])
        missing = sorted(set(DEFAULT_JOBS) - set(running))
        problems = [f"not RUNNING on YARN: {', '.join(missing)} ({seen.get('error') or ''})"
                    .rstrip(" ()")] if missing else []
        yield _result("jobs.yarn", host, "yarn", f"jobs {', '.join(DEFAULT_JOBS)} RUNNING "
                      "on YARN", problems)
        if conf.get("spark.yarn.archive"):
            archive = conf["spark.yarn.archive"]
            path = re.sub(r"^hdfs://[^/]+", "", archive)
            stat = ((lab.got(host, "yarn_archive") or {}).get("json") or {}).get(
                "FileStatus") or {}
            size = int(stat.get("length") or 0)
            yield _result("jobs.yarn", host, "hdfs", f"YARN jars archive {path} in HDFS",
                          [] if size > 100 * 1024 * 1024 else
                          [f"{path}: {size} bytes"])


# Release layout ----------------------------------------------------------------------

@check("layout", "every host")
def release_layout(lab: Lab):
    for host in lab.hosts:
        for product, layout in lab.layouts.items():
            seen = lab.got(host, f"layout:{product}") or {}
            unexplained = [p for p in seen.get("missing", []) if p not in layout.known_absent]
            problems = [seen["error"]] if seen.get("error") else (
                [f"{len(unexplained)} release path(s) missing: {', '.join(unexplained[:8])}"]
                if unexplained else [])
            yield _result("layout", host, product,
                          f"{len(layout.paths)} paths of the official release under "
                          f"{layout.home}", problems)


# How the controller reaches a host over SSH (lab VMs, `streamstack lab up --ssh`) ------

def over_ssh(lab: Lab, host: str) -> bool:
    return lab.vars[host].get("ansible_connection", "ssh") in ("ssh", "smart")


def ssh_options(variables: dict) -> dict[str, str]:
    args = shlex.split(str(variables.get("ansible_ssh_common_args", "")))
    return dict(args[i + 1].partition("=")[::2] for i, arg in enumerate(args)
                if arg == "-o" and i + 1 < len(args))


@check("ssh.access", "hosts reached over SSH")
def ssh_access(lab: Lab):
    for host in lab.hosts:
        if not over_ssh(lab, host):
            continue
        variables = lab.vars[host]
        user = variables.get("ansible_user")
        problems = []
        if not user or user == "root":
            problems.append(f"ansible_user is {user!r}: log in as a sudo user")
        identity = (lab.got(host, "identity") or {}).get("out", "").split()
        if identity != ["root", str(user)]:
            problems.append(f"id -un / SUDO_USER through the connection: {identity}")
        options = ssh_options(variables)
        if options.get("StrictHostKeyChecking", "yes") != "yes":
            problems.append(f"StrictHostKeyChecking={options['StrictHostKeyChecking']}")
        known_hosts = options.get("UserKnownHostsFile",
                                  os.path.expanduser("~/.ssh/known_hosts"))
        real_key = ((lab.got(host, "host_key") or {}).get(
            "/etc/ssh/ssh_host_ed25519_key.pub") or {}).get("content", "").split()[1:2]
        address = variables.get("ansible_host", host)
        port = int(variables.get("ansible_port", 22))
        entry = address if port == 22 else f"[{address}]:{port}"
        found = subprocess.run(["ssh-keygen", "-F", entry, "-f", known_hosts],
                               capture_output=True, text=True, check=False).stdout
        if not real_key or real_key[0] not in found:
            problems.append(f"{known_hosts} has no entry for {entry} with the host's real key")
        problems += _root_login_problems(variables)
        yield _result("ssh.access", host, "sshd",
                      f"logged in as {user}, root through sudo, host key checked against "
                      "its real key, root login refused", problems)


def _root_login_problems(variables: dict) -> list[str]:
    key = variables.get("ansible_ssh_private_key_file")
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            *shlex.split(str(variables.get("ansible_ssh_common_args", ""))),
            "-p", str(variables.get("ansible_port", 22)), *(["-i", str(key)] if key else []),
            f"root@{variables.get('ansible_host')}", "true"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode == 0:
        return ["root logged in over SSH with the controller's key"]
    if "Permission denied" not in done.stderr:
        return [f"root login failed, but not as refused: {done.stderr.strip()[-200:]}"]
    return []


# The controller, through the published port -----------------------------------------

def controller_round_trip(lab: Lab) -> tuple[Result | str, str | None]:
    """kafka-python on this machine through localhost:<first port>, as the handout does:
    (the result, the cluster id that answered). The result is a string (why it does not
    apply) when this lab does not publish that port."""
    import socket

    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

    brokers = lab.brokers()
    if not brokers:
        return "no broker in the inventory", None
    port = brokers[0]["port"]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
    except OSError:
        return f"127.0.0.1:{port} is not published by this lab", None
    bootstrap = f"localhost:{port}"
    what = f"a record produced and read back from this machine through {bootstrap}"
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
        try:
            cluster_id = admin.describe_cluster().get("cluster_id")
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - which cluster answered is unknown then
        return f"{bootstrap} did not say which cluster it serves: {exc}", None
    topic, marker = "streamstack-controller-roundtrip", uuid.uuid4().hex.encode()
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                 request_timeout_ms=20000, max_block_ms=30000)
        try:
            sent = producer.send(topic, marker).get(timeout=60)
        finally:
            producer.close()
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=20000,
                                 enable_auto_commit=False)
        try:
            partition = TopicPartition(topic, sent.partition)
            consumer.assign([partition])
            consumer.seek(partition, sent.offset)
            values = [record.value for record in consumer]
        finally:
            consumer.close()
    except Exception as exc:  # noqa: BLE001 - the cluster answered, then failed: a finding
        return _result("kafka.controller", "controller", "kafka", what,
                       [f"{type(exc).__name__}: {exc}"]), cluster_id
    return _result("kafka.controller", "controller", "kafka", what,
                   [] if marker in values else [f"{marker!r} not read back"]), cluster_id


# ---------------------------------------------------------------------------- engine

@dataclass
class Report:
    results: list[Result]
    not_applicable: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    probe_seconds: dict[str, float] = field(default_factory=dict)

    def skipped_everywhere(self) -> list[str]:
        names: dict[str, set[str]] = {}
        for r in self.results:
            names.setdefault(r.check, set()).add(r.state)
        return sorted(n for n, states in names.items() if states == {"skipped"})


def selected(name: str, keyword: str | None) -> bool:
    """-k: check names containing any of the words given (joined by 'or' or commas)."""
    if not keyword:
        return True
    words = [w.strip() for w in re.split(r"\bor\b|,", keyword) if w.strip()]
    return any(w in name for w in words)


def run(inventory: str, keyword: str | None = None) -> Report:
    started = time.monotonic()
    lab = Lab(inventory)
    first = {h: plan(lab, h, lab.layouts) for h in lab.hosts}
    brokers = lab.brokers()
    if brokers:
        first[brokers[0]["host"]].append({"id": "kafka_cluster_id", "kind": "sh", "args": {
            "command": "sed -n 's/^cluster\\.id=//p' \"$(sed -n 's/^log\\.dirs=//p' "
                       f"/etc/kafka/server-{brokers[0]['id']}.properties)/meta.properties\""}})
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as controller:
        round_trip = controller.submit(controller_round_trip, lab) if selected(
            "kafka.controller", keyword) else None
        probe_hosts(lab, first)
        # What needs the first wave: reading each host's file on the next host, and the
        # size of the jars archive spark-defaults.conf names.
        second: dict[str, list[dict]] = {}
        for writer, reader in lab.reader.items():
            second.setdefault(reader, []).append({
                "id": f"hdfs_read:{writer}", "kind": "webhdfs_read",
                "args": {"namenode": lab.namenode_url(), "path": _token_path(lab, writer)}})
        for host in lab.group("spark_client"):
            archive = _spark_defaults(lab, host).get("spark.yarn.archive")
            if archive and lab.namenode_url():
                path = re.sub(r"^hdfs://[^/]+", "", archive)
                second.setdefault(host, []).append({
                    "id": "yarn_archive", "kind": "http_json", "args": {
                        "url": f"{lab.namenode_url()}/webhdfs/v1{path}"
                               "?op=GETFILESTATUS&user.name=spark"}})
        if second:
            probe_hosts(lab, second)
        trip, cluster_id = round_trip.result() if round_trip else (None, None)
    report = Report(results=[], probe_seconds=dict(lab.seconds))
    for item in CHECKS:
        if not selected(item.name, keyword):
            continue
        results = list(item.run(lab))
        if results:
            report.results += results
        else:
            report.not_applicable[item.name] = f"no host of this inventory is among "\
                                               f"{item.applies_to}"
    ours = brokers and (lab.got(brokers[0]["host"], "kafka_cluster_id") or {}).get(
        "out", "").strip()
    if isinstance(trip, Result) and not ours:
        trip = (f"this lab's cluster id is unreadable: cannot tell whether "
                f"localhost:{brokers[0]['port']} is its broker")
    elif isinstance(trip, Result) and cluster_id != ours:
        trip = f"localhost:{brokers[0]['port']} is another cluster's broker ({cluster_id})"
    if isinstance(trip, Result):
        report.results.append(trip)
    elif trip:
        report.not_applicable["kafka.controller"] = trip
    report.seconds = round(time.monotonic() - started, 2)
    return report


def describe(report: Report) -> list[str]:
    """The words of a report, one line per check result (used in tests' messages)."""
    return [f"{r.state.upper():7} {r.host} {r.service} {r.check}: {r.what}"
            + (f" -- {r.detail}" if r.detail else "") for r in report.results]

