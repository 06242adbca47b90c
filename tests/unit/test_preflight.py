"""Preflight rules: one bad inventory per rule, each asserting the message."""

from __future__ import annotations

import copy

import pytest
import yaml

from streamstack import PROJECT_ROOT
from streamstack.plugins.plugin_utils import preflight
from streamstack.plugins.plugin_utils.preflight import ERROR, WARNING

GIB = 1024**3
MASTER, W1, W2 = "hadoop-master", "hadoop-worker1", "hadoop-worker2"
ADDRESSES = {MASTER: "172.18.0.2", W1: "172.18.0.3", W2: "172.18.0.4"}


def healthy() -> dict:
    """The local lab, as the playbook would gather it on a running cluster."""
    groups = {
        MASTER: ["zookeeper", "kafka", "hdfs_namenode", "yarn_resourcemanager", "spark_client"],
        W1: ["zookeeper", "kafka", "hdfs_datanode", "yarn_nodemanager"],
        W2: ["zookeeper", "kafka", "hdfs_datanode", "yarn_nodemanager"],
    }
    hosts = {}
    for index, name in enumerate((MASTER, W1, W2)):
        port = 9092 + index
        listening = [
            {"port": port, "address": "0.0.0.0", "process": None, "user": "kafka"},
            {"port": port + 10000, "address": "172.18.0.2", "process": None, "user": "kafka"},
            {"port": 2181, "address": "0.0.0.0", "process": None, "user": "zookeeper"},
        ] + [
            {"port": other, "address": "127.0.0.1", "process": None, "user": None,
             "unit": f"kafka-forward@{other}.service"}
            for other in (9092, 9093, 9094) if other != port
        ]
        if name == MASTER:
            listening += [{"port": 9000, "address": "172.18.0.2", "process": "java",
                           "user": "hdfs"},
                          {"port": 8088, "address": "0.0.0.0", "process": "java",
                           "user": "yarn"}]
        hosts[name] = {
            "groups": groups[name],
            "vars": {
                "kafka_brokers": [{"id": index, "port": port}],
                "kafka_mode": "zookeeper",
                "artifacts_source": "maven",
                "kafka_forward_external_ports": True,
                "kafka_topics": [{"name": "Hello-Kafka", "partitions": 3,
                                  "replication_factor": 2}],
                "hadoop_yarn_nodemanager_memory_mb": 4096,
            },
            "facts": {
                "memtotal_mb": 24000,
                "default_ipv4": ADDRESSES[name],
                "mounts": [{"mount": "/", "size_available": 50 * GIB},
                           {"mount": "/var/lib/kafka", "size_available": 50 * GIB}],
                "listening": listening,
                "resolves": dict(ADDRESSES),
            },
        }
    return {"hosts": hosts}


def messages(data: dict, level: str = ERROR) -> list[str]:
    return [str(i) for i in preflight.check(data) if i.level == level]


def only_error(data: dict) -> str:
    found = messages(data)
    assert len(found) == 1, found
    return found[0]


def hv(data: dict, host: str) -> dict:
    return data["hosts"][host]["vars"]


def set_all(data: dict, name: str, value: object) -> None:
    for host in data["hosts"].values():
        host["vars"][name] = value


# --- the healthy cluster ---------------------------------------------------------------


def test_healthy_running_cluster_passes():
    assert preflight.check(healthy()) == []


def test_healthy_cluster_without_facts_passes():
    data = healthy()
    for host in data["hosts"].values():
        del host["facts"]
    assert preflight.check(data) == []


# --- one bad inventory per rule --------------------------------------------------------


def test_template_error_on_every_host_is_one_error():
    data = healthy()
    for host in data["hosts"].values():
        host["template_errors"] = {"hadoop_name_dir": {
            "template": "{{ hadoop_data_dir }}/name", "error": "'data_root' is undefined"}}
    assert only_error(data) == (
        "all hosts: hadoop_name_dir={{ hadoop_data_dir }}/name: its template fails: "
        "'data_root' is undefined. Fix: define what the template uses, or correct it where "
        "it is set (inventory, group_vars, role defaults)")


def test_duplicate_broker_id_across_cluster():
    data = healthy()
    hv(data, W2)["kafka_brokers"] = [{"id": 1, "port": 9094}]
    assert only_error(data) == (
        "hadoop-worker1, hadoop-worker2: kafka_brokers.id=1: broker id used 2 times in the "
        "cluster. Fix: give every broker a unique id")


def test_duplicate_port_on_one_host():
    data = healthy()
    hv(data, MASTER)["kafka_brokers"] = [{"id": 0, "port": 9092}, {"id": 3, "port": 9092}]
    found = messages(data)
    assert ("hadoop-master: kafka_brokers.port=9092: port used twice on the host (Kafka broker "
            "0 external and Kafka broker 3 external; internal = port+10000). Fix: give every "
            "broker on the host its own port") in found


def test_port_equal_to_another_brokers_internal_port():
    data = healthy()
    hv(data, MASTER)["kafka_brokers"] = [{"id": 0, "port": 9092}, {"id": 3, "port": 19092}]
    set_all(data, "kafka_forward_external_ports", False)
    assert "port used twice on the host (Kafka broker 0 internal and Kafka broker 3 external" \
        in only_error(data)


