"""What every preflight rule reads: the levels, the settings tables, :class:`Issue`, the
:class:`Inventory` view over the gathered structure (described in the package's
docstring), the value helpers and the rule registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

ERROR, WARNING = "error", "warning"

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
    # Each product's JDK (platform.java_per_product); None: not known, not checked.
    "common_java_package": None,
    "common_java_home": None,
    "zookeeper_java_home": None,
    "kafka_java_home": None,
    "hadoop_java_home": None,
    "spark_java_home": None,
    "spark_jobs_java_home": None,
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
    "hadoop_cluster_id": "",
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
    "common_service_group_ids": {},
    "common_packages": [],
    "zookeeper_heap_mb": None,
    "kafka_heap_opts": None,
    "hadoop_namenode_heap": None,
    "hadoop_secondarynamenode_heap": None,
    "hadoop_datanode_heap": None,
    "hadoop_resourcemanager_heap": None,
    "hadoop_nodemanager_heap": None,
    "common_manage_etc_hosts": False,
    "preflight_min_free_disk_mb": 2048,
    "artifacts_install_dir": "/opt",
    "artifacts_remote_cache_dir": "/var/cache/streamstack",
}

# Variables that must be the same on every host (they describe the cluster).
CLUSTER_VARIABLES = ("kafka_mode", "artifacts_source", "streamstack_security",
                     "streamstack_kafka_internal_port_offset", "kafka_kraft_controller_group",
                     *VERSION_VARIABLES.values())


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
    # The controller's side: its clock when the rules ran (epoch), check_mode.
    controller: dict = field(default_factory=dict)
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
                    if value and str(value) not in [path for _unused, path in dirs]:
                        dirs.append((name, str(value)))
        return dirs

    def kafka_ports(self, host: str) -> list[tuple[str, int, dict]]:
        """(listener, port, broker) of every broker listener on the host."""
        ports: list[tuple[str, int, dict]] = []
        controller = self.kraft() and host in self.controller_hosts()
        if host not in self.group("kafka") and not controller:
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
