"""Render the zookeeper and kafka role templates with Ansible (role_templates), from the
real defaults, the cross-role facts and the committed inventories, and check what the
brokers get: a test sees what a play would template.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import role_templates
import yaml
from role_templates import LOCAL, SINGLE, render

FACTS = {"architecture": "x86_64"}


def Inventory(directory: Path, **overrides) -> role_templates.Inventory:
    """The inventory as a play of the zookeeper and kafka roles sees it (overrides:
    extra_vars, groups, host_vars)."""
    return role_templates.Inventory(directory, default_roles=("zookeeper", "kafka"),
                                    vars_role="kafka", facts=FACTS, **overrides)


local, single = role_templates.inventory_fixtures(Inventory)


def properties(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        assert key not in out, f"duplicate key {key}"
        out[key] = value
    return out


def broker_props(inv: role_templates.Inventory, host: str, node_id: int) -> dict:
    hv = inv.hostvars[host]
    node = next(n for n in hv["kafka_local_nodes"] if n["id"] == node_id)
    return properties(render(hv.with_overlay(kafka_node=node), "kafka", "server.properties.j2"))


def test_single_host_three_brokers(single):
    nodes = single.hostvars["localhost"]["kafka_local_nodes"]
    assert [(n["id"], n["port"], n["internal_port"]) for n in nodes] == [
        (0, 9092, 19092), (1, 9093, 19093), (2, 9094, 19094)]
    dirs = set()
    for broker_id, port in [(0, 9092), (1, 9093), (2, 9094)]:
        props = broker_props(single, "localhost", broker_id)
        assert props["broker.id"] == str(broker_id)
        assert props["listeners"] == (
            f"INTERNAL://0.0.0.0:{port + 10000},EXTERNAL://0.0.0.0:{port}")
        assert props["advertised.listeners"] == (
            f"INTERNAL://localhost:{port + 10000},EXTERNAL://localhost:{port}")
        assert props["inter.broker.listener.name"] == "INTERNAL"
        assert props["listener.security.protocol.map"] == "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
        assert props["zookeeper.connect"] == "localhost:2181"
        assert props["log.dirs"] == f"/var/lib/kafka/broker-{broker_id}"
        dirs.add(props["log.dirs"])
        # Three brokers: RF 3, declared topics and the transaction log tolerate one down.
        assert props["default.replication.factor"] == "3"
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["transaction.state.log.replication.factor"] == "3"
        assert props["transaction.state.log.min.isr"] == "2"
        # Broker-wide 1: the handout's RF 1 Hello-Kafka must accept acks=all.
        assert props["min.insync.replicas"] == "1"
        assert props["auto.create.topics.enable"] == "true"
        assert "process.roles" not in props
    assert len(dirs) == 3
    assert single.hostvars["localhost"]["kafka_forwarded_ports"] == []


def test_three_host_layout(local):
    expected_zk = "hadoop-master:2181,hadoop-worker1:2181,hadoop-worker2:2181"
    for host, broker_id, port in [("hadoop-master", 0, 9092), ("hadoop-worker1", 1, 9093),
                                  ("hadoop-worker2", 2, 9094)]:
        props = broker_props(local, host, broker_id)
        assert props["broker.id"] == str(broker_id)
        assert props["listeners"] == (
            f"INTERNAL://0.0.0.0:{port + 10000},EXTERNAL://0.0.0.0:{port}")
        # Internal by host name; external localhost, published/forwarded in the lab.
        assert props["advertised.listeners"] == (
            f"INTERNAL://{host}:{port + 10000},EXTERNAL://localhost:{port}")
        assert props["zookeeper.connect"] == expected_zk
        assert props["log.dirs"] == f"/var/lib/kafka/broker-{broker_id}"
        assert props["default.replication.factor"] == "3"
    hv = local.hostvars["hadoop-master"]
    assert hv["streamstack_kafka_bootstrap_servers"] == (
        "hadoop-master:19092,hadoop-worker1:19093,hadoop-worker2:19094")
    assert hv["kafka_forwarded_ports"] == [
        {"port": 9093, "host": "hadoop-worker1"}, {"port": 9094, "host": "hadoop-worker2"}]
    assert local.hostvars["hadoop-worker2"]["kafka_forwarded_ports"] == [
        {"port": 9092, "host": "hadoop-master"}, {"port": 9093, "host": "hadoop-worker1"}]


def test_external_host_defaults_to_the_inventory_name(tmp_path):
    # The local lab's inventory without its kafka_external_host.
    shutil.copytree(LOCAL, tmp_path, dirs_exist_ok=True)
    group_vars = tmp_path / "group_vars/all.yml"
    values = role_templates.load(group_vars)
    del values["kafka_external_host"]
    group_vars.write_text(yaml.safe_dump(values))
    props = broker_props(Inventory(tmp_path), "hadoop-worker1", 1)
    assert props["advertised.listeners"] == (
        "INTERNAL://hadoop-worker1:19093,EXTERNAL://hadoop-worker1:9093")


@pytest.mark.parametrize("count,rf,isr", [(1, 1, 1), (2, 2, 1), (3, 3, 2), (4, 3, 2)])
def test_replication_derived_from_broker_count(count, rf, isr):
    brokers = [{"id": i, "port": 9092 + i} for i in range(count)]
    inv = Inventory(SINGLE, host_vars={"localhost": {"kafka_brokers": brokers}})
    props = broker_props(inv, "localhost", 0)
    assert props["default.replication.factor"] == str(rf)
    assert props["offsets.topic.replication.factor"] == str(rf)
    assert props["transaction.state.log.replication.factor"] == str(rf)
    assert props["transaction.state.log.min.isr"] == str(isr)


def test_tuning_off_renders_upstream_defaults_only(local):
    tuned = broker_props(local, "hadoop-master", 0)
    plain = broker_props(Inventory(LOCAL, extra_vars={"kafka_tuning": False}), "hadoop-master", 0)
    tuning_keys = {"num.network.threads", "num.io.threads", "background.threads",
                   "socket.send.buffer.bytes", "socket.receive.buffer.bytes",
                   "replica.socket.receive.buffer.bytes", "log.segment.bytes",
                   "group.initial.rebalance.delay.ms"}
    assert tuning_keys <= set(tuned)
    assert not tuning_keys & set(plain)
    assert {k: v for k, v in tuned.items() if k not in tuning_keys} == plain


def test_kraft_combined():
    inv = Inventory(LOCAL, extra_vars={"kafka_mode": "kraft"})
    props = broker_props(inv, "hadoop-worker1", 1)
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == (
        "0@hadoop-master:29092,1@hadoop-worker1:29093,2@hadoop-worker2:29094")
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["listeners"] == (
        "INTERNAL://0.0.0.0:19093,EXTERNAL://0.0.0.0:9093,CONTROLLER://0.0.0.0:29093")
    assert props["listener.security.protocol.map"].endswith(",CONTROLLER:PLAINTEXT")
    assert "zookeeper.connect" not in props and "broker.id" not in props


def test_kraft_dedicated_controllers():
    inv = Inventory(LOCAL, extra_vars={"kafka_mode": "kraft"},
                    groups={"kafka_controller": ["hadoop-master", "hadoop-worker1",
                                                 "hadoop-worker2"]})
    nodes = inv.hostvars["hadoop-worker1"]["kafka_local_nodes"]
    assert [(n["id"], n["roles"]) for n in nodes] == [(1, "broker"), (3001, "controller")]
    broker = broker_props(inv, "hadoop-worker1", 1)
    assert broker["process.roles"] == "broker"
    assert broker["controller.quorum.voters"] == (
        "3000@hadoop-master:9193,3001@hadoop-worker1:9193,3002@hadoop-worker2:9193")
    assert broker["listeners"] == "INTERNAL://0.0.0.0:19093,EXTERNAL://0.0.0.0:9093"
    controller = broker_props(inv, "hadoop-worker1", 3001)
    assert controller["process.roles"] == "controller"
    assert controller["listeners"] == "CONTROLLER://0.0.0.0:9193"
    assert controller["log.dirs"] == "/var/lib/kafka/controller-3001"
    assert "advertised.listeners" not in controller
    assert "default.replication.factor" not in controller


CONTROLLERS = {"kafka_controller": ["hadoop-master", "hadoop-worker1", "hadoop-worker2"]}
VOTERS = "3000@hadoop-master:9193,3001@hadoop-worker1:9193,3002@hadoop-worker2:9193"
ZK = "hadoop-master:2181,hadoop-worker1:2181,hadoop-worker2:2181"


def migration(phase: str, mode: str = "kraft") -> role_templates.Inventory:
    """The inventory as playbooks/migrate_kraft.yml's play of that step sees it."""
    return Inventory(LOCAL, extra_vars={"kafka_mode": mode, "kafka_migration_phase": phase},
                     groups=CONTROLLERS)


