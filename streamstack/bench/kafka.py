"""The Kafka scenario: producer perf runs (RF 1 / RF 3, shipped and upstream client
settings), latency at half rate, compression, the consumer, jobs/producer.py."""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass

from .. import PROJECT_ROOT
from .common import MIB, figure, parse_consumer_perf, parse_log_dirs, parse_producer_perf, ratio
from .harness import (
    Context,
    cpu_counters,
    cpu_delta,
    ensure_lab,
    load_bench_module,
    log,
    run_playbook,
)

KAFKA_PYTHON_RUN = r"""
set -eu
topic=$1; bootstrap=$2; count=$3; work=$4; shift 4
python3 -c "import sys; sys.stdout.write(('x' * 1023 + '\n') * int(sys.argv[1]))" "$count" \
  > "$work/records.txt"
start=$(date +%s.%N)
python3 "$work/producer.py" "$topic" --bootstrap "$bootstrap" --lines "$work/records.txt" "$@" \
  > /dev/null
end=$(date +%s.%N)
rm -f "$work/records.txt"
echo "$start $end"
"""

# The tool's own CPU (user + sys seconds of its JVM) after its output, from bash's time.
TIMED = "TIMEFORMAT='TOOL_CPU %U %S'; time "
TOOL_CPU = re.compile(r"TOOL_CPU ([\d.]+) ([\d.]+)")
SHIPPED_PRODUCER = "/opt/kafka/config/producer.properties"
SHIPPED_CONSUMER = "/opt/kafka/config/consumer.properties"


def tool_cpu_seconds(text: str) -> float | None:
    m = TOOL_CPU.search(text)
    return round(float(m[1]) + float(m[2]), 1) if m else None


@dataclass
class KafkaRun:
    """One kafka-producer-perf-test run on a fresh 3-partition topic."""
    label: str
    replication: int
    acks: str
    shipped: bool  # with the lab's producer.properties, else pure upstream defaults
    throughput: int = -1  # records/s; -1 = as fast as it goes


def kafka_producer_run(ctx: Context, remote, bootstrap: str, run: KafkaRun,
                       containers: list[str], keep_topic: bool = False,
                       admin_config: str = "") -> dict:
    """admin_config: kafka-topics.sh's --command-config (a secure lab's client settings)."""
    records = ctx.options["kafka_records"]
    topic = f"bench-kafka-{run.label}-{uuid.uuid4().hex[:6]}"
    min_isr = 2 if run.replication > 1 else 1
    admin = f" --command-config {admin_config}" if admin_config else ""
    remote.sh(f"kafka-topics.sh --bootstrap-server {bootstrap}{admin} --create --topic {topic} "
              f"--partitions 3 --replication-factor {run.replication} "
              f"--config min.insync.replicas={min_isr}", 120)
    config = f"--producer.config {SHIPPED_PRODUCER} " if run.shipped else ""
    before = cpu_counters(containers)
    started = time.monotonic()
    try:
        done = remote.sh(
            f"{TIMED}kafka-producer-perf-test.sh --topic {topic} --num-records {records} "
            f"--record-size 1024 --throughput {run.throughput} {config}--producer-props "
            f"bootstrap.servers={bootstrap} acks={run.acks} 2>&1", 600)
    finally:
        if not keep_topic:
            remote.sh(f"kafka-topics.sh --bootstrap-server {bootstrap}{admin} --delete "
                      f"--topic {topic}", 120, check=False)
    out = {"label": run.label, "topic": topic, "replication_factor": run.replication,
           "min_insync_replicas": min_isr, "acks": run.acks,
           "client_settings": "shipped" if run.shipped else "upstream defaults",
           "throughput_limit": run.throughput, "records": records,
           "tool_seconds": round(time.monotonic() - started, 1),
           "load_average": round(os.getloadavg()[0], 2),
           **parse_producer_perf(done.stdout),
           "client_cpu_seconds": tool_cpu_seconds(done.stdout + done.stderr),
           "cpu": cpu_delta(before, cpu_counters(containers), os.cpu_count() or 1)}
    log(f"kafka {run.label}: {out.get('mib_per_second')} MiB/s, p99 "
        f"{out.get('latency_p99_ms')} ms, machine busy {out['cpu']['machine_busy_fraction']}")
    return out


