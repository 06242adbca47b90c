"""`streamstack verify`: the testinfra suite against a lab, as a table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import PROJECT_ROOT


def run_suite(inventory: Path, paths: list[str] | None = None,
              extra_args: list[str] | None = None) -> tuple[int, list[dict]]:
    """Run pytest on tests/infra (or paths) and return (exit code, one record per check)."""
    with tempfile.NamedTemporaryFile(prefix="streamstack-verify-", suffix=".jsonl") as report:
        env = dict(os.environ, STREAMSTACK_VERIFY_REPORT=report.name)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                *(paths or [str(PROJECT_ROOT / "tests" / "infra")]),
                "--hosts=ansible://all", f"--ansible-inventory={inventory}",
                *(extra_args or [])]
        done = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, check=False,
                              capture_output=True, text=True)
        records = [json.loads(line) for line in Path(report.name).read_text().splitlines()
                   if line.strip()]
    if done.returncode not in (0, 1) and not records:
        # pytest itself failed (bad inventory, collection error): show its words.
        records.append({"host": "controller", "service": "pytest", "check": "collect",
                        "state": "failed", "detail": (done.stdout + done.stderr).strip()[-300:]})
    return done.returncode, records


def rows(records: list[dict]) -> list[dict]:
    """Failures first, then by host and service."""
    order = {"failed": 0, "skipped": 1, "passed": 2}
    return sorted(records, key=lambda r: (order.get(r["state"], 0), r["host"], r["service"],
                                          r["check"]))


def failure_lines(records: list[dict]) -> list[str]:
    """One line per failed check: host, service, check and what went wrong."""
    return [f"FAILED {r['host']} {r['service']} {r['check']}: {r['detail']}"
            for r in rows(records) if r["state"] == "failed"]


def exit_code(pytest_code: int, records: list[dict]) -> int:
    """Non-zero when anything is down, nothing ran (no check passed: none collected, or
    every one skipped, e.g. a wrong -k or an inventory without the groups), or pytest
    failed on its own."""
    if not any(r["state"] == "passed" for r in records):
        return 1
    if any(r["state"] == "failed" for r in records):
        return 1
    return 0 if pytest_code == 0 else 1
