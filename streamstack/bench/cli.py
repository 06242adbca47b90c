"""Benchmarks of the lab: provisioning, Kafka, pipeline, footprint, connection.

The command line (``streamstack bench``, ``python -m streamstack.bench``): the first
line above is its --help description. RUNNERS maps each scenario to its function;
run_scenario runs one and writes its JSON, chart and log lines.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from .. import PROJECT_ROOT
from .charts import chart
from .common import (
    DEFAULT_SCENARIOS,
    HOSTS,
    PREFIX,
    RESULTS_DIR,
    SCALING_HOSTS,
    SCENARIOS,
    goal_text,
    result_document,
)
from .connection import scenario_connection
from .footprint import scenario_footprint
from .harness import CPU_WINDOW_SECONDS, Context, log, machine_facts, versions
from .kafka import scenario_kafka
from .pipeline import scenario_pipeline
from .provisioning import scenario_provisioning
from .readme import update_readme
from .security import scenario_security

RUNNERS = {"provisioning": scenario_provisioning, "kafka": scenario_kafka,
           "pipeline": scenario_pipeline, "footprint": scenario_footprint,
           "connection": scenario_connection, "security": scenario_security}


# ------------------------------------------------------------------------- main


def run_scenario(ctx: Context, scenario: str) -> dict:
    machine = machine_facts()
    log(f"== {scenario} (load average {machine['load_average_start'][0]})")
    started = time.monotonic()
    figures, details = RUNNERS[scenario](ctx)
    lab = None if ctx.own_lab else {"inventory": str(ctx.inventory)}
    doc = result_document(scenario, figures, details, machine, versions(),
                          time.monotonic() - started, lab)
    ctx.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = ctx.out / f"{scenario}-{stamp}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    try:
        chart(scenario, doc, ctx.out / f"{scenario}.png")
    except Exception as exc:  # noqa: BLE001 - a chart must not lose the measurements
        log(f"{scenario}: chart failed: {exc!r}")
    for fig in figures:
        met = {True: "ok", False: "MISSED", None: ""}[fig["met"]]
        log(f"  {fig['name']}: {fig['value']} {fig['unit']}  (goal {goal_text(fig)}) {met}")
    log(f"{scenario}: done in {doc['seconds']:.0f}s -> {path.relative_to(PROJECT_ROOT)}")
    return doc


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(int(h) for h in text.split(","))
    if HOSTS not in sizes:
        raise argparse.ArgumentTypeError(f"the sizes must include {HOSTS} (the lab the other "
                                         "scenarios measure)")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamstack bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="all",
                        choices=("all", *SCENARIOS, "readme"),
                        help="readme: only rewrite the README tables from the JSON files")
    parser.add_argument("--keep", action="store_true", help="leave the bench lab running")
    parser.add_argument("--prefix", default=PREFIX, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("-i", "--inventory",
                        help="measure this running lab (e.g. inventories/local) instead of a "
                             "bench- lab: kafka and pipeline only; nothing is "
                             "created or removed")
    parser.add_argument("--kafka-records", type=int, default=100000,
                        help="1 KiB records per perf-test run")
    parser.add_argument("--python-records", type=int, default=20000,
                        help="1 KiB records sent by the kafka-python producer")
    parser.add_argument("--dd-mib", type=int, default=256)
    parser.add_argument("--samples", type=int, default=60, help="word count latency samples")
    parser.add_argument("--hosts", default=",".join(str(h) for h in SCALING_HOSTS),
                        type=_sizes, help="provisioning: lab sizes, in order (with 3)")
    parser.add_argument("--settle-seconds", type=int, default=20,
                        help="footprint: idle time before measuring")
    parser.add_argument("--cpu-window", type=int, default=CPU_WINDOW_SECONDS,
                        help="footprint: seconds over which CPU is measured")
    parser.add_argument("--metrics-compare", action="store_true",
                        help="footprint: also measure the lab converged without the JMX "
                             "agents (two more site.yml runs), for what they add")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = Context(prefix=args.prefix, out=Path(args.out),
                  options={"kafka_records": args.kafka_records,
                           "python_records": args.python_records, "dd_mib": args.dd_mib,
                           "samples": args.samples, "settle_seconds": args.settle_seconds,
                           "scaling_hosts": args.hosts,
                           "cpu_window_seconds": args.cpu_window,
                           "metrics_compare": args.metrics_compare})
    if args.scenario == "readme":
        update_readme(ctx.out)
        return 0
    scenarios = list(DEFAULT_SCENARIOS) if args.scenario == "all" else [args.scenario]
    if args.inventory:
        # Someone's running lab: only the scenarios that measure a lab without rebuilding it
        # (footprint --metrics-compare converges it without the agents and back).
        others = sorted(set(scenarios) - {"kafka", "pipeline", "footprint"})
        if others:
            raise SystemExit(f"bench: --inventory measures a running lab with kafka, "
                             f"pipeline and footprint only, not {', '.join(others)}")
        ctx.inventory = Path(args.inventory).resolve()
        ctx.own_lab = False
    started = time.monotonic()
    failed: list[str] = []
    try:
        for scenario in scenarios:
            try:
                run_scenario(ctx, scenario)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the next ones still run
                log(f"{scenario}: FAILED: {exc}")
                failed.append(scenario)
                if scenario == "provisioning" or ctx.inventory is None:
                    break  # no lab to measure
            try:
                update_readme(ctx.out)
            except (OSError, ValueError, KeyError) as exc:
                log(f"bench/README.md not updated: {exc!r}")
    finally:
        from .. import lab

        if not ctx.own_lab:
            pass  # not ours: left as it was
        elif args.keep or failed:
            log(f"the {ctx.prefix} lab is kept: `streamstack lab down --purge --prefix "
                f"{ctx.prefix}` removes it")
        else:
            log(f"removing the {ctx.prefix} lab (--keep leaves it)")
            lab.down(ctx.lab, purge=True, progress=log)
    log(f"all done in {time.monotonic() - started:.0f}s"
        + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
