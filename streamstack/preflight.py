"""Preflight rules: what is wrong with an inventory, before anything changes.

The rules are pure functions over one data structure, so they are unit tested without
hosts. ``playbooks/preflight.yml`` gathers a few read-only facts on every host, builds the
structure on the controller (``playbooks/action_plugins/streamstack_preflight.py``) and
calls :func:`check`; ``streamstack preflight`` shows the same list.

The structure::

    {"hosts": {
        "hadoop-master": {
            "groups": ["zookeeper", "kafka", ...],
            "vars": {"kafka_brokers": [{"id": 0, "port": 9092}], "kafka_mode": "zookeeper",
                     ...},          # the variables of VARIABLE_DEFAULTS, as the host sees them
            "template_errors": {    # those of them whose template failed (absent: none)
                "hadoop_name_dir": {"template": "{{ hadoop_data_dir }}/name",
                                    "error": "'data_root' is undefined"}},
            "facts": {              # absent or partial when not gathered (unit tests)
                "memtotal_mb": 24000,
                "default_ipv4": "172.18.0.2",
                "mounts": [{"mount": "/", "size_available": 1234}],       # bytes
                "listening": [{"port": 9092, "address": "0.0.0.0", "process": "java",
                               "user": "kafka"}],
                "resolves": {"hadoop-worker1": "172.18.0.3", "other": None},
                "identities": {     # what the data directories say this host already is
                    "myid": "1",    # <zookeeper_data_dir>/myid, None if absent
                    "kafka": [{"dir": "/var/lib/kafka/broker-0", "node_id": "0",
                               "cluster_id": "Ab3..."}],       # each meta.properties
                    "cluster_id_file": None},  # <kafka_data_dir>/cluster.id (KRaft)
            },
            "reach": {              # absent: not tried (unit tests); else the first contact
                "answered": False, "address": "debian@192.0.2.10:22 (ssh)", "over_ssh": True,
                "stage": "connect",  # or "become" (sudo failed), "python" (no module ran)
                "message": "ssh: connect to host 192.0.2.10 port 22: Connection refused"},
            },
        ...}}

Every problem is an :class:`Issue`; its text is
``<host>: <variable>=<value>: <problem>. Fix: <what to do>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

ERROR, WARNING = "error", "warning"

KAFKA_MODES = ("zookeeper", "kraft")
ARTIFACTS_SOURCES = ("maven", "archive")
# streamstack_security: none (the handout's open lab) or kerberos (the secure profile).
SECURITY_PROFILES = ("none", "kerberos")

# Groups every deployment needs; zookeeper only when Kafka is not in KRaft mode.
REQUIRED_GROUPS = (
    "hdfs_namenode",
    "yarn_resourcemanager",
    "kafka",
    "zookeeper",
    "hdfs_datanode",
    "yarn_nodemanager",
    "spark_client",
)
# Groups whose service has no HA support in streamstack: exactly one host.
SINGLE_HOST_GROUPS = {"hdfs_namenode": "NameNode", "yarn_resourcemanager": "ResourceManager"}

# Ports each group's services listen on (upstream defaults, as the roles configure them).
# ``exclusive`` False: the service moves to the next free port by itself (Spark UI).
SERVICE_PORTS: dict[str, list[tuple[str, int, bool]]] = {
    "zookeeper": [("ZooKeeper client", 2181, True), ("ZooKeeper quorum", 2888, True),
                  ("ZooKeeper election", 3888, True)],
    "hdfs_namenode": [("NameNode RPC", 9000, True), ("NameNode UI", 9870, True),
                      ("SecondaryNameNode UI", 9868, True),
                      # roles/hadoop runs the JobHistory server on the NameNode host.
                      ("JobHistory RPC", 10020, True), ("JobHistory UI", 19888, True)],
    "hdfs_datanode": [("DataNode UI", 9864, True), ("DataNode data", 9866, True),
                      ("DataNode IPC", 9867, True)],
    "yarn_resourcemanager": [("ResourceManager UI", 8088, True),
                             ("ResourceManager scheduler", 8030, True),
                             ("ResourceManager tracker", 8031, True),
                             ("ResourceManager RPC", 8032, True),
                             ("ResourceManager admin", 8033, True)],
    "yarn_nodemanager": [("NodeManager localizer", 8040, True),
                         ("NodeManager RPC", 8041, True), ("NodeManager UI", 8042, True),
                         # roles/hadoop enables the mapreduce_shuffle aux service.
                         ("MapReduce shuffle", 13562, True)],
    "spark_client": [("Spark driver UI", 4040, False)],
}
# The Prometheus JMX agents of the daemons (playbooks/group_vars/all/metrics.yml).
for _group, _agents in {"zookeeper": [("ZooKeeper metrics", 7071)],
                        "hdfs_namenode": [("NameNode metrics", 7072),
                                          ("SecondaryNameNode metrics", 7073),
                                          ("JobHistory metrics", 7077)],
                        "hdfs_datanode": [("DataNode metrics", 7074)],
                        "yarn_resourcemanager": [("ResourceManager metrics", 7075)],
                        "yarn_nodemanager": [("NodeManager metrics", 7076)],
                        "spark_client": [("Spark driver metrics", 7080),
                                         ("Spark driver metrics", 7081)]}.items():
    SERVICE_PORTS[_group] += [(name, port, True) for name, port in _agents]

# Service ports that come from a role variable: (service name, variable).
PORT_VARIABLES = {
    "ZooKeeper client": "streamstack_zookeeper_client_port",
    "ZooKeeper quorum": "zookeeper_peer_port",
    "ZooKeeper election": "zookeeper_election_port",
    "NameNode RPC": "streamstack_namenode_port",
    "NameNode UI": "hadoop_namenode_http_port",
    "SecondaryNameNode UI": "hadoop_secondarynamenode_http_port",
    "JobHistory RPC": "hadoop_jobhistory_port",
    "JobHistory UI": "hadoop_jobhistory_webapp_port",
    "DataNode UI": "hadoop_datanode_http_port",
    "DataNode data": "hadoop_datanode_port",
    "ResourceManager UI": "hadoop_resourcemanager_webapp_port",
}
# Data directories per group: the variables (of roles/*/defaults) that name them.
DATA_DIR_VARIABLES = {
    "zookeeper": ("zookeeper_data_dir",),
    "kafka": ("kafka_data_dir",),
    "hdfs_namenode": ("hadoop_name_dir", "hadoop_namesecondary_dir"),
    "hdfs_datanode": ("hadoop_datanode_dir",),
    "yarn_nodemanager": ("hadoop_yarn_local_dir", "hadoop_yarn_log_dir"),
}
# Product versions: the variable each role would use; checked against the catalogue.
VERSION_VARIABLES = {"kafka": "kafka_version", "zookeeper": "zookeeper_version",
                     "hadoop": "hadoop_version", "spark": "spark_version",
                     "jmx_exporter": "streamstack_jmx_exporter_version"}

# Variables the rules read, with the value used when neither the inventory nor a role
# default sets them. The playbook passes each host's value of every one of these.
VARIABLE_DEFAULTS: dict[str, object] = {
    "kafka_brokers": [],
    "kafka_mode": "zookeeper",
    "kafka_topics": [],
    "kafka_forward_external_ports": False,
    "kafka_kraft_controller_group": "kafka_controller",
    "kafka_kraft_controller_port_offset": 20000,
    "kafka_kraft_controller_port": 9193,
    "kafka_data_dir": "/var/lib/kafka",
    "zookeeper_data_dir": "/var/lib/zookeeper",
    "zookeeper_peer_port": 2888,
    "zookeeper_election_port": 3888,
    "zookeeper_id": None,
    "kafka_kraft_controller_id": None,
    "kafka_kraft_controller_id_base": 3000,
    "hadoop_name_dir": "/var/lib/hadoop/name",
    "hadoop_namesecondary_dir": "/var/lib/hadoop/namesecondary",
    "hadoop_datanode_dir": "/var/lib/hadoop/data",
    "hadoop_yarn_local_dir": "/var/lib/hadoop/yarn-local",
    "hadoop_yarn_log_dir": "/var/lib/hadoop/yarn-logs",
    "hadoop_namenode_http_port": 9870,
    "hadoop_secondarynamenode_http_port": 9868,
    "hadoop_jobhistory_port": 10020,
    "hadoop_jobhistory_webapp_port": 19888,
    "hadoop_historyserver_enabled": True,
    "hadoop_datanode_http_port": 9864,
    "hadoop_datanode_port": 9866,
    "hadoop_resourcemanager_webapp_port": 8088,
    "hadoop_yarn_nodemanager_memory_mb": None,
    "hadoop_yarn_log_aggregation_enabled": None,
    "artifacts_source": "maven",
    "artifacts_archive_sha512": {},
    "kafka_version": None,
    "zookeeper_version": None,
    "hadoop_version": None,
    "spark_version": None,
    "streamstack_jmx_exporter_version": None,
    "streamstack_metrics_enabled": True,
    "streamstack_kafka_jmx_port_offset": 30000,
    "streamstack_kafka_internal_port_offset": 10000,
    "streamstack_zookeeper_client_port": 2181,
    "streamstack_namenode_port": 9000,
    "streamstack_security": "none",
    "common_service_users": [{"name": n} for n in
                             ("zookeeper", "kafka", "hdfs", "yarn", "mapred", "spark")],
    "common_manage_etc_hosts": False,
    "preflight_min_free_disk_mb": 2048,
}

# Variables that must be the same on every host (they describe the cluster).
CLUSTER_VARIABLES = ("kafka_mode", "artifacts_source", "streamstack_security",
                     "streamstack_kafka_internal_port_offset", "kafka_kraft_controller_group",
                     *VERSION_VARIABLES.values())

# Processes that may hold a Kafka external port: the lab's localhost forwarders.
FORWARDER_PROCESSES = ("socat", "forward")


@dataclass(frozen=True)
class Issue:
    host: str
    variable: str
    value: object
    problem: str
    fix: str
    level: str = ERROR

    def __str__(self) -> str:
        return f"{self.host}: {self.variable}={_show(self.value)}: {self.problem}. Fix: {self.fix}"


def _show(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


@dataclass
class Inventory:
    """Read helpers over the structure; rules never touch the raw dicts directly."""

    hosts: dict[str, dict]
    _var_defaults: dict[str, object] = field(default_factory=lambda: dict(VARIABLE_DEFAULTS))

    @property
    def names(self) -> list[str]:
        return list(self.hosts)

    def group(self, name: str) -> list[str]:
        return [h for h, data in self.hosts.items() if name in (data.get("groups") or [])]

    def groups_of(self, host: str) -> list[str]:
        return list(self.hosts[host].get("groups") or [])

    def var(self, host: str, name: str) -> object:
        values = self.hosts[host].get("vars") or {}
        value = values.get(name)
        return self._var_defaults.get(name) if value is None else value

    def fact(self, host: str, name: str, default: object = None) -> object:
        return (self.hosts[host].get("facts") or {}).get(name, default)

    def has_fact(self, host: str, name: str) -> bool:
        return name in (self.hosts[host].get("facts") or {})

    def cluster_var(self, name: str) -> object:
        """A cluster-wide variable: its value on the first Kafka host, else the first host."""
        hosts = self.group("kafka") or self.names
        return self.var(hosts[0], name) if hosts else self._var_defaults.get(name)

    def kafka_mode(self) -> str:
        return str(self.cluster_var("kafka_mode"))

    def valid_brokers(self, host: str) -> list[dict]:
        """Brokers of a host with an int id and an int port (others have their own error)."""
        brokers = self.var(host, "kafka_brokers")
        if not isinstance(brokers, list):
            return []
        return [b for b in brokers if isinstance(b, dict) and _is_int(b.get("id"))
                and _is_int(b.get("port"))]

    def all_brokers(self) -> list[tuple[str, dict]]:
        return [(h, b) for h in self.group("kafka") for b in self.valid_brokers(h)]

    def offset(self, host: str) -> int:
        offset = self.var(host, "streamstack_kafka_internal_port_offset")
        return offset if _is_int(offset) else 10000

    def service_ports(self, host: str) -> list[tuple[str, int, bool]]:
        """(service, port, exclusive) of every non-Kafka service the host runs."""
        ports = []
        history = _truthy(self.var(host, "hadoop_historyserver_enabled"))
        for group in self.groups_of(host):
            for name, port, exclusive in SERVICE_PORTS.get(group, []):
                if name.startswith("JobHistory") and not history:
                    continue
                if name in PORT_VARIABLES:
                    port = _int_or(_as_int(self.var(host, PORT_VARIABLES[name])), port)
                ports.append((name, port, exclusive))
        return ports

    def kraft(self) -> bool:
        return self.kafka_mode() == "kraft"

    def controller_hosts(self) -> list[str]:
        """Hosts of dedicated KRaft controllers (empty: brokers are the controllers)."""
        return self.group(str(self.cluster_var("kafka_kraft_controller_group")))

    def data_dirs(self, host: str) -> list[tuple[str, str]]:
        """(variable, path) of every data directory of the host's services."""
        dirs: list[tuple[str, str]] = []
        groups = set(self.groups_of(host))
        if self.kraft() and host in self.controller_hosts():
            groups.add("kafka")
        for group, variables in DATA_DIR_VARIABLES.items():
            if group in groups:
                for name in variables:
                    value = self.var(host, name)
                    if value and str(value) not in [path for _, path in dirs]:
                        dirs.append((name, str(value)))
        return dirs

    def kafka_ports(self, host: str) -> list[tuple[str, int, dict]]:
        """(listener, port, broker) of every broker listener on the host."""
        ports: list[tuple[str, int, dict]] = []
        if host not in self.group("kafka") and not (self.kraft()
                                                     and host in self.controller_hosts()):
            return ports
        offset = self.offset(host)
        combined = self.kraft() and not self.controller_hosts()
        controller_offset = _int_or(_as_int(self.var(host, "kafka_kraft_controller_port_offset")),
                                    20000)
        for broker in self.valid_brokers(host):
            ports.append((f"Kafka broker {broker['id']} external", broker["port"], broker))
            ports.append((f"Kafka broker {broker['id']} internal", broker["port"] + offset,
                          broker))
            if _truthy(self.var(host, "streamstack_metrics_enabled")):
                jmx = _int_or(_as_int(self.var(host, "streamstack_kafka_jmx_port_offset")),
                              30000)
                ports.append((f"Kafka broker {broker['id']} metrics", broker["port"] + jmx,
                              broker))
            if combined:
                ports.append((f"Kafka broker {broker['id']} controller",
                              broker["port"] + controller_offset, broker))
        if self.kraft() and host in self.controller_hosts():
            port = _int_or(_as_int(self.var(host, "kafka_kraft_controller_port")), 9193)
            ports.append(("KRaft controller", port, {}))
        return ports

    def forwarding(self) -> bool:
        return any(_truthy(self.var(h, "kafka_forward_external_ports")) for h in self.names)

    def service_users(self, host: str) -> set[str]:
        users = self.var(host, "common_service_users") or []
        names = set()
        for user in users if isinstance(users, list) else []:
            if isinstance(user, dict) and user.get("name"):
                names.add(str(user["name"]))
            elif isinstance(user, str):
                names.add(user)
        return names


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: object) -> object:
    """Ports from templated role defaults arrive as strings ("2181")."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _int_or(value: object, default: int) -> int:
    return value if _is_int(value) else default


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


Rule = Callable[[Inventory], Iterable[Issue]]
RULES: list[Rule] = []


def rule(function: Rule) -> Rule:
    RULES.append(function)
    return function


# --- reaching the hosts ----------------------------------------------------------------


@rule
def hosts_answer(inv: Inventory) -> Iterable[Issue]:
    """A host that was tried and did not answer (or would not let us become root)."""
    for host in inv.names:
        reach = inv.hosts[host].get("reach")
        if not reach or reach.get("answered"):
            continue
        message = " ".join(str(reach.get("message") or "no answer").split())[:300]
        if reach.get("stage") == "become":
            yield Issue(host, "ansible_become", reach.get("address"),
                        f"connected, but could not become root: {message}",
                        "give ansible_user passwordless sudo on the host, or pass "
                        "--ask-become-pass (-K)")
        elif reach.get("stage") == "python":
            yield Issue(host, "ansible_python_interpreter", reach.get("address"),
                        f"connected, but Ansible's module did not run: {message}",
                        "install python3 on the host, or set ansible_python_interpreter")
        elif reach.get("over_ssh", True):
            yield Issue(host, "ansible_host", reach.get("address"),
                        f"unreachable: {message}",
                        "check ansible_host/ansible_port/ansible_user in the inventory, that "
                        "the host is up and runs sshd, that this controller's key is in the "
                        "user's authorized_keys and the host key is in known_hosts")
        else:
            yield Issue(host, "ansible_connection", reach.get("address"),
                        f"unreachable: {message}",
                        "check that the host answers over this connection (for the container "
                        "lab: `streamstack lab status`) and that become works there")


# --- settings --------------------------------------------------------------------------


@rule
def templates_render(inv: Inventory) -> Iterable[Issue]:
    """A variable whose template fails: a play using it would fail there."""
    for host in inv.names:
        for name, failed in (inv.hosts[host].get("template_errors") or {}).items():
            yield Issue(host, name, failed["template"],
                        f"its template fails: {failed['error']}",
                        "define what the template uses, or correct it where it is set "
                        "(inventory, group_vars, role defaults)")


@rule
def known_choices(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        mode = inv.var(host, "kafka_mode")
        if mode not in KAFKA_MODES:
            yield Issue(host, "kafka_mode", mode, "unknown Kafka mode",
                        f"set kafka_mode to one of {', '.join(KAFKA_MODES)}")
        source = inv.var(host, "artifacts_source")
        if source not in ARTIFACTS_SOURCES:
            yield Issue(host, "artifacts_source", source, "unknown artifacts source",
                        f"set artifacts_source to one of {', '.join(ARTIFACTS_SOURCES)}")
        security = inv.var(host, "streamstack_security")
        if security not in SECURITY_PROFILES:
            yield Issue(host, "streamstack_security", security, "unknown security profile",
                        f"set streamstack_security to one of {', '.join(SECURITY_PROFILES)}")
        elif security == "kerberos" and mode == "kraft":
            yield Issue(host, "streamstack_security", security,
                        "the secure profile secures Kafka in ZooKeeper mode only (its KRaft "
                        "controller listener would stay plaintext)",
                        "use kafka_mode=zookeeper with it, or streamstack_security=none")


@rule
def same_on_every_host(inv: Inventory) -> Iterable[Issue]:
    for name in CLUSTER_VARIABLES:
        values = {}
        for host in inv.names:
            values.setdefault(_show(inv.var(host, name)), []).append(host)
        if len(values) > 1:
            for shown, hosts in values.items():
                yield Issue(", ".join(hosts), name, shown,
                            "differs between hosts; it describes the whole cluster",
                            f"set {name} once, in group_vars/all")


@rule
def pinned_versions(inv: Inventory) -> Iterable[Issue]:
    from . import artifacts_catalog as catalog

    for host in inv.names:
        source = inv.var(host, "artifacts_source")
        sums = inv.var(host, "artifacts_archive_sha512") or {}
        sums = sums if isinstance(sums, dict) else {}
        for name, product in catalog.PRODUCTS.items():
            variable = VERSION_VARIABLES[name]
            version = inv.var(host, variable)
            if version is not None and str(version) != product.version:
                yield Issue(host, variable, str(version),
                            f"no pinned artifacts for {name} {version} (supported: "
                            f"{product.version})",
                            f"use {name} {product.version}, or add {name} {version} with its "
                            "checksums to streamstack/artifacts_catalog.py")
                continue
            if source != "archive" or product.archive is None:
                continue
            archive = product.archive
            pinned = sums.get(name) or sums.get(archive.filename) or archive.sha512
            if not pinned:
                yield Issue(host, f"artifacts_archive_sha512.{name}", None,
                            f"artifacts_source=archive needs a pinned SHA-512 for "
                            f"{archive.filename} and none is pinned",
                            f"set artifacts_archive_sha512.{name} to the official SHA-512 of "
                            f"{archive.filename} (the .sha512 file next to it on the Apache "
                            "archive), or use artifacts_source=maven")
            elif not re.fullmatch(r"[0-9a-fA-F]{128}", str(pinned).strip()):
                yield Issue(host, f"artifacts_archive_sha512.{name}", pinned,
                            "not a SHA-512 (128 hex digits)",
                            f"copy the hex digest from {archive.filename}.sha512")


# --- groups ----------------------------------------------------------------------------


@rule
def required_groups(inv: Inventory) -> Iterable[Issue]:
    kraft = inv.kafka_mode() == "kraft"
    for group in REQUIRED_GROUPS:
        if group == "zookeeper" and kraft:
            continue
        if not inv.group(group):
            yield Issue("inventory", f"groups.{group}", [],
                        "no host in a required group",
                        f"add a host under children: {group}: hosts: in the inventory")


@rule
def single_masters(inv: Inventory) -> Iterable[Issue]:
    for group, service in SINGLE_HOST_GROUPS.items():
        hosts = inv.group(group)
        if len(hosts) > 1:
            yield Issue("inventory", f"groups.{group}", hosts,
                        f"more than one {service}; streamstack does not configure {service} HA",
                        f"keep exactly one host in {group}")


@rule
def zookeeper_ensemble(inv: Inventory) -> Iterable[Issue]:
    if inv.kafka_mode() == "kraft":
        return
    hosts = inv.group("zookeeper")
    if len(hosts) == 1:
        yield Issue("inventory", "groups.zookeeper", hosts,
                    "an ensemble of 1 has no fault tolerance", "use 3 hosts for a real cluster",
                    level=WARNING)
    elif hosts and len(hosts) % 2 == 0:
        yield Issue("inventory", "groups.zookeeper", hosts,
                    f"an even ensemble ({len(hosts)}) tolerates no more failures than "
                    f"{len(hosts) - 1} hosts and can split evenly",
                    f"use an odd number of hosts ({len(hosts) - 1} or {len(hosts) + 1})")


@rule
def zookeeper_ids(inv: Inventory) -> Iterable[Issue]:
    """Ensemble ids are unique, and a host keeps the id its data directory already has:
    reordering the zookeeper group must not renumber servers."""
    if inv.kafka_mode() == "kraft":
        return
    hosts = inv.group("zookeeper")
    ids = {host: str(inv.var(host, "zookeeper_id") or hosts.index(host) + 1) for host in hosts}
    for shown, holders in _holders(ids).items():
        if len(holders) > 1:
            yield Issue(", ".join(holders), "zookeeper_id", shown,
                        "the same ZooKeeper server id on several hosts",
                        "give each zookeeper host its own zookeeper_id (1-255)")
    for host in hosts:
        kept = (inv.fact(host, "identities") or {}).get("myid")
        if kept and kept != ids[host]:
            data_dir = inv.var(host, "zookeeper_data_dir")
            yield Issue(host, "zookeeper_id", ids[host],
                        f"this host is already ZooKeeper server {kept} ({data_dir}/myid); the "
                        "inventory would renumber it (hosts reordered in the zookeeper group?)",
                        f"set zookeeper_id: {kept} on {host} in the inventory")


@rule
def kafka_identities(inv: Inventory) -> Iterable[Issue]:
    """Kafka data on a host belongs to a node the inventory still gives that host, and all
    of it to one cluster: otherwise a run would start a second cluster beside the first."""
    controllers = inv.controller_hosts() if inv.kraft() else []
    clusters: dict[str, list[str]] = {}
    for host in inv.names:
        found = inv.fact(host, "identities") or {}
        # A host being decommissioned keeps its brokers' data until it is gone.
        wanted = {str(b["id"]) for b in inv.valid_brokers(host)} \
            if host in inv.group("kafka") or host in inv.group(DECOMMISSION) else set()
        if host in controllers:
            wanted.add(str(_controller_id(inv, host, controllers)))
        for node in found.get("kafka") or []:
            if node.get("cluster_id"):
                clusters.setdefault(str(node["cluster_id"]), []).append(host)
            if node.get("node_id") is not None and str(node["node_id"]) not in wanted:
                yield Issue(host, "kafka_brokers", sorted(wanted, key=str),
                            f"{node.get('dir')} holds the data of Kafka node {node['node_id']}, "
                            "which the inventory no longer gives this host (ids renumbered, or "
                            "hosts reordered in the controller group?)",
                            f"give {host} node id {node['node_id']} again, or move that data "
                            "away yourself if the node is really gone")
        if found.get("cluster_id_file"):
            clusters.setdefault(str(found["cluster_id_file"]), []).append(host)
    if len(clusters) > 1:
        hosts = sorted({h for holders in clusters.values() for h in holders})
        yield Issue(", ".join(hosts), "cluster.id",
                    {cluster: sorted(set(holders)) for cluster, holders in clusters.items()},
                    "the Kafka data on these hosts belongs to different clusters",
                    "keep one cluster's data directories (kafka_data_dir) and move the others "
                    "away before running site.yml")


@rule
def kafka_migration(inv: Inventory) -> Iterable[Issue]:
    """The metadata mode the Kafka data is in (playbooks/migrate_kraft.yml records each
    step in <kafka_data_dir>/migration.state) is the one the inventory says: site.yml
    must neither run in the middle of a migration nor undo a finished one, and KRaft mode
    must not meet brokers whose data a ZooKeeper cluster wrote."""
    steps: dict[str, list[str]] = {}
    zookeeper_data: list[str] = []
    for host in inv.names:
        found = inv.fact(host, "identities") or {}
        if found.get("migration"):
            steps.setdefault(str(found["migration"]), []).append(host)
        # meta.properties version 0: written by a ZooKeeper-mode broker.
        if any(str(node.get("version")) == "0" for node in found.get("kafka") or []):
            zookeeper_data.append(host)
    unfinished = {s: h for s, h in steps.items() if s != "finalized"}
    if unfinished:
        hosts = sorted({h for holders in unfinished.values() for h in holders})
        yield Issue(", ".join(hosts), "migration.state", sorted(unfinished),
                    "a ZooKeeper to KRaft migration stopped half way on these hosts",
                    "finish it (playbooks/migrate_kraft.yml) or undo it "
                    "(playbooks/migrate_kraft_rollback.yml) before running site.yml")
    elif steps and not inv.kraft():
        yield Issue(", ".join(sorted(steps["finalized"])), "kafka_mode", inv.kafka_mode(),
                    "these Kafka hosts were migrated to KRaft (finalized); ZooKeeper mode "
                    "would start brokers on a ZooKeeper that no longer has the metadata",
                    "set kafka_mode: kraft in the inventory and keep the "
                    f"{inv.cluster_var('kafka_kraft_controller_group')} group")
    elif not steps and inv.kraft() and zookeeper_data:
        yield Issue(", ".join(zookeeper_data), "kafka_mode", inv.kafka_mode(),
                    "the brokers here hold the data of a ZooKeeper-mode cluster; KRaft mode "
                    "would start them without its metadata",
                    "keep kafka_mode: zookeeper and migrate with playbooks/migrate_kraft.yml")


def _controller_id(inv: Inventory, host: str, controllers: list[str]) -> int:
    """A dedicated KRaft controller's node id, as roles/kafka gives it."""
    explicit = _as_int(inv.var(host, "kafka_kraft_controller_id"))
    if _is_int(explicit):
        return explicit
    return _int_or(_as_int(inv.var(host, "kafka_kraft_controller_id_base")), 3000) \
        + controllers.index(host)


