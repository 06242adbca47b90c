"""Kafka to HDFS, exactly once: the lab handout's homework.

    spark-submit kafka_to_hdfs.py --bootstrap-servers B (--topics a,b | --pattern 're')
        [--output /data] [--checkpoint /checkpoints/kafka-to-hdfs] [--format parquet|json]
        [--starting-offsets earliest] [--max-offsets-per-trigger N] [--trigger SECONDS]

Every record is written with key, value, topic, partition, offset and timestamp under
``<output>/<topic>/date=YYYY-MM-DD/`` (date of the Kafka timestamp, UTC).

Exactly once, one Kafka read. Each topic gets one streaming query (checkpoint
``<checkpoint>/<topic>``) whose micro-batches go through foreachBatch to two instances of
Spark's own file sink (FileStreamSink), one at ``<output>/<topic>`` and one at
``<output>/_deadletter/<topic>``. Each records the files of every committed batch in
its ``_spark_metadata`` log and skips a batch id it already holds; a restarted query
re-runs an unfinished batch with the same offsets (from the checkpoint's offset log).
So a kill -9 at any moment leaves each record once in the data as read through that log,
i.e. by any Spark batch read of ``<output>/<topic>`` (files a killed batch left behind
are not in the log and are ignored). The data write reads Kafka once and counts the
invalid records on the way; the dead-letter write reads the batch again only when it
holds invalid records (or after a crash), and otherwise commits an empty batch, which
reads nothing. Two file-sink queries (data and dead letters) read every record twice:
that was the design before; a checkpoint it left (``<checkpoint>/_deadletter/<topic>``)
keeps it for that topic, since the two logs' batch ids need not match.
Why not one query with partitionBy("topic", "date") under /data: that gives
/data/topic=<t>/..., not the /data/<t>/ layout asked for.

Invalid records never crash the job. A record is invalid when its value is null or its
value or key is not valid UTF-8 (the text columns are decoded from the raw bytes).
Invalid records go raw (binary key and value, plus the reason) to
``<output>/_deadletter/<topic>/date=...``, exactly once as well. Each batch's counts
(records, valid, invalid) are logged by the driver as one JSON line per batch.

With --pattern, the topics matching the regular expression (Java/Kafka full match,
internal topics excluded) are resolved at start and every --topic-refresh seconds;
a query is started for each new topic.

Pure-Python parts (arguments, paths, the validity rule) import without pyspark.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime

APP_NAME = "KafkaToHdfs"
DEADLETTER_DIR = "_deadletter"
FORMATS = ("parquet", "json")
# Reasons a record goes to the dead-letter path, in the order they are checked.
REASON_NULL_VALUE = "null_value"
REASON_VALUE_NOT_UTF8 = "value_not_utf8"
REASON_KEY_NOT_UTF8 = "key_not_utf8"


# ---------------------------------------------------------------- pure Python helpers

def is_utf8(data: bytes | None) -> bool:
    if data is None:
        return True
    try:
        bytes(data).decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def classify(key: bytes | None, value: bytes | None) -> str | None:
    """None when the record is valid, else the dead-letter reason.

    Mirrors invalid_reason_column() (the Spark expression the job runs).
    """
    if value is None:
        return REASON_NULL_VALUE
    if not is_utf8(value):
        return REASON_VALUE_NOT_UTF8
    if not is_utf8(key):
        return REASON_KEY_NOT_UTF8
    return None


def record_date(timestamp_ms: int) -> str:
    """The date partition of a record: its Kafka timestamp's UTC date."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def data_path(output: str, topic: str) -> str:
    return f"{output.rstrip('/')}/{topic}"


def deadletter_path(output: str, topic: str) -> str:
    return f"{output.rstrip('/')}/{DEADLETTER_DIR}/{topic}"


def checkpoint_path(checkpoint: str, topic: str, deadletter: bool = False) -> str:
    base = checkpoint.rstrip("/")
    return f"{base}/{DEADLETTER_DIR}/{topic}" if deadletter else f"{base}/{topic}"


