"""End to end, on a deployed lab: the word count's exact counts, the sink's exactly-once
copy to HDFS (read back by a Spark batch query) and its recovery from a SIGKILL.

    pytest tests/e2e/test_pipelines.py --hosts=ansible://spark_client \
        --ansible-inventory=inventories/local

Everything runs on the first spark_client host (hadoop-master in the lab) through the
testinfra host, so the same test serves containers and VMs: records are produced and
results consumed there with kafka-python, the count is a spark-submit batch job there.
Every wait is bounded; each test uses a fresh run id so earlier data never matters.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import uuid

import pytest

from streamstack import jobs as jobs_cli

INTERNAL_OFFSET = 10000
WORDCOUNT_INPUT = "Hello-Kafka"
WORDCOUNT_RESULTS = "wordcount-results"
SINK_TOPIC = "events"
SINK_UNIT = "spark-job-kafka-to-hdfs"
DATA_ROOT = "/data"
CHECKPOINT = "/checkpoints/kafka-to-hdfs"
WORK = "/tmp/streamstack-e2e"
# kafka-python settings of the scripts ({} in the plaintext profile) and what a login
# shell sources first (a Kerberos ticket in the secure profile).
CLIENT = f"{WORK}/kafka-client.json"
ENV = f"{WORK}/env.sh"

# --- scripts run on the host ---------------------------------------------------------

PRODUCE = r'''
import json, sys, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
bootstrap, topic, prefix, count, rate, invalid = sys.argv[1:7]
count, rate, invalid = int(count), float(rate), int(invalid)
client = json.load(open(sys.argv[7])) if len(sys.argv) > 7 else {}
# Idempotent: a retried send under load must not write a record twice, or the counts
# would test the producer instead of the sink.
producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=5,
                         enable_idempotence=True, **client)
start = time.monotonic()
for i in range(count):
    value = f"{prefix}-{i}".encode()
    producer.send(topic, key=value, value=value)
    if rate > 0:
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
for j in range(invalid):
    producer.send(topic, key=f"{prefix}-null-{j}".encode(), value=None)
    producer.send(topic, key=f"{prefix}-bad-{j}".encode(), value=b"\xff\xfe" + prefix.encode())
producer.flush()
producer.close()
consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), **client)
parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
ends = consumer.end_offsets(parts)
print(json.dumps({str(tp.partition): off for tp, off in ends.items()}))
'''

TEXT_PRODUCE = r'''
import json, sys
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
bootstrap, topic, results = sys.argv[1:4]
client = json.load(open(sys.argv[4])) if len(sys.argv) > 4 else {}
lines = json.loads(sys.stdin.read())
consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), **client)
parts = [TopicPartition(results, p) for p in consumer.partitions_for_topic(results)]
start = consumer.end_offsets(parts)
producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", **client)
for line in lines:
    producer.send(topic, value=line.encode())
producer.flush()
print(json.dumps({str(tp.partition): off for tp, off in start.items()}))
'''

RESULTS = r'''
import json, sys, time
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, start_json, expected_json, seconds = sys.argv[1:6]
client = json.load(open(sys.argv[6])) if len(sys.argv) > 6 else {}
start, expected = json.loads(start_json), json.loads(expected_json)
consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, **client)
parts = [TopicPartition(topic, int(p)) for p in start]
consumer.assign(parts)
for tp in parts:
    consumer.seek(tp, int(start[str(tp.partition)]))
latest = {}
deadline = time.monotonic() + float(seconds)
while time.monotonic() < deadline:
    for records in consumer.poll(timeout_ms=1000).values():
        for r in records:
            key = r.key.decode()
            if key in expected:
                latest[key] = int(r.value.decode())
    if latest == expected:
        break
print(json.dumps(latest, sort_keys=True))
'''

COUNT = r'''
import json, sys
from pyspark.sql import SparkSession, functions as F
data, deadletter, prefix = sys.argv[1:4]
spark = SparkSession.builder.appName("streamstack-e2e-count").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
# The topic's root directory: Spark reads it through the file sink's _spark_metadata
# log, i.e. only files of committed micro-batches.
rows = spark.read.parquet(data).where(F.col("value").startswith(prefix + "-"))
out = rows.agg(F.count(F.lit(1)).alias("rows"),
               F.countDistinct("partition", "offset").alias("distinct_offsets"),
               F.countDistinct("value").alias("distinct_values")).first().asDict()
out["columns"] = sorted(rows.columns)
try:
    dead = spark.read.parquet(deadletter)
    dead = dead.where(F.col("key").cast("string").startswith(prefix + "-"))
    out["deadletter"] = dead.count()
    out["reasons"] = {r["reason"]: r["count"] for r in dead.groupBy("reason").count().collect()}
except Exception as exc:  # no dead-letter data yet
    out["deadletter"] = 0
    out["deadletter_error"] = str(exc)[:200]
print("RESULT " + json.dumps(out, sort_keys=True))
spark.stop()
'''


# --- helpers ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def node(host):
    variables = host.ansible.get_variables()
    clients = variables.get("groups", {}).get("spark_client", [])
    if not clients or host.backend.get_hostname() != clients[0]:
        pytest.skip("the pipelines are checked from the first spark_client host")
    install_scripts(host)
    yield host
    remove_credentials(host)


def install_scripts(host) -> None:
    """The scripts, the client settings and the login set-up that login() sources (the
    reliability tests install them too)."""
    host.run(f"mkdir -p {WORK}")
    for name, body in (("produce.py", PRODUCE), ("text_produce.py", TEXT_PRODUCE),
                       ("results.py", RESULTS), ("count.py", COUNT)):
        write(host, f"{WORK}/{name}", body)
    client, env = profile(host)
    write_private(host, CLIENT, json.dumps(client))
    write_private(host, ENV, env)


def remove_credentials(host) -> None:
    """The client settings and login set-up hold a password in the secure profile."""
    host.run(f"rm -f {CLIENT} {ENV}")


def scram_settings(host, properties: str) -> dict:
    """kafka-python settings of a Kafka client properties file on the host (SCRAM over
    TLS, the secure profile's)."""
    props = host.file(properties).content_string
    return {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": re.search(r'username="([^"]+)"', props).group(1),
            "sasl_plain_password": re.search(r'password="([^"]+)"', props).group(1),
            "ssl_cafile": "/etc/kafka/tls/ca.crt"}


def kerberos(host) -> tuple[str, str] | None:
    """The realm and keytab directory in the secure profile, None in the plaintext one."""
    variables = host.ansible.get_variables()
    if variables.get("streamstack_security", "none") != "kerberos":
        return None
    return (variables.get("streamstack_kerberos_realm", "STREAMSTACK.LAB"),
            variables.get("streamstack_keytab_dir", "/etc/security/keytabs"))


def profile(host) -> tuple[dict, str]:
    """kafka-python settings and shell set-up for the inventory's security profile: in
    the secure one, SCRAM as the lab user over TLS (its password from the host's
    client.properties) and a ticket of the lab user in a cache of the test's own."""
    secure = kerberos(host)
    if secure is None:
        return {}, "SPARK_LOGIN=\n"
    realm, keytabs = secure
    client = scram_settings(host, "/etc/kafka/client.properties")
    lab_user = host.ansible.get_variables().get("kerberos_lab_user", "root")
    env = (f"export KRB5CCNAME=FILE:{WORK}/krb5cc\n"
           f"kinit -kt {keytabs}/{lab_user}.keytab {lab_user}@{realm}\n"
           f"SPARK_LOGIN='--principal spark@{realm} --keytab {keytabs}/spark.keytab'\n")
    return client, env


@pytest.fixture(scope="module")
def bootstrap(host):
    runner = host.backend.ansible_runner
    kafka_hosts = host.ansible.get_variables().get("groups", {}).get("kafka", [])
    brokers = [f"{name}:{int(b['port']) + INTERNAL_OFFSET}" for name in kafka_hosts
               for b in runner.get_variables(name).get("kafka_brokers", [])]
    assert brokers, "no kafka brokers in the inventory"
    return ",".join(brokers)


def write(host, path: str, body: str) -> None:
    marker = "STREAMSTACK_EOF"
    assert marker not in body
    done = host.run(f"cat > {path} <<'{marker}'\n{body}\n{marker}")
    assert done.rc == 0, done.stderr


def write_private(host, path: str, body: str) -> None:
    """A 0600 file: credentials never on a command line or in a log. The body goes
    through a 0600 file on the controller and the copy module: write()'s heredoc is part
    of the host's `sh -c` command line, which every local user reads in /proc."""
    with tempfile.NamedTemporaryFile("w", prefix="streamstack-e2e-", delete=False) as local:
        local.write(body + "\n")
    try:
        host.ansible("ansible.builtin.copy", f"src={local.name} dest={path} mode=0600",
                     check=False)
    finally:
        os.unlink(local.name)


def q(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def login(host, command: str, timeout: int):
    return host.run(f"timeout {timeout} bash -lc {q(f'. {ENV} && {command}')}")


def checkpoint_offsets(host, checkpoint: str) -> dict[str, int]:
    """Kafka offsets up to which the query's last committed batch has read."""
    listing = login(host, f"hdfs dfs -ls -C {checkpoint}/commits 2>/dev/null", 60).stdout
    batches = [int(p.rsplit("/", 1)[-1]) for p in listing.split()
               if p.rsplit("/", 1)[-1].isdigit()]
    if not batches:
        return {}
    text = login(host, f"hdfs dfs -cat {checkpoint}/offsets/{max(batches)}", 60).stdout
    for line in reversed(text.splitlines()):
        if line.startswith("{") and SINK_TOPIC in line:
            return {p: int(o) for p, o in json.loads(line)[SINK_TOPIC].items()}
    return {}


def wait_caught_up(host, checkpoint: str, ends: dict[str, int], seconds: int) -> dict:
    deadline = time.monotonic() + seconds
    seen: dict = {}
    while time.monotonic() < deadline:
        seen = checkpoint_offsets(host, checkpoint)
        if seen and all(seen.get(p, -1) >= o for p, o in ends.items()):
            return seen
        time.sleep(5)
    pytest.fail(f"{checkpoint}: committed {seen}, produced up to {ends} ({seconds}s)")


def produce(host, bootstrap, prefix, count, rate=0.0, invalid=0, timeout=300) -> dict:
    done = host.run(f"timeout {timeout} python3 {WORK}/produce.py {bootstrap} {SINK_TOPIC} "
                    f"{prefix} {count} {rate} {invalid} {CLIENT}")
    assert done.rc == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def background_produce_result(host, run: str, seconds: int) -> dict:
    """The end offsets printed by a produce.py started in the background for `run`."""
    deadline = time.monotonic() + seconds
    out = ""
    while time.monotonic() < deadline:
        out = host.run(f"cat {WORK}/produce-{run}.out").stdout.strip()
        if out.startswith("{") or "Error" in out:
            break
        time.sleep(5)
    assert out.startswith("{"), f"the producer of {run} did not finish: {out[-500:]}"
    return json.loads(out.splitlines()[-1])


def spark_count(host, prefix: str) -> dict:
    done = login(host, "runuser -u spark -- env -u KRB5CCNAME spark-submit $SPARK_LOGIN "
                       "--name streamstack-e2e-count "
                       f"{WORK}/count.py {DATA_ROOT}/{SINK_TOPIC} "
                       f"{DATA_ROOT}/_deadletter/{SINK_TOPIC} {prefix}", 600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.rc == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def unit_state(host, unit: str) -> dict:
    out = host.run(f"systemctl show {unit} -p MainPID -p NRestarts -p ActiveState").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def kill_and_wait_restart(host, unit: str, seconds: int = 240) -> float:
    """SIGKILL the unit's main process; seconds until systemd runs a new one."""
    before = unit_state(host, unit)
    assert before["ActiveState"] == "active", before
    killed = host.run(f"kill -9 {before['MainPID']}")
    assert killed.rc == 0, killed.stderr
    started = time.monotonic()
    after = before
    while time.monotonic() - started < seconds:
        after = unit_state(host, unit)
        if (int(after["NRestarts"]) > int(before["NRestarts"])
                and after["MainPID"] not in ("0", before["MainPID"])
                and after["ActiveState"] == "active"):
            return round(time.monotonic() - started, 1)
        time.sleep(2)
    pytest.fail(f"{unit} was not restarted within {seconds}s: {after}")


def wait_committed_beyond(host, checkpoint: str, offsets: dict, seconds: int) -> dict:
    """The query's committed offsets once they passed `offsets` (fails after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = checkpoint_offsets(host, checkpoint)
        if sum(now.values()) > sum(offsets.values()):
            return now
        time.sleep(3)
    pytest.fail(f"{checkpoint}: nothing new committed in {seconds}s")


def partitions_in_sync(host, bootstrap: str) -> bool:
    """True when no partition is under-replicated."""
    done = login(host, f"kafka-topics.sh --bootstrap-server {bootstrap} --describe "
                       "--under-replicated-partitions", 60)
    return done.rc == 0 and not done.stdout.strip()


def count_words(lines):
    counts: dict[str, int] = {}
    for line in lines:
        for word in line.split():
            counts[word] = counts.get(word, 0) + 1
    return counts


# --- tests --------------------------------------------------------------------------

def test_wordcount_exact_counts(node, bootstrap):
    run = uuid.uuid4().hex[:8]
    words = [f"w{run}{name}" for name in ("kafka", "spark", "hdfs", "yarn")]
    lines = [
        f"{words[0]} {words[1]} {words[0]}",
        f"  {words[2]}\t{words[0]}  ",
        f"{words[1]}",
        f"{words[3]} {words[3]} {words[3]} {words[0]}",
    ]
    expected = count_words(lines)
    assert expected == {words[0]: 4, words[1]: 2, words[2]: 1, words[3]: 3}
    write(node, f"{WORK}/lines-{run}.json", json.dumps(lines))
    done = node.run(f"timeout 120 python3 {WORK}/text_produce.py {bootstrap} "
                    f"{WORDCOUNT_INPUT} {WORDCOUNT_RESULTS} {CLIENT} < {WORK}/lines-{run}.json")
    assert done.rc == 0, done.stderr
    start = done.stdout.strip().splitlines()[-1]
    done = node.run(f"timeout 400 python3 {WORK}/results.py {bootstrap} {WORDCOUNT_RESULTS} "
                    f"{q(start)} {q(json.dumps(expected))} 360 {CLIENT}")
    assert done.rc == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == expected


def test_sink_exactly_n_records_and_deadletter(node, bootstrap):
    run = f"r{uuid.uuid4().hex[:8]}"
    n, invalid = 2000, 3
    ends = produce(node, bootstrap, run, n, invalid=invalid)
    wait_caught_up(node, f"{CHECKPOINT}/{SINK_TOPIC}", ends, 600)
    # One query commits both sinks' batch; a lab still on the earlier two-query layout
    # has a dead-letter query of its own.
    legacy = f"{CHECKPOINT}/_deadletter/{SINK_TOPIC}"
    if login(node, f"hdfs dfs -test -d {legacy}", 60).rc == 0:
        wait_caught_up(node, legacy, ends, 300)
    result = spark_count(node, run)
    assert (result["rows"], result["distinct_offsets"], result["distinct_values"]) == (n, n, n)
    assert {"key", "value", "topic", "partition", "offset", "timestamp", "date"} <= set(
        result["columns"])
    assert result["deadletter"] == 2 * invalid, result
    assert result["reasons"] == {"null_value": invalid, "value_not_utf8": invalid}


def test_sink_survives_sigkill_exactly_once(node, bootstrap):
    run = f"k{uuid.uuid4().hex[:8]}"
    n = 6000
    # Produce for ~40 s in the background; kill the driver once part of it is committed.
    node.run(f"nohup timeout 300 python3 {WORK}/produce.py {bootstrap} {SINK_TOPIC} {run} {n} "
             f"150 0 {CLIENT} > {WORK}/produce-{run}.out 2>&1 &")
    start = checkpoint_offsets(node, f"{CHECKPOINT}/{SINK_TOPIC}")
    wait_committed_beyond(node, f"{CHECKPOINT}/{SINK_TOPIC}", start, 240)
    # systemd restarts it (RestartSec later) with a new driver.
    kill_and_wait_restart(node, SINK_UNIT, 180)
    # Wait for the producer, then for the restarted sink to catch up.
    ends = background_produce_result(node, run, 300)
    wait_caught_up(node, f"{CHECKPOINT}/{SINK_TOPIC}", ends, 900)
    result = spark_count(node, run)
    assert (result["rows"], result["distinct_offsets"], result["distinct_values"]) == (n, n, n)


def test_handout_wordcount_console(node, bootstrap):
    """`spark-submit wordcount.py localhost:9092 Hello-Kafka mySparkConsumerGroup >> out`
    as root on the master, as in the handout (executors on the workers reach
    localhost:9092 through the Kafka role's forwarders)."""
    if node.ansible.get_variables().get("streamstack_security", "none") == "kerberos":
        pytest.skip("the handout's plaintext command line: the secure profile's console "
                    "commands are probed by tests/secure")
    # The handout creates its topic before the word count (which waits for it to exist).
    created = login(node, f"kafka-topics.sh --bootstrap-server localhost:9092 --create "
                          f"--if-not-exists --topic {WORDCOUNT_INPUT}", 90)
    assert created.rc == 0, created.stderr[-500:]
    run = uuid.uuid4().hex[:8]
    out = f"{WORK}/out-{run}"
    app = "/opt/streamstack-jobs/wordcount/wordcount.py"
    handout = f"spark-submit {app} localhost:9092 {WORDCOUNT_INPUT} mySparkConsumerGroup >> {out}"
    started = node.run(f"cd {WORK} && (nohup timeout 420 bash -lc {q(handout)} "
                       f"> {out}.err 2>&1 & echo $!)")
    pid = started.stdout.strip().splitlines()[-1]
    assert pid.isdigit(), started.stderr
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and "Batch: 0" not in node.run(f"cat {out}").stdout:
        time.sleep(5)
    assert "Batch: 0" in node.run(f"cat {out}").stdout, node.run(f"tail -20 {out}.err").stdout
    word = f"h{run}"
    lines = [f"{word} {word}", f"{word}"]
    write(node, f"{WORK}/lines-{run}.json", json.dumps(lines))
    done = node.run(f"timeout 120 python3 {WORK}/text_produce.py localhost:9092 "
                    f"{WORDCOUNT_INPUT} {WORDCOUNT_RESULTS} < {WORK}/lines-{run}.json")
    assert done.rc == 0, done.stderr
    deadline = time.monotonic() + 120
    text = ""
    while time.monotonic() < deadline:
        text = node.run(f"cat {out}").stdout
        if f"|{word}|" in text.replace(" ", ""):
            break
        time.sleep(5)
    # `timeout` passes the TERM on to spark-submit, which stops its YARN application.
    node.run(f"kill {pid}")
    rows = [line.replace(" ", "") for line in text.splitlines() if word in line]
    assert rows and rows[-1] == f"|{word}|3|", text[-2000:]


def running_app(host, name: str) -> str | None:
    """The id of the RUNNING YARN application called `name`, or None."""
    out = login(host, "yarn application -list -appStates RUNNING 2>/dev/null", 90).stdout
    return next((app["id"] for app in jobs_cli.parse_yarn_list(out) if app["name"] == name),
                None)


def as_spark(host, command: str, timeout: int):
    """A command as the jobs' user, who owns their YARN applications (with a ticket of
    its own in the secure profile)."""
    secure = kerberos(host)
    if secure is not None:
        realm, keytabs = secure
        command = (f'export KRB5CCNAME="FILE:$(mktemp)"; '
                   f"kinit -kt {keytabs}/spark.keytab spark@{realm} && {command}; "
                   'rc=$?; rm -f "${KRB5CCNAME#FILE:}"; exit $rc')
    return host.run(f"timeout {timeout} runuser -u spark -- bash -lc {q(command)}")


def test_jobs_start_again_when_their_yarn_application_ends(node):
    """A job's YARN application ended under it (killed here; an ApplicationMaster that
    failed twice does the same): its driver exits and the unit starts a new one."""
    jobs = ("wordcount", "kafka-to-hdfs")
    killed: dict[str, str | None] = {}
    deadline = time.monotonic() + 300  # a job restarted by an earlier test may be starting
    while time.monotonic() < deadline and not all(killed.get(job) for job in jobs):
        killed = {job: running_app(node, job) for job in jobs}
        time.sleep(0 if all(killed.values()) else 10)
    assert all(killed.values()), killed
    restarts = {job: int(unit_state(node, f"spark-job-{job}")["NRestarts"]) for job in jobs}
    for app in killed.values():
        done = as_spark(node, f"yarn application -kill {app}", 120)
        assert done.rc == 0, done.stdout[-1000:] + done.stderr[-2000:]
    now: dict[str, str | None] = {}
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        now = {job: running_app(node, job) for job in jobs}
        if all(now[job] and now[job] != killed[job] for job in jobs):
            break
        time.sleep(10)
    assert all(now[job] and now[job] != killed[job] for job in jobs), (killed, now)
    for job in jobs:
        state = unit_state(node, f"spark-job-{job}")
        assert state["ActiveState"] == "active" and int(state["NRestarts"]) > restarts[job], \
            (job, state)
