"""The footprint scenario: RSS and CPU of every daemon at rest, and what the monitoring
adds."""

from __future__ import annotations

import json
import time

from .common import GIB, MIB, figure, footprint_totals, parse_docker_mem
from .harness import CPU_WINDOW_SECONDS, Context, _out, ensure_lab, log, run_playbook, settle

FOOTPRINT_PROBE = r"""
import json, os, re, subprocess
UNITS = re.compile(r"^(zookeeper|kafka@.*|hdfs-.*|yarn-.*|spark-job-.*|mapred-.*|prometheus"
                   r"|streamstack-jobs-exporter)\.service$")
def show(unit, prop):
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", unit],
                          capture_output=True, text=True).stdout.strip()
rss, children, ticks = {}, {}, {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ppid = int(fields[1])
        ticks[int(pid)] = int(fields[11]) + int(fields[12])  # utime + stime
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    except OSError:
        continue
    rss[int(pid)] = int(m[1]) * 1024 if m else 0
    children.setdefault(ppid, []).append(int(pid))
listed = subprocess.run(["systemctl", "list-units", "--type=service", "--state=running",
                         "--plain", "--no-legend"], capture_output=True, text=True).stdout
units = []
for line in listed.splitlines():
    name = line.split()[0] if line.split() else ""
    if not UNITS.match(name):
        continue
    main = int(show(name, "MainPID") or 0)
    tree, todo = [], [main] if main else []
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    current = show(name, "MemoryCurrent")
    # CPU time of the tree's live processes (systemd's CPUUsageNSec is not set in
    # containers run with --cgroupns=host).
    cpu = sum(ticks.get(p, 0) for p in tree) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    units.append({"unit": name, "main_pid": main, "processes": len(tree),
                  "rss_bytes": sum(rss.get(p, 0) for p in tree),
                  "memory_current_bytes": int(current) if current.isdigit() else None,
                  "cpu_nsec": cpu})
print(json.dumps({"units": units, "total_rss_bytes": sum(rss.values()),
                  "processes": len(rss)}))
"""


# Units that are the monitoring stack itself; every other probed unit is a JVM daemon
# (with its JMX agent when metrics are on).
MONITORING_UNITS = ("prometheus.service", "streamstack-jobs-exporter.service")


def _probe(ctx: Context) -> dict[str, dict]:
    from .. import jobs

    host_exec = jobs.ansible_host_exec(ctx.inventory)
    hosts = {}
    for host in jobs._inventory_hosts(ctx.inventory, "all"):
        done = host_exec(host, ["python3", "-c", FOOTPRINT_PROBE])
        if done.rc != 0:
            raise SystemExit(f"footprint probe failed on {host}: {done.stderr[-500:]}")
        hosts[host] = json.loads(done.stdout.strip().splitlines()[-1])
    return hosts


def monitoring_split(before: dict[str, dict], after: dict[str, dict], seconds: float) -> dict:
    """RSS (at the end) and CPU (cores, over the window) of the JVM daemons and of the
    monitoring units, from two probes ``seconds`` apart; a unit restarted in between
    (CPU went down) counts no CPU."""
    out = {"jvm_rss_bytes": 0, "monitoring_rss_bytes": 0, "jvm_cpu_cores": 0.0,
           "monitoring_cpu_cores": 0.0, "window_seconds": round(seconds, 1)}
    for host, data in after.items():
        earlier = {u["unit"]: u for u in before.get(host, {}).get("units", [])}
        for unit in data["units"]:
            kind = "monitoring" if unit["unit"] in MONITORING_UNITS else "jvm"
            out[f"{kind}_rss_bytes"] += unit["rss_bytes"]
            start = earlier.get(unit["unit"], {}).get("cpu_nsec")
            if unit.get("cpu_nsec") is not None and start is not None \
                    and unit["cpu_nsec"] >= start and seconds > 0:
                out[f"{kind}_cpu_cores"] += (unit["cpu_nsec"] - start) / 1e9 / seconds
    out["jvm_cpu_cores"] = round(out["jvm_cpu_cores"], 3)
    out["monitoring_cpu_cores"] = round(out["monitoring_cpu_cores"], 3)
    return out


def _measure(ctx: Context) -> tuple[dict, dict]:
    window = ctx.options.get("cpu_window_seconds", CPU_WINDOW_SECONDS)
    before = _probe(ctx)
    started = time.monotonic()
    time.sleep(window)
    after = _probe(ctx)
    return after, monitoring_split(before, after, time.monotonic() - started)


def scenario_footprint(ctx: Context) -> tuple[list[dict], dict]:
    ensure_lab(ctx)
    settle_for = ctx.options["settle_seconds"]
    log(f"footprint: {settle_for}s at rest, then RSS and CPU of every daemon's process tree")
    time.sleep(settle_for)
    hosts, split = _measure(ctx)
    totals = footprint_totals(hosts)
    docker_stats = {}
    stats = _out(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"])
    for line in (stats or "").splitlines():
        name, _, usage = line.partition("\t")
        if name.startswith(ctx.prefix):
            docker_stats[name] = round(parse_docker_mem(usage))
    docker_total = sum(docker_stats.values())
    details = {"hosts": hosts, "totals": totals, "docker_stats_bytes": docker_stats,
               "metrics_on": split,
               "notes": "rss = sum of VmRSS over each unit's MainPID process tree (YARN "
                        "containers count under yarn-nodemanager); shared pages are "
                        "counted once per process, so sums are an upper bound. "
                        "docker stats = the containers' cgroup memory without page cache. "
                        "CPU = utime + stime of each unit's process tree over the window, "
                        "in cores (a unit restarted in between counts none)."}
    figures = [figure(f"{host} daemons RSS", round(t["daemons_rss_bytes"] / GIB, 2), "GiB")
               for host, t in totals["per_host"].items()]
    figures += [
        figure("lab total RSS (all processes, 3 hosts)", totals["lab_total_rss_gib"], "GiB",
               "lab_total_rss_gib"),
        # docker stats shows 0 B for containers run with --cgroupns=host: no figure then.
        figure("lab total (docker stats)", round(docker_total / GIB, 2) if docker_total
               else None, "GiB", "lab_total_rss_gib"),
        figure("Prometheus + jobs exporter RSS", round(split["monitoring_rss_bytes"] / MIB),
               "MiB"),
        figure("Prometheus + jobs exporter CPU", split["monitoring_cpu_cores"], "cores"),
        figure("JVM daemons CPU at rest, agents scraped", split["jvm_cpu_cores"], "cores"),
    ]
    if ctx.options.get("metrics_compare"):
        # The same lab converged without the agents (every JVM restarts), measured the
        # same way, then converged back: the difference is what the agents cost.
        off_run = run_playbook(ctx, "site.yml", "metrics off",
                               extravars={"streamstack_metrics_enabled": False})
        details["metrics_off_converge"] = off_run
        settle(ctx)
        time.sleep(settle_for)
        off_hosts, off = _measure(ctx)
        details["metrics_off"] = off
        details["metrics_off_hosts"] = off_hosts
        details["metrics_on_again"] = run_playbook(ctx, "site.yml", "metrics on again")
        figures += [
            figure("JVM daemons RSS added by the JMX agents",
                   round((split["jvm_rss_bytes"] - off["jvm_rss_bytes"]) / MIB), "MiB"),
            figure("JVM daemons CPU added by the agents and scrapes",
                   round(split["jvm_cpu_cores"] - off["jvm_cpu_cores"], 3), "cores"),
        ]
    return figures, details