def select_topics(available, pattern: str) -> list[str]:
    """Topics a --pattern subscription covers: full match, internal topics excluded."""
    regex = re.compile(pattern)
    return sorted(
        t for t in available
        if not t.startswith("__") and t != DEADLETTER_DIR and regex.fullmatch(t)
    )


def batch_log_line(topic: str, progress: dict, totals: dict,
                   counts: dict | None = None) -> str | None:
    """One JSON line per micro-batch that read data; None for an empty batch.

    `counts` are the ones the batch's writer observed; without them, the query's
    observed metrics "ingest" (the two-query layout) or only its input rows."""
    metrics = counts or (progress.get("observedMetrics") or {}).get("ingest") or {}
    rows = int(metrics.get("records") or progress.get("numInputRows") or 0)
    if rows <= 0:
        return None
    valid = int(metrics.get("valid") or 0)
    invalid = int(metrics.get("invalid") or 0)
    for name, count in (("records", rows), ("valid", valid), ("invalid", invalid)):
        totals[name] = totals.get(name, 0) + count
    return json.dumps({
        "event": "batch", "topic": topic, "batch": progress.get("batchId"),
        "records": rows, "valid": valid, "invalid": invalid,
        "records_per_second": progress.get("processedRowsPerSecond"),
        "duration_ms": (progress.get("durationMs") or {}).get("triggerExecution"),
        "started": progress.get("timestamp"),
        "totals": dict(totals),
    }, sort_keys=True)


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
        prog="kafka_to_hdfs.py",
        description="Kafka topics to HDFS files, exactly once, one directory per topic.",
    )
    parser.add_argument("--bootstrap-servers", required=True, help="host:port,...")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--topics", help="comma-separated topic list")
    source.add_argument("--pattern", help="regular expression of topics (full match)")
    parser.add_argument("--output", default="/data", help="root directory (default /data)")
    parser.add_argument("--checkpoint", default="/checkpoints/kafka-to-hdfs",
                        help="checkpoint root; one sub-directory per topic")
    parser.add_argument("--format", choices=FORMATS, default="parquet",
                        help="parquet (default) or json (JSON lines)")
    parser.add_argument("--starting-offsets", default="earliest",
                        help="earliest (default: nothing produced before the first start "
                             "is missed), latest, or a JSON offsets spec")
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None,
                        help="cap on records per micro-batch (default: no cap)")
    parser.add_argument("--trigger", type=float, default=5.0, metavar="SECONDS",
                        help="micro-batch interval (default 5; 0: the next batch as soon as "
                             "one ends)")
    parser.add_argument("--available-now", action="store_true",
                        help="copy what the topics hold now, then stop (Trigger.AvailableNow: "
                             "one batch unless --max-offsets-per-trigger caps it)")
    parser.add_argument("--topic-refresh", type=float, default=60.0, metavar="SECONDS",
                        help="with --pattern: how often new topics are looked for")
    parser.add_argument("--group-id", default=None, help="kafka.group.id (optional)")
    parser.add_argument("--kafka-properties", metavar="FILE",
                        help="Kafka client settings (security.protocol, sasl.*, ssl.*) for every "
                             "Kafka client of the job: the secure profile's credentials")
    parser.add_argument("--run-seconds", type=float, default=None,
                        help="stop after this long (tests, benchmarks); default: forever")
    parser.add_argument("--stop-after-records", type=int, default=None,
                        help="stop once this many records were copied (benchmarks)")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.kafka_options = read_kafka_properties(args.kafka_properties)
    if args.topics is not None:
        args.topic_list = [t.strip() for t in args.topics.split(",") if t.strip()]
        if not args.topic_list:
            parser.error("--topics is empty")
    else:
        args.topic_list = []
        try:
            re.compile(args.pattern)
        except re.error as exc:
            parser.error(f"--pattern is not a valid regular expression: {exc}")
    if args.max_offsets_per_trigger is not None and args.max_offsets_per_trigger <= 0:
        parser.error("--max-offsets-per-trigger must be > 0")
    if args.trigger < 0:
        parser.error("--trigger must be >= 0")
    return args


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}, sort_keys=True), flush=True)


