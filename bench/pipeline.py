"""Pipeline benchmark: word count produce-to-count latency, and the Kafka-to-HDFS sink's
sustained records/s next to kafka-consumer-perf-test.sh on the same topic.

    python bench/pipeline.py [--inventory inventories/local] [--samples 60] \
        [--records 100000] [--out bench/results]

Everything runs on the first spark_client host (hadoop-master) through ansible, so the
numbers are the cluster's, not the controller's network's:

- latency: one unique word per sample is produced to the word count's input topic
  (Hello-Kafka, paced); a consumer of the results topic (wordcount-results) notes when
  the word's count appears. Both clocks are the same host's. p50/p95/p99/max in ms.
  Warm-up words go first, until three in a row come back within 5 s (a job that just
  started, or whose input topic was just created, compiles and warms up on its first
  batches): the figures are the running job's, the warm-up time is reported apart.
- sink: kafka-producer-perf-test.sh fills a fresh topic with --records records of 100 B,
  then kafka-consumer-perf-test.sh reads them (the Kafka-side ceiling), then the deployed
  sink application, submitted to YARN like the service but on that topic (output under
  /data/_bench), copies them twice: once in batch (--available-now: one batch of
  everything, the application's ceiling without per-batch costs), then streaming with
  the service's trigger, maxOffsetsPerTrigger and Spark settings (executor cores
  included) until it has copied every record. Its per-batch JSON lines give records/s:
  end to end (first batch start to last batch end, the figure compared with the batch
  run's), sustained (the full batches after the first: a running service's rate while
  a backlog waits; the first pays the warm-up, the last holds what the cap left), busy.

Writes bench/results/pipeline-<date>.json and prints it. Bounded: every remote command
has a timeout; the bench's topic and HDFS directories are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamstack import jobs  # noqa: E402
from streamstack.bench import parse_consumer_perf, percentile  # noqa: E402

WORK = "/tmp/streamstack-bench"


def service_settings() -> dict:
    """The deployed sink's trigger, cap and Spark settings (roles/spark_jobs defaults)."""
    import yaml

    defaults = yaml.safe_load((ROOT / "roles/spark_jobs/defaults/main.yml").read_text())
    jobs = {j["name"]: j for j in defaults["spark_jobs"]}
    job, args = jobs["kafka-to-hdfs"], jobs["kafka-to-hdfs"]["args"]
    counts = jobs["wordcount"]["args"]
    return {"trigger": float(args[args.index("--trigger") + 1]),
            "max_offsets": int(defaults["spark_jobs_sink_max_offsets_per_trigger"]),
            "conf": [f"{k}={v}" for k, v in sorted(
                {**(job.get("conf") or {}),
                 "spark.executor.cores": job.get("executor_cores",
                                                 defaults["spark_jobs_default_executor_cores"]),
                 }.items())],
            # None: the word count's next batch starts as soon as one ends.
            "wordcount_trigger": (float(counts[counts.index("--trigger") + 1])
                                  if "--trigger" in counts else None)}


SERVICE = service_settings()
SINK_APP = "/opt/streamstack-jobs/kafka-to-hdfs/kafka_to_hdfs.py"

LATENCY = r'''
import json, sys, threading, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
bootstrap, topic, results, run, samples, interval = sys.argv[1:7]
samples, interval = int(samples), float(interval)
consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False)
parts = [TopicPartition(results, p) for p in consumer.partitions_for_topic(results)]
ends = consumer.end_offsets(parts)
consumer.assign(parts)
for tp in parts:
    consumer.seek(tp, ends[tp])
sent, seen = {}, {}
done = threading.Event()
def consume():
    while not done.is_set():
        for records in consumer.poll(timeout_ms=200).values():
            now = time.time()
            for r in records:
                key = r.key.decode() if r.key else ""
                if key in sent and key not in seen:
                    seen[key] = now
threading.Thread(target=consume, daemon=True).start()
producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=0)
warm_started, in_a_row, i = time.time(), 0, 0
while in_a_row < 3 and time.time() - warm_started < 240:
    word = f"warm{run}x{i}"
    i += 1
    sent[word] = time.time()
    producer.send(topic, value=word.encode()).get(timeout=30)
    deadline = time.time() + 5
    while word not in seen and time.time() < deadline:
        time.sleep(0.05)
    in_a_row = in_a_row + 1 if word in seen else 0
warmup_seconds = round(time.time() - warm_started, 1)
sent.clear()
seen.clear()
for i in range(samples):
    word = f"lat{run}x{i}"
    sent[word] = time.time()
    producer.send(topic, value=word.encode()).get(timeout=30)
    time.sleep(interval)
deadline = time.time() + 120
while len(seen) < samples and time.time() < deadline:
    time.sleep(0.5)
done.set()
print(json.dumps({"latencies_ms": [round((seen[w] - sent[w]) * 1000, 1) for w in sent if w in seen],
                  "lost": [w for w in sent if w not in seen],
                  "warmup_seconds": warmup_seconds, "warm": in_a_row >= 3}))
'''


