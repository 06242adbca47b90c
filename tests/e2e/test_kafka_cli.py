"""Kafka's own command-line tools, as the handout types them, and a replication-factor-3
topic that keeps taking acks=all writes with a broker down (it stops a broker: e2e, not
`streamstack verify`, which only reads).

    pytest tests/e2e/test_kafka_cli.py --hosts=ansible://spark_client \
        --ansible-inventory=inventories/local

The inventory helpers here are shared with tests/reliability.
"""

from __future__ import annotations

import time
import uuid

import pytest
import testinfra

INTERNAL_OFFSET = 10000
HANDOUT_TOPIC = "Hello-Kafka"
RF3_TOPIC = "streamstack-rf3-check"


# --- inventory helpers ---------------------------------------------------------------

def _runner(host):
    return host.backend.ansible_runner


def brokers_all(host) -> list[dict]:
    """Every broker of the inventory: host, id, port, internal_port (inventory order)."""
    runner = _runner(host)
    kafka_hosts = host.ansible.get_variables().get("groups", {}).get("kafka", [])
    out = []
    for name in kafka_hosts:
        for broker in runner.get_variables(name).get("kafka_brokers", []):
            out.append({"host": name, "id": int(broker["id"]), "port": int(broker["port"]),
                        "internal_port": int(broker["port"]) + INTERNAL_OFFSET})
    return out


def internal_bootstrap(brokers: list[dict]) -> str:
    return ",".join(f"{b['host']}:{b['internal_port']}" for b in brokers)


def other_host(host, name: str):
    return testinfra.get_host(f"ansible://{name}",
                              ansible_inventory=host.backend.ansible_inventory)


def client_host_name(host) -> str:
    """Where the handout's commands are typed: the spark client (hadoop-master)."""
    groups = host.ansible.get_variables().get("groups", {})
    return (groups.get("spark_client") or groups.get("kafka"))[0]


def kafka_cli(host, command: str, *args: str, timeout: int = 60):
    return host.run(f"timeout {timeout} {command} " + " ".join(["%s"] * len(args)), *args)


# --- the handout, on hadoop-master ---------------------------------------------------

def test_handout_commands(host):
    if host.backend.get_hostname() != client_host_name(host):
        pytest.skip("the handout's commands are typed on the client host")
    create = kafka_cli(host, "kafka-topics.sh", "--create", "--topic", HANDOUT_TOPIC,
                       "--bootstrap-server", "localhost:9092", "--replication-factor", "1",
                       "--partitions", "1")
    assert create.rc == 0 or "already exists" in create.stdout + create.stderr, create.stderr
    listing = kafka_cli(host, "kafka-topics.sh", "--list", "--bootstrap-server",
                        "localhost:9092")
    assert HANDOUT_TOPIC in listing.stdout.split()
    marker = f"bonjour-{uuid.uuid4().hex[:8]}"
    produce = host.run(
        "echo %s | timeout 60 kafka-console-producer.sh --broker-list localhost:9092 "
        "--topic %s", marker, HANDOUT_TOPIC)
    assert produce.rc == 0 and "ERROR" not in produce.stderr, produce.stderr
    consume = host.run(
        "timeout 90 kafka-console-consumer.sh --bootstrap-server localhost:9092 --topic %s "
        "--from-beginning --timeout-ms 15000", HANDOUT_TOPIC)
    assert marker in consume.stdout.split(), consume.stderr[-500:]


# --- replication: one broker down -----------------------------------------------------

def _wait_in_sync(client, bootstrap: str, topic: str, seconds: int = 180) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out = kafka_cli(client, "kafka-topics.sh", "--bootstrap-server", bootstrap,
                        "--describe", "--topic", topic, "--under-replicated-partitions")
        if out.rc == 0 and not out.stdout.strip():
            return True
        time.sleep(5)
    return False


