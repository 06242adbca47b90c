import socket
import struct
import threading
from pathlib import Path

import pytest

from streamstack import checks, probe, verify
from streamstack.checks.probes import _with_tasks


def _record(host, service, check, state, detail=""):
    return {"host": host, "service": service, "check": check, "state": state,
            "what": "", "detail": detail}


def test_failures_come_first_then_by_host_and_service():
    records = [
        _record("hadoop-worker1", "kafka", "units", "passed"),
        _record("hadoop-worker2", "hadoop", "datanode", "failed", "hdfs-datanode inactive"),
        _record("hadoop-master", "zookeeper", "ruok", "skipped", "not in group"),
        _record("hadoop-master", "kafka", "units", "passed"),
    ]
    ordered = verify.rows(records)
    assert [(r["host"], r["state"]) for r in ordered] == [
        ("hadoop-worker2", "failed"), ("hadoop-master", "skipped"),
        ("hadoop-master", "passed"), ("hadoop-worker1", "passed")]


def test_exit_code_is_non_zero_when_anything_failed_or_nothing_ran():
    passed = [_record("h", "kafka", "units", "passed")]
    assert verify.exit_code(passed) == 0
    assert verify.exit_code(passed + [_record("h", "kafka", "isr", "failed")]) == 1
    assert verify.exit_code([]) == 1


def test_a_check_skipped_on_every_host_is_a_failure():
    report = checks.Report(results=[
        checks.Result("zookeeper.serves", "h1", "zookeeper", "skipped", "ruok", "no nc"),
        checks.Result("zookeeper.serves", "h2", "zookeeper", "skipped", "ruok", "no nc"),
        checks.Result("kafka.unit", "h1", "kafka@0", "passed", "unit"),
        checks.Result("kafka.unit", "h2", "kafka@1", "skipped", "unit", "not read"),
    ])
    records = verify.records(report)
    failed = [r for r in records if r["state"] == "failed"]
    assert [(r["check"], r["host"]) for r in failed] == [("zookeeper.serves", "all")]
    assert "skipped on every host it applies to: no nc" in failed[0]["detail"]
    assert verify.exit_code(records) == 1


def test_failure_lines_name_host_service_and_detail_of_failures_only():
    records = [
        _record("hadoop-worker1", "kafka", "units", "passed"),
        _record("hadoop-worker2", "hdfs-datanode", "hadoop.unit", "failed",
                "hdfs-datanode is not running on hadoop-worker2"),
        _record("hadoop-master", "zookeeper", "ruok", "skipped", "not in group"),
    ]
    assert verify.failure_lines(records) == [
        "FAILED hadoop-worker2 hdfs-datanode hadoop.unit: "
        "hdfs-datanode is not running on hadoop-worker2"]


def test_keyword_selects_checks_by_words():
    assert checks.selected("hadoop.unit", "hadoop.unit")
    assert checks.selected("kafka.registered", "kafka.unit or kafka.registered")
    assert checks.selected("kafka.unit", "kafka.unit,kafka.registered")
    assert not checks.selected("zookeeper.unit", "kafka")
    assert checks.selected("anything", None)


def test_every_check_name_is_unique_and_says_where_it_applies():
    names = [c.name for c in checks.CHECKS]
    assert len(names) == len(set(names))
    assert all(c.applies_to for c in checks.CHECKS)


def test_probe_reads_ipv4_and_ipv6_addresses_of_proc_net_tcp():
    assert probe._address("0100007F", 8) == "127.0.0.1"
    assert probe._address("00000000", 8) == "0.0.0.0"
    assert probe._address("00000000000000000000000001000000", 32) == "::1"


def _metadata_v1_answer(brokers) -> bytes:
    body = struct.pack(">ii", 1, len(brokers))
    for node, host, port in brokers:
        body += struct.pack(">ih", node, len(host)) + host.encode() + struct.pack(">ih", port, -1)
    body += struct.pack(">ii", node, 0)  # controller id, no topics
    return struct.pack(">i", len(body)) + body


