"""What streamstack installs: products, versions, Maven coordinates, archives.

This table is the single place where versions are pinned. ``artifacts`` (the package
beside this file) resolves it into tarballs, ``launchers`` renders the ``bin/`` scripts.

No repository URL or registry host appears here on purpose: Maven resolves through the
machine's own settings (``~/.m2/settings.xml``), pip through its own configuration, and
the Apache archive base is given by the user (``STREAMSTACK_ARCHIVE_MIRROR``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import release_layout


@dataclass(frozen=True)
class MavenDep:
    """One Maven dependency of a generated pom (``group:artifact:version``)."""

    coordinate: str
    exclusions: tuple[str, ...] = ()  # "group:artifact", "*" allowed as in Maven
    scope: str = "compile"

    @property
    def parts(self) -> tuple[str, str, str]:
        group, artifact, version = self.coordinate.split(":")[:3]
        return group, artifact, version

    @property
    def classifier(self) -> str | None:
        bits = self.coordinate.split(":")
        return bits[3] if len(bits) > 3 else None


@dataclass(frozen=True)
class MavenSet:
    """A set of dependencies resolved together (one generated pom) into ``dest``."""

    name: str
    dest: str  # directory inside the product tree, e.g. "libs"
    deps: tuple[MavenDep, ...]
    # Skip artifacts whose artifactId is already shipped by another input in ``dest``
    # (Spark: the Kafka connector's dependencies that the distribution already has).
    skip_shipped: bool = False
    # dependencyManagement pins: Maven picks the nearest version, Gradle (which built the
    # upstream release) the highest; these restore the versions upstream ships.
    managed: tuple[str, ...] = ()
    # A pom whose dependencyManagement is imported ("group:artifact:version"): the
    # versions the upstream build resolved with (Hadoop's hadoop-project).
    bom: str | None = None
    # Instead of copying the jars to ``dest``, unpack their entries below ``extract``
    # (a path prefix inside the jar) into ``dest``.
    extract: str | None = None
    # Release layout of one component (Hadoop's share/hadoop/<component>): the declared
    # artifacts go to ``dest``, the rest of their runtime closure to ``lib``.
    lib: str | None = None


@dataclass(frozen=True)
class PipSdist:
    """A source distribution from PyPI (the Spark distribution rides in pyspark)."""

    requirement: str  # "pyspark==3.5.0"
    filename: str  # "pyspark-3.5.0.tar.gz"
    sha256: str  # pinned: pip verifies with --require-hashes, we verify again


@dataclass(frozen=True)
class Archive:
    """An official Apache binary tarball (``--source archive``)."""

    filename: str
    path: str  # path below the mirror base, e.g. "kafka/3.6.1/kafka_2.13-3.6.1.tgz"
    sha512: str | None  # pinned official SHA-512; None = must be given by the user
    sha512_origin: str = ""


@dataclass(frozen=True)
class Product:
    name: str
    version: str
    home_env: str  # KAFKA_HOME, ...
    maven: tuple[MavenSet, ...] = ()
    pip: PipSdist | None = None
    archive: Archive | None = None
    # Archive layout: (glob inside the unpacked top dir, destination dir) for jars that
    # are flattened into the product tree.
    # dest None: the file keeps its path below the top dir.
    archive_jars: tuple[tuple[str, str | None], ...] = ()
    archive_exclude: tuple[str, ...] = ()  # fnmatch patterns (relative to the top dir)
    # Maven sets still needed with --source archive (the Spark Kafka connector).
    archive_maven: tuple[str, ...] = ()
    # Commands linked into /usr/local/bin on the hosts (relative to the product home).
    commands: tuple[str, ...] = field(default_factory=tuple)
    # Upstream's dist-layout-stitching: sets are staged in order and a jar whose name is
    # already anywhere below this directory is not copied again ("" = no such rule).
    stitch: str = ""

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.version}"

    @property
    def tarball(self) -> str:
        return f"{self.dirname}.tar"


KAFKA_VERSION = "3.6.1"
SCALA_BINARY = "2.13"
ZOOKEEPER_VERSION = "3.8.3"
HADOOP_VERSION = "3.3.6"
SPARK_VERSION = "3.5.0"
JMX_EXPORTER_VERSION = "1.0.1"

# Kafka 3.6.1 core excludes ZooKeeper's logging backend and log4j (it uses reload4j);
# see project(':core') in Kafka's build.gradle at tag 3.6.1.
_ZK_LOGGING = ("ch.qos.logback:logback-classic", "ch.qos.logback:logback-core",
               "org.slf4j:slf4j-log4j12", "log4j:log4j")

KAFKA = Product(
    name="kafka",
    version=KAFKA_VERSION,
    home_env="KAFKA_HOME",
    maven=(
        MavenSet(
            name="libs",
            dest="libs",
            deps=(
                MavenDep(f"org.apache.kafka:kafka_{SCALA_BINARY}:{KAFKA_VERSION}",
                         exclusions=_ZK_LOGGING),
                MavenDep(f"org.apache.kafka:kafka-tools:{KAFKA_VERSION}",
                         exclusions=_ZK_LOGGING),
                MavenDep(f"org.apache.kafka:kafka-storage:{KAFKA_VERSION}"),
                MavenDep(f"org.apache.kafka:kafka-metadata:{KAFKA_VERSION}"),
                MavenDep(f"org.apache.kafka:kafka-raft:{KAFKA_VERSION}"),
                MavenDep(f"org.apache.kafka:kafka-server-common:{KAFKA_VERSION}"),
                MavenDep(f"org.apache.kafka:kafka-group-coordinator:{KAFKA_VERSION}"),
                MavenDep(f"org.apache.kafka:kafka-tools-api:{KAFKA_VERSION}"),
                MavenDep(f"org.apache.kafka:kafka-clients:{KAFKA_VERSION}"),
                # Pinned by Kafka 3.6.1 (gradle/dependencies.gradle); ZooKeeperMain needs
                # commons-cli, declared "provided" by ZooKeeper.
                MavenDep(f"org.apache.zookeeper:zookeeper:{ZOOKEEPER_VERSION}",
                         exclusions=_ZK_LOGGING),
                MavenDep("commons-cli:commons-cli:1.4"),
                # The logging backend the release tarball ships (reload4j via slf4j).
                MavenDep("org.slf4j:slf4j-api:1.7.36"),
                MavenDep("org.slf4j:slf4j-reload4j:1.7.36"),
                MavenDep("ch.qos.reload4j:reload4j:1.2.25"),
            ),
            # Kafka 3.6.1 pins netty 4.1.100.Final; ZooKeeper 3.8.3's pom says 4.1.94.
            managed=tuple(f"io.netty:{a}:4.1.100.Final" for a in (
                "netty-buffer", "netty-codec", "netty-common", "netty-handler",
                "netty-resolver", "netty-transport", "netty-transport-classes-epoll",
                "netty-transport-native-epoll", "netty-transport-native-unix-common")),
        ),
    ),
    archive=Archive(
        filename=f"kafka_{SCALA_BINARY}-{KAFKA_VERSION}.tgz",
        path=f"kafka/{KAFKA_VERSION}/kafka_{SCALA_BINARY}-{KAFKA_VERSION}.tgz",
        sha512=None,
    ),
    archive_jars=(("libs/*.jar", "libs"),),
    commands=(
        "bin/kafka-topics.sh",
        "bin/kafka-console-producer.sh",
        "bin/kafka-console-consumer.sh",
        "bin/kafka-consumer-groups.sh",
        "bin/kafka-configs.sh",
        "bin/kafka-producer-perf-test.sh",
        "bin/kafka-consumer-perf-test.sh",
        "bin/kafka-storage.sh",
        "bin/kafka-metadata-quorum.sh",
        "bin/kafka-get-offsets.sh",
        "bin/kafka-log-dirs.sh",
        "bin/kafka-reassign-partitions.sh",
        "bin/kafka-leader-election.sh",
        "bin/kafka-broker-api-versions.sh",
        "bin/kafka-server-start.sh",
        "bin/kafka-server-stop.sh",
        "bin/kafka-run-class.sh",
        "bin/zookeeper-shell.sh",
    ),
)

ZOOKEEPER = Product(
    name="zookeeper",
    version=ZOOKEEPER_VERSION,
    home_env="ZOOKEEPER_HOME",
    maven=(
        MavenSet(
            name="lib",
            dest="lib",
            deps=(
                MavenDep(f"org.apache.zookeeper:zookeeper:{ZOOKEEPER_VERSION}"),
                # "provided" in ZooKeeper's pom but shipped in its binary tarball:
                # zkCli needs commons-cli and jline.
                MavenDep("commons-cli:commons-cli:1.5.0"),
                MavenDep("jline:jline:2.14.6"),
                # Also "provided" but needed by the server (metrics) or shipped for the
                # AdminServer / snapshot compression; versions from ZooKeeper's parent pom.
                MavenDep("io.dropwizard.metrics:metrics-core:4.1.12.1"),
                MavenDep("org.xerial.snappy:snappy-java:1.1.10.5"),
                MavenDep("org.eclipse.jetty:jetty-server:9.4.52.v20230823"),
                MavenDep("org.eclipse.jetty:jetty-servlet:9.4.52.v20230823"),
                MavenDep("org.eclipse.jetty:jetty-client:9.4.52.v20230823"),
                MavenDep("com.fasterxml.jackson.core:jackson-databind:2.15.2"),
            ),
        ),
    ),
    archive=Archive(
        filename=f"apache-zookeeper-{ZOOKEEPER_VERSION}-bin.tar.gz",
        path=f"zookeeper/zookeeper-{ZOOKEEPER_VERSION}/apache-zookeeper-{ZOOKEEPER_VERSION}-bin.tar.gz",
        sha512=None,
    ),
    archive_jars=(("lib/*.jar", "lib"),),
    commands=("bin/zkServer.sh", "bin/zkCli.sh"),
)

# Old log4j 1.2.17 and its slf4j binding, pulled by some YARN/MapReduce modules.
_HADOOP_LOGGING = ("org.slf4j:slf4j-log4j12", "log4j:log4j")


def _hadoop_sets() -> tuple[MavenSet, ...]:
    """One Maven set per release directory of plugins/plugin_utils/layouts/hadoop.yml, in its
    order (upstream's dist-layout-stitching order: common first, so it keeps every
    dependency it has). Declared modules go to the directory, the rest of their closure
    to its lib/ (share/hadoop/tools/lib holds both)."""
    layout = release_layout.load("hadoop", HADOOP_VERSION)
    sets = []
    for dest, modules in release_layout.module_jars(layout, HADOOP_VERSION).items():
        jars_only = dest in layout.jars_only
        deps = []
        for module in modules:
            artifact, _unused, classifier = module.partition(":")
            coordinate = f"org.apache.hadoop:{artifact}:{HADOOP_VERSION}"
            if classifier:  # a -tests jar: its module's closure comes with the main jar
                deps.append(MavenDep(f"{coordinate}:{classifier}", exclusions=("*:*",)))
            else:
                deps.append(MavenDep(coordinate,
                                     exclusions=("*:*",) if jars_only else _HADOOP_LOGGING))
        lib = dest if dest.endswith("/lib") else f"{dest}/lib"
        name = dest.removeprefix("share/hadoop/").replace("/", "-")
        # With hadoop-project's managed versions, as upstream's build: without them Maven
        # picks the nearest ones (old commons-compress, snappy-java and xz would land in
        # share/hadoop/mapreduce/lib, and reload4j would be missing).
        sets.append(MavenSet(name=name, dest=dest, deps=tuple(deps), lib=lib,
                             bom=f"org.apache.hadoop:hadoop-project:{HADOOP_VERSION}"))
    return tuple(sets)


HADOOP = Product(
    name="hadoop",
    version=HADOOP_VERSION,
    home_env="HADOOP_HOME",
    maven=_hadoop_sets() + (
        # The HDFS web UIs (webapps/hdfs, datanode, secondary, journal, static) are not in
        # the hadoop-hdfs jar; the release has them in share/hadoop/hdfs/webapps. The
        # same files are in the hadoop-hdfs "tests" jar: unpack only webapps/ from it.
        MavenSet(
            name="hdfs-webapps",
            dest="share/hadoop/hdfs/webapps",
            deps=(MavenDep(f"org.apache.hadoop:hadoop-hdfs:{HADOOP_VERSION}:tests",
                           exclusions=("*:*",)),),
            extract="webapps/",
        ),
    ),
    archive=Archive(
        filename=f"hadoop-{HADOOP_VERSION}.tar.gz",
        path=f"hadoop/common/hadoop-{HADOOP_VERSION}/hadoop-{HADOOP_VERSION}.tar.gz",
        sha512=None,
    ),
    # The release's share/ tree as it is (dest None keeps each path), less its sources,
    # API diffs and documentation.
    archive_jars=(("share/hadoop/**", None),),
    archive_exclude=("*/sources/*", "*/jdiff/*", "share/doc/*"),
    commands=("bin/hadoop", "bin/hdfs", "bin/yarn", "bin/mapred"),
    stitch="share/hadoop",
)

SPARK = Product(
    name="spark",
    version=SPARK_VERSION,
    home_env="SPARK_HOME",
    maven=(
        MavenSet(
            name="kafka-connector",
            dest="jars",
            deps=(MavenDep(f"org.apache.spark:spark-sql-kafka-0-10_2.12:{SPARK_VERSION}"),),
            skip_shipped=True,
        ),
    ),
    pip=PipSdist(
        requirement=f"pyspark=={SPARK_VERSION}",
        filename=f"pyspark-{SPARK_VERSION}.tar.gz",
        sha256="d41a9b76bd2aca370a6100d075c029e22ba44c5940927877e9435a3a9c566558",
    ),
    archive=Archive(
        filename=f"spark-{SPARK_VERSION}-bin-hadoop3.tgz",
        path=f"spark/spark-{SPARK_VERSION}/spark-{SPARK_VERSION}-bin-hadoop3.tgz",
        sha512=("8883c67e0a138069e597f3e7d4edbbd5c3a565d50b28644aad02856a1ec1da7c"
                "b92b8f80454ca427118f69459ea326eaa073cf7b1a860c3b796f4b07c2101319"),
        sha512_origin="quoted as the official spark-3.5.0-bin-hadoop3.tgz.sha512 in a public "
                      "Nix shell file (qbeast); not verifiable from here",
    ),
    archive_jars=(("jars/*.jar", "jars"),),
    archive_maven=("kafka-connector",),
    # wrappers that set SPARK_HOME (see launchers.spark_wrapper)
    commands=("streamstack-bin/spark-submit", "streamstack-bin/spark-shell",
              "streamstack-bin/pyspark", "streamstack-bin/spark-class",
              "streamstack-bin/spark-sql"),
)

# The Prometheus JMX Java agent every JVM of the lab loads (one shaded jar, no deps).
JMX_EXPORTER = Product(
    name="jmx_exporter",
    version=JMX_EXPORTER_VERSION,
    home_env="JMX_EXPORTER_HOME",
    maven=(
        MavenSet(
            name="javaagent",
            dest=".",
            deps=(MavenDep("io.prometheus.jmx:jmx_prometheus_javaagent:"
                           f"{JMX_EXPORTER_VERSION}", exclusions=("*:*",)),),
        ),
    ),
)

PRODUCTS: dict[str, Product] = {p.name: p for p in (ZOOKEEPER, KAFKA, HADOOP, SPARK,
                                                    JMX_EXPORTER)}
