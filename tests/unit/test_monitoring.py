"""The monitoring role's files as a play renders them (role_templates, the committed
3-host inventory), checked by promtool itself: the configuration loads, the rules parse,
and the alerts fire (and stay quiet) on series written to look like the lab's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import role_templates
import yaml
from role_templates import ROOT, RoleVars

from streamstack import layout, metrics

FACTS = {"architecture": "x86_64", "python": {"version": {"major": 3, "minor": 11}},
         "systemd": {"version": 252}}


@pytest.fixture(scope="module")
def promtool() -> str:
    """promtool from Debian's prometheus package (scripts/ensure-promtool unpacks it)."""
    done = subprocess.run([str(ROOT / "scripts" / "ensure-promtool")], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def monitoring() -> RoleVars:
    return RoleVars("monitoring", "hadoop-master", facts=FACTS)


def test_scrape_targets_follow_the_inventory(monitoring):
    config = yaml.safe_load(role_templates.render(monitoring, "monitoring", "prometheus.yml.j2"))
    jobs = {job["job_name"]: job["static_configs"] for job in config["scrape_configs"]}
    targets = {name: sorted(t for c in configs for t in c["targets"])
               for name, configs in jobs.items()}
    # Each broker's agent on its own port: its port + 30000.
    assert targets["kafka"] == ["hadoop-master:39092", "hadoop-worker1:39093",
                                "hadoop-worker2:39094"]
    assert {c["labels"]["broker"] for c in jobs["kafka"]} == {"0", "1", "2"}
    assert targets["zookeeper"] == [f"{h}:7071" for h in
                                    ("hadoop-master", "hadoop-worker1", "hadoop-worker2")]
    assert targets["hdfs_namenode"] == ["hadoop-master:7072"]
    assert targets["hdfs_secondarynamenode"] == ["hadoop-master:7073"]
    assert targets["hdfs_datanode"] == ["hadoop-worker1:7074", "hadoop-worker2:7074"]
    assert targets["yarn_resourcemanager"] == ["hadoop-master:7075"]
    assert targets["yarn_nodemanager"] == ["hadoop-worker1:7076", "hadoop-worker2:7076"]
    assert targets["mapred_historyserver"] == ["hadoop-master:7077"]
    drivers = {c["labels"]["spark_job"]: c["targets"] for c in jobs["spark_driver"]}
    assert drivers == {"wordcount": ["hadoop-master:7080"],
                       "kafka-to-hdfs": ["hadoop-master:7081"]}
    executors = {c["labels"]["spark_job"]: c["targets"] for c in jobs["spark_executor"]}
    assert executors["wordcount"] == ["hadoop-worker1:4001", "hadoop-worker1:4002",
                                      "hadoop-worker2:4001", "hadoop-worker2:4002"]
    assert executors["kafka-to-hdfs"][0] == "hadoop-worker1:4101"
    assert targets["streamstack_jobs"] == ["localhost:9309"]


def test_jobs_exporter_reads_each_jobs_checkpoint(monitoring):
    import json

    config = json.loads(role_templates.render(monitoring, "monitoring", "jobs-exporter.json.j2"))
    assert config["listen_address"] == "127.0.0.1"
    assert config["jobs"] == [
        {"name": "wordcount", "index": 0, "checkpoint": "/checkpoints/wordcount"},
        {"name": "kafka-to-hdfs", "index": 1, "checkpoint": "/checkpoints/kafka-to-hdfs"}]
    assert config["webhdfs"] == "http://hadoop-master:9870/webhdfs/v1"
    assert config["spnego"] is False and config["ca_file"] is None
    unit = role_templates.render(monitoring, "monitoring", "streamstack-jobs-exporter.service.j2")
    assert "DynamicUser=yes" in unit and "KRB5" not in unit


def test_jobs_exporter_authenticates_in_the_secure_profile():
    """SPNEGO as its own principal, WebHDFS over HTTPS, its keytab its own user's 0400
    file (named in the unit's environment, never on a command line)."""
    import json

    secure = RoleVars("monitoring", "hadoop-master", facts=FACTS,
                      extra={"streamstack_security": "kerberos"})
    config = json.loads(role_templates.render(secure, "monitoring", "jobs-exporter.json.j2"))
    assert config["webhdfs"] == "https://hadoop-master:9870/webhdfs/v1"
    assert config["spnego"] is True
    assert config["ca_file"] == "/etc/prometheus/streamstack-ca.crt"
    unit = role_templates.render(secure, "monitoring", "streamstack-jobs-exporter.service.j2")
    assert "User=streamstack-exporter" in unit and "DynamicUser" not in unit
    assert ("Environment=KRB5_CLIENT_KTNAME=/etc/security/keytabs/"
            "streamstack-jobs-exporter.keytab" in unit)


def _render_to(monitoring, tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "streamstack-rules.yml"
    rules.write_text(role_templates.render(monitoring, "monitoring", "streamstack-rules.yml.j2"))
    config = yaml.safe_load(role_templates.render(monitoring, "monitoring", "prometheus.yml.j2"))
    config["rule_files"] = [str(rules)]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return rules, path


def test_promtool_checks_config_and_rules(monitoring, promtool, tmp_path):
    rules, config = _render_to(monitoring, tmp_path)
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 15 rules found" in done.stdout
    done = subprocess.run([promtool, "check", "config", str(config)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alerts_fire_on_lab_like_series(monitoring, promtool, tmp_path):
    """promtool test rules: each alert fires when it should and not before."""
    rules, _ = _render_to(monitoring, tmp_path)
    tests = tmp_path / "alerts_test.yml"
    text = (ROOT / "tests" / "unit" / "promtool" / "alerts_test.yml").read_text()
    tests.write_text(text.replace("RULES", str(rules)))
    done = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_prometheus_is_published_and_no_agent_is():
    master = layout.lab_hosts(3)[0]
    assert layout.PROMETHEUS_PORT in master.published_ports
    agents = {7071, 7072, 7073, 7074, 7075, 7076, 7077, 7080, 7081, 39092, 39093, 39094}
    for host in layout.lab_hosts(3):
        assert not agents & set(host.published_ports), host.name


def test_status_rows_name_jobs_and_figures():
    figures = metrics.Figures(url="http://x", values={
        "lag": {"wordcount": 0.0, "kafka-to-hdfs": 1200.0},
        "records_per_second": {"wordcount": 2.5, "kafka-to-hdfs": 0.0},
        "running": {"wordcount": 1.0, "kafka-to-hdfs": 0.0},
        "under_replicated": 3.0, "brokers_up": 2.0, "brokers": 3.0,
        "live_datanodes": 2.0, "apps_running": 1.0, "containers_running": 3.0,
        "alerts": {"KafkaBrokerDown": 1.0}})
    rows = dict(metrics.rows(figures))
    assert rows["job kafka-to-hdfs"] == "NOT RUNNING, lag 1200 records, 0.0 records/s"
    assert rows["job wordcount"] == "RUNNING, lag 0 records, 2.5 records/s"
    assert rows["Kafka"] == "2/3 brokers up, 3 under-replicated partitions"
    assert rows["alerts firing"] == "KafkaBrokerDown"
    assert metrics.rows(metrics.Figures(url="u", error="refused")) == [
        ("Prometheus", "no answer (refused)")]


def test_no_reload_signal_right_after_prometheus_started():
    """A SIGHUP sent while Prometheus still starts ends it for good (a clean exit to
    systemd): the reload handler stands down when this run started or restarted it."""
    role = ROOT / "roles" / "monitoring"
    tasks = yaml.safe_load((role / "tasks" / "main.yml").read_text())
    handlers = yaml.safe_load((role / "handlers" / "main.yml").read_text())
    restarting = [t for t in tasks if t.get("notify") == "Monitoring | Restart Prometheus"]
    starting = [t for t in tasks if (t.get("ansible.builtin.systemd_service") or {}).get("name")
                == "prometheus" and t["ansible.builtin.systemd_service"].get("state") == "started"]
    assert len(restarting) == 1 and len(starting) == 1
    reload = next(h for h in handlers if h["name"] == "Monitoring | Reload Prometheus")
    for task in restarting + starting:
        assert f"{task['register']} is changed" in reload["when"], (task["name"], reload)