def node_text(inv: role_templates.Inventory, host: str, node_id: int) -> str:
    hv = inv.hostvars[host]
    node = next(n for n in hv["kafka_local_nodes"] if n["id"] == node_id)
    return render(hv.with_overlay(kafka_node=node), "kafka", "server.properties.j2")


def unit(inv: role_templates.Inventory, host: str = "hadoop-worker1") -> str:
    return render(inv.hostvars[host], "kafka", "kafka@.service.j2")


def test_migration_step_controllers_leaves_the_brokers_as_they_run(local):
    inv = migration("controllers")
    # The ZooKeeper brokers' files stay byte for byte: the step restarts no broker.
    zk = local.hostvars["hadoop-worker1"]
    zk_node = zk["kafka_local_nodes"][0]
    node = next(n for n in inv.hostvars["hadoop-worker1"]["kafka_local_nodes"] if n["id"] == 1)
    assert render(inv.hostvars["hadoop-worker1"].with_overlay(kafka_node=node), "kafka",
                  "server.properties.j2") == render(zk.with_overlay(kafka_node=zk_node), "kafka",
                                                    "server.properties.j2")
    assert unit(inv) == unit(local)
    controller = broker_props(inv, "hadoop-worker1", 3001)
    assert controller["process.roles"] == "controller"
    assert controller["node.id"] == "3001"
    assert controller["controller.quorum.voters"] == VOTERS
    assert controller["zookeeper.metadata.migration.enable"] == "true"
    assert controller["zookeeper.connect"] == ZK
    assert controller["listeners"] == "CONTROLLER://0.0.0.0:9193"
    # As the ZooKeeper brokers' controller it sends them requests on their listener.
    assert controller["inter.broker.listener.name"] == "INTERNAL"
    assert "broker.id" not in controller
    # The connections that carry the other controllers' ApiVersions never idle out.
    assert int(controller["connections.max.idle.ms"]) >= 7 * 24 * 3600 * 1000