# ---------------------------------------------------------------------- Spark side

def invalid_reason_column():
    """Spark expression equal to classify(key, value): null when valid, else the reason.

    Decoding then re-encoding gives back the same bytes only for valid UTF-8 (Java's
    decoder replaces malformed input with U+FFFD), so the test needs no Python UDF.
    """
    from pyspark.sql import functions as F

    def not_utf8(col):
        return F.col(col).isNotNull() & (F.encode(F.decode(F.col(col), "UTF-8"), "UTF-8")
                                         != F.col(col))

    return (
        F.when(F.col("value").isNull(), F.lit(REASON_NULL_VALUE))
        .when(not_utf8("value"), F.lit(REASON_VALUE_NOT_UTF8))
        .when(not_utf8("key"), F.lit(REASON_KEY_NOT_UTF8))
        .otherwise(F.lit(None).cast("string"))
    )


def source_for(spark, args, topic: str):
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", args.starting_offsets)
        # A record deleted by retention before it was copied cannot be copied; say so
        # in the log rather than stopping the job for good.
        .option("failOnDataLoss", "false")
    )
    if args.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
    if args.group_id:
        reader = reader.option("kafka.group.id", args.group_id)
    reader = reader.options(**{f"kafka.{k}": v for k, v in args.kafka_options.items()})
    return classified(reader.load())


def classified(records):
    """Kafka's columns plus invalid_reason and the date partition."""
    from pyspark.sql import functions as F

    return (records.withColumn("invalid_reason", invalid_reason_column())
            .withColumn("date", F.date_format(F.col("timestamp"), "yyyy-MM-dd")))


def ingest_counts():
    """The observed counts of a batch: records, valid, invalid (0, not null, when empty)."""
    from pyspark.sql import functions as F

    is_valid = F.col("invalid_reason").isNull()
    return (
        F.count(F.lit(1)).alias("records"),
        F.coalesce(F.sum(F.when(is_valid, 1).otherwise(0)), F.lit(0)).alias("valid"),
        F.coalesce(F.sum(F.when(~is_valid, 1).otherwise(0)), F.lit(0)).alias("invalid"),
    )


def valid_rows(records):
    from pyspark.sql import functions as F

    return records.where(F.col("invalid_reason").isNull()).select(
        F.col("key").cast("string").alias("key"),
        F.col("value").cast("string").alias("value"),
        "topic", "partition", "offset", "timestamp", "date",
    )


def invalid_rows(records):
    from pyspark.sql import functions as F

    return records.where(F.col("invalid_reason").isNotNull()).select(
        "key", "value", "topic", "partition", "offset", "timestamp",
        F.col("invalid_reason").alias("reason"), "date",
    )


def trigger_of(args) -> dict:
    return ({"availableNow": True} if args.available_now
            else {"processingTime": f"{args.trigger} seconds"})


def file_sink(spark, path: str, fmt: str):
    """Spark's own file sink (what writeStream.format(fmt) builds), partitioned by date."""
    jvm = spark.sparkContext._jvm
    datasources = jvm.org.apache.spark.sql.execution.datasources
    file_format = (datasources.parquet.ParquetFileFormat() if fmt == "parquet"
                   else datasources.json.JsonFileFormat())
    utils = jvm.org.apache.spark.api.python.PythonUtils
    return jvm.org.apache.spark.sql.execution.streaming.FileStreamSink(
        spark._jsparkSession, path, file_format, utils.toSeq(["date"]), utils.toScalaMap({}))


