"""Preflight rules of Kafka: the identities its data directories hold, the KRaft
migration and controllers, the brokers and their ports, decommissioning and topic
replication."""

from __future__ import annotations

from collections.abc import Iterable

from .base import WARNING, Inventory, Issue, _as_int, _int_or, _is_int, rule


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


@rule
def kraft_controllers(inv: Inventory) -> Iterable[Issue]:
    if not inv.kraft():
        return
    group = str(inv.cluster_var("kafka_kraft_controller_group"))
    dedicated = inv.controller_hosts()
    # roles/kafka: without hosts in the controller group every broker is also a controller.
    voters = dedicated or [f"broker {b['id']}" for _unused, b in inv.all_brokers()]
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
        for listener, port, _unused in inv.kafka_ports(host):
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
        for listener, port, _unused in inv.kafka_ports(host):
            for service, service_port, _unused in services:
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
            for service, service_port, _unused in inv.service_ports(other):
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
