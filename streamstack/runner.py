"""Playbook runs through ansible-runner: live progress, a failure-first summary.

Everything that configures a host lives in the roles; this only starts the playbook,
watches its events and keeps each run's artifacts under runs/.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import PROJECT_ROOT

RUNS_DIR = PROJECT_ROOT / "runs"
FAILED_EVENTS = {"runner_on_failed", "runner_on_unreachable"}


@dataclass
class Failure:
    host: str
    play: str
    task: str
    message: str
    unreachable: bool = False


@dataclass
class Summary:
    """What a user needs after a run: failures first, then counts and timings."""

    failures: list[Failure] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    play_seconds: dict[str, float] = field(default_factory=dict)
    task_seconds: dict[str, float] = field(default_factory=dict)
    changed_tasks: list[str] = field(default_factory=list)
    # site.yml's first play: whether the roles run, and why (playbooks/converged_check.yml).
    short_cut: str = ""

    @property
    def changed(self) -> int:
        return sum(host.get("changed", 0) for host in self.stats.values())

    @property
    def ok(self) -> bool:
        return not self.failures and all(
            not host.get("failures") and not host.get("dark") for host in self.stats.values()
        )


SHORT_CUT_TASK = "Short cut | Say whether the roles run"


def failure_message(result: dict) -> str:
    """The most useful line(s) of a failed task's result."""
    if result.get("preflight_errors"):
        # Preflight reports every problem at once; show them all, not a tail.
        return "\n".join(f"- {error}" for error in result["preflight_errors"])
    for key in ("msg", "stderr", "module_stderr", "stdout", "module_stdout"):
        value = result.get(key)
        if isinstance(value, list):
            value = "\n".join(str(item) for item in value)
        if value and str(value).strip():
            lines = str(value).strip().splitlines()
            return "\n".join(lines[-12:])
    if result.get("censored"):
        return str(result["censored"])
    return "failed (no message)"


