"""Kafka: kafka@<id> brokers, the localhost forwarders, the handout's commands, and
a replication-factor-3 topic that keeps taking acks=all writes with a broker down.

What a host should run comes from the inventory (groups, kafka_brokers), so the same
tests serve the 3-host lab, the one-host layout and KRaft mode.
"""

from __future__ import annotations

import re
import socket
import time
import uuid

import pytest
import testinfra

INTERNAL_OFFSET = 10000
HANDOUT_TOPIC = "Hello-Kafka"
RF3_TOPIC = "streamstack-rf3-check"
COMMANDS = [
    "kafka-topics.sh", "kafka-console-producer.sh", "kafka-console-consumer.sh",
    "kafka-consumer-groups.sh", "kafka-server-start.sh", "kafka-producer-perf-test.sh",
    "kafka-consumer-perf-test.sh", "zookeeper-shell.sh", "start-kafka-zookeeper.sh",
]


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


def local_brokers(host) -> list[dict]:
    return host.ansible.get_variables().get("kafka_brokers", [])


def client_host_name(host) -> str:
    """Where the handout's commands are typed: the spark client (hadoop-master)."""
    groups = host.ansible.get_variables().get("groups", {})
    return (groups.get("spark_client") or groups.get("kafka"))[0]


def kafka_cli(host, command: str, *args: str, timeout: int = 60):
    return host.run(f"timeout {timeout} {command} " + " ".join(["%s"] * len(args)), *args)


# --- every broker --------------------------------------------------------------------

def test_units_enabled_and_running(host):
    brokers = local_brokers(host)
    if not brokers:
        pytest.skip("no broker on this host")
    for broker in brokers:
        service = host.service(f"kafka@{broker['id']}")
        name = host.backend.get_hostname()
        assert service.is_enabled, f"kafka@{broker['id']} is not enabled on {name}"
        assert service.is_running, f"kafka@{broker['id']} is not running on {name}"
        pid = host.check_output("systemctl show -p MainPID --value kafka@%s", str(broker["id"]))
        assert host.check_output("ps -o user= -p %s", pid) == "kafka"


def test_listeners_listening(host):
    brokers = local_brokers(host)
    if not brokers:
        pytest.skip("no broker on this host")
    listening = host.check_output("ss -Htln")
    for broker in brokers:
        for port in (broker["port"], broker["port"] + INTERNAL_OFFSET):
            assert re.search(rf"[:\]]{port}\s", listening), f"nothing listens on {port}"


def test_server_properties_per_broker(host):
    brokers = local_brokers(host)
    if not brokers:
        pytest.skip("no broker on this host")
    name = host.backend.get_hostname()
    log_dirs = set()
    for broker in brokers:
        props = host.file(f"/etc/kafka/server-{broker['id']}.properties")
        assert props.user == "root" and props.group == "kafka"
        text = props.content_string
        ident = re.search(r"^(broker\.id|node\.id)=(\d+)$", text, re.M)
        assert ident and int(ident.group(2)) == int(broker["id"])
        internal = broker["port"] + INTERNAL_OFFSET
        assert re.search(rf"^advertised\.listeners=INTERNAL://{name}:{internal},"
                         rf"EXTERNAL://[\w.-]+:{broker['port']}$", text, re.M)
        log_dir = re.search(r"^log\.dirs=(.+)$", text, re.M).group(1)
        assert host.file(f"{log_dir}/meta.properties").exists
        assert host.file(log_dir).user == "kafka"
        log_dirs.add(log_dir)
    assert len(log_dirs) == len(brokers)


def test_jps_shows_kafka(host):
    if not local_brokers(host):
        pytest.skip("no broker on this host")
    assert len(re.findall(r"^\d+ Kafka$", host.check_output("jps"), re.M)) == len(
        local_brokers(host))


def test_commands_on_path(host):
    for command in COMMANDS:
        assert host.exists(command), command


