#!/usr/bin/python
"""Ansible module: spread partition replicas and leaders evenly over a set of brokers."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kafka_reassign
short_description: Rebalance or drain Kafka brokers with kafka-reassign-partitions.sh
description:
  - Reads the replica assignment with the Kafka admin API (kafka-python), computes the
    smallest change that gives every target broker its share of each topic's replicas and
    preferred leaders (replicas on brokers outside the targets are moved onto them, a
    drain), runs C(kafka-reassign-partitions.sh --execute) with a replication throttle,
    waits until C(--verify) reports it complete (which removes the throttle), checks that
    no throttle is left, then elects the preferred leaders.
  - An already balanced cluster gives an empty plan (changed=false). Check mode returns
    the plan without executing it.
  - A reassignment still running from an interrupted run is waited for first.
options:
  bootstrap_servers:
    description: Comma-separated host:port list of brokers.
    type: str
    required: true
  brokers:
    description: The broker ids that should carry the replicas; every other broker is drained.
    type: list
    elements: int
    required: true
  topics:
    description: Topics to balance; empty means every topic, internal ones included.
    type: list
    elements: str
    default: []
  throttle_bytes:
    description: Replication throttle (bytes/s) while replicas move.
    type: int
    default: 10485760
  kafka_home:
    description: Kafka installation (its bin/kafka-reassign-partitions.sh is run).
    type: path
    default: /opt/kafka
  java_home:
    description: JAVA_HOME of the Kafka tools.
    type: path
    required: true
  work_dir:
    description: Where the reassignment JSON is kept (re-runs verify it to clear throttles).
    type: path
    required: true
  wait_seconds:
    description: How long to wait for the reassignment to complete.
    type: int
    default: 1800
  client_options:
    description: More KafkaAdminClient settings (the secure profile's SASL_SSL ones).
    type: dict
    default: {}
  command_config:
    description: Client properties file for kafka-reassign-partitions.sh (--command-config).
    type: path
requirements:
  - kafka-python >= 2.0 on the host that runs the module
author: streamstack maintainers (@streamstack)
"""

EXAMPLES = r"""
- name: Kafka | Spread the partitions over every broker
  kafka_reassign:
    bootstrap_servers: hadoop-master:19092
    brokers: [0, 1, 2, 3]
    java_home: /usr/lib/jvm/java-17-openjdk-amd64
    work_dir: /var/lib/kafka/admin-client
"""

RETURN = r"""
moved:
  description: Partitions whose replica set changed.
  type: int
  returned: always
reordered:
  description: Partitions whose preferred leader changed without data moving.
  type: int
  returned: always
leaders:
  description: Partitions led by each target broker after the run (topics balanced).
  type: dict
  returned: always
"""

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def _count(assignment: dict, brokers: list[int], leaders_only: bool = False) -> dict[int, int]:
    counts = dict.fromkeys(brokers, 0)
    for replicas in assignment.values():
        for broker in replicas[:1] if leaders_only else replicas:
            if broker in counts:
                counts[broker] += 1
    return counts


def _pick(counts: dict[int, int], total: dict[int, int], candidates, lowest: bool = True) -> int:
    """The least (or most) loaded candidate; ties go to the least loaded over all
    topics, then the smallest id, so the plan is the same on every run."""
    if lowest:
        return min(candidates, key=lambda b: (counts[b], total[b], b))
    return max(candidates, key=lambda b: (counts[b], total[b], -b))


def balance_topic(assignment: dict, brokers: list[int], total: dict[int, int]) -> dict:
    """One topic's {partition: replicas} rebalanced over `brokers` with the fewest
    replica moves: off brokers not listed, then from the fullest broker to the emptiest
    until their counts differ by at most one (in the topic, and over all topics); then
    preferred leaders (the first replica) evened out by reordering replicas, which moves
    no data. `total` (replicas per broker
    over the topics done so far) breaks ties and is updated."""
    out = {p: list(r) for p, r in sorted(assignment.items())}
    for replicas in out.values():
        if len(replicas) > len(brokers):
            raise ValueError(f"replication factor {len(replicas)} needs at least that many "
                             f"brokers, only {len(brokers)} are kept ({brokers})")
    counts = _count(out, brokers)
    for replicas in out.values():
        for i, broker in enumerate(replicas):
            if broker not in counts:
                new = _pick(counts, total, [b for b in brokers if b not in replicas])
                replicas[i] = new
                counts[new] += 1
    while True:
        hi, lo = _pick(counts, total, brokers, False), _pick(counts, total, brokers)
        spread = counts[hi] - counts[lo]
        # Within one replica in this topic, a move that swaps the two counts still evens
        # out the brokers over all topics (single-partition topics, a new broker).
        overall = (total[hi] + counts[hi]) - (total[lo] + counts[lo])
        if spread <= 0 or (spread == 1 and overall <= 1):
            break
        # Prefer a partition the full broker follows: its leadership stays put.
        choices = [p for p, r in out.items() if hi in r and lo not in r]
        if not choices:
            break
        part = min(choices, key=lambda p: (out[p][0] == hi, p))
        out[part][out[part].index(hi)] = lo
        counts[hi] -= 1
        counts[lo] += 1
    leaders = _count(out, brokers, leaders_only=True)
    while True:
        hi = max(brokers, key=lambda b: (leaders[b], -b))
        lo = min(brokers, key=lambda b: (leaders[b], b))
        if leaders[hi] - leaders[lo] <= 1:
            break
        choices = [p for p, r in out.items() if r[0] == hi and lo in r]
        if not choices:
            break
        replicas = out[choices[0]]
        replicas.remove(lo)
        replicas.insert(0, lo)
        leaders[hi] -= 1
        leaders[lo] += 1
    for broker, n in counts.items():
        total[broker] += n
    return out