def test_broker_port_clashes_with_zookeeper():
    data = healthy()
    hv(data, W1)["kafka_brokers"] = [{"id": 1, "port": 2181}]
    set_all(data, "kafka_forward_external_ports", False)
    assert only_error(data) == (
        "hadoop-worker1: kafka_brokers.port=2181: Kafka broker 1 external clashes with "
        "ZooKeeper client on the same host. Fix: choose a broker port whose port and "
        "port+10000 are free (e.g. 9092-9094)")


def test_broker_internal_port_clashes_with_jobhistory_ui():
    data = healthy()
    hv(data, MASTER)["kafka_brokers"] = [{"id": 0, "port": 9888}]
    set_all(data, "kafka_forward_external_ports", False)
    assert only_error(data) == (
        "hadoop-master: kafka_brokers.port=19888 (internal): Kafka broker 0 internal clashes "
        "with JobHistory UI on the same host. Fix: choose a broker port whose port and "
        "port+10000 are free (e.g. 9092-9094)")


@pytest.mark.parametrize("port,service", [(9870, "NameNode UI"), (8088, "ResourceManager UI"),
                                          (4040, "Spark driver UI"), (9000, "NameNode RPC"),
                                          (8032, "ResourceManager RPC")])
def test_broker_port_clashes_with_master_services(port, service):
    data = healthy()
    hv(data, MASTER)["kafka_brokers"] = [{"id": 0, "port": port}]
    set_all(data, "kafka_forward_external_ports", False)
    assert f"Kafka broker 0 external clashes with {service} on the same host" in only_error(data)


def test_forwarded_broker_port_clashes_with_service_on_other_host():
    data = healthy()
    hv(data, W1)["kafka_brokers"] = [{"id": 1, "port": 9870}]
    found = messages(data)
    assert ("hadoop-master: kafka_brokers.port=9870: the forwarder for the broker on "
            "hadoop-worker1 would clash with NameNode UI on hadoop-master. Fix: choose another "
            "broker port, or set kafka_forward_external_ports: false") in found


def test_same_external_port_on_two_hosts_with_forwarding():
    data = healthy()
    hv(data, W2)["kafka_brokers"] = [{"id": 2, "port": 9093}]
    assert only_error(data).startswith(
        "hadoop-worker1, hadoop-worker2: kafka_brokers.port=9093: the same external port on "
        "several hosts while kafka_forward_external_ports")
    set_all(data, "kafka_forward_external_ports", False)
    assert messages(data) == []


def test_even_zookeeper_ensemble_is_an_error():
    data = healthy()
    data["hosts"][W2]["groups"].remove("zookeeper")
    assert only_error(data) == (
        'inventory: groups.zookeeper=["hadoop-master", "hadoop-worker1"]: an even ensemble (2) '
        "tolerates no more failures than 1 hosts and can split evenly. Fix: use an odd number "
        "of hosts (1 or 3)")


def test_ensemble_of_one_is_a_warning():
    data = healthy()
    for host in (W1, W2):
        data["hosts"][host]["groups"].remove("zookeeper")
    assert messages(data) == []
    assert messages(data, WARNING) == [
        'inventory: groups.zookeeper=["hadoop-master"]: an ensemble of 1 has no fault '
        "tolerance. Fix: use 3 hosts for a real cluster"]


def test_empty_zookeeper_group_is_an_error_unless_kraft():
    data = healthy()
    for host in data["hosts"].values():
        host["groups"].remove("zookeeper")
    assert only_error(data) == (
        "inventory: groups.zookeeper=[]: no host in a required group. Fix: add a host under "
        "children: zookeeper: hosts: in the inventory")
    set_all(data, "kafka_mode", "kraft")
    assert messages(data) == []


@pytest.mark.parametrize("group", ["hdfs_namenode", "yarn_resourcemanager", "kafka",
                                   "hdfs_datanode", "yarn_nodemanager", "spark_client"])
def test_required_group_without_host(group):
    data = healthy()
    for host in data["hosts"].values():
        if group in host["groups"]:
            host["groups"].remove(group)
    found = messages(data)
    assert (f"inventory: groups.{group}=[]: no host in a required group. Fix: add a host "
            f"under children: {group}: hosts: in the inventory") in found


def ha(data: dict, journalnodes=(MASTER, W1, W2)) -> dict:
    """The HA lab's groups (layout.inventory(3, ha=True)): a second NameNode and RM."""
    for group in ("hdfs_namenode", "yarn_resourcemanager"):
        data["hosts"][W1]["groups"].append(group)
    for host in journalnodes:
        data["hosts"][host]["groups"].append("hdfs_journalnode")
    return data


def test_ha_cluster_passes():
    assert preflight.check(ha(healthy())) == []


@pytest.mark.parametrize("journalnodes", [(), (MASTER,), (MASTER, W1)])
def test_namenode_ha_needs_an_odd_journal_quorum(journalnodes):
    data = ha(healthy(), journalnodes)
    shown = "[" + ", ".join(f'"{h}"' for h in journalnodes) + "]"
    assert only_error(data) == (
        f"inventory: groups.hdfs_journalnode={shown}: NameNode HA (2 hosts in hdfs_namenode) "
        "needs an odd number of JournalNodes, 3 or more: edits are written to a majority, "
        "and an even count tolerates no more failures than one less. Fix: list 3 (or 5) "
        "hosts under children: hdfs_journalnode: hosts:")