def test_probe_lists_the_brokers_a_metadata_v1_answer_names():
    server = socket.create_server(("127.0.0.1", 0))
    asked = {}

    def answer():
        conn, _ = server.accept()
        with conn:
            size = struct.unpack(">i", conn.recv(4))[0]
            request = conn.recv(size)
            asked["api"] = struct.unpack_from(">hh", request)
            conn.sendall(_metadata_v1_answer([(0, "hadoop-master", 19092),
                                              (2, "hadoop-worker2", 19094)]))

    thread = threading.Thread(target=answer)
    thread.start()
    got = probe.kafka_brokers(f"127.0.0.1:{server.getsockname()[1]}")
    thread.join(5)
    server.close()
    assert asked["api"] == (3, 1)  # Metadata, version 1
    assert got == {"brokers": [{"id": 0, "host": "hadoop-master", "port": 19092},
                               {"id": 2, "host": "hadoop-worker2", "port": 19094}]}


def test_probe_reports_a_refused_bootstrap_as_an_error():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert "error" in probe.kafka_brokers(f"127.0.0.1:{port}")


def test_probe_command_embeds_the_tasks_and_runs_them(tmp_path):
    import subprocess
    import sys

    tasks = [{"id": "echo", "kind": "sh", "args": {"command": "echo 'it''s here'"}},
             {"id": "files", "kind": "files", "args": {"paths": [str(tmp_path)],
                                                        "listing": True}}]
    (tmp_path / "a").write_text("x")
    source = _with_tasks(tasks, {})
    done = subprocess.run([sys.executable, "-"], input=source, capture_output=True,
                          text=True, check=True)
    import json

    seen = json.loads(done.stdout)
    assert seen["echo"]["result"]["out"] == "its here\n"
    assert seen["files"]["result"][str(tmp_path)]["entries"] == ["a"]


def test_probe_goes_to_the_namenode_that_serves():
    """With NameNode HA the probe is given every NameNode: a standby's WebHDFS answers
    403 (StandbyException), a dead one nothing; http_json and webhdfs take the first that
    serves."""
    import http.server
    import threading

    from streamstack import probe

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            standby = self.server.server_port == standby_server.server_port
            self.send_response(403 if standby else 200)
            self.end_headers()
            self.wfile.write(b'{"RemoteException": {}}' if standby else b'{"ok": true}')

        def log_message(self, *args):
            pass

    standby_server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    active_server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    for server in (standby_server, active_server):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        standby = f"http://127.0.0.1:{standby_server.server_port}"
        active = f"http://127.0.0.1:{active_server.server_port}"
        dead = "http://127.0.0.1:9"
        assert probe.http_json([f"{dead}/x", f"{standby}/x", f"{active}/x"])["json"] == {
            "ok": True}
        assert probe._active([dead, standby, active]) == active
        assert probe._active(standby) == standby  # one NameNode: asked as before
        assert "error" in probe.http_json([f"{dead}/x", f"{standby}/x"])
    finally:
        for server in (standby_server, active_server):
            server.shutdown()


def test_probe_command_embeds_where_the_secure_profile_keeps_credentials():
    auth = {"keytab": "/etc/security/keytabs/root.keytab", "principal": "root@LAB",
            "cafile": "/etc/pki/streamstack/ca.crt"}
    namespace: dict = {}
    exec(compile(_with_tasks([], auth), "probe", "exec"), namespace)  # noqa: S102
    assert namespace["AUTH"] == auth
    assert namespace["TASKS"] == []


def test_probe_reads_the_scram_user_from_kafka_client_properties(tmp_path):
    config = tmp_path / "admin.properties"
    config.write_text('security.protocol=SASL_SSL\nsasl.jaas.config=org.apache.kafka.common.'
                      'security.scram.ScramLoginModule required username="admin" '
                      'password="p=a,ss";\n')
    assert probe._kafka_credentials(str(config)) == ("admin", "p=a,ss")
    config.write_text("security.protocol=SASL_SSL\n")
    with pytest.raises(ValueError, match="no username and password"):
        probe._kafka_credentials(str(config))


def test_secrets_dir_follows_the_lab_name_then_the_inventory_directory(monkeypatch, tmp_path):
    from streamstack.checks.base import secrets_dir

    monkeypatch.delenv("STREAMSTACK_SECRETS_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    root = tmp_path / ".streamstack" / "secrets"
    named = {"streamstack_lab_name": "sv-streamstack"}
    assert secrets_dir(named, "x/inv") == root / "sv-streamstack"
    assert secrets_dir({"inventory_dir": "/srv/inventories/mylab"}, "ignored") == root / "mylab"
    assert secrets_dir({}, "/srv/inventories/lab") == root / "lab"
    monkeypatch.setenv("STREAMSTACK_SECRETS_DIR", "/elsewhere")
    assert secrets_dir({"streamstack_lab_name": "a"}, "b") == Path("/elsewhere")
