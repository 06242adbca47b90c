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

from . import PROJECT_ROOT, __version__, converged

BENCH_DIR = PROJECT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
SCENARIOS = ("provisioning", "kafka", "pipeline", "footprint", "connection", "security")
# `make bench` (all): connection and security each converge two more fresh labs and run
# only when named.
DEFAULT_SCENARIOS = ("provisioning", "kafka", "pipeline", "footprint")
# Lab sizes of the provisioning scenario; the 3-host lab (HOSTS) goes last and stays for
# the scenarios after it.
SCALING_HOSTS = (1, 5, 3)
PREFIX = "bench-"
HOSTS = 3
GIB = 1024 ** 3
MIB = 1024 ** 2

# The goals: targets to report against, not assertions.
GOALS = {
    "cold_site_seconds": ("<=", 120, "cold up (containers + site.yml) within 120 s"),
    "warm_site_seconds": ("<=", 15, "warm no-op site.yml within 15 s"),
    "warm_changed": ("==", 0, "warm re-run changes nothing"),
    "warm_5_to_3_ratio": ("<=", 1.3, "warm site.yml at 5 hosts within 1.3x of 3 hosts"),
    "verify_seconds": ("<=", 20, "streamstack verify within 20 s on the 3-host lab"),
    "verify_failed": ("==", 0, "every check of streamstack verify passes"),
    "wordcount_p95_ms": ("<=", 1000, "word count p95 under 1 s"),
    "sink_streaming_to_batch_ratio": (">=", 0.8, "the streaming sink at least 0.8 x the "
                                      "same application in batch"),
    "sink_records_per_second": (">=", 100000, "the sink copies 100 000 records/s of 100 B"),
    "kafka_rf3_to_rf1_ratio": (">=", 0.6, "RF 3 acks=all with the shipped client settings "
                               "at least 0.6 x RF 1 acks=1"),
    "kafka_p99_half_rate_ms": ("<=", 500, "producer p99 under 500 ms at half that rate"),
    "lab_total_rss_gib": ("<=", 8.0, "the lab fits in 8 GiB"),
}
# The project README shows these scenarios' latest figures, each in its own block.
PROJECT_README = PROJECT_ROOT / "README.md"
PROJECT_README_SCENARIOS = ("connection", "security")


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


def parse_log_dirs(text: str, topic: str) -> int | None:
    """Bytes of ``topic`` on disk over every replica, from kafka-log-dirs.sh --describe
    (its JSON line); None when the output holds no such line."""
    line = next((x for x in text.splitlines() if x.startswith("{")), None)
    if line is None:
        return None
    return sum(p["size"] for broker in json.loads(line)["brokers"]
               for log_dir in broker["logDirs"] for p in log_dir["partitions"]
               if p["partition"].rsplit("-", 1)[0] == topic)


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
                    versions: dict, seconds: float, lab: dict | None = None) -> dict:
    return {"scenario": scenario,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "machine": machine, "versions": versions,
            "lab": lab or {"prefix": PREFIX, "hosts": HOSTS},
            "figures": figures, "details": details}


