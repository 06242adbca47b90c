"""Operating a living cluster (issue 21), under acks=all load with both jobs running:

0. (no load) plugins/modules/kafka_topics.py against the brokers: check mode changes
   nothing, create, a second run unchanged, grow and reconcile configs, shrink refused;
7. a 4th container host added (`lab up --hosts 4`): site.yml gives it a broker, a
   DataNode and a NodeManager, playbooks/rebalance.yml spreads a 12-partition topic so
   every broker leads at least one partition; nothing acknowledged is lost, a second
   rebalance moves nothing;
8. that host removed again (`streamstack shrink`'s steps): site.yml with the host under
   `decommission` drains its broker, decommissions its DataNode and NodeManager and
   removes their units; HDFS stays healthy, no partition under-replicated, nothing
   acknowledged lost, and once the container is gone site.yml on the 3-host inventory
   changes nothing;
9. (no load) both jobs taken out of spark_jobs: their units stop and go, their YARN
   applications end; listed again, they come back RUNNING and a second run changes
   nothing.
10. the ZooKeeper cluster migrated to KRaft (playbooks/migrate_kraft.yml, controllers on
   the three hosts): nothing acknowledged lost, jobs RUNNING, topics (ids, partitions,
   configs) and committed group offsets unchanged, then site.yml with kafka_mode: kraft
   changes nothing;
11. (a fresh lab) migrated up to the last step before finalizing, then rolled back
   (playbooks/migrate_kraft_rollback.yml): the same, and a ZooKeeper broker is the
   controller again;

Container hosts of the local lab only (they add and drop a container):
    pytest tests/reliability/test_operations.py --hosts=ansible://all --ansible-inventory=INV
10 and 11 each need a fresh ZooKeeper-mode lab of their own (select one with -k).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from reliability_lib import (
    WORK,
    Load,
    e2e,
    figures,
    infra_kafka,
    wait_no_under_replicated,
)

from streamstack import image, jobs, runner
from streamstack import lab as lab_mod
from streamstack.engine import docker

TOPIC = "operations"
PARTITIONS = 12
NEW_HOST = "hadoop-worker3"

# Leader and replicas of every partition of a topic, and the live brokers.
DESCRIBE = r'''
import json, sys
from kafka.admin import KafkaAdminClient
bootstrap, topic = sys.argv[1:3]
admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
meta = admin.describe_topics([topic])[0]
print(json.dumps({"brokers": sorted(b["node_id"] for b in admin.describe_cluster()["brokers"]),
                  "partitions": {p["partition"]: {"leader": p["leader"], "replicas": p["replicas"],
                                                  "isr": p["isr"]} for p in meta["partitions"]}}))
'''


def _lab(node) -> lab_mod.Lab:
    variables = node.ansible.get_variables()
    if variables.get("ansible_connection") not in ("docker", "community.docker.docker"):
        pytest.skip("container hosts only (the local lab): the scenario adds a container")
    hostname = node.backend.get_hostname()
    return lab_mod.Lab(str(variables.get("ansible_host", hostname)).removesuffix(hostname))


def _describe(node, bootstrap: str) -> dict:
    e2e.write(node, f"{WORK}/describe.py", DESCRIBE)
    done = node.run(f"timeout 120 python3 {WORK}/describe.py {bootstrap} {TOPIC}")
    assert done.rc == 0, done.stderr[-800:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _jobs_running(node, seconds: int = 600) -> float:
    """Seconds until every job unit has a RUNNING YARN application."""
    started, rows = time.monotonic(), ""
    while time.monotonic() - started < seconds:
        rows = e2e.login(node, "yarn application -list -appStates RUNNING 2>/dev/null", 90).stdout
        units = node.run("systemctl list-units --plain --no-legend 'spark-job-*'").stdout
        names = {line.split()[0].removeprefix("spark-job-").removesuffix(".service")
                 for line in units.splitlines() if line.strip()}
        if names and names <= {app["name"] for app in jobs.parse_yarn_list(rows)}:
            return round(time.monotonic() - started, 1)
        time.sleep(5)
    pytest.fail(f"jobs not RUNNING on YARN within {seconds}s: {rows[-800:]}")


def _playbook(name: str, inventory: Path,
              extravars: dict | None = None) -> tuple[runner.Summary, float]:
    started = time.monotonic()
    summary, run_dir = runner.run_playbook(name, inventory, extravars=extravars, quiet=True)
    seconds = round(time.monotonic() - started, 1)
    assert summary.ok, runner.format_summary(summary, run_dir)
    return summary, seconds


def _published(lab: lab_mod.Lab) -> bool:
    """Whether the lab publishes its ports (a lab made with --no-publish does not)."""
    done = docker("port", lab.container("hadoop-master"), check=False)
    return bool(done.stdout.strip())


# --- 0 ----------------------------------------------------------------------------------

def _topics(node, topics: list[dict], check: bool = False) -> dict:
    """The kafka_topics module on the node, as the kafka role runs it."""
    first = node.ansible.get_variables()["groups"]["kafka"][0]
    runner_host = infra_kafka.other_host(node, first)
    args = json.dumps({"bootstrap_servers": infra_kafka.internal_bootstrap(
        infra_kafka.brokers_all(node)), "topics": topics})
    return runner_host.ansible("kafka_topics", args, check=check, become=True)


def test_0_topics_module_creates_grows_reconciles_and_refuses(node, bootstrap):
    name = f"ops-admin-{uuid.uuid4().hex[:6]}"
    want = {"name": name, "partitions": 3, "replication_factor": 2,
            "configs": {"retention.ms": "600000", "min.insync.replicas": "1"}}
    dry = _topics(node, [want], check=True)
    listed = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --list", 90).stdout
    created = _topics(node, [want])
    again = _topics(node, [want])
    grown = _topics(node, [dict(want, partitions=6, configs={"min.insync.replicas": "2"})])
    described = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --describe "
                                f"--topic {name}", 90).stdout
    try:
        shrink = _topics(node, [dict(want, partitions=2)])
    except node.ansible.AnsibleException as exc:  # raised only for a failed module
        shrink = {**exc.result, "failed": True}
    after = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --describe "
                            f"--topic {name}", 90).stdout
    e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --delete --topic {name}", 90)
    figures("0_topics_module", check_mode=dry.get("created"), created=created.get("created"),
            second_run_changed=again.get("changed"), grown=grown.get("partitions"),
            configs=grown.get("configs"), shrink_refused=str(shrink.get("msg", ""))[-300:])
    assert dry["changed"] and dry["created"] == [name]
    assert name not in listed.split(), "check mode created the topic"
    assert created["changed"] and created["created"] == [name]
    assert again["changed"] is False
    assert grown["partitions"] == {name: {"before": 3, "after": 6}}
    assert grown["configs"] == {name: {"min.insync.replicas": {"before": "1", "after": "2"}}}
    assert "PartitionCount: 6" in described
    # The undeclared override stays; the declared one is the new value.
    assert "retention.ms=600000" in described and "min.insync.replicas=2" in described
    # `ansible --tree` keeps fail_json's msg and errors but not its failed flag.
    assert shrink.get("errors") and "partitions can only grow" in str(shrink.get("msg"))
    assert "PartitionCount: 6" in after, "a refused run changed the topic"


# --- 7 ----------------------------------------------------------------------------------

def test_7_add_a_fourth_host_and_rebalance(node, bootstrap):
    lab = _lab(node)
    # 4 containers: a run interrupted after the host was added; every step re-runs.
    if len(lab.containers()) not in (3, 4) or len(infra_kafka.brokers_all(node)) != 3:
        pytest.skip("starts from the 3-host lab with 3 brokers")
    done = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --create "
                           f"--if-not-exists --topic {TOPIC} --partitions {PARTITIONS} "
                           "--replication-factor 3 --config min.insync.replicas=2", 90)
    assert done.rc == 0, done.stderr[-800:]
    # The word count waits for its input topic, which the handout creates by hand.
    done = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --create "
                           f"--if-not-exists --topic {e2e.WORDCOUNT_INPUT} --partitions 1 "
                           "--replication-factor 3", 90)
    assert done.rc == 0, done.stderr[-800:]
    wait_no_under_replicated(node, bootstrap, 180)
    jobs_before_s = _jobs_running(node)
    prefix = f"s7{uuid.uuid4().hex[:6]}"
    load = Load(node, bootstrap, TOPIC, prefix, rate=100, max_seconds=2400)
    time.sleep(10)
    started = time.monotonic()
    tag, _ = image.build(progress=print)
    grown = lab_mod.up(tag, count=4, lab=lab, publish=_published(lab), progress=print)
    host_s = round(time.monotonic() - started, 1)
    site, site_s = _playbook("site.yml", grown)
    rebalance, rebalance_s = _playbook("playbooks/rebalance.yml", grown)
    isr_s = wait_no_under_replicated(node, bootstrap, 300)
    described = _describe(node, bootstrap)
    again, again_s = _playbook("playbooks/rebalance.yml", grown)
    time.sleep(10)
    sent = load.stop()
    check = load.verify()
    jobs_after_s = _jobs_running(node)
    new_host = lab.container(NEW_HOST)
    units = docker("exec", new_host, "systemctl", "is-active", "kafka@3", "hdfs-datanode",
                   "yarn-nodemanager", check=False).stdout.decode().split()
    report = e2e.login(node, "hdfs dfsadmin -report -live", 120).stdout
    leaders = {b: sum(1 for p in described["partitions"].values() if p["leader"] == b)
               for b in described["brokers"]}
    replicas = {b: sum(1 for p in described["partitions"].values() if b in p["replicas"])
                for b in described["brokers"]}
    figures("7_grow_and_rebalance", add_host_s=host_s, site_s=site_s,
            site_changed=site.changed, rebalance_s=rebalance_s,
            rebalance_changed=rebalance.changed, second_rebalance_changed=again.changed,
            second_rebalance_s=again_s, isr_after_s=isr_s, leaders=leaders,
            replicas=replicas, new_host_units=units, jobs_running_before_s=jobs_before_s,
            jobs_running_after_s=jobs_after_s, **sent, **check)
    assert described["brokers"] == [0, 1, 2, 3]
    assert units == ["active", "active", "active"], units
    assert NEW_HOST in report, report[-1500:]
    assert all(n >= 1 for n in leaders.values()), leaders
    assert max(replicas.values()) - min(replicas.values()) <= 1, replicas
    assert again.changed == 0, "a second rebalance moved partitions again"
    assert sent["acked"] > 0
    assert check["lost"] == 0, check


# --- 8 ----------------------------------------------------------------------------------

def test_8_decommission_the_fourth_host(node, bootstrap):
    lab = _lab(node)
    new_host = lab.container(NEW_HOST)
    if len(lab.containers()) != 4 or docker("exec", new_host, "systemctl", "is-active",
                                            "kafka@3", check=False).returncode != 0:
        pytest.skip("starts from the 4-host lab of scenario 7 (kafka@3 running)")
    wait_no_under_replicated(node, bootstrap, 300)
    jobs_before_s = _jobs_running(node)
    prefix = f"s8{uuid.uuid4().hex[:6]}"
    load = Load(node, bootstrap, TOPIC, prefix, rate=100, max_seconds=2400)
    time.sleep(10)
    leaving = lab_mod.write_inventory(lab, 3, leaving=1)
    site, site_s = _playbook("site.yml", leaving)
    isr_s = wait_no_under_replicated(node, bootstrap, 300)
    described = _describe(node, bootstrap)
    units = docker("exec", new_host, "systemctl", "is-active", "kafka@3", "hdfs-datanode",
                   "yarn-nodemanager", check=False).stdout.decode().split()
    unit_files = docker("exec", new_host, "ls", "/etc/systemd/system",
                        check=False).stdout.decode().split()
    report = e2e.login(node, "hdfs dfsadmin -report -decommissioning", 120).stdout
    decommissioned = e2e.login(node, "hdfs dfsadmin -report", 120).stdout
    fsck = e2e.login(node, "hdfs fsck / 2>/dev/null | tail -5", 300).stdout
    nodes = e2e.login(node, "yarn node -list -all 2>/dev/null", 120).stdout
    started = time.monotonic()
    lab_mod.remove_hosts(lab, [NEW_HOST], progress=print)
    remove_s = round(time.monotonic() - started, 1)
    remaining = lab_mod.write_inventory(lab, 3)
    after, after_s = _playbook("site.yml", remaining)
    # Nothing of the broker that left stays behind as a failed unit (its forwarders).
    failed_units = {}
    for host in layout_hosts(Path(remaining)):
        listed = docker("exec", lab.container(host), "systemctl", "list-units", "--failed",
                        "--plain", "--no-legend", "kafka*", check=False).stdout.decode()
        failed_units[host] = [line.split()[0] for line in listed.splitlines() if line.strip()]
    time.sleep(10)
    sent = load.stop()
    check = load.verify()
    jobs_after_s = _jobs_running(node)
    replicas_on_3 = sum(1 for p in described["partitions"].values() if 3 in p["replicas"])
    figures("8_decommission", site_s=site_s, site_changed=site.changed, isr_after_s=isr_s,
            remove_host_s=remove_s, site_after_removal_s=after_s,
            site_after_removal_changed=after.changed, units_left=units,
            replicas_on_broker_3=replicas_on_3, fsck=fsck.strip().splitlines()[-1:],
            jobs_running_before_s=jobs_before_s, jobs_running_after_s=jobs_after_s,
            failed_units=failed_units, **sent, **check)
    assert described["brokers"] == [0, 1, 2], described["brokers"]
    assert not any(failed_units.values()), failed_units
    assert replicas_on_3 == 0, described["partitions"]
    assert "active" not in units, units
    assert not {"kafka@.service", "hdfs-datanode.service",
                "yarn-nodemanager.service"} & set(unit_files), unit_files
    assert "Decommission In Progress" not in report, report[-1500:]
    assert f"Hostname: {NEW_HOST}" in decommissioned and "Decommissioned" in decommissioned, \
        decommissioned[-2500:]
    assert "is HEALTHY" in fsck, fsck
    assert NEW_HOST not in " ".join(line for line in nodes.splitlines() if "RUNNING" in line), nodes
    assert after.changed == 0, "site.yml on the 3 hosts left changed something"
    assert sent["acked"] > 0
    assert check["lost"] == 0, check


# --- 9 ----------------------------------------------------------------------------------

def _job_units(node) -> set[str]:
    listed = node.run("ls /etc/systemd/system").stdout.split()
    return {name.removesuffix(".service") for name in listed
            if name.startswith("spark-job-") and name.endswith(".service")}


def test_9_jobs_taken_out_of_the_list_stop_and_come_back(node):
    inventory = Path(node.backend.ansible_inventory).resolve()
    units_before = _job_units(node)
    if not units_before:
        pytest.skip("no job deployed on the spark client")
    _jobs_running(node)
    emptied, emptied_s = _playbook("playbooks/jobs.yml", inventory, {"spark_jobs": []})
    units_left = _job_units(node)
    active = node.run("systemctl list-units --plain --no-legend 'spark-job-*'").stdout.split()
    started = time.monotonic()
    running = set()
    while time.monotonic() - started < 300:
        rows = e2e.login(node, "yarn application -list -appStates RUNNING 2>/dev/null", 90).stdout
        running = {app["name"] for app in jobs.parse_yarn_list(rows)}
        if not running & {unit.removeprefix("spark-job-") for unit in units_before}:
            break
        time.sleep(5)
    apps_gone_s = round(time.monotonic() - started, 1)
    back, back_s = _playbook("playbooks/jobs.yml", inventory)
    jobs_back_s = _jobs_running(node)
    again, _ = _playbook("playbooks/jobs.yml", inventory)
    figures("9_jobs_removed", units_before=sorted(units_before), units_left=sorted(units_left),
            removal_s=emptied_s, removal_changed=emptied.changed, yarn_apps_gone_s=apps_gone_s,
            back_s=back_s, jobs_running_again_s=jobs_back_s, second_run_changed=again.changed)
    assert units_left == set(), units_left
    assert not any(u.startswith("spark-job-") for u in active), active
    assert not running & {unit.removeprefix("spark-job-") for unit in units_before}, running
    assert _job_units(node) == units_before
    assert again.changed == 0


# --- 10 and 11 --------------------------------------------------------------------------

# Topics (id, partitions, replication, non-default configs) and every consumer group's
# committed offsets: what a migration must leave as it found.
SNAPSHOT = r'''
import json, subprocess, sys
from kafka.admin import KafkaAdminClient
bootstrap = sys.argv[1]
described = subprocess.run(["/opt/kafka/bin/kafka-topics.sh", "--bootstrap-server", bootstrap,
                            "--describe"], capture_output=True, text=True, timeout=300,
                           check=True).stdout
topics = {}
for line in described.splitlines():
    if line.startswith("Topic:") and "PartitionCount:" in line:
        fields = dict(part.split(": ", 1) for part in line.strip().split("\t") if ": " in part)
        configs = sorted(filter(None, fields.get("Configs", "").split(",")))
        topics[fields["Topic"]] = {"id": fields.get("TopicId"),
                                   "partitions": int(fields["PartitionCount"]),
                                   "replication": int(fields["ReplicationFactor"]),
                                   "configs": configs}
admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=30000)
groups = {}
for group in sorted(g[0] for g in admin.list_consumer_groups()):
    offsets = admin.list_consumer_group_offsets(group)
    groups[group] = {f"{tp.topic}-{tp.partition}": meta.offset
                     for tp, meta in sorted(offsets.items())}
print(json.dumps({"topics": topics, "groups": groups}))
'''

# A consumer group that reads part of the topic and commits where it stopped.
COMMIT = r'''
import sys
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, group = sys.argv[1:4]
consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest")
parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
consumer.assign(parts)
read = 0
while read < 200:
    read += sum(len(r) for r in consumer.poll(timeout_ms=2000).values())
consumer.commit()
consumer.close()
print(read)
'''

CONTROLLERS_FILE = "kafka_controller.yml"
KRAFT_VARS = Path("group_vars") / "all" / "20-kafka-mode.yml"


def _snapshot(node, bootstrap: str) -> dict:
    e2e.write(node, f"{WORK}/snapshot.py", SNAPSHOT)
    done = node.run(f"timeout 400 python3 {WORK}/snapshot.py {bootstrap}")
    assert done.rc == 0, done.stderr[-1500:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _znode(node, path: str) -> str:
    done = e2e.login(node, f"/opt/kafka/bin/zookeeper-shell.sh localhost:2181 get {path} 2>&1 "
                           "| grep '^{' || true", 120)
    return done.stdout.strip()


def _with_controllers(inventory: Path) -> None:
    """One dedicated controller on each Kafka host: the inventory's kafka_controller group,
    as a user adds it before migrating (a file of its own in the inventory directory)."""
    hosts = layout_hosts(inventory)
    (inventory / CONTROLLERS_FILE).write_text(
        "# Added for the ZooKeeper -> KRaft migration: one controller per Kafka host.\n"
        + json.dumps({"all": {"children": {"kafka_controller": {
            "hosts": {host: None for host in hosts}}}}}) + "\n")


def layout_hosts(inventory: Path) -> list[str]:
    import yaml
    data = yaml.safe_load((inventory / "hosts.yml").read_text())
    return list(data["all"]["children"]["kafka"]["hosts"])


def _zookeeper_lab(node, inventory: Path) -> None:
    """10 and 11 start from a ZooKeeper-mode lab that never took part in a migration."""
    state = node.run("cat /var/lib/kafka/migration.state 2>/dev/null").stdout.strip()
    if state or (inventory / KRAFT_VARS).exists():
        pytest.skip(f"needs a fresh ZooKeeper-mode lab (migration.state: {state or 'none'})")


def _migration_scenario(node, bootstrap: str, inventory: Path, name: str,
                        rollback: bool) -> None:
    _lab(node)
    _zookeeper_lab(node, inventory)
    for topic, partitions in ((TOPIC, PARTITIONS), (e2e.WORDCOUNT_INPUT, 1)):
        done = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --create "
                               f"--if-not-exists --topic {topic} --partitions {partitions} "
                               "--replication-factor 3 --config min.insync.replicas=2", 90)
        assert done.rc == 0, done.stderr[-800:]
    wait_no_under_replicated(node, bootstrap, 180)
    jobs_before_s = _jobs_running(node)
    prefix = f"s{name[0]}{uuid.uuid4().hex[:6]}"
    load = Load(node, bootstrap, TOPIC, prefix, rate=100, max_seconds=3000)
    time.sleep(15)
    group = f"migration-{prefix}"
    e2e.write(node, f"{WORK}/commit.py", COMMIT)
    done = node.run(f"timeout 300 python3 {WORK}/commit.py {bootstrap} {TOPIC} {group}")
    assert done.rc == 0, done.stderr[-1500:]
    before = _snapshot(node, bootstrap)
    _with_controllers(inventory)
    steps = {}
    migrate, steps["migrate_s"] = _playbook(
        "playbooks/migrate_kraft.yml", inventory,
        **({"extravars": {"kafka_migration_finalize": False}} if rollback else {}))
    steps["migrate_plays_s"] = {k: round(v, 1) for k, v in migrate.play_seconds.items()}
    states = node.run("cat /var/lib/kafka/migration.state").stdout.strip()
    quorum = ""
    if rollback:
        quorum = e2e.login(node, f"kafka-metadata-quorum.sh --bootstrap-server {bootstrap} "
                                 "describe --status", 120).stdout
        back, steps["rollback_s"] = _playbook("playbooks/migrate_kraft_rollback.yml", inventory)
        steps["rollback_plays_s"] = {k: round(v, 1) for k, v in back.play_seconds.items()}
        again, steps["second_rollback_s"] = _playbook("playbooks/migrate_kraft_rollback.yml",
                                                      inventory)
    else:
        again, steps["second_migrate_s"] = _playbook("playbooks/migrate_kraft.yml", inventory)
        (inventory / KRAFT_VARS).write_text(
            "# Migrated to KRaft by playbooks/migrate_kraft.yml.\nkafka_mode: kraft\n")
        quorum = e2e.login(node, f"kafka-metadata-quorum.sh --bootstrap-server {bootstrap} "
                                 "describe --status", 120).stdout
    isr_s = wait_no_under_replicated(node, bootstrap, 300)
    site, steps["site_s"] = _playbook("site.yml", inventory)
    time.sleep(10)
    sent = load.stop()
    check = load.verify()
    after = _snapshot(node, bootstrap)
    jobs_after_s = _jobs_running(node)
    controller = _znode(node, "/controller")
    units = node.run("systemctl list-units --plain --no-legend 'kafka@*'").stdout
    final_state = node.run("cat /var/lib/kafka/migration.state 2>/dev/null").stdout.strip()
    changed_topics = sorted(t for t in before["topics"]
                            if before["topics"][t] != after["topics"].get(t))
    changed_groups = sorted(g for g in before["groups"]
                            if before["groups"][g] != after["groups"].get(g))
    figures(name, **steps, state_after_migrate=states, quorum=quorum.strip()[-400:],
            second_run_changed=again.changed, site_changed=site.changed,
            site_changed_tasks=site.changed_tasks[:10], isr_after_s=isr_s,
            jobs_running_before_s=jobs_before_s, jobs_running_after_s=jobs_after_s,
            topics=len(before["topics"]), changed_topics=changed_topics,
            groups=len(before["groups"]), changed_groups=changed_groups,
            controller_znode=controller, final_state=final_state or "none",
            kafka_units=sorted(line.split()[0] for line in units.splitlines() if line.strip()),
            **sent, **check)
    assert group in before["groups"] and before["groups"][group], before["groups"]
    assert not changed_topics, {t: (before["topics"][t], after["topics"].get(t))
                                for t in changed_topics}
    assert not changed_groups, {g: (before["groups"][g], after["groups"].get(g))
                                for g in changed_groups}
    assert again.changed == 0, again.changed_tasks
    assert site.changed == 0, site.changed_tasks
    assert sent["acked"] > 0
    assert check["lost"] == 0, check
    leader = json.loads(controller)["brokerid"] if controller else None
    if rollback:
        assert states == "kraft_brokers", states
        assert "LeaderId" in quorum, quorum
        assert final_state == "", final_state
        # A ZooKeeper-mode controller: a broker of the inventory, no KRaft epoch (3.6
        # writes -1 for none).
        assert leader in (0, 1, 2), controller
        assert json.loads(controller).get("kraftControllerEpoch", -1) < 0, controller
        assert not any(u.startswith("kafka@300") for u in units.split()), units
    else:
        assert states == "finalized", states
        assert final_state == "finalized"
        voters = quorum.split("CurrentVoters:")[-1]
        assert "3000" in voters and "3001" in voters and "3002" in voters, quorum


def test_10_migrate_zookeeper_to_kraft_under_load(node, bootstrap, inventory):
    _migration_scenario(node, bootstrap, inventory, "10_migrate_to_kraft", rollback=False)


def test_11_migrate_and_roll_back_before_finalizing(node, bootstrap, inventory):
    _migration_scenario(node, bootstrap, inventory, "11_migrate_and_roll_back", rollback=True)
