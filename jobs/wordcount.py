"""Kafka word count: the lab handout's SparkKafkaWordCount, in PySpark.

    spark-submit wordcount.py <bootstrap-servers> <topics> <group-id> [options] >> out

Reads the record values of the (comma-separated) topics as strings, splits them on
whitespace, keeps running counts per word and prints the whole result table to the
console after every micro-batch (``complete`` output mode), as the handout's Java class
does. Options:

  --output-topic T    also write the counts to Kafka topic T (key = word, value = count,
                      sent when it changes; the newest record of a key is the current
                      count). Needs --checkpoint.
  --trigger SECONDS   micro-batch interval (default: as fast as possible, like the handout)
  --checkpoint PATH   checkpoint directory (HDFS by default), so counts survive restarts
                      (without it: a directory of this run's own under /tmp on HDFS,
                      deleted when the driver exits cleanly, else by a run a day later;
                      counts start again each run)
  --starting-offsets  earliest|latest (default latest, as the handout)

The pure-Python parts (argument parsing, word splitting) import without pyspark so
they are unit tested on the controller; pyspark is imported in main() only.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

APP_NAME = "SparkKafkaWordCount"
# Java's \s (what String.split and Spark's split() use): space, \t, \n, \x0B, \f, \r.
# The same pattern drives the Spark expression and the Python function below.
WHITESPACE_PATTERN = r"[ \t\n\x0B\f\r]+"
_WHITESPACE = re.compile(WHITESPACE_PATTERN)


def split_words(line: str | None) -> list[str]:
    """Words of one record value: split on whitespace, empty strings dropped."""
    if line is None:
        return []
    return [word for word in _WHITESPACE.split(line) if word]


def count_words(lines) -> dict[str, int]:
    """What the streaming query computes, for a finite list of values (tests, bench)."""
    counts: dict[str, int] = {}
    for line in lines:
        for word in split_words(line):
            counts[word] = counts.get(word, 0) + 1
    return counts


def console_order(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The console table's order: highest count first, then the word."""
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def changed_counts(rows: list[tuple[str, int]], sent: dict[str, int]) -> list[tuple[str, int]]:
    """The (word, count) rows whose count differs from the one `sent` holds: the results
    topic gets each new count once, not the whole table every batch."""
    return [(word, count) for word, count in rows if sent.get(word) != count]


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


def app_name(submitted: str | None) -> str:
    """spark-submit's --name wins (the jobs role names apps after their unit); without
    it spark-submit passes the file name, and the app is called APP_NAME."""
    if not submitted or submitted.endswith(".py"):
        return APP_NAME
    return submitted


def read_kafka_properties(path: str | None) -> dict[str, str]:
    """Kafka client settings from a Java properties file (the secure profile's SASL_SSL
    credentials and CA, readable by the job's user only), so that no secret is on the
    command line. Keys as Kafka names them; Java escapes (\\n) are decoded."""
    if not path:
        return {}
    out: dict[str, str] = {}
    logical = ""
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n").lstrip()
            if not logical and (not line or line[0] in "#!"):
                continue
            if line.endswith("\\") and not line.endswith("\\\\"):
                logical += line[:-1]
                continue
            logical += line
            key, _, value = logical.partition("=")
            out[key.strip()] = (value.strip().replace("\\n", "\n").replace("\\t", "\t")
                                .replace("\\\\", "\\"))
            logical = ""
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wordcount.py",
        description="Running word count of Kafka record values (handout SparkKafkaWordCount).",
    )
    parser.add_argument("bootstrap_servers", help="Kafka bootstrap servers, host:port,...")
    parser.add_argument("topics", help="topics to subscribe to, comma-separated")
    parser.add_argument("group_id", help="Kafka consumer group id (kafka.group.id)")
    parser.add_argument("--output-topic", help="also write the counts to this Kafka topic")
    parser.add_argument("--trigger", type=_positive_float, metavar="SECONDS",
                        help="micro-batch interval in seconds (default: continuous batches)")
    parser.add_argument("--checkpoint", help="checkpoint location (required with --output-topic)")
    parser.add_argument("--starting-offsets", default="latest",
                        help="earliest, latest or a JSON offsets spec (default latest)")
    parser.add_argument("--shuffle-partitions", type=int, default=1,
                        help="state partitions; fixed at the first run of a checkpoint "
                             "(Spark's 200 is far too many for a lab; each one writes a "
                             "state file to HDFS per batch)")
    parser.add_argument("--kafka-properties", metavar="FILE",
                        help="Kafka client settings (security.protocol, sasl.*, ssl.*) for every "
                             "Kafka client of the job: the secure profile's credentials")
    parser.add_argument("--console-rows", type=int, default=20,
                        help="rows shown per batch on the console (console sink default 20)")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.kafka_options = read_kafka_properties(args.kafka_properties)
    args.topic_list = [t.strip() for t in args.topics.split(",") if t.strip()]
    if not args.topic_list:
        parser.error("no topic given")
    if args.output_topic and not args.checkpoint:
        parser.error("--output-topic needs --checkpoint (the Kafka sink must be checkpointed)")
    if args.output_topic and args.output_topic in args.topic_list:
        parser.error("--output-topic must not be one of the input topics")
    return args


