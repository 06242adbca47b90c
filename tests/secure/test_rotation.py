"""playbooks/rotate_secrets.yml under acks=all load, on a secure lab: every acknowledged
record is still in the topic afterwards, each broker serves a new certificate, the lab
user's old password is refused and its new one accepted, and both jobs run again (new
YARN applications, started after the rotation began). The figures (never a secret) go
to bench/results/rotation-<UTC stamp>.json (STREAMSTACK_ROTATION_REPORT overrides it).

    pytest tests/secure/test_rotation.py --hosts=ansible://spark_client \
        --ansible-inventory=<secure lab inventory>

The load runs on the first spark_client host as the brokers' admin user (a password this
playbook does not rotate), so what it measures is the roll itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORK = "/var/tmp/streamstack-rotation"
TOPIC = "streamstack-rotation"
JOBS = ("wordcount", "kafka-to-hdfs")
INTERNAL_OFFSET = 10000

# kafka-python settings from a Kafka client properties file (SCRAM over TLS).
SETTINGS = r'''
import re
def settings(path):
    text = open(path).read()
    return {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": re.search(r'username="([^"]+)"', text).group(1),
            "sasl_plain_password": re.search(r'password="([^"]+)"', text).group(1),
            "ssl_cafile": "/etc/kafka/tls/ca.crt"}
'''

# acks=all at a steady rate until a stop file appears: the acknowledged ids.
LOAD = SETTINGS + r'''
import json, os, sys, time
from kafka import KafkaProducer
bootstrap, topic, prefix, rate, stop, out, props = sys.argv[1:8]
rate = float(rate)
producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", retries=100,
                         retry_backoff_ms=500, request_timeout_ms=15000,
                         delivery_timeout_ms=120000, max_in_flight_requests_per_connection=1,
                         linger_ms=5, **settings(props))
acked, ack_times, errors = [], [], {}
def ok(i):
    def done(_):
        acked.append(i); ack_times.append(time.monotonic())
    return done
def failed(exc):
    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
start, i = time.monotonic(), 0
while time.monotonic() - start < 3600 and not os.path.exists(stop):
    value = f"{prefix}-{i}".encode()
    try:
        producer.send(topic, value=value).add_callback(ok(i)).add_errback(failed)
    except Exception as exc:
        failed(exc)
    i += 1
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
producer.flush(timeout=180)
producer.close(timeout=30)
times = sorted(ack_times)
gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
json.dump(sorted(acked), open(out + ".acked", "w"))
json.dump({"sent": i, "acked": len(acked), "errors": sum(errors.values()),
           "error_types": errors, "max_ack_gap_s": round(gap, 2),
           "seconds": round(time.monotonic() - start, 1)}, open(out, "w"))
'''

# The whole topic against the acknowledged ids.
VERIFY = SETTINGS + r'''
import json, sys, time
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, prefix, acked_file, props = sys.argv[1:6]
acked = set(json.load(open(acked_file)))
consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False,
                         **settings(props))
parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
consumer.assign(parts)
consumer.seek_to_beginning(*parts)
ends = consumer.end_offsets(parts)
positions = consumer.beginning_offsets(parts)
seen, consumed, deadline = set(), 0, time.monotonic() + 600
while any(positions[tp] < ends[tp] for tp in parts):
    if time.monotonic() > deadline:
        sys.exit(f"not at the end after 600 s: {positions} of {ends}")
    for tp, records in consumer.poll(timeout_ms=2000).items():
        for r in records:
            positions[tp] = r.offset + 1
            if r.value.startswith((prefix + "-").encode()):
                consumed += 1
                seen.add(int(r.value.decode().rsplit("-", 1)[1]))
print(json.dumps({"consumed": consumed, "distinct": len(seen),
                  "duplicated": consumed - len(seen), "lost": len(acked - seen)}))
'''

# Lists the topics with a password: "ok" or the error's type.
LOGIN = SETTINGS + r'''
import sys
from kafka import KafkaAdminClient
bootstrap, props, password_file = sys.argv[1:4]
config = settings(props)
config["sasl_plain_password"] = open(password_file).read().strip()
try:
    client = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=15000,
                              api_version_auto_timeout_ms=15000, **config)
    client.list_topics()
    print("ok")
except Exception as exc:
    print(type(exc).__name__)
'''


def write(host, path: str, body: str, mode: str = "0600") -> None:
    done = host.run(f"install -m {mode} /dev/null {path} && cat > {path} <<'STREAMSTACK_EOF'\n"
                    f"{body}\nSTREAMSTACK_EOF")
    assert done.rc == 0, done.stderr


def secret(host, path: str) -> str:
    return re.search(r'password="([^"]+)"', host.file(path).content_string).group(1)


def served_certificates(host, names: list[str], runner) -> dict[str, str]:
    """Each broker's certificate as served on its internal listener (PEM, normalized)."""
    out = {}
    for name in names:
        for broker in runner.get_variables(name).get("kafka_brokers", []):
            port = int(broker["port"]) + INTERNAL_OFFSET
            pem = host.check_output(
                f"python3 -c \"import ssl; print(ssl.get_server_certificate(('{name}', {port})))\"")
            out[f"{name}:{port}"] = "".join(pem.split())
    return out