def sink_log(spark, path: str):
    """The file sink log of `path` (its _spark_metadata): what FileStreamSink writes."""
    jvm = spark.sparkContext._jvm
    streaming = jvm.org.apache.spark.sql.execution.streaming
    return streaming.FileStreamSinkLog(streaming.FileStreamSinkLog.VERSION(),
                                       spark._jsparkSession, f"{path}/_spark_metadata",
                                       jvm.scala.Option.empty())


def latest_committed(log) -> int:
    """The newest batch id in a file sink log; -1 before the first."""
    latest = log.getLatestBatchId()
    return int(latest.get()) if latest.isDefined() else -1


def observed(dataframe, name: str) -> dict | None:
    """The metrics `name` of a DataFrame's last execution, as a dict (None if it did not run)."""
    found = dataframe._jdf.queryExecution().observedMetrics().get(name)
    if found.isEmpty():
        return None
    row = found.get()
    return {field: int(row.getLong(i)) for i, field in enumerate(("records", "valid", "invalid"))}


def path_exists(spark, path: str) -> bool:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(
        hadoop_path)


class TopicWriter:
    """foreachBatch of one topic: each micro-batch to the data and dead-letter file sinks.

    `counts` receives {batch id: records, valid, invalid} of each batch written."""

    def __init__(self, spark, args, topic: str, counts: dict):
        self.counts = counts
        data_dir = data_path(args.output, topic)
        self.data_sink = file_sink(spark, data_dir, args.format)
        self.data_log = sink_log(spark, data_dir)
        dead_dir = deadletter_path(args.output, topic)
        self.dead_sink = file_sink(spark, dead_dir, args.format)
        self.dead_log = sink_log(spark, dead_dir)
        jvm = spark.sparkContext._jvm
        self.no_files = spark.sparkContext._gateway.new_array(
            jvm.org.apache.spark.sql.execution.streaming.SinkFileStatus, 0)

    def __call__(self, batch, batch_id: int) -> None:
        if batch_id <= latest_committed(self.data_log):
            # A batch re-run after a crash: its data is committed, maybe not its dead letters.
            self.dead_sink.addBatch(batch_id, invalid_rows(batch)._jdf)
            return
        valid = valid_rows(batch.observe("ingest", *ingest_counts()))
        self.data_sink.addBatch(batch_id, valid._jdf)
        counts = observed(valid, "ingest")
        if counts is None or counts["invalid"]:
            self.dead_sink.addBatch(batch_id, invalid_rows(batch)._jdf)
        else:
            # No dead letter: the batch's empty entry goes straight into the sink's log
            # (its compaction needs every batch id), without a Spark job for no rows.
            self.dead_log.add(batch_id, self.no_files)
        if counts is not None:
            self.counts[batch_id] = counts


def start_topic(spark, args, topic: str, batch_counts: dict) -> tuple:
    """The queries of one topic: one (data and dead letters from one read), or the two of
    the earlier layout when its dead-letter checkpoint exists."""
    if path_exists(spark, checkpoint_path(args.checkpoint, topic, deadletter=True)):
        return start_topic_two_queries(spark, args, topic)
    query = (
        source_for(spark, args, topic).writeStream
        .queryName(topic)
        .foreachBatch(TopicWriter(spark, args, topic, batch_counts))
        .option("checkpointLocation", checkpoint_path(args.checkpoint, topic))
        .trigger(**trigger_of(args))
        .start()
    )
    log("started", topic=topic, path=data_path(args.output, topic),
        deadletter=deadletter_path(args.output, topic), format=args.format)
    return (query,)


def start_topic_two_queries(spark, args, topic: str) -> tuple:
    """The earlier layout: a data query and a dead-letter query, each a file sink."""
    records = source_for(spark, args, topic)
    valid = valid_rows(records.observe("ingest", *ingest_counts()))
    queries = []
    for rows, name, path, deadletter in (
            (valid, topic, data_path(args.output, topic), False),
            (invalid_rows(records), f"{DEADLETTER_DIR}/{topic}",
             deadletter_path(args.output, topic), True)):
        queries.append(
            rows.writeStream.format(args.format)
            .queryName(name)
            .option("path", path)
            .option("checkpointLocation", checkpoint_path(args.checkpoint, topic, deadletter))
            .partitionBy("date")
            .outputMode("append")
            .trigger(**trigger_of(args))
            .start()
        )
    log("started", topic=topic, path=data_path(args.output, topic),
        deadletter=deadletter_path(args.output, topic), format=args.format,
        layout="two queries (earlier checkpoint)")
    return tuple(queries)


