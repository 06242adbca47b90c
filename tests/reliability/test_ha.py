"""High availability (issue 36, first slice; experimental) on a lab made with `--ha`:

1. the active NameNode SIGKILLed (kill -9 of its JVM) while a real HDFS client (the
   Hadoop FileSystem API of Spark's Hadoop client, through hdfs://<nameservice> and
   the failover proxy provider) writes small files continuously: the other NameNode
   becomes active, the time from the kill to the first write that starts after it and
   succeeds is measured, every file whose write returned success is read back with its
   content, and the killed NameNode comes back (systemd) as standby;
2. the active ResourceManager SIGKILLed: the other becomes active, and the streaming
   jobs' YARN applications stay or come back RUNNING, without a resubmission by us.

    pytest tests/reliability/test_ha.py --hosts=ansible://all --ansible-inventory=INVENTORY

The figures go to bench/results/reliability-<stamp>.json with the other scenarios' (see
reliability_lib.py). Each wait is bounded; the writer stops by itself.
"""

from __future__ import annotations

import json
import re
import shlex
import time
import uuid

import pytest
from reliability_lib import WORK, e2e, figures, infra_kafka

from streamstack import jobs

# A PySpark driver in local mode that only uses the JVM's Hadoop FileSystem: one file per
# write (create, write, close: allocation and completion go to the active NameNode), a
# line per outcome with wall-clock times (every container reads the same clock), until a
# stop file appears or max seconds pass. Then every acknowledged file is read back.
WRITER = r'''
import json, os, sys, time, uuid
from pyspark.sql import SparkSession
directory, log_path, stop, max_seconds, pause = sys.argv[1:6]
max_seconds, pause = float(max_seconds), float(pause)
spark = SparkSession.builder.appName("streamstack-ha-writer").getOrCreate()
jvm = spark.sparkContext._jvm
conf = spark.sparkContext._jsc.hadoopConfiguration()
fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI(directory), conf)
Path = jvm.org.apache.hadoop.fs.Path
fs.mkdirs(Path(directory))
log = open(log_path, "a", buffering=1)
started, index, acked = time.time(), 0, []
while time.time() - started < max_seconds and not os.path.exists(stop):
    index += 1
    name, content = f"{directory}/f{index:06d}", f"{index} {uuid.uuid4().hex}\n"
    began = time.time()
    try:
        out = fs.create(Path(name), True)
        out.write(bytearray(content.encode()))
        out.close()
    except Exception as exc:
        log.write(json.dumps({"i": index, "began": began, "ended": time.time(), "ok": False,
                              "error": str(exc).splitlines()[0][:200]}) + "\n")
    else:
        acked.append((name, content))
        log.write(json.dumps({"i": index, "began": began, "ended": time.time(), "ok": True,
                              "path": name}) + "\n")
    time.sleep(pause)
bad = []
for name, content in acked:
    try:
        stream = fs.open(Path(name))
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream))
        got = reader.readLine()
        reader.close()
        if (got or "") + "\n" != content:
            bad.append([name, got])
    except Exception as exc:
        bad.append([name, str(exc).splitlines()[0][:200]])
log.write(json.dumps({"done": True, "acked": len(acked), "attempts": index,
                      "unreadable": bad[:20], "unreadable_count": len(bad)}) + "\n")
spark.stop()
'''


def _groups(node) -> dict:
    return node.ansible.get_variables().get("groups", {})


def _ha_groups(node, group: str) -> list[str]:
    hosts = _groups(node).get(group, [])
    if len(hosts) < 2:
        pytest.skip(f"needs two hosts in {group} (a lab made with --ha)")
    return hosts


def _namenode_states(node) -> dict[str, str]:
    """{host: active|standby|...} from `hdfs haadmin -getAllServiceState`."""
    done = e2e.login(node, "hdfs haadmin -getAllServiceState 2>/dev/null", 120)
    states = {}
    for line in done.stdout.splitlines():
        found = re.match(r"^(\S+):\d+\s+(\S+)", line.strip())
        if found:
            states[found.group(1)] = found.group(2)
    return states


def _rm_states(node, hosts: list[str]) -> dict[str, str]:
    """{host: active|standby|...}: each RM's own /ws/v1/cluster/info (a standby answers)."""
    states = {}
    for host in hosts:
        done = node.run(f"python3 -c \"import json,urllib.request; print(json.load("
                        f"urllib.request.urlopen('http://{host}:8088/ws/v1/cluster/info', "
                        f"timeout=5))['clusterInfo']['haState'])\"")
        states[host] = done.stdout.strip().lower() if done.rc == 0 else "down"
    return states


def _wait(predicate, seconds: float, what: str, step: float = 1.0):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    pytest.fail(f"{what} not within {seconds}s (last: {last})")


def _kill_java(host, unit: str) -> float:
    """SIGKILL the unit's JVM; the host's wall clock at the kill."""
    pid = host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
    assert pid and pid != "0", f"{unit} is not running"
    done = host.run(f"date +%s.%N; kill -9 {pid}")
    assert done.rc == 0, done.stderr
    return float(done.stdout.split()[0])


