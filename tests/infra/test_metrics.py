"""Metrics, on every host: each JVM's Prometheus JMX agent answers on its port with the
figures the alerts read; on the monitoring host Prometheus runs as its own user, its rules
pass promtool, and every target but the idle executor slots is up. Cheap: HTTP reads."""

from __future__ import annotations

import json
import time

import pytest

# port, a metric the alerts or the dashboard read, the groups that run the daemon
AGENTS = {
    "zookeeper": (7071, "zookeeper_quorum_member", "zookeeper"),
    "hdfs-namenode": (7072, "hadoop_namenode_numlivedatanodes", "hdfs_namenode"),
    "hdfs-secondarynamenode": (7073, "jvm_memory_used_bytes", "hdfs_namenode"),
    "hdfs-datanode": (7074, "jvm_memory_used_bytes", "hdfs_datanode"),
    "yarn-resourcemanager": (7075, "hadoop_resourcemanager_numactivenms", "yarn_resourcemanager"),
    "yarn-nodemanager": (7076, "hadoop_nodemanager_containersrunning", "yarn_nodemanager"),
}


def read(host, url: str, timeout: int = 10) -> str:
    script = ("import sys, urllib.request; "
              f"sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout={timeout})"
              ".read().decode())")
    done = host.run(f"python3 -c {script!r} {url!r}")
    assert done.rc == 0, f"{url}: {done.stderr.strip()[-300:]}"
    return done.stdout


@pytest.mark.parametrize("daemon", sorted(AGENTS))
def test_agent_answers(host, host_groups, daemon):
    port, metric, group = AGENTS[daemon]
    if group not in host_groups:
        pytest.skip(f"no {daemon} here")
    text = read(host, f"http://127.0.0.1:{port}/metrics")
    assert metric in text, f"{daemon} agent on {port} has no {metric}"


def test_each_broker_agent_answers(host, host_groups):
    if "kafka" not in host_groups:
        pytest.skip("no broker here")
    brokers = host.ansible.get_variables().get("kafka_brokers", [])
    assert brokers
    for broker in brokers:
        port = broker["port"] + 30000
        text = read(host, f"http://127.0.0.1:{port}/metrics")
        assert "kafka_server_replicamanager_underreplicatedpartitions" in text, port


@pytest.fixture(scope="module")
def prometheus(host):
    variables = host.ansible.get_variables()
    groups = variables.get("groups", {})
    chosen = (groups.get("monitoring") or []) + (groups.get("hdfs_namenode") or [])
    if not chosen or host.backend.get_hostname() != chosen[0]:
        pytest.skip("not the monitoring host")
    return host


def test_prometheus_runs_as_its_user(prometheus):
    service = prometheus.service("prometheus")
    assert service.is_running and service.is_enabled
    user = prometheus.check_output("systemctl show -p User --value prometheus")
    assert user == "prometheus"
    assert prometheus.process.filter(comm="prometheus")[0].user == "prometheus"


def test_rules_pass_promtool(prometheus):
    done = prometheus.run("promtool check rules /etc/prometheus/streamstack-rules.yml")
    assert done.rc == 0, done.stdout + done.stderr
    assert "SUCCESS: 15 rules found" in done.stdout


def test_every_target_is_up(prometheus):
    """Every agent, the jobs exporter and Prometheus; of the executor slots, at least one
    per job (the others are ids not in use). Waits out one scrape after a fresh start."""
    deadline = time.monotonic() + 90
    while True:
        targets = json.loads(read(prometheus, "http://127.0.0.1:9090/api/v1/targets"))
        active = targets["data"]["activeTargets"]
        down = [f"{t['labels']['job']} {t['scrapeUrl']} ({t['lastError']})" for t in active
                if t["health"] != "up" and t["labels"]["job"] != "spark_executor"]
        executors = {t["labels"]["spark_job"] for t in active
                     if t["labels"]["job"] == "spark_executor" and t["health"] == "up"}
        drivers = {t["labels"]["spark_job"] for t in active if t["labels"]["job"] == "spark_driver"}
        if (not down and executors == drivers) or time.monotonic() > deadline:
            break
        time.sleep(10)
    assert not down
    assert {"zookeeper", "kafka", "hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager",
            "yarn_nodemanager", "spark_driver", "streamstack_jobs"} <= {
        t["labels"]["job"] for t in active}
    assert executors == drivers, f"jobs with an executor agent up: {sorted(executors)}"


def test_jobs_exporter_reports_offsets_and_states(prometheus):
    # A fresh lab's word count has no committed batch yet (no input): give it a record,
    # then its offsets must appear once the batch is committed.
    variables = prometheus.ansible.get_variables()
    topic = variables.get("spark_jobs_wordcount_topics", "Hello-Kafka").split(",")[0]
    # The secure profile: as the lab user, whose client settings root has on every host.
    secure = variables.get("streamstack_security", "none") == "kerberos"
    config = "--producer.config /etc/kafka/client.properties" if secure else ""
    sent = prometheus.run("echo streamstack-metrics-check | timeout 60 kafka-console-producer.sh "
                          f"--bootstrap-server localhost:9092 --topic %s {config}", topic)
    assert sent.rc == 0, sent.stderr[-500:]
    deadline = time.monotonic() + 180
    while True:
        text = read(prometheus, "http://127.0.0.1:9309/metrics")
        if 'streamstack_job_offset{spark_job="wordcount"' in text or time.monotonic() > deadline:
            break
        time.sleep(5)
    running = [line for line in text.splitlines() if line.startswith("streamstack_job_running")]
    assert running and all(line.endswith(" 1") for line in running), running
    assert 'streamstack_job_offset{spark_job="wordcount"' in text
    assert "streamstack_resourcemanager_up 1" in text
