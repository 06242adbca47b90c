"""Which running systemd units are older than a file they read (a restart still owed).

A unit is stale when it is active and one of its files was modified after its main
process started (ExecMainStartTimestamp): that process read the file before it changed.
Both times come from the host's own clock, so the controller's clock does not matter. A
file modified "in the future" (more than FUTURE_SLACK seconds after the host's now: the
clock was set back) cannot be judged and is reported, never restarted for: a restart
would not make the unit newer than it, and every run would restart again.

Shared by the streamstack_stale module (the roles) and streamstack_converged (the
short cut), so both decide alike.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timezone

FUTURE_SLACK = 2.0
PROPERTIES = ("Id", "ActiveState", "MainPID", "ExecMainStartTimestamp",
              "ExecMainStartTimestampMonotonic", "NeedDaemonReload")


def parse_timestamp(text: str | None) -> float | None:
    """systemctl's --timestamp=us+utc form ("Mon 2026-12-07 21:16:32.628135 UTC") to
    seconds since the epoch; None when unset ("", "n/a")."""
    parts = (text or "").split()
    if len(parts) != 4 or parts[3] != "UTC":
        return None
    try:
        moment = datetime.strptime(f"{parts[1]} {parts[2]}", "%Y-%m-%d %H:%M:%S.%f")
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()  # noqa: UP017 (hosts may run Python < 3.11)


def parse_show(text: str) -> dict[str, dict[str, str]]:
    """`systemctl show` blocks (one per unit, blank-line separated) -> Id: fields."""
    units = {}
    for block in text.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("Id"):
            units[fields["Id"]] = fields
    return units


def started_at(fields: dict[str, str], now: float, monotonic_now: float) -> float | None:
    """When the unit's running main process started, by the host's wall clock."""
    exact = parse_timestamp(fields.get("ExecMainStartTimestamp"))
    if exact is not None:
        return exact
    # systemd before 248 has no --timestamp=us+utc: from the monotonic clock instead.
    try:
        monotonic = int(fields.get("ExecMainStartTimestampMonotonic") or 0) / 1e6
    except ValueError:
        return None
    return now - (monotonic_now - monotonic) if monotonic > 0 else None


def decide(watch: dict[str, list[str]], units: dict[str, dict[str, str]],
           mtimes: dict[str, float | None], now: float, monotonic_now: float) -> dict:
    """Pure: which watched units are stale, given what systemctl said about them and the
    files' modification times (None: absent). A unit not running (never started, stopped,
    failed, in systemd's restart loop) is not stale: whatever starts it reads the files."""
    stale, future, reload, why = [], [], [], {}
    for unit in sorted(watch):
        fields = units.get(unit) or {}
        if fields.get("NeedDaemonReload") == "yes":
            reload.append(unit)
        running = fields.get("ActiveState") in ("active", "reloading") \
            and fields.get("MainPID", "0") not in ("", "0")
        started = started_at(fields, now, monotonic_now) if running else None
        if started is None:
            continue
        newer = sorted((mtimes.get(path), path) for path in set(watch[unit])
                       if (mtimes.get(path) or 0) > started)
        ahead = [path for mtime, path in newer if mtime > now + FUTURE_SLACK]
        judged = [(mtime, path) for mtime, path in newer if path not in ahead]
        if ahead:
            future.append(unit)
        if judged:
            stale.append(unit)
            moment = datetime.fromtimestamp(started, timezone.utc)  # noqa: UP017
            why[unit] = f"{judged[-1][1]} changed after the unit started " \
                        f"({moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')})"
    return {"stale": stale, "future": future, "reload": reload, "why": why}


def read_units(units: list[str]) -> dict[str, dict[str, str]]:
    if not units:
        return {}
    command = ["systemctl", "show", "--timestamp=us+utc"]
    for name in PROPERTIES:
        command += ["-p", name]
    done = subprocess.run([*command, "--", *units], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 and "timestamp" in done.stderr:
        command.remove("--timestamp=us+utc")
        done = subprocess.run([*command, "--", *units], capture_output=True, text=True,
                              check=False)
    return parse_show(done.stdout)


def read_mtimes(paths) -> dict[str, float | None]:
    mtimes = {}
    for path in set(paths):
        try:
            mtimes[path] = os.stat(path).st_mtime
        except OSError:
            mtimes[path] = None
    return mtimes


def check(watch: dict[str, list[str]]) -> dict:
    """Read the host and decide (see decide). Units are named as in watch ("name" is
    "name.service")."""
    ids = {unit: unit if "." in unit else f"{unit}.service" for unit in watch or {}}
    by_id = {ids[unit]: list(paths or []) for unit, paths in (watch or {}).items()}
    mtimes = read_mtimes(path for paths in by_id.values() for path in paths)
    found = decide(by_id, read_units(sorted(by_id)), mtimes, time.time(), time.monotonic())
    back = {unit_id: unit for unit, unit_id in ids.items()}
    return {key: ([back[u] for u in value] if isinstance(value, list)
                  else {back[u]: text for u, text in value.items()})
            for key, value in found.items()}
