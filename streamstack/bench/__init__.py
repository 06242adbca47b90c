"""Benchmarks of the lab: provisioning, Kafka, pipeline, footprint, connection.

    python -m streamstack.bench [all|provisioning|kafka|pipeline|footprint|connection]
    streamstack bench [SCENARIO] [--keep]

Runs on its own lab (prefix ``bench-``, 3 hosts, no published ports). ``all`` and
``provisioning`` start from fresh containers (image and artifacts cached); the other
scenarios reuse a running bench lab or build one first. The lab is removed with its
volumes at the end unless ``--keep``.

Each scenario writes ``bench/results/<scenario>-<UTC stamp>.json`` (machine facts,
load average at its start, versions, date, every figure next to its goal) and
``bench/results/<scenario>.png``, and refreshes the figures table in bench/README.md.
The pure parts (output parsers, percentile, figures) are unit tested in
tests/unit/test_bench.py.

Where things live:

- ``common.py``: the scenarios, the lab's size, the goals, and the pure parts (output
  parsers, percentile, ratio, figures, the result document, the README tables' blocks);
- ``harness.py``: what every scenario runs on: machine facts and versions, the log,
  the bench lab (``Context``, ``fresh_lab``, ``ensure_lab``, ``run_playbook``), waiting
  for it to settle, and the machine's and containers' CPU counters;
- one module per scenario: ``provisioning.py``, ``connection.py``, ``security.py``,
  ``kafka.py``, ``pipeline.py``, ``footprint.py`` (each with its ``scenario_<name>``);
- ``charts.py``: each scenario's PNG;
- ``readme.py``: the tables of bench/README.md and of the project README;
- ``cli.py`` (and ``__main__.py``): the command line, ``RUNNERS`` and ``run_scenario``.

The names other code uses are re-exported here.
"""

from .cli import build_parser, main
from .common import (
    DEFAULT_SCENARIOS,
    GIB,
    SCENARIOS,
    figure,
    figures_markdown,
    footprint_totals,
    goal_text,
    parse_consumer_perf,
    parse_dd,
    parse_docker_mem,
    parse_log_dirs,
    parse_producer_perf,
    percentile,
    ratio,
    replace_block,
    result_document,
    run_summary,
)
from .footprint import monitoring_split
from .harness import Context, cpu_delta, load_bench_module, settle
from .kafka import mean_ratio, tool_cpu_seconds
from .provisioning import SHORT_CUT_MAX_TASKS, median_run, short_cut_note, tasks_on_busiest_host
from .readme import kafka_runs_markdown, latest_documents
from .security import SECURITY_PROFILES, security_figures

__all__ = [
    "DEFAULT_SCENARIOS", "GIB", "SCENARIOS", "SECURITY_PROFILES", "SHORT_CUT_MAX_TASKS",
    "build_parser", "Context", "cpu_delta", "figure", "figures_markdown", "footprint_totals",
    "goal_text", "kafka_runs_markdown", "latest_documents", "load_bench_module", "main",
    "mean_ratio", "median_run", "monitoring_split", "parse_consumer_perf", "parse_dd",
    "parse_docker_mem", "parse_log_dirs", "parse_producer_perf", "percentile", "ratio",
    "replace_block", "result_document", "run_summary", "security_figures", "settle",
    "short_cut_note", "tasks_on_busiest_host", "tool_cpu_seconds",
]
