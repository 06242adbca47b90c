"""The handout's cluster as the handout and the Hadoop tutorials use it, unchanged: as root
on the master, from root's home.

    pytest tests/e2e/test_release_tutorials.py --hosts=ansible://spark_client \
        --ansible-inventory=inventories/local

`./start-hadoop.sh` and `./start-kafka-zookeeper.sh` (twice: a second run restarts
nothing), `hdfs dfsadmin -report` as root, the MapReduce word count from the examples jar
at its release path with exact counts, and TestDFSIO write and read from the jobclient
tests jar with no extra classpath. Small on purpose: 2 files of 8 MB, the role's small
container heaps; every command is bounded in time and cleans up after itself.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from shlex import quote as q

import pytest

HADOOP_VERSION = "3.3.6"
EXAMPLES_JAR = f"$HADOOP_HOME/share/hadoop/mapreduce/hadoop-mapreduce-examples-{HADOOP_VERSION}.jar"
JOBCLIENT_TESTS_JAR = ("$HADOOP_HOME/share/hadoop/mapreduce/"
                       f"hadoop-mapreduce-client-jobclient-{HADOOP_VERSION}-tests.jar")
# Units whose main process must survive the start scripts' second run.
UNITS = ["hdfs-namenode", "hdfs-secondarynamenode", "yarn-resourcemanager",
         "mapred-historyserver", "zookeeper", "kafka@0"]


def as_root(host, command: str, timeout: int = 120):
    """A login shell of root in root's home, as after `docker exec -it hadoop-master bash`."""
    return host.run(f"timeout {timeout} sudo -H bash -lc {q('cd ~ && ' + command)}")


@pytest.fixture(scope="module")
def master(host):
    groups = host.ansible.get_variables()["groups"]
    name = host.backend.get_hostname()
    if name != groups["hdfs_namenode"][0]:
        pytest.skip(f"{name} is not the master (the first hdfs_namenode host)")
    return host


def main_pids(host) -> dict[str, str]:
    """{unit: main PID} of the UNITS that run (systemctl prints one block per unit)."""
    out = host.run("systemctl show -p Id -p MainPID " + " ".join(UNITS)).stdout
    pids = {}
    for block in out.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("MainPID", "0") != "0":
            pids[props["Id"].removesuffix(".service")] = props["MainPID"]
    return pids


def test_start_scripts_from_roots_home_start_the_cluster_and_restart_nothing(master):
    for script in ("./start-hadoop.sh", "./start-kafka-zookeeper.sh"):
        assert master.file(f"/root/{script[2:]}").exists, f"{script} is not in root's home"
    first = as_root(master, "./start-hadoop.sh && ./start-kafka-zookeeper.sh")
    assert first.rc == 0, first.stdout + first.stderr
    before = main_pids(master)
    assert len(before) == len(UNITS) and "0" not in before.values(), before
    again = as_root(master, "./start-hadoop.sh && ./start-kafka-zookeeper.sh && jps")
    assert again.rc == 0, again.stdout + again.stderr
    assert main_pids(master) == before, "a second run restarted a daemon"
    jvms = set(re.findall(r"^\d+ (\S+)$", again.stdout, re.M))
    assert {"NameNode", "SecondaryNameNode", "ResourceManager", "JobHistoryServer",
            "QuorumPeerMain", "Kafka"} <= jvms, again.stdout


def test_root_administers_hdfs_while_daemons_keep_their_users(master):
    datanodes = len(master.ansible.get_variables()["groups"]["hdfs_datanode"])
    report = as_root(master, "hdfs dfsadmin -report")
    assert report.rc == 0, report.stderr
    assert f"Live datanodes ({datanodes}):" in report.stdout, report.stdout[:500]
    for unit, user in (("hdfs-namenode", "hdfs"), ("yarn-resourcemanager", "yarn")):
        pid = master.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
        owner = master.run(f"ps -o user= -p {pid}").stdout.strip()
        assert owner == user, f"{unit} runs as {owner!r}"


def test_mapreduce_wordcount_from_the_release_examples_jar_counts_exactly(master):
    run = uuid.uuid4().hex[:8]
    words = ["kafka"] * 7 + ["hadoop"] * 5 + ["spark"] * 3 + [f"run-{run}"] * 2 + ["zk"]
    text = "\n".join(" ".join(words[i:i + 4]) for i in range(0, len(words), 4))
    local, hin, hout = f"/tmp/wordcount-{run}.txt", f"wordcount-{run}/in", f"wordcount-{run}/out"
    assert master.run(f"printf '%s\\n' {q(text)} > {local}").rc == 0
    try:
        done = as_root(master, f"hdfs dfs -mkdir -p {hin} && hdfs dfs -put {local} {hin}/ "
                               f"&& hadoop jar {EXAMPLES_JAR} wordcount {hin} {hout}", 420)
        assert done.rc == 0, done.stderr[-3000:]
        out = as_root(master, f"hdfs dfs -cat {hout}/part-r-*")
        assert out.rc == 0, out.stderr
        counts = {w: int(n) for w, n in (line.split("\t") for line in out.stdout.splitlines())}
        assert counts == dict(Counter(words))
        # relative paths resolve in root's HDFS home, as in the tutorials
        assert as_root(master, f"hdfs dfs -test -d /user/root/{hout}").rc == 0
    finally:
        as_root(master, f"hdfs dfs -rm -r -f -skipTrash wordcount-{run}; rm -f {local}")


def test_testdfsio_write_then_read_from_the_jobclient_tests_jar(master):
    run = uuid.uuid4().hex[:8]
    base = f"/tmp/testdfsio-{run}"  # in HDFS; the default /benchmarks would be shared
    dfsio = (f"yarn jar {JOBCLIENT_TESTS_JAR} TestDFSIO -D test.build.data={base} "
             f"-nrFiles 2 -size 8MB -resFile /tmp/testdfsio-{run}.log")
    try:
        for mode in ("write", "read"):
            done = as_root(master, f"{dfsio} -{mode} 2>&1", 420)
            assert done.rc == 0, done.stdout[-3000:]
            assert re.search(rf"----- TestDFSIO ----- : {mode}", done.stdout), done.stdout[-2000:]
            assert re.search(r"Number of files: 2\b", done.stdout), done.stdout[-2000:]
            assert re.search(r"Total MBytes processed: 16(\.0+)?\b", done.stdout), \
                done.stdout[-2000:]
        listing = as_root(master, f"hdfs dfs -ls {base}/io_data")
        assert listing.stdout.count(f"{base}/io_data/test_io_") == 2, listing.stdout
    finally:
        as_root(master, f"{dfsio} -clean >/dev/null 2>&1; hdfs dfs -rm -r -f -skipTrash {base}; "
                        f"rm -f /tmp/testdfsio-{run}.log")


def test_spark_submit_version_in_roots_login_shell(master):
    done = as_root(master, "spark-submit --version")
    assert done.rc == 0, done.stderr[-500:]
    assert "version 3.5.0" in done.stdout + done.stderr