def test_shipped_client_settings_are_what_the_tools_read(host):
    """$KAFKA_HOME/config/{producer,consumer}.properties link to the role's files, and
    the console tools given them write and read back (3.6's console tools still ask for
    --bootstrap-server; acks and batching come from the file)."""
    if not local_brokers(host):
        pytest.skip("the kafka role ships them on Kafka hosts")
    producer_file = host.file("/opt/kafka/config/producer.properties")
    assert producer_file.is_symlink and producer_file.linked_to == "/etc/kafka/producer.properties"
    settings = dict(line.split("=", 1) for line in producer_file.content_string.splitlines()
                    if line and not line.startswith("#"))
    assert settings["acks"] == "all" and int(settings["batch.size"]) > 16384
    assert settings["bootstrap.servers"] == internal_bootstrap(brokers_all(host))
    assert host.file("/opt/kafka/config/consumer.properties").linked_to == \
        "/etc/kafka/consumer.properties"
    if host.backend.get_hostname() != client_host_name(host):
        return
    topic, marker = f"shipped-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    try:
        produce = host.run(
            "seq -f '%s-%%g' 5 | timeout 90 kafka-console-producer.sh --producer.config "
            "/opt/kafka/config/producer.properties --bootstrap-server localhost:9092 "
            "--topic %s", marker, topic)
        assert produce.rc == 0, produce.stderr[-500:]
        consume = host.run(
            "timeout 120 kafka-console-consumer.sh --consumer.config "
            "/opt/kafka/config/consumer.properties --bootstrap-server localhost:9092 "
            "--topic %s --from-beginning "
            "--max-messages 5 --timeout-ms 60000", topic)
        assert sorted(consume.stdout.split()) == [f"{marker}-{i}" for i in range(1, 6)]
    finally:
        host.run("timeout 60 kafka-topics.sh --bootstrap-server %s --delete --topic %s",
                 internal_bootstrap(brokers_all(host)), topic)


def test_all_broker_ids_registered(host):
    brokers = brokers_all(host)
    if host.backend.get_hostname() != brokers[0]["host"]:
        pytest.skip("checked once, from the first Kafka host")
    out = kafka_cli(host, "kafka-broker-api-versions.sh", "--bootstrap-server",
                    internal_bootstrap(brokers))
    assert out.rc == 0, out.stderr
    ids = {int(i) for i in re.findall(r"\(id: (\d+) rack", out.stdout)}
    missing = [f"kafka@{b['id']} on {b['host']}" for b in brokers if b["id"] not in ids]
    assert not missing, f"brokers not registered in the cluster: {', '.join(missing)}"


def test_localhost_bootstrap_reaches_every_broker(host):
    """The handout's `--bootstrap-server localhost:9092` from this host: every broker,
    including those advertised as localhost:<port> on other hosts (forwarders)."""
    brokers = brokers_all(host)
    variables = host.ansible.get_variables()
    here = host.backend.get_hostname()
    if not variables.get("kafka_forward_external_ports") and not any(
            b["host"] == here for b in brokers):
        pytest.skip("no local broker and no forwarders on this host")
    listening = host.check_output("ss -Htln")
    for broker in brokers:
        assert re.search(rf"[:\]]{broker['port']}\s", listening), (
            f"localhost:{broker['port']} (broker {broker['id']}) is not reachable here")
    first = brokers[0]["port"]
    out = kafka_cli(host, "kafka-broker-api-versions.sh", "--bootstrap-server",
                    f"localhost:{first}")
    assert out.rc == 0, out.stderr
    ids = sorted({int(i) for i in re.findall(r"\(id: (\d+) rack", out.stdout)})
    assert ids == sorted(b["id"] for b in brokers)


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


# --- the controller, through the published port --------------------------------------

def _cluster_id(host, brokers) -> str:
    first = other_host(host, brokers[0]["host"])
    meta = first.file(f"/var/lib/kafka/broker-{brokers[0]['id']}/meta.properties")
    return re.search(r"^cluster\.id=(\S+)$", meta.content_string, re.M).group(1)


def test_round_trip_from_controller_through_localhost_9092(host):
    """kafka-python on the controller, `localhost:9092` as in the handout. Runs only
    when that port is this cluster's published broker; a skip is not a pass."""
    brokers = brokers_all(host)
    if host.backend.get_hostname() != brokers[0]["host"]:
        pytest.skip("checked once, for the first Kafka host")
    try:
        socket.create_connection(("127.0.0.1", brokers[0]["port"]), timeout=3).close()
    except OSError:
        pytest.skip(f"NOT RUN: 127.0.0.1:{brokers[0]['port']} is not published by this lab")
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

    bootstrap = f"localhost:{brokers[0]['port']}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        published_id = admin.describe_cluster().get("cluster_id")
    finally:
        admin.close()
    if published_id != _cluster_id(host, brokers):
        pytest.skip(f"NOT RUN: {bootstrap} belongs to another cluster ({published_id})")
    topic = "streamstack-controller-roundtrip"
    marker = uuid.uuid4().hex.encode()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                             request_timeout_ms=20000, max_block_ms=30000)
    try:
        meta = producer.send(topic, marker).get(timeout=60)
    finally:
        producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=20000,
                             enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, meta.partition)
        consumer.assign([partition])
        consumer.seek(partition, meta.offset)
        values = [record.value for record in consumer]
    finally:
        consumer.close()
    assert marker in values


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