def _holders(values: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for host, value in values.items():
        out.setdefault(value, []).append(host)
    return out


@rule
def kraft_controllers(inv: Inventory) -> Iterable[Issue]:
    if not inv.kraft():
        return
    group = str(inv.cluster_var("kafka_kraft_controller_group"))
    dedicated = inv.controller_hosts()
    # roles/kafka: without hosts in the controller group every broker is also a controller.
    voters = dedicated or [f"broker {b['id']}" for _, b in inv.all_brokers()]
    if not voters:
        yield Issue("inventory", f"groups.{group}", [],
                    "kafka_mode=kraft needs controllers: no host in the controller group and "
                    "no broker to act as one",
                    f"put 1 or 3 hosts in the {group} group (or brokers in the kafka group), "
                    "or use kafka_mode=zookeeper")
    elif len(voters) % 2 == 0:
        yield Issue("inventory", f"groups.{group}" if dedicated else "kafka_brokers", voters,
                    f"an even KRaft quorum ({len(voters)} voters) tolerates no more failures "
                    f"than {len(voters) - 1}",
                    f"use an odd number of controllers (hosts in {group}, or brokers)",
                    level=WARNING)


# --- Kafka brokers ---------------------------------------------------------------------


@rule
def broker_lists(inv: Inventory) -> Iterable[Issue]:
    kafka_hosts = set(inv.group("kafka"))
    for host in inv.names:
        brokers = inv.var(host, "kafka_brokers")
        if host in kafka_hosts and (not isinstance(brokers, list) or not brokers):
            yield Issue(host, "kafka_brokers", brokers,
                        "host is in the kafka group but has no broker list",
                        "set kafka_brokers: [{id: 0, port: 9092}] on the host, or remove it "
                        "from the kafka group")
            continue
        if host not in kafka_hosts:
            if brokers:
                yield Issue(host, "kafka_brokers", brokers,
                            "host has brokers but is not in the kafka group; they are ignored",
                            "add the host to the kafka group or remove kafka_brokers",
                            level=WARNING)
            continue
        offset = inv.offset(host)
        for index, broker in enumerate(brokers):
            variable = f"kafka_brokers[{index}]"
            if not isinstance(broker, dict):
                yield Issue(host, variable, broker, "a broker must be a mapping {id, port}",
                            "write each broker as {id: <int>, port: <int>}")
                continue
            broker_id, port = broker.get("id"), broker.get("port")
            if not _is_int(broker_id) or broker_id < 0:
                yield Issue(host, f"{variable}.id", broker_id,
                            "broker id must be an integer >= 0",
                            "give each broker a unique integer id (0, 1, 2, ...)")
            if not _is_int(port):
                yield Issue(host, f"{variable}.port", port, "broker port must be an integer",
                            "use a port number such as 9092")
            elif not 1024 <= port <= 65535 - offset:
                yield Issue(host, f"{variable}.port", port,
                            f"port out of range (1024..{65535 - offset}: services do not run "
                            f"as root and the internal listener is port+{offset})",
                            "use a port such as 9092")


@rule
def duplicate_broker_ids(inv: Inventory) -> Iterable[Issue]:
    seen: dict[int, list[str]] = {}
    for host, broker in inv.all_brokers():
        seen.setdefault(broker["id"], []).append(host)
    for broker_id, hosts in seen.items():
        if len(hosts) > 1:
            yield Issue(", ".join(dict.fromkeys(hosts)), "kafka_brokers.id", broker_id,
                        f"broker id used {len(hosts)} times in the cluster",
                        "give every broker a unique id")


@rule
def duplicate_ports_on_host(inv: Inventory) -> Iterable[Issue]:
    for host in inv.group("kafka"):
        seen: dict[int, list[str]] = {}
        for listener, port, _ in inv.kafka_ports(host):
            seen.setdefault(port, []).append(listener)
        for port, listeners in seen.items():
            if len(listeners) > 1:
                yield Issue(host, "kafka_brokers.port", port,
                            f"port used twice on the host ({' and '.join(listeners)}; internal "
                            f"= port+{inv.offset(host)})",
                            "give every broker on the host its own port")


@rule
def broker_port_clashes(inv: Inventory) -> Iterable[Issue]:
    for host in inv.group("kafka"):
        services = inv.service_ports(host)
        for listener, port, _ in inv.kafka_ports(host):
            for service, service_port, _ in services:
                if port == service_port:
                    yield Issue(host, "kafka_brokers.port", port if "external" in listener
                                else f"{port} (internal)",
                                f"{listener} clashes with {service} on the same host",
                                f"choose a broker port whose port and port+{inv.offset(host)} "
                                "are free (e.g. 9092-9094)")
    if not inv.forwarding():
        return
    # With forwarding, every host listens on localhost:<port> of every other broker.
    owners: dict[int, list[str]] = {}
    for host, broker in inv.all_brokers():
        owners.setdefault(broker["port"], []).append(host)
    for port, hosts in owners.items():
        distinct = list(dict.fromkeys(hosts))
        if len(distinct) > 1:
            yield Issue(", ".join(distinct), "kafka_brokers.port", port,
                        "the same external port on several hosts while "
                        "kafka_forward_external_ports forwards localhost:<port> to one broker",
                        "give every broker in the cluster its own port, or set "
                        "kafka_forward_external_ports: false")
        for other in inv.names:
            if other in distinct:
                continue
            for service, service_port, _ in inv.service_ports(other):
                if service_port == port:
                    yield Issue(other, "kafka_brokers.port", port,
                                f"the forwarder for the broker on {distinct[0]} would clash "
                                f"with {service} on {other}",
                                "choose another broker port, or set "
                                "kafka_forward_external_ports: false")


# Hosts being drained and decommissioned (playbooks/decommission.yml, site.yml): they stay
# in the inventory, under this group only, until the run has stopped their services.
DECOMMISSION = "decommission"
# Services decommission does not move: the single masters and the ZooKeeper ensemble.
NOT_DECOMMISSIONED = {"zookeeper": "a ZooKeeper server (the ensemble and its quorum are "
                                   "not resized by a decommission)",
                      "hdfs_namenode": "the NameNode", "yarn_resourcemanager":
                      "the ResourceManager", "spark_client": "the streaming jobs' drivers"}
DRAINED_GROUPS = ("kafka", "hdfs_datanode", "yarn_nodemanager")


@rule
def decommission_hosts(inv: Inventory) -> Iterable[Issue]:
    """A host under `decommission` has left its service groups, runs nothing that cannot
    move, and what stays can still hold every replica."""
    leaving = inv.group(DECOMMISSION)
    for host in leaving:
        for group, what in NOT_DECOMMISSIONED.items():
            if host in inv.group(group):
                yield Issue(host, f"groups.{group}", host,
                            f"a host being decommissioned runs {what}",
                            f"keep {host} (take it out of {DECOMMISSION}), or move {group} "
                            "to another host first")
        for group in DRAINED_GROUPS:
            if host in inv.group(group):
                yield Issue(host, f"groups.{group}", host,
                            f"a host being decommissioned is still in {group}",
                            f"remove {host} from {group} and keep it only under "
                            f"{DECOMMISSION} until the run has drained it")
    drained = [b for host in leaving for b in inv.valid_brokers(host)]
    if drained:
        remaining = len(inv.all_brokers())
        # The internal topics were made with min(3, brokers) replicas (the roles' default).
        needed = min(3, remaining + len(drained))
        declared = inv.cluster_var("kafka_default_replication_factor")
        needed = max(needed, declared) if _is_int(declared) else needed
        if remaining < needed:
            yield Issue(", ".join(leaving), "kafka_brokers",
                        sorted(b["id"] for b in drained),
                        f"draining them leaves {remaining} brokers, below the replication "
                        f"factor {needed} of the internal and declared topics",
                        "add a broker to the kafka group first, or keep these hosts")
    datanodes = inv.group("hdfs_datanode")
    if leaving:
        # The files written so far have the roles' default replication, min(2, DataNodes).
        needed = min(2, len(datanodes) + len(leaving))
        declared = inv.cluster_var("hadoop_dfs_replication")
        needed = max(needed, declared) if _is_int(declared) else needed
        if len(datanodes) < needed:
            yield Issue(", ".join(leaving), "groups.hdfs_datanode", datanodes,
                        f"decommissioning leaves {len(datanodes)} DataNode(s) for files "
                        f"written with {needed} replicas: the NameNode could never finish",
                        "add a DataNode to hdfs_datanode first, or keep these hosts")
        if not inv.group("yarn_nodemanager"):
            yield Issue(", ".join(leaving), "groups.yarn_nodemanager", [],
                        "decommissioning leaves no NodeManager to run the streaming jobs",
                        "keep a host in yarn_nodemanager")
    zookeeper = inv.group("zookeeper")
    if leaving and not inv.kraft() and 0 < len(zookeeper) < 3 and \
            any(inv.var(h, "zookeeper_id") for h in leaving):
        yield Issue(", ".join(leaving), "groups.zookeeper", zookeeper,
                    f"the ensemble would drop to {len(zookeeper)} server(s), below a quorum "
                    "that survives one failure",
                    "keep 3 ZooKeeper servers: move the server to another host first")


@rule
def topic_replication(inv: Inventory) -> Iterable[Issue]:
    count = len(inv.all_brokers())
    topics = inv.cluster_var("kafka_topics") or []
    if not isinstance(topics, list):
        yield Issue("all", "kafka_topics", topics, "must be a list of topics",
                    "write kafka_topics: [{name: ..., partitions: 3, replication_factor: 2}]")
        return
    for index, topic in enumerate(topics):
        if not isinstance(topic, dict):
            continue
        name = topic.get("name", index)
        for key in ("replication_factor", "replication", "replicas"):
            if key in topic:
                replication = topic[key]
                variable = f"kafka_topics[{name}].{key}"
                if not _is_int(replication) or replication < 1:
                    yield Issue("all", variable, replication,
                                "replication must be an integer >= 1",
                                f"use a replication between 1 and {max(count, 1)}")
                elif replication > count:
                    yield Issue("all", variable, replication,
                                f"larger than the number of brokers ({count})",
                                f"use a replication of at most {count}, or add brokers")
                break


# --- host facts ------------------------------------------------------------------------


@rule
def yarn_memory(inv: Inventory) -> Iterable[Issue]:
    for host in inv.group("yarn_nodemanager"):
        memory = _as_int(inv.var(host, "hadoop_yarn_nodemanager_memory_mb"))
        if memory is None:
            continue
        if not _is_int(memory) or memory < 1:
            yield Issue(host, "hadoop_yarn_nodemanager_memory_mb", memory,
                        "must be a positive integer (MB)", "set it to e.g. 4096")
            continue
        total = inv.fact(host, "memtotal_mb")
        if _is_int(total) and memory > total:
            yield Issue(host, "hadoop_yarn_nodemanager_memory_mb", memory,
                        f"larger than the host's memory ({total} MB)",
                        f"set it below {total} (leave room for the daemons), or give the host "
                        "more memory")


@rule
def secure_log_aggregation(inv: Inventory) -> Iterable[Issue]:
    """With Kerberos, a NodeManager aggregates logs through Hadoop's secure IO, which
    needs libhadoop.so: the first application to finish would stop it."""
    for host in inv.group("yarn_nodemanager"):
        enabled = inv.var(host, "hadoop_yarn_log_aggregation_enabled")
        if inv.var(host, "streamstack_security") == "kerberos" and _truthy(enabled):
            yield Issue(host, "hadoop_yarn_log_aggregation_enabled", enabled,
                        "with streamstack_security=kerberos, YARN's log aggregation needs "
                        "Hadoop's native libhadoop.so, which no Maven artifact carries: the "
                        "first application to finish would stop this NodeManager",
                        "leave it unset (off in the secure profile) or set it to false; "
                        "container logs stay under hadoop_yarn_log_dir on each NodeManager")


@rule
def name_resolution(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        if not inv.has_fact(host, "resolves"):
            continue
        resolves = inv.fact(host, "resolves") or {}
        managed = _truthy(inv.var(host, "common_manage_etc_hosts"))
        for other in inv.names:
            if other not in resolves:
                continue
            address = resolves[other]
            if not address:
                target = inv.fact(other, "default_ipv4")
                if managed and target:
                    yield Issue(host, "inventory_hostname", other,
                                f"{host} cannot resolve this name yet; the common role will "
                                f"add {target} {other} to /etc/hosts",
                                "nothing, or add it to DNS", level=WARNING)
                else:
                    yield Issue(host, "inventory_hostname", other,
                                f"{host} cannot resolve this host name",
                                f"add '<address> {other}' to /etc/hosts on {host} (or DNS), or "
                                "set common_manage_etc_hosts: true")
            elif other != host and str(address).startswith("127."):
                yield Issue(host, "inventory_hostname", other,
                            f"{host} resolves it to the loopback address {address}",
                            f"fix /etc/hosts on {host} so {other} maps to its network address")
            elif other == host and len(inv.names) > 1 and str(address).startswith(
                    "127.") and set(
                    inv.groups_of(host)) & {"hdfs_namenode", "yarn_resourcemanager",
                                            "zookeeper", "kafka"}:
                yield Issue(host, "inventory_hostname", host,
                            f"its own name resolves to {address}, so its services would listen "
                            "on loopback only and other hosts could not reach them",
                            f"remove '{address} {host}' from /etc/hosts on {host}")


@rule
def free_disk(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        mounts = inv.fact(host, "mounts")
        dirs = inv.data_dirs(host)
        if not mounts or not dirs:
            continue
        threshold = _as_int(inv.var(host, "preflight_min_free_disk_mb"))
        threshold = threshold if _is_int(threshold) else 2048
        by_mount: dict[str, list[tuple[str, str]]] = {}
        available: dict[str, int] = {}
        for variable, path in dirs:
            mount = _mount_of(path, mounts)
            if mount is None:
                continue
            by_mount.setdefault(mount["mount"], []).append((variable, path))
            available[mount["mount"]] = int(mount.get("size_available") or 0)
        for mount, entries in by_mount.items():
            free_mb = available[mount] // (1024 * 1024)
            if free_mb < threshold:
                yield Issue(host, ",".join(v for v, _ in entries), [p for _, p in entries],
                            f"only {free_mb} MB free on {mount} (needs "
                            f"preflight_min_free_disk_mb={threshold})",
                            f"free space on {mount}, put the data dirs on a larger disk, or "
                            "lower preflight_min_free_disk_mb")


def _mount_of(path: str, mounts: list[dict]) -> dict | None:
    best = None
    for mount in mounts:
        point = str(mount.get("mount", ""))
        prefix = point.rstrip("/") + "/"
        if (path == point or path.startswith(prefix) or point == "/") and (
                best is None or len(point) > len(best["mount"])):
            best = mount
    return best


@rule
def ports_in_use(inv: Inventory) -> Iterable[Issue]:
    external = {b["port"] for _, b in inv.all_brokers()}
    for host in inv.names:
        if not inv.has_fact(host, "listening"):
            continue
        listening = inv.fact(host, "listening") or []
        ours = inv.service_users(host)
        # (service, port, variable that sets the port, what else to do)
        wanted: list[tuple[str, int, str, str]] = []
        for listener, port, _ in inv.kafka_ports(host):
            wanted.append((listener, port, "kafka_brokers.port",
                           f"move {listener} to another port"))
        for service, port, exclusive in inv.service_ports(host):
            if exclusive:
                variable = PORT_VARIABLES.get(service, "port")
                wanted.append((service, port, variable,
                               f"move {service} to another port" if variable != "port"
                               else f"free it for {service}"))
        if inv.forwarding():
            own = {b["port"] for b in inv.valid_brokers(host)}
            for port in sorted(external - own):
                wanted.append(("the Kafka localhost forwarder", port, "kafka_brokers.port",
                               "set kafka_forward_external_ports: false"))
        reported = set()
        for service, port, variable, other_fix in wanted:
            for sock in listening:
                if sock.get("port") != port or port in reported:
                    continue
                if _is_ours(sock, ours, port in external, inv.forwarding()):
                    if service.startswith("Kafka broker") and _is_forwarder(sock):
                        # A broker of this host now wants a port a forwarder still holds.
                        reported.add(port)
                        yield Issue(host, variable, port,
                                    f"port needed by {service} is held by the localhost "
                                    f"forwarder {sock.get('unit') or 'socat'}",
                                    f"stop it first (systemctl disable --now "
                                    f"kafka-forward@{port}) or keep the broker on its old port",
                                    level=WARNING)
                    continue
                reported.add(port)
                who = _describe(sock)
                yield Issue(host, variable, port,
                            f"port needed by {service} is already in use by {who}",
                            f"stop that process on {host}, or {other_fix}")


def _is_ours(sock: dict, service_users: set[str], kafka_external: bool,
             forwarding: bool) -> bool:
    """A socket of our own services: a service user's, or a forwarder on a Kafka port."""
    if sock.get("user") in service_users:
        return True
    if not kafka_external:
        return False
    if _is_forwarder(sock):
        return True
    # roles/kafka runs socat as nobody on 127.0.0.1; without CAP_SYS_PTRACE (containers)
    # and outside its unit's cgroup the process name is not visible.
    return (forwarding and not sock.get("process") and sock.get("user") == "nobody"
            and sock.get("address") == "127.0.0.1")


def _is_forwarder(sock: dict) -> bool:
    names = f"{sock.get('process') or ''} {sock.get('unit') or ''}"
    return any(p in names for p in FORWARDER_PROCESSES)


def _describe(sock: dict) -> str:
    who = sock.get("process") or sock.get("unit") or "an unknown process"
    details = [f"pid {sock['pid']}"] if sock.get("pid") else []
    if sock.get("process") and sock.get("unit"):
        details.append(f"unit {sock['unit']}")
    details.append(f"user {sock['user']}" if sock.get("user") else "user root or unknown")
    return f"{who} ({', '.join(details)})"


# --- running the rules -----------------------------------------------------------------


def check(data: dict) -> list[Issue]:
    """Every issue of the inventory, errors first, identical problems merged."""
    inv = Inventory(hosts=dict(data.get("hosts") or {}))
    issues: list[Issue] = []
    for function in RULES:
        issues.extend(function(inv))
    return _merge(issues, inv.names)


def _merge(issues: list[Issue], hosts: list[str]) -> list[Issue]:
    merged: dict[tuple, list[str]] = {}
    first: dict[tuple, Issue] = {}
    for issue in issues:
        key = (issue.level, issue.variable, _show(issue.value), issue.problem, issue.fix)
        first.setdefault(key, issue)
        for host in issue.host.split(", "):
            if host not in merged.setdefault(key, []):
                merged[key].append(host)
    out = []
    for key, issue in first.items():
        names = merged[key]
        label = ("all hosts" if len(hosts) > 1 and sorted(names) == sorted(hosts)
                 else ", ".join(names))
        out.append(Issue(label, issue.variable, issue.value, issue.problem, issue.fix,
                         issue.level))
    return sorted(out, key=lambda i: i.level != ERROR)


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.level == ERROR]


def warnings(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.level == WARNING]


def format_errors(errors: Iterable[Issue | str]) -> str:
    """The list the runner and the playbook show: one line per problem."""
    lines = [str(e) for e in errors]
    if not lines:
        return "preflight: no errors"
    noun = "error" if len(lines) == 1 else "errors"
    return f"preflight found {len(lines)} {noun}:\n" + "\n".join(f"  - {line}" for line in lines)


# --- parsing what the playbook gathered ------------------------------------------------

_SS_PROCESS = re.compile(r'\("(?P<process>[^"]+)",pid=(?P<pid>\d+)')
_SS_UID = re.compile(r"\buid:(?P<uid>\d+)")
_SS_CGROUP = re.compile(r"\bcgroup:(?P<cgroup>\S+)")


def parse_ss(output: str, users_by_uid: dict[int, str] | None = None) -> list[dict]:
    """Listening TCP sockets from ``ss -H -ltnpe``: port, address, process, pid, user, unit.

    Inside containers without CAP_SYS_PTRACE ``-p`` shows no process; the socket's uid
    and cgroup (its systemd unit) still identify it.
    """
    users_by_uid = users_by_uid or {}
    sockets = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        # State Recv-Q Send-Q Local:Port Peer:Port [Process/extended]
        local = fields[3] if fields[0] == "LISTEN" else fields[2]
        address, _, port = local.rpartition(":")
        if not port.isdigit():
            continue
        match = _SS_PROCESS.search(line)
        uid = _SS_UID.search(line)
        user = users_by_uid.get(int(uid["uid"])) if uid else None
        if uid and user is None:
            user = f"uid {uid['uid']}"
        cgroup = _SS_CGROUP.search(line)
        unit = cgroup["cgroup"].rstrip("/").rsplit("/", 1)[-1] if cgroup else ""
        sockets.append({
            "port": int(port),
            "address": address.strip("[]"),
            "process": match["process"] if match else None,
            "pid": int(match["pid"]) if match else None,
            "user": user,
            # The systemd unit (from the cgroup), when the process itself is not visible.
            "unit": unit if unit.endswith(".service") else None,
        })
    return sockets


def users_by_uid(getent_passwd: dict) -> dict[int, str]:
    """``{uid: name}`` from the ``getent_passwd`` fact of ansible.builtin.getent."""
    out = {}
    for name, fields in (getent_passwd or {}).items():
        try:
            out[int(fields[1])] = name
        except (IndexError, TypeError, ValueError):
            continue
    return out
