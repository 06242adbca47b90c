"""What the benchmarks share: the scenarios, the lab's size, the goals, and the pure
parts (output parsers, percentile, ratio, figures, the result document, README
blocks), which tests/unit/test_bench.py tests."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

from .. import PROJECT_ROOT

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