def test_rm_ha_alone_needs_no_journalnodes():
    data = healthy()
    data["hosts"][W1]["groups"].append("yarn_resourcemanager")
    assert messages(data) == []


def test_journalnodes_without_namenode_ha_warn():
    data = healthy()
    data["hosts"][W2]["groups"].append("hdfs_journalnode")
    assert messages(data, WARNING) == [
        'inventory: groups.hdfs_journalnode=["hadoop-worker2"]: JournalNodes run only with '
        "NameNode HA (2 or more hosts in hdfs_namenode): these hosts get none. Fix: add a "
        "second host to hdfs_namenode, or empty hdfs_journalnode"]


def test_ha_with_kerberos_is_not_supported_yet():
    data = ha(healthy())
    set_all(data, "streamstack_security", "kerberos")
    found = [m for m in messages(data) if m.startswith("inventory: streamstack_security")]
    assert found == [
        "inventory: streamstack_security=kerberos: NameNode HA is not supported with the "
        "secure profile yet (principals of the JournalNodes and ZKFCs, ZooKeeper ACLs). "
        "Fix: keep one host in hdfs_namenode, or set streamstack_security: none",
        "inventory: streamstack_security=kerberos: ResourceManager HA is not supported with "
        "the secure profile yet (principals of the JournalNodes and ZKFCs, ZooKeeper ACLs). "
        "Fix: keep one host in yarn_resourcemanager, or set streamstack_security: none"]


def test_ha_needs_zookeeper():
    data = ha(healthy())
    set_all(data, "kafka_mode", "kraft")
    for host in data["hosts"].values():
        host["groups"] = [g for g in host["groups"] if g != "zookeeper"]
    found = [m for m in messages(data) if m.startswith("inventory: groups.zookeeper")]
    assert found[0] == (
        "inventory: groups.zookeeper=[]: NameNode HA elects the active NameNode in ZooKeeper, "
        "and there is no zookeeper group. Fix: add 3 hosts under children: zookeeper: hosts:, "
        "or keep one host in hdfs_namenode")


def test_more_than_three_namenodes():
    data = ha(healthy())
    extra = copy.deepcopy(data["hosts"][W2])
    extra["groups"] = ["hdfs_namenode"]
    data["hosts"]["hadoop-worker3"] = extra
    data["hosts"][W2]["groups"].append("hdfs_namenode")
    assert any("more than 3 NameNodes" in m for m in messages(data))


def test_topic_replication_larger_than_broker_count():
    data = healthy()
    set_all(data, "kafka_topics", [{"name": "events", "partitions": 3, "replication_factor": 4}])
    assert only_error(data) == (
        "all: kafka_topics[events].replication_factor=4: larger than the number of brokers (3). "
        "Fix: use a replication of at most 3, or add brokers")


def test_kraft_without_controllers():
    data = healthy()
    set_all(data, "kafka_mode", "kraft")
    for host in data["hosts"].values():
        host["groups"].remove("kafka")
        del host["vars"]["kafka_brokers"]
    assert (
        "inventory: groups.kafka_controller=[]: kafka_mode=kraft needs controllers: no host in "
        "the controller group and no broker to act as one. Fix: put 1 or 3 hosts in the "
        "kafka_controller group (or brokers in the kafka group), or use kafka_mode=zookeeper"
    ) in messages(data)


def test_kraft_combined_brokers_are_the_controllers():
    data = healthy()
    set_all(data, "kafka_mode", "kraft")
    assert preflight.check(data) == []


def test_kraft_even_dedicated_controllers_warn():
    data = healthy()
    set_all(data, "kafka_mode", "kraft")
    for host in (W1, W2):
        data["hosts"][host]["groups"].append("kafka_controller")
    assert messages(data) == []
    assert messages(data, WARNING) == [
        'inventory: groups.kafka_controller=["hadoop-worker1", "hadoop-worker2"]: an even KRaft '
        "quorum (2 voters) tolerates no more failures than 1. Fix: use an odd number of "
        "controllers (hosts in kafka_controller, or brokers)"]


def test_kraft_controller_port_clashes():
    data = healthy()
    set_all(data, "kafka_mode", "kraft")
    set_all(data, "kafka_forward_external_ports", False)
    hv(data, MASTER)["kafka_brokers"] = [{"id": 0, "port": 9092}, {"id": 3, "port": 29092}]
    # Broker 0's JMX agent (39092) would also clash with broker 3's internal port.
    set_all(data, "streamstack_metrics_enabled", False)
    assert "Kafka broker 0 controller and Kafka broker 3 external" in only_error(data)


def test_broker_metrics_port_clashes():
    data = healthy()
    hv(data, MASTER)["kafka_brokers"] = [{"id": 0, "port": 9092}, {"id": 3, "port": 29092}]
    assert "Kafka broker 0 metrics and Kafka broker 3 internal" in only_error(data)


def test_yarn_memory_larger_than_host():
    data = healthy()
    hv(data, W2)["hadoop_yarn_nodemanager_memory_mb"] = 32768
    assert only_error(data) == (
        "hadoop-worker2: hadoop_yarn_nodemanager_memory_mb=32768: larger than the host's "
        "memory (24000 MB). Fix: set it below 24000 (leave room for the daemons), or give the "
        "host more memory")


