"""Benchmarks of the lab: provisioning, Kafka, pipeline, footprint, connection.

    python -m streamstack.bench [all|provisioning|kafka|pipeline|footprint|connection]
    streamstack bench [SCENARIO] [--keep]

Runs on its own lab (prefix ``bench-``, 3 hosts, no published ports). ``all`` and
``provisioning`` start from fresh containers (image and artifacts cached); the other
scenarios reuse a running bench lab or build one first. The lab is removed with its
volumes at the end unless ``--keep``.

Each scenario writes ``bench/results/<scenario>-<UTC stamp>.json`` (machine facts,
load average at its start, versions, date, every figure next to its goal) and
``bench/results/<scenario>.png``, and refreshes the figures table in bench/README.md.
The pure parts (output parsers, percentile, figures) are unit tested in
tests/unit/test_bench.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import PROJECT_ROOT, __version__

BENCH_DIR = PROJECT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
SCENARIOS = ("provisioning", "kafka", "pipeline", "footprint", "connection")
PREFIX = "bench-"
HOSTS = 3
GIB = 1024 ** 3
MIB = 1024 ** 2

# The goals: targets to report against, not assertions.
GOALS = {
    "cold_site_seconds": ("<=", 300, "cold up of the full stack under 5 minutes"),
    "warm_site_seconds": ("<=", 30, "warm re-run under 30 s"),
    "warm_changed": ("==", 0, "warm re-run changes nothing"),
    "wordcount_p95_ms": ("<=", 2000, "word count p95 under 2 s"),
    "sink_to_consumer_ratio": (">=", 0.5, "sink at least half the raw consumer rate"),
    "tuned_to_defaults_ratio": (">=", 1.0, "tuning helps, not hurts"),
    "lab_total_rss_gib": ("<=", 8.0, "the lab fits in 8 GiB"),
}
# The project README shows these scenarios' latest figures, each in its own block.
PROJECT_README = PROJECT_ROOT / "README.md"
PROJECT_README_SCENARIOS = ("connection",)


# --------------------------------------------------------------------- pure parts

def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation): a value that was measured."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def ratio(numerator: float | None, denominator: float | None, digits: int = 3
          ) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, digits)


PRODUCER_LINE = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbs>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency"
    r"(?:, (?P<p50>\d+) ms 50th, (?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th)?")


def parse_producer_perf(text: str) -> dict:
    """The final summary line of kafka-producer-perf-test.sh (MB/sec is MiB/s there)."""
    matches = list(PRODUCER_LINE.finditer(text))
    if not matches:
        return {"raw": text[-500:]}
    m = matches[-1]
    out = {"records": int(m["records"]), "records_per_second": float(m["rps"]),
           "mib_per_second": float(m["mbs"]), "latency_avg_ms": float(m["avg"]),
           "latency_max_ms": float(m["max"])}
    for key in ("p50", "p95", "p99"):
        if m[key] is not None:
            out[f"latency_{key}_ms"] = int(m[key])
    return out


def parse_consumer_perf(text: str) -> dict:
    """kafka-consumer-perf-test.sh CSV: header line then one data line (MB = MiB)."""
    lines = [line for line in text.splitlines() if "," in line]
    header = next((i for i, line in enumerate(lines) if line.startswith("start.time")), None)
    if header is None or header + 1 >= len(lines):
        return {"raw": text[-500:]}
    keys = [k.strip() for k in lines[header].split(",")]
    values = [v.strip() for v in lines[header + 1].split(",")]
    out = dict(zip(keys, values, strict=False))
    return {"records": int(float(out.get("data.consumed.in.nMsg", 0))),
            "records_per_second": float(out.get("nMsg.sec", 0)),
            "mb_per_second": float(out.get("MB.sec", 0)),
            "fetch_records_per_second": float(out.get("fetch.nMsg.sec", 0) or 0),
            "fetch_mb_per_second": float(out.get("fetch.MB.sec", 0) or 0)}


DD_LINE = re.compile(r"(?P<bytes>\d+) bytes .*copied, (?P<seconds>[\d.]+) s")


def parse_dd(text: str) -> dict:
    """GNU dd's last line: '268435456 bytes (268 MB, 256 MiB) copied, 2.1 s, 128 MB/s'."""
    matches = list(DD_LINE.finditer(text))
    if not matches:
        return {"raw": text[-300:]}
    size, seconds = int(matches[-1]["bytes"]), float(matches[-1]["seconds"])
    return {"bytes": size, "seconds": seconds,
            "mib_per_second": round(size / MIB / seconds, 1) if seconds else None}


