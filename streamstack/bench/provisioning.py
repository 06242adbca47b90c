"""The provisioning scenario: cold and warm site.yml at each lab size, memory, the
controller's cost per task, and `streamstack verify`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..plugins.plugin_utils import converged
from .common import GIB, HOSTS, SCALING_HOSTS, figure, parse_docker_mem, ratio
from .harness import Context, _out, fresh_lab, log, run_playbook, settle

# -------------------------------------------------------------------- scenarios

def lab_memory_bytes(ctx: Context) -> int | None:
    """The bench lab's containers' memory as docker stats shows it (no page cache)."""
    stats = _out(["docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"])
    used = [parse_docker_mem(usage) for name, _, usage in
            (line.partition("\t") for line in (stats or "").splitlines())
            if name.startswith(ctx.prefix)]
    return round(sum(used)) if used and sum(used) else None


def measure_verify(ctx: Context) -> dict:
    """`streamstack verify`'s checks on the lab, timed as the command runs them."""
    from .. import checks, verify

    log("streamstack verify")
    started = time.monotonic()
    report, records = verify.run(ctx.inventory)
    seconds = round(time.monotonic() - started, 2)
    failed = [r for r in records if r["state"] == "failed"]
    log(f"verify: {len(records)} checks, {len(failed)} failed, in {seconds:.1f}s")
    return {"seconds": seconds, "checks": len(records), "failed": len(failed),
            "failures": verify.failure_lines(records)[:20],
            "probe_seconds": report.probe_seconds,
            "not_applicable": report.not_applicable, "check_names": len(checks.CHECKS)}


CONTROLLER_TASKS = 150


def controller_cost_per_task(ctx: Context) -> dict:
    """Seconds per task that Ansible spends on the controller alone: a play of
    CONTROLLER_TASKS set_fact tasks on three local hosts, through the same runner and
    ansible.cfg (Mitogen) as site.yml. With the task count of a warm run it gives the
    floor under which no remote work can bring that run."""
    import tempfile

    from .. import runner

    with tempfile.TemporaryDirectory(prefix="streamstack-bench-") as tmp:
        play = Path(tmp) / "controller-cost.yml"
        tasks = "".join(f"    - name: Set fact {i}\n      ansible.builtin.set_fact:\n"
                        f"        bench_fact_{i}: {i}\n" for i in range(CONTROLLER_TASKS))
        play.write_text(f"- name: Controller cost\n  hosts: all\n  gather_facts: false\n"
                        f"  tasks:\n{tasks}")
        inventory = Path(tmp) / "hosts.ini"
        inventory.write_text("".join(f"local{i} ansible_connection=local "
                                     f"ansible_python_interpreter={sys.executable}\n"
                                     for i in range(HOSTS)))
        log(f"controller cost: {CONTROLLER_TASKS} set_fact tasks on {HOSTS} local hosts")
        started = time.monotonic()
        summary, _ = runner.run_playbook(str(play), inventory, quiet=True)
        seconds = time.monotonic() - started
    return {"tasks": CONTROLLER_TASKS, "hosts": HOSTS, "seconds": round(seconds, 1),
            "ok": summary.ok, "seconds_per_task": round(seconds / CONTROLLER_TASKS, 3)}


# A run with more tasks than this on its busiest host did not take site.yml's short cut.
SHORT_CUT_MAX_TASKS = 15
# A short-cut run takes a few seconds, so one run swings with whatever else the 2 cores
# do at that second (one in bench/results/provisioning-20261206-061919.json took 4.6 s
# at 5 hosts, 3.2-3.4 s by hand on the same code): the median of three.
WARM_SHORT_CUT_RUNS = 3


def tasks_on_busiest_host(run: dict) -> int:
    """Tasks the busiest host ran (ok + skipped + changed): the length of its path."""
    return max((sum(v for k, v in stats.items() if k in ("ok", "skipped", "changed"))
                for stats in run["stats"].values()), default=0)


def median_run(runs: list[dict]) -> dict:
    """The run of median time among identical runs, with every run's seconds and the
    most changed tasks any of them reported."""
    chosen = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    most_changed = max(runs, key=lambda run: run["changed"])
    return {**chosen, "changed": most_changed["changed"],
            "changed_tasks": most_changed["changed_tasks"],
            "runs_seconds": [run["seconds"] for run in runs]}