def _writer_lines(node, log: str) -> list[dict]:
    text = node.run(f"cat {log}").stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_ha_1_namenode_sigkill_under_writes(node):
    namenodes = _ha_groups(node, "hdfs_namenode")
    before = _wait(lambda: (s := _namenode_states(node)) and list(s.values()).count("active") == 1
                   and s, 120, "one active NameNode")
    active = next(h for h, s in before.items() if s == "active")
    other = next(h for h in namenodes if h != active)
    run = uuid.uuid4().hex[:8]
    directory = f"/tmp/streamstack-ha-{run}"
    log, stop = f"{WORK}/ha-writer-{run}.jsonl", f"{WORK}/ha-writer-{run}.stop"
    e2e.write(node, f"{WORK}/ha_writer.py", WRITER)
    submit = (f". {e2e.ENV} && spark-submit --master 'local[1]' --driver-memory 384m "
              f"--conf spark.ui.enabled=false {WORK}/ha_writer.py {directory} {log} {stop} "
              "600 0.2")
    node.run(f"nohup timeout 900 bash -lc {shlex.quote(submit)} > {log}.out 2>&1 &")
    # Writes flowing before the kill.
    _wait(lambda: sum(1 for r in _writer_lines(node, log) if r.get("ok")) >= 20, 240,
          "20 writes before the kill", step=2)
    victim = infra_kafka.other_host(node, active)
    killed_at = _kill_java(victim, "hdfs-namenode")
    after = _wait(lambda: (s := _namenode_states(node)).get(other) == "active" and s, 120,
                  f"{other} active after the kill")
    # Writes flowing after the failover, then stop and read everything back.
    _wait(lambda: sum(1 for r in _writer_lines(node, log)
                      if r.get("ok") and r["began"] > killed_at) >= 20, 240,
          "20 writes after the failover", step=2)
    node.run(f"touch {stop}")
    lines = _wait(lambda: (rows := _writer_lines(node, log)) and rows[-1].get("done") and rows,
                  600, "the writer's read-back", step=5)
    summary = lines[-1]
    writes = lines[:-1]
    first_after = min((r["ended"] for r in writes if r.get("ok") and r["began"] >= killed_at),
                      default=None)
    ok_times = sorted(r["ended"] for r in writes if r.get("ok"))
    gap = max((b - a for a, b in zip(ok_times, ok_times[1:], strict=False)), default=0.0)
    failed = [r for r in writes if not r.get("ok")]
    # The killed NameNode comes back (Restart=on-failure) as the standby.
    back = _wait(lambda: (s := _namenode_states(node)).get(active) == "standby" and s, 240,
                 f"{active} back as standby")
    figures("ha_namenode_sigkill",
            killed=active, new_active=other, states_before=before, states_after=after,
            states_later=back,
            seconds_kill_to_next_write=round(first_after - killed_at, 2) if first_after else None,
            longest_gap_between_writes_s=round(gap, 2),
            writes_attempted=summary["attempts"], writes_acknowledged=summary["acked"],
            writes_failed=len(failed), failure_errors=sorted({r["error"] for r in failed})[:5],
            files_checked=summary["acked"], files_unreadable=summary["unreadable_count"])
    assert after[other] == "active"
    assert first_after is not None
    assert summary["unreadable_count"] == 0, summary["unreadable"]
    e2e.login(node, f"hdfs dfs -rm -r -f -skipTrash {directory}", 120)


def _apps_running(node) -> dict[str, str]:
    rows = e2e.login(node, "yarn application -list -appStates RUNNING 2>/dev/null", 120).stdout
    return {app["name"]: app["id"] for app in jobs.parse_yarn_list(rows)}


def test_ha_2_resourcemanager_sigkill_apps_stay_running(node):
    resourcemanagers = _ha_groups(node, "yarn_resourcemanager")
    units = node.run("systemctl list-units --plain --no-legend 'spark-job-*'").stdout
    names = sorted(line.split()[0].removeprefix("spark-job-").removesuffix(".service")
                   for line in units.splitlines() if line.strip())
    if not names:
        pytest.skip("no streaming job on this host")
    before = _wait(lambda: (s := _rm_states(node, resourcemanagers))
                   and list(s.values()).count("active") == 1 and s, 120, "one active RM")
    apps_before = _wait(lambda: (a := _apps_running(node)) and set(names) <= set(a) and a, 300,
                        "the jobs RUNNING before the kill", step=5)
    active = next(h for h, s in before.items() if s == "active")
    other = next(h for h in resourcemanagers if h != active)
    victim = infra_kafka.other_host(node, active)
    killed_at = _kill_java(victim, "yarn-resourcemanager")
    _wait(lambda: _rm_states(node, [other])[other] == "active", 180,
          f"{other} active after the kill", step=0.5)
    new_active_at = time.time()
    apps_after = _wait(lambda: (a := _apps_running(node)) and set(names) <= set(a) and a, 300,
                       "the jobs RUNNING on the new active RM", step=2)
    running_at = time.time()
    resubmitted = sorted(n for n in names if apps_after[n] != apps_before[n])
    back = _wait(lambda: (s := _rm_states(node, resourcemanagers)).get(active) == "standby"
                 and s, 300, f"{active} back as standby", step=5)
    figures("ha_resourcemanager_sigkill",
            killed=active, new_active=other, states_before=before, states_later=back,
            seconds_kill_to_new_active=round(new_active_at - killed_at, 2),
            seconds_kill_to_apps_running=round(running_at - killed_at, 2),
            apps=sorted(names), same_application_ids=not resubmitted, resubmitted=resubmitted)
    assert not resubmitted, f"applications changed id (resubmitted): {resubmitted}"
