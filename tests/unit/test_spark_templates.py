"""Render the spark and spark_jobs role templates with Ansible (role_templates) from the
real defaults, the cross-role facts and the committed inventory, and check what the hosts
get: a test sees what a play would template.
"""

from __future__ import annotations

import shlex
import shutil

import pytest
import role_templates
import yaml
from role_templates import LOCAL, ROLES, ROOT, RoleVars, load

# Facts of a lab host (Debian bookworm).
FACTS = {"architecture": "x86_64", "python": {"version": {"major": 3, "minor": 11}},
         "systemd": {"version": 252}}


# The controller's artifact manifest as a play reads it (a lookup of manifest.json).
SPARK_SHA256 = "5b3c7a4e91d0f2a8" + "0" * 48
MANIFEST = {"products": {"spark": {"version": "3.5.0", "sha256": SPARK_SHA256}}}


def Vars(role: str, host: str = "hadoop-master", extra: dict | None = None,
         facts: dict | None = None) -> RoleVars:
    """One host's variables for one role, on the 3-host lab, facts over FACTS."""
    return RoleVars(role, host, facts={**FACTS, **(facts or {})},
                    extra={"streamstack_artifacts_manifest": MANIFEST, **(extra or {})})


def render(v: RoleVars, template: str) -> str:
    return role_templates.render(v, v.role, template)