def mean_ratio(tuned: list[float | None], defaults: list[float | None]) -> float | None:
    """Mean of the first list's rates over the mean of the second's (None if any is
    missing): runs alternated A-B-B-A, so a drift of the machine weighs on both."""
    if not tuned or not defaults or None in tuned or None in defaults:
        return None
    return ratio(sum(tuned) / len(tuned), sum(defaults) / len(defaults))


def scenario_kafka(ctx: Context) -> tuple[list[dict], dict]:
    ensure_lab(ctx)
    pipeline = load_bench_module("pipeline")
    remote = pipeline.Remote(ctx.inventory)
    bootstrap = pipeline.bootstrap_of(remote)
    prefix = ctx.prefix if ctx.own_lab else ""
    from .. import jobs
    containers = [f"{prefix}{h}" for h in jobs._inventory_hosts(ctx.inventory, "all")]
    converges = []
    # The lab as shipped: the provisioning scenario's change leaves upstream broker defaults.
    tuned = remote.sh("grep -l 'Tuning (kafka_tuning)' /etc/kafka/server-*.properties",
                      30, check=False).rc == 0
    if not tuned:
        converges.append(run_playbook(ctx, "playbooks/kafka.yml", "kafka.yml back to tuned",
                                      extravars={"kafka_tuning": True}))
        ctx.kafka_tuning = True
    shipped = remote.sh(f"cat {SHIPPED_PRODUCER} {SHIPPED_CONSUMER}", 30).stdout
    rf1 = KafkaRun("rf1-acks1", 1, "1", True)
    rf3 = KafkaRun("rf3-acksall", 3, "all", True)
    # A-B-B-A: a drift of the shared machine weighs on both sides of the ratio alike.
    runs = [kafka_producer_run(ctx, remote, bootstrap, r, containers)
            for r in (rf1, rf3, rf3, rf1)]
    rf1_runs = [r for r in runs if r["replication_factor"] == 1]
    rf3_runs = [r for r in runs if r["replication_factor"] == 3]
    rf3_rate = sum(r.get("records_per_second") or 0 for r in rf3_runs) / len(rf3_runs)
    half = max(1, int(rf3_rate / 2))
    # Latency at a fixed load the cluster sustains: half the RF 3 acks=all rate.
    at_half = kafka_producer_run(ctx, remote, bootstrap,
                                 KafkaRun("rf3-acksall-half", 3, "all", True, half),
                                 containers, keep_topic=True)
    defaults = kafka_producer_run(ctx, remote, bootstrap,
                                  KafkaRun("rf3-acksall-upstream", 3, "all", False), containers)
    defaults_half = kafka_producer_run(
        ctx, remote, bootstrap, KafkaRun("rf3-acksall-upstream-half", 3, "all", False, half),
        containers)
    topic = at_half["topic"]
    work = "/tmp/streamstack-bench"
    try:
        # What the shipped compression saves: one replica's bytes over the bytes sent.
        on_disk = parse_log_dirs(remote.sh(
            f"kafka-log-dirs.sh --bootstrap-server {bootstrap} --describe "
            f"--topic-list {topic}", 120).stdout, topic)
        sent = (at_half.get("records") or 0) * 1024
        at_half["bytes_on_disk_per_replica"] = (on_disk // at_half["replication_factor"]
                                                if on_disk is not None else None)
        at_half["bytes_sent"] = sent
        log("kafka: consumer perf test with the shipped consumer.properties")
        consumer = parse_consumer_perf(remote.sh(
            f"kafka-consumer-perf-test.sh --bootstrap-server {bootstrap} --topic {topic} "
            f"--consumer.config {SHIPPED_CONSUMER} --messages {ctx.options['kafka_records']} "
            f"--timeout 120000 --group bench-{topic}", 600).stdout)
        remote.write(f"{work}/producer.py", (PROJECT_ROOT / "jobs" / "producer.py").read_text())
        remote.write(f"{work}/kafka_python.sh", KAFKA_PYTHON_RUN)
        kafka_python = {}
        for label, flags in (("shipped", ""), ("handout", "--handout-settings")):
            count = ctx.options["python_records"]
            start, end = (float(x) for x in remote.sh(
                f"bash {work}/kafka_python.sh {topic} {bootstrap} {count} {work} {flags}",
                600).stdout.split()[-2:])
            kafka_python[label] = {"records": count, "seconds": round(end - start, 2),
                                   "records_per_second": round(count / (end - start), 1),
                                   "mib_per_second": round(count * 1024 / MIB / (end - start),
                                                           2)}
            log(f"kafka: jobs/producer.py ({label}) {kafka_python[label]['mib_per_second']} "
                f"MiB/s")
    finally:
        remote.sh(f"kafka-topics.sh --bootstrap-server {bootstrap} --delete --topic {topic}",
                  120, check=False)
    rate = {k: [r.get("mib_per_second") for r in v] for k, v in (("rf1", rf1_runs),
                                                                  ("rf3", rf3_runs))}
    details = {"bootstrap": bootstrap, "host": remote.host, "shipped_properties": shipped,
               "runs": runs, "rf3_acksall_half_rate": at_half,
               "rf3_acksall_upstream": defaults, "rf3_acksall_upstream_half_rate": defaults_half,
               "consumer_perf": consumer, "kafka_python": kafka_python,
               "converges": [{k: c[k] for k in ("seconds", "changed", "run_dir")}
                             for c in converges],
               "notes": "MB/s are MiB/s (Kafka's perf tools divide by 1024*1024). 1 KiB "
                        "records, 3 partitions, RF 3 topics with min.insync.replicas=2. "
                        "cpu: machine busy fraction of all cores (every lab on the machine) "
                        "and this lab's containers' CPU seconds during each run (cgroup)."}
    mean_rf3 = sum(rate["rf3"]) / 2 if None not in rate["rf3"] else None
    mean_rf1 = sum(rate["rf1"]) / 2 if None not in rate["rf1"] else None
    figures = [
        figure("RF 3 acks=all, shipped client settings", round(mean_rf3, 2) if mean_rf3
               else None, "MiB/s", note="mean of 2 runs; p99 "
               + ", ".join(f"{r.get('latency_p99_ms')} ms" for r in rf3_runs)),
        figure("RF 1 acks=1, shipped client settings", round(mean_rf1, 2) if mean_rf1
               else None, "MiB/s", note="mean of 2 runs; p99 "
               + ", ".join(f"{r.get('latency_p99_ms')} ms" for r in rf1_runs)),
        figure("RF 3 acks=all / RF 1 acks=1 (shipped settings)",
               mean_ratio(rate["rf3"], rate["rf1"]), "x", "kafka_rf3_to_rf1_ratio",
               note="A-B-B-A; pairwise " + ", ".join(
                   str(ratio(a, b)) for a, b in zip(rate["rf3"], reversed(rate["rf1"]),
                                                    strict=True))),
        figure(f"RF 3 acks=all p99 at half that rate ({half} records/s)",
               at_half.get("latency_p99_ms"), "ms", "kafka_p99_half_rate_ms",
               note=f"shipped settings; achieved {at_half.get('records_per_second')} "
                    f"records/s, p50 {at_half.get('latency_p50_ms')} ms"),
        figure("RF 3 topic: bytes on disk per replica / bytes sent",
               ratio(at_half.get("bytes_on_disk_per_replica"), at_half.get("bytes_sent")),
               "x", note="the shipped compression.type on the perf tool's generated "
                         "payload (other data compresses differently)"),
        figure("RF 3 acks=all, upstream client defaults", defaults.get("mib_per_second"),
               "MiB/s", note=f"p99 {defaults.get('latency_p99_ms')} ms (a full 32 MiB "
                             "buffer's queue)"),
        figure(f"RF 3 acks=all p99 at {half} records/s, upstream client defaults",
               defaults_half.get("latency_p99_ms"), "ms",
               note=f"achieved {defaults_half.get('records_per_second')} records/s"),
        figure("shipped / upstream defaults, RF 3 acks=all",
               ratio(mean_rf3, defaults.get("mib_per_second")), "x"),
        figure("consumer perf test (shipped consumer.properties)",
               consumer.get("mb_per_second"), "MiB/s"),
        figure("jobs/producer.py (kafka-python), lab settings",
               kafka_python["shipped"]["mib_per_second"], "MiB/s"),
        figure("jobs/producer.py --handout-settings (SimpleProducer's)",
               kafka_python["handout"]["mib_per_second"], "MiB/s"),
    ]
    return figures, details
