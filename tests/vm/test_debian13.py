"""A mixed lab's Debian 13 host (`lab up --debian13`, molecule/mixed): what it is meant
to carry runs there, on the JDK its release brings (Java 21); Spark executors run there
on it; PySpark applications of a Debian 12 driver are kept off it, since PySpark refuses
workers of another Python minor version (3.13 there, 3.11 on Debian 12).

    pytest tests/vm/test_debian13.py --hosts=ansible://all --ansible-inventory=INVENTORY
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

# What the mixed layout puts on its Debian 13 host (streamstack.layout.vm_hosts).
UNITS = ["kafka@*.service", "hdfs-datanode.service", "yarn-nodemanager.service"]
PYSPARK_JOB = """
import json, os, socket, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("streamstack-debian13").getOrCreate()
def where(_):
    java = os.path.realpath(os.environ.get("JAVA_HOME", ""))
    yield socket.gethostname(), "%d.%d" % sys.version_info[:2], java
rows = spark.sparkContext.parallelize(range(8), 8).mapPartitions(where).distinct().collect()
print("RESULT " + json.dumps(sorted(rows)))
spark.stop()
"""
# The same from the JVM (spark-shell): no Python worker, so any NodeManager can run it.
SCALA_JOB = """
val rows = sc.parallelize(1 to 8, 8).map(_ => (java.net.InetAddress.getLocalHost.getHostName,
  System.getProperty("java.home"))).distinct.collect
rows.foreach { case (host, java) => println(s"RESULT $host $java") }
System.exit(0)
"""


def _release(host) -> str:
    return host.run(". /etc/os-release && echo $VERSION_ID").stdout.strip()


@pytest.fixture(scope="module")
def debian13_host(host):
    if _release(host) != "13":
        pytest.skip(f"{host.backend.get_hostname()} is Debian {_release(host)}")
    return host


def test_its_daemons_run_on_the_release_s_java_21(debian13_host):
    listed = debian13_host.run(f"systemctl list-units --no-legend --plain --state=active "
                               f"{' '.join(UNITS)}").stdout.split()
    units = sorted(word for word in listed if word.endswith(".service"))
    assert len(units) == len(UNITS), f"expected a broker, a DataNode and a NodeManager: {units}"
    for unit in units:
        pid = debian13_host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip()
        # argv[0]: /proc/<pid>/exe of another user's process needs root.
        java = debian13_host.run(f"tr '\\0' '\\n' < /proc/{pid}/cmdline | head -1").stdout.strip()
        assert "/java-21-openjdk-" in java, f"{unit} runs {java or 'nothing'}"


@pytest.fixture(scope="module")
def spark_client(host):
    groups = host.ansible.get_variables()["groups"]
    if host.backend.get_hostname() != groups["spark_client"][0]:
        pytest.skip("submitted from the first spark_client host")
    inventory = host.backend.ansible_inventory
    releases = {name: _release(host.get_host(f"ansible://{name}", ansible_inventory=inventory))
                for name in groups["yarn_nodemanager"]}
    debian13 = sorted(name for name, release in releases.items() if release == "13")
    assert debian13, "no NodeManager on Debian 13 in this lab"
    host.run("mkdir -p /tmp/streamstack-debian13 && chmod 755 /tmp/streamstack-debian13")
    return host, debian13, sorted(set(releases) - set(debian13))


def _submit(host, name: str, text: str, command: str) -> list[str]:
    script = f"/tmp/streamstack-debian13/{name}"
    host.run(f"printf %s {shlex.quote(text)} > {script} && chmod 644 {script}")
    done = host.run("timeout 600 runuser -u spark -- bash -lc "
                    + shlex.quote(f"{command} {script} < /dev/null"))
    lines = [line.removeprefix("RESULT ") for line in done.stdout.splitlines()
             if line.startswith("RESULT ")]
    assert done.rc == 0 and lines, (done.stdout[-2000:], done.stderr[-3000:])
    return lines


def test_jvm_executors_placed_there_run_on_its_java_21(spark_client):
    host, debian13, others = spark_client
    # Only the Debian 13 NodeManagers: the others excluded (this replaces the default).
    lines = _submit(host, "where.scala", SCALA_JOB,
                    f"spark-shell --master yarn --num-executors 1 "
                    f"--conf spark.yarn.exclude.nodes={','.join(others)} -i")
    rows = [line.split() for line in lines]
    assert {row[0] for row in rows} == set(debian13), rows
    assert all("/java-21-openjdk-" in row[1] for row in rows), rows


def test_pyspark_executors_stay_off_it_and_run_the_driver_s_python(spark_client):
    host, debian13, others = spark_client
    defaults = host.file("/etc/spark/spark-defaults.conf").content_string
    assert re.search(rf"^spark\.yarn\.exclude\.nodes\s+{','.join(debian13)}$", defaults, re.M)
    [line] = _submit(host, "where.py", PYSPARK_JOB, "spark-submit --master yarn --num-executors 2")
    rows = json.loads(line)
    assert {row[0] for row in rows} <= set(others), rows
    assert {row[1] for row in rows} == {host.run("python3 -c 'import sys; "
                                                 "print(\"%d.%d\" % sys.version_info[:2])'")
                                        .stdout.strip()}, rows