def plan(current: dict[str, dict], brokers: list[int]) -> dict[str, dict]:
    """{topic: {partition: replicas}} of every partition whose replica list changes."""
    brokers = sorted(set(brokers))
    total = dict.fromkeys(brokers, 0)
    changes = {}
    for topic in sorted(current):
        new = balance_topic(current[topic], brokers, total)
        diff = {p: r for p, r in new.items() if r != current[topic][p]}
        if diff:
            changes[topic] = diff
    return changes


def _reassignment_json(changes: dict) -> str:
    return json.dumps({"version": 1, "partitions": [
        {"topic": t, "partition": p, "replicas": r}
        for t, parts in sorted(changes.items()) for p, r in sorted(parts.items())]})


class _Tools:
    def __init__(self, module, kafka_home, java_home, bootstrap, work_dir, command_config=None):
        self.module, self.bootstrap, self.work_dir = module, bootstrap, work_dir
        self.extra = ["--command-config", command_config] if command_config else []
        self.script = os.path.join(kafka_home, "bin", "kafka-reassign-partitions.sh")
        self.env = {"JAVA_HOME": java_home, "LOG_DIR": work_dir}

    def run(self, *args, check=True):
        rc, out, err = self.module.run_command([self.script, "--bootstrap-server",
                                                self.bootstrap, *self.extra, *args],
                                               environ_update=self.env)
        if check and rc != 0:
            self.module.fail_json(msg=f"kafka-reassign-partitions.sh {' '.join(args)} failed "
                                      f"(rc {rc}): {(err or out)[-1500:]}")
        return rc, out

    def wait_none_running(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            _unused, out = self.run("--list")
            if "No partition reassignments found" in out:
                return
            if time.monotonic() > deadline:
                self.module.fail_json(msg=f"a reassignment is still running after {seconds}s:"
                                          f" {out[-1500:]}")
            time.sleep(5)

    def verify_until_done(self, plan_file, seconds):
        deadline = time.monotonic() + seconds
        while True:
            rc, out = self.run("--reassignment-json-file", plan_file, "--verify", check=False)
            if rc == 0 and "still in progress" not in out:
                return out
            if time.monotonic() > deadline:
                self.module.fail_json(msg=f"reassignment not complete after {seconds}s "
                                          f"(rc {rc}): {out[-1500:]}")
            time.sleep(5)


def _describe(admin, topics):
    current, leaders = {}, {}
    for meta in admin.describe_topics(topics or None):
        if meta["error_code"]:
            raise RuntimeError(f"describing topic {meta['topic']}: error {meta['error_code']}")
        current[meta["topic"]] = {p["partition"]: list(p["replicas"]) for p in meta["partitions"]}
        leaders[meta["topic"]] = {p["partition"]: p["leader"] for p in meta["partitions"]}
    return current, leaders


def _throttles_left(admin, brokers, topics) -> list[str]:
    from kafka.admin import ConfigResource, ConfigResourceType

    left = []
    resources = [ConfigResource(ConfigResourceType.BROKER, str(b)) for b in brokers]
    resources += [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    for response in admin.describe_configs(resources):
        for _err, _msg, _type, name, entries in response.resources:
            left += [f"{name}: {e[0]}={e[1]}" for e in entries
                     if "throttled" in e[0] and e[1] and e[3] in (1, 2)]
    return left


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "bootstrap_servers": {"type": "str", "required": True},
            "brokers": {"type": "list", "elements": "int", "required": True},
            "topics": {"type": "list", "elements": "str", "default": []},
            "throttle_bytes": {"type": "int", "default": 10485760},
            "kafka_home": {"type": "path", "default": "/opt/kafka"},
            "java_home": {"type": "path", "required": True},
            "work_dir": {"type": "path", "required": True},
            "wait_seconds": {"type": "int", "default": 1800},
            "client_options": {"type": "dict", "default": {}, "no_log": True},
            "command_config": {"type": "path"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        from kafka import KafkaAdminClient
    except ImportError:
        module.fail_json(msg="kafka-python is not installed on this host (site.yml's kafka "
                             "role installs it on the first Kafka host)")
    admin = KafkaAdminClient(bootstrap_servers=p["bootstrap_servers"].split(","),
                             client_id="streamstack-kafka-reassign", request_timeout_ms=30000,
                             **p["client_options"])
    started = time.monotonic()
    tools = _Tools(module, p["kafka_home"], p["java_home"], p["bootstrap_servers"],
                   p["work_dir"], p["command_config"])
    plan_file = os.path.join(p["work_dir"], "reassignment.json")
    try:
        live = sorted(b["node_id"] for b in admin.describe_cluster()["brokers"])
        missing = sorted(set(p["brokers"]) - set(live))
        if missing:
            module.fail_json(msg=f"brokers {missing} are not registered in the cluster (live: "
                                 f"{live}); start them (site.yml) before rebalancing")
        if not module.check_mode:
            tools.wait_none_running(p["wait_seconds"])
        current, _unused = _describe(admin, p["topics"])
        try:
            changes = plan(current, p["brokers"])
        except ValueError as exc:
            module.fail_json(msg=str(exc))
        moved = sum(1 for t, parts in changes.items() for q, r in parts.items()
                    if set(r) != set(current[t][q]))
        reordered = sum(len(parts) for parts in changes.values()) - moved
        result = {"changed": bool(changes), "moved": moved, "reordered": reordered,
                  "plan": {t: {str(q): r for q, r in parts.items()}
                           for t, parts in changes.items()}}
        if module._diff:
            result["diff"] = {"before": _reassignment_json(
                {t: {q: current[t][q] for q in parts} for t, parts in changes.items()}),
                "after": _reassignment_json(changes)}
        if module.check_mode:
            module.exit_json(**result)
        if changes:
            with open(plan_file, "w") as handle:
                handle.write(_reassignment_json(changes))
            tools.run("--reassignment-json-file", plan_file, "--execute",
                      "--throttle", str(p["throttle_bytes"]))
        if os.path.exists(plan_file):
            # --verify of a finished reassignment clears the throttles it set, also those
            # an interrupted run left behind.
            result["verify"] = tools.verify_until_done(plan_file, p["wait_seconds"])[-600:]
        # In ZooKeeper mode each broker learns of the cleared throttle through a ZooKeeper
        # notification, a moment after --verify returns: ask again for a while.
        deadline = time.monotonic() + 120
        left = _throttles_left(admin, live, list(current))
        while left and time.monotonic() < deadline:
            time.sleep(3)
            left = _throttles_left(admin, live, list(current))
        if left:
            module.fail_json(msg=f"throttles left after the reassignment: {left}", **result)
        # Preferred leaders are elected after a reassignment, and also when a run that
        # reassigned was interrupted before its election (or a restart moved leaders).
        now, leaders = _describe(admin, p["topics"])
        unpreferred: dict[str, list[int]] = {}
        for t, parts in now.items():
            for q, r in parts.items():
                if r and leaders[t][q] != r[0] and r[0] in live:
                    unpreferred.setdefault(t, []).append(q)
        result["unpreferred_leaders"] = sum(len(q) for q in unpreferred.values())
        elected = []
        result["changed"] = bool(changes or unpreferred)
        if unpreferred:
            for _attempt in range(12):
                try:
                    # Named partitions: without them kafka-python elects only those of
                    # the topics its metadata cache happens to hold (often none).
                    admin.perform_leader_election(0, unpreferred)
                    break
                except Exception as exc:  # a preferred leader not back in the ISR yet
                    elected.append(f"{type(exc).__name__}")
                    time.sleep(5)
        # Brokers learn the new leaders from the controller a moment later: until then a
        # describe still shows the old ones.
        deadline = time.monotonic() + (30 if unpreferred else 0)
        after, leaders = _describe(admin, p["topics"])
        while time.monotonic() < deadline and any(
                leaders[t][q] != after[t][q][0] for t, qs in unpreferred.items() for q in qs):
            time.sleep(2)
            after, leaders = _describe(admin, p["topics"])
        # A drain is done only when no replica is left on a broker outside the targets.
        outside = sorted({f"{t}-{q}" for t, parts in after.items() for q, r in parts.items()
                          if set(r) - set(p["brokers"])})
        if outside:
            module.fail_json(msg=f"replicas still on brokers outside {p['brokers']}: "
                                 f"{outside[:20]}", **result)
        counts = dict.fromkeys(p["brokers"], 0)
        for parts in leaders.values():
            for leader in parts.values():
                if leader in counts:
                    counts[leader] += 1
        result.update(leaders={str(b): n for b, n in counts.items()}, election_retries=elected,
                      seconds=round(time.monotonic() - started, 1))
    except Exception as exc:
        module.fail_json(msg=f"{type(exc).__name__}: {exc}")
    finally:
        admin.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