def sink_rates(stdout: str, cap: int | None = None) -> dict:
    """Records/s of a sink run from its per-batch JSON lines. `cap`: its
    maxOffsetsPerTrigger; then the sustained rate is that of the full batches (a backlog
    was waiting), not of the remainder batch at the end."""
    batches = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"event": "batch"' in line:
            batches.append(json.loads(line))
    if not batches:
        return {"batches": 0}
    records = sum(b["records"] for b in batches)
    busy_ms = sum(b.get("duration_ms") or 0 for b in batches)
    first = datetime.fromisoformat(batches[0]["started"].replace("Z", "+00:00"))
    last = datetime.fromisoformat(batches[-1]["started"].replace("Z", "+00:00"))
    span = (last - first).total_seconds() + (batches[-1].get("duration_ms") or 0) / 1000
    # The first batch of a fresh application also pays for its warm-up (JIT, codegen,
    # writers): the sustained rate is that of the batches after it. Spark spreads the cap
    # over the partitions rounding down, so full batches hold a few records less than it.
    rest = batches[1:]
    if cap:
        rest = [b for b in rest if b["records"] >= 0.99 * cap]
    rest_records = sum(b["records"] for b in rest)
    rest_span = 0.0
    if rest:
        rest_first = datetime.fromisoformat(rest[0]["started"].replace("Z", "+00:00"))
        rest_last = datetime.fromisoformat(rest[-1]["started"].replace("Z", "+00:00"))
        rest_span = ((rest_last - rest_first).total_seconds()
                     + (rest[-1].get("duration_ms") or 0) / 1000)
    return {
        "batches": len(batches),
        "records": records,
        "records_per_second_after_first_batch": (round(rest_records / rest_span, 1)
                                                 if rest_span > 0 else None),
        "sustained_batches": len(rest),
        "batch_seconds": [round((b.get("duration_ms") or 0) / 1000, 2) for b in batches],
        "batch_records": [b["records"] for b in batches],
        "records_per_second_busy": round(records / (busy_ms / 1000), 1) if busy_ms else None,
        "records_per_second_end_to_end": round(records / span, 1) if span > 0 else None,
        "batch_records_per_second_max": max(b.get("records_per_second") or 0 for b in batches),
    }


class Remote:
    def __init__(self, inventory: Path):
        self.exec = jobs.ansible_host_exec(inventory)
        hosts = jobs.spark_client_hosts(inventory)
        if not hosts:
            raise SystemExit("no spark_client host in the inventory")
        self.host = hosts[0]

    def sh(self, command: str, timeout: int, check: bool = True) -> jobs.ExecResult:
        done = self.exec(self.host, ["timeout", str(timeout), "bash", "-lc", command])
        if check and done.rc != 0:
            raise SystemExit(f"{self.host}: `{command[:200]}` failed ({done.rc}): "
                             f"{done.stderr[-2000:]}")
        return done

    def write(self, path: str, body: str) -> None:
        self.sh(f"mkdir -p {WORK} && cat > {path} <<'BENCH_EOF'\n{body}\nBENCH_EOF", 30)


def bootstrap_of(remote: Remote) -> str:
    # The internal listeners, as the deployed jobs use (host:port+10000).
    done = remote.sh("grep -h '^advertised.listeners' /etc/kafka/server-*.properties "
                     "2>/dev/null | head -1", 30, check=False)
    servers = []
    for item in done.stdout.split("=", 1)[-1].split(","):
        if item.startswith("INTERNAL://"):
            servers.append(item.removeprefix("INTERNAL://").strip())
    return ",".join(servers) or "localhost:9092"


