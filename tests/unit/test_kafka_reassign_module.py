"""plugins/modules/kafka_reassign.py (issue 21, items 1 and 2): the plan that rebalances
onto a new broker or drains one. Against real brokers: tests/reliability/test_operations.py."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("kafka_reassign_module",
                                               ROOT / "plugins" / "modules" / "kafka_reassign.py")
M = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(M)


def _three_broker_topic(partitions: int) -> dict:
    """What Kafka assigns on brokers 0-2 (round robin, RF 3)."""
    return {p: [(p + i) % 3 for i in range(3)] for p in range(partitions)}


def _apply(current, changes):
    return {t: {p: changes.get(t, {}).get(p, r) for p, r in parts.items()}
            for t, parts in current.items()}


def test_balanced_cluster_gives_an_empty_plan():
    assert M.plan({"events": _three_broker_topic(12)}, [0, 1, 2]) == {}


def test_new_broker_gets_its_share_of_replicas_and_leaders_with_few_moves():
    current = {"events": _three_broker_topic(12), "__consumer_offsets": _three_broker_topic(50)}
    changes = M.plan(current, [0, 1, 2, 3])
    after = _apply(current, changes)
    events = after["events"]
    replicas = Counter(b for r in events.values() for b in r)
    leaders = Counter(r[0] for r in events.values())
    assert set(replicas.values()) == {9}
    assert set(leaders.values()) == {3}
    assert all(len(set(r)) == 3 for r in events.values())
    # Only a quarter of the replicas move: one per partition at most.
    moved = sum(len(set(after["events"][p]) - set(current["events"][p])) for p in range(12))
    assert moved == 9
    assert M.plan(after, [0, 1, 2, 3]) == {}, "a second run changes nothing"


def test_drain_moves_every_replica_off_the_removed_broker():
    current = {"events": {p: [(p + i) % 4 for i in range(3)] for p in range(12)}}
    after = _apply(current, M.plan(current, [0, 1, 2]))
    assert all(3 not in r and len(set(r)) == 3 for r in after["events"].values())
    assert set(Counter(r[0] for r in after["events"].values()).values()) == {4}


def test_drain_below_the_replication_factor_is_refused():
    with pytest.raises(ValueError, match="replication factor 3 needs at least"):
        M.plan({"events": _three_broker_topic(3)}, [0, 1])


def test_single_partition_topics_spread_over_the_new_broker_too():
    current = {f"t{i}": {0: [i % 3, (i + 1) % 3]} for i in range(8)}
    after = _apply(current, M.plan(current, [0, 1, 2, 3]))
    load = Counter(b for parts in after.values() for r in parts.values() for b in r)
    assert load[3] >= 3
    assert max(load.values()) - min(load.values()) <= 1
