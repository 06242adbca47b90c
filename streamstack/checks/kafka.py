"""The checks of Kafka: the brokers' units, configuration and registration, the
localhost bootstrap, the handout's commands on PATH, and the controller's round trip
through the published port."""

from __future__ import annotations

import re
import uuid

from .base import (
    HADOOP_COMMANDS,
    KAFKA_COMMANDS,
    SPARK_COMMANDS,
    Lab,
    Result,
    _jps_classes,
    _listens,
    _probe_error,
    _result,
    _unit_problems,
    check,
)

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
        settings = lab.kafka_client_settings()
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                                 **settings)
        try:
            cluster_id = admin.describe_cluster().get("cluster_id")
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - which cluster answered is unknown then
        return f"{bootstrap} did not say which cluster it serves: {exc}", None
    topic, marker = "streamstack-controller-roundtrip", uuid.uuid4().hex.encode()
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                 request_timeout_ms=20000, max_block_ms=30000, **settings)
        try:
            sent = producer.send(topic, marker).get(timeout=60)
        finally:
            producer.close()
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=20000,
                                 enable_auto_commit=False, **settings)
        try:
            partition = TopicPartition(topic, sent.partition)
            consumer.assign([partition])
            consumer.seek(partition, sent.offset)
            values = []
            for record in consumer:
                values.append(record.value)
                # Ours is the first record from that offset: iterating on until
                # consumer_timeout_ms would add its 20 s to every verify.
                if record.offset >= sent.offset:
                    break
        finally:
            consumer.close()
    except Exception as exc:  # noqa: BLE001 - the cluster answered, then failed: a finding
        return _result("kafka.controller", "controller", "kafka", what,
                       [f"{type(exc).__name__}: {exc}"]), cluster_id
    return _result("kafka.controller", "controller", "kafka", what,
                   [] if marker in values else [f"{marker!r} not read back"]), cluster_id