def test_host_name_other_hosts_cannot_resolve():
    data = healthy()
    for name in (MASTER, W1):
        data["hosts"][name]["facts"]["resolves"][W2] = None
    assert messages(data) == [
        "hadoop-master: inventory_hostname=hadoop-worker2: hadoop-master cannot resolve this "
        "host name. Fix: add '<address> hadoop-worker2' to /etc/hosts on hadoop-master (or "
        "DNS), or set common_manage_etc_hosts: true",
        "hadoop-worker1: inventory_hostname=hadoop-worker2: hadoop-worker1 cannot resolve this "
        "host name. Fix: add '<address> hadoop-worker2' to /etc/hosts on hadoop-worker1 (or "
        "DNS), or set common_manage_etc_hosts: true"]


def test_unresolvable_name_is_a_warning_when_common_role_writes_etc_hosts():
    data = healthy()
    set_all(data, "common_manage_etc_hosts", True)
    data["hosts"][MASTER]["facts"]["resolves"][W2] = None
    assert messages(data) == []
    assert messages(data, WARNING) == [
        "hadoop-master: inventory_hostname=hadoop-worker2: hadoop-master cannot resolve this "
        "name yet; the common role will add 172.18.0.4 hadoop-worker2 to /etc/hosts. Fix: "
        "nothing, or add it to DNS"]


def test_own_name_on_loopback():
    data = healthy()
    data["hosts"][MASTER]["facts"]["resolves"][MASTER] = "127.0.1.1"
    assert only_error(data) == (
        "hadoop-master: inventory_hostname=hadoop-master: its own name resolves to 127.0.1.1, "
        "so its services would listen on loopback only and other hosts could not reach them. "
        "Fix: remove '127.0.1.1 hadoop-master' from /etc/hosts on hadoop-master")


def test_own_name_on_loopback_is_fine_on_a_single_host():
    data = healthy()
    data["hosts"] = {MASTER: data["hosts"][MASTER]}
    data["hosts"][MASTER]["groups"] += ["hdfs_datanode", "yarn_nodemanager"]
    data["hosts"][MASTER]["facts"]["resolves"] = {MASTER: "127.0.1.1"}
    set_all(data, "kafka_topics", [])
    assert messages(data) == []