def provision_size(ctx: Context, hosts: int) -> dict:
    """Fresh containers, cold site.yml, the jobs settled, then the warm site.yml: as
    users run it (the short cut, no host drifted; the median of WARM_SHORT_CUT_RUNS) and
    once with every role run in full (streamstack_full_run); memory at rest."""
    lab_seconds = fresh_lab(ctx, count=hosts)
    log(f"{hosts} host(s): containers up in {lab_seconds:.0f}s")
    cold = run_playbook(ctx, "site.yml", f"cold site.yml, {hosts} host(s)")
    settled = settle(ctx)
    warm_runs = [run_playbook(ctx, "site.yml", f"warm site.yml, {hosts} host(s), run {n + 1}")
                 for n in range(WARM_SHORT_CUT_RUNS)]
    warm = median_run(warm_runs)
    warm_full = run_playbook(ctx, "site.yml", f"warm full site.yml, {hosts} host(s)",
                             extravars=converged.FULL_RUN)
    memory = lab_memory_bytes(ctx)
    return {"hosts": hosts, "lab_up_seconds": round(lab_seconds, 1), "cold": cold,
            "settle_before_warm": settled, "warm": warm, "warm_full": warm_full,
            "warm_short_cut": all(tasks_on_busiest_host(run) <= SHORT_CUT_MAX_TASKS
                                  for run in warm_runs),
            "memory_bytes": memory, "cold_up_seconds": round(lab_seconds + cold["seconds"], 1)}


def scenario_provisioning(ctx: Context) -> tuple[list[dict], dict]:
    sizes = {}
    for hosts in ctx.options.get("scaling_hosts", SCALING_HOSTS):
        sizes[hosts] = provision_size(ctx, hosts)
    main = sizes[HOSTS]
    checked = measure_verify(ctx)
    cost = controller_cost_per_task(ctx)
    warm_tasks = tasks_on_busiest_host(main["warm_full"])
    details = {"sizes": {str(h): d for h, d in sizes.items()}, "verify": checked,
               "controller_cost": cost, "warm_tasks_busiest_host": warm_tasks,
               "notes": "Each size from fresh containers and purged volumes, the artifact "
                        "cache and node image reused. Memory: docker stats after the warm "
                        "run (the containers' cgroups, page cache excluded)."}
    figures = [
        figure("cold up, 3 hosts (containers + site.yml)", main["cold_up_seconds"], "s",
               "cold_site_seconds", note=f"site.yml alone {main['cold']['seconds']:.0f} s"),
        figure("warm site.yml, 3 hosts", round(main["warm"]["seconds"], 1), "s",
               "warm_site_seconds",
               note=f"{short_cut_note(main)}, after the jobs ran and the load settled "
                    f"({main['settle_before_warm']['seconds']:.0f} s)"),
        figure("warm full site.yml (streamstack_full_run), 3 hosts",
               round(main["warm_full"]["seconds"], 1), "s",
               note=f"every role run; changed={main['warm_full']['changed']}"),
        figure("warm re-run changed tasks, 3 hosts (short cut + full)",
               main["warm"]["changed"] + main["warm_full"]["changed"], "", "warm_changed"),
    ]
    for hosts, data in sizes.items():
        if hosts == HOSTS:
            continue
        figures += [
            figure(f"cold up, {hosts} host(s)", data["cold_up_seconds"], "s"),
            figure(f"warm site.yml, {hosts} host(s)", round(data["warm"]["seconds"], 1), "s",
                   note=f"{short_cut_note(data)}, changed={data['warm']['changed']}"),
            figure(f"warm full site.yml, {hosts} host(s)",
                   round(data["warm_full"]["seconds"], 1), "s",
                   note=f"changed={data['warm_full']['changed']}"),
        ]
    if 5 in sizes:
        figures += [
            figure("warm site.yml, 5 hosts / 3 hosts",
                   ratio(sizes[5]["warm"]["seconds"], main["warm"]["seconds"]),
                   "x", "warm_5_to_3_ratio"),
            figure("warm full site.yml, 5 hosts / 3 hosts",
                   ratio(sizes[5]["warm_full"]["seconds"], main["warm_full"]["seconds"]), "x"),
        ]
    for hosts, data in sorted(sizes.items()):
        per_host = data["memory_bytes"] / hosts / GIB if data["memory_bytes"] else None
        figures.append(figure(f"memory per host, {hosts} host(s)",
                              round(per_host, 2) if per_host else None, "GiB",
                              note="docker stats / hosts"))
    figures += [
        figure("warm full run tasks on the busiest host, 3 hosts", warm_tasks, "",
               note="ok + skipped"),
        figure("controller cost per task (set_fact, 3 local hosts)",
               cost["seconds_per_task"], "s"),
        figure("warm full floor: tasks x controller cost", round(warm_tasks * cost[
            "seconds_per_task"], 1), "s", note="what the full run costs before any host "
                                               "work"),
        figure("streamstack verify, 3 hosts", checked["seconds"], "s", "verify_seconds",
               note=f"{checked['checks']} checks"),
        figure("streamstack verify failed checks", checked["failed"], "", "verify_failed"),
    ]
    return figures, details


def short_cut_note(size: dict) -> str:
    runs = size.get("warm", {}).get("runs_seconds") or []
    of_runs = (f", median of {len(runs)} runs ({', '.join(f'{s:.1f}' for s in runs)} s)"
               if len(runs) > 1 else "")
    return ("short cut: roles skipped, no host drifted" if size["warm_short_cut"]
            else "no short cut: the roles ran") + of_runs
