"""playbooks/rotate_secrets.yml under acks=all load, on a secure lab: every acknowledged
record is still in the topic afterwards, each broker and each HDFS web server serves a
new certificate, the lab user's old password is refused and its new one accepted, both
jobs run again (new YARN applications, started after the rotation began), and no
secret, old or new, was on any host's command lines (sampled every 50 ms on every host
from the test's start to its end, cmdline_samples.py). The figures (never a secret) go
to bench/results/rotation-<UTC stamp>.json (STREAMSTACK_ROTATION_REPORT overrides it).

    pytest tests/secure/test_rotation.py --hosts=ansible://spark_client \
        --ansible-inventory=<secure lab inventory>

The load runs on the first spark_client host as the brokers' admin user (a password this
playbook does not rotate), so what it measures is the roll itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import testinfra

from streamstack.checks.base import secrets_dir

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdline_samples  # noqa: E402
from reliability_lib import WORK, Load, e2e, install_scripts  # noqa: E402

TOPIC = "streamstack-rotation"
LAB_CLIENT = "/etc/kafka/client.properties"
JOBS_CLIENT = "/opt/streamstack-jobs/kafka-client.properties"
JOBS = ("wordcount", "kafka-to-hdfs")
NAMENODE_HTTP_PORT = 9870
DATANODE_HTTP_PORT = 9864
# Hadoop's web servers look at their keystore every 10 s (ssl.server.stores.reload.interval).
HDFS_RELOAD_WAIT_S = 60
# A job's unit restarting it, or YARN starting its application, under load.
JOBS_WAIT_S = 300

# Lists the topics with the settings of a JSON file: "ok" or the error's type.
LOGIN = r'''
import json, sys
from kafka import KafkaAdminClient
bootstrap, client_file = sys.argv[1:3]
config = json.load(open(client_file))
try:
    client = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=15000,
                              api_version_auto_timeout_ms=15000, **config)
    client.list_topics()
    print("ok")
except Exception as exc:
    print(type(exc).__name__)
'''


def broker_endpoints(names: list[str], runner) -> list[str]:
    """Each broker's internal listener (TLS)."""
    return [f"{name}:{int(broker['port']) + e2e.INTERNAL_OFFSET}" for name in names
            for broker in runner.get_variables(name).get("kafka_brokers", [])]


def hdfs_web_endpoints(variables: dict) -> list[str]:
    """The NameNode's and every DataNode's web server (HTTPS only in the profile)."""
    namenode_port = int(variables.get("streamstack_namenode_http_port", NAMENODE_HTTP_PORT))
    groups = variables["groups"]
    return ([f"{name}:{namenode_port}" for name in groups["hdfs_namenode"]]
            + [f"{name}:{DATANODE_HTTP_PORT}" for name in groups["hdfs_datanode"]])


def served_certificates(host, endpoints: list[str]) -> dict[str, str]:
    """The certificate each endpoint serves (PEM, whitespace removed)."""
    out = {}
    for endpoint in endpoints:
        name, port = endpoint.rsplit(":", 1)
        pem = host.check_output(
            f"python3 -c \"import ssl; print(ssl.get_server_certificate(('{name}', {port})))\"")
        out[endpoint] = "".join(pem.split())
    return out


def changed_count(before: dict[str, str], after: dict[str, str]) -> int:
    return sum(after[endpoint] != before[endpoint] for endpoint in before)


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


