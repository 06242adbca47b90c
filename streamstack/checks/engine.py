"""Running the checks: probe every host (two waves), then every check; the report."""

from __future__ import annotations

import concurrent.futures
import re
import time
from dataclasses import dataclass, field

from .base import CHECKS, Lab, Result
from .kafka import controller_round_trip
from .probes import _token_path, plan, probe_hosts
from .spark import _spark_defaults

# ---------------------------------------------------------------------------- engine

@dataclass
class Report:
    results: list[Result]
    not_applicable: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    probe_seconds: dict[str, float] = field(default_factory=dict)

    def skipped_everywhere(self) -> list[str]:
        names: dict[str, set[str]] = {}
        for r in self.results:
            names.setdefault(r.check, set()).add(r.state)
        return sorted(n for n, states in names.items() if states == {"skipped"})


def selected(name: str, keyword: str | None) -> bool:
    """-k: check names containing any of the words given (joined by 'or' or commas)."""
    if not keyword:
        return True
    words = [w.strip() for w in re.split(r"\bor\b|,", keyword) if w.strip()]
    return any(w in name for w in words)


def run(inventory: str, keyword: str | None = None) -> Report:
    started = time.monotonic()
    lab = Lab(inventory)
    first = {h: plan(lab, h, lab.layouts) for h in lab.hosts}
    brokers = lab.brokers()
    if brokers:
        first[brokers[0]["host"]].append({"id": "kafka_cluster_id", "kind": "sh", "args": {
            "command": "sed -n 's/^cluster\\.id=//p' \"$(sed -n 's/^log\\.dirs=//p' "
                       f"/etc/kafka/server-{brokers[0]['id']}.properties)/meta.properties\""}})
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as controller:
        round_trip = controller.submit(controller_round_trip, lab) if selected(
            "kafka.controller", keyword) else None
        probe_hosts(lab, first)
        # What needs the first wave: reading each host's file on the next host, and the
        # size of the jars archive spark-defaults.conf names.
        second: dict[str, list[dict]] = {}
        for writer, reader in lab.reader.items():
            second.setdefault(reader, []).append({
                "id": f"hdfs_read:{writer}", "kind": "webhdfs_read",
                "args": {"namenode": lab.namenodes(), "path": _token_path(lab, writer)}})
        for host in lab.group("spark_client"):
            archive = _spark_defaults(lab, host).get("spark.yarn.archive")
            if archive and lab.namenode_url():
                path = re.sub(r"^hdfs://[^/]+", "", archive)
                second.setdefault(host, []).append({
                    "id": "yarn_archive", "kind": "http_json", "args": {
                        "url": lab.webhdfs_url(path, "GETFILESTATUS", "spark")}})
        if second:
            probe_hosts(lab, second)
        trip, cluster_id = round_trip.result() if round_trip else (None, None)
    report = Report(results=[], probe_seconds=dict(lab.seconds))
    for item in CHECKS:
        if not selected(item.name, keyword):
            continue
        results = list(item.run(lab))
        if results:
            report.results += results
        else:
            report.not_applicable[item.name] = f"no host of this inventory is among "\
                                               f"{item.applies_to}"
    ours = brokers and (lab.got(brokers[0]["host"], "kafka_cluster_id") or {}).get(
        "out", "").strip()
    if isinstance(trip, Result) and not ours:
        trip = (f"this lab's cluster id is unreadable: cannot tell whether "
                f"localhost:{brokers[0]['port']} is its broker")
    elif isinstance(trip, Result) and cluster_id != ours:
        trip = f"localhost:{brokers[0]['port']} is another cluster's broker ({cluster_id})"
    if isinstance(trip, Result):
        report.results.append(trip)
    elif trip:
        report.not_applicable["kafka.controller"] = trip
    report.seconds = round(time.monotonic() - started, 2)
    return report


def describe(report: Report) -> list[str]:
    """The words of a report, one line per check result (used in tests' messages)."""
    return [f"{r.state.upper():7} {r.host} {r.service} {r.check}: {r.what}"
            + (f" -- {r.detail}" if r.detail else "") for r in report.results]
