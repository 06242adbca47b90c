"""A mixed lab's Debian 13 host (`lab up --debian13`, molecule/mixed): what it is meant
to carry runs there, on the JDK its release brings, and Spark's Python workers run on its
Python 3.13.

    pytest tests/vm/test_debian13.py --hosts=ansible://all --ansible-inventory=INVENTORY
"""

from __future__ import annotations

import json
import shlex

import pytest

# What the mixed layout puts on its Debian 13 host (streamstack.layout.vm_hosts).
UNITS = ["kafka@*", "hdfs-datanode", "yarn-nodemanager"]
JOB = """
import json, os, socket, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("streamstack-debian13").getOrCreate()
def where(_):
    java = os.path.realpath(os.environ.get("JAVA_HOME", ""))
    yield socket.gethostname(), "%d.%d" % sys.version_info[:2], java
rows = spark.sparkContext.parallelize(range(4), 4).mapPartitions(where).distinct().collect()
print("RESULT " + json.dumps(sorted(rows)))
spark.stop()
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
        java = debian13_host.run(f"readlink -f /proc/{pid}/exe").stdout.strip()
        assert "/java-21-openjdk-" in java, f"{unit} runs {java or 'nothing'}"


def test_spark_executors_there_run_java_21_and_python_3_13(host):
    variables = host.ansible.get_variables()
    groups = variables["groups"]
    if host.backend.get_hostname() != groups["spark_client"][0]:
        pytest.skip("submitted from the first spark_client host")
    debian13 = [name for name in groups["yarn_nodemanager"]
                if _release(host.get_host(f"ansible://{name}",
                                          ansible_inventory=host.backend.ansible_inventory))
                == "13"]
    assert debian13, "no NodeManager on Debian 13 in this lab"
    others = [name for name in groups["yarn_nodemanager"] if name not in debian13]
    host.run("mkdir -p /tmp/streamstack-debian13 && chmod 755 /tmp/streamstack-debian13")
    script = "/tmp/streamstack-debian13/where.py"
    host.run(f"printf %s {shlex.quote(JOB)} > {script} && chmod 644 {script}")
    # Executors only where the other NodeManagers are not: on the Debian 13 host.
    done = host.run(
        "timeout 600 runuser -u spark -- bash -lc "
        + shlex.quote(f"spark-submit --master yarn --num-executors 1 "
                      f"--conf spark.yarn.exclude.nodes={','.join(others)} {script}"))
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.rc == 0 and lines, done.stderr[-3000:]
    rows = json.loads(lines[-1].removeprefix("RESULT "))
    assert {row[0] for row in rows} == set(debian13), rows
    assert {row[1] for row in rows} == {"3.13"}, rows
    assert all("/java-21-openjdk-" in row[2] for row in rows), rows