def parse_docker_mem(text: str) -> float:
    """`docker stats` MemUsage's first half ('1.23GiB / 23.4GiB') in bytes."""
    value = text.split("/")[0].strip()
    m = re.fullmatch(r"([\d.]+)\s*([kKMGT]?i?B)", value)
    if not m:
        return 0.0
    scale = {"B": 1, "KiB": 1024, "MiB": MIB, "GiB": GIB, "TiB": 1024 * GIB,
             "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
    return float(m[1]) * scale.get(m[2], 1)


def figure(name: str, value, unit: str, goal_key: str | None = None,
           note: str = "") -> dict:
    """One measured number, with its goal and whether it is met (None: no goal)."""
    out = {"name": name, "value": value, "unit": unit, "goal": None, "met": None}
    if goal_key:
        op, target, text = GOALS[goal_key]
        out["goal"] = {"op": op, "value": target, "text": text}
        if value is not None:
            out["met"] = {"<=": value <= target, ">=": value >= target,
                          "==": value == target}[op]
    if note:
        out["note"] = note
    return out


def goal_text(fig: dict) -> str:
    goal = fig.get("goal")
    if not goal:
        return "reported"
    return f"{goal['op']} {goal['value']} {fig['unit']}".strip()


def top_tasks(task_seconds: dict[str, float], count: int = 8) -> list[dict]:
    ranked = sorted(task_seconds.items(), key=lambda item: -item[1])[:count]
    return [{"task": name, "seconds": round(seconds, 1)} for name, seconds in ranked]


def run_summary(summary, wall: float) -> dict:
    """A runner.Summary as JSON: wall time, changed, per-play times, slowest tasks."""
    return {"seconds": round(wall, 1), "ok": summary.ok, "changed": summary.changed,
            "changed_tasks": summary.changed_tasks[:40],
            "play_seconds": {k: round(v, 1) for k, v in summary.play_seconds.items()},
            "slowest_tasks": top_tasks(summary.task_seconds),
            "stats": summary.stats}


def footprint_totals(hosts: dict[str, dict]) -> dict:
    """Per-host daemon RSS sums and the lab total, from the per-host probe output."""
    per_host = {}
    for host, data in hosts.items():
        per_host[host] = {"daemons_rss_bytes": sum(u["rss_bytes"] for u in data["units"]),
                          "all_processes_rss_bytes": data["total_rss_bytes"]}
    total = sum(h["all_processes_rss_bytes"] for h in per_host.values())
    daemons = sum(h["daemons_rss_bytes"] for h in per_host.values())
    return {"per_host": per_host, "lab_total_rss_bytes": total,
            "lab_daemons_rss_bytes": daemons,
            "lab_total_rss_gib": round(total / GIB, 2)}


def result_document(scenario: str, figures: list[dict], details: dict, machine: dict,
                    versions: dict, seconds: float) -> dict:
    return {"scenario": scenario,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "machine": machine, "versions": versions,
            "lab": {"prefix": PREFIX, "hosts": HOSTS},
            "figures": figures, "details": details}


def figures_markdown(documents: list[dict]) -> str:
    """The README's figures table: every figure of the latest run of each scenario."""
    lines = ["| scenario | figure | measured | goal | met | run (load avg 1m at start) |",
             "|---|---|---|---|---|---|"]
    for doc in documents:
        load = (doc.get("machine", {}).get("load_average_start") or [None])[0]
        for fig in doc["figures"]:
            met = {True: "yes", False: "**no**", None: "-"}[fig["met"]]
            lines.append(f"| {doc['scenario']} | {fig['name']} | {fig['value']} {fig['unit']} "
                         f"| {goal_text(fig)} | {met} | {doc['date'][:16]} ({load}) |")
    return "\n".join(lines)


def replace_block(text: str, block: str, marker: str = "figures") -> str:
    """Replace what sits between <!-- bench:MARKER:start --> and its end marker."""
    start_mark, end_mark = f"<!-- bench:{marker}:start -->", f"<!-- bench:{marker}:end -->"
    start, end = text.find(start_mark), text.find(end_mark)
    if start < 0 or end < start:
        return text.rstrip("\n") + f"\n\n{start_mark}\n{block}\n{end_mark}\n"
    return text[:start + len(start_mark)] + "\n" + block + "\n" + text[end:]


# ----------------------------------------------------------------- machine facts

def machine_facts() -> dict:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    root = _out(["docker", "info", "--format", "{{.DockerRootDir}}"]) or "/var/lib/docker"
    disk = {"path": root}
    best = ""
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, fstype, *_ = line.split()
        if root.startswith(mount) and len(mount) > len(best):
            best, disk = mount, {"path": root, "mount": mount, "device": device,
                                 "fstype": fstype}
    if Path(root).exists():
        stat = os.statvfs(root)
        disk["size_gib"] = round(stat.f_blocks * stat.f_frsize / GIB, 1)
        disk["free_gib"] = round(stat.f_bavail * stat.f_frsize / GIB, 1)
    return {"cores": os.cpu_count(),
            "memory_gib": round(int(mem[1]) * 1024 / GIB, 1) if mem else None,
            "kernel": platform.release(), "os": platform.platform(),
            "disk": disk, "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "other_containers_running": len((_out(["docker", "ps", "-q"]) or "").split())}


def versions() -> dict:
    out = {"streamstack": __version__, "python": platform.python_version(),
           "git": _out(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"]),
           "docker": _out(["docker", "version", "--format", "{{.Server.Version}}"])}
    try:
        from ansible.release import __version__ as ansible_version
        out["ansible_core"] = ansible_version
    except ImportError:
        out["ansible_core"] = None
    manifest = PROJECT_ROOT / ".cache" / "artifacts" / "manifest.json"
    if manifest.exists():
        products = json.loads(manifest.read_text()).get("products", {})
        out.update({name: p.get("version") for name, p in products.items()})
    try:
        from .image import image_tag
        out["image"] = image_tag()
    except Exception:  # noqa: BLE001 - a fact, not a requirement
        out["image"] = None
    return out


def _out(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# ---------------------------------------------------------------------- the lab

STARTED = time.monotonic()


def log(message: str) -> None:
    elapsed = int(time.monotonic() - STARTED)
    print(f"[bench {elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


def load_bench_module(name: str):
    """bench/<name>.py (bench/ is scripts, not a package) imported by path."""
    module_name = f"streamstack_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCH_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Context:
    prefix: str = PREFIX
    out: Path = RESULTS_DIR
    inventory: Path | None = None
    # The Kafka tuning the brokers run with now (the provisioning change turns it off).
    kafka_tuning: bool = True
    options: dict = field(default_factory=dict)

    @property
    def lab(self):
        from . import lab
        return lab.Lab(self.prefix)


def run_playbook(ctx: Context, playbook: str, label: str, **kwargs) -> dict:
    from . import runner

    log(f"{label}: ansible-playbook {playbook} {kwargs.get('extravars') or ''}".rstrip())
    started = time.monotonic()
    summary, run_dir = runner.run_playbook(playbook, ctx.inventory, **kwargs)
    wall = time.monotonic() - started
    data = run_summary(summary, wall)
    data["run_dir"] = str(run_dir.relative_to(PROJECT_ROOT))
    log(f"{label}: {'ok' if summary.ok else 'FAILED'} in {wall:.0f}s, changed={summary.changed}")
    if not summary.ok:
        print(runner.format_summary(summary, run_dir), flush=True)
        raise SystemExit(f"bench: {label} failed; see {run_dir}")
    return data


def fresh_lab(ctx: Context, ssh: bool = False) -> float:
    """Remove any bench lab with its volumes, then create the containers; seconds.
    With ssh the hosts are reached like lab VMs (SSH as a sudo user)."""
    from . import image, lab

    if ctx.lab.containers():
        log(f"removing the previous {ctx.prefix} lab and its volumes")
        lab.down(ctx.lab, purge=True, progress=log)
    tag, _ = image.build(progress=log)
    started = time.monotonic()
    ctx.inventory = lab.up(tag, count=HOSTS, lab=ctx.lab, publish=False, ssh=ssh,
                           progress=log)
    return time.monotonic() - started


def ensure_lab(ctx: Context) -> None:
    """A running, converged bench lab for the scenarios that measure one."""
    from . import lab

    if ctx.inventory:
        return
    running = [c for c in ctx.lab.containers() if c["State"] == "running"]
    if len(running) >= HOSTS:
        ctx.inventory = lab.write_inventory(ctx.lab, HOSTS)
        return
    log(f"no running {ctx.prefix} lab: building one (not measured)")
    fresh_lab(ctx)
    run_playbook(ctx, "site.yml", "setup")


def settle(ctx: Context, timeout: float = 240.0) -> dict:
    """Wait until every job runs a YARN application and the 1-minute load average is
    under the core count: the cold run returns while the jobs still start (drivers,
    ApplicationMasters, executors), and a re-run measured then measures their start.
    Bounded; returns what it waited for."""
    from . import jobs

    started = time.monotonic()
    host_exec = jobs.ansible_host_exec(ctx.inventory)
    hosts = jobs.spark_client_hosts(ctx.inventory)
    cores = os.cpu_count() or 1
    running = False
    while time.monotonic() - started < timeout:
        if not running:
            rows = jobs.status(host_exec, hosts)
            running = bool(rows) and all(r.yarn_state == "RUNNING" for r in rows)
        if running and os.getloadavg()[0] < cores:
            break
        time.sleep(5)
    waited = round(time.monotonic() - started, 1)
    load = round(os.getloadavg()[0], 2)
    log(f"settled in {waited:.0f}s: jobs running={running}, load average {load}")
    return {"seconds": waited, "jobs_running": running, "load_average_1m": load}


# -------------------------------------------------------------------- scenarios

def scenario_provisioning(ctx: Context) -> tuple[list[dict], dict]:
    lab_seconds = fresh_lab(ctx)
    log(f"containers up in {lab_seconds:.0f}s")
    cold = run_playbook(ctx, "site.yml", "cold site.yml")
    settled = settle(ctx)
    warm = run_playbook(ctx, "site.yml", "warm site.yml")
    # The same no-op run without Mitogen (ansible.cfg's strategy), right after: its gain.
    warm_linear = run_playbook(ctx, "site.yml", "warm site.yml, linear strategy (no Mitogen)",
                               env={"ANSIBLE_STRATEGY": "linear"})
    change_var = {"kafka_tuning": False}
    change = run_playbook(ctx, "site.yml", "one-variable change", extravars=change_var)
    ctx.kafka_tuning = False
    details = {"lab_up_seconds": round(lab_seconds, 1), "cold": cold,
               "settle_before_warm": settled, "warm": warm, "warm_linear": warm_linear,
               "change": dict(change, extravars=change_var)}
    figures = [
        figure("cold up (containers + site.yml)", round(lab_seconds + cold["seconds"], 1), "s",
               "cold_site_seconds", note=f"site.yml alone {cold['seconds']:.0f} s"),
        figure("warm site.yml re-run", round(warm["seconds"], 1), "s", "warm_site_seconds",
               note=f"after the jobs ran and the load settled ({settled['seconds']:.0f} s)"),
        figure("warm re-run changed tasks", warm["changed"], "", "warm_changed"),
        figure("warm re-run without Mitogen (linear strategy)", round(warm_linear["seconds"], 1),
               "s", note=f"changed={warm_linear['changed']}"),
        figure("warm re-run, Mitogen / linear", ratio(warm["seconds"], warm_linear["seconds"]),
               "x"),
        figure("warm / cold site.yml", ratio(warm["seconds"], cold["seconds"]), "x"),
        figure("one-variable change (kafka_tuning=false) site.yml",
               round(change["seconds"]), "s",
               note=f"changed={change['changed']}; brokers restarted one at a time"),
    ]
    return figures, details


def scenario_connection(ctx: Context) -> tuple[list[dict], dict]:
    """The same cold and warm site.yml on fresh hosts reached with `docker exec` as root,
    then over SSH as the sudo user (the lab VM path), one after the other."""
    from . import artifacts

    # The controller's cache first, unmeasured: a stale cache would bill the first run
    # alone for the downloads and packing.
    artifacts.fetch(artifacts.default_cache_dir(), progress=log)
    details: dict = {}
    for connection in ("docker", "ssh"):
        lab_seconds = fresh_lab(ctx, ssh=connection == "ssh")
        cold = run_playbook(ctx, "site.yml", f"cold site.yml over {connection}")
        settled = settle(ctx)
        warm = run_playbook(ctx, "site.yml", f"warm site.yml over {connection}")
        details[connection] = {"lab_up_seconds": round(lab_seconds, 1), "cold": cold,
                               "settle_before_warm": settled, "warm": warm}
    # The next scenarios build (ensure_lab) and measure a lab as make up makes it.
    from . import lab
    lab.down(ctx.lab, purge=True, progress=log)
    ctx.inventory = None
    docker, ssh = details["docker"], details["ssh"]
    figures = [
        figure("cold site.yml over docker exec (root)", docker["cold"]["seconds"], "s"),
        figure("cold site.yml over SSH (sudo user)", ssh["cold"]["seconds"], "s",
               note=f"changed={ssh['cold']['changed']}"),
        figure("cold site.yml, SSH / docker exec",
               ratio(ssh["cold"]["seconds"], docker["cold"]["seconds"]), "x"),
        figure("warm site.yml over docker exec (root)", docker["warm"]["seconds"], "s"),
        figure("warm site.yml over SSH (sudo user)", ssh["warm"]["seconds"], "s",
               note=f"changed={ssh['warm']['changed']}"),
        figure("warm site.yml, SSH / docker exec",
               ratio(ssh["warm"]["seconds"], docker["warm"]["seconds"]), "x"),
    ]
    return figures, details


KAFKA_PYTHON_RUN = r"""
set -eu
topic=$1; bootstrap=$2; count=$3; work=$4
python3 -c "import sys; sys.stdout.write(('x' * 1023 + '\n') * int(sys.argv[1]))" "$count" \
  > "$work/records.txt"
start=$(date +%s.%N)
python3 "$work/producer.py" "$topic" --bootstrap "$bootstrap" --lines "$work/records.txt" \
  > /dev/null
end=$(date +%s.%N)
rm -f "$work/records.txt"
echo "$start $end"
"""

DD_RUN = r"""
set -eu
dir=$1; mib=$2
file="$dir/streamstack-bench-dd.bin"
trap 'rm -f "$file"' EXIT
LC_ALL=C dd if=/dev/zero of="$file" bs=1M count="$mib" oflag=direct conv=fdatasync 2>&1 \
  | tail -1
"""


def kafka_measure(ctx: Context, remote, bootstrap: str, tuning: bool, full: bool = True
                  ) -> dict:
    """Producer and consumer perf tests on a fresh topic; `full` adds dd and kafka-python."""
    label = "tuned" if tuning else "defaults"
    records, python_records = ctx.options["kafka_records"], ctx.options["python_records"]
    topic = f"bench-kafka-{label}-{uuid.uuid4().hex[:6]}"
    work = "/tmp/streamstack-bench"
    log(f"kafka ({label}): topic {topic}, RF 3, 3 partitions, min.insync.replicas=2")
    remote.sh(f"kafka-topics.sh --bootstrap-server {bootstrap} --create --topic {topic} "
              f"--partitions 3 --replication-factor 3 --config min.insync.replicas=2", 120)
    out: dict = {"topic": topic, "kafka_tuning": tuning, "load_average": os.getloadavg()[0]}
    try:
        if full:
            log(f"kafka ({label}): dd {ctx.options['dd_mib']} MiB to the Kafka data dir")
            remote.write(f"{work}/dd.sh", DD_RUN)
            out["disk"] = parse_dd(remote.sh(
                f"bash {work}/dd.sh /var/lib/kafka {ctx.options['dd_mib']}", 300).stdout)
            log(f"kafka ({label}): disk {out['disk'].get('mib_per_second')} MiB/s")
        log(f"kafka ({label}): producer perf test, {records} x 1 KiB, acks=all")
        out["producer_perf"] = parse_producer_perf(remote.sh(
            f"kafka-producer-perf-test.sh --topic {topic} --num-records {records} "
            f"--record-size 1024 --throughput -1 --producer-props "
            f"bootstrap.servers={bootstrap} acks=all", 600).stdout)
        log(f"kafka ({label}): producer {out['producer_perf'].get('mib_per_second')} MiB/s; "
            f"consumer perf test")
        out["consumer_perf"] = parse_consumer_perf(remote.sh(
            f"kafka-consumer-perf-test.sh --bootstrap-server {bootstrap} --topic {topic} "
            f"--messages {records} --timeout 120000 --group bench-{topic}", 600).stdout)
        log(f"kafka ({label}): consumer {out['consumer_perf'].get('mb_per_second')} MiB/s")
        if not full:
            return out
        log(f"kafka ({label}): kafka-python producer (jobs/producer.py), {python_records} x 1 KiB")
        remote.write(f"{work}/producer.py", (PROJECT_ROOT / "jobs" / "producer.py").read_text())
        remote.write(f"{work}/kafka_python.sh", KAFKA_PYTHON_RUN)
        start, end = (float(x) for x in remote.sh(
            f"bash {work}/kafka_python.sh {topic} {bootstrap} {python_records} {work}",
            600).stdout.split()[-2:])
        seconds = end - start
        out["kafka_python"] = {"records": python_records, "seconds": round(seconds, 2),
                               "records_per_second": round(python_records / seconds, 1),
                               "mib_per_second": round(python_records * 1024 / MIB / seconds,
                                                       2)}
        log(f"kafka ({label}): kafka-python {out['kafka_python']['mib_per_second']} MiB/s")
    finally:
        remote.sh(f"kafka-topics.sh --bootstrap-server {bootstrap} --delete --topic {topic}",
                  120, check=False)
    producer = out["producer_perf"].get("mib_per_second")
    disk = out["disk"].get("mib_per_second")
    out["broker_write_efficiency"] = ratio(producer * 3 if producer else None, disk)
    return out


def mean_ratio(tuned: list[float | None], defaults: list[float | None]) -> float | None:
    """Mean of the tuned rates over mean of the defaults rates (None if any is missing)."""
    if not tuned or not defaults or None in tuned or None in defaults:
        return None
    return ratio(sum(tuned) / len(tuned), sum(defaults) / len(defaults))


def scenario_kafka(ctx: Context) -> tuple[list[dict], dict]:
    ensure_lab(ctx)
    pipeline = load_bench_module("pipeline")
    remote = pipeline.Remote(ctx.inventory)
    bootstrap = pipeline.bootstrap_of(remote)
    runs: dict[str, dict] = {}
    converges = []
    # What the brokers run now (the provisioning change leaves the defaults).
    ctx.kafka_tuning = remote.sh("grep -l 'Tuning (kafka_tuning)' /etc/kafka/server-*.properties",
                                 30, check=False).rc == 0
    # A, B, B, A (A = what the brokers run now): a drift of the shared machine during the
    # scenario weighs on both configurations alike. The first of each is a full
    # measurement (dd, kafka-python too), the second only the perf tests.
    first = ctx.kafka_tuning
    repeats: list[dict] = []
    for tuning in (first, not first, not first, first):
        if tuning != ctx.kafka_tuning:
            converges.append(run_playbook(ctx, "playbooks/kafka.yml",
                                          f"kafka.yml kafka_tuning={str(tuning).lower()}",
                                          extravars={"kafka_tuning": tuning}))
            ctx.kafka_tuning = tuning
        label = "tuned" if tuning else "defaults"
        if label in runs:
            repeats.append(kafka_measure(ctx, remote, bootstrap, tuning, full=False))
        else:
            runs[label] = kafka_measure(ctx, remote, bootstrap, tuning)
    if not ctx.kafka_tuning:
        converges.append(run_playbook(ctx, "playbooks/kafka.yml", "kafka.yml back to tuned",
                                      extravars={"kafka_tuning": True}))
        ctx.kafka_tuning = True
    tuned, defaults = runs["tuned"], runs["defaults"]
    every = [tuned, defaults, *repeats]

    def rates(kind: str, tool: str, key: str) -> list:
        return [m[tool].get(key) for m in every if m["kafka_tuning"] == (kind == "tuned")]

    producer = {kind: rates(kind, "producer_perf", "mib_per_second")
                for kind in ("tuned", "defaults")}
    producer_ratios = [ratio(t, d)
                       for t, d in zip(producer["tuned"], producer["defaults"], strict=False)]
    details = {"bootstrap": bootstrap, "host": remote.host, "runs": runs, "repeats": repeats,
               "converges": [{k: c[k] for k in ("seconds", "changed", "run_dir")}
                             for c in converges],
               "notes": "MB/s are MiB/s (Kafka's perf tools divide by 1024*1024). Broker "
                        "write efficiency = producer MiB/s x RF 3 / dd MiB/s (oflag=direct, "
                        "fdatasync) to /var/lib/kafka: every byte is written by 3 brokers "
                        "to the same physical disk; > 1 is possible because brokers write "
                        "to the page cache and do not fsync per record (upstream default)."}
    figures = [
        figure("producer perf test (tuned)", tuned["producer_perf"].get("mib_per_second"),
               "MiB/s", note=f"{tuned['producer_perf'].get('records_per_second')} records/s, "
                             f"p99 {tuned['producer_perf'].get('latency_p99_ms')} ms"),
        figure("consumer perf test (tuned)", tuned["consumer_perf"].get("mb_per_second"),
               "MiB/s"),
        figure("kafka-python producer (tuned)", tuned["kafka_python"]["mib_per_second"],
               "MiB/s"),
        figure("disk sequential write (dd, direct+fdatasync)",
               tuned["disk"].get("mib_per_second"), "MiB/s"),
        figure("broker write efficiency (tuned)", tuned["broker_write_efficiency"], "x",
               note="producer x RF / disk"),
        figure("broker write efficiency (defaults)", defaults["broker_write_efficiency"], "x"),
        figure("producer tuned / defaults",
               mean_ratio(producer["tuned"], producer["defaults"]), "x",
               "tuned_to_defaults_ratio",
               note="mean of 2 runs each, A-B-B-A; pairwise "
                    + ", ".join(str(r) for r in producer_ratios)),
        figure("consumer tuned / defaults",
               mean_ratio(rates("tuned", "consumer_perf", "mb_per_second"),
                          rates("defaults", "consumer_perf", "mb_per_second")), "x",
               note="MB/s over the whole run, group join included (upstream waits 3 s "
                    "before the first rebalance, the tuning 0)"),
        figure("consumer fetch tuned / defaults",
               mean_ratio(rates("tuned", "consumer_perf", "fetch_mb_per_second"),
                          rates("defaults", "consumer_perf", "fetch_mb_per_second")), "x",
               note="fetch MB/s only, group join excluded"),
    ]
    return figures, details


def scenario_pipeline(ctx: Context) -> tuple[list[dict], dict]:
    ensure_lab(ctx)
    pipeline = load_bench_module("pipeline")
    args = pipeline.build_parser().parse_args(
        ["--inventory", str(ctx.inventory), "--samples", str(ctx.options["samples"])])
    log(f"pipeline: word count latency ({args.samples} words, one every {args.interval}s), "
        f"then the sink on {args.records} records")
    details = pipeline.run(args)
    lat = details.get("wordcount_latency_ms", {})
    consumer = details.get("kafka_consumer_perf", {}).get("records_per_second")
    # Sustained: the batches after the first, which also warms the fresh application up.
    sink = details.get("sink", {}).get("records_per_second_after_first_batch")
    figures = [
        figure("word count latency p50", lat.get("p50"), "ms"),
        figure("word count latency p95", lat.get("p95"), "ms", "wordcount_p95_ms"),
        figure("word count latency p99", lat.get("p99"), "ms"),
        figure("word count samples lost", lat.get("lost"), ""),
        figure("word count warm-up (not in the percentiles)", lat.get("warmup_seconds"), "s",
               note="until 3 warm-up words in a row came back within 5 s"),
        figure("HDFS sink, sustained", sink, "records/s",
               note=f"{args.records} records, maxOffsetsPerTrigger {args.sink_max_offsets}, "
                    "batches after the first"),
        figure("kafka-consumer-perf-test, same topic", consumer, "records/s"),
        figure("sink / raw consumer", ratio(sink, consumer), "x", "sink_to_consumer_ratio"),
    ]
    return figures, details


FOOTPRINT_PROBE = r"""
import json, os, re, subprocess
UNITS = re.compile(r"^(zookeeper|kafka@.*|hdfs-.*|yarn-.*|spark-job-.*|mapred-.*|prometheus"
                   r"|streamstack-jobs-exporter)\.service$")
def show(unit, prop):
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", unit],
                          capture_output=True, text=True).stdout.strip()
rss, children, ticks = {}, {}, {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ppid = int(fields[1])
        ticks[int(pid)] = int(fields[11]) + int(fields[12])  # utime + stime
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    except OSError:
        continue
    rss[int(pid)] = int(m[1]) * 1024 if m else 0
    children.setdefault(ppid, []).append(int(pid))
listed = subprocess.run(["systemctl", "list-units", "--type=service", "--state=running",
                         "--plain", "--no-legend"], capture_output=True, text=True).stdout
units = []
for line in listed.splitlines():
    name = line.split()[0] if line.split() else ""
    if not UNITS.match(name):
        continue
    main = int(show(name, "MainPID") or 0)
    tree, todo = [], [main] if main else []
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    current = show(name, "MemoryCurrent")
    # CPU time of the tree's live processes (systemd's CPUUsageNSec is not set in
    # containers run with --cgroupns=host).
    cpu = sum(ticks.get(p, 0) for p in tree) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    units.append({"unit": name, "main_pid": main, "processes": len(tree),
                  "rss_bytes": sum(rss.get(p, 0) for p in tree),
                  "memory_current_bytes": int(current) if current.isdigit() else None,
                  "cpu_nsec": cpu})
print(json.dumps({"units": units, "total_rss_bytes": sum(rss.values()),
                  "processes": len(rss)}))
"""


# Units that are the monitoring stack itself; every other probed unit is a JVM daemon
# (with its JMX agent when metrics are on).
MONITORING_UNITS = ("prometheus.service", "streamstack-jobs-exporter.service")


def _probe(ctx: Context) -> dict[str, dict]:
    from . import jobs

    host_exec = jobs.ansible_host_exec(ctx.inventory)
    hosts = {}
    for host in jobs._inventory_hosts(ctx.inventory, "all"):
        done = host_exec(host, ["python3", "-c", FOOTPRINT_PROBE])
        if done.rc != 0:
            raise SystemExit(f"footprint probe failed on {host}: {done.stderr[-500:]}")
        hosts[host] = json.loads(done.stdout.strip().splitlines()[-1])
    return hosts


def monitoring_split(before: dict[str, dict], after: dict[str, dict], seconds: float) -> dict:
    """RSS (at the end) and CPU (cores, over the window) of the JVM daemons and of the
    monitoring units, from two probes ``seconds`` apart; a unit restarted in between
    (CPU went down) counts no CPU."""
    out = {"jvm_rss_bytes": 0, "monitoring_rss_bytes": 0, "jvm_cpu_cores": 0.0,
           "monitoring_cpu_cores": 0.0, "window_seconds": round(seconds, 1)}
    for host, data in after.items():
        earlier = {u["unit"]: u for u in before.get(host, {}).get("units", [])}
        for unit in data["units"]:
            kind = "monitoring" if unit["unit"] in MONITORING_UNITS else "jvm"
            out[f"{kind}_rss_bytes"] += unit["rss_bytes"]
            start = earlier.get(unit["unit"], {}).get("cpu_nsec")
            if unit.get("cpu_nsec") is not None and start is not None \
                    and unit["cpu_nsec"] >= start and seconds > 0:
                out[f"{kind}_cpu_cores"] += (unit["cpu_nsec"] - start) / 1e9 / seconds
    out["jvm_cpu_cores"] = round(out["jvm_cpu_cores"], 3)
    out["monitoring_cpu_cores"] = round(out["monitoring_cpu_cores"], 3)
    return out


def _measure(ctx: Context) -> tuple[dict, dict]:
    window = ctx.options.get("cpu_window_seconds", 60)
    before = _probe(ctx)
    started = time.monotonic()
    time.sleep(window)
    after = _probe(ctx)
    return after, monitoring_split(before, after, time.monotonic() - started)


def scenario_footprint(ctx: Context) -> tuple[list[dict], dict]:
    ensure_lab(ctx)
    settle_for = ctx.options["settle_seconds"]
    log(f"footprint: {settle_for}s at rest, then RSS and CPU of every daemon's process tree")
    time.sleep(settle_for)
    hosts, split = _measure(ctx)
    totals = footprint_totals(hosts)
    docker_stats = {}
    stats = _out(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"])
    for line in (stats or "").splitlines():
        name, _, usage = line.partition("\t")
        if name.startswith(ctx.prefix):
            docker_stats[name] = round(parse_docker_mem(usage))
    docker_total = sum(docker_stats.values())
    details = {"hosts": hosts, "totals": totals, "docker_stats_bytes": docker_stats,
               "metrics_on": split,
               "notes": "rss = sum of VmRSS over each unit's MainPID process tree (YARN "
                        "containers count under yarn-nodemanager); shared pages are "
                        "counted once per process, so sums are an upper bound. "
                        "docker stats = the containers' cgroup memory without page cache. "
                        "CPU = utime + stime of each unit's process tree over the window, "
                        "in cores (a unit restarted in between counts none)."}
    figures = [figure(f"{host} daemons RSS", round(t["daemons_rss_bytes"] / GIB, 2), "GiB")
               for host, t in totals["per_host"].items()]
    figures += [
        figure("lab total RSS (all processes, 3 hosts)", totals["lab_total_rss_gib"], "GiB",
               "lab_total_rss_gib"),
        # docker stats shows 0 B for containers run with --cgroupns=host: no figure then.
        figure("lab total (docker stats)", round(docker_total / GIB, 2) if docker_total
               else None, "GiB", "lab_total_rss_gib"),
        figure("Prometheus + jobs exporter RSS", round(split["monitoring_rss_bytes"] / MIB),
               "MiB"),
        figure("Prometheus + jobs exporter CPU", split["monitoring_cpu_cores"], "cores"),
        figure("JVM daemons CPU at rest, agents scraped", split["jvm_cpu_cores"], "cores"),
    ]
    if ctx.options.get("metrics_compare"):
        # The same lab converged without the agents (every JVM restarts), measured the
        # same way, then converged back: the difference is what the agents cost.
        off_run = run_playbook(ctx, "site.yml", "metrics off",
                               extravars={"streamstack_metrics_enabled": False})
        details["metrics_off_converge"] = off_run
        settle(ctx)
        time.sleep(settle_for)
        off_hosts, off = _measure(ctx)
        details["metrics_off"] = off
        details["metrics_off_hosts"] = off_hosts
        details["metrics_on_again"] = run_playbook(ctx, "site.yml", "metrics on again")
        figures += [
            figure("JVM daemons RSS added by the JMX agents",
                   round((split["jvm_rss_bytes"] - off["jvm_rss_bytes"]) / MIB), "MiB"),
            figure("JVM daemons CPU added by the agents and scrapes",
                   round(split["jvm_cpu_cores"] - off["jvm_cpu_cores"], 3), "cores"),
        ]
    return figures, details


RUNNERS = {"provisioning": scenario_provisioning, "kafka": scenario_kafka,
           "pipeline": scenario_pipeline, "footprint": scenario_footprint,
           "connection": scenario_connection}


# ----------------------------------------------------------------------- charts

def chart(scenario: str, doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = doc["details"]
    load = doc["machine"]["load_average_start"][0]
    if scenario == "provisioning":
        fig, ax = plt.subplots(figsize=(9, 4.5))
        runs = [("cold", details["cold"]), ("warm", details["warm"])]
        if "warm_linear" in details:
            runs.append(("warm, no Mitogen", details["warm_linear"]))
        runs.append(("change", details["change"]))
        plays = list(details["cold"]["play_seconds"])
        bottom = [0.0] * len(runs)
        cmap = plt.get_cmap("tab20")
        for i, play in enumerate(plays):
            values = [r["play_seconds"].get(play, 0.0) for _, r in runs]
            ax.barh([name for name, _ in runs], values, left=bottom, color=cmap(i % 20),
                    label=play[:40])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.axvline(300, color="red", linestyle="--", label="goal cold 300 s")
        ax.axvline(30, color="orange", linestyle="--", label="goal warm 30 s")
        ax.set_xlabel("seconds (per play, stacked)")
        ax.invert_yaxis()
        ax.legend(fontsize=6, loc="lower right")
    elif scenario == "kafka":
        fig, ax = plt.subplots(figsize=(9, 4.5))
        labels = ["producer perf", "consumer perf", "kafka-python", "disk dd"]
        width = 0.38
        for offset, name in ((-width / 2, "tuned"), (width / 2, "defaults")):
            run = details["runs"][name]
            values = [run["producer_perf"].get("mib_per_second") or 0,
                      run["consumer_perf"].get("mb_per_second") or 0,
                      run["kafka_python"]["mib_per_second"],
                      run["disk"].get("mib_per_second") or 0]
            bars = ax.bar([i + offset for i in range(len(labels))], values, width,
                          label=f"{name} (efficiency x{run['broker_write_efficiency']})")
            ax.bar_label(bars, fmt="%.1f", fontsize=7)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yscale("log")  # the disk's rate is orders of magnitude above Kafka's
        ax.set_ylabel("MiB/s, log scale (1 KiB records, acks=all, RF 3)")
        ax.legend(fontsize=8)
    elif scenario == "pipeline":
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
        lat = details.get("wordcount_latency_ms", {})
        values = sorted(lat.get("latencies_ms") or [])
        if values:
            left.plot(values, [(i + 1) / len(values) for i in range(len(values))])
        for key, style in (("p50", ":"), ("p95", "--"), ("p99", "-.")):
            if lat.get(key):
                left.axvline(lat[key], linestyle=style, color="grey",
                             label=f"{key} {lat[key]:.0f} ms")
        left.axvline(2000, color="red", label="goal p95 2000 ms")
        left.set_xlabel("produce-to-count latency (ms)")
        left.set_ylabel("fraction of words")
        left.legend(fontsize=7)
        sink = details.get("sink", {}).get("records_per_second_after_first_batch") or 0
        consumer = details.get("kafka_consumer_perf", {}).get("records_per_second") or 0
        bars = right.bar(["HDFS sink", "consumer perf test"], [sink, consumer],
                         color=["tab:green", "tab:blue"])
        right.bar_label(bars, fmt="%.0f", fontsize=8)
        right.axhline(consumer / 2, color="red", linestyle="--", label="goal: half the consumer")
        right.set_ylabel("records/s")
        right.legend(fontsize=7)
    elif scenario == "connection":
        fig, ax = plt.subplots(figsize=(9, 4.5))
        names = ["docker exec (root)", "SSH (sudo user)"]
        width = 0.38
        for offset, run in ((-width / 2, "cold"), (width / 2, "warm")):
            values = [details[c][run]["seconds"] for c in ("docker", "ssh")]
            bars = ax.bar([i + offset for i in range(2)], values, width, label=f"{run} site.yml")
            ax.bar_label(bars, fmt="%.0f s", fontsize=8)
        ax.set_xticks(range(2), names)
        ax.set_ylabel("seconds")
        ax.legend(fontsize=8)
    else:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        hosts = details["hosts"]
        names = list(hosts)
        units = sorted({u["unit"] for h in hosts.values() for u in h["units"]})
        bottom = [0.0] * len(names)
        cmap = plt.get_cmap("tab20")
        for i, unit in enumerate(units):
            values = [sum(u["rss_bytes"] for u in hosts[h]["units"] if u["unit"] == unit) / GIB
                      for h in names]
            ax.bar(names, values, bottom=bottom, label=unit, color=cmap(i % 20))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        others = [(hosts[h]["total_rss_bytes"] / GIB) - b for h, b in zip(names, bottom,
                                                                          strict=True)]
        ax.bar(names, others, bottom=bottom, label="other processes", color="lightgrey")
        total = details["totals"]["lab_total_rss_gib"]
        ax.set_title(f"lab total {total} GiB (goal <= 8 GiB for the whole lab)", fontsize=9)
        ax.set_ylabel("RSS (GiB) at rest")
        ax.legend(fontsize=6, loc="upper right")
    fig.suptitle(f"{scenario} — {doc['date'][:16]} UTC, {doc['machine']['cores']} cores, "
                 f"load {load} at start", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ------------------------------------------------------------------------- main

def latest_documents(out: Path) -> list[dict]:
    docs = []
    for scenario in SCENARIOS:
        # bench/pipeline.py alone writes pipeline-<stamp>.json too, in its own format.
        found = [json.loads(f.read_text()) for f in sorted(out.glob(f"{scenario}-2*.json"))]
        found = [doc for doc in found if doc.get("scenario") == scenario and "figures" in doc]
        if found:
            docs.append(found[-1])
    return docs


def ci_markdown(doc: dict) -> str:
    """The README's CI timing table, from a ci-<stamp>.json that .ci/run wrote."""
    lines = [f"`.ci/run` of commit {doc.get('commit', '?')} on {doc['date'][:16]} UTC "
             f"({doc.get('cores', '?')} cores): {doc['seconds'] / 60:.1f} min in all, "
             f"exit {doc.get('exit_code', '?')}.", "",
             "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage['name']} | {stage['seconds']} |" for stage in doc["stages"]]
    return "\n".join(lines)


def update_readme(out: Path) -> None:
    documents = latest_documents(out)
    ci_runs = sorted(out.glob("ci-2*.json"))
    if ci_runs and PROJECT_README.exists():
        PROJECT_README.write_text(replace_block(
            PROJECT_README.read_text(), ci_markdown(json.loads(ci_runs[-1].read_text())), "ci"))
    if README.exists():
        README.write_text(replace_block(README.read_text(), figures_markdown(documents)))
    for doc in documents:
        if doc["scenario"] in PROJECT_README_SCENARIOS and PROJECT_README.exists():
            PROJECT_README.write_text(replace_block(PROJECT_README.read_text(),
                                                    figures_markdown([doc]), doc["scenario"]))


def run_scenario(ctx: Context, scenario: str) -> dict:
    machine = machine_facts()
    log(f"== {scenario} (load average {machine['load_average_start'][0]})")
    started = time.monotonic()
    figures, details = RUNNERS[scenario](ctx)
    doc = result_document(scenario, figures, details, machine, versions(),
                          time.monotonic() - started)
    ctx.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = ctx.out / f"{scenario}-{stamp}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    try:
        chart(scenario, doc, ctx.out / f"{scenario}.png")
    except Exception as exc:  # noqa: BLE001 - a chart must not lose the measurements
        log(f"{scenario}: chart failed: {exc!r}")
    for fig in figures:
        met = {True: "ok", False: "MISSED", None: ""}[fig["met"]]
        log(f"  {fig['name']}: {fig['value']} {fig['unit']}  (goal {goal_text(fig)}) {met}")
    log(f"{scenario}: done in {doc['seconds']:.0f}s -> {path.relative_to(PROJECT_ROOT)}")
    return doc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamstack bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="all",
                        choices=("all", *SCENARIOS, "readme"),
                        help="readme: only rewrite the README tables from the JSON files")
    parser.add_argument("--keep", action="store_true", help="leave the bench lab running")
    parser.add_argument("--prefix", default=PREFIX, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--kafka-records", type=int, default=100000,
                        help="1 KiB records per perf-test run")
    parser.add_argument("--python-records", type=int, default=20000,
                        help="1 KiB records sent by the kafka-python producer")
    parser.add_argument("--dd-mib", type=int, default=256)
    parser.add_argument("--samples", type=int, default=60, help="word count latency samples")
    parser.add_argument("--settle-seconds", type=int, default=20,
                        help="footprint: idle time before measuring")
    parser.add_argument("--cpu-window", type=int, default=60,
                        help="footprint: seconds over which CPU is measured")
    parser.add_argument("--metrics-compare", action="store_true",
                        help="footprint: also measure the lab converged without the JMX "
                             "agents (two more site.yml runs), for what they add")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = Context(prefix=args.prefix, out=Path(args.out),
                  options={"kafka_records": args.kafka_records,
                           "python_records": args.python_records, "dd_mib": args.dd_mib,
                           "samples": args.samples, "settle_seconds": args.settle_seconds,
                           "cpu_window_seconds": args.cpu_window,
                           "metrics_compare": args.metrics_compare})
    if args.scenario == "readme":
        update_readme(ctx.out)
        return 0
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    started = time.monotonic()
    failed: list[str] = []
    try:
        for scenario in scenarios:
            try:
                run_scenario(ctx, scenario)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the next ones still run
                log(f"{scenario}: FAILED: {exc}")
                failed.append(scenario)
                if scenario == "provisioning" or ctx.inventory is None:
                    break  # no lab to measure
            try:
                update_readme(ctx.out)
            except (OSError, ValueError, KeyError) as exc:
                log(f"bench/README.md not updated: {exc!r}")
    finally:
        from . import lab

        if args.keep or failed:
            log(f"the {ctx.prefix} lab is kept: `streamstack lab down --purge --prefix "
                f"{ctx.prefix}` removes it")
        else:
            log(f"removing the {ctx.prefix} lab (--keep leaves it)")
            lab.down(ctx.lab, purge=True, progress=log)
    log(f"all done in {time.monotonic() - started:.0f}s"
        + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
