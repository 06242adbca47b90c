"""Generated bin/ launchers: upstream names and classes, bash syntax, environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from streamstack.plugins.plugin_utils import launchers

# kafka 3.6.1 bin/*.sh -> main class, read from the upstream scripts at tag 3.6.1.
UPSTREAM_KAFKA = {
    "kafka-server-start.sh": "kafka.Kafka",
    "kafka-topics.sh": "kafka.admin.TopicCommand",
    "kafka-console-producer.sh": "kafka.tools.ConsoleProducer",
    "kafka-console-consumer.sh": "kafka.tools.ConsoleConsumer",
    "kafka-consumer-groups.sh": "kafka.admin.ConsumerGroupCommand",
    "kafka-configs.sh": "kafka.admin.ConfigCommand",
    "kafka-producer-perf-test.sh": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test.sh": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-storage.sh": "kafka.tools.StorageTool",
    "kafka-metadata-quorum.sh": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-get-offsets.sh": "kafka.tools.GetOffsetShell",
    "kafka-log-dirs.sh": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-reassign-partitions.sh": "kafka.admin.ReassignPartitionsCommand",
    "kafka-leader-election.sh": "kafka.admin.LeaderElectionCommand",
    "kafka-broker-api-versions.sh": "kafka.admin.BrokerApiVersionsCommand",
    "zookeeper-shell.sh": "org.apache.zookeeper.ZooKeeperMainWithTlsSupportForKafka",
}

BASH = shutil.which("bash")


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """All generated launchers written out, plus a fake java that prints its argv."""
    for product in ("kafka", "zookeeper", "hadoop"):
        root = tmp_path / product
        for rel, (text, mode) in launchers.render(product).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(mode)
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    java = java_home / "bin" / "java"
    java.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    java.chmod(0o755)
    return tmp_path


def run(script: Path, *args: str, env: dict[str, str] | None = None,
        java_home: Path | None = None) -> list[str]:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(script.parent)}
    if java_home:
        full["JAVA_HOME"] = str(java_home)
    full.update(env or {})
    proc = subprocess.run([str(script), *args], env=full, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_every_upstream_kafka_script_is_present_with_the_upstream_class():
    files = launchers.render("kafka")
    for name, cls in UPSTREAM_KAFKA.items():
        assert f"bin/{name}" in files, name
        assert launchers.KAFKA_SCRIPTS[name].main_class == cls
        assert f" {cls}" in files[f"bin/{name}"][0]
    for name in ("kafka-run-class.sh", "kafka-server-stop.sh"):
        assert f"bin/{name}" in files
    assert "config/log4j.properties" in files
    assert "config/tools-log4j.properties" in files
    assert "${kafka.logs.dir}/server.log" in files["config/log4j.properties"][0]


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_scripts_are_executable_and_bash_n_clean(tree: Path):
    scripts = [p for p in tree.rglob("*") if p.is_file() and p.parent.name == "bin"
               and "jdk" not in p.parts]
    assert len(scripts) > 30
    for script in scripts:
        assert os.access(script, os.X_OK), script
        assert script.read_text().startswith("#!/usr/bin/env bash"), script
        proc = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"


def test_kafka_tool_honours_environment(tree: Path):
    home = tree / "kafka"
    argv = run(home / "bin" / "kafka-topics.sh", "--list", java_home=tree / "jdk",
               env={"KAFKA_HEAP_OPTS": "-Xmx77M", "KAFKA_OPTS": "-Dfoo=bar",
                    "KAFKA_JVM_PERFORMANCE_OPTS": "-XX:+UseSerialGC", "LOG_DIR": "/tmp/kl"})
    assert "-Xmx77M" in argv and "-Dfoo=bar" in argv and "-XX:+UseSerialGC" in argv
    assert "-Dkafka.logs.dir=/tmp/kl" in argv
    assert argv[argv.index("-cp") + 1].startswith(f"{home}/libs/*")
    assert argv[-2:] == ["kafka.admin.TopicCommand", "--list"]
    assert any(a.endswith("config/tools-log4j.properties") for a in argv)


def test_kafka_defaults_and_server_start(tree: Path):
    home = tree / "kafka"
    argv = run(home / "bin" / "kafka-topics.sh", java_home=tree / "jdk")
    assert "-Xmx256M" in argv
    argv = run(home / "bin" / "kafka-server-start.sh", "/etc/kafka/server-1.properties",
               java_home=tree / "jdk")
    assert "-Xmx1G" in argv
    assert argv[-2:] == ["kafka.Kafka", "/etc/kafka/server-1.properties"]
    assert any(a.endswith("config/log4j.properties") for a in argv)
    argv = run(home / "bin" / "kafka-server-start.sh", "s.properties", java_home=tree / "jdk",
               env={"KAFKA_HEAP_OPTS": "-Xmx300M", "KAFKA_LOG4J_OPTS": "-Dlog4j.configuration=x"})
    assert "-Xmx300M" in argv and "-Xmx1G" not in argv and "-Dlog4j.configuration=x" in argv
    argv = run(home / "bin" / "kafka-console-producer.sh", java_home=tree / "jdk")
    assert "-Xmx512M" in argv
    argv = run(home / "bin" / "zookeeper-shell.sh", "zk:2181", "ls", "/",
               java_home=tree / "jdk")
    assert argv[-5:] == ["org.apache.zookeeper.ZooKeeperMainWithTlsSupportForKafka",
                         "-server", "zk:2181", "ls", "/"]


def test_launchers_work_through_a_symlink(tree: Path):
    link_dir = tree / "usrbin"
    link_dir.mkdir()
    (link_dir / "kafka-topics.sh").symlink_to(tree / "kafka" / "bin" / "kafka-topics.sh")
    (link_dir / "hdfs").symlink_to(tree / "hadoop" / "bin" / "hdfs")
    argv = run(link_dir / "kafka-topics.sh", java_home=tree / "jdk")
    cp = argv[argv.index("-cp") + 1]
    assert str(tree / "kafka") in cp
    argv = run(link_dir / "hdfs", "version", java_home=tree / "jdk")
    assert f"{tree / 'hadoop'}/share/hadoop/common/*" in argv[argv.index("-cp") + 1]


def test_hadoop_dispatch_and_environment(tree: Path):
    home = tree / "hadoop"
    conf = tree / "conf"
    conf.mkdir()
    (conf / "hadoop-env.sh").write_text('HADOOP_OPTS="$HADOOP_OPTS -Dfrom.env.sh=1"\n')
    env = {"HADOOP_CONF_DIR": str(conf), "HADOOP_HEAPSIZE_MAX": "300",
           "HDFS_NAMENODE_OPTS": "-Dnn=1", "HADOOP_LOG_DIR": "/var/log/hadoop",
           "HADOOP_OPTS": "-Dbase=1"}
    argv = run(home / "bin" / "hdfs", "namenode", "-format", env=env, java_home=tree / "jdk")
    assert argv[-2:] == ["org.apache.hadoop.hdfs.server.namenode.NameNode", "-format"]
    assert "-Xmx300m" in argv and "-Dnn=1" in argv and "-Dbase=1" in argv
    assert "-Dfrom.env.sh=1" in argv
    assert "-Dhadoop.log.dir=/var/log/hadoop" in argv
    assert "-Dhadoop.root.logger=INFO,console" in argv
    assert any(a.startswith("-Dhadoop.log.file=hadoop-") and a.endswith(".log") for a in argv)
    for module in ("java.base/java.lang", "java.base/sun.nio.ch", "java.base/java.util",
                   "java.base/java.util.concurrent", "java.security.jgss/sun.security.krb5"):
        assert f"--add-opens={module}=ALL-UNNAMED" in argv
    cp = argv[argv.index("-cp") + 1]
    assert cp == release_classpath(conf, home)

    argv = run(home / "bin" / "yarn", "application", "-list", env=env, java_home=tree / "jdk")
    assert argv[-3:] == ["org.apache.hadoop.yarn.client.cli.ApplicationCLI", "application",
                         "-list"]
    argv = run(home / "bin" / "yarn", "resourcemanager", java_home=tree / "jdk",
               env={**env, "YARN_RESOURCEMANAGER_OPTS": "-Drm=1"})
    assert "-Drm=1" in argv and "-Dnn=1" not in argv
    timeline = f"{home}/share/hadoop/yarn/timelineservice/*"
    assert argv[argv.index("-cp") + 1].split(":")[-2] == timeline
    argv = run(home / "bin" / "hadoop", "distcp", "a", "b", env=env, java_home=tree / "jdk")
    assert argv[argv.index("-cp") + 1].endswith(f":{home}/share/hadoop/tools/lib/*")
    argv = run(home / "bin" / "mapred", "historyserver", java_home=tree / "jdk",
               env={**env, "MAPRED_HISTORYSERVER_OPTS": "-Dhs=1", "HADOOP_HEAPSIZE_MAX": "1g"})
    assert argv[-1] == "org.apache.hadoop.mapreduce.v2.hs.JobHistoryServer"
    assert "-Dhs=1" in argv and "-Xmx1g" in argv
    argv = run(home / "bin" / "hadoop", "fs", "-ls", "/", env=env, java_home=tree / "jdk")
    assert argv[-3:] == ["org.apache.hadoop.fs.FsShell", "-ls", "/"]
    out = run(home / "bin" / "hadoop", "classpath", env=env)
    assert out == [release_classpath(conf, home)]


def release_classpath(conf: Path, home: Path) -> str:
    """What `hadoop classpath` prints with the Hadoop 3.3.6 release layout."""
    share = f"{home}/share/hadoop"
    return ":".join([str(conf), f"{share}/common/lib/*", f"{share}/common/*",
                     f"{share}/hdfs", f"{share}/hdfs/lib/*", f"{share}/hdfs/*",
                     f"{share}/mapreduce/lib/*", f"{share}/mapreduce/*",
                     f"{share}/yarn", f"{share}/yarn/lib/*", f"{share}/yarn/*"])


def test_hadoop_commands_cover_the_contract():
    need = {
        "hdfs": ["namenode", "datanode", "secondarynamenode", "dfs", "dfsadmin", "fsck",
                 "getconf", "haadmin", "version", "classpath"],
        "yarn": ["resourcemanager", "nodemanager", "proxyserver", "timelineserver", "node",
                 "application", "applicationattempt", "container", "logs", "jar", "classpath",
                 "version", "rmadmin", "queue", "top"],
        "mapred": ["historyserver", "job", "queue", "classpath", "version"],
        "hadoop": ["fs", "jar", "classpath", "version", "checknative", "conftest", "key",
                   "credential"],
    }
    for tool, subs in need.items():
        assert set(subs) <= set(launchers.HADOOP_COMMANDS[tool]), tool
    assert launchers.HADOOP_COMMANDS["hdfs"]["namenode"].opts_var == "HDFS_NAMENODE_OPTS"
    assert launchers.HADOOP_COMMANDS["yarn"]["nodemanager"].opts_var == "YARN_NODEMANAGER_OPTS"


def test_unknown_hadoop_subcommand_fails(tree: Path):
    proc = subprocess.run([str(tree / "hadoop" / "bin" / "hdfs"), "nosuchthing"],
                          capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "JAVA_HOME": str(tree / "jdk")})
    assert proc.returncode == 1 and "not a known subcommand" in proc.stderr


def test_zookeeper_server_and_cli(tree: Path):
    home = tree / "zookeeper"
    cfg = tree / "zoo.cfg"
    cfg.write_text("dataDir=/var/lib/zookeeper\nclientPort=2181\n")
    argv = run(home / "bin" / "zkServer.sh", "start-foreground", str(cfg),
               java_home=tree / "jdk",
               env={"ZK_SERVER_HEAP": "128", "SERVER_JVMFLAGS": "-Dsrv=1", "JVMFLAGS": "-Djvm=1",
                    "ZOO_LOG_DIR": "/var/log/zookeeper"})
    assert argv[-2:] == ["org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)]
    assert "-Xmx128m" in argv and "-Dsrv=1" in argv and "-Djvm=1" in argv
    assert "-Dzookeeper.log.dir=/var/log/zookeeper" in argv
    assert any(a.endswith("conf/logback.xml") for a in argv)
    argv = run(home / "bin" / "zkServer.sh", "start-foreground", java_home=tree / "jdk")
    assert argv[-1] == f"{home}/conf/zoo.cfg"
    assert "-Xmx256m" in argv
    argv = run(home / "bin" / "zkCli.sh", "-server", "h:2181", java_home=tree / "jdk")
    assert argv[-3:] == ["org.apache.zookeeper.ZooKeeperMain", "-server", "h:2181"]
    logback = launchers.render("zookeeper")["conf/logback.xml"][0]
    assert "${zookeeper.log.dir}/${zookeeper.log.file}" in logback


def test_spark_files():
    files = launchers.render("spark", version="3.5.0", origin="pyspark==3.5.0")
    assert {"RELEASE", "conf/log4j2.properties", "streamstack-bin/spark-submit"} <= set(files)
    assert files["RELEASE"][0].startswith("Spark 3.5.0")


def test_spark_wrapper_sets_spark_home_through_a_symlink(tmp_path: Path):
    home = tmp_path / "spark-3.5.0"
    for rel, (text, mode) in launchers.render("spark", version="3.5.0").items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    (home / "bin").mkdir()
    fake = home / "bin" / "spark-submit"
    fake.write_text('#!/bin/sh\necho "$SPARK_HOME" "$@"\n')
    fake.chmod(0o755)
    link = tmp_path / "spark-submit"
    link.symlink_to(home / "streamstack-bin" / "spark-submit")
    assert run(link, "--version") == [f"{home} --version"]


@pytest.fixture()
def systemd(tree: Path) -> Path:
    """A fake systemctl on PATH that knows two units and logs every call."""
    bindir = tree / "fakebin"
    bindir.mkdir()
    log = tree / "systemctl.log"
    script = bindir / "systemctl"
    script.write_text(f"""#!/bin/sh