@pytest.mark.parametrize("name", ["local", "single", "lab"])
def test_committed_inventories_pass(name):
    """The inventories we ship, as Ansible reads them (no facts, role defaults aside)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    from streamstack import PROJECT_ROOT

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(PROJECT_ROOT / "inventories" / name)])
    variables = VariableManager(loader=loader, inventory=inventory)
    data = {"hosts": {}}
    for host in inventory.get_hosts():
        found = variables.get_vars(host=host)
        data["hosts"][host.name] = {
            "groups": list(found["group_names"]),
            "vars": {k: found[k] for k in preflight.VARIABLE_DEFAULTS if k in found},
        }
    assert messages(data) == []


def test_not_enough_free_disk_for_data_dirs():
    data = healthy()
    data["hosts"][W1]["facts"]["mounts"] = [{"mount": "/", "size_available": GIB},
                                            {"mount": "/var/lib/kafka",
                                             "size_available": 50 * GIB}]
    assert only_error(data) == (
        "hadoop-worker1: zookeeper_data_dir,hadoop_datanode_dir,hadoop_yarn_local_dir,"
        "hadoop_yarn_log_dir,artifacts_install_dir,artifacts_remote_cache_dir="
        '["/var/lib/zookeeper", "/var/lib/hadoop/data", "/var/lib/hadoop/yarn-local", '
        '"/var/lib/hadoop/yarn-logs", "/opt", "/var/cache/streamstack"]: only 1024 MB '
        "free on / (needs preflight_min_free_disk_mb=2048). Fix: free space on /, put the data "
        "dirs on a larger disk, or lower preflight_min_free_disk_mb")


def test_port_in_use_by_something_else():
    data = healthy()
    data["hosts"][W1]["facts"]["listening"].append(
        {"port": 9866, "address": "0.0.0.0", "process": "python3", "pid": 4242, "user": "www"})
    assert only_error(data) == (
        "hadoop-worker1: hadoop_datanode_port=9866: port needed by DataNode data is already in "
        "use by python3 (pid 4242, user www). Fix: stop that process on hadoop-worker1, or move "
        "DataNode data to another port")


def test_forwarder_port_in_use_by_something_else():
    data = healthy()
    data["hosts"][W1]["facts"]["listening"] = [
        s for s in data["hosts"][W1]["facts"]["listening"] if s["port"] != 9094]
    data["hosts"][W1]["facts"]["listening"].append(
        {"port": 9094, "address": "0.0.0.0", "process": "nc", "pid": 5, "user": "bob"})
    assert only_error(data) == (
        "hadoop-worker1: kafka_brokers.port=9094: port needed by the Kafka localhost forwarder "
        "is already in use by nc (pid 5, user bob). Fix: stop that process on hadoop-worker1, "
        "or set kafka_forward_external_ports: false")


def test_forwarder_seen_only_by_user_and_address_is_ours():
    data = healthy()
    listening = data["hosts"][W1]["facts"]["listening"]
    for sock in listening:
        if sock["port"] == 9094:
            sock.update(unit=None, user="nobody")
    assert messages(data) == []
    set_all(data, "kafka_forward_external_ports", False)
    hv(data, W1)["kafka_brokers"] = [{"id": 1, "port": 9094}]
    hv(data, W2)["kafka_brokers"] = [{"id": 2, "port": 9093}]
    # Without forwarding, nobody on the broker's own port is not ours (a kafka-forward@
    # unit still is: the kafka role is about to stop it).
    assert only_error(data).startswith(
        "hadoop-worker1: kafka_brokers.port=9094: port needed by Kafka broker 1 external is "
        "already in use by an unknown process (user nobody)")


def test_broker_port_in_use_by_root_process():
    data = healthy()
    data["hosts"][W2]["facts"]["listening"][0] = {"port": 9094, "address": "0.0.0.0",
                                                 "process": None, "user": None,
                                                 "unit": "nginx.service"}
    assert only_error(data) == (
        "hadoop-worker2: kafka_brokers.port=9094: port needed by Kafka broker 2 external is "
        "already in use by nginx.service (user root or unknown). Fix: stop that process on "
        "hadoop-worker2, or move Kafka broker 2 external to another port")


def test_our_own_services_and_forwarders_are_not_a_clash():
    data = healthy()
    data["hosts"][W1]["facts"]["listening"].append(
        {"port": 9092, "address": "127.0.0.1", "process": "socat", "pid": 77, "user": None})
    assert messages(data) == []


def test_broker_moved_onto_a_port_a_forwarder_holds_warns():
    data = healthy()
    hv(data, W1)["kafka_brokers"] = [{"id": 1, "port": 9093}, {"id": 3, "port": 9095}]
    hv(data, MASTER)["kafka_brokers"] = [{"id": 0, "port": 9096}]
    hv(data, W2)["kafka_brokers"] = [{"id": 2, "port": 9092}]
    assert messages(data) == []
    assert (
        "hadoop-worker2: kafka_brokers.port=9092: port needed by Kafka broker 2 external is "
        "held by the localhost forwarder kafka-forward@9092.service. Fix: stop it first "
        "(systemctl disable --now kafka-forward@9092) or keep the broker on its old port"
    ) in messages(data, WARNING)


def test_spark_ui_port_in_use_is_not_an_error():
    data = healthy()
    data["hosts"][MASTER]["facts"]["listening"].append(
        {"port": 4040, "address": "0.0.0.0", "process": "jupyter", "user": "alice"})
    assert messages(data) == []


def test_unknown_kafka_mode():
    data = healthy()
    set_all(data, "kafka_mode", "raft")
    assert "all hosts: kafka_mode=raft: unknown Kafka mode. Fix: set kafka_mode to one of " \
        "zookeeper, kraft" in messages(data)


def test_unknown_artifacts_source():
    data = healthy()
    set_all(data, "artifacts_source", "http")
    assert only_error(data) == (
        "all hosts: artifacts_source=http: unknown artifacts source. Fix: set artifacts_source "
        "to one of maven, archive")


def test_unknown_security_profile():
    data = healthy()
    set_all(data, "streamstack_security", "tls")
    assert only_error(data) == (
        "all hosts: streamstack_security=tls: unknown security profile. Fix: set "
        "streamstack_security to one of none, kerberos")


def test_secure_profile_is_zookeeper_mode_only():
    data = healthy()
    set_all(data, "streamstack_security", "kerberos")
    assert messages(data) == []
    set_all(data, "kafka_mode", "kraft")
    assert any(m.startswith("all hosts: streamstack_security=kerberos: the secure profile "
                            "secures Kafka in ZooKeeper mode only") for m in messages(data))


def test_cluster_variable_differs_between_hosts():
    data = healthy()
    hv(data, W2)["artifacts_source"] = "archive"
    hv(data, W2)["artifacts_archive_sha512"] = {p: "a" * 128 for p in
                                                ("kafka", "zookeeper", "hadoop", "spark")}
    found = messages(data)
    assert ("hadoop-worker2: artifacts_source=archive: differs between hosts; it describes the "
            "whole cluster. Fix: set artifacts_source once, in group_vars/all") in found


def test_archive_source_needs_pinned_checksum():
    data = healthy()
    set_all(data, "artifacts_source", "archive")
    found = messages(data)
    assert ("all hosts: artifacts_archive_sha512.kafka=null: artifacts_source=archive needs a "
            "pinned SHA-512 for kafka_2.13-3.6.1.tgz and none is pinned. Fix: set "
            "artifacts_archive_sha512.kafka to the official SHA-512 of kafka_2.13-3.6.1.tgz (the "
            ".sha512 file next to it on the Apache archive), or use artifacts_source=maven"
            ) in found
    sums = {p: "ab" * 64 for p in ("kafka", "zookeeper", "hadoop")}
    sums["spark-3.5.0-bin-hadoop3.tgz"] = "CD" * 64
    set_all(data, "artifacts_archive_sha512", sums)
    assert messages(data) == []
    sums["kafka"] = "not-a-digest"
    assert only_error(data) == (
        "all hosts: artifacts_archive_sha512.kafka=not-a-digest: not a SHA-512 (128 hex "
        "digits). Fix: copy the hex digest from kafka_2.13-3.6.1.tgz.sha512")


def test_unsupported_version():
    data = healthy()
    set_all(data, "hadoop_version", "3.4.0")
    assert only_error(data) == (
        "all hosts: hadoop_version=3.4.0: no pinned artifacts for hadoop 3.4.0 "
        "(supported: 3.3.6). Fix: use hadoop 3.3.6, or add hadoop 3.4.0 with its checksums to "
        "plugins/plugin_utils/artifacts_catalog.py")
    set_all(data, "hadoop_version", "3.3.6")
    assert messages(data) == []


def test_kafka_host_without_broker_list():
    data = healthy()
    del hv(data, W2)["kafka_brokers"]
    assert only_error(data) == (
        "hadoop-worker2: kafka_brokers=[]: host is in the kafka group but has no broker list. "
        "Fix: set kafka_brokers: [{id: 0, port: 9092}] on the host, or remove it from the "
        "kafka group")


def test_brokers_on_host_outside_kafka_group_warn():
    data = healthy()
    data["hosts"][W2]["groups"].remove("kafka")
    assert messages(data) == []
    assert messages(data, WARNING)[0].startswith(
        'hadoop-worker2: kafka_brokers=[{"id": 2, "port": 9094}]: host has brokers but is not '
        "in the kafka group")


def test_broker_id_not_an_int():
    data = healthy()
    hv(data, W1)["kafka_brokers"] = [{"id": "one", "port": 9093}]
    assert only_error(data) == (
        "hadoop-worker1: kafka_brokers[0].id=one: broker id must be an integer >= 0. Fix: give "
        "each broker a unique integer id (0, 1, 2, ...)")


@pytest.mark.parametrize("port", [80, 70000, 60000])
def test_broker_port_out_of_range(port):
    data = healthy()
    hv(data, W1)["kafka_brokers"] = [{"id": 1, "port": port}]
    assert only_error(data) == (
        f"hadoop-worker1: kafka_brokers[0].port={port}: port out of range (1024..55535: "
        "services do not run as root and the internal listener is port+10000). Fix: use a port "
        "such as 9092")


# --- all errors together, and the list the runner shows --------------------------------


def test_all_errors_are_reported_together():
    data = healthy()
    hv(data, W2)["kafka_brokers"] = [{"id": 1, "port": 9094}]
    set_all(data, "kafka_mode", "kafka")
    hv(data, W1)["hadoop_yarn_nodemanager_memory_mb"] = 99999
    data["hosts"][W1]["groups"].append("hdfs_namenode")
    found = messages(data)
    assert len(found) == 4
    text = preflight.format_errors(preflight.errors(preflight.check(data)))
    assert text.startswith("preflight found 4 errors:\n  - ")
    assert "broker id used 2 times" in text and "unknown Kafka mode" in text


def test_format_errors_empty():
    assert preflight.format_errors([]) == "preflight: no errors"


def test_inputs_not_mutated():
    data = healthy()
    before = copy.deepcopy(data)
    preflight.check(data)
    assert data == before


# --- parsing the gathered facts --------------------------------------------------------

SS = "\n".join([
    "LISTEN 0      4096   127.0.0.11:43671 0.0.0.0:* ino:439461 sk:2 cgroup:/ <->",
    "LISTEN 0      50     0.0.0.0:9092  0.0.0.0:* uid:998 ino:1 sk:3 "
    "cgroup:/docker/abc/system.slice/system-kafka.slice/kafka@0.service <->",
    'LISTEN 0      5      127.0.0.1:9093 0.0.0.0:* users:(("socat",pid=312,fd=5)) uid:998 '
    "ino:2 sk:4 cgroup:/system.slice/kafka-forward@9093.service <->",
    'LISTEN 0      50     [::]:9870  [::]:* users:(("java",pid=99,fd=300)) uid:997 ino:3 sk:5 <->',
])


def test_parse_ss():
    sockets = preflight.parse_ss(SS, {998: "kafka", 997: "hdfs"})
    assert sockets[0] == {"port": 43671, "address": "127.0.0.11", "process": None, "pid": None,
                          "user": None, "unit": None}
    assert sockets[1]["user"] == "kafka" and sockets[1]["unit"] == "kafka@0.service"
    assert sockets[2]["process"] == "socat" and sockets[2]["pid"] == 312
    assert sockets[3] == {"port": 9870, "address": "::", "process": "java", "pid": 99,
                          "user": "hdfs", "unit": None}
    assert preflight.parse_ss(SS)[3]["user"] == "uid 997"


def test_users_by_uid():
    assert preflight.users_by_uid({"kafka": ["x", "998", "998", "", "/", "/bin/false"],
                                   "bad": []}) == {998: "kafka"}


@pytest.mark.parametrize(("stage", "variable", "words"), [
    ("connect", "ansible_host", "unreachable: ssh: connect to host"),
    ("become", "ansible_become", "could not become root: sudo: a password is required"),
    ("python", "ansible_python_interpreter", "module did not run: /bin/sh: python3: not found"),
])
def test_a_host_that_does_not_answer_is_an_error_beside_the_others(stage, variable, words):
    data = healthy()
    message = {"connect": "ssh: connect to host 192.0.2.11 port 22: Connection refused",
               "become": "sudo: a password is required",
               "python": "/bin/sh: python3: not found"}[stage]
    data["hosts"][W1]["reach"] = {"answered": False, "address": "debian@192.0.2.11:22 (ssh)",
                                  "stage": stage, "message": message}
    data["hosts"][W1]["facts"] = {}
    hv(data, W2)["kafka_brokers"] = [{"id": 0, "port": 9094}]  # an inventory mistake too
    found = messages(data)
    assert any(m.startswith(f"{W1}: {variable}=debian@192.0.2.11:22 (ssh): ")
               and words in m for m in found), found
    assert any("broker id used 2 times" in m for m in found), found


def test_a_host_that_answered_is_no_error():
    data = healthy()
    for host in data["hosts"].values():
        host["reach"] = {"answered": True, "address": "x"}
    assert messages(data) == []


# --- identities kept in the data directories (issue 19, item 1) -------------------------


def with_identities(data: dict, cluster: str = "c1") -> dict:
    """The running lab's data directories: myid = position, one broker dir each."""
    for index, name in enumerate((MASTER, W1, W2)):
        data["hosts"][name]["facts"]["identities"] = {
            "myid": str(index + 1), "cluster_id_file": None,
            "kafka": [{"dir": f"/var/lib/kafka/broker-{index}", "node_id": str(index),
                       "cluster_id": cluster}]}
    return data


