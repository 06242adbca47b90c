"""Metrics against a running lab (`make test-metrics`, not in `make test`: about 8
minutes): `streamstack status` shows live figures, the dashboard renders non-empty
panels in a real headless browser (screenshot kept under runs/metrics-*/), a stopped
broker raises the under-replicated alert within 2 minutes and it clears after the
restart, and a stopped sink raises its lag alert while records keep arriving."""

from __future__ import annotations

import html.parser
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamstack import PROJECT_ROOT

PANELS = 9


def test_status_shows_live_figures(prometheus):
    env = dict(os.environ, STREAMSTACK_PROMETHEUS_URL=prometheus.url)
    started = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "streamstack"), "status",
                           "--prometheus", prometheus.url], capture_output=True, text=True,
                          env=env, timeout=60, cwd=PROJECT_ROOT)
    seconds = time.monotonic() - started
    print(done.stdout)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.replace("│", " ").split())  # the table's columns
    assert "job wordcount RUNNING, lag" in out
    assert "job kafka-to-hdfs RUNNING, lag" in out
    assert "3/3 brokers up, 0 under-replicated partitions" in out
    assert "2 live DataNodes" in out
    assert "2 applications RUNNING" in out
    assert seconds < 15, f"status took {seconds:.1f}s"


class _Panels(html.parser.HTMLParser):
    """The data-series / data-points attributes the page's script sets on each panel."""

    def __init__(self):
        super().__init__()
        self.panels: list[dict] = []
        self.drawn = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "body" and values.get("data-drawn") == "yes":
            self.drawn = True
        if "data-query" in values:
            self.panels.append(values)


def test_dashboard_panels_are_not_empty(prometheus, output_dir):
    browser = subprocess.run([str(PROJECT_ROOT / "scripts" / "ensure-chromium")],
                             capture_output=True, text=True, check=True).stdout.split()[-1]
    url = f"{prometheus.url}/consoles/streamstack.html"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--virtual-time-budget=20000", "--window-size=1400,1000"]
    shot = output_dir / "dashboard.png"
    done = subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True,
                          text=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20000, done.stderr[-500:]
    print(f"dashboard screenshot: {shot}")
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120).stdout
    (output_dir / "dashboard.html").write_text(dom)
    parser = _Panels()
    parser.feed(dom)
    assert parser.drawn, "the page's script did not finish"
    assert len(parser.panels) == PANELS
    empty = [p["data-query"] for p in parser.panels
             if int(p.get("data-series", 0)) == 0 or int(p.get("data-points", 0)) < 2]
    assert not empty, f"panels without data: {empty}"


def test_stopped_broker_raises_under_replicated_alert(prometheus, lab_host):
    worker = lab_host("hadoop-worker1")
    assert prometheus.alert_state("KafkaUnderReplicatedPartitions") == "inactive"
    worker.run("systemctl stop kafka@1")
    try:
        fired = prometheus.wait_alert("KafkaUnderReplicatedPartitions", "firing", 120)
        print(f"KafkaUnderReplicatedPartitions firing {fired}s after kafka@1 stopped")
        assert prometheus.alert_state("KafkaBrokerDown", broker="1") in ("pending", "firing")
    finally:
        worker.run("systemctl start kafka@1")
    cleared = prometheus.wait_alert("KafkaUnderReplicatedPartitions", "inactive", 300)
    print(f"KafkaUnderReplicatedPartitions cleared {cleared}s after kafka@1 started")


def test_stopped_sink_raises_its_lag_alert(prometheus, lab_host):
    master = lab_host("hadoop-master")
    assert prometheus.alert_state("StreamingJobLagGrowing", spark_job="kafka-to-hdfs") \
        == "inactive"
    master.run("systemctl stop spark-job-kafka-to-hdfs")
    # 20 records/s for at most 6 minutes, stopped below as soon as the alert fires.
    producer = master.check_output(
        "setsid nohup timeout 360 kafka-producer-perf-test.sh --topic events "
        "--num-records 7200 --throughput 20 --record-size 100 --producer-props "
        "bootstrap.servers=localhost:9092 >/tmp/metrics-lag-producer.log 2>&1 & echo $!")
    try:
        fired = prometheus.wait_alert("StreamingJobLagGrowing", "firing", 330,
                                      spark_job="kafka-to-hdfs")
        lag = prometheus.value('streamstack:job_lag{spark_job="kafka-to-hdfs"}')
        print(f"StreamingJobLagGrowing firing {fired}s after the sink stopped, lag {lag}")
        assert lag and lag > 0
        assert prometheus.alert_state("StreamingJobNotRunning", spark_job="kafka-to-hdfs") \
            == "firing"
        assert prometheus.alert_state("StreamingJobLagGrowing", spark_job="wordcount") \
            == "inactive"
    finally:
        # timeout passes the signal on to the producer it runs.
        master.run(f"kill {int(producer)} 2>/dev/null || true")
        master.run("systemctl start spark-job-kafka-to-hdfs")
    cleared = prometheus.wait_alert("StreamingJobNotRunning", "inactive", 300,
                                    spark_job="kafka-to-hdfs")
    print(f"StreamingJobNotRunning cleared {cleared}s after the sink started")


@pytest.fixture(autouse=True)
def _bounded():
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 600
