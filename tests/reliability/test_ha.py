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


# Kills of the active NameNode in one run (the goal is the median of 5; each
# waits for the killed one to come back as standby first).
NAMENODE_KILLS = 3


def _ok_since(node, log: str, since: float) -> int:
    return sum(1 for r in _writer_lines(node, log) if r.get("ok") and r["began"] > since)


def test_ha_1_namenode_sigkill_under_writes(node):
    namenodes = _ha_groups(node, "hdfs_namenode")
    run = uuid.uuid4().hex[:8]
    directory = f"/tmp/streamstack-ha-{run}"
    log, stop = f"{WORK}/ha-writer-{run}.jsonl", f"{WORK}/ha-writer-{run}.stop"
    e2e.write(node, f"{WORK}/ha_writer.py", WRITER)
    submit = (f". {e2e.ENV} && spark-submit --master 'local[1]' --driver-memory 512m "
              f"--conf spark.ui.enabled=false {WORK}/ha_writer.py {directory} {log} {stop} "
              "1200 0.2")
    node.run(f"nohup timeout 1500 bash -lc {shlex.quote(submit)} > {log}.out 2>&1 &")

    def flowing():
        if node.run(f"test -s {log} || ! grep -q Traceback {log}.out").rc != 0:
            pytest.fail("the writer failed: " + node.run(f"grep -v '^\\s*at ' {log}.out "
                                                         "| tail -15").stdout)
        return _ok_since(node, log, 0) >= 20
    _wait(flowing, 240, "20 writes before the first kill", step=2)
    kills = []
    for _ in range(NAMENODE_KILLS):
        # Both NameNodes up, one active, before each kill.
        before = _wait(lambda: (s := _namenode_states(node))
                       and sorted(s.values()) == ["active", "standby"] and s, 300,
                       "one active and one standby NameNode")
        active = next(h for h, s in before.items() if s == "active")
        other = next(h for h in namenodes if h != active)
        killed_at = _kill_java(infra_kafka.other_host(node, active), "hdfs-namenode")
        after = _wait(lambda o=other: (s := _namenode_states(node)).get(o) == "active" and s,
                      120, f"{other} active after the kill")
        _wait(lambda k=killed_at: _ok_since(node, log, k) >= 10, 240,
              "10 writes after the failover", step=2)
        first_after = min(r["ended"] for r in _writer_lines(node, log)
                          if r.get("ok") and r["began"] >= killed_at)
        kills.append({"killed": active, "new_active": other, "states_after": after,
                      "seconds_kill_to_next_write": round(first_after - killed_at, 2)})
    node.run(f"touch {stop}")
    lines = _wait(lambda: (rows := _writer_lines(node, log)) and rows[-1].get("done") and rows,
                  600, "the writer's read-back", step=5)
    summary, writes = lines[-1], lines[:-1]
    ok_times = sorted(r["ended"] for r in writes if r.get("ok"))
    gap = max((b - a for a, b in zip(ok_times, ok_times[1:], strict=False)), default=0.0)
    failed = [r for r in writes if not r.get("ok")]
    # The last killed NameNode comes back (Restart=on-failure) as the standby.
    back = _wait(lambda: (s := _namenode_states(node))
                 and sorted(s.values()) == ["active", "standby"] and s, 300,
                 "the killed NameNode back as standby")
    seconds = sorted(k["seconds_kill_to_next_write"] for k in kills)
    figures("ha_namenode_sigkill",
            kills=kills, seconds_kill_to_next_write=[k["seconds_kill_to_next_write"]
                                                     for k in kills],
            median_seconds_kill_to_next_write=seconds[len(seconds) // 2],
            states_at_end=back, longest_gap_between_writes_s=round(gap, 2),
            writes_attempted=summary["attempts"], writes_acknowledged=summary["acked"],
            writes_failed=len(failed), failure_errors=sorted({r["error"] for r in failed})[:5],
            files_checked=summary["acked"], files_unreadable=summary["unreadable_count"])
    assert all(k["states_after"][k["new_active"]] == "active" for k in kills)
    assert summary["unreadable_count"] == 0, summary["unreadable"]
    e2e.login(node, f"hdfs dfs -rm -r -f -skipTrash {directory}", 120)


def _apps_running(node, rm: str) -> dict[str, str]:
    """{name: application id} of the RUNNING applications, as this RM's REST API says."""
    done = node.run(f"python3 -c \"import json,urllib.request; print(json.dumps(json.load("
                    f"urllib.request.urlopen('http://{rm}:8088/ws/v1/cluster/apps?states=RUNNING',"
                    f" timeout=5))))\"")
    if done.rc != 0:
        return {}
    apps = ((json.loads(done.stdout) or {}).get("apps") or {}).get("app") or []
    return {app["name"]: app["id"] for app in apps}


def test_ha_2_resourcemanager_sigkill_apps_stay_running(node):
    resourcemanagers = _ha_groups(node, "yarn_resourcemanager")
    units = node.run("systemctl list-units --plain --no-legend 'spark-job-*'").stdout
    names = sorted(line.split()[0].removeprefix("spark-job-").removesuffix(".service")
                   for line in units.splitlines() if line.strip())
    if not names:
        pytest.skip("no streaming job on this host")
    before = _wait(lambda: (s := _rm_states(node, resourcemanagers))
                   and list(s.values()).count("active") == 1 and s, 120, "one active RM")
    active = next(h for h, s in before.items() if s == "active")
    apps_before = _wait(lambda: (a := _apps_running(node, active)) and set(names) <= set(a)
                        and a, 300, "the jobs RUNNING before the kill", step=5)
    other = next(h for h in resourcemanagers if h != active)
    victim = infra_kafka.other_host(node, active)
    killed_at = _kill_java(victim, "yarn-resourcemanager")
    _wait(lambda: _rm_states(node, [other])[other] == "active", 180,
          f"{other} active after the kill", step=0.5)
    new_active_at = time.time()
    apps_after = _wait(lambda: (a := _apps_running(node, other)) and set(names) <= set(a)
                       and a, 300, "the jobs RUNNING on the new active RM", step=0.5)
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
