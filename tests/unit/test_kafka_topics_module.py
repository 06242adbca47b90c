"""plugins/modules/kafka_topics.py (issue 21, item 4): what the module decides from the
declared topics and what the cluster has, and that Ansible runs it (check mode without a
broker). Against real brokers it runs in every site.yml and in tests/reliability."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("kafka_topics_module",
                                               ROOT / "plugins" / "modules" / "kafka_topics.py")
M = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(M)

CURRENT = {"events": {"partitions": 3, "replication": 3,
                      "configs": {"min.insync.replicas": "2", "retention.ms": "600000"}},
           "Hello-Kafka": {"partitions": 1, "replication": 1, "configs": {}}}


def _topic(name, partitions=3, rf=3, **configs):
    return {"name": name, "partitions": partitions, "replication_factor": rf,
            "configs": configs}


def test_nothing_to_do_when_the_cluster_matches():
    todo = M.plan([_topic("events", **{"min.insync.replicas": 2})], CURRENT)
    assert todo == {"create": [], "grow": {}, "configs": {}, "errors": []}


def test_missing_topic_is_created_with_its_configs():
    todo = M.plan([_topic("new", 12, 3, **{"min.insync.replicas": 2})], CURRENT)
    assert todo["create"] == [{"name": "new", "partitions": 12, "replication_factor": 3,
                               "configs": {"min.insync.replicas": "2"}}]
    assert not todo["errors"]


def test_partitions_grow_and_configs_drift_are_reported_with_before_and_after():
    todo = M.plan([_topic("events", 12, **{"min.insync.replicas": 1}),
                   _topic("Hello-Kafka", 1, 1, **{"min.insync.replicas": 1})], CURRENT)
    assert todo["grow"] == {"events": {"before": 3, "after": 12}}
    # A topic without the override (the broker default applies) drifts too.
    assert todo["configs"] == {
        "events": {"min.insync.replicas": {"before": "2", "after": "1"}},
        "Hello-Kafka": {"min.insync.replicas": {"before": None, "after": "1"}}}
    # Overrides not declared (retention.ms) are neither reported nor dropped.
    assert "retention.ms" not in todo["configs"]["events"]


def test_shrink_and_replication_change_are_refused_with_the_fix():
    todo = M.plan([_topic("events", 2, 2)], CURRENT)
    assert len(todo["errors"]) == 2
    assert "partitions can only grow (set partitions: 3 or more)" in todo["errors"][0]
    assert "kafka-reassign-partitions.sh" in todo["errors"][1]
    assert "declare replication: 3" in todo["errors"][1]


def test_diff_names_every_change():
    todo = M.plan([_topic("events", 6, **{"min.insync.replicas": 1}), _topic("new", 1, 1)],
                  CURRENT)
    diff = M._diff(todo)
    assert "events: 3 partitions" in diff["before"]
    assert "events: 6 partitions" in diff["after"]
    assert "events: min.insync.replicas=1" in diff["after"]
    assert "new: created, 1 partitions" in diff["after"]


def test_check_mode_without_a_broker_reports_every_topic_to_create(tmp_path):
    """The module as Ansible runs it (its argument spec, check mode), against a port
    where nothing listens: a fresh cluster in `site.yml --check`."""
    args = {"ANSIBLE_MODULE_ARGS": {
        "bootstrap_servers": "127.0.0.1:1", "timeout_ms": 2000,
        "topics": [{"name": "events", "partitions": 3, "replication_factor": 3}],
        "_ansible_check_mode": True}}
    path = tmp_path / "args.json"
    path.write_text(json.dumps(args))
    done = subprocess.run([sys.executable, str(ROOT / "plugins/modules/kafka_topics.py"),
                           str(path)], capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout)
    assert result["changed"] is True, result
    assert result["created"] == ["events"]
    assert not result.get("failed")


def test_without_check_mode_an_unreachable_cluster_fails_naming_it(tmp_path):
    args = {"ANSIBLE_MODULE_ARGS": {
        "bootstrap_servers": "127.0.0.1:1", "timeout_ms": 2000,
        "topics": [{"name": "events"}]}}
    path = tmp_path / "args.json"
    path.write_text(json.dumps(args))
    done = subprocess.run([sys.executable, str(ROOT / "plugins/modules/kafka_topics.py"),
                           str(path)], capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout)
    assert result["failed"] is True
    assert "127.0.0.1:1" in result["msg"]
