"""The tables the results feed: bench/README.md's figures and Kafka runs, the project
README's CI timings and its connection and security blocks."""

from __future__ import annotations

import json
from pathlib import Path

from .common import (
    PROJECT_README,
    PROJECT_README_SCENARIOS,
    README,
    SCENARIOS,
    figures_markdown,
    replace_block,
)


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
