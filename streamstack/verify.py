"""`streamstack verify`: every check of streamstack/checks/ against a lab, one line each.

A check skipped on every host it applies to verified nothing: it is reported as a
failure of its own, so a run cannot pass by skipping.
"""

from __future__ import annotations

from pathlib import Path

from . import checks


def run(inventory: Path | str, keyword: str | None = None) -> tuple[checks.Report, list[dict]]:
    """Run the checks; (the report, one record per line to show)."""
    report = checks.run(str(inventory), keyword)
    return report, records(report)


def records(report: checks.Report) -> list[dict]:
    out = [r.record() for r in report.results]
    for name in report.skipped_everywhere():
        reasons = sorted({r.detail for r in report.results if r.check == name})
        out.append({"check": name, "host": "all", "service": name.split(".")[0],
                    "state": "failed", "what": "ran on at least one host",
                    "detail": "skipped on every host it applies to: " + "; ".join(reasons)})
    return out


def rows(records: list[dict]) -> list[dict]:
    """Failures first, then by host and service."""
    order = {"failed": 0, "skipped": 1, "passed": 2}
    return sorted(records, key=lambda r: (order.get(r["state"], 0), r["host"], r["service"],
                                          r["check"]))


def failure_lines(records: list[dict]) -> list[str]:
    """One line per failed check: host, service, check and what went wrong."""
    return [f"FAILED {r['host']} {r['service']} {r['check']}: {r['detail']}"
            for r in rows(records) if r["state"] == "failed"]


def exit_code(records: list[dict]) -> int:
    """Non-zero when anything failed or nothing was verified (no check passed)."""
    if not any(r["state"] == "passed" for r in records):
        return 1
    return 1 if any(r["state"] == "failed" for r in records) else 0