def spark_defaults(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            assert key not in out, f"duplicate {key}"
            out[key] = value.strip()
    return out


def unit_sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as {section: [(key, value), ...]}, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    sections: dict[str, list] = {}
    current = None
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        current.append((key, value))
    return sections


def one(section, key):
    values = [v for k, v in section if k == key]
    assert len(values) == 1, (key, values)
    return values[0]


def exec_argv(unit_text: str) -> list[str]:
    """ExecStart split as systemd does for these words (double quotes, $$ and %%)."""
    command = one(unit_sections(unit_text)["Service"], "ExecStart")
    return [w.replace("$$", "$").replace("%%", "%") for w in shlex.split(command)]


# --------------------------------------------------------------------------- spark

def test_spark_defaults_yarn_lab():
    conf = spark_defaults(render(Vars("spark"), "spark-defaults.conf.j2"))
    assert conf["spark.master"] == "yarn"
    assert conf["spark.submit.deployMode"] == "client"
    assert conf["spark.driver.memory"] == "512m"
    assert conf["spark.executor.memory"] == "512m"
    assert conf["spark.executor.instances"] == "1"
    assert conf["spark.executor.cores"] == "1"
    assert conf["spark.dynamicAllocation.enabled"] == "false"
    assert conf["spark.eventLog.enabled"] == "true"
    assert conf["spark.eventLog.dir"] == "hdfs://hadoop-master:9000/spark-logs"
    assert conf["spark.yarn.archive"] == (
        "hdfs://hadoop-master:9000/spark/spark-jars-3.5.0-5b3c7a4e91d0f2a8.zip")
    assert conf["spark.pyspark.python"] == "python3"
    assert conf["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] == "python3"
    # Nothing pulls packages at submit time: no --packages / ivy settings.
    assert not any("jars.packages" in key or "ivy" in key for key in conf)


def test_jars_archive_is_named_by_the_manifest_digest_and_switches_with_it():
    """New jars (a connector upgrade) change the Spark tarball's sha256: the archive gets
    a new name, so it is built and uploaded again and spark.yarn.archive points to it."""
    before = spark_defaults(render(Vars("spark"), "spark-defaults.conf.j2"))
    other = {"products": {"spark": {"version": "3.5.0", "sha256": "9e" * 32}}}
    after = spark_defaults(render(Vars("spark", extra={"streamstack_artifacts_manifest": other}),
                                  "spark-defaults.conf.j2"))
    assert before["spark.yarn.archive"] != after["spark.yarn.archive"]
    assert after["spark.yarn.archive"].endswith("/spark/spark-jars-3.5.0-9e9e9e9e9e9e9e9e.zip")
    # The build and the upload key on that name, not on "built once".
    tasks = yaml.safe_load((ROLES / "spark/tasks/yarn_archive.yml").read_text())
    build = next(t for t in tasks if t["name"].startswith("Spark | Build the jars archive"))
    assert build["ansible.builtin.command"]["creates"].endswith("{{ spark_yarn_archive_name }}")
    upload = next(t for t in tasks if t["name"].startswith("Spark | Upload the jars archive"))
    assert "{{ spark_yarn_archive }}" in upload["ansible.builtin.command"]["argv"]


def test_spark_defaults_local_master_has_no_yarn_settings():
    v = Vars("spark", extra={"spark_master": "local[*]"})
    conf = spark_defaults(render(v, "spark-defaults.conf.j2"))
    assert conf["spark.master"] == "local[*]"
    assert not any(key.startswith("spark.yarn.") for key in conf)
    assert v["spark_standalone_enabled"] is False


def test_spark_defaults_without_hdfs_has_no_event_log(tmp_path):
    # The local lab's inventory without an hdfs_namenode group.
    shutil.copytree(LOCAL, tmp_path, dirs_exist_ok=True)
    hosts = load(tmp_path / "hosts.yml")
    del hosts["all"]["children"]["hdfs_namenode"]
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    v = RoleVars("spark", "hadoop-master", facts=FACTS, directory=tmp_path)
    conf = spark_defaults(render(v, "spark-defaults.conf.j2"))
    assert "spark.eventLog.enabled" not in conf and "spark.yarn.archive" not in conf


def test_spark_defaults_extra_wins():
    v = Vars("spark", extra={"spark_defaults_extra": {"spark.ui.port": 4050}})
    assert spark_defaults(render(v, "spark-defaults.conf.j2"))["spark.ui.port"] == "4050"


def test_spark_env_and_profile():
    v = Vars("spark")
    env = render(v, "spark-env.sh.j2")
    assert 'HADOOP_CONF_DIR="${HADOOP_CONF_DIR:-/etc/hadoop}"' in env
    assert 'JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"' in env
    assert "SPARK_MASTER_HOST" not in env
    profile = render(v, "profile.sh.j2")
    assert "export SPARK_CONF_DIR=/etc/spark" in profile
    assert "export SPARK_HOME=/opt/spark" in profile
    assert "export PYSPARK_PYTHON=python3" in profile


def test_standalone_option():
    v = Vars("spark", extra={"spark_master": "spark://hadoop-master:7077"})
    assert v["spark_standalone_enabled"] is True
    assert v["_spark_standalone_daemons"] == ["master", "worker"]
    env = render(v, "spark-env.sh.j2")
    assert 'SPARK_MASTER_HOST="hadoop-master"' in env
    master = render(v, "spark-master.service.j2")
    assert "org.apache.spark.deploy.master.Master" in master
    worker = render(v, "spark-worker.service.j2")
    assert "spark://hadoop-master:7077" in worker
    for unit in (master, worker):
        service = unit_sections(unit)["Service"]
        assert one(service, "User") == "spark"
        assert "SPARK_CONF_DIR=/etc/spark" in [v for k, v in service if k == "Environment"]
    conf = spark_defaults(render(v, "spark-defaults.conf.j2"))
    assert conf["spark.master"] == "spark://hadoop-master:7077"
    assert "spark.yarn.archive" not in conf


def test_kafka_python_wheel_paths():
    v = Vars("spark")
    assert [w["wheel"] for w in v["_spark_wheels"]] == [
        "kafka_python-2.2.15-py2.py3-none-any.whl", "pip-24.3.1-py3-none-any.whl"]
    assert all(len(w["sha256"]) == 64 for w in v["_spark_wheels"])
    assert v["_spark_site_packages"] == "/usr/local/lib/python3.11/dist-packages"
    assert v["spark_kafka_python_wheel_dir"] == str(ROOT / ".cache" / "wheels")


# ---------------------------------------------------------------------- spark_jobs

def job_unit(job: dict | None = None, name: str | None = None, **extra) -> str:
    v = Vars("spark_jobs", extra=extra)
    if job is None:
        job = next(j for j in v["spark_jobs"] if j["name"] == name)
    return render(v.with_overlay(spark_job=job), "spark-job.service.j2")


def test_default_jobs():
    v = Vars("spark_jobs")
    jobs = {job["name"]: job for job in v["spark_jobs"]}
    assert set(jobs) == {"wordcount", "kafka-to-hdfs"}
    assert (ROOT / jobs["wordcount"]["app"]).is_file()
    assert (ROOT / jobs["kafka-to-hdfs"]["app"]).is_file()
    bootstrap = "hadoop-master:19092,hadoop-worker1:19093,hadoop-worker2:19094"
    assert jobs["wordcount"]["args"][:3] == [bootstrap, "Hello-Kafka", "streamstack-wordcount"]
    assert "wordcount-results" in jobs["wordcount"]["args"]
    assert jobs["kafka-to-hdfs"]["args"][:4] == ["--bootstrap-servers", bootstrap,
                                                 "--topics", "events"]


def test_default_job_args_parse_with_the_jobs_own_parsers():
    import importlib.util

    v = Vars("spark_jobs")
    for job in v["spark_jobs"]:
        path = ROOT / job["app"]
        spec = importlib.util.spec_from_file_location(f"j_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.parse_args([str(a) for a in job["args"]])  # raises SystemExit if wrong


def test_wordcount_unit():
    text = job_unit(name="wordcount")
    sections = unit_sections(text)
    service = sections["Service"]
    assert one(service, "User") == "spark"
    assert one(service, "Restart") == "on-failure"
    assert one(service, "RestartSec") == "15"
    assert one(service, "SuccessExitStatus") == "143"
    assert one(sections["Unit"], "StartLimitBurst") == "10"
    # systemd 252 (bookworm) has no RestartSteps.
    assert not [k for k, _ in service if k.startswith("RestartSteps")]
    envs = [v for k, v in service if k == "Environment"]
    assert "SPARK_CONF_DIR=/etc/spark" in envs and "HADOOP_CONF_DIR=/etc/hadoop" in envs
    assert "PYSPARK_PYTHON=python3" in envs
    argv = exec_argv(text)
    assert argv[0] == "/opt/spark/bin/spark-submit"
    assert argv[argv.index("--master") + 1] == "yarn"
    assert argv[argv.index("--deploy-mode") + 1] == "client"
    assert argv[argv.index("--name") + 1] == "wordcount"
    assert argv[argv.index("--num-executors") + 1] == "1"
    assert argv[argv.index("--driver-memory") + 1] == "512m"
    app = argv.index("/opt/streamstack-jobs/wordcount/wordcount.py")
    assert argv[app + 2:app + 4] == ["Hello-Kafka", "streamstack-wordcount"]
    assert "--packages" not in argv
    assert one(sections["Install"], "WantedBy") == "multi-user.target"
    # The JMX agent: the driver on 7080 (first job), each executor on 400<id>, with the
    # rule file shipped into its container; the job's own JVM options kept after it.
    confs = dict(argv[i + 1].split("=", 1) for i, word in enumerate(argv) if word == "--conf")
    agent = "-javaagent:/opt/jmx_exporter/jmx_prometheus_javaagent-1.0.1.jar="
    assert confs["spark.driver.extraJavaOptions"] == (
        agent + "7080:/opt/streamstack-jobs/jmx-exporter.yml -XX:TieredStopAtLevel=1")
    assert confs["spark.executor.extraJavaOptions"] == (
        agent + "400{{EXECUTOR_ID}}:jmx-exporter.yml -XX:TieredStopAtLevel=1")
    assert confs["spark.yarn.dist.files"] == "/opt/streamstack-jobs/jmx-exporter.yml"


def test_custom_jar_job_and_quoting():
    job = {"name": "etl", "app": "/srv/etl.jar", "main_class": "com.example.Etl",
           "master": "local[2]", "conf": {"spark.ui.port": 4100},
           "args": ["a b", "100%", "$HOME", 'say "hi"'], "environment": {"X": "1 2"},
           "executor_memory": "1g"}
    text = job_unit(job)
    argv = exec_argv(text)
    assert argv[argv.index("--class") + 1] == "com.example.Etl"
    assert argv[argv.index("--master") + 1] == "local[2]"
    assert "--num-executors" not in argv  # YARN only
    confs = [argv[i + 1] for i, word in enumerate(argv) if word == "--conf"]
    assert "spark.ui.port=4100" in confs
    assert argv[argv.index("--executor-memory") + 1] == "1g"
    assert argv[-5:] == ["/opt/streamstack-jobs/etl/etl.jar", "a b", "100%", "$HOME",
                         'say "hi"']
    assert '"100%%"' in text and '"$$HOME"' in text
    assert 'Environment="X=1 2"' in text


def test_restart_steps_with_newer_systemd():
    v = Vars("spark_jobs", facts={"systemd": {"version": 255}})
    job = next(j for j in v["spark_jobs"] if j["name"] == "wordcount")
    text = render(v.with_overlay(spark_job=job), "spark-job.service.j2")
    service = unit_sections(text)["Service"]
    assert one(service, "RestartSteps") == "5"
    assert one(service, "RestartMaxDelaySec") == "300"


@pytest.mark.parametrize("role", ["spark", "spark_jobs"])
def test_every_default_is_declared_in_argument_specs(role):
    defaults = load(ROLES / role / "defaults/main.yml", optional=True)
    specs = load(ROLES / role / "meta/argument_specs.yml",
                 optional=True)["argument_specs"]["main"]["options"]
    assert set(defaults) <= set(specs), set(defaults) - set(specs)


def test_spark_defaults_secure_profile_authenticates_encrypts_and_acls():
    conf = spark_defaults(render(Vars("spark", extra={"streamstack_security": "kerberos"}),
                                 "spark-defaults.conf.j2"))
    assert conf["spark.authenticate"] == "true"
    assert conf["spark.network.crypto.enabled"] == "true"
    assert conf["spark.acls.enable"] == "true"
    assert conf["spark.admin.acls"] == "root"
    # On YARN each application gets its own secret: none is written here.
    assert "spark.authenticate.secret" not in conf and "spark.ui.view.acls" not in conf
    plain = spark_defaults(render(Vars("spark"), "spark-defaults.conf.j2"))
    assert not any(key in plain for key in ("spark.authenticate", "spark.acls.enable"))