def jobs_running(host, ccache: str, seconds: float) -> dict[str, dict]:
    """job_state once every job's unit is active with a RUNNING YARN application, or as
    it is after `seconds` (a job restarting under load is between applications)."""
    deadline = time.monotonic() + seconds
    state = job_state(host, ccache)
    while time.monotonic() < deadline and not all(
            s["unit"] == "active" and s["yarn_app"] for s in state.values()):
        time.sleep(10)
        state = job_state(host, ccache)
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
    brokers = broker_endpoints(variables["groups"]["kafka"], runner)
    bootstrap = ",".join(brokers)
    hdfs_web = hdfs_web_endpoints(variables)
    realm = variables.get("streamstack_kerberos_realm", "STREAMSTACK.LAB")
    # Every secret before the rotation (the previous ones are deleted at its end) and
    # every host's command lines from here to the end.
    secrets = secrets_dir(variables, inventory)
    secrets_before = cmdline_samples.known_secrets(secrets)
    sampled = {name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)
               for name in variables["groups"]["all"]}
    for node in sampled.values():
        cmdline_samples.start(node, "rotation")
    host.run_expect([0], f"mkdir -p -m 0700 {WORK}")
    install_scripts(host)
    e2e.write(host, f"{WORK}/login.py", LOGIN)
    ccache = f"{WORK}/krb5cc"
    host.run_expect([0], f"KRB5CCNAME=FILE:{ccache} kinit -kt /etc/security/keytabs/root.keytab "
                         f"root@{realm}")
    admin = "/etc/kafka/admin.properties"
    admin_client = f"{WORK}/admin-client.json"
    e2e.write_private(host, admin_client, json.dumps(e2e.scram_settings(host, admin)))
    host.run_expect([0], f"/opt/kafka/bin/kafka-topics.sh --bootstrap-server {bootstrap} "
                         f"--command-config {admin} --create --if-not-exists --topic {TOPIC} "
                         "--partitions 6 --replication-factor 3 --config min.insync.replicas=2")

    before = {"student": e2e.scram_settings(host, LAB_CLIENT),
              "jobs": e2e.scram_settings(host, JOBS_CLIENT)["sasl_plain_password"],
              "certs": served_certificates(host, brokers),
              "hdfs_certs": served_certificates(host, hdfs_web),
              "jobs_state": jobs_running(host, ccache, JOBS_WAIT_S)}
    assert all(s["unit"] == "active" and s["yarn_app"] for s in before["jobs_state"].values()), \
        before["jobs_state"]

    load = Load(host, bootstrap, TOPIC, f"rot{uuid.uuid4().hex[:8]}", rate=50,
                max_seconds=3600, client_file=admin_client)
    time.sleep(20)  # load flowing before the roll starts
    started = time.monotonic()
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    playbook = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory,
         str(ROOT / "playbooks" / "rotate_secrets.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400, check=False)
    rotation_s = round(time.monotonic() - started, 1)
    time.sleep(30)  # load on the rotated cluster, then stop it
    sent = load.stop()
    verified = load.verify()

    after = {"student": e2e.scram_settings(host, LAB_CLIENT),
             "jobs": e2e.scram_settings(host, JOBS_CLIENT)["sasl_plain_password"],
             "certs": served_certificates(host, brokers),
             "hdfs_certs": served_certificates(host, hdfs_web)}
    reload_deadline = time.monotonic() + HDFS_RELOAD_WAIT_S
    while (changed_count(before["hdfs_certs"], after["hdfs_certs"]) < len(hdfs_web)
           and time.monotonic() < reload_deadline):
        time.sleep(5)
        after["hdfs_certs"] = served_certificates(host, hdfs_web)
    # The jobs come back on their own schedule: RUNNING in YARN within 5 minutes.
    jobs_after = jobs_running(host, ccache, JOBS_WAIT_S)
    logins = {}
    for when, values in (("old", before), ("new", after)):
        e2e.write_private(host, f"{WORK}/lab-user-client.json", json.dumps(values["student"]))
        logins[when] = host.check_output(
            f"python3 {WORK}/login.py {bootstrap} {WORK}/lab-user-client.json").strip()
    host.run(f"rm -f {WORK}/lab-user-client.json {admin_client}")
    e2e.remove_credentials(host)
    previous_left = secrets / "previous"
    all_secrets = {**secrets_before, **cmdline_samples.known_secrets(secrets)}
    on_command_lines, command_lines = [], 0
    for name, node in sampled.items():
        cmdline_samples.stop(node, "rotation")
        lines, _stats = cmdline_samples.read(node, "rotation")
        command_lines += len(lines)
        on_command_lines += cmdline_samples.leaks(name, lines, all_secrets)
    figures = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "inventory": Path(inventory).name,
        "playbook_rc": playbook.returncode,
        "rotation_seconds": rotation_s,
        "load": {**sent, **verified, "rate_per_s": 50, "acks": "all"},
        "certificates_changed": changed_count(before["certs"], after["certs"]),
        "brokers": len(before["certs"]),
        "hdfs_web_certificates_changed": changed_count(before["hdfs_certs"], after["hdfs_certs"]),
        "hdfs_web_servers": len(hdfs_web),
        "lab_user_password_changed": after["student"] != before["student"],
        "jobs_password_changed": after["jobs"] != before["jobs"],
        "old_lab_user_password": logins["old"],
        "new_lab_user_password": logins["new"],
        "jobs": {job: {"unit": now["unit"], "yarn_app_running": bool(now["yarn_app"]),
                       "new_yarn_app": now["yarn_app"] != before["jobs_state"][job]["yarn_app"]}
                 for job, now in jobs_after.items()},
        "previous_secrets_left": previous_left.exists(),
        "secrets_checked": len(all_secrets),
        "distinct_command_lines_sampled": command_lines,
        "command_lines_with_a_secret": len(on_command_lines),
    }
    path = report(figures)
    print(f"rotation figures: {path}\n{json.dumps(figures, indent=2)}")
    host.run(f"rm -f {load.out}.acked")

    assert playbook.returncode == 0, (playbook.stdout[-4000:], playbook.stderr[-2000:])
    assert sent["acked"] > 0 and verified["lost"] == 0, figures
    assert figures["certificates_changed"] == figures["brokers"], figures
    assert figures["hdfs_web_certificates_changed"] == figures["hdfs_web_servers"], figures
    assert figures["lab_user_password_changed"] and figures["jobs_password_changed"]
    assert figures["old_lab_user_password"] != "ok" and figures["new_lab_user_password"] == "ok"
    for job, state in figures["jobs"].items():
        assert state["unit"] == "active" and state["yarn_app_running"], (job, figures["jobs"])
        assert state["new_yarn_app"], (job, "not restarted with its new password")
    assert not figures["previous_secrets_left"]
    assert command_lines > 0 and not on_command_lines, "\n".join(on_command_lines)
