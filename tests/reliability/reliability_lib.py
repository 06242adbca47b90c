"""Helpers of the fault tests: the load producer and the verifier, waits, and the JSON
report of every test's figures.

Everything runs on the first spark_client host (hadoop-master in the lab) through the
testinfra host, like tests/e2e; the e2e and infra helpers (scripts, checkpoint reader,
Spark count, broker list) are reused from tests/e2e and tests/infra rather than copied. Each
test records its figures with ``figures(name, **values)``; the suite writes one report per
run, every scenario with its verdict and figures, to bench/results/reliability-<UTC
stamp>.json (STREAMSTACK_RELIABILITY_REPORT overrides the path), and prints them at the end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT_PATH = Path(os.environ.get(
    "STREAMSTACK_RELIABILITY_REPORT",
    ROOT / "bench" / "results" / f"reliability-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"))


def _load(relative: str, name: str):
    """A test module of another suite, for its helpers (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


e2e = _load("tests/e2e/test_pipelines.py", "streamstack_e2e_pipelines")
infra_kafka = _load("tests/e2e/test_kafka_cli.py", "streamstack_kafka_cli")
# Not /tmp: systemd-tmpfiles empties it when a container host boots (scenario 4), and
# the acknowledged ids of earlier scenarios must still be there to check.
WORK = "/var/tmp/streamstack-reliability"

# Steady acks=all load until a stop file appears (or max seconds): which records were
# acknowledged, the error types, and the longest time without any acknowledgement. An
# optional last argument, a JSON file of kafka-python settings, holds credentials.
LOAD = r'''
import json, os, sys, time
from kafka import KafkaProducer
bootstrap, topic, prefix, rate, max_seconds, stop, out = sys.argv[1:8]
client = json.load(open(sys.argv[8])) if len(sys.argv) > 8 else {}
rate, max_seconds = float(rate), float(max_seconds)
producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all",
                         retries=100, retry_backoff_ms=500, request_timeout_ms=15000,
                         delivery_timeout_ms=120000, max_in_flight_requests_per_connection=1,
                         linger_ms=5, **client)
acked, ack_times, errors = [], [], {}
def ok(i):
    def done(_):
        acked.append(i); ack_times.append(time.monotonic())
    return done
def failed(exc):
    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
start, i = time.monotonic(), 0
while time.monotonic() - start < max_seconds and not os.path.exists(stop):
    value = f"{prefix}-{i}".encode()
    try:
        producer.send(topic, key=value, value=value).add_callback(ok(i)).add_errback(failed)
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
with open(out + ".acked", "w") as handle:
    json.dump(sorted(acked), handle)
with open(out, "w") as handle:
    json.dump({"sent": i, "acked": len(acked), "errors": sum(errors.values()),
               "error_types": errors, "max_ack_gap_s": round(gap, 2),
               "seconds": round(time.monotonic() - start, 1)}, handle)
'''

# Reads the whole topic and compares with the acknowledged ids: lost and duplicated.
VERIFY = r'''
import json, sys, time
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, prefix, acked_file = sys.argv[1:5]
client = json.load(open(sys.argv[5])) if len(sys.argv) > 5 else {}
deadline = time.monotonic() + 600
acked = set(json.load(open(acked_file)))
consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False,
                         **client)
parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
consumer.assign(parts)
consumer.seek_to_beginning(*parts)
ends = consumer.end_offsets(parts)
# Positions from the records read: kafka-python 2.2's position() before the first poll
# was measured to spin forever.
positions = consumer.beginning_offsets(parts)
seen, consumed = set(), 0
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
                  "duplicated": consumed - len(seen), "lost": len(acked - seen),
                  "unacked_but_stored": len(seen - acked)}))
'''

# Samples the live broker count (cluster metadata) every second until a stop file
# appears: a rolling change must never have two brokers down at once.
WATCH = r'''
import json, os, sys, time
from kafka.admin import KafkaAdminClient
bootstrap, stop, out, max_seconds = sys.argv[1:5]
# A sample that fails (no broker answers, a timeout) counts as 0 brokers: a cluster that
# cannot even say who is in it is not "at most one down".
admin, counts, failed, start = None, [], 0, time.monotonic()
while not os.path.exists(stop) and time.monotonic() - start < float(max_seconds):
    try:
        admin = admin or KafkaAdminClient(bootstrap_servers=bootstrap.split(","),
                                          request_timeout_ms=5000)
        counts.append(len(admin.describe_cluster()["brokers"]))
    except Exception:
        counts.append(0)
        failed += 1
    time.sleep(1)
with open(out, "w") as handle:
    json.dump({"samples": len(counts), "min_brokers": min(counts, default=0),
               "failed_samples": failed}, handle)
'''

class Report:
    """One run of the suite: every collected scenario with its verdict (passed, failed,
    skipped with the reason, or not run) and the figures it recorded, rewritten after
    each scenario so an interrupted run still leaves what it measured."""

    ORDER = {"failed": 0, "passed": 1, "skipped": 2, "not run": 3}

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.scenarios: dict[str, dict] = {}
        self.current: str | None = None
        self.meta: dict = {}

    def collected(self, names: list[str]) -> None:
        for name in names:
            self.scenarios.setdefault(name, {"verdict": "not run", "figures": {}, "runs": []})

    def begin(self, scenario: str) -> None:
        self.collected([scenario])
        self.current = scenario

    def figures(self, name: str, values: dict) -> None:
        self.collected([self.current or name])
        self.scenarios[self.current or name]["figures"].setdefault(name, {}).update(values)
        self.write()

    def outcome(self, scenario: str, node: str, verdict: str, seconds: float,
                reason: str = "") -> None:
        """One test instance's result; the scenario's verdict is the worst of its runs
        (failed, then passed, then skipped: the other hosts of a run skip on purpose)."""
        self.collected([scenario])
        entry = self.scenarios[scenario]
        run = {"node": node, "verdict": verdict, "seconds": round(seconds, 1)}
        if reason:
            run["reason"] = reason
        entry["runs"].append(run)
        entry["verdict"] = min((r["verdict"] for r in entry["runs"]), key=self.ORDER.__getitem__)
        reasons = sorted({r["reason"] for r in entry["runs"]
                          if r.get("reason") and r["verdict"] == entry["verdict"]})
        entry["reason"] = "; ".join(reasons) if entry["verdict"] != "passed" else ""
        self.write()

    def verdict(self) -> str:
        """failed when any scenario failed, passed when all passed, else incomplete."""
        verdicts = {s["verdict"] for s in self.scenarios.values()}
        if not verdicts or "failed" in verdicts:
            return "failed"
        return "passed" if verdicts == {"passed"} else "incomplete"

    def data(self, finished: bool = False) -> dict:
        return {"suite": "reliability", "started": self.started,
                "finished": datetime.now(UTC).isoformat(timespec="seconds") if finished else None,
                **self.meta, "verdict": self.verdict(), "scenarios": self.scenarios}

    def write(self, finished: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data(finished), indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)

    def summary_lines(self) -> list[str]:
        lines = []
        for name, entry in self.scenarios.items():
            lines.append(f"{name}: {entry['verdict']}"
                         + (f" ({entry['reason']})" if entry.get("reason") else ""))
            lines += [f"  {fig}: {json.dumps(values, sort_keys=True)}"
                      for fig, values in entry["figures"].items()]
        return [*lines, f"report: {self.path}"] if lines else []


REPORT = Report(REPORT_PATH)


def figures(name: str, **values) -> dict:
    """Record a test's figures (printed at the end, written to the JSON report)."""
    print(f"{name}: {json.dumps(values, sort_keys=True)}")
    REPORT.figures(name, values)
    return values


def require_scenarios(state: dict, needed: dict[str, str]) -> None:
    """Skip, and say why, when a scenario this one re-checks did not run in this session
    (needed: state key -> scenario name)."""
    missing = [name for key, name in needed.items() if key not in state]
    if missing:
        pytest.skip(f"re-checks what {' and '.join(missing)} left, and that did not run in "
                    "this session (run the whole suite)")


# --- helpers --------------------------------------------------------------------------

def install_scripts(node) -> None:
    """The load, verify and watch scripts and the e2e ones; again after a container
    restart, which empties /tmp (where the e2e scripts live)."""
    node.run(f"mkdir -p {WORK}")
    for name, body in (("load.py", LOAD), ("verify.py", VERIFY), ("watch.py", WATCH)):
        e2e.write(node, f"{WORK}/{name}", body)
    e2e.install_scripts(node)


def create_topic(node, bootstrap: str, topic: str) -> None:
    done = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --create "
                           f"--if-not-exists --topic {topic} --partitions 3 "
                           "--replication-factor 3 --config min.insync.replicas=2", 90)
    assert done.rc == 0, done.stderr[-800:]