def figures_markdown(documents: list[dict]) -> str:
    """The README's figures table: every figure of the latest run of each scenario."""
    lines = ["| scenario | figure | measured | goal | met | run (load avg 1m at start) |",
             "|---|---|---|---|---|---|"]
    for doc in documents:
        load = (doc.get("machine", {}).get("load_average_start") or [None])[0]
        for fig in doc["figures"]:
            met = {True: "yes", False: "**no**", None: "-"}[fig["met"]]
            value = ("not measured" if fig["value"] is None
                     else f"{fig['value']} {fig['unit']}".rstrip())
            lines.append(f"| {doc['scenario']} | {fig['name']} | {value} "
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
    # False when measuring a lab given with --inventory: never built nor removed here.
    own_lab: bool = True

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


def fresh_lab(ctx: Context, ssh: bool = False, count: int = HOSTS,
              secure: bool = False) -> float:
    """Remove any bench lab with its volumes (and secrets), then create `count`
    containers; seconds. With ssh the hosts are reached like lab VMs (SSH as a sudo
    user); with secure the lab runs the secure profile."""
    from . import image, lab

    if ctx.lab.containers():
        log(f"removing the previous {ctx.prefix} lab and its volumes")
        lab.down(ctx.lab, purge=True, progress=log)
    tag, _ = image.build(progress=log)
    started = time.monotonic()
    ctx.inventory = lab.up(tag, count=count, lab=ctx.lab, publish=False, ssh=ssh,
                           secure=secure, progress=log)
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


# At rest the lab's JVMs use about 0.3 of the 2 cores (footprint-20261203-104436.json);
# under half the machine busy, the jobs' start is over.
SETTLED_BUSY_FRACTION = 0.5
# The footprint's CPU window: at rest the JVMs' CPU varies little from one 30 s to the
# next, and `make bench` has 25 minutes in all.
CPU_WINDOW_SECONDS = 30
SETTLE_WINDOW_SECONDS = 10.0


def settle(ctx: Context, timeout: float = 240.0) -> dict:
    """Wait until every job runs a YARN application and the machine was less than half
    busy over the last 10 s: the cold run returns while the jobs still start (drivers,
    ApplicationMasters, executors), and a re-run measured then measures their start.
    The 1-minute load average, used before, stays above the core count for minutes
    after the machine is calm. Bounded; returns what it waited for."""
    from . import jobs

    started = time.monotonic()
    host_exec = jobs.ansible_host_exec(ctx.inventory)
    hosts = jobs.spark_client_hosts(ctx.inventory)
    cores = os.cpu_count() or 1
    running = False
    window: dict = {}
    while time.monotonic() - started < timeout:
        if not running:
            rows = jobs.status(host_exec, hosts)
            running = bool(rows) and all(r.yarn_state == "RUNNING" for r in rows)
        if running:
            window = machine_window(SETTLE_WINDOW_SECONDS, cores)
            if window["machine_busy_fraction"] < SETTLED_BUSY_FRACTION:
                break
        else:
            time.sleep(5)
    waited = round(time.monotonic() - started, 1)
    load = round(os.getloadavg()[0], 2)
    busy, steal = window.get("machine_busy_fraction"), window.get("machine_steal_fraction")
    log(f"settled in {waited:.0f}s: jobs running={running}, machine busy {busy} "
        f"(steal {steal}), load average {load}")
    return {"seconds": waited, "jobs_running": running, "machine_busy_fraction": busy,
            "machine_steal_fraction": steal, "load_average_1m": load}


def machine_window(seconds: float, cores: int) -> dict:
    """What the machine's cores did over the next `seconds` (cpu_delta, no containers);
    its busy fraction counts the hypervisor's steal."""
    before = cpu_counters([])
    time.sleep(seconds)
    window = cpu_delta(before, cpu_counters([]), cores)
    window["machine_busy_fraction"] = window["machine_busy_fraction"] or 0.0
    return window


# -------------------------------------------------------------------- scenarios

def lab_memory_bytes(ctx: Context) -> int | None:
    """The bench lab's containers' memory as docker stats shows it (no page cache)."""
    stats = _out(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"])
    used = [parse_docker_mem(usage) for name, _, usage in
            (line.partition("\t") for line in (stats or "").splitlines())
            if name.startswith(ctx.prefix)]
    return round(sum(used)) if used and sum(used) else None


def measure_verify(ctx: Context) -> dict:
    """`streamstack verify`'s checks on the lab, timed as the command runs them."""
    from . import checks, verify

    log("streamstack verify")
    started = time.monotonic()
    report, records = verify.run(ctx.inventory)
    seconds = round(time.monotonic() - started, 2)
    failed = [r for r in records if r["state"] == "failed"]
    log(f"verify: {len(records)} checks, {len(failed)} failed, in {seconds:.1f}s")
    return {"seconds": seconds, "checks": len(records), "failed": len(failed),
            "failures": verify.failure_lines(records)[:20],
            "probe_seconds": report.probe_seconds,
            "not_applicable": report.not_applicable, "check_names": len(checks.CHECKS)}


CONTROLLER_TASKS = 150


def controller_cost_per_task(ctx: Context) -> dict:
    """Seconds per task that Ansible spends on the controller alone: a play of
    CONTROLLER_TASKS set_fact tasks on three local hosts, through the same runner and
    ansible.cfg (Mitogen) as site.yml. With the task count of a warm run it gives the
    floor under which no remote work can bring that run."""
    import tempfile

    from . import runner

    with tempfile.TemporaryDirectory(prefix="streamstack-bench-") as tmp:
        play = Path(tmp) / "controller-cost.yml"
        tasks = "".join(f"    - name: Set fact {i}\n      ansible.builtin.set_fact:\n"
                        f"        bench_fact_{i}: {i}\n" for i in range(CONTROLLER_TASKS))
        play.write_text(f"- name: Controller cost\n  hosts: all\n  gather_facts: false\n"
                        f"  tasks:\n{tasks}")
        inventory = Path(tmp) / "hosts.ini"
        inventory.write_text("".join(f"local{i} ansible_connection=local "
                                     f"ansible_python_interpreter={sys.executable}\n"
                                     for i in range(HOSTS)))
        log(f"controller cost: {CONTROLLER_TASKS} set_fact tasks on {HOSTS} local hosts")
        started = time.monotonic()
        summary, _ = runner.run_playbook(str(play), inventory, quiet=True)
        seconds = time.monotonic() - started
    return {"tasks": CONTROLLER_TASKS, "hosts": HOSTS, "seconds": round(seconds, 1),
            "ok": summary.ok, "seconds_per_task": round(seconds / CONTROLLER_TASKS, 3)}


# A run with more tasks than this on its busiest host did not take site.yml's short cut.
SHORT_CUT_MAX_TASKS = 15
# A short-cut run takes a few seconds, so one run swings with whatever else the 2 cores
# do at that second (one in bench/results/provisioning-20261206-061919.json took 4.6 s
# at 5 hosts, 3.2-3.4 s by hand on the same code): the median of three.
WARM_SHORT_CUT_RUNS = 3


def tasks_on_busiest_host(run: dict) -> int:
    """Tasks the busiest host ran (ok + skipped + changed): the length of its path."""
    return max((sum(v for k, v in stats.items() if k in ("ok", "skipped", "changed"))
                for stats in run["stats"].values()), default=0)


def median_run(runs: list[dict]) -> dict:
    """The run of median time among identical runs, with every run's seconds and the
    most changed tasks any of them reported."""
    chosen = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    most_changed = max(runs, key=lambda run: run["changed"])
    return {**chosen, "changed": most_changed["changed"],
            "changed_tasks": most_changed["changed_tasks"],
            "runs_seconds": [run["seconds"] for run in runs]}


def provision_size(ctx: Context, hosts: int) -> dict:
    """Fresh containers, cold site.yml, the jobs settled, then the warm site.yml: as
    users run it (the short cut, no host drifted; the median of WARM_SHORT_CUT_RUNS) and
    once with every role run in full (streamstack_full_run); memory at rest."""
    lab_seconds = fresh_lab(ctx, count=hosts)
    log(f"{hosts} host(s): containers up in {lab_seconds:.0f}s")
    cold = run_playbook(ctx, "site.yml", f"cold site.yml, {hosts} host(s)")
    settled = settle(ctx)
    warm_runs = [run_playbook(ctx, "site.yml", f"warm site.yml, {hosts} host(s), run {n + 1}")
                 for n in range(WARM_SHORT_CUT_RUNS)]
    warm = median_run(warm_runs)
    warm_full = run_playbook(ctx, "site.yml", f"warm full site.yml, {hosts} host(s)",
                             extravars=converged.FULL_RUN)
    memory = lab_memory_bytes(ctx)
    return {"hosts": hosts, "lab_up_seconds": round(lab_seconds, 1), "cold": cold,
            "settle_before_warm": settled, "warm": warm, "warm_full": warm_full,
            "warm_short_cut": all(tasks_on_busiest_host(run) <= SHORT_CUT_MAX_TASKS
                                  for run in warm_runs),
            "memory_bytes": memory, "cold_up_seconds": round(lab_seconds + cold["seconds"], 1)}


def scenario_provisioning(ctx: Context) -> tuple[list[dict], dict]:
    sizes = {}
    for hosts in ctx.options.get("scaling_hosts", SCALING_HOSTS):
        sizes[hosts] = provision_size(ctx, hosts)
    main = sizes[HOSTS]
    checked = measure_verify(ctx)
    cost = controller_cost_per_task(ctx)
    warm_tasks = tasks_on_busiest_host(main["warm_full"])
    details = {"sizes": {str(h): d for h, d in sizes.items()}, "verify": checked,
               "controller_cost": cost, "warm_tasks_busiest_host": warm_tasks,
               "notes": "Each size from fresh containers and purged volumes, the artifact "
                        "cache and node image reused. Memory: docker stats after the warm "
                        "run (the containers' cgroups, page cache excluded)."}
    figures = [
        figure("cold up, 3 hosts (containers + site.yml)", main["cold_up_seconds"], "s",
               "cold_site_seconds", note=f"site.yml alone {main['cold']['seconds']:.0f} s"),
        figure("warm site.yml, 3 hosts", round(main["warm"]["seconds"], 1), "s",
               "warm_site_seconds",
               note=f"{short_cut_note(main)}, after the jobs ran and the load settled "
                    f"({main['settle_before_warm']['seconds']:.0f} s)"),
        figure("warm full site.yml (streamstack_full_run), 3 hosts",
               round(main["warm_full"]["seconds"], 1), "s",
               note=f"every role run; changed={main['warm_full']['changed']}"),
        figure("warm re-run changed tasks, 3 hosts (short cut + full)",
               main["warm"]["changed"] + main["warm_full"]["changed"], "", "warm_changed"),
    ]
    for hosts, data in sizes.items():
        if hosts == HOSTS:
            continue
        figures += [
            figure(f"cold up, {hosts} host(s)", data["cold_up_seconds"], "s"),
            figure(f"warm site.yml, {hosts} host(s)", round(data["warm"]["seconds"], 1), "s",
                   note=f"{short_cut_note(data)}, changed={data['warm']['changed']}"),
            figure(f"warm full site.yml, {hosts} host(s)",
                   round(data["warm_full"]["seconds"], 1), "s",
                   note=f"changed={data['warm_full']['changed']}"),
        ]
    if 5 in sizes:
        figures += [
            figure("warm site.yml, 5 hosts / 3 hosts",
                   ratio(sizes[5]["warm"]["seconds"], main["warm"]["seconds"]),
                   "x", "warm_5_to_3_ratio"),
            figure("warm full site.yml, 5 hosts / 3 hosts",
                   ratio(sizes[5]["warm_full"]["seconds"], main["warm_full"]["seconds"]), "x"),
        ]
    for hosts, data in sorted(sizes.items()):
        per_host = data["memory_bytes"] / hosts / GIB if data["memory_bytes"] else None
        figures.append(figure(f"memory per host, {hosts} host(s)",
                              round(per_host, 2) if per_host else None, "GiB",
                              note="docker stats / hosts"))
    figures += [
        figure("warm full run tasks on the busiest host, 3 hosts", warm_tasks, "",
               note="ok + skipped"),
        figure("controller cost per task (set_fact, 3 local hosts)",
               cost["seconds_per_task"], "s"),
        figure("warm full floor: tasks x controller cost", round(warm_tasks * cost[
            "seconds_per_task"], 1), "s", note="what the full run costs before any host "
                                               "work"),
        figure("streamstack verify, 3 hosts", checked["seconds"], "s", "verify_seconds",
               note=f"{checked['checks']} checks"),
        figure("streamstack verify failed checks", checked["failed"], "", "verify_failed"),
    ]
    return figures, details


def short_cut_note(size: dict) -> str:
    runs = size.get("warm", {}).get("runs_seconds") or []
    of_runs = (f", median of {len(runs)} runs ({', '.join(f'{s:.1f}' for s in runs)} s)"
               if len(runs) > 1 else "")
    return ("short cut: roles skipped, no host drifted" if size["warm_short_cut"]
            else "no short cut: the roles ran") + of_runs


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
        warm = run_playbook(ctx, "site.yml", f"warm site.yml over {connection}",
                            extravars=converged.FULL_RUN)
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


SECURE_ADMIN_CONFIG = "/etc/kafka/client.properties"
SECURITY_PROFILES = ("none", "kerberos")


def scenario_security(ctx: Context) -> tuple[list[dict], dict]:
    """What the secure profile costs: the same fresh 3-host lab converged (cold, then
    warm) and its producer measured (RF 3 acks=all, the shipped client settings, which
    on the secure lab are SASL_SSL) without the profile, then with it. One lab after
    the other: two at once would not fit beside the machine's other labs."""
    from . import artifacts, jobs, lab

    pipeline = load_bench_module("pipeline")
    artifacts.fetch(artifacts.default_cache_dir(), progress=log)
    details: dict = {}
    for profile in SECURITY_PROFILES:
        secure = profile != "none"
        lab_seconds = fresh_lab(ctx, secure=secure)
        cold = run_playbook(ctx, "site.yml", f"cold site.yml, security {profile}")
        settled = settle(ctx)
        warm = run_playbook(ctx, "site.yml", f"warm site.yml, security {profile}",
                            extravars=converged.FULL_RUN)
        remote = pipeline.Remote(ctx.inventory)
        bootstrap = pipeline.bootstrap_of(remote)
        containers = [f"{ctx.prefix}{h}" for h in jobs._inventory_hosts(ctx.inventory, "all")]
        runs = [kafka_producer_run(ctx, remote, bootstrap,
                                   KafkaRun(f"rf3-acksall-{profile}", 3, "all", True),
                                   containers,
                                   admin_config=SECURE_ADMIN_CONFIG if secure else "")
                for _ in range(2)]
        details[profile] = {"lab_up_seconds": round(lab_seconds, 1), "cold": cold,
                            "settle_before_warm": settled, "warm": warm,
                            "bootstrap": bootstrap, "kafka_runs": runs}
    lab.down(ctx.lab, purge=True, progress=log)
    ctx.inventory = None
    return security_figures(details), details


def security_figures(details: dict) -> list[dict]:
    """Each profile's converge times and producer rate, and secure / plain ratios."""
    def mean_rate(profile: str) -> float | None:
        rates = [r.get("mib_per_second") for r in details[profile]["kafka_runs"]]
        return None if not rates or None in rates else round(sum(rates) / len(rates), 2)

    plain, secure = (details[p] for p in SECURITY_PROFILES)
    figures = []
    for kind in ("cold", "warm"):
        figures += [
            figure(f"{kind} site.yml, no security", plain[kind]["seconds"], "s",
                   note=f"changed={plain[kind]['changed']}"),
            figure(f"{kind} site.yml, secure profile", secure[kind]["seconds"], "s",
                   note=f"changed={secure[kind]['changed']}"),
            figure(f"{kind} site.yml, secure / no security",
                   ratio(secure[kind]["seconds"], plain[kind]["seconds"]), "x"),
        ]
    p99 = {p: ", ".join(f"{r.get('latency_p99_ms')} ms" for r in details[p]["kafka_runs"])
           for p in SECURITY_PROFILES}
    figures += [
        figure("RF 3 acks=all, no security (PLAINTEXT)", mean_rate("none"), "MiB/s",
               note=f"mean of 2 runs; p99 {p99['none']}"),
        figure("RF 3 acks=all, secure profile (SASL_SSL, SCRAM-SHA-512)",
               mean_rate("kerberos"), "MiB/s", note=f"mean of 2 runs; p99 {p99['kerberos']}"),
        figure("RF 3 acks=all, secure / no security",
               ratio(mean_rate("kerberos"), mean_rate("none")), "x",
               note="one lab after the other, not alternated"),
    ]
    return figures


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


def cpu_counters(containers: list[str]) -> dict:
    """Busy and total CPU seconds of the machine (/proc/stat) and each container's CPU
    seconds (cgroup v1 cpuacct, or v2 cpu.stat): the lab's share of the 2 cores."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    # Steal: time the hypervisor gave this VM's cores to others (counted as busy).
    out = {"machine_busy": (total - idle) / ticks, "machine_total": total / ticks,
           "machine_steal": fields[7] / ticks, "containers": {}}
    for name in containers:
        cid = _out(["docker", "inspect", "-f", "{{.Id}}", name])
        if not cid:
            continue
        v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
        v2 = Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat")
        if v1.exists():
            out["containers"][name] = int(v1.read_text()) / 1e9
        elif v2.exists():
            usage = re.search(r"usage_usec (\d+)", v2.read_text())
            out["containers"][name] = int(usage[1]) / 1e6 if usage else None
    return out


def cpu_delta(before: dict, after: dict, cores: int) -> dict:
    """What the machine's cores did between two cpu_counters: busy fraction, and per
    container its CPU seconds and share of the busy time."""
    wall = (after["machine_total"] - before["machine_total"]) / cores
    busy = after["machine_busy"] - before["machine_busy"]
    steal = after.get("machine_steal", 0.0) - before.get("machine_steal", 0.0)
    out = {"wall_seconds": round(wall, 1), "machine_busy_cpu_seconds": round(busy, 1),
           "machine_busy_fraction": round(busy / (wall * cores), 2) if wall > 0 else None,
           "machine_steal_fraction": round(steal / (wall * cores), 2) if wall > 0 else None,
           "containers_cpu_seconds": {}}
    for name, value in after["containers"].items():
        start = before["containers"].get(name)
        if value is not None and start is not None:
            out["containers_cpu_seconds"][name] = round(value - start, 1)
    lab = sum(out["containers_cpu_seconds"].values())
    out["lab_cpu_seconds"] = round(lab, 1)
    out["lab_share_of_busy"] = round(lab / busy, 2) if busy > 0 else None
    return out


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
    from . import jobs
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


def scenario_pipeline(ctx: Context) -> tuple[list[dict], dict]:
    ensure_lab(ctx)
    pipeline = load_bench_module("pipeline")
    args = pipeline.build_parser().parse_args(
        ["--inventory", str(ctx.inventory), "--samples", str(ctx.options["samples"])])
    # As before the warm runs: the scenario before this one (Kafka's topic deletions,
    # its last perf runs) still busies the cores, and the word count's figures would
    # measure that instead of the pipeline.
    settled = settle(ctx)
    log(f"pipeline: word count latency ({args.samples} words, one every {args.interval}s), "
        f"then the sink on {args.records} records")
    details = {"settle_before": settled, **pipeline.run(args)}
    lat = details.get("wordcount_latency_ms", {})
    consumer = details.get("kafka_consumer_perf", {}).get("records_per_second")
    sink, batch = details.get("sink", {}), details.get("sink_batch", {})
    # The ratio takes both runs from their first batch's start to their last batch's end:
    # each pays one warm-up of a fresh application, the streaming run also every batch's
    # costs. The service's sustained rate is the streaming run's after its first batch.
    streaming_rate = sink.get("records_per_second_end_to_end")
    sustained_rate = sink.get("records_per_second_after_first_batch")
    batch_rate = batch.get("records_per_second_end_to_end")
    figures = [
        figure("word count latency p50", lat.get("p50"), "ms"),
        figure("word count latency p95", lat.get("p95"), "ms", "wordcount_p95_ms"),
        figure("word count latency p99", lat.get("p99"), "ms"),
        figure("word count samples lost", lat.get("lost"), ""),
        figure("word count warm-up (not in the percentiles)", lat.get("warmup_seconds"), "s",
               note="until 3 warm-up words in a row came back within 5 s"),
        figure("HDFS sink, streaming, sustained (after the first batch)", sustained_rate,
               "records/s", "sink_records_per_second",
               note=f"{args.records} records of {args.record_size} B, trigger "
                    f"{args.sink_trigger} s, maxOffsetsPerTrigger {args.sink_max_offsets}, "
                    f"{sink.get('batches')} batches of {sink.get('batch_seconds')} s, "
                    f"sustained over the {sink.get('sustained_batches')} full ones after "
                    "the first"),
        figure("HDFS sink, streaming, end to end (first batch included)", streaming_rate,
               "records/s"),
        figure("HDFS sink, same application in batch (AvailableNow)", batch_rate, "records/s",
               note=f"{batch.get('batches')} batch(es)"),
        figure("sink streaming / batch, end to end", ratio(streaming_rate, batch_rate), "x",
               "sink_streaming_to_batch_ratio"),
        figure("kafka-consumer-perf-test, same topic", consumer, "records/s"),
        figure("sink streaming / raw consumer", ratio(streaming_rate, consumer), "x"),
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
    window = ctx.options.get("cpu_window_seconds", CPU_WINDOW_SECONDS)
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
           "connection": scenario_connection, "security": scenario_security}


# ----------------------------------------------------------------------- charts

# Scenarios that converge the same lab two ways: their details' keys and labels.
TWO_LAB_CHARTS = {
    "connection": {"docker": "docker exec (root)", "ssh": "SSH (sudo user)"},
    "security": {"none": "no security", "kerberos": "secure profile"},
}


def chart(scenario: str, doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = doc["details"]
    load = doc["machine"]["load_average_start"][0]
    if scenario == "provisioning":
        fig, ax = plt.subplots(figsize=(9, 4.5))
        runs = [(f"{kind.replace('_', ' ')}, {hosts} host(s)", size[kind])
                for hosts, size in sorted(details["sizes"].items(), key=lambda i: int(i[0]))
                for kind in ("cold", "warm_full", "warm") if kind in size]
        plays = list(runs[0][1]["play_seconds"])
        bottom = [0.0] * len(runs)
        cmap = plt.get_cmap("tab20")
        for i, play in enumerate(plays):
            values = [r["play_seconds"].get(play, 0.0) for _, r in runs]
            ax.barh([name for name, _ in runs], values, left=bottom, color=cmap(i % 20),
                    label=play[:40])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for key, colour in (("cold_site_seconds", "red"), ("warm_site_seconds", "orange")):
            ax.axvline(GOALS[key][1], color=colour, linestyle="--", label=GOALS[key][2])
        ax.set_xlabel("seconds (per play, stacked)")
        ax.invert_yaxis()
        ax.legend(fontsize=6, loc="lower right")
    elif scenario == "kafka":
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
        runs = details["runs"]
        mean = {rf: sum(r.get("mib_per_second") or 0 for r in runs
                        if r["replication_factor"] == rf) / 2 for rf in (1, 3)}
        bars = {"RF 1 acks=1\nshipped": mean[1], "RF 3 acks=all\nshipped": mean[3],
                "RF 3 acks=all\nupstream": details["rf3_acksall_upstream"].get(
                    "mib_per_second") or 0,
                "producer.py\nlab": details["kafka_python"]["shipped"]["mib_per_second"],
                "producer.py\nhandout": details["kafka_python"]["handout"]["mib_per_second"]}
        drawn = left.bar(list(bars), list(bars.values()),
                         color=["tab:grey", "tab:green", "tab:red", "tab:green", "tab:red"])
        left.bar_label(drawn, fmt="%.1f", fontsize=7)
        left.axhline(0.6 * mean[1], color="red", linestyle="--", label="goal: 0.6 x RF 1")
        left.set_ylabel("MiB/s (1 KiB records, 3 partitions)")
        left.tick_params(axis="x", labelsize=7)
        left.legend(fontsize=7)
        half = details["rf3_acksall_half_rate"]
        lat = {"shipped": half, "upstream": details["rf3_acksall_upstream_half_rate"]}
        for i, (name, run) in enumerate(lat.items()):
            values = [run.get(f"latency_{k}_ms") or 0 for k in ("p50", "p95", "p99")]
            drawn = right.bar([x + i * 0.38 for x in range(3)], values, 0.38, label=name)
            right.bar_label(drawn, fmt="%.0f", fontsize=7)
        right.set_xticks([x + 0.19 for x in range(3)], ["p50", "p95", "p99"])
        right.axhline(500, color="red", linestyle="--", label="goal p99 500 ms")
        right.set_yscale("log")
        right.set_ylabel(f"ms at {half.get('throughput_limit')} records/s, RF 3 acks=all")
        right.legend(fontsize=7)
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
        left.set_xlabel("produce-to-count latency (ms)")
        left.set_ylabel("fraction of words")
        left.axvline(1000, color="red", label="goal p95 1000 ms")
        left.legend(fontsize=7)
        sink, batch = details.get("sink", {}), details.get("sink_batch", {})
        rates = {"streaming\nend to end": sink.get("records_per_second_end_to_end"),
                 "streaming\nsustained": sink.get("records_per_second_after_first_batch"),
                 "batch": batch.get("records_per_second_end_to_end"),
                 "consumer\nperf test":
                     details.get("kafka_consumer_perf", {}).get("records_per_second")}
        bars = right.bar(list(rates), [v or 0 for v in rates.values()],
                         color=["tab:green", "tab:cyan", "tab:olive", "tab:blue"])
        right.bar_label(bars, fmt="%.0f", fontsize=8)
        right.axhline(0.8 * (rates["batch"] or 0), color="red", linestyle="--",
                      label="goal: streaming end to end 0.8 x batch")
        right.axhline(100000, color="orange", linestyle=":", label="goal: 100 000 records/s")
        right.set_ylabel("records/s")
        right.legend(fontsize=7)
    elif scenario in TWO_LAB_CHARTS:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        variants = TWO_LAB_CHARTS[scenario]
        width = 0.38
        for offset, run in ((-width / 2, "cold"), (width / 2, "warm")):
            values = [details[key][run]["seconds"] for key in variants]
            bars = ax.bar([i + offset for i in range(len(variants))], values, width,
                          label=f"{run} site.yml")
            ax.bar_label(bars, fmt="%.0f s", fontsize=8)
        ax.set_xticks(range(len(variants)), list(variants.values()))
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


def kafka_runs_markdown(doc: dict) -> str:
    """Where the producer's time goes: every perf-test run of a kafka JSON, with the CPU
    that the machine, this lab's hosts and the client itself spent meanwhile."""
    details = doc["details"]
    runs = [*details.get("runs", []), details.get("rf3_acksall_half_rate"),
            details.get("rf3_acksall_upstream"), details.get("rf3_acksall_upstream_half_rate")]
    load = doc["machine"]["load_average_start"][0]
    lines = [f"Run of {doc['date'][:16]} UTC (load average {load} at its start), "
             "1 KiB records, 3 partitions:", "",
             "| run | client settings | limit (records/s) | MiB/s | p50 ms | p99 ms "
             "| machine busy | this lab's CPU s | of which per host | client JVM CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for run in filter(None, runs):
        cpu = run.get("cpu", {})
        hosts = ", ".join(f"{h.rsplit('-', 1)[-1]} {s}"
                          for h, s in cpu.get("containers_cpu_seconds", {}).items())
        limit = run["throughput_limit"] if run["throughput_limit"] > 0 else "none"
        lines.append(
            f"| {run['label']} | {run['client_settings']} | {limit} "
            f"| {run.get('mib_per_second')} | {run.get('latency_p50_ms')} "
            f"| {run.get('latency_p99_ms')} | {cpu.get('machine_busy_fraction')} "
            f"| {cpu.get('lab_cpu_seconds')} in {cpu.get('wall_seconds')} s | {hosts} "
            f"| {run.get('client_cpu_seconds')} |")
    return "\n".join(lines)


def update_readme(out: Path) -> None:
    documents = latest_documents(out)
    kafka = [doc for doc in documents if doc["scenario"] == "kafka"
             and "rf3_acksall_half_rate" in doc["details"]]
    if kafka and README.exists():
        README.write_text(replace_block(README.read_text(), kafka_runs_markdown(kafka[0]),
                                        "kafka-runs"))
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
    lab = None if ctx.own_lab else {"inventory": str(ctx.inventory)}
    doc = result_document(scenario, figures, details, machine, versions(),
                          time.monotonic() - started, lab)
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


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(int(h) for h in text.split(","))
    if HOSTS not in sizes:
        raise argparse.ArgumentTypeError(f"the sizes must include {HOSTS} (the lab the other "
                                         "scenarios measure)")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamstack bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="all",
                        choices=("all", *SCENARIOS, "readme"),
                        help="readme: only rewrite the README tables from the JSON files")
    parser.add_argument("--keep", action="store_true", help="leave the bench lab running")
    parser.add_argument("--prefix", default=PREFIX, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("-i", "--inventory",
                        help="measure this running lab (e.g. inventories/local) instead of a "
                             "bench- lab: kafka and pipeline only; nothing is "
                             "created or removed")
    parser.add_argument("--kafka-records", type=int, default=100000,
                        help="1 KiB records per perf-test run")
    parser.add_argument("--python-records", type=int, default=20000,
                        help="1 KiB records sent by the kafka-python producer")
    parser.add_argument("--dd-mib", type=int, default=256)
    parser.add_argument("--samples", type=int, default=60, help="word count latency samples")
    parser.add_argument("--hosts", default=",".join(str(h) for h in SCALING_HOSTS),
                        type=_sizes, help="provisioning: lab sizes, in order (with 3)")
    parser.add_argument("--settle-seconds", type=int, default=20,
                        help="footprint: idle time before measuring")
    parser.add_argument("--cpu-window", type=int, default=CPU_WINDOW_SECONDS,
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
                           "scaling_hosts": args.hosts,
                           "cpu_window_seconds": args.cpu_window,
                           "metrics_compare": args.metrics_compare})
    if args.scenario == "readme":
        update_readme(ctx.out)
        return 0
    scenarios = list(DEFAULT_SCENARIOS) if args.scenario == "all" else [args.scenario]
    if args.inventory:
        # Someone's running lab: only the scenarios that measure a lab without rebuilding it
        # (footprint --metrics-compare converges it without the agents and back).
        others = sorted(set(scenarios) - {"kafka", "pipeline", "footprint"})
        if others:
            raise SystemExit(f"bench: --inventory measures a running lab with kafka, "
                             f"pipeline and footprint only, not {', '.join(others)}")
        ctx.inventory = Path(args.inventory).resolve()
        ctx.own_lab = False
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

        if not ctx.own_lab:
            pass  # not ours: left as it was
        elif args.keep or failed:
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
