"""The five fault scenarios of issue 11, in order, each bounded in time:

1. one broker SIGKILLed and restarted under acks=all load: nothing acknowledged is lost;
2. a rolling restart of every broker (playbooks/rolling_restart.yml) under the same load;
3. the sink job killed twice during ingestion, the word count once: exact results;
4. every container of the lab restarted: topics, messages, HDFS files and checkpoints
   survive and the pipelines carry on;
5. site.yml again on the loaded cluster: changed=0 and no process restarted;
6. a Kafka config change through playbooks/upgrade.yml under load, then reverted: every
   broker restarted onto it, never two down at once, nothing acknowledged lost.

    pytest tests/reliability --hosts=ansible://all --ansible-inventory=INVENTORY
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from reliability_lib import (
    WORK,
    Load,
    create_topic,
    e2e,
    figures,
    infra_kafka,
    install_scripts,
    require_scenarios,
    unit_states,
    wait_no_under_replicated,
)

from streamstack import jobs, runner
from streamstack import lab as lab_mod
from streamstack.engine import docker
from streamstack.plugins.plugin_utils import converged

TOPIC = "reliability"
UNITS = ["zookeeper.service", "kafka@*", "kafka-forward@*", "hdfs-*", "yarn-*", "mapred-*",
         "spark-job-*"]
WORDCOUNT_UNIT = "spark-job-wordcount"
_state: dict = {}


def _wait_jobs_running(node, seconds: int) -> float:
    """Seconds until every job unit is active with a RUNNING YARN application."""
    started = time.monotonic()
    rows = ""
    while time.monotonic() - started < seconds:
        rows = e2e.login(node, "yarn application -list -appStates RUNNING 2>/dev/null", 90).stdout
        units = node.run("systemctl list-units --plain --no-legend 'spark-job-*'").stdout
        names = [line.split()[0].removeprefix("spark-job-").removesuffix(".service")
                 for line in units.splitlines() if line.strip()]
        running = {app["name"] for app in jobs.parse_yarn_list(rows)}
        if names and set(names) <= running:
            return round(time.monotonic() - started, 1)
        time.sleep(5)
    pytest.fail(f"jobs not RUNNING on YARN within {seconds}s: {rows[-800:]}")


# --- 1 ----------------------------------------------------------------------------------

def test_1_broker_sigkill_under_load_loses_nothing(node, bootstrap):
    brokers = infra_kafka.brokers_all(node)
    if len(brokers) < 3:
        pytest.skip("needs three brokers")
    create_topic(node, bootstrap, TOPIC)
    wait_no_under_replicated(node, bootstrap, 180)
    victim = brokers[1]
    victim_host = infra_kafka.other_host(node, victim["host"])
    prefix = f"s1{uuid.uuid4().hex[:6]}"
    load = Load(node, bootstrap, TOPIC, prefix, rate=100, max_seconds=300)
    time.sleep(15)
    unit = f"kafka@{victim['id']}"
    pid = victim_host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
    killed_at = time.monotonic()
    assert victim_host.run(f"kill -9 {pid}").rc == 0
    time.sleep(5)
    # systemd restarts a killed broker (Restart=on-failure); start it if not.
    victim_host.run(f"systemctl start {unit}")
    recover = wait_no_under_replicated(node, bootstrap, 300)
    recovery_s = round(time.monotonic() - killed_at, 1)
    time.sleep(10)
    sent = load.stop()
    check = load.verify()
    _state["s1"] = {"prefix": prefix, "load": load, "consumed": check["consumed"]}
    figures("1_broker_sigkill", broker=victim["id"], **sent, **check,
            isr_recovery_s=recovery_s, wait_after_restart_s=recover)
    assert sent["acked"] > 0
    assert check["lost"] == 0, check


# --- 2 ----------------------------------------------------------------------------------

def test_2_rolling_restart_of_brokers_under_load(node, bootstrap, inventory):
    create_topic(node, bootstrap, TOPIC)
    prefix = f"s2{uuid.uuid4().hex[:6]}"
    load = Load(node, bootstrap, TOPIC, prefix, rate=100, max_seconds=900)
    time.sleep(10)
    started = time.monotonic()
    summary, run_dir = runner.run_playbook("playbooks/rolling_restart.yml", inventory,
                                           tags="kafka", quiet=True)
    duration = round(time.monotonic() - started, 1)
    time.sleep(10)
    sent = load.stop()
    check = load.verify()
    figures("2_rolling_restart_brokers", **sent, **check, rolling_restart_s=duration,
            playbook_ok=summary.ok, run_dir=str(run_dir))
    assert summary.ok, runner.format_summary(summary, run_dir)
    assert check["lost"] == 0, check


# --- 3 ----------------------------------------------------------------------------------

def test_3_jobs_killed_during_ingestion_exact_results(node, bootstrap):
    checkpoint = f"{e2e.CHECKPOINT}/{e2e.SINK_TOPIC}"
    run = f"s3{uuid.uuid4().hex[:6]}"
    n = 6000
    node.run(f"nohup timeout 400 python3 {e2e.WORK}/produce.py {bootstrap} {e2e.SINK_TOPIC} "
             f"{run} {n} 100 0 > {e2e.WORK}/produce-{run}.out 2>&1 &")
    offsets = e2e.checkpoint_offsets(node, checkpoint)
    restarts = []
    for _ in range(2):
        offsets = e2e.wait_committed_beyond(node, checkpoint, offsets, 240)
        restarts.append(e2e.kill_and_wait_restart(node, e2e.SINK_UNIT))
    # The word count: half the lines, kill, the other half; the counts must be exact.
    words = [f"w{run}{i}" for i in range(5)]
    lines = [" ".join(words[: i + 1]) for i in range(5)] * 4
    expected = e2e.count_words(lines)
    e2e.write(node, f"{e2e.WORK}/a-{run}.json", json.dumps(lines[:10]))
    e2e.write(node, f"{e2e.WORK}/b-{run}.json", json.dumps(lines[10:]))
    first = node.run(f"timeout 120 python3 {e2e.WORK}/text_produce.py {bootstrap} "
                     f"{e2e.WORDCOUNT_INPUT} {e2e.WORDCOUNT_RESULTS} < {e2e.WORK}/a-{run}.json")
    assert first.rc == 0, first.stderr
    start = first.stdout.strip().splitlines()[-1]
    half = e2e.count_words(lines[:10])
    done = node.run(f"timeout 400 python3 {e2e.WORK}/results.py {bootstrap} "
                    f"{e2e.WORDCOUNT_RESULTS} {e2e.q(start)} {e2e.q(json.dumps(half))} 360")
    assert json.loads(done.stdout.strip().splitlines()[-1]) == half, done.stdout[-500:]
    wordcount_restart = e2e.kill_and_wait_restart(node, WORDCOUNT_UNIT)
    second = node.run(f"timeout 120 python3 {e2e.WORK}/text_produce.py {bootstrap} "
                      f"{e2e.WORDCOUNT_INPUT} {e2e.WORDCOUNT_RESULTS} < {e2e.WORK}/b-{run}.json")
    assert second.rc == 0, second.stderr
    done = node.run(f"timeout 500 python3 {e2e.WORK}/results.py {bootstrap} "
                    f"{e2e.WORDCOUNT_RESULTS} {e2e.q(start)} {e2e.q(json.dumps(expected))} 450")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    # The producer, then the sink catching up, then Spark counting what HDFS holds.
    ends = e2e.background_produce_result(node, run, 420)
    caught_up = time.monotonic()
    e2e.wait_caught_up(node, checkpoint, ends, 900)
    result = e2e.spark_count(node, run)
    _state["s3"] = {"prefix": run, "rows": result["rows"]}
    figures("3_jobs_killed", sink_sent=n, sink_rows=result["rows"],
            sink_distinct_offsets=result["distinct_offsets"],
            sink_duplicated=result["rows"] - result["distinct_values"],
            sink_lost=n - result["distinct_values"], sink_restart_s=restarts,
            sink_catch_up_s=round(time.monotonic() - caught_up, 1),
            wordcount_restart_s=wordcount_restart, wordcount_exact=counts == expected)
    assert counts == expected
    assert (result["rows"], result["distinct_offsets"], result["distinct_values"]) == (n, n, n)


# --- 4 ----------------------------------------------------------------------------------

SCENARIO_4_RECHECKS = {"s1": "scenario 1", "s3": "scenario 3"}


def test_4_all_containers_restarted_everything_survives(node, bootstrap):
    variables = node.ansible.get_variables()
    if variables.get("ansible_connection") != "community.docker.docker" and \
            variables.get("ansible_connection") != "docker":
        pytest.skip("container hosts only (the local lab)")
    require_scenarios(_state, SCENARIO_4_RECHECKS)
    hostname = node.backend.get_hostname()
    prefix = str(variables.get("ansible_host", hostname)).removesuffix(hostname)
    lab = lab_mod.Lab(prefix)
    before = {
        "hdfs": e2e.login(node, "hdfs dfs -count /data /checkpoints", 120).stdout,
        "sink": e2e.checkpoint_offsets(node, f"{e2e.CHECKPOINT}/{e2e.SINK_TOPIC}"),
        "topics": e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --list",
                            90).stdout.split(),
    }
    names = sorted(c["Names"] for c in lab.containers())
    assert names, f"no containers of lab {lab.name}"
    started = time.monotonic()
    docker("restart", "-t", "30", *names)
    for name in names:
        lab_mod._wait_for_systemd(name, 180)
    systemd_s = round(time.monotonic() - started, 1)
    install_scripts(node)  # systemd empties /tmp at boot
    # The NameNode may not answer yet right after the restart: ask until it is out of
    # safe mode (`-safemode wait` fails at once while nothing listens).
    deadline, safemode = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        safemode = e2e.login(node, "hdfs dfsadmin -safemode get", 60)
        if "Safe mode is OFF" in safemode.stdout:
            break
        time.sleep(5)
    assert "Safe mode is OFF" in safemode.stdout, (safemode.stdout + safemode.stderr)[-500:]
    isr_s = wait_no_under_replicated(node, bootstrap, 300)
    jobs_s = _wait_jobs_running(node, 600)
    recovery_s = round(time.monotonic() - started, 1)
    after_topics = e2e.login(node, f"kafka-topics.sh --bootstrap-server {bootstrap} --list",
                             90).stdout.split()
    after_hdfs = e2e.login(node, "hdfs dfs -count /data /checkpoints", 120).stdout
    after_sink = e2e.checkpoint_offsets(node, f"{e2e.CHECKPOINT}/{e2e.SINK_TOPIC}")
    survived = {}
    # Every record of scenario 1 is still in its topic.
    survived["s1_consumed"] = _state["s1"]["load"].verify()["consumed"]
    assert survived["s1_consumed"] == _state["s1"]["consumed"]
    # New records still reach HDFS, once each, from the sink's checkpoint.
    run = f"s4{uuid.uuid4().hex[:6]}"
    ends = e2e.produce(node, bootstrap, run, 500)
    e2e.wait_caught_up(node, f"{e2e.CHECKPOINT}/{e2e.SINK_TOPIC}", ends, 600)
    result = e2e.spark_count(node, run)
    survived["s3_rows"] = e2e.spark_count(node, _state["s3"]["prefix"])["rows"]
    assert survived["s3_rows"] == _state["s3"]["rows"]
    figures("4_containers_restarted", containers=names, systemd_s=systemd_s,
            isr_after_s=isr_s, jobs_running_after_s=jobs_s, recovery_s=recovery_s,
            hdfs_before=before["hdfs"].split(), hdfs_after=after_hdfs.split(),
            sink_offsets_before=before["sink"], sink_offsets_after=after_sink,
            new_records=500, new_rows=result["rows"], **survived)
    assert set(before["topics"]) <= set(after_topics)
    assert all(after_sink.get(p, -1) >= o for p, o in before["sink"].items())
    assert (result["rows"], result["distinct_values"]) == (500, 500)


# --- 5 ----------------------------------------------------------------------------------

def test_5_site_rerun_on_loaded_cluster_changes_and_restarts_nothing(node, bootstrap, inventory):
    hosts = node.ansible.get_variables().get("groups", {}).get("all", [])
    others = {name: infra_kafka.other_host(node, name) for name in hosts}
    before = {name: unit_states(h, UNITS) for name, h in others.items()}
    prefix = f"s5{uuid.uuid4().hex[:6]}"
    load = Load(node, bootstrap, TOPIC, prefix, rate=50, max_seconds=1500)
    started = time.monotonic()
    # Every role runs (no short cut): the point is that they change nothing under load.
    summary, run_dir = runner.run_playbook("site.yml", inventory, quiet=True,
                                           extravars=converged.FULL_RUN)
    duration = round(time.monotonic() - started, 1)
    sent = load.stop()
    check = load.verify()
    after = {name: unit_states(h, UNITS) for name, h in others.items()}
    restarted = sorted(f"{name}:{unit}" for name in before for unit, state in before[name].items()
                       if after[name].get(unit) != state)
    figures("5_site_rerun", site_s=duration, changed=summary.changed,
            changed_tasks=summary.changed_tasks[:20], units=sum(map(len, before.values())),
            restarted=restarted, **sent, **check)
    assert summary.ok, runner.format_summary(summary, run_dir)
    assert summary.changed == 0, summary.changed_tasks
    assert not restarted
    assert check["lost"] == 0


# --- 6 ----------------------------------------------------------------------------------

def _broker_starts(node, hosts) -> dict[str, str]:
    return {f"{name}:{unit}": state["ExecMainStartTimestamp"] for name in hosts
            for unit, state in unit_states(infra_kafka.other_host(node, name),
                                           ["kafka@*"]).items()}


def _upgrade(node, bootstrap, inventory, extravars: dict, watch_id: str) -> dict:
    """upgrade.yml with a broker-count watcher running; its figures."""
    stop, out = f"{WORK}/stop-{watch_id}", f"{WORK}/watch-{watch_id}.json"
    node.run(f"nohup timeout 1500 python3 {WORK}/watch.py {bootstrap} {stop} {out} 1400 "
             f"> {out}.log 2>&1 &")
    started = time.monotonic()
    summary, run_dir = runner.run_playbook("playbooks/upgrade.yml", inventory,
                                           extravars=extravars, quiet=True)
    seconds = round(time.monotonic() - started, 1)
    node.run(f"touch {stop}")
    deadline, watched = time.monotonic() + 60, None
    while time.monotonic() < deadline and watched is None:
        done = node.run(f"cat {out}")
        watched = json.loads(done.stdout) if done.rc == 0 and done.stdout.strip() else None
        time.sleep(1)
    assert summary.ok, runner.format_summary(summary, run_dir)
    assert watched, node.run(f"tail -5 {out}.log").stdout
    return {"seconds": seconds, "changed": summary.changed, **watched}


def test_6_config_change_rolls_through_upgrade_playbook(node, bootstrap, inventory):
    brokers = infra_kafka.brokers_all(node)
    if len(brokers) < 3:
        pytest.skip("needs three brokers")
    hosts = sorted({b["host"] for b in brokers})
    setting = "log.retention.check.interval.ms=300001"
    before = _broker_starts(node, hosts)
    prefix = f"s6{uuid.uuid4().hex[:6]}"
    load = Load(node, bootstrap, TOPIC, prefix, rate=100, max_seconds=1500)
    time.sleep(10)
    change = _upgrade(node, bootstrap, inventory, {"kafka_extra_properties": {
        "log.retention.check.interval.ms": 300001}}, f"{prefix}a")
    applied = [infra_kafka.other_host(node, b["host"]).file(
        f"/etc/kafka/server-{b['id']}.properties").content_string for b in brokers]
    changed_starts = _broker_starts(node, hosts)
    revert = _upgrade(node, bootstrap, inventory, {}, f"{prefix}b")
    reverted = [infra_kafka.other_host(node, b["host"]).file(
        f"/etc/kafka/server-{b['id']}.properties").content_string for b in brokers]
    sent = load.stop()
    check = load.verify()
    restarted = sorted(unit for unit in before if changed_starts.get(unit) != before[unit])
    figures("6_upgrade_config_change", brokers=len(brokers), change=change, revert=revert,
            restarted_by_change=restarted, **sent, **check)
    assert all(setting in text for text in applied), "the setting is not in every broker"
    assert not any(setting in text for text in reverted), "the revert left the setting"
    assert restarted == sorted(before), "not every broker was restarted onto the change"
    # One broker down at a time: the others stayed registered throughout.
    assert change["min_brokers"] >= len(brokers) - 1, change
    assert revert["min_brokers"] >= len(brokers) - 1, revert
    assert check["lost"] == 0, check
