"""The reliability suite's own report and watcher (issue 19, item 6), without a lab: the
report writer fed outcomes as pytest gives them, the broker-count watcher run for real
against a port where no broker answers, and scenario 4's explicit skip."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
import reliability_lib  # noqa: E402


def test_default_report_path_is_a_stamped_file_under_bench_results():
    path = reliability_lib.REPORT_PATH
    if "STREAMSTACK_RELIABILITY_REPORT" not in __import__("os").environ:
        assert path.parent == ROOT / "bench" / "results"
        assert path.name.startswith("reliability-2") and path.suffix == ".json"


def test_report_holds_every_scenario_with_its_verdict_and_figures(tmp_path):
    report = reliability_lib.Report(tmp_path / "reliability-x.json")
    report.collected(["test_1_kill", "test_4_restart", "test_6_upgrade"])
    report.begin("test_1_kill")
    report.figures("1_broker_sigkill", {"acked": 10, "lost": 0})
    # Other hosts skip on purpose; the node's run decides.
    report.outcome("test_1_kill", "ansible://w1", "skipped", 0.0, "runs once")
    report.outcome("test_1_kill", "ansible://m", "passed", 42.04)
    report.begin("test_4_restart")
    report.outcome("test_4_restart", "ansible://m", "skipped", 0.1, "re-checks scenario 1")
    report.write(finished=True)
    data = json.loads((tmp_path / "reliability-x.json").read_text())
    scenarios = data["scenarios"]
    assert set(scenarios) == {"test_1_kill", "test_4_restart", "test_6_upgrade"}
    assert scenarios["test_1_kill"]["verdict"] == "passed"
    assert scenarios["test_1_kill"]["figures"] == {"1_broker_sigkill": {"acked": 10, "lost": 0}}
    assert scenarios["test_4_restart"] == {
        "verdict": "skipped", "reason": "re-checks scenario 1", "figures": {},
        "runs": [{"node": "ansible://m", "verdict": "skipped", "seconds": 0.1,
                  "reason": "re-checks scenario 1"}]}
    assert scenarios["test_6_upgrade"]["verdict"] == "not run"
    assert data["verdict"] == "incomplete" and data["finished"]
    report.outcome("test_6_upgrade", "ansible://m", "failed", 3.0, "lost 2")
    assert json.loads((tmp_path / "reliability-x.json").read_text())["verdict"] == "failed"


def test_every_reliability_result_was_written_by_the_suite():
    for path in sorted((ROOT / "bench" / "results").glob("reliability-*.json")):
        data = json.loads(path.read_text())
        assert data.get("suite") == "reliability" and "scenarios" in data, (
            f"{path.name} was not written by tests/reliability (hand-assembled?)")


def test_watcher_counts_a_failed_sample_as_zero_brokers(tmp_path):
    pytest.importorskip("kafka")
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "watch.py"
    script.write_text(reliability_lib.WATCH)
    out = tmp_path / "watch.json"
    done = subprocess.run([sys.executable, str(script), f"127.0.0.1:{port}",
                           str(tmp_path / "stop"), str(out), "3"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-1500:]
    watched = json.loads(out.read_text())
    assert watched["samples"] >= 1
    assert watched["failed_samples"] == watched["samples"]
    assert watched["min_brokers"] == 0


def test_scenario_4_skips_explicitly_without_the_scenarios_it_rechecks():
    with pytest.raises(pytest.skip.Exception, match="scenario 1 and scenario 3"):
        reliability_lib.require_scenarios({}, {"s1": "scenario 1", "s3": "scenario 3"})
    reliability_lib.require_scenarios({"s1": 1, "s3": 1}, {"s1": "scenario 1",
                                                           "s3": "scenario 3"})
    # Scenario 4 asks before it restarts anything, and no longer skips its checks silently.
    source = (ROOT / "tests" / "reliability" / "test_faults.py").read_text()
    test_4 = next(node for node in ast.parse(source).body
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_4_"))
    text = ast.get_source_segment(source, test_4)
    assert "require_scenarios(_state" in text
    assert 'if "s1" in _state' not in text and 'if "s3" in _state' not in text
