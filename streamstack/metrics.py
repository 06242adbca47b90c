"""Live figures from the lab's Prometheus, for `streamstack status`.

Prometheus runs on the monitoring host (the monitoring role). From the controller it is
published on 127.0.0.1 in the default lab; a lab made with ``--no-publish`` (or a second,
prefixed lab) is reached on the master container's address on the lab network, and VMs
with ``--prometheus URL`` (or STREAMSTACK_PROMETHEUS_URL).
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from . import layout
from .engine import docker

TIMEOUT = 3.0

# name: (PromQL, label that tells series apart or None)
QUERIES: dict[str, tuple[str, str | None]] = {
    "lag": ("streamstack:job_lag", "spark_job"),
    "records_per_second": ("streamstack:job_records_per_second", "spark_job"),
    "running": ("streamstack_job_running", "spark_job"),
    "under_replicated": ("sum(kafka_server_replicamanager_underreplicatedpartitions)", None),
    "brokers_up": ("sum(up{job='kafka'})", None),
    "brokers": ("count(up{job='kafka'})", None),
    "live_datanodes": ("max(hadoop_namenode_numlivedatanodes)", None),
    "apps_running": ("max(hadoop_resourcemanager_queue_appsrunning)", None),
    "containers_running": ("sum(hadoop_nodemanager_containersrunning)", None),
    "alerts": ("ALERTS{alertstate='firing'}", "alertname"),
}


@dataclass
class Figures:
    url: str
    error: str = ""
    values: dict[str, object] = field(default_factory=dict)


def lab_url(prefix: str = "") -> str | None:
    """Prometheus of a local lab: 127.0.0.1 when published, else the master's address."""
    if os.environ.get("STREAMSTACK_PROMETHEUS_URL"):
        return os.environ["STREAMSTACK_PROMETHEUS_URL"]
    master = f"{prefix}{layout.host_names(1)[0]}"
    done = docker("port", master, f"{layout.PROMETHEUS_PORT}/tcp", check=False)
    if done.returncode == 0 and done.stdout.strip():
        port = done.stdout.decode().split()[0].rsplit(":", 1)[-1]
        return f"http://127.0.0.1:{port}"
    done = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                  master, check=False)
    addresses = done.stdout.decode().split() if done.returncode == 0 else []
    return f"http://{addresses[0]}:{layout.PROMETHEUS_PORT}" if addresses else None


def query(url: str, promql: str, timeout: float = TIMEOUT) -> list[dict]:
    """An instant query; returns Prometheus' result list (metric, value)."""
    full = f"{url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(full, timeout=timeout) as response:
        data = json.load(response)
    if data.get("status") != "success":
        raise ValueError(data.get("error", "query failed"))
    return data["data"]["result"]


def collect(url: str, timeout: float = TIMEOUT) -> Figures:
    """Every figure of QUERIES; a single-value figure is None when Prometheus has none."""
    figures = Figures(url=url)
    for name, (promql, by) in QUERIES.items():
        try:
            result = query(url, promql, timeout)
        except (OSError, ValueError) as exc:
            figures.error = f"{url}: {exc}"
            return figures
        if by is None:
            figures.values[name] = float(result[0]["value"][1]) if result else None
        else:
            figures.values[name] = {r["metric"].get(by, "?"): float(r["value"][1])
                                    for r in result}
    return figures


def _number(value: object, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def rows(figures: Figures) -> list[tuple[str, str]]:
    """(what, value) lines for the status screen."""
    if figures.error:
        return [("Prometheus", f"no answer ({figures.error})")]
    v = figures.values
    out = []
    running = v.get("running") or {}
    lag = v.get("lag") or {}
    rate = v.get("records_per_second") or {}
    for job in sorted(set(running) | set(lag)):
        state = "RUNNING" if running.get(job) == 1 else "NOT RUNNING"
        out.append((f"job {job}", f"{state}, lag {_number(lag.get(job))} records, "
                                  f"{_number(rate.get(job), 1)} records/s"))
    out.append(("Kafka", f"{_number(v.get('brokers_up'))}/{_number(v.get('brokers'))} brokers up, "
                         f"{_number(v.get('under_replicated'))} under-replicated partitions"))
    out.append(("HDFS", f"{_number(v.get('live_datanodes'))} live DataNodes"))
    out.append(("YARN", f"{_number(v.get('apps_running'))} applications RUNNING, "
                        f"{_number(v.get('containers_running'))} containers"))
    alerts = sorted(v.get("alerts") or {})
    out.append(("alerts firing", ", ".join(alerts) if alerts else "none"))
    return out