def build_counts(spark, args):
    """The streaming DataFrame of running counts: columns word, count."""
    from pyspark.sql import functions as F

    lines = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap_servers)
        .option("subscribe", ",".join(args.topic_list))
        .option("kafka.group.id", args.group_id)
        .option("startingOffsets", args.starting_offsets)
        .option("failOnDataLoss", "false")
        # A cached consumer may still have a fetch waiting on the broker for new data
        # (500 ms by default) when the next batch asks for records: cap that wait.
        .option("kafka.fetch.max.wait.ms", "50")
        .options(**kafka_source_options(args))
        .load()
        .selectExpr("CAST(value AS STRING) AS value")
    )
    words = lines.select(F.explode(F.split(F.col("value"), WHITESPACE_PATTERN)).alias("word"))
    return words.where(F.col("word") != "").groupBy("word").count()


def kafka_source_options(args) -> dict[str, str]:
    """The --kafka-properties settings as options of Spark's Kafka source and sink."""
    return {f"kafka.{key}": value for key, value in args.kafka_options.items()}


def list_topics(spark, bootstrap_servers: str, kafka_options: dict | None = None) -> set[str]:
    """Topic names through the Kafka AdminClient already on the driver's classpath."""
    jvm = spark.sparkContext._jvm
    props = jvm.java.util.Properties()
    for key, value in (kafka_options or {}).items():
        props.put(key, value)
    props.put("bootstrap.servers", bootstrap_servers)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    try:
        names = admin.listTopics().names().get(60, jvm.java.util.concurrent.TimeUnit.SECONDS)
        return {str(name) for name in names}
    finally:
        admin.close()


def wait_for_topics(spark, bootstrap_servers: str, topics: list[str], every: float = 10.0,
                    kafka_options: dict | None = None):
    """Spark fails a query whose topic does not exist yet; wait instead (Hello-Kafka is
    created by its first producer, as in the handout), saying so on stderr."""
    while True:
        missing = sorted(set(topics) - list_topics(spark, bootstrap_servers, kafka_options))
        if not missing:
            return
        print(f"waiting for topic(s) {', '.join(missing)} to exist", file=sys.stderr,
              flush=True)
        time.sleep(every)


def _print_console_batch(batch_df, batch_id: int, rows: int) -> None:
    """The console sink's output format, for the foreachBatch path."""
    print("-------------------------------------------")
    print(f"Batch: {batch_id}")
    print("-------------------------------------------")
    batch_df.show(rows, truncate=True)
    sys.stdout.flush()


def console_table(spark, rows: list[tuple[str, int]], shown: int):
    """The console's table as a DataFrame over a local relation of its first shown + 1
    rows (the +1 makes show() say "only showing top N rows"): show() on it runs no
    Spark job. (createDataFrame of a Python list would, through an RDD.)"""
    from pyspark.sql import DataFrame

    jvm, gateway = spark.sparkContext._jvm, spark.sparkContext._gateway
    java_rows = jvm.java.util.ArrayList()
    for word, count in console_order(rows)[:shown + 1]:
        values = gateway.new_array(jvm.java.lang.Object, 2)
        # show() prints every cell as a string; py4j would turn a long into an int.
        values[0], values[1] = word, str(count)
        java_rows.add(jvm.org.apache.spark.sql.RowFactory.create(values))
    schema = jvm.org.apache.spark.sql.types.StructType.fromDDL("word STRING, count STRING")
    return DataFrame(spark._jsparkSession.createDataFrame(java_rows, schema), spark)


