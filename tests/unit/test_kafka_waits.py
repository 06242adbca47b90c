"""Kafka's rolling waits and topic reconciliation (issue 19, item 3), read from the role's
task files: what the restart wait asks the cluster, and that topics.yml uses the admin module."""

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


def test_topics_go_through_the_admin_module_not_cli_output():
    tasks = _tasks("topics.yml")
    assert not [t for t in tasks if "ansible.builtin.command" in t or "ansible.builtin.shell" in t]
    module = [t for t in tasks if "streamstack.lab.kafka_topics" in t]
    assert len(module) == 1, "one kafka_topics task reconciles every declared topic"
    assert "kafka_topics_wanted" in module[0]["streamstack.lab.kafka_topics"]["topics"]


def test_stalled_migration_stops_every_controller_before_any_starts():
    """With the linear strategy a task ends on every host before the next begins: one
    task stopping the controllers, a later one starting them, means no controller is
    up (and able to win an election) while another is still down. A per-host restart
    was the 3.6.1 ApiVersions stall seen on the default lab."""
    tasks = _tasks("migration_wait.yml")
    states = [(t["name"], t["ansible.builtin.systemd_service"]["state"]) for t in tasks
              if "ansible.builtin.systemd_service" in t]
    assert [state for _, state in states] == ["stopped", "started"], states
    stop, start = (next(t for t in tasks if t["name"] == name) for name, _ in states)
    assert stop["loop"] == start["loop"] == "{{ kafka_migration_controller_nodes }}"
    assert stop["register"] in start["when"]