def wait_no_under_replicated(node, bootstrap: str, seconds: int) -> float:
    """Seconds until no partition is under-replicated (fails after `seconds`)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if e2e.partitions_in_sync(node, bootstrap):
            return round(time.monotonic() - started, 1)
        time.sleep(2)
    pytest.fail(f"partitions still under-replicated after {seconds}s")


class Load:
    """A steady acks=all producer running in the background on the node."""

    def __init__(self, node, bootstrap: str, topic: str, prefix: str, rate: int = 100,
                 max_seconds: int = 600, client_file: str = "") -> None:
        """client_file: a JSON file of kafka-python settings on the node (credentials)."""
        self.node, self.bootstrap, self.topic, self.prefix = node, bootstrap, topic, prefix
        self.client_file = client_file
        self.out = f"{WORK}/load-{prefix}.json"
        self.stop_file = f"{WORK}/stop-{prefix}"
        node.run(f"nohup timeout {max_seconds + 300} python3 {WORK}/load.py {bootstrap} "
                 f"{topic} {prefix} {rate} {max_seconds} {self.stop_file} {self.out} "
                 f"{client_file} > {self.out}.log 2>&1 &")
        assert node.file(f"{WORK}/load.py").exists, f"{WORK}/load.py is missing on the node"

    def stop(self, seconds: int = 300) -> dict:
        self.node.run(f"touch {self.stop_file}")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done = self.node.run(f"cat {self.out}")
            if done.rc == 0 and done.stdout.strip():
                return json.loads(done.stdout)
            time.sleep(2)
        log = self.node.run(f"tail -20 {self.out}.log").stdout
        pytest.fail(f"the load producer did not finish in {seconds}s: {log}")

    def verify(self) -> dict:
        done = self.node.run(f"timeout 900 python3 {WORK}/verify.py {self.bootstrap} "
                             f"{self.topic} {self.prefix} {self.out}.acked {self.client_file}")
        assert done.rc == 0, done.stderr[-1500:]
        return json.loads(done.stdout.strip().splitlines()[-1])


def unit_states(node, names: list[str]) -> dict[str, dict]:
    """MainPID and ExecMainStartTimestamp of every loaded unit matching the patterns."""
    listing = node.run("systemctl list-units --all --plain --no-legend --type=service "
                       + " ".join(f"'{n}'" for n in names)).stdout
    units = sorted({line.split()[0] for line in listing.splitlines() if line.strip()})
    out = {}
    for unit in units:
        text = node.run(f"systemctl show {unit} -p MainPID -p ExecMainStartTimestamp "
                        "-p ActiveState").stdout
        out[unit] = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return out
