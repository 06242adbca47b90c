"""Which services run where in the local lab, for 1 to 5 container hosts.

One function decides it; the committed inventories/local/hosts.yml is its 3-host output
(a unit test keeps them equal), and the lab publishes exactly the ports it implies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

# Hosts being drained by site.yml before they are removed (`streamstack shrink`).
from .plugins.plugin_utils.preflight import DECOMMISSION

MIN_HOSTS, MAX_HOSTS = 1, 5
KAFKA_FIRST_PORT = 9092
# Web UIs of the master: NameNode, ResourceManager, JobHistory, Spark driver UIs, and
# Prometheus (the monitoring role's default host is the NameNode's). The JMX agents'
# ports are never published: only the cluster network reaches them.
PROMETHEUS_PORT = 9090
MASTER_UI_PORTS = [9870, 8088, 19888, 4040, 4041, PROMETHEUS_PORT]


@dataclass
class Host:
    name: str
    groups: list[str] = field(default_factory=list)
    kafka_brokers: list[dict] = field(default_factory=list)
    # Explicit, so that reordering hosts never renumbers a ZooKeeper server.
    zookeeper_id: int | None = None
    # The second master of an HA lab: its UIs are not published (the first one's are).
    standby: bool = False
    # The Debian release its image brings (a mixed lab's last VM is Debian 13).
    suite: str = "bookworm"

    @property
    def published_ports(self) -> list[int]:
        ports = [broker["port"] for broker in self.kafka_brokers]
        if "hdfs_namenode" in self.groups and not self.standby:
            ports += MASTER_UI_PORTS
        return ports


def host_names(count: int) -> list[str]:
    if not MIN_HOSTS <= count <= MAX_HOSTS:
        raise ValueError(f"the local lab has {MIN_HOSTS} to {MAX_HOSTS} hosts, not {count}")
    return ["hadoop-master"] + [f"hadoop-worker{i}" for i in range(1, count)]


# The HA lab (`lab up --ha`, experimental): NameNodes and ResourceManagers on the first
# two hosts, JournalNodes on the first three, beside the ZooKeeper ensemble.
HA_MIN_HOSTS = 3


def lab_hosts(count: int = 3, ha: bool = False) -> list[Host]:
    if ha and count < HA_MIN_HOSTS:
        raise ValueError(f"the HA lab needs {HA_MIN_HOSTS} hosts or more, not {count}")
    names = host_names(count)
    hosts = [Host(name) for name in names]
    master, workers = hosts[0], hosts[1:]
    # An ensemble must be odd: 3 when there are enough hosts, else 1.
    zookeeper_count = 3 if count >= 3 else 1
    for index, host in enumerate(hosts[:zookeeper_count]):
        host.groups.append("zookeeper")
        host.zookeeper_id = index + 1
    if count == 1:
        # The handout's one-host layout: three brokers on 9092, 9093, 9094.
        master.kafka_brokers = [
            {"id": i, "port": KAFKA_FIRST_PORT + i} for i in range(3)
        ]
    else:
        # Every host a broker: a host added to the lab (`lab up --hosts 4`) brings one.
        for index, host in enumerate(hosts):
            host.kafka_brokers = [{"id": index, "port": KAFKA_FIRST_PORT + index}]
    for host in hosts:
        if host.kafka_brokers:
            host.groups.append("kafka")
    master.groups += ["hdfs_namenode", "yarn_resourcemanager", "spark_client"]
    if ha:
        second = hosts[1]
        second.groups += ["hdfs_namenode", "yarn_resourcemanager"]
        second.standby = True
        for host in hosts[:3]:
            host.groups.append("hdfs_journalnode")
    for host in workers or [master]:
        host.groups += ["hdfs_datanode", "yarn_nodemanager"]
    return hosts


# A lab shaped like VMs as they come (`lab up --vm`): other names than the handout's and
# roles spread otherwise, so nothing may lean on `hadoop-master` or on the handout's
# layout. The Spark client is apart from the NameNode, two NodeManagers have no
# DataNode, and one host runs only a broker.
VM_HOSTS = ["lab-vm1", "lab-vm2", "lab-vm3", "lab-vm4", "lab-vm5"]


def vm_hosts(debian13: bool = False) -> list[Host]:
    """The VM-shaped lab. With debian13 (a mixed lab), the fifth host is Debian 13 and
    carries a DataNode and a NodeManager beside its broker."""
    first, second, third, fourth, fifth = (Host(name) for name in VM_HOSTS)
    for index, host in enumerate((first, second, third)):
        host.groups.append("zookeeper")
        host.zookeeper_id = index + 1
    for index, host in enumerate((first, second, fifth)):
        host.kafka_brokers = [{"id": index, "port": KAFKA_FIRST_PORT + index}]
        host.groups.append("kafka")
    first.groups += ["hdfs_namenode", "yarn_resourcemanager"]
    for host in (second, third):
        host.groups.append("hdfs_datanode")
    for host in (first, third, fourth):
        host.groups.append("yarn_nodemanager")
    fourth.groups.append("spark_client")
    if debian13:
        fifth.suite = "trixie"
        fifth.groups += ["hdfs_datanode", "yarn_nodemanager"]
    return [first, second, third, fourth, fifth]


GROUP_ORDER = [
    "zookeeper",
    "kafka",
    "hdfs_namenode",
    "hdfs_datanode",
    "yarn_resourcemanager",
    "yarn_nodemanager",
    "spark_client",
]


def inventory(count: int = 3, leaving: int = 0, vm: bool = False, ha: bool = False,
              debian13: bool = False) -> dict:
    """Ansible YAML inventory for the lab: groups, and brokers per host. With leaving,
    the `leaving` hosts after the first `count` are only in the decommission group and
    keep their broker ids, so site.yml drains them. With vm, the VM-shaped lab. With ha,
    two NameNodes and ResourceManagers and three JournalNodes (lab_hosts). With debian13
    (and vm), the mixed lab (vm_hosts)."""
    hosts = vm_hosts(debian13) if vm else lab_hosts(count, ha=ha)
    groups = list(GROUP_ORDER)
    if ha:
        groups.insert(groups.index("hdfs_datanode"), "hdfs_journalnode")
    if leaving:
        for host in lab_hosts(count + leaving, ha=ha)[count:]:
            host.groups = [DECOMMISSION]
            hosts.append(host)
        groups.append(DECOMMISSION)
    children = {}
    for group in groups:
        members = {host.name: None for host in hosts if group in host.groups}
        children[group] = {"hosts": members}
    host_vars = {}
    for host in hosts:
        values: dict = {}
        if host.zookeeper_id is not None:
            values["zookeeper_id"] = host.zookeeper_id
        if host.kafka_brokers:
            values["kafka_brokers"] = host.kafka_brokers
        host_vars[host.name] = values or None
    return {"all": {"hosts": host_vars, "children": children}}


class _IndentedDumper(yaml.SafeDumper):
    """Indents list items under their key, as yamllint expects."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def yaml_text(data: dict) -> str:
    return yaml.dump(data, Dumper=_IndentedDumper, sort_keys=False, default_flow_style=None)


def inventory_yaml(count: int = 3) -> str:
    header = (
        "# The local lab's hosts and groups. Generated by streamstack.layout.inventory(3);\n"
        "# `streamstack lab up --hosts N` writes the N-host version under .cache/.\n"
    )
    return header + yaml_text(inventory(count))