def test_migration_step_brokers_puts_zookeeper_brokers_in_migration_mode():
    inv = migration("brokers")
    broker = broker_props(inv, "hadoop-worker1", 1)
    assert broker["broker.id"] == "1"
    assert broker["zookeeper.connect"] == ZK
    assert broker["zookeeper.metadata.migration.enable"] == "true"
    assert broker["controller.quorum.voters"] == VOTERS
    assert broker["controller.listener.names"] == "CONTROLLER"
    assert broker["listener.security.protocol.map"].endswith(",CONTROLLER:PLAINTEXT")
    assert "process.roles" not in broker and "node.id" not in broker
    # The controllers' file is the controllers step's, byte for byte: no controller restarts.
    assert node_text(inv, "hadoop-worker1", 3001) == \
        node_text(migration("controllers"), "hadoop-worker1", 3001)


def test_migration_step_kraft_brokers_takes_the_brokers_off_zookeeper():
    inv = migration("kraft_brokers")
    broker = broker_props(inv, "hadoop-worker1", 1)
    assert broker["process.roles"] == "broker"
    assert broker["node.id"] == "1"
    assert broker["controller.quorum.voters"] == VOTERS
    for key in ("broker.id", "zookeeper.connect", "zookeeper.metadata.migration.enable"):
        assert key not in broker
    # The brokers are already what finalized KRaft renders (finalizing restarts no broker);
    # the controllers still migrate.
    final = Inventory(LOCAL, extra_vars={"kafka_mode": "kraft"}, groups=CONTROLLERS)
    assert node_text(inv, "hadoop-worker1", 1) == node_text(final, "hadoop-worker1", 1)
    controller = broker_props(inv, "hadoop-worker1", 3001)
    assert controller["zookeeper.metadata.migration.enable"] == "true"
    assert controller["zookeeper.connect"] == ZK
    # One unit in every step: a changed unit would restart the controllers mid-migration.
    zookeeper = Inventory(LOCAL, groups=CONTROLLERS)
    assert unit(inv) == unit(final) == unit(zookeeper) == unit(migration("brokers"))


def test_finalized_migration_is_plain_dedicated_kraft():
    final = Inventory(LOCAL, extra_vars={"kafka_mode": "kraft"}, groups=CONTROLLERS)
    controller = broker_props(final, "hadoop-worker1", 3001)
    for key in ("zookeeper.metadata.migration.enable", "zookeeper.connect",
                "inter.broker.listener.name", "connections.max.idle.ms"):
        assert key not in controller


def test_units_run_as_service_users_with_small_heaps(local):
    hv = local.hostvars["hadoop-master"]
    kafka_unit = render(hv, "kafka", "kafka@.service.j2")
    assert "User=kafka" in kafka_unit
    assert 'Environment="KAFKA_HEAP_OPTS=-Xmx384m -Xms384m"' in kafka_unit
    assert "ExecStart=/opt/kafka/bin/kafka-server-start.sh /etc/kafka/server-%i.properties" \
        in kafka_unit
    zk_unit = render(hv, "zookeeper", "zookeeper.service.j2")
    assert "User=zookeeper" in zk_unit and "Type=simple" in zk_unit
    assert "ExecStart=/opt/zookeeper/bin/zkServer.sh start-foreground /etc/zookeeper/zoo.cfg" \
        in zk_unit
    forward = render(hv.with_overlay(kafka_forward={"host": "hadoop-worker1", "port": 9093}),
                     "kafka", "forward.env.j2")
    assert "KAFKA_FORWARD_TARGET=hadoop-worker1:9093" in forward


def test_zoo_cfg_ensemble_and_standalone(local, single):
    cfg = properties(render(local.hostvars["hadoop-worker2"], "zookeeper", "zoo.cfg.j2"))
    assert cfg["server.1"] == "hadoop-master:2888:3888"
    assert cfg["server.3"] == "hadoop-worker2:2888:3888"
    assert cfg["dataDir"] == "/var/lib/zookeeper"
    assert cfg["4lw.commands.whitelist"] == "ruok,srvr,mntr,stat"
    assert local.hostvars["hadoop-worker2"]["zookeeper_id"] == 3
    cfg = properties(render(single.hostvars["localhost"], "zookeeper", "zoo.cfg.j2"))
    assert not [k for k in cfg if k.startswith("server.")]