def test_identities_that_match_the_inventory_pass():
    assert messages(with_identities(healthy())) == []


def test_reordered_zookeeper_group_would_renumber_a_server():
    data = with_identities(healthy())
    # The inventory now lists worker2 before worker1: positions give 1, 3, 2.
    hv(data, W1)["zookeeper_id"] = 3
    hv(data, W2)["zookeeper_id"] = 2
    found = messages(data)
    assert f"{W1}: zookeeper_id=3: this host is already ZooKeeper server 2 " \
           f"(/var/lib/zookeeper/myid); the inventory would renumber it (hosts reordered in " \
           f"the zookeeper group?). Fix: set zookeeper_id: 2 on {W1} in the inventory" in found
    assert any(m.startswith(f"{W2}: zookeeper_id=2: this host is already ZooKeeper server 3")
               for m in found), found


def test_duplicate_zookeeper_ids():
    data = healthy()
    set_all(data, "zookeeper_id", 1)
    assert only_error(data).startswith(
        "all hosts: zookeeper_id=1: the same ZooKeeper server id on several hosts")


def test_reordered_kraft_controllers_would_orphan_a_controller():
    data = with_identities(healthy())
    set_all(data, "kafka_mode", "kraft")
    for name in (MASTER, W1, W2):
        data["hosts"][name]["groups"].append("kafka_controller")
    # worker1 ran controller 3001 (second in the group); the new order makes it first.
    data["hosts"][W1]["facts"]["identities"]["kafka"].append(
        {"dir": "/var/lib/kafka/controller-3001", "node_id": "3001", "cluster_id": "c1"})
    data["hosts"][W1]["groups"].remove("kafka_controller")
    data["hosts"][W1]["groups"].insert(0, "kafka_controller")
    hv(data, W1)["kafka_kraft_controller_id"] = 3000
    found = messages(data)
    assert any(m.startswith(f"{W1}: kafka_brokers=[\"1\", \"3000\"]: /var/lib/kafka/"
                            "controller-3001 holds the data of Kafka node 3001")
               for m in found), found


