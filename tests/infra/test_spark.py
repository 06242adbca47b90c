"""Spark client and the streaming job units, on the spark_client hosts.

What a host should run comes from its inventory groups, so the same tests serve the
3-host lab, the one-host layout and VMs. Commands that start a JVM are few and bounded.
"""

from __future__ import annotations

import re
import time

import pytest

SPARK_HOME = "/opt/spark"
COMMANDS = ["spark-submit", "pyspark", "spark-shell", "spark-class"]
KAFKA_CONNECTOR_JARS = ["spark-sql-kafka-0-10_2.12-3.5.0.jar",
                        "spark-token-provider-kafka-0-10_2.12-3.5.0.jar"]
DEFAULT_JOBS = ["wordcount", "kafka-to-hdfs"]
YARN_WAIT_SECONDS = 300


@pytest.fixture(scope="module")
def spark_client(host, host_groups):
    if "spark_client" not in host_groups:
        pytest.skip("not a spark_client host")
    return host


def login(host, command: str, timeout: int = 120):
    """A login shell (profile.d applies), bounded in time."""
    return host.run(f"timeout {timeout} bash -lc {_q(command)}")


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def spark_defaults(host) -> dict:
    conf = {}
    for line in host.file("/etc/spark/spark-defaults.conf").content_string.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.strip().partition(" ")
            conf[key] = value.strip()
    return conf


def test_distribution_and_connector(spark_client):
    assert spark_client.file(f"{SPARK_HOME}/bin/spark-submit").is_file
    assert spark_client.file(f"{SPARK_HOME}/python/lib/pyspark.zip").is_file
    jars = spark_client.run(f"ls {SPARK_HOME}/jars").stdout.split()
    for jar in KAFKA_CONNECTOR_JARS:
        assert jar in jars
    assert any(j.startswith("kafka-clients-") for j in jars)
    assert any(j.startswith("commons-pool2-") for j in jars)
    assert any(j.startswith("spark-yarn_2.12-3.5.0") for j in jars)


def test_commands_on_path(spark_client):
    for command in COMMANDS:
        assert login(spark_client, f"command -v {command}").rc == 0, command
        # Also without a login shell (docker exec, ansible command).
        assert spark_client.run(f"command -v {command}").rc == 0, command


def test_configuration(spark_client):
    conf = spark_defaults(spark_client)
    variables = spark_client.ansible.get_variables()
    assert conf["spark.master"] in ("yarn", "local[*]") or conf["spark.master"].startswith(
        "spark://")
    assert conf["spark.driver.memory"] == "512m"
    assert conf["spark.executor.memory"] == "512m"
    if "hdfs_namenode" in variables.get("groups", {}):
        assert conf["spark.eventLog.enabled"] == "true"
        assert conf["spark.eventLog.dir"].endswith("/spark-logs")
    if conf["spark.master"] == "yarn":
        # Named by the Spark tarball's digest (a new set of jars, a new archive).
        assert re.search(r"/spark/spark-jars-3\.5\.0-[0-9a-f]{16}\.zip$",
                         conf["spark.yarn.archive"]), conf["spark.yarn.archive"]
    env = spark_client.file("/etc/spark/spark-env.sh").content_string
    assert "HADOOP_CONF_DIR" in env
    profile = login(spark_client, "echo $SPARK_CONF_DIR $SPARK_HOME $PYSPARK_PYTHON").stdout
    assert profile.split() == ["/etc/spark", SPARK_HOME, "python3"]


def test_spark_submit_version(spark_client):
    done = login(spark_client, "spark-submit --version", timeout=120)
    assert done.rc == 0, done.stderr
    assert "version 3.5.0" in done.stdout + done.stderr


def test_spark_submit_without_login_shell(spark_client):
    """`docker exec -it hadoop-master bash` (the handout) is not a login shell: the
    /usr/local/bin command must work without SPARK_HOME in the environment."""
    done = spark_client.run("env -u SPARK_HOME timeout 120 spark-submit --version")
    assert done.rc == 0, done.stderr[-500:]
    assert "version 3.5.0" in done.stdout + done.stderr


def test_kafka_python_installed(spark_client):
    done = spark_client.run("python3 -c 'import kafka; print(kafka.__version__)'")
    assert done.rc == 0, done.stderr
    assert done.stdout.strip().split(".")[:1] == ["2"]
    variables = spark_client.ansible.get_variables()
    if variables.get("spark_kafka_python_install", "wheel") == "wheel":
        # Installed by pip with hashes (pip writes INSTALLER), not unzipped.
        installer = spark_client.run(
            "cat /usr/local/lib/python3*/dist-packages/kafka_python-*.dist-info/INSTALLER")
        assert installer.stdout.strip() == "pip", installer.stderr


def test_yarn_archive_in_hdfs_once(spark_client):
    conf = spark_defaults(spark_client)
    if conf.get("spark.master") != "yarn" or "spark.yarn.archive" not in conf:
        pytest.skip("no YARN archive configured")
    archive = conf["spark.yarn.archive"]
    done = login(spark_client, f"runuser -u spark -- hdfs dfs -stat '%b' {archive}")
    assert done.rc == 0, done.stderr
    assert int(done.stdout.strip().splitlines()[-1]) > 100 * 1024 * 1024


def _job_units(host) -> list[str]:
    out = host.run("systemctl list-unit-files --plain --no-legend 'spark-job-*.service'").stdout
    return sorted(line.split()[0].removeprefix("spark-job-").removesuffix(".service")
                  for line in out.splitlines() if line.strip())


def test_job_units_active_as_spark(spark_client):
    units = _job_units(spark_client)
    for job in DEFAULT_JOBS:
        assert job in units
    for job in units:
        service = spark_client.service(f"spark-job-{job}")
        assert service.is_enabled, job
        assert service.is_running, job
        pid = spark_client.run(f"systemctl show -p MainPID --value spark-job-{job}").stdout
        user = spark_client.run(f"ps -o user= -p {pid.strip()}").stdout.strip()
        assert user == "spark", (job, user)
        unit = spark_client.file(f"/etc/systemd/system/spark-job-{job}.service").content_string
        assert "Restart=on-failure" in unit and "--deploy-mode client" in unit
        assert spark_client.file(f"/opt/streamstack-jobs/{job}").is_directory


def test_jobs_running_on_yarn(spark_client):
    conf = spark_defaults(spark_client)
    if conf.get("spark.master") != "yarn":
        pytest.skip("jobs do not run on YARN here")
    deadline = time.monotonic() + YARN_WAIT_SECONDS
    running: set[str] = set()
    while time.monotonic() < deadline:
        done = login(spark_client, "yarn application -list -appStates RUNNING 2>/dev/null")
        running = {line.split("\t")[1].strip() for line in done.stdout.splitlines()
                   if line.startswith("application_") and "\t" in line}
        if set(DEFAULT_JOBS) <= running:
            break
        time.sleep(10)
    assert set(DEFAULT_JOBS) <= running, f"RUNNING on YARN: {sorted(running)}"
