"""What every scenario runs on: machine facts and versions, the log, the bench lab
(build, converge, settle) and the CPU counters of the machine and its containers."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import PROJECT_ROOT, __version__
from .common import BENCH_DIR, GIB, HOSTS, PREFIX, RESULTS_DIR, run_summary

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
        from ..image import image_tag
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
        from .. import lab
        return lab.Lab(self.prefix)


def run_playbook(ctx: Context, playbook: str, label: str, **kwargs) -> dict:
    from .. import runner

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
    from .. import image, lab

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
    from .. import lab

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
    from .. import jobs

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
