"""Fixtures of the metrics tests: the lab's Prometheus as the controller reaches it, and
the lab's hosts through testinfra (the inventory given with --ansible-inventory)."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import testinfra

from streamstack import PROJECT_ROOT, metrics

# The lab's name prefix (`lab up --prefix o-`): its Prometheus is on the master's address.
PREFIX = os.environ.get("STREAMSTACK_PREFIX", "")


class Prometheus:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def get(self, path: str, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            return json.load(response)

    def value(self, promql: str) -> float | None:
        result = self.get("/api/v1/query", query=promql)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def alert_state(self, name: str, **labels) -> str:
        """'firing', 'pending' or 'inactive' for the alert with these labels."""
        states = [a["state"] for a in self.get("/api/v1/alerts")["data"]["alerts"]
                  if a["labels"].get("alertname") == name
                  and all(a["labels"].get(k) == v for k, v in labels.items())]
        return "firing" if "firing" in states else states[0] if states else "inactive"

    def wait_alert(self, name: str, state: str, seconds: float, **labels) -> float:
        """Seconds until the alert is in `state` (firing) or not firing ('inactive')."""
        started = time.monotonic()
        while True:
            now = self.alert_state(name, **labels)
            if (now == "firing") == (state == "firing"):
                return round(time.monotonic() - started, 1)
            if time.monotonic() - started > seconds:
                raise AssertionError(f"{name} {labels} still {now} after {seconds:.0f}s")
            time.sleep(3)


@pytest.fixture(scope="session")
def prometheus() -> Prometheus:
    url = metrics.lab_url(PREFIX)
    assert url, "no lab master container found"
    prom = Prometheus(url)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{prom.url}/-/ready", timeout=5):
                return prom
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


@pytest.fixture(scope="session")
def lab_host(request):
    """lab_host(name): a testinfra host of the inventory."""
    inventory = Path(request.config.getoption("ansible_inventory")).resolve()

    def get(name: str):
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")
    return get


@pytest.fixture(scope="session")
def output_dir() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = PROJECT_ROOT / "runs" / f"metrics-{stamp}"
    path.mkdir(parents=True, exist_ok=True)
    return path
