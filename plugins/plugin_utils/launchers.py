"""bin/ and sbin/ scripts and default configs for the products we assemble from jars.

The scripts are real files under ``templates/launchers/<product>/`` (plain shell, or
Jinja where one template serves many scripts); ``make lint`` runs shellcheck on what
they render to. The tables here map each script (or subcommand) to the main class the
upstream release's script runs, so ``kafka-topics.sh`` here does what
``kafka-topics.sh`` from the Kafka 3.6.1 tarball does. Scripts resolve their home
through symlinks (``readlink -f``), so a link in /usr/local/bin works.

``render(product_name)`` returns ``{relative path: (text, mode)}`` for a product tree;
``python -m streamstack.plugins.plugin_utils.launchers DIR`` writes every product's files below DIR.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import jinja2

EXEC = 0o755
DATA = 0o644

# templates/ of the checkout, or of the installed collection (plugins/plugin_utils/..).
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "launchers"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                          trim_blocks=True, lstrip_blocks=True, autoescape=False)


def _render(template: str, **values) -> str:
    return _ENV.get_template(template).render(**values)


def _static(product: str, rels: dict[str, int]) -> dict[str, tuple[str, int]]:
    """Files copied as they are: {path in the tree: mode}."""
    return {rel: ((TEMPLATES / product / rel).read_text(), mode) for rel, mode in rels.items()}


# --------------------------------------------------------------------------- Kafka


@dataclass(frozen=True)
class KafkaScript:
    main_class: str
    heap: str | None = None  # default KAFKA_HEAP_OPTS set by the upstream script
    log4j: str | None = None  # None = tools-log4j (kafka-run-class default); else file
    pre_args: tuple[str, ...] = ()
    min_args: int = 0
    usage: str = ""


# Upstream kafka 3.6.1 bin/*.sh -> main class (checked against the 3.6.1 tag).
KAFKA_SCRIPTS: dict[str, KafkaScript] = {
    "kafka-server-start.sh": KafkaScript(
        "kafka.Kafka", heap="-Xmx1G -Xms1G", log4j="log4j.properties", min_args=1,
        usage="[-daemon] server.properties [--override property=value]*"),
    "kafka-topics.sh": KafkaScript("kafka.admin.TopicCommand"),
    "kafka-console-producer.sh": KafkaScript("kafka.tools.ConsoleProducer", heap="-Xmx512M"),
    "kafka-console-consumer.sh": KafkaScript("kafka.tools.ConsoleConsumer", heap="-Xmx512M"),
    "kafka-consumer-groups.sh": KafkaScript("kafka.admin.ConsumerGroupCommand"),
    "kafka-configs.sh": KafkaScript("kafka.admin.ConfigCommand"),
    "kafka-producer-perf-test.sh": KafkaScript(
        "org.apache.kafka.tools.ProducerPerformance", heap="-Xmx512M"),
    "kafka-consumer-perf-test.sh": KafkaScript(
        "org.apache.kafka.tools.ConsumerPerformance", heap="-Xmx512M"),
    "kafka-storage.sh": KafkaScript("kafka.tools.StorageTool"),
    "kafka-metadata-quorum.sh": KafkaScript("org.apache.kafka.tools.MetadataQuorumCommand"),
    "kafka-get-offsets.sh": KafkaScript("kafka.tools.GetOffsetShell"),
    "kafka-log-dirs.sh": KafkaScript("org.apache.kafka.tools.LogDirsCommand"),
    "kafka-reassign-partitions.sh": KafkaScript("kafka.admin.ReassignPartitionsCommand"),
    "kafka-leader-election.sh": KafkaScript("kafka.admin.LeaderElectionCommand"),
    "kafka-broker-api-versions.sh": KafkaScript("kafka.admin.BrokerApiVersionsCommand"),
    "kafka-acls.sh": KafkaScript("kafka.admin.AclCommand"),
    "kafka-delete-records.sh": KafkaScript("org.apache.kafka.tools.DeleteRecordsCommand"),
    "kafka-dump-log.sh": KafkaScript("kafka.tools.DumpLogSegments"),
    "kafka-features.sh": KafkaScript("org.apache.kafka.tools.FeatureCommand"),
    "kafka-transactions.sh": KafkaScript("org.apache.kafka.tools.TransactionsCommand"),
    "kafka-cluster.sh": KafkaScript("org.apache.kafka.tools.ClusterTool"),
    "kafka-e2e-latency.sh": KafkaScript("org.apache.kafka.tools.EndToEndLatency"),
    "kafka-verifiable-producer.sh": KafkaScript(
        "org.apache.kafka.tools.VerifiableProducer", heap="-Xmx512M"),
    "kafka-verifiable-consumer.sh": KafkaScript(
        "org.apache.kafka.tools.VerifiableConsumer", heap="-Xmx512M"),
    "zookeeper-shell.sh": KafkaScript(
        "org.apache.zookeeper.ZooKeeperMainWithTlsSupportForKafka", pre_args=("-server",),
        min_args=1, usage="zookeeper_host:port[/path] [-zk-tls-config-file file] [args...]"),
    "zookeeper-server-start.sh": KafkaScript(
        "org.apache.zookeeper.server.quorum.QuorumPeerMain", heap="-Xmx512M -Xms512M",
        log4j="log4j.properties", min_args=1, usage="[-daemon] zookeeper.properties"),
}


def kafka_script(name: str, spec: KafkaScript) -> str:
    return _render("kafka/bin/kafka-tool.sh.j2", name=name, spec=spec)


def render_kafka() -> dict[str, tuple[str, int]]:
    files = _static("kafka", {
        "bin/kafka-run-class.sh": EXEC,
        "bin/kafka-server-stop.sh": EXEC,
        "config/log4j.properties": DATA,
        "config/tools-log4j.properties": DATA,
        # The release's sample configurations; the kafka role links server.properties
        # to this host's first broker.
        "config/server.properties": DATA,
        "config/zookeeper.properties": DATA,
        "config/producer.properties": DATA,
        "config/consumer.properties": DATA,
    })
    for name, spec in KAFKA_SCRIPTS.items():
        files[f"bin/{name}"] = (kafka_script(name, spec), EXEC)
    return files


# ----------------------------------------------------------------------- ZooKeeper


def render_zookeeper() -> dict[str, tuple[str, int]]:
    return _static("zookeeper", {
        "bin/zkEnv.sh": EXEC,
        "bin/zkServer.sh": EXEC,
        "bin/zkCli.sh": EXEC,
        "conf/logback.xml": DATA,
        "conf/zoo_sample.cfg": DATA,
    })


# -------------------------------------------------------------------------- Hadoop


@dataclass(frozen=True)
class HadoopCmd:
    main_class: str | None  # None: handled specially (classpath)
    opts_var: str | None = None  # per-daemon *_OPTS; None = client (HADOOP_CLIENT_OPTS)
    prepend: bool = False  # pass the subcommand itself as first argument (yarn app CLI)
    # a hadoop-config.sh variable appended to the classpath (TOOLS_CLASSPATH, ...)
    classpath: str | None = None


_VERSION = HadoopCmd("org.apache.hadoop.util.VersionInfo")
_CLASSPATH = HadoopCmd(None)
_DISTCP = HadoopCmd("org.apache.hadoop.tools.DistCp", classpath="TOOLS_CLASSPATH")

# Subcommand -> main class, as in Hadoop 3.3.6 bin/{hadoop,hdfs,yarn,mapred}.
HADOOP_COMMANDS: dict[str, dict[str, HadoopCmd]] = {
    "hadoop": {
        "fs": HadoopCmd("org.apache.hadoop.fs.FsShell"),
        "jar": HadoopCmd("org.apache.hadoop.util.RunJar"),
        "classpath": _CLASSPATH,
        "version": _VERSION,
        "checknative": HadoopCmd("org.apache.hadoop.util.NativeLibraryChecker"),
        "conftest": HadoopCmd("org.apache.hadoop.util.ConfTest"),
        "key": HadoopCmd("org.apache.hadoop.crypto.key.KeyShell"),
        "credential": HadoopCmd("org.apache.hadoop.security.alias.CredentialShell"),
        "daemonlog": HadoopCmd("org.apache.hadoop.log.LogLevel"),
        "archive": HadoopCmd("org.apache.hadoop.tools.HadoopArchives",
                             classpath="TOOLS_CLASSPATH"),
        "dtutil": HadoopCmd("org.apache.hadoop.security.token.DtUtilShell"),
        "kerbname": HadoopCmd("org.apache.hadoop.security.HadoopKerberosName"),
        "kdiag": HadoopCmd("org.apache.hadoop.security.KDiag"),
        "distcp": _DISTCP,
    },
    "hdfs": {
        "namenode": HadoopCmd("org.apache.hadoop.hdfs.server.namenode.NameNode",
                              "HDFS_NAMENODE_OPTS"),
        "datanode": HadoopCmd("org.apache.hadoop.hdfs.server.datanode.DataNode",
                              "HDFS_DATANODE_OPTS"),
        "secondarynamenode": HadoopCmd(
            "org.apache.hadoop.hdfs.server.namenode.SecondaryNameNode",
            "HDFS_SECONDARYNAMENODE_OPTS"),
        "journalnode": HadoopCmd("org.apache.hadoop.hdfs.qjournal.server.JournalNode",
                                 "HDFS_JOURNALNODE_OPTS"),
        "zkfc": HadoopCmd("org.apache.hadoop.hdfs.tools.DFSZKFailoverController",
                          "HDFS_ZKFC_OPTS"),
        "balancer": HadoopCmd("org.apache.hadoop.hdfs.server.balancer.Balancer",
                              "HDFS_BALANCER_OPTS"),
        "mover": HadoopCmd("org.apache.hadoop.hdfs.server.mover.Mover", "HDFS_MOVER_OPTS"),
        "dfs": HadoopCmd("org.apache.hadoop.fs.FsShell"),
        "dfsadmin": HadoopCmd("org.apache.hadoop.hdfs.tools.DFSAdmin"),
        "fsck": HadoopCmd("org.apache.hadoop.hdfs.tools.DFSck"),
        "getconf": HadoopCmd("org.apache.hadoop.hdfs.tools.GetConf"),
        "haadmin": HadoopCmd("org.apache.hadoop.hdfs.tools.DFSHAAdmin"),
        "groups": HadoopCmd("org.apache.hadoop.hdfs.tools.GetGroups"),
        "jmxget": HadoopCmd("org.apache.hadoop.hdfs.tools.JMXGet"),
        "oiv": HadoopCmd("org.apache.hadoop.hdfs.tools.offlineImageViewer.OfflineImageViewerPB"),
        "oiv_legacy": HadoopCmd(
            "org.apache.hadoop.hdfs.tools.offlineImageViewer.OfflineImageViewer"),
        "oev": HadoopCmd("org.apache.hadoop.hdfs.tools.offlineEditsViewer.OfflineEditsViewer"),
        "fetchdt": HadoopCmd("org.apache.hadoop.hdfs.tools.DelegationTokenFetcher"),
        "snapshotDiff": HadoopCmd("org.apache.hadoop.hdfs.tools.snapshot.SnapshotDiff"),
        "lsSnapshottableDir": HadoopCmd(
            "org.apache.hadoop.hdfs.tools.snapshot.LsSnapshottableDir"),
        "cacheadmin": HadoopCmd("org.apache.hadoop.hdfs.tools.CacheAdmin"),
        "crypto": HadoopCmd("org.apache.hadoop.hdfs.tools.CryptoAdmin"),
        "ec": HadoopCmd("org.apache.hadoop.hdfs.tools.ECAdmin"),
        "debug": HadoopCmd("org.apache.hadoop.hdfs.tools.DebugAdmin"),
        "storagepolicies": HadoopCmd("org.apache.hadoop.hdfs.tools.StoragePolicyAdmin"),
        "diskbalancer": HadoopCmd("org.apache.hadoop.hdfs.tools.DiskBalancerCLI"),
        "classpath": _CLASSPATH,
        "version": _VERSION,
    },
    "yarn": {
        "resourcemanager": HadoopCmd(
            "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager",
            "YARN_RESOURCEMANAGER_OPTS", classpath="TIMELINE_CLASSPATH"),
        "nodemanager": HadoopCmd("org.apache.hadoop.yarn.server.nodemanager.NodeManager",
                                 "YARN_NODEMANAGER_OPTS", classpath="TIMELINE_CLASSPATH"),
        "proxyserver": HadoopCmd("org.apache.hadoop.yarn.server.webproxy.WebAppProxyServer",
                                 "YARN_PROXYSERVER_OPTS"),
        "timelineserver": HadoopCmd(
            "org.apache.hadoop.yarn.server.applicationhistoryservice.ApplicationHistoryServer",
            "YARN_TIMELINESERVER_OPTS"),
        "historyserver": HadoopCmd(
            "org.apache.hadoop.yarn.server.applicationhistoryservice.ApplicationHistoryServer",
            "YARN_HISTORYSERVER_OPTS"),
        "node": HadoopCmd("org.apache.hadoop.yarn.client.cli.NodeCLI"),
        "application": HadoopCmd("org.apache.hadoop.yarn.client.cli.ApplicationCLI",
                                 prepend=True),
        "app": HadoopCmd("org.apache.hadoop.yarn.client.cli.ApplicationCLI", prepend=True),
        "applicationattempt": HadoopCmd("org.apache.hadoop.yarn.client.cli.ApplicationCLI",
                                        prepend=True),
        "container": HadoopCmd("org.apache.hadoop.yarn.client.cli.ApplicationCLI",
                               prepend=True),
        "logs": HadoopCmd("org.apache.hadoop.yarn.client.cli.LogsCLI"),
        "jar": HadoopCmd("org.apache.hadoop.util.RunJar"),
        "rmadmin": HadoopCmd("org.apache.hadoop.yarn.client.cli.RMAdminCLI"),
        "queue": HadoopCmd("org.apache.hadoop.yarn.client.cli.QueueCLI"),
        "cluster": HadoopCmd("org.apache.hadoop.yarn.client.cli.ClusterCLI"),
        "top": HadoopCmd("org.apache.hadoop.yarn.client.cli.TopCLI"),
        "schedulerconf": HadoopCmd("org.apache.hadoop.yarn.client.cli.SchedConfCLI"),
        "daemonlog": HadoopCmd("org.apache.hadoop.log.LogLevel"),
        "classpath": _CLASSPATH,
        "version": _VERSION,
    },
    "mapred": {
        "historyserver": HadoopCmd("org.apache.hadoop.mapreduce.v2.hs.JobHistoryServer",
                                   "MAPRED_HISTORYSERVER_OPTS"),
        "job": HadoopCmd("org.apache.hadoop.mapred.JobClient"),
        "queue": HadoopCmd("org.apache.hadoop.mapred.JobQueueClient"),
        "hsadmin": HadoopCmd("org.apache.hadoop.mapreduce.v2.hs.client.HSAdmin"),
        "pipes": HadoopCmd("org.apache.hadoop.mapred.pipes.Submitter"),
        "sampler": HadoopCmd("org.apache.hadoop.mapred.lib.InputSampler"),
        "groups": HadoopCmd("org.apache.hadoop.mapred.tools.GetGroups"),
        "distcp": _DISTCP,
        "classpath": _CLASSPATH,
        "version": _VERSION,
    },
}

# Java 17 module openings Hadoop 3.3 (and the Spark/MapReduce code it hosts) needs.
JAVA17_ADD_OPENS = (
    "java.base/java.lang",
    "java.base/java.lang.invoke",
    "java.base/java.lang.reflect",
    "java.base/java.io",
    "java.base/java.net",
    "java.base/java.nio",
    "java.base/java.text",
    "java.base/java.math",
    "java.base/java.util",
    "java.base/java.util.concurrent",
    "java.base/java.util.concurrent.atomic",
    "java.base/java.util.regex",
    "java.base/java.security",
    "java.base/javax.security.auth",
    "java.base/sun.nio.ch",
    "java.base/sun.nio.cs",
    "java.base/sun.net.dns",
    "java.base/sun.net.util",
    "java.base/sun.security.action",
    "java.base/sun.security.x509",
    "java.base/sun.util.calendar",
    "java.security.jgss/sun.security.krb5",
)


def java17_opens() -> str:
    return " ".join(f"--add-opens={m}=ALL-UNNAMED" for m in JAVA17_ADD_OPENS)


def hadoop_script(tool: str) -> str:
    cmds = HADOOP_COMMANDS[tool]
    return _render("hadoop/bin/hadoop-command.j2", tool=tool, commands=cmds,
                   width=max(len(c) for c in cmds))


# sbin/ scripts of the release that start and stop daemons (as systemd units here):
# name -> (action, daemons, what it does).
_DFS = ("namenode", "secondarynamenode", "datanode")
_YARN = ("resourcemanager", "nodemanager")
HADOOP_SBIN_UNITS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "start-dfs.sh": ("start", _DFS, "Starts the HDFS daemons of this host."),
    "stop-dfs.sh": ("stop", _DFS[::-1], "Stops the HDFS daemons of this host."),
    "start-yarn.sh": ("start", _YARN, "Starts the YARN daemons of this host."),
    "stop-yarn.sh": ("stop", _YARN[::-1], "Stops the YARN daemons of this host."),
    "start-all.sh": ("start", _DFS + _YARN + ("historyserver",),
                     "Starts the HDFS, YARN and JobHistory daemons of this host."),
    "stop-all.sh": ("stop", ("historyserver",) + _YARN[::-1] + _DFS[::-1],
                    "Stops the HDFS, YARN and JobHistory daemons of this host."),
}
# Single-daemon control scripts: name -> (tool whose --daemon replaces it, daemons).
HADOOP_SBIN_DAEMON: dict[str, tuple[str, tuple[str, ...]]] = {
    "hadoop-daemon.sh": ("hdfs", _DFS),
    "yarn-daemon.sh": ("yarn", _YARN),
    "mr-jobhistory-daemon.sh": ("mapred", ("historyserver",)),
}


def render_hadoop() -> dict[str, tuple[str, int]]:
    files = {f"bin/{tool}": (hadoop_script(tool), EXEC) for tool in HADOOP_COMMANDS}
    files["libexec/hadoop-config.sh"] = (
        _render("hadoop/libexec/hadoop-config.sh.j2", java17_opens=java17_opens()), EXEC)
    for name, (action, daemons, purpose) in HADOOP_SBIN_UNITS.items():
        files[f"sbin/{name}"] = (_render("hadoop/sbin/units.sh.j2", name=name, action=action,
                                         daemons=daemons, purpose=purpose), EXEC)
    for name, (tool, daemons) in HADOOP_SBIN_DAEMON.items():
        files[f"sbin/{name}"] = (_render("hadoop/sbin/daemon.sh.j2", name=name, tool=tool,
                                         daemons=daemons), EXEC)
    files.update(_static("hadoop", {
        "libexec/hadoop-units.sh": EXEC,
        "etc/hadoop/log4j.properties": DATA,
        # The ResourceManager refuses to start without a queue definition.
        "etc/hadoop/capacity-scheduler.xml": DATA,
    }))
    return files


# --------------------------------------------------------------------------- Spark

# Spark's own bin/ scripts find SPARK_HOME from their directory, which breaks when they
# are reached through a symlink in /usr/local/bin. These wrappers (linked instead) resolve
# their real location and set SPARK_HOME before running the upstream script.
SPARK_USER_COMMANDS = ("spark-submit", "spark-shell", "pyspark", "spark-class", "spark-sql")


def spark_wrapper(command: str) -> str:
    return _render("spark/streamstack-bin/spark-wrapper.sh.j2", command=command)


def render_spark(version: str, origin: str) -> dict[str, tuple[str, int]]:
    files = {"RELEASE": (_render("spark/RELEASE.j2", version=version, origin=origin), DATA)}
    files.update(_static("spark", {"conf/log4j2.properties": DATA}))
    for command in SPARK_USER_COMMANDS:
        files[f"streamstack-bin/{command}"] = (spark_wrapper(command), EXEC)
    return files


def render(product: str, *, version: str = "", origin: str = "") -> dict[str, tuple[str, int]]:
    """Generated files of a product tree: {relative path: (text, mode)}."""
    if product == "kafka":
        return render_kafka()
    if product == "zookeeper":
        return render_zookeeper()
    if product == "hadoop":
        return render_hadoop()
    if product == "spark":
        return render_spark(version, origin)
    return {}


def write_all(root: Path) -> list[Path]:
    """Every product's files below ``root/<product>``; returns the executable ones."""
    scripts = []
    for product in ("kafka", "zookeeper", "hadoop", "spark"):
        for rel, (text, mode) in render(product, version="0", origin="-").items():
            path = root / product / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(mode)
            if mode == EXEC:
                scripts.append(path)
    return scripts


# python -m streamstack.plugins.plugin_utils.launchers DIR: print the scripts
if __name__ == "__main__":
    for script in write_all(Path(sys.argv[1])):
        print(script)