def test_kafka_data_of_two_clusters_is_refused():
    data = with_identities(healthy())
    data["hosts"][W2]["facts"]["identities"]["kafka"][0]["cluster_id"] = "c2"
    assert only_error(data).startswith(
        f'all hosts: cluster.id={{"c1": ["{MASTER}", "{W1}"], "c2": ["{W2}"]}}: the Kafka data '
        "on these hosts belongs to different clusters")


# --- ZooKeeper -> KRaft migration (issue 21) --------------------------------------------


def migrated(data: dict, step: str | None, version: str = "0") -> dict:
    """Data directories as playbooks/migrate_kraft.yml leaves them at `step`."""
    data = with_identities(data)
    for name in (MASTER, W1, W2):
        found = data["hosts"][name]["facts"]["identities"]
        found["migration"] = step
        for node in found["kafka"]:
            node["version"] = version
    return data


def test_a_migration_stopped_half_way_refuses_site_yml():
    data = migrated(healthy(), "kraft_brokers")
    assert only_error(data) == (
        'all hosts: migration.state=["kraft_brokers"]: a ZooKeeper to KRaft '
        "migration stopped half way on these hosts. Fix: finish it "
        "(playbooks/migrate_kraft.yml) or undo it (playbooks/migrate_kraft_rollback.yml) "
        "before running site.yml")


def test_a_finalized_migration_needs_kafka_mode_kraft():
    data = migrated(healthy(), "finalized")
    assert only_error(data).startswith(
        "all hosts: kafka_mode=zookeeper: these Kafka hosts were migrated to "
        "KRaft (finalized)")
    set_all(data, "kafka_mode", "kraft")
    for name in (MASTER, W1, W2):
        data["hosts"][name]["groups"].append("kafka_controller")
        data["hosts"][name]["facts"]["identities"]["kafka"].append(
            {"dir": f"/var/lib/kafka/controller-{3000 + (MASTER, W1, W2).index(name)}",
             "node_id": str(3000 + (MASTER, W1, W2).index(name)), "cluster_id": "c1",
             "version": "1"})
    assert messages(data) == []


