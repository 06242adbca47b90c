"""What every check reads: the lab's expected ports, commands, files and directories,
:class:`Result`, the :class:`Lab` (the inventory and what each host's probe saw), the
check registry and the helpers the checks share."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

INTERNAL_OFFSET = 10000
ZOOKEEPER_PORT = 2181
NAMENODE_HTTP = 9870
JOBHISTORY_HTTP = 19888
RESOURCEMANAGER_HTTP = 8088
DEFAULT_JOBS = ("wordcount", "kafka-to-hdfs")
YARN_WAIT_SECONDS = 300
# The lab CA's certificate on every host of the secure profile (roles/hadoop's copy),
# and the Kafka admin's client properties (roles/kafka, root only, on every host).
SECURE_CA_FILE = "/etc/pki/hadoop/ca.crt"
SECURE_KAFKA_CLIENT_CONFIG = "/etc/kafka/admin.properties"
PROBE = Path(__file__).resolve().parent.parent / "probe.py"

# unit -> (group, user); the JobHistory server runs with the NameNode.
HADOOP_DAEMONS = {
    "hdfs-namenode": ("hdfs_namenode", "hdfs"),
    "hdfs-secondarynamenode": ("hdfs_namenode", "hdfs"),
    "hdfs-datanode": ("hdfs_datanode", "hdfs"),
    "yarn-resourcemanager": ("yarn_resourcemanager", "yarn"),
    "yarn-nodemanager": ("yarn_nodemanager", "yarn"),
    "mapred-historyserver": ("hdfs_namenode", "mapred"),
    "hdfs-journalnode": ("hdfs_journalnode", "hdfs"),
    "hdfs-zkfc": ("hdfs_namenode", "hdfs"),
}
# Units that run only with NameNode HA (two or more hosts in hdfs_namenode).
HA_ONLY_DAEMONS = ("hdfs-journalnode", "hdfs-zkfc")
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


def secrets_dir(variables: dict, inventory: str) -> Path:
    """A lab's generated secrets on the controller, where playbooks/group_vars/all/
    security.yml puts them (streamstack_secrets_dir), from a host's variables."""
    if os.environ.get("STREAMSTACK_SECRETS_DIR"):
        return Path(os.environ["STREAMSTACK_SECRETS_DIR"])
    name = variables.get("streamstack_lab_name") or Path(
        variables.get("inventory_dir") or inventory).name
    return Path.home() / ".streamstack" / "secrets" / name


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
        # The secure profile: the probes authenticate (Lab.auth) and speak TLS.
        self.secure = first.get("streamstack_security", "none") == "kerberos"
        self.seen: dict[str, dict] = {}
        self.seconds: dict[str, float] = {}
        from streamstack.plugins.plugin_utils import release_layout
        from streamstack.plugins.plugin_utils.artifacts_catalog import PRODUCTS

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

    def namenode_url(self, host: str | None = None) -> str | None:
        """The first NameNode's web endpoint (or `host`'s)."""
        namenodes = self.group("hdfs_namenode")
        if not namenodes:
            return None
        # The secure profile serves HDFS's web endpoints over HTTPS only (same port).
        return f"{'https' if self.secure else 'http'}://{host or namenodes[0]}:{NAMENODE_HTTP}"

    def webhdfs_url(self, path: str, op: str, user: str) -> str | list[str]:
        """A WebHDFS call as `user`: the plain lab's pseudo-authentication names the user
        (user.name); in the secure profile the probe's ticket does, and user.name goes.
        With NameNode HA, the call on each NameNode: the probe keeps the one that serves."""
        who = "" if self.secure else f"&user.name={user}"
        if self.namenode_ha:
            return [f"{self.namenode_url(h)}/webhdfs/v1{path}?op={op}{who}"
                    for h in self.group("hdfs_namenode")]
        return f"{self.namenode_url()}/webhdfs/v1{path}?op={op}{who}"

    def resourcemanager_url(self, name: str) -> str:
        # The secure profile's YARN web servers speak HTTPS only (yarn.http.policy).
        return f"{'https' if self.secure else 'http'}://{name}:{RESOURCEMANAGER_HTTP}"

    def kafka_client_settings(self) -> dict:
        """kafka-python's settings for this machine's clients: in the secure profile the
        lab user's SCRAM credentials and the lab CA, from the secrets directory."""
        if not self.secure:
            return {}
        secrets = secrets_dir(self.vars[self.hosts[0]], self.inventory)
        user = self.vars[self.hosts[0]].get("kafka_lab_user", "student")
        # A password lookup's file: the password, then optional "salt=..." fields.
        password = (secrets / f"kafka-{user}-password").read_text().split()[0]
        return {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": user, "sasl_plain_password": password,
                "ssl_cafile": str(secrets / "ca" / "ca.crt")}

    def auth(self, name: str) -> dict:
        """Where a host's probe finds its credentials in the secure profile (paths only,
        no secret leaves the host): the lab user's keytab, the lab CA and the Kafka
        admin's client properties. {} for the plain lab."""
        if not self.secure:
            return {}
        variables = self.vars[name]
        user = variables.get("kerberos_lab_user", "root")
        realm = variables.get("streamstack_kerberos_realm", "STREAMSTACK.LAB")
        keytabs = variables.get("streamstack_keytab_dir", "/etc/security/keytabs")
        return {"keytab": f"{keytabs}/{user}.keytab", "principal": f"{user}@{realm}",
                "cafile": SECURE_CA_FILE, "kafka_config": SECURE_KAFKA_CLIENT_CONFIG}

    @property
    def namenode_ha(self) -> bool:
        return len(self.group("hdfs_namenode")) > 1

    @property
    def resourcemanager_ha(self) -> bool:
        return len(self.group("yarn_resourcemanager")) > 1

    def namenodes(self) -> str | list[str] | None:
        """Where HDFS clients go: the NameNode, or with HA every NameNode (the probe uses
        the active one)."""
        if self.namenode_ha:
            return [self.namenode_url(h) for h in self.group("hdfs_namenode")]
        return self.namenode_url()

    def daemon_hosts(self, unit: str) -> list[str]:
        """The hosts a Hadoop unit runs on: its group, with HA's changes (JournalNodes and
        ZKFCs, no SecondaryNameNode) and one JobHistory server (the first NameNode's)."""
        group = HADOOP_DAEMONS[unit][0]
        if unit in HA_ONLY_DAEMONS and not self.namenode_ha:
            return []
        if unit == "hdfs-secondarynamenode" and self.namenode_ha:
            return []
        if unit == "mapred-historyserver":
            return self.group(group)[:1]
        return self.group(group)

    def got(self, host: str, task: str):
        """The result of one probe task on a host (None when it was not asked)."""
        return (self.seen.get(host, {}).get(task) or {}).get("result")

    def testinfra_host(self, name: str):
        import testinfra

        return testinfra.get_host(f"ansible://{name}", ansible_inventory=self.inventory)


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