def test_rf3_topic_takes_acks_all_writes_with_one_broker_down(host):
    brokers = brokers_all(host)
    if host.backend.get_hostname() != client_host_name(host):
        pytest.skip("run once, from the client host")
    if len(brokers) < 3:
        pytest.skip("NOT RUN: needs three brokers")
    bootstrap = internal_bootstrap(brokers)
    create = kafka_cli(host, "kafka-topics.sh", "--bootstrap-server", bootstrap, "--create",
                       "--if-not-exists", "--topic", RF3_TOPIC, "--partitions", "3",
                       "--replication-factor", "3", "--config", "min.insync.replicas=2")
    assert create.rc == 0, create.stderr
    assert _wait_in_sync(host, bootstrap, RF3_TOPIC), "topic not in sync before the test"
    victim = brokers[-1]
    victim_host = other_host(host, victim["host"])
    survivors = internal_bootstrap([b for b in brokers if b is not victim])
    marker = f"rf3-{uuid.uuid4().hex[:8]}"
    count = 30
    stopped = victim_host.run("systemctl stop kafka@%s", str(victim["id"]))
    try:
        assert stopped.rc == 0, stopped.stderr
        produce = host.run(
            "seq -f '%s-%%g' %s | timeout 90 kafka-console-producer.sh --bootstrap-server %s "
            "--topic %s --producer-property acks=all --producer-property "
            "delivery.timeout.ms=60000 --sync",
            marker, str(count), survivors, RF3_TOPIC)
        assert produce.rc == 0, produce.stderr[-500:]
        assert "Error" not in produce.stderr and "Exception" not in produce.stderr, (
            produce.stderr[-800:])
        consume = host.run(
            "timeout 120 kafka-console-consumer.sh --bootstrap-server %s --topic %s "
            "--from-beginning --timeout-ms 20000", survivors, RF3_TOPIC)
        got = [line for line in consume.stdout.split() if line.startswith(marker + "-")]
        assert len(set(got)) == count, f"read {len(set(got))} of {count} acks=all writes"
    finally:
        victim_host.run("systemctl start kafka@%s", str(victim["id"]))
        assert _wait_in_sync(host, bootstrap, RF3_TOPIC), (
            f"broker {victim['id']} did not rejoin the ISR within 180 s")


def test_shipped_client_settings_are_what_the_tools_read(host):
    """$KAFKA_HOME/config/{producer,consumer}.properties link to the kafka role's files,
    and the console tools given them write and read back (3.6's console tools still ask
    for --bootstrap-server; acks and batching come from the file)."""
    producer_file = host.file("/opt/kafka/config/producer.properties")
    if not host.file("/etc/kafka/producer.properties").exists:
        pytest.skip("the kafka role ships them on Kafka hosts; this client is not one")
    assert producer_file.is_symlink and producer_file.linked_to == "/etc/kafka/producer.properties"
    settings = dict(line.split("=", 1) for line in producer_file.content_string.splitlines()
                    if line and not line.startswith("#"))
    assert settings["acks"] == "all" and int(settings["batch.size"]) > 16384
    assert settings["bootstrap.servers"] == internal_bootstrap(brokers_all(host))
    assert host.file("/opt/kafka/config/consumer.properties").linked_to == \
        "/etc/kafka/consumer.properties"
    bootstrap = internal_bootstrap(brokers_all(host))
    topic, marker = f"shipped-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    try:
        produce = host.run(
            "seq -f '%s-%%g' 5 | timeout 90 kafka-console-producer.sh --producer.config "
            "/opt/kafka/config/producer.properties --bootstrap-server %s --topic %s",
            marker, bootstrap, topic)
        assert produce.rc == 0, produce.stderr[-500:]
        consume = host.run(
            "timeout 120 kafka-console-consumer.sh --consumer.config "
            "/opt/kafka/config/consumer.properties --bootstrap-server %s --topic %s "
            "--from-beginning --max-messages 5 --timeout-ms 60000", bootstrap, topic)
        assert sorted(consume.stdout.split()) == [f"{marker}-{i}" for i in range(1, 6)]
    finally:
        kafka_cli(host, "kafka-topics.sh", "--bootstrap-server", bootstrap, "--delete",
                  "--topic", topic)
