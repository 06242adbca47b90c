"""Kafka's rolling waits and topic reconciliation (issue 19, item 3), read from the role's
task files: what the restart wait asks the cluster, and what topics.yml alters."""

from __future__ import annotations

from pathlib import Path

import yaml

TASKS = Path(__file__).resolve().parents[2] / "roles" / "kafka" / "tasks"


def _tasks(name: str) -> list[dict]:
    return yaml.safe_load((TASKS / name).read_text())


def test_restart_waits_for_leaders_isr_and_min_isr_before_the_next_broker():
    waits = [t for t in _tasks("restart.yml") if "until" in t]
    assert len(waits) == 1
    wait = waits[0]
    body = yaml.safe_dump(wait)
    # A leaderless partition (RF 1 on the restarted broker) is not under-replicated.
    for report in ("--unavailable-partitions", "--under-replicated-partitions",
                   "--under-min-isr-partitions"):
        assert report in body, f"the restart wait does not ask {report}"
    assert "stdout | trim | length == 0" in wait["until"]
    assert "rc == 0" in wait["until"]


def test_topics_reconcile_min_insync_replicas_of_existing_topics():
    alters = [t for t in _tasks("topics.yml")
              if "kafka-configs.sh" in str(t.get("ansible.builtin.command", {}).get("argv", ""))]
    assert len(alters) == 1, "no task sets min.insync.replicas of existing topics"
    argv = alters[0]["ansible.builtin.command"]["argv"]
    assert "--alter" in argv and "topics" in argv
    assert any("min.insync.replicas=" in str(a) for a in argv)
    assert "kafka_topics_min_isr_drift" in alters[0]["loop"]