echo "$*" >> {log}
case "$1 $2" in
  "cat hdfs-namenode.service"|"cat yarn-resourcemanager.service") exit 0 ;;
  cat*) exit 1 ;;
  is-active*) echo active ;;
esac
""")
    script.chmod(0o755)
    return bindir


def sbin(tree: Path, bindir: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"}
    return subprocess.run([str(tree / "hadoop" / "sbin" / name), *args], capture_output=True,
                          text=True, env=env, check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="the sbin scripts drive systemd as root")
def test_sbin_scripts_drive_the_units_of_this_host(tree: Path, systemd: Path):
    log = tree / "systemctl.log"
    done = sbin(tree, systemd, "start-dfs.sh")
    assert done.returncode == 0, done.stderr
    assert "start hdfs-namenode.service" in log.read_text().splitlines()
    assert "datanode" in done.stdout and "secondarynamenode" in done.stdout  # named, absent
    assert "start hdfs-datanode.service" not in log.read_text()
    done = sbin(tree, systemd, "yarn-daemon.sh", "stop", "resourcemanager")
    assert done.returncode == 0 and "stop yarn-resourcemanager.service" in log.read_text()
    done = sbin(tree, systemd, "hadoop-daemon.sh", "--config", "/etc/hadoop", "start",
                "namenode")
    assert done.returncode == 0, done.stderr
    # a daemon the script does not own is refused, like upstream's usage check
    assert sbin(tree, systemd, "mr-jobhistory-daemon.sh", "start", "namenode").returncode == 1


def test_every_sbin_script_of_the_table_is_rendered():
    files = launchers.render("hadoop")
    for name in (*launchers.HADOOP_SBIN_UNITS, *launchers.HADOOP_SBIN_DAEMON):
        text, mode = files[f"sbin/{name}"]
        assert mode == launchers.EXEC and text.startswith("#!/usr/bin/env bash")
    assert "hadoop_units start namenode secondarynamenode datanode" in \
        files["sbin/start-dfs.sh"][0]


def test_kafka_release_config_files_are_in_the_tree():
    files = launchers.render("kafka")
    for name in ("server.properties", "zookeeper.properties", "producer.properties",
                 "consumer.properties"):
        assert f"config/{name}" in files
    assert "bootstrap.servers=localhost:9092" in files["config/producer.properties"][0]