def job_state(host, ccache: str) -> dict[str, dict]:
    apps = host.run(f"KRB5CCNAME=FILE:{ccache} HADOOP_CONF_DIR=/etc/hadoop "
                    "/opt/hadoop/bin/yarn application -list -appStates RUNNING").stdout
    state = {}
    for job in JOBS:
        unit = host.run(f"systemctl show spark-job-{job} -p ActiveState "
                        "-p ActiveEnterTimestampMonotonic").stdout
        fields = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line)
        app = next((line.split()[0] for line in apps.splitlines()
                    if line.startswith("application_") and job in line), None)
        state[job] = {"unit": fields.get("ActiveState"), "yarn_app": app,
                      "since_monotonic_us": int(fields.get("ActiveEnterTimestampMonotonic", 0))}
    return state


def report(values: dict) -> Path:
    path = Path(os.environ.get(
        "STREAMSTACK_ROTATION_REPORT",
        ROOT / "bench" / "results" / f"rotation-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    return path


def test_rotation_under_load_loses_nothing(host, request):
    variables = host.ansible.get_variables()
    clients = variables["groups"]["spark_client"]
    if host.backend.get_hostname() != clients[0]:
        pytest.skip("the load runs on the first spark_client host: checked once, there")
    assert variables.get("streamstack_security", "none") == "kerberos"
    inventory = request.config.option.ansible_inventory
    runner = host.backend.ansible_runner
    kafka_hosts = variables["groups"]["kafka"]
    bootstrap = ",".join(f"{n}:{int(b['port']) + INTERNAL_OFFSET}" for n in kafka_hosts
                         for b in runner.get_variables(n).get("kafka_brokers", []))
    realm = variables.get("streamstack_kerberos_realm", "STREAMSTACK.LAB")
    host.run_expect([0], f"mkdir -p -m 0700 {WORK}")
    ccache = f"{WORK}/krb5cc"
    host.run_expect([0], f"KRB5CCNAME=FILE:{ccache} kinit -kt /etc/security/keytabs/root.keytab "
                         f"root@{realm}")
    for name, body in (("load.py", LOAD), ("verify.py", VERIFY), ("login.py", LOGIN)):
        write(host, f"{WORK}/{name}", body)
    admin = "/etc/kafka/admin.properties"
    host.run_expect([0], f"/opt/kafka/bin/kafka-topics.sh --bootstrap-server {bootstrap} "
                         f"--command-config {admin} --create --if-not-exists --topic {TOPIC} "
                         "--partitions 6 --replication-factor 3 --config min.insync.replicas=2")

    before = {"student": secret(host, "/etc/kafka/client.properties"),
              "jobs": secret(host, "/opt/streamstack-jobs/kafka-client.properties"),
              "certs": served_certificates(host, kafka_hosts, runner),
              "jobs_state": job_state(host, ccache)}
    assert all(s["unit"] == "active" and s["yarn_app"] for s in before["jobs_state"].values()), \
        before["jobs_state"]

    run = f"rot{uuid.uuid4().hex[:8]}"
    out, stop = f"{WORK}/{run}.json", f"{WORK}/{run}.stop"
    host.run_expect([0], f"nohup python3 {WORK}/load.py {bootstrap} {TOPIC} {run} 50 {stop} {out} "
                         f"{admin} > {WORK}/{run}.log 2>&1 &")
    time.sleep(20)  # load flowing before the roll starts
    started = time.monotonic()
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    playbook = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory,
         str(ROOT / "playbooks" / "rotate_secrets.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400, check=False)
    rotation_s = round(time.monotonic() - started, 1)
    time.sleep(30)  # load on the rotated cluster, then stop it
    host.run(f"touch {stop}")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not host.file(out).exists:
        time.sleep(5)
    load = json.loads(host.file(out).content_string)
    checked = host.run(f"timeout 700 python3 {WORK}/verify.py {bootstrap} {TOPIC} {run} "
                       f"{out}.acked {admin}")
    assert checked.rc == 0, checked.stderr[-2000:]
    verified = json.loads(checked.stdout.strip().splitlines()[-1])

    after = {"student": secret(host, "/etc/kafka/client.properties"),
             "jobs": secret(host, "/opt/streamstack-jobs/kafka-client.properties"),
             "certs": served_certificates(host, kafka_hosts, runner)}
    # The jobs come back on their own schedule: RUNNING in YARN within 5 minutes.
    deadline = time.monotonic() + 300
    jobs_after = job_state(host, ccache)
    while time.monotonic() < deadline and not all(
            s["unit"] == "active" and s["yarn_app"] for s in jobs_after.values()):
        time.sleep(10)
        jobs_after = job_state(host, ccache)
    client = "/etc/kafka/client.properties"
    logins = {}
    for when, values in (("old", before), ("new", after)):
        # Through a 0600 file: never on a command line or in a log.
        write(host, f"{WORK}/password", values["student"])
        logins[when] = host.check_output(
            f"python3 {WORK}/login.py {bootstrap} {client} {WORK}/password").strip()
    host.run(f"rm -f {WORK}/password")
    secrets = Path(os.environ.get("STREAMSTACK_SECRETS_DIR") or (
        Path.home() / ".streamstack" / "secrets"
        / variables.get("streamstack_lab_name", Path(inventory).name)))
    previous_left = secrets / "previous"
    figures = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "inventory": Path(inventory).name,
        "playbook_rc": playbook.returncode,
        "rotation_seconds": rotation_s,
        "load": {**load, **verified, "rate_per_s": 50, "acks": "all"},
        "certificates_changed": sum(after["certs"][k] != before["certs"][k]
                                    for k in before["certs"]),
        "brokers": len(before["certs"]),
        "lab_user_password_changed": after["student"] != before["student"],
        "jobs_password_changed": after["jobs"] != before["jobs"],
        "old_lab_user_password": logins["old"],
        "new_lab_user_password": logins["new"],
        "jobs": {job: {"unit": now["unit"], "yarn_app_running": bool(now["yarn_app"]),
                       "new_yarn_app": now["yarn_app"] != before["jobs_state"][job]["yarn_app"]}
                 for job, now in jobs_after.items()},
        "previous_secrets_left": previous_left.exists(),
    }
    path = report(figures)
    print(f"rotation figures: {path}\n{json.dumps(figures, indent=2)}")
    host.run(f"rm -f {WORK}/{run}.json.acked")

    assert playbook.returncode == 0, (playbook.stdout[-4000:], playbook.stderr[-2000:])
    assert load["acked"] > 0 and verified["lost"] == 0, figures
    assert figures["certificates_changed"] == figures["brokers"], figures
    assert figures["lab_user_password_changed"] and figures["jobs_password_changed"]
    assert figures["old_lab_user_password"] != "ok" and figures["new_lab_user_password"] == "ok"
    for job, state in figures["jobs"].items():
        assert state["unit"] == "active" and state["yarn_app_running"], (job, figures["jobs"])
        assert state["new_yarn_app"], (job, "not restarted with its new password")
    assert not figures["previous_secrets_left"]
