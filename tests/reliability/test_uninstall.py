"""Teardown (issue 40) on a lab of its own, reached like VMs (SSH, sudo user): three
hosts from the node image, or with STREAMSTACK_UNINSTALL_VM=1 the five bare hosts of
`lab up --vm` (names and layout other than the handout's):

1. site.yml, then a topic (RF 3) with records and an HDFS file;
2. playbooks/uninstall.yml: no unit, release tree, service user or group is left, the
   data directories are; a second uninstall changes nothing;
3. site.yml again: the topic's records and the HDFS file are back, `streamstack verify`
   is green;
4. uninstall with streamstack_purge_data: the data directories are empty or gone; a
   second one changes nothing. The lab is removed at the end (STREAMSTACK_KEEP_LAB=1
   keeps it).

Several cold converges (about 30 minutes on 2 cores), so it runs only when asked:
    STREAMSTACK_TEST_UNINSTALL=1 pytest -rP tests/reliability/test_uninstall.py
STREAMSTACK_UNINSTALL_PREFIX names the lab (default un-); an existing one is re-used.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from reliability_lib import figures

from streamstack import image, layout, runner
from streamstack import lab as lab_mod
from streamstack import verify as verify_mod
from streamstack.engine import docker

pytestmark = pytest.mark.skipif(os.environ.get("STREAMSTACK_TEST_UNINSTALL") != "1",
                                reason="set STREAMSTACK_TEST_UNINSTALL=1 (own lab, ~30 min)")

PREFIX = os.environ.get("STREAMSTACK_UNINSTALL_PREFIX", "un-")
VM = os.environ.get("STREAMSTACK_UNINSTALL_VM") == "1"
HOSTS = layout.vm_hosts() if VM else layout.lab_hosts(3)
# The NameNode's host, which also runs a broker in both layouts.
MASTER = next(h.name for h in HOSTS if "hdfs_namenode" in h.groups)
TOPIC = "uninstall-probe"
RECORDS = 1000
HDFS_FILE = "/user/root/uninstall-probe.txt"
UNITS = ["zookeeper.service", "kafka@*", "kafka-forward@*", "hdfs-*", "yarn-*", "mapred-*",
         "spark-job-*", "streamstack-jobs-exporter.service"]
TREES = ["/opt/zookeeper", "/opt/kafka", "/opt/hadoop", "/opt/spark", "/opt/jmx_exporter",
         "/opt/streamstack-jobs", "/etc/kafka", "/etc/hadoop", "/etc/zookeeper", "/etc/spark"]
USERS = ["zookeeper", "kafka", "hdfs", "yarn", "mapred", "spark"]
GROUPS = ["zookeeper", "kafka", "hadoop", "spark"]
DATA = {"/var/lib/zookeeper": "myid", "/var/lib/kafka": "meta.properties",
        "/var/lib/hadoop": "VERSION"}
# The group whose hosts keep each data directory's marker.
DATA_GROUP = {"/var/lib/zookeeper": "zookeeper", "/var/lib/kafka": "kafka",
              "/var/lib/hadoop": "hdfs_namenode"}


def _sh(lab: lab_mod.Lab, host: str, command: str, check: bool = True) -> str:
    result = docker("exec", lab.container(host), "bash", "-lc", command, check=False)
    out = result.stdout.decode()
    if check and result.returncode != 0:
        raise AssertionError(f"{host}: {command}: rc {result.returncode}: "
                             f"{out[-500:]} {result.stderr.decode()[-1500:]}")
    return out


def _play(playbook: str, inventory, timings: dict, label: str, **extravars) -> runner.Summary:
    started = time.monotonic()
    summary, run_dir = runner.run_playbook(playbook, inventory, extravars=extravars or None,
                                           quiet=True)
    timings[label] = round(time.monotonic() - started, 1)
    assert summary.ok, runner.format_summary(summary, run_dir)
    print(f"{label}: {timings[label]} s, changed={summary.changed}")
    return summary


def _left_over(lab: lab_mod.Lab, host: str) -> dict:
    units = _sh(lab, host, "systemctl list-units --all --plain --no-legend "
                + " ".join(f"'{u}'" for u in UNITS) + " | awk '{print $1}'").split()
    unit_files = _sh(lab, host, "ls /etc/systemd/system | grep -E "
                     "'^(zookeeper|kafka|hdfs-|yarn-|mapred-|spark-|streamstack-)' || true").split()
    trees = _sh(lab, host, "for p in " + " ".join(TREES)
                + " /opt/*-[0-9]*; do [ -e \"$p\" ] && echo $p; done; true").split()
    links = _sh(lab, host, "find /usr/local/bin -lname '/opt/*' -o -name 'start-*.sh'").split()
    users = [u for u in USERS if _sh(lab, host, f"getent passwd {u}", check=False).strip()]
    groups = [g for g in GROUPS if _sh(lab, host, f"getent group {g}", check=False).strip()]
    return {k: v for k, v in {"units": units, "unit_files": unit_files, "trees": trees,
                              "links": links, "users": users, "groups": groups}.items() if v}


def _data_files(lab: lab_mod.Lab, host: str) -> dict[str, int]:
    return {d: int(_sh(lab, host, f"find {d} -name {name} 2>/dev/null | wc -l"))
            for d, name in DATA.items()}


def _records(lab: lab_mod.Lab) -> list[str]:
    out = _sh(lab, MASTER, f"kafka-console-consumer.sh --bootstrap-server {MASTER}:19092 "
              f"--topic {TOPIC} --from-beginning --max-messages {RECORDS} --timeout-ms 30000 "
              "2>/dev/null", check=False)
    return sorted(line for line in out.split() if line.startswith("probe-"))


def test_uninstall_keeps_data_reinstall_brings_it_back_purge_removes_it():
    lab = lab_mod.Lab(PREFIX)
    timings: dict = {}
    hosts = [h.name for h in HOSTS]
    started = time.monotonic()
    tag, _ = image.build(bare=VM, progress=print)
    inventory = lab_mod.up(tag, count=len(hosts), lab=lab, publish=False, ssh=True, vm=VM,
                           progress=print)
    timings["lab up"] = round(time.monotonic() - started, 1)
    try:
        _play("site.yml", inventory, timings, "site.yml")
        _sh(lab, MASTER, f"kafka-topics.sh --bootstrap-server {MASTER}:19092 --create "
            f"--if-not-exists --topic {TOPIC} --partitions 3 --replication-factor 3")
        if not _records(lab):
            _sh(lab, MASTER, f"seq -f 'probe-%05g' 1 {RECORDS} | kafka-console-producer.sh "
                f"--bootstrap-server {MASTER}:19092 --topic {TOPIC} --producer-property acks=all")
        records = _records(lab)
        assert len(records) == RECORDS
        text = "".join(f"line {i} of the uninstall probe\n" for i in range(2000))
        _sh(lab, MASTER, f"hdfs dfs -rm -f {HDFS_FILE} >/dev/null; printf '%s' '{text}' "
            f"| hdfs dfs -put - {HDFS_FILE}")
        digest = hashlib.sha256(text.encode()).hexdigest()

        _play("playbooks/uninstall.yml", inventory, timings, "uninstall")
        for host in HOSTS:
            assert _left_over(lab, host.name) == {}, host.name
            data = _data_files(lab, host.name)
            kept = {d for d, group in DATA_GROUP.items() if group in host.groups}
            assert {d for d, found in data.items() if found} >= kept, (host.name, data)
        again = _play("playbooks/uninstall.yml", inventory, timings, "uninstall again")
        assert again.changed == 0

        _play("site.yml", inventory, timings, "site.yml after uninstall")
        assert _records(lab) == records
        back = _sh(lab, MASTER, f"hdfs dfs -cat {HDFS_FILE}")
        assert hashlib.sha256(back.encode()).hexdigest() == digest
        started = time.monotonic()
        report, checked = verify_mod.run(inventory)
        timings["verify"] = round(time.monotonic() - started, 1)
        failed = verify_mod.failure_lines(checked)
        print(f"verify: {len(checked)} checks, {len(failed)} failed")
        assert verify_mod.exit_code(checked) == 0, failed

        _play("playbooks/uninstall.yml", inventory, timings, "uninstall --purge",
              streamstack_purge_data=True)
        for host in hosts:
            assert _left_over(lab, host) == {}, host
            assert _data_files(lab, host) == dict.fromkeys(DATA, 0), host
            left = _sh(lab, host, "ls -A " + " ".join(DATA) + " /var/lib/spark 2>/dev/null; true")
            assert not [line for line in left.splitlines() if line and not line.endswith(":")], left
        again = _play("playbooks/uninstall.yml", inventory, timings, "uninstall --purge again",
                      streamstack_purge_data=True)
        assert again.changed == 0
    finally:
        figures("test_uninstall_keeps_data_reinstall_brings_it_back_purge_removes_it",
                seconds=timings)
        if os.environ.get("STREAMSTACK_KEEP_LAB") != "1":
            lab_mod.down(lab, purge=True, progress=print)