def list_topics(spark, bootstrap_servers: str, kafka_options: dict | None = None) -> list[str]:
    """Topic names through the Kafka AdminClient already on the driver's classpath."""
    jvm = spark.sparkContext._jvm
    props = jvm.java.util.Properties()
    for key, value in (kafka_options or {}).items():
        props.put(key, value)
    props.put("bootstrap.servers", bootstrap_servers)
    admin = jvm.org.apache.kafka.clients.admin.AdminClient.create(props)
    try:
        names = admin.listTopics().names().get(60, jvm.java.util.concurrent.TimeUnit.SECONDS)
        return sorted(str(name) for name in names)
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    SparkContext._ensure_initialized()  # so SparkConf() sees spark-submit's settings
    spark = (
        SparkSession.builder.appName(app_name(SparkConf().get("spark.app.name", None)))
        # Dates of the partition directories are UTC whatever the host's zone.
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    queries: dict[str, tuple] = {}
    batch_counts: dict[str, dict[int, dict]] = {}
    totals: dict[str, dict] = {}
    last_batch: dict[str, int] = {}
    started = time.monotonic()
    next_refresh = 0.0

    while True:
        if spark.sparkContext._jsc.sc().isStopped():
            # An idle query outlives its SparkContext (stopped when the YARN application
            # ends): exit 1, so that the unit starts the job again.
            log("failed", error="the SparkContext stopped (its YARN application ended)")
            return 1
        now = time.monotonic()
        if now >= next_refresh:
            available = list_topics(spark, args.bootstrap_servers, args.kafka_options)
            if args.topic_list:
                # Spark fails a query on a topic that does not exist yet: wait for it.
                topics = [t for t in args.topic_list if t in available]
                missing = sorted(set(args.topic_list) - set(available))
                if missing:
                    log("waiting", topics=missing)
            else:
                topics, missing = select_topics(available, args.pattern), []
            for topic in topics:
                if topic not in queries:
                    queries[topic] = start_topic(spark, args, topic,
                                                 batch_counts.setdefault(topic, {}))
            refresh = args.topic_refresh if args.pattern else float("inf")
            next_refresh = now + (min(refresh, 10.0) if missing else refresh)
        # Before reading the progress, so that the last batches are logged.
        finished = bool(args.available_now and queries and not any(
            q.isActive for topic_queries in queries.values() for q in topic_queries))
        for topic, topic_queries in queries.items():
            for query in topic_queries:
                if query.exception() is not None:
                    log("failed", topic=topic, query=query.name, error=str(query.exception()))
                    spark.stop()
                    return 1
            # The first query is the data's (or the only one).
            for progress in topic_queries[0].recentProgress:
                batch = progress.get("batchId", -1)
                if batch <= last_batch.get(topic, -1):
                    continue
                last_batch[topic] = batch
                line = batch_log_line(topic, progress, totals.setdefault(topic, {}),
                                      batch_counts[topic].pop(batch, None))
                if line:
                    print(line, flush=True)
        copied = sum(t.get("records", 0) for t in totals.values())
        if (finished
                or (args.run_seconds is not None and time.monotonic() - started >= args.run_seconds)
                or (args.stop_after_records is not None and copied >= args.stop_after_records)):
            for topic_queries in queries.values():
                for query in topic_queries:
                    query.stop()
            log("stopped", totals=totals)
            spark.stop()
            return 0
        if not queries:
            time.sleep(min(args.topic_refresh, 10))
            continue
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