def kafka_producer(spark, args):
    """A Kafka producer in the driver's JVM (kafka-clients is on its classpath), with the
    job's Kafka settings."""
    jvm = spark.sparkContext._jvm
    props = jvm.java.util.Properties()
    for key, value in args.kafka_options.items():
        props.put(key, value)
    props.put("bootstrap.servers", args.bootstrap_servers)
    serializer = "org.apache.kafka.common.serialization.StringSerializer"
    props.put("key.serializer", serializer)
    props.put("value.serializer", serializer)
    return jvm.org.apache.kafka.clients.producer.KafkaProducer(props)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    SparkContext._ensure_initialized()  # so SparkConf() sees spark-submit's settings
    spark = (
        SparkSession.builder.appName(app_name(SparkConf().get("spark.app.name", None)))
        .config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    wait_for_topics(spark, args.bootstrap_servers, args.topic_list,
                    kafka_options=args.kafka_options)
    counts = build_counts(spark, args)
    writer = counts.writeStream.outputMode("complete").queryName("wordcount")
    if args.trigger:
        writer = writer.trigger(processingTime=f"{args.trigger} seconds")
    writer = writer.option("checkpointLocation", args.checkpoint or scratch_checkpoint(spark))

    if args.output_topic:
        # One query, two outputs: the results topic, then the console (as the handout).
        # One Spark job per batch: its rows (the whole table) come to the driver, which
        # sends the changed counts and prints the table from them. The Kafka write is
        # at-least-once; every record carries the full current count, so a replayed
        # batch only repeats values the topic already holds.
        producer = kafka_producer(spark, args)
        record = spark.sparkContext._jvm.org.apache.kafka.clients.producer.ProducerRecord
        sent: dict[str, int] = {}
        # The console table is printed by one thread of its own, in batch order, so the
        # next batch does not wait for it.
        console = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console")

        def print_table(rows, batch_id):
            try:
                _print_console_batch(console_table(spark, rows, args.console_rows), batch_id,
                                     args.console_rows)
            except Exception as exc:  # noqa: BLE001 (the console must not stop the counts)
                print(f"console table of batch {batch_id} not printed: {exc}",
                      file=sys.stderr, flush=True)

        def write_batch(batch_df, batch_id):
            rows = [(row["word"], row["count"]) for row in batch_df.collect()]
            changed = changed_counts(rows, sent)
            pending = [producer.send(record(args.output_topic, word, str(count)))
                       for word, count in changed]
            for future in pending:
                future.get()  # a failed send fails the batch, which is then re-run
            sent.update(changed)
            console.submit(print_table, rows, batch_id)

        query = writer.foreachBatch(write_batch).start()
    else:
        query = (
            writer.format("console")
            .option("numRows", str(args.console_rows))
            .start()
        )
    return wait_for(query, spark)


SCRATCH_PREFIX = "/tmp/wordcount-"
SCRATCH_KEPT_SECONDS = 24 * 3600


def scratch_checkpoint(spark) -> str:
    """A checkpoint for this run only, on the cluster's file system. Spark's own fallback
    is a directory on the driver's local disk: the executors' state stores then write to
    their own hosts' disks, and fail where an executor shares the driver's host (that
    directory is the submitting user's, mode 700). Deleted when the JVM exits cleanly;
    a run stopped by a signal leaves it, so the same user's older than a day go first."""
    jvm = spark.sparkContext._jvm
    fs_path = jvm.org.apache.hadoop.fs.Path
    file_system = fs_path("/").getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    user = spark.sparkContext.sparkUser()
    cutoff = (time.time() - SCRATCH_KEPT_SECONDS) * 1000
    for status in file_system.globStatus(fs_path(f"{SCRATCH_PREFIX}*")) or []:
        if status.getOwner() == user and status.getModificationTime() < cutoff:
            file_system.delete(status.getPath(), True)
    path = fs_path(f"{SCRATCH_PREFIX}{uuid.uuid4().hex}")
    file_system.deleteOnExit(path)
    return str(file_system.makeQualified(path))


def wait_for(query, spark, every: float = 5.0) -> int:
    """Until the query ends (its failure raises). An idle query outlives its
    SparkContext (stopped when the YARN application ends, e.g. after its ApplicationMaster
    failed twice): then exit 1, so that the unit starts the job again."""
    while not query.awaitTermination(every):
        if spark.sparkContext._jsc.sc().isStopped():
            print("the SparkContext stopped (its YARN application ended): exiting so that "
                  "the job starts again", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