class EventCollector:
    """Folds ansible-runner events into a Summary and a progress state."""

    def __init__(self) -> None:
        self.summary = Summary()
        self.play = ""
        self.task = ""
        self.hosts_done: set[str] = set()
        self._play_started = 0.0
        self._task_started = 0.0

    def _close_task(self, now: float) -> None:
        if self.task:
            key = f"{self.play} / {self.task}"
            self.summary.task_seconds[key] = self.summary.task_seconds.get(key, 0.0) + (
                now - self._task_started
            )

    def _close_play(self, now: float) -> None:
        self._close_task(now)
        if self.play:
            self.summary.play_seconds[self.play] = self.summary.play_seconds.get(
                self.play, 0.0
            ) + (now - self._play_started)

    def handle(self, event: dict, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            self._close_play(now)
            self.play = data.get("play", "") or data.get("name", "")
            self.task = ""
            self._play_started = now
        elif kind == "playbook_on_task_start":
            self._close_task(now)
            self.task = data.get("task", "")
            self._task_started = now
            self.hosts_done = set()
        elif kind in ("runner_on_ok", "runner_on_skipped", *FAILED_EVENTS):
            host = data.get("host", "?")
            self.hosts_done.add(host)
            result = data.get("res", {}) or {}
            if kind == "runner_on_ok" and data.get("task", self.task) == SHORT_CUT_TASK:
                self.summary.short_cut = str(result.get("msg", ""))
            if kind == "runner_on_ok" and result.get("changed"):
                self.summary.changed_tasks.append(f"{host}: {data.get('task', self.task)}")
            if kind in FAILED_EVENTS and not data.get("ignore_errors"):
                self.summary.failures.append(
                    Failure(
                        host=host,
                        play=data.get("play", self.play),
                        task=data.get("task", self.task),
                        message=failure_message(result),
                        unreachable=kind == "runner_on_unreachable",
                    )
                )
        elif kind == "playbook_on_stats":
            self._close_play(now)
            self.play = ""
            for counter in ("ok", "changed", "failures", "dark", "skipped", "rescued",
                            "ignored"):
                for host, count in (data.get(counter) or {}).items():
                    self.summary.stats.setdefault(host, {})[counter] = count


def format_summary(summary: Summary, run_dir: Path | None = None, slowest: int = 5) -> str:
    """Plain text: failing host and task first, then the recap and the slowest tasks."""
    lines: list[str] = []
    if summary.failures:
        lines.append(f"FAILED: {len(summary.failures)} host task(s)")
        for failure in summary.failures:
            what = "UNREACHABLE" if failure.unreachable else "failed"
            lines.append(f"  {failure.host}: {what} at '{failure.task}' (play '{failure.play}')")
            lines += [f"      {line}" for line in failure.message.splitlines()]
    if summary.short_cut:
        lines.append(f"roles: {summary.short_cut}")
    lines.append("hosts:")
    for host in sorted(summary.stats):
        counts = summary.stats[host]
        lines.append(
            f"  {host:<20} ok={counts.get('ok', 0)} changed={counts.get('changed', 0)} "
            f"failed={counts.get('failures', 0)} unreachable={counts.get('dark', 0)} "
            f"skipped={counts.get('skipped', 0)}"
        )
    if summary.play_seconds:
        lines.append("plays:")
        lines += [f"  {seconds:6.1f}s  {name}" for name, seconds in summary.play_seconds.items()]
    if summary.task_seconds:
        lines.append("slowest tasks:")
        ranked = sorted(summary.task_seconds.items(), key=lambda item: -item[1])[:slowest]
        lines += [f"  {seconds:6.1f}s  {name}" for name, seconds in ranked]
    if run_dir:
        lines.append(f"run artifacts: {run_dir}")
    return "\n".join(lines)


def _progress_line(collector: EventCollector) -> str:
    task = collector.task or "(gathering)"
    return f"[{collector.play}] {task}  hosts done: {len(collector.hosts_done)}"


def run_playbook(
    playbook: str,
    inventory: Path,
    extravars: dict | None = None,
    limit: str | None = None,
    check: bool = False,
    tags: str | None = None,
    quiet: bool = False,
    env: dict[str, str] | None = None,
) -> tuple[Summary, Path]:
    """Run one playbook of the project; returns its summary and its run directory.
    `env` adds environment variables (e.g. ANSIBLE_STRATEGY) for this run only."""
    import ansible_runner

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = RUNS_DIR / f"{stamp}-{Path(playbook).stem}"
    run_dir.mkdir(parents=True, exist_ok=True)
    collector = EventCollector()
    interactive = sys.stdout.isatty() and not quiet
    last_task = [""]

    def on_event(event: dict) -> bool:
        collector.handle(event)
        if quiet:
            return True
        if interactive:
            sys.stdout.write("\r\033[K" + _progress_line(collector)[:150])
            sys.stdout.flush()
        elif collector.task and collector.task != last_task[0]:
            last_task[0] = collector.task
            print(f"  [{collector.play}] {collector.task}", flush=True)
        return True

    cmdline = []
    if check:
        cmdline += ["--check", "--diff"]
    if tags:
        cmdline += ["--tags", tags]
    envvars = {
        "ANSIBLE_CONFIG": str(PROJECT_ROOT / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        # ansible-playbook from the same environment as this Python, venv or not.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                     os.environ.get("PYTHONPATH")])),
        **(env or {}),
    }
    result = ansible_runner.run(
        private_data_dir=str(run_dir),
        project_dir=str(PROJECT_ROOT),
        playbook=str(PROJECT_ROOT / playbook),
        inventory=str(inventory),
        extravars=extravars or {},
        limit=limit,
        cmdline=" ".join(cmdline) or None,
        envvars=envvars,
        event_handler=on_event,
        quiet=True,
    )
    if interactive:
        sys.stdout.write("\r\033[K")
    if result.status not in ("successful",) and not collector.summary.failures:
        output_tail = "\n".join(result.stdout.read().strip().splitlines()[-10:])
        collector.summary.failures.append(
            Failure(host="controller", play="-", task=playbook,
                    message=f"ansible-runner status {result.status} (rc={result.rc})\n"
                            f"{output_tail}")
        )
    return collector.summary, run_dir