def test_kraft_mode_over_zookeeper_brokers_without_a_migration_is_refused():
    data = migrated(healthy(), None)
    assert messages(data) == []
    set_all(data, "kafka_mode", "kraft")
    found = messages(data)
    assert any(m.startswith("all hosts: kafka_mode=kraft: the brokers here hold "
                            "the data of a ZooKeeper-mode cluster") for m in found), found


# --- the playbook ----------------------------------------------------------------------


def test_the_report_reads_the_variables_of_every_role_site_yml_applies():
    """Each host's variables are those a play of the report task's roles sees: the roles
    of site.yml's plays, so no role's defaults are left out."""
    applied = []
    for entry in yaml.safe_load((PROJECT_ROOT / "playbooks/site.yml").read_text()):
        playbook = PROJECT_ROOT / "playbooks" / entry["ansible.builtin.import_playbook"]
        for play in yaml.safe_load(playbook.read_text()):
            applied += [r["role"] if isinstance(r, dict) else r for r in play.get("roles", [])]
    report = yaml.safe_load((PROJECT_ROOT / "playbooks/preflight.yml").read_text())[-1]
    task = report["tasks"][0]["streamstack.lab.streamstack_preflight"]
    assert task["roles"] == list(dict.fromkeys(applied))


# --- decommission (issue 21) -----------------------------------------------------------

W3 = "hadoop-worker3"


def with_leaving_host(groups: list[str]) -> dict:
    """The lab plus hadoop-worker3 (broker 3) under `decommission` and `groups`."""
    data = healthy()
    leaving = copy.deepcopy(data["hosts"][W2])
    leaving["groups"] = ["decommission", *groups]
    leaving["vars"]["kafka_brokers"] = [{"id": 3, "port": 9095}]
    leaving["facts"]["listening"] = []
    for host in data["hosts"].values():
        host["facts"]["resolves"][W3] = "172.18.0.5"
    leaving["facts"]["resolves"][W3] = "172.18.0.5"
    data["hosts"][W3] = leaving
    return data


def test_a_host_under_decommission_only_passes():
    assert messages(with_leaving_host([])) == []


def test_a_leaving_host_still_in_its_service_groups_is_refused():
    found = messages(with_leaving_host(["kafka", "hdfs_datanode"]))
    assert any(m.startswith(f"{W3}: groups.kafka=") and "still in kafka" in m and
               "remove hadoop-worker3 from kafka" in m for m in found), found
    assert any("still in hdfs_datanode" in m for m in found), found


def test_a_leaving_zookeeper_server_is_refused():
    found = messages(with_leaving_host(["zookeeper"]))
    assert any(f"{W3}: groups.zookeeper=" in m and "ZooKeeper server" in m for m in found), found


def test_draining_below_the_replication_factor_is_refused():
    data = with_leaving_host([])
    # Worker2 leaves too: 2 brokers would have to hold replication factor 3.
    data["hosts"][W2]["groups"] = ["decommission"]
    found = messages(data)
    assert any("kafka_brokers=[2, 3]" in m and "leaves 2 brokers, below the replication "
               "factor 3" in m and "add a broker" in m for m in found), found


def test_a_leaving_host_keeps_its_broker_data_without_an_identity_error():
    data = with_leaving_host([])
    data["hosts"][W3]["facts"]["identities"] = {
        "kafka": [{"dir": "/var/lib/kafka/broker-3", "node_id": "3", "cluster_id": "c1"}]}
    assert messages(data) == []


def test_decommissioning_below_the_replicas_of_hdfs_files_is_refused():
    data = with_leaving_host([])
    # Both workers leave: one DataNode would have to hold files written with 2 replicas.
    data["hosts"][W2]["groups"] = ["decommission"]
    found = messages(data)
    assert any("groups.hdfs_datanode=" in m and "leaves 1 DataNode(s) for files written "
               "with 2 replicas" in m and "add a DataNode" in m for m in found), found


def test_decommissioning_the_last_nodemanager_is_refused():
    data = with_leaving_host([])
    for name, host in data["hosts"].items():
        if name != W3:
            host["groups"] = [g for g in host["groups"] if g != "yarn_nodemanager"]
    found = messages(data)
    assert any("groups.yarn_nodemanager=[]" in m and "no NodeManager" in m for m in found), found


def test_log_aggregation_refused_in_the_secure_profile():
    data = healthy()
    set_all(data, "streamstack_security", "kerberos")
    set_all(data, "hadoop_yarn_log_aggregation_enabled", True)
    found = messages(data)
    assert len(found) == 1 and found[0].startswith(
        "hadoop-worker1, hadoop-worker2: hadoop_yarn_log_aggregation_enabled=true: with "
        "streamstack_security=kerberos, YARN's log aggregation needs Hadoop's native "
        "libhadoop.so"), found
    set_all(data, "hadoop_yarn_log_aggregation_enabled", "False")
    assert messages(data) == []
