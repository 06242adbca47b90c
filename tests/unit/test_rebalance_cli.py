"""`streamstack rebalance`: the playbook, its extra variables, and the playbook's shape."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from streamstack import cli

ROOT = Path(__file__).resolve().parents[2]


def test_cli_runs_the_rebalance_playbook_with_topics_and_throttle(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(cli, "_run", lambda playbook, inventory, **kw: calls.append(
        (playbook, inventory, kw)))
    result = CliRunner().invoke(cli.cli, ["rebalance", "--topics", "events,operations",
                                          "--throttle", "5000000", "--check",
                                          "-i", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert calls == [("playbooks/rebalance.yml", tmp_path.resolve(), {
        "check": True, "extravars": {"kafka_rebalance_topics": ["events", "operations"],
                                     "kafka_rebalance_throttle_bytes": 5000000}})]


def test_rebalance_playbook_is_fatal_everywhere_and_runs_the_role_task_file():
    (play,) = yaml.safe_load((ROOT / "playbooks/rebalance.yml").read_text())
    assert play["any_errors_fatal"] is True
    task = play["tasks"][0]["ansible.builtin.include_role"]
    assert task == {"name": "streamstack.lab.kafka", "tasks_from": "rebalance"}
    (reassign,) = [t for t in yaml.safe_load((ROOT / "roles/kafka/tasks/rebalance.yml")
                                             .read_text()) if "streamstack.lab.kafka_reassign" in t]
    assert "kafka_rebalance_throttle_bytes" in reassign["streamstack.lab.kafka_reassign"][
        "throttle_bytes"]
