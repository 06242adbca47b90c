"""The checks of Spark and the jobs: the client, its configuration, kafka-python, the
jobs' units and their applications on YARN."""

from __future__ import annotations

import re

from .base import DEFAULT_JOBS, KAFKA_CONNECTOR_JARS, SPARK_HOME, Lab, _result, check

# Spark and the jobs ------------------------------------------------------------------

def _spark_defaults(lab: Lab, host: str) -> dict:
    text = ((lab.got(host, "spark_files") or {}).get("/etc/spark/spark-defaults.conf")
            or {}).get("content", "")
    conf = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.strip().partition(" ")
            conf[key] = value.strip()
    return conf


@check("spark.client", "spark_client hosts")
def spark_client(lab: Lab):
    for host in lab.group("spark_client"):
        files = lab.got(host, "spark_files") or {}
        problems = [f"missing {p}" for p in (f"{SPARK_HOME}/bin/spark-submit",
                                             f"{SPARK_HOME}/python/lib/pyspark.zip")
                    if not files.get(p, {}).get("exists")]
        jars = files.get(f"{SPARK_HOME}/jars", {}).get("entries", [])
        problems += [f"jars/ lacks {j}" for j in KAFKA_CONNECTOR_JARS if j not in jars]
        for prefix in ("kafka-clients-", "commons-pool2-", "spark-yarn_2.12-3.5.0"):
            if not any(j.startswith(prefix) for j in jars):
                problems.append(f"jars/ lacks {prefix}*")
        env = (lab.got(host, "commands") or {}).get("login_env", [])
        if env != ["/etc/spark", SPARK_HOME, "python3"]:
            problems.append(f"login shell SPARK_CONF_DIR SPARK_HOME PYSPARK_PYTHON = {env}")
        version = lab.got(host, "spark_version") or {}
        if version.get("rc") != 0 or "version 3.5.0" not in version.get("out", ""):
            problems.append("spark-submit --version without SPARK_HOME: "
                            + (version.get("out") or version.get("err") or "")[-200:])
        yield _result("spark.client", host, "spark",
                      "distribution and Kafka connector jars, login shell environment, "
                      "spark-submit --version 3.5.0 without SPARK_HOME", problems)


@check("spark.config", "spark_client hosts")
def spark_config(lab: Lab):
    for host in lab.group("spark_client"):
        conf = _spark_defaults(lab, host)
        problems = []
        master = conf.get("spark.master", "")
        if master not in ("yarn", "local[*]") and not master.startswith("spark://"):
            problems.append(f"spark.master is {master!r}")
        for key in ("spark.driver.memory", "spark.executor.memory"):
            if conf.get(key) != "512m":
                problems.append(f"{key} is {conf.get(key)}")
        if lab.group("hdfs_namenode") and not (
                conf.get("spark.eventLog.enabled") == "true"
                and conf.get("spark.eventLog.dir", "").endswith("/spark-logs")):
            problems.append("event log not enabled in /spark-logs")
        if master == "yarn" and not re.search(
                r"/spark/spark-jars-3\.5\.0-[0-9a-f]{16}\.zip$",
                conf.get("spark.yarn.archive", "")):
            problems.append(f"spark.yarn.archive is {conf.get('spark.yarn.archive')}")
        spark_env = ((lab.got(host, "spark_files") or {}).get("/etc/spark/spark-env.sh")
                     or {}).get("content", "")
        if "HADOOP_CONF_DIR" not in spark_env:
            problems.append("spark-env.sh does not set HADOOP_CONF_DIR")
        yield _result("spark.config", host, "spark",
                      f"spark-defaults.conf (master {master}, 512m heaps, event log, "
                      "jars archive named by digest), spark-env.sh", problems)


@check("spark.kafka_python", "spark_client hosts")
def spark_kafka_python(lab: Lab):
    for host in lab.group("spark_client"):
        seen = lab.got(host, "kafka_python") or {}
        problems = []
        if not (seen.get("version") or "").startswith("2."):
            problems.append(f"kafka-python: {seen.get('version') or seen.get('error')}")
        if lab.vars[host].get("spark_kafka_python_install", "wheel") == "wheel" and \
                seen.get("installer") != "pip":
            problems.append(f"kafka-python installed by {seen.get('installer')}, not pip")
        yield _result("spark.kafka_python", host, "spark",
                      f"kafka-python {seen.get('version')} importable, installed by pip",
                      problems)


@check("jobs.units", "spark_client hosts")
def job_units(lab: Lab):
    for host in lab.group("spark_client"):
        rows = [line.split("\t") for line in
                (lab.got(host, "job_units") or {}).get("out", "").splitlines() if line]
        jobs = {row[0]: row for row in rows if len(row) == 6}
        problems = [f"spark-job-{j} is not installed" for j in DEFAULT_JOBS if j not in jobs]
        for job, (_, enabled, active, user, lines, directory) in sorted(jobs.items()):
            if (enabled, active, user) != ("enabled", "active", "spark"):
                problems.append(f"spark-job-{job} is {enabled}/{active} as {user or '-'}")
            if lines != "2" or directory != "dir":
                problems.append(f"spark-job-{job}: unit lacks Restart=on-failure or "
                                "--deploy-mode client, or its job directory is missing")
        yield _result("jobs.units", host, "spark-job-*",
                      f"{len(jobs)} job unit(s) enabled and running as spark", problems)


@check("jobs.yarn", "spark_client hosts, on YARN")
def jobs_on_yarn(lab: Lab):
    for host in lab.group("spark_client"):
        conf = _spark_defaults(lab, host)
        if conf.get("spark.master") != "yarn" or not lab.group("yarn_resourcemanager"):
            continue
        seen = lab.got(host, "yarn_apps") or {}
        running = seen.get("running", [])
        missing = sorted(set(DEFAULT_JOBS) - set(running))
        problems = [f"not RUNNING on YARN: {', '.join(missing)} ({seen.get('error') or ''})"
                    .rstrip(" ()")] if missing else []
        yield _result("jobs.yarn", host, "yarn", f"jobs {', '.join(DEFAULT_JOBS)} RUNNING "
                      "on YARN", problems)
        if conf.get("spark.yarn.archive"):
            archive = conf["spark.yarn.archive"]
            path = re.sub(r"^hdfs://[^/]+", "", archive)
            seen = lab.got(host, "yarn_archive") or {}
            stat = (seen.get("json") or {}).get("FileStatus") or {}
            size = int(stat.get("length") or 0)
            yield _result("jobs.yarn", host, "hdfs", f"YARN jars archive {path} in HDFS",
                          [] if size > 100 * 1024 * 1024 else
                          [seen.get("error") or f"{path}: {size} bytes"])