def run(args) -> dict:
    remote = Remote(Path(args.inventory))
    run_id = uuid.uuid4().hex[:8]
    bootstrap = args.bootstrap or bootstrap_of(remote)
    result: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "host": remote.host, "bootstrap": bootstrap, "run": run_id}

    if not args.skip_latency:
        remote.write(f"{WORK}/latency.py", LATENCY)
        timeout = int(args.samples * args.interval) + 300
        done = remote.sh(f"python3 {WORK}/latency.py {bootstrap} Hello-Kafka wordcount-results "
                         f"{run_id} {args.samples} {args.interval}", timeout)
        data = json.loads(done.stdout.strip().splitlines()[-1])
        lat = data["latencies_ms"]
        result["wordcount_latency_ms"] = {
            "samples": args.samples, "received": len(lat), "lost": len(data["lost"]),
            "p50": percentile(lat, 50), "p95": percentile(lat, 95),
            "p99": percentile(lat, 99), "max": max(lat) if lat else None,
            "mean": round(statistics.mean(lat), 1) if lat else None,
            "trigger_seconds": SERVICE["wordcount_trigger"],
            "warmup_seconds": data.get("warmup_seconds"),
            "warmed_up": data.get("warm"), "latencies_ms": lat,
        }
        print(json.dumps({k: v for k, v in result["wordcount_latency_ms"].items()
                          if k != "latencies_ms"}), flush=True)

    if not args.skip_sink:
        topic = f"bench-sink-{run_id}"
        output, checkpoint = f"/data/_bench/{run_id}", f"/checkpoints/_bench/{run_id}"
        remote.sh(f"kafka-topics.sh --bootstrap-server {bootstrap} --create --topic {topic} "
                  f"--partitions 3 --replication-factor 1", 120)
        produced = remote.sh(
            f"kafka-producer-perf-test.sh --topic {topic} --num-records {args.records} "
            f"--record-size {args.record_size} --throughput -1 --producer-props "
            f"bootstrap.servers={bootstrap} acks=1 linger.ms=5", 600).stdout
        result["producer_perf"] = produced.strip().splitlines()[-1] if produced else ""
        consumed = remote.sh(
            f"kafka-consumer-perf-test.sh --bootstrap-server {bootstrap} --topic {topic} "
            f"--messages {args.records} --timeout 120000 --group bench-{run_id}", 600).stdout
        result["kafka_consumer_perf"] = parse_consumer_perf(consumed)
        print(json.dumps(result["kafka_consumer_perf"]), flush=True)
        # The same application twice over the same topic: once in batch (AvailableNow,
        # one batch of everything: its ceiling without per-batch costs), then streaming as
        # the service runs (its trigger and cap) until it has copied every record.
        for mode in ("batch", "streaming"):
            out_dir, chk_dir = f"{output}/{mode}", f"{checkpoint}/{mode}"
            if mode == "batch":
                options = "--available-now"
            else:
                cap_option = (f" --max-offsets-per-trigger {args.sink_max_offsets}"
                              if args.sink_max_offsets else "")
                options = (f"--trigger {args.sink_trigger} --run-seconds {args.sink_seconds}"
                           f"{cap_option}")
            submit = (
                f"cd /tmp && runuser -u spark -- spark-submit --name bench-sink-{mode}-{run_id} "
                f"{' '.join(f'--conf {c}' for c in args.sink_conf)} "
                f"{SINK_APP} --bootstrap-servers {bootstrap} --topics {topic} "
                f"--output {out_dir} --checkpoint {chk_dir} --starting-offsets earliest "
                f"--stop-after-records {args.records} {options}"
            )
            started = time.monotonic()
            done = remote.sh(submit + " 2>/dev/null", args.sink_seconds + 300, check=False)
            key = "sink" if mode == "streaming" else "sink_batch"
            cap = args.sink_max_offsets if mode == "streaming" else None
            result[key] = dict(sink_rates(done.stdout, cap), rc=done.rc, command=submit,
                               wall_seconds=round(time.monotonic() - started, 1),
                               format="parquet", mode=mode,
                               trigger_seconds=args.sink_trigger if mode == "streaming"
                               else None,
                               max_offsets_per_trigger=(args.sink_max_offsets or None)
                               if mode == "streaming" else None)
            print(json.dumps(result[key]), flush=True)
        remote.sh(f"runuser -u spark -- hdfs dfs -rm -r -f -skipTrash {shlex.quote(output)} "
                  f"{shlex.quote(checkpoint)}; kafka-topics.sh --bootstrap-server {bootstrap} "
                  f"--delete --topic {topic}", 180, check=False)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default=str(ROOT / "inventories" / "local"))
    parser.add_argument("--bootstrap", help="bootstrap servers as seen from the host")
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    # Three of the service's batches: the first pays the warm-up, two are sustained.
    parser.add_argument("--records", type=int, default=3000000)
    parser.add_argument("--record-size", type=int, default=100)
    parser.add_argument("--sink-seconds", type=int, default=150,
                        help="bound of each sink run (it stops earlier once done)")
    parser.add_argument("--sink-max-offsets", type=int, default=SERVICE["max_offsets"],
                        help="maxOffsetsPerTrigger of the streaming run (the service's; 0 = "
                             "none)")
    parser.add_argument("--sink-trigger", type=float, default=SERVICE["trigger"],
                        help="trigger seconds of the streaming run (the service's)")
    parser.add_argument("--sink-conf", action="append", default=list(SERVICE["conf"]),
                        help="spark-submit --conf of both runs (the service's)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-sink", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"pipeline-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
