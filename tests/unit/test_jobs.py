"""Pure-Python logic of jobs/ (no Spark session, no Kafka) and streamstack.jobs parsing."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from streamstack import jobs as jobs_cli
from streamstack.errors import StreamstackError

JOBS_DIR = Path(__file__).resolve().parents[2] / "jobs"


def load(name: str):
    """Import jobs/<name>.py by path (jobs/ is not a package: spark-submit runs files)."""
    spec = importlib.util.spec_from_file_location(f"jobs_{name}", JOBS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wordcount = load("wordcount")
sink = load("kafka_to_hdfs")
producer = load("producer")
consumer = load("consumer")


def test_jobs_import_without_pyspark_and_kafka():
    for module in (wordcount, sink, producer, consumer):
        assert "pyspark" not in module.__dict__


# ------------------------------------------------------------------ wordcount

def test_wordcount_handout_arguments():
    args = wordcount.parse_args(["localhost:9092", "Hello-Kafka", "mySparkConsumerGroup"])
    assert args.bootstrap_servers == "localhost:9092"
    assert args.topic_list == ["Hello-Kafka"]
    assert args.group_id == "mySparkConsumerGroup"
    assert args.output_topic is None and args.trigger is None
    assert args.starting_offsets == "latest"


def test_wordcount_options():
    args = wordcount.parse_args([
        "h1:19092,h2:19093", "a, b,,c", "g", "--output-topic", "wordcount-results",
        "--trigger", "2", "--checkpoint", "/checkpoints/wordcount",
        "--starting-offsets", "earliest",
    ])
    assert args.topic_list == ["a", "b", "c"]
    assert args.trigger == 2.0
    assert args.output_topic == "wordcount-results"
    assert args.checkpoint == "/checkpoints/wordcount"


@pytest.mark.parametrize("argv", [
    ["localhost:9092", "Hello-Kafka"],  # missing group id
    ["b", " , ", "g"],  # no topic
    ["b", "t", "g", "--output-topic", "out"],  # Kafka output without checkpoint
    ["b", "t", "g", "--output-topic", "t", "--checkpoint", "/c"],  # loop
    ["b", "t", "g", "--trigger", "0"],
])
def test_wordcount_rejects(argv, capsys):
    with pytest.raises(SystemExit):
        wordcount.parse_args(argv)


@pytest.mark.parametrize("line,words", [
    ("Hello Kafka", ["Hello", "Kafka"]),
    ("  spaces   everywhere  ", ["spaces", "everywhere"]),
    ("tabs\tand\nnewlines\r\nform\x0cfeed\x0bvt", ["tabs", "and", "newlines", "form", "feed",
                                                   "vt"]),
    ("", []),
    (None, []),
    ("ponctuation, reste. attachée!", ["ponctuation,", "reste.", "attachée!"]),
    ("Case case CASE", ["Case", "case", "CASE"]),
    # Not Java whitespace: a no-break space stays inside the word, as in Spark.
    ("a\u00a0b c", ["a\u00a0b", "c"]),
])
def test_split_words(line, words):
    assert wordcount.split_words(line) == words


def test_wordcount_sends_each_new_count_once():
    sent: dict = {}
    first = [("kafka", 2), ("spark", 1)]
    assert wordcount.changed_counts(first, sent) == first
    sent.update(first)
    # The whole table comes back every batch; only what moved is sent again.
    assert wordcount.changed_counts([("kafka", 2), ("spark", 3), ("hdfs", 1)], sent) == [
        ("spark", 3), ("hdfs", 1)]
    assert wordcount.changed_counts(first, sent) == []


class _Stoppable:
    """A query that never ends and a SparkContext that stops after `alive` checks."""

    def __init__(self, alive: int, ends: bool = False):
        self.alive, self.ends, self.waits = alive, ends, 0
        self.sparkContext = self
        self._jsc = self

    def awaitTermination(self, timeout):  # noqa: N802 (PySpark's name)
        self.waits += 1
        return self.ends

    def sc(self):
        return self

    def isStopped(self):  # noqa: N802 (Spark's name)
        self.alive -= 1
        return self.alive < 0


def test_wordcount_exits_1_when_its_spark_context_stops(capsys):
    fake = _Stoppable(alive=2)
    assert wordcount.wait_for(fake, fake, every=0) == 1
    assert fake.waits == 3
    assert "SparkContext stopped" in capsys.readouterr().err
    ended = _Stoppable(alive=2, ends=True)
    assert wordcount.wait_for(ended, ended, every=0) == 0 and ended.waits == 1


def test_wordcount_console_order_is_count_then_word():
    rows = [("b", 1), ("a", 1), ("z", 5), ("été", 2), ("e", 2)]
    assert wordcount.console_order(rows) == [("z", 5), ("e", 2), ("été", 2), ("a", 1),
                                             ("b", 1)]


def test_count_words_is_the_running_count():
    assert wordcount.count_words(["a b a", None, "b  c", ""]) == {"a": 2, "b": 2, "c": 1}


# ------------------------------------------------------------------ kafka_to_hdfs

def test_sink_defaults():
    args = sink.parse_args(["--bootstrap-servers", "b:1", "--topics", "events"])
    assert args.topic_list == ["events"]
    assert args.output == "/data"
    assert args.checkpoint == "/checkpoints/kafka-to-hdfs"
    assert args.format == "parquet"
    assert args.starting_offsets == "earliest"
    assert args.max_offsets_per_trigger is None


def test_sink_pattern_and_options():
    args = sink.parse_args(["--bootstrap-servers", "b:1", "--pattern", "ev.*",
                            "--format", "json", "--max-offsets-per-trigger", "500",
                            "--starting-offsets", "latest", "--trigger", "1.5"])
    assert args.topic_list == [] and args.pattern == "ev.*"
    assert (args.format, args.max_offsets_per_trigger, args.trigger) == ("json", 500, 1.5)
    assert not args.available_now
    once = sink.parse_args(["--bootstrap-servers", "b:1", "--topics", "t", "--trigger", "0",
                            "--available-now"])
    assert once.available_now and once.trigger == 0


@pytest.mark.parametrize("argv", [
    ["--bootstrap-servers", "b"],  # no source
    ["--bootstrap-servers", "b", "--topics", "a", "--pattern", "a"],  # both
    ["--bootstrap-servers", "b", "--topics", " , "],
    ["--bootstrap-servers", "b", "--pattern", "("],
    ["--bootstrap-servers", "b", "--topics", "a", "--format", "csv"],
    ["--bootstrap-servers", "b", "--topics", "a", "--max-offsets-per-trigger", "0"],
    ["--bootstrap-servers", "b", "--topics", "a", "--trigger", "-1"],
    ["--topics", "a"],  # no bootstrap
])
def test_sink_rejects(argv, capsys):
    with pytest.raises(SystemExit):
        sink.parse_args(argv)


def test_sink_layout_is_one_directory_per_topic():
    assert sink.data_path("/data/", "events") == "/data/events"
    assert sink.deadletter_path("/data", "events") == "/data/_deadletter/events"
    assert sink.checkpoint_path("/checkpoints/k2h", "events") == "/checkpoints/k2h/events"
    assert (sink.checkpoint_path("/checkpoints/k2h", "events", deadletter=True)
            == "/checkpoints/k2h/_deadletter/events")
    # Data and dead-letter queries never share a checkpoint.
    assert (sink.checkpoint_path("/c", "t") != sink.checkpoint_path("/c", "t", True))


@pytest.mark.parametrize("key,value,reason", [
    (b"k", b"hello", None),
    (None, b"hello", None),  # null keys are fine
    (b"k", b"", None),  # empty value is a valid empty string
    (b"k", "été €".encode(), None),
    (b"k", None, "null_value"),
    (None, None, "null_value"),
    (b"k", b"\xff\xfe", "value_not_utf8"),
    (b"k", b"ok \xc3", "value_not_utf8"),  # truncated sequence
    (b"k", b"\xc0\xaf", "value_not_utf8"),  # overlong encoding
    (b"k", b"\xed\xa0\x80", "value_not_utf8"),  # UTF-16 surrogate
    (b"\x80", b"fine", "key_not_utf8"),
])
def test_classify(key, value, reason):
    assert sink.classify(key, value) == reason


def test_record_date_is_utc():
    assert sink.record_date(0) == "1970-01-01"
    assert sink.record_date(1_700_000_000_000) == "2023-11-14"
    assert sink.record_date(1_700_006_399_999) == "2023-11-14"
    assert sink.record_date(1_700_006_400_000) == "2023-11-15"


def test_select_topics_full_match_without_internal():
    available = ["events", "events-eu", "myevents", "__consumer_offsets", "_deadletter",
                 "wordcount-results"]
    assert sink.select_topics(available, "events.*") == ["events", "events-eu"]
    assert sink.select_topics(available, ".*") == [
        "events", "events-eu", "myevents", "wordcount-results"]
    assert sink.select_topics(available, "event") == []


def test_batch_log_line_counts_and_totals():
    totals: dict = {}
    progress = {"batchId": 3, "numInputRows": 10, "processedRowsPerSecond": 50.0,
                "observedMetrics": {"ingest": {"records": 10, "valid": 8, "invalid": 2}}}
    line = json.loads(sink.batch_log_line("events", progress, totals))
    assert (line["batch"], line["records"], line["valid"], line["invalid"]) == (3, 10, 8, 2)
    sink.batch_log_line("events", dict(progress, batchId=4), totals)
    assert totals == {"records": 20, "valid": 16, "invalid": 4}
    assert sink.batch_log_line("events", {"batchId": 5, "numInputRows": 0}, totals) is None


def test_batch_log_line_prefers_the_writers_counts():
    # A batch whose dead letters were read again has twice its records in numInputRows.
    totals: dict = {}
    progress = {"batchId": 7, "numInputRows": 20, "observedMetrics": {}}
    counts = {"records": 10, "valid": 9, "invalid": 1}
    line = json.loads(sink.batch_log_line("events", progress, totals, counts))
    assert (line["records"], line["valid"], line["invalid"]) == (10, 9, 1)
    # A re-run batch has no counts: its input rows, nothing said valid or invalid.
    line = json.loads(sink.batch_log_line("events", dict(progress, batchId=8), totals))
    assert (line["records"], line["valid"], line["invalid"]) == (20, 0, 0)
    assert sink.batch_log_line("events", dict(progress, numInputRows=0), totals,
                               {"records": 0, "valid": 0, "invalid": 0}) is None


# ------------------------------------------------------------------ producer / consumer

def test_producer_settings_are_the_labs_and_the_handouts_on_request():
    import yaml

    assert producer.HANDOUT_CONFIG == {"acks": "all", "retries": 0, "batch_size": 16384,
                                       "linger_ms": 1}
    # The same settings as the producer.properties the kafka role ships.
    defaults = yaml.safe_load((JOBS_DIR.parent / "roles/kafka/defaults/main.yml").read_text())
    shipped = {k.replace(".", "_"): v
               for k, v in defaults["kafka_client_producer_properties"].items()}
    assert {k: v for k, v in producer.PRODUCER_CONFIG.items()
            if k != "enable_idempotence"} == shipped
    assert producer.PRODUCER_CONFIG["enable_idempotence"] is True  # Java's default too
    args = producer.parse_args(["Hello-Kafka"])
    assert (args.topic, args.count, args.bootstrap) == ("Hello-Kafka", 10, "localhost:9092")
    assert not args.handout_settings
    assert producer.parse_args(["Hello-Kafka", "--handout-settings"]).handout_settings
    assert producer.records(args) == [(str(i), str(i)) for i in range(10)]


def test_producer_flags():
    args = producer.parse_args(["--topic", "events", "--count", "3", "--bootstrap",
                                "h:19092", "--value-prefix", "run1-"])
    assert args.topic == "events" and args.bootstrap == "h:19092"
    assert producer.records(args) == [("run1-0", "run1-0"), ("run1-1", "run1-1"),
                                      ("run1-2", "run1-2")]
    assert producer.records(args, ["a b\n", "c\n"]) == [("run1-0", "a b"), ("run1-1", "c")]


def test_producer_and_consumer_need_a_topic(capsys):
    with pytest.raises(SystemExit):
        producer.parse_args([])
    with pytest.raises(SystemExit):
        consumer.parse_args(["--max-messages", "3"])


def test_consumer_handout_settings_and_format():
    assert consumer.CONSUMER_CONFIG == {"group_id": "test", "enable_auto_commit": True,
                                        "auto_commit_interval_ms": 1000,
                                        "session_timeout_ms": 30000}
    args = consumer.parse_args(["Hello-Kafka", "--max-messages", "10", "--timeout", "5"])
    assert (args.topic, args.max_messages, args.timeout) == ("Hello-Kafka", 10, 5.0)
    assert consumer.format_record(32, "0", "0") == "offset = 32, key = 0, value = 0"
    assert consumer.format_record(7, None, "v") == "offset = 7, key = null, value = v"


# ------------------------------------------------------------------ streamstack.jobs

YARN_HEADER = ["Application-Id", "Application-Name", "Application-Type", "User", "Queue",
               "State", "Final-State", "Progress", "Tracking-URL"]
YARN_ROWS = [
    ["application_1700000000000_0010", "wordcount", "SPARK", "spark", "default", "RUNNING",
     "UNDEFINED", "10%", "http://hadoop-master:4040"],
    ["application_1700000000000_0002", "kafka-to-hdfs", "SPARK", "spark", "default",
     "ACCEPTED", "UNDEFINED", "0%", "N/A"],
    ["application_1700000000000_0011", "kafka-to-hdfs", "SPARK", "spark", "default",
     "RUNNING", "UNDEFINED", "10%", "http://hadoop-master:4041"],
]
# As printed by `yarn application -list`: a log line, a total, a padded header, rows.
YARN_LIST = "\n".join(
    ["2024-01-01 10:00:00,000 INFO client.DefaultNoHARMFailoverProxyProvider: Connecting",
     "Total number of applications (application-types: [], states: [RUNNING]):3",
     "\t".join(f"{cell:>20}" for cell in YARN_HEADER)]
    + ["\t".join(f"{cell:>20}" for cell in row) for row in YARN_ROWS]
) + "\n"


def test_parse_yarn_list_sorted_by_submission():
    rows = jobs_cli.parse_yarn_list(YARN_LIST)
    assert [r["id"][-4:] for r in rows] == ["0002", "0010", "0011"]
    assert rows[1] == {
        "id": "application_1700000000000_0010", "name": "wordcount", "type": "SPARK",
        "user": "spark", "queue": "default", "state": "RUNNING",
        "final_state": "UNDEFINED", "progress": "10%",
        "tracking_url": "http://hadoop-master:4040"}


def test_parse_systemctl_show_and_units():
    props = jobs_cli.parse_systemctl_show(
        "ActiveState=active\nSubState=running\nMainPID=1234\nActiveEnterTimestamp=Mon "
        "2024-01-01 10:00:00 UTC\n")
    assert props["MainPID"] == "1234" and props["ActiveEnterTimestamp"].endswith("UTC")
    assert jobs_cli.parse_unit_list(
        "spark-job-wordcount.service enabled enabled\n"
        "spark-job-kafka-to-hdfs.service enabled enabled\nother.service x\n") == [
        "spark-job-kafka-to-hdfs.service", "spark-job-wordcount.service"]
    assert jobs_cli.unit_name("wordcount") == "spark-job-wordcount.service"
    assert jobs_cli.job_name("spark-job-kafka-to-hdfs.service") == "kafka-to-hdfs"


class FakeHosts:
    """A host_exec double: answers from canned outputs, records every argv."""

    def __init__(self):
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, host, argv):
        self.calls.append((host, argv))
        if argv[:2] == ["systemctl", "list-unit-files"]:
            return jobs_cli.ExecResult(0, "spark-job-wordcount.service enabled enabled\n"
                                          "spark-job-kafka-to-hdfs.service enabled enabled\n")
        if argv[0] == "bash" and "yarn application -list" in argv[-1]:
            return jobs_cli.ExecResult(0, YARN_LIST)
        if argv[:2] == ["systemctl", "show"]:
            pid = "111" if "wordcount" in argv[2] else "222"
            return jobs_cli.ExecResult(0, f"Id={argv[2]}\nLoadState=loaded\nActiveState=active"
                                          f"\nSubState=running\nMainPID={pid}\nNRestarts=1\n")
        if argv[0] == "journalctl":
            return jobs_cli.ExecResult(0, "line1\nline2\n")
        if argv[:2] == ["systemctl", "restart"]:
            return jobs_cli.ExecResult(1 if "missing" in argv[2] else 0, "", "not found")
        return jobs_cli.ExecResult(1, "", "unexpected")


def test_status_joins_units_and_yarn_apps():
    fake = FakeHosts()
    rows = jobs_cli.status(fake, ["hadoop-master"])
    by_name = {r.name: r for r in rows}
    assert set(by_name) == {"wordcount", "kafka-to-hdfs"}
    assert by_name["wordcount"].main_pid == 111 and by_name["wordcount"].restarts == 1
    assert by_name["wordcount"].yarn_state == "RUNNING"
    # The newest application of the job decides (an old attempt may linger).
    assert by_name["kafka-to-hdfs"].application_id.endswith("_0011")
    assert by_name["kafka-to-hdfs"].yarn_state == "RUNNING"
    text = jobs_cli.format_status(rows)
    assert "kafka-to-hdfs" in text and "active/running" in text
    assert json.loads(jobs_cli.status_json(rows))[0]["yarn_state"] == "RUNNING"


def test_logs_and_restart_commands():
    fake = FakeHosts()
    assert jobs_cli.logs(fake, "h", "wordcount", lines=5) == "line1\nline2\n"
    assert fake.calls[-1][1][:4] == ["journalctl", "--unit", "spark-job-wordcount.service",
                                     "--lines"]
    jobs_cli.restart(fake, "h", "wordcount")
    assert fake.calls[-1][1] == ["systemctl", "restart", "spark-job-wordcount.service"]
    with pytest.raises(StreamstackError):
        jobs_cli.restart(fake, "h", "missing")


# ------------------------------------------------------------------ against real Spark

SPARK_CHECK = r'''
import importlib.util, json, sys
def load(name):
    spec = importlib.util.spec_from_file_location(name, sys.argv[1] + f"/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
wc, k2h = load("wordcount"), load("kafka_to_hdfs")
from pyspark.sql import SparkSession, functions as F
spark = SparkSession.builder.master("local[1]").getOrCreate()
cases = json.loads(sys.argv[2])
rows = [(None if k is None else bytearray.fromhex(k), None if v is None else bytearray.fromhex(v))
        for k, v in cases]
df = spark.createDataFrame(rows, "key binary, value binary")
reasons = [r[0] for r in df.select(k2h.invalid_reason_column()).collect()]
lines = json.loads(sys.argv[3])
words = spark.createDataFrame([(x,) for x in lines], "value string").select(
    F.explode(F.split("value", wc.WHITESPACE_PATTERN)).alias("word")).where("word != ''")
counts = {r["word"]: r["count"] for r in words.groupBy("word").count().collect()}
# The console table built from the driver's rows prints what Spark's own sort and show
# print, with and without the "only showing" line.
table = words.groupBy("word").count()
rows = [(r["word"], r["count"]) for r in table.collect()]
same_console = all(
    wc.console_table(spark, rows, shown)._jdf.showString(shown, 20, False)
    == table.orderBy(F.desc("count"), "word")._jdf.showString(shown, 20, False)
    for shown in (2, 20))
# The console run's scratch checkpoint: a new directory of its own; the same user's
# older than a day are purged, newer ones (another run's, still going) are kept.
import os, time, uuid
old, fresh = (f"{wc.SCRATCH_PREFIX}{uuid.uuid4().hex}" for _ in range(2))
os.makedirs(old)
os.makedirs(fresh)
os.utime(old, (time.time() - 2 * 86400,) * 2)
scratch = wc.scratch_checkpoint(spark)
purged = {"old": os.path.exists(old), "fresh": os.path.exists(fresh)}
os.rmdir(fresh)
print("RESULT " + json.dumps({"reasons": reasons, "counts": counts,
                              "same_console": same_console, "scratch": scratch,
                              "kept": purged}))
'''


@pytest.mark.skipif(not __import__("os").environ.get("STREAMSTACK_SPARK_HOME"),
                    reason="set STREAMSTACK_SPARK_HOME to a Spark 3.5 home to run (~30 s)")
def test_python_rules_equal_the_spark_expressions(tmp_path):
    """The job's Spark expressions (validity, whitespace split) agree with the Python
    functions the other tests check, on a local Spark."""
    import os
    import subprocess

    cases = [(b"k", b"hello"), (None, b"x"), (b"k", b""), (b"k", "été €".encode()),
             (b"k", None), (b"k", b"\xff\xfe"), (b"k", b"ok \xc3"), (b"k", b"\xc0\xaf"),
             (b"k", b"\xed\xa0\x80"), (b"\x80", b"fine"), (b"k", "😀".encode()),
             (b"k", b"\xf4\x90\x80\x80")]
    lines = ["Hello Kafka", "  a   b  ", "t\tn\nr\r\nf\x0cv\x0bx", "", None, "a\u00a0b c"]
    script = tmp_path / "check.py"
    script.write_text(SPARK_CHECK)
    home = os.environ["STREAMSTACK_SPARK_HOME"]
    encoded = json.dumps([[None if k is None else k.hex(), None if v is None else v.hex()]
                          for k, v in cases])
    done = subprocess.run(
        [f"{home}/bin/spark-submit", "--master", "local[1]", str(script), str(JOBS_DIR),
         encoded, json.dumps(lines)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "SPARK_HOME": home, "PYSPARK_PYTHON": sys.executable},
    )
    result_lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert result_lines, done.stderr[-3000:]
    result = json.loads(result_lines[-1].removeprefix("RESULT "))
    assert result["reasons"] == [sink.classify(k, v) for k, v in cases]
    assert result["counts"] == wordcount.count_words(lines)
    assert result["same_console"] is True
    assert result["scratch"].startswith(f"file:{wordcount.SCRATCH_PREFIX}")
    assert result["kept"] == {"old": False, "fresh": True}


WRITER_CHECK = r'''
import importlib.util, json, sys
from datetime import datetime, timezone
spec = importlib.util.spec_from_file_location("k2h", sys.argv[1] + "/kafka_to_hdfs.py")
k2h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(k2h)
from pyspark.sql import SparkSession
# Compaction every 2 batches: batches 1 and 3 compact the entries written before them.
spark = (SparkSession.builder.master("local[1]")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.streaming.fileSink.log.compactInterval", "2").getOrCreate())
out = sys.argv[2]
args = k2h.parse_args(["--bootstrap-servers", "unused:1", "--topics", "t", "--output", out])
def batch(first, n, invalid):
    when = datetime(2026, 12, 3, 10, tzinfo=timezone.utc)
    rows = [(None, b"\xff" if i < first + invalid else f"v{i}".encode(), "t", 0, i, when)
            for i in range(first, first + n)]
    return k2h.classified(spark.createDataFrame(
        rows, "key binary, value binary, topic string, partition int, offset long, "
              "timestamp timestamp"))
counts = {}
writer = k2h.TopicWriter(spark, args, "t", counts)
writer(batch(0, 5, 0), 0)
dead_after_clean_batch = k2h.latest_committed(k2h.sink_log(spark, out + "/_deadletter/t"))
writer(batch(0, 5, 0), 0)  # re-run of a committed batch
writer(batch(5, 5, 2), 1)
# A crash between the two sinks: batch 2's data committed, its dead letters not.
crashed = batch(10, 4, 1)
writer.data_sink.addBatch(2, k2h.valid_rows(crashed)._jdf)
writer(crashed, 2)
writer(crashed, 2)
writer(batch(14, 2, 0), 3)  # clean again: the dead-letter log's own entry compacts 1 and 2
import os
dead_log_files = sorted(os.listdir(out + "/_deadletter/t/_spark_metadata"))
data = spark.read.parquet(out + "/t")
dead = spark.read.parquet(out + "/_deadletter/t")
print("RESULT " + json.dumps({
    "counts": counts, "dead_after_clean_batch": dead_after_clean_batch,
    "dead_log_files": [f for f in dead_log_files if not f.startswith(".")],
    "data": sorted(r.offset for r in data.collect()),
    "dates": sorted({str(r.date) for r in data.collect()}),
    "dead": sorted((r.offset, r.reason) for r in dead.collect()),
}))
'''


@pytest.mark.skipif(not __import__("os").environ.get("STREAMSTACK_SPARK_HOME"),
                    reason="set STREAMSTACK_SPARK_HOME to a Spark 3.5 home to run (~30 s)")
def test_sink_writer_exactly_once_on_a_local_spark(tmp_path):
    """TopicWriter on local files: a re-run batch adds nothing, a batch without invalid
    records still commits its dead-letter batch, and a crash between the two sinks
    leaves the dead letters to the re-run. Clean batches' dead-letter entries, written
    to the sink's log directly, compact with the sink's own."""
    import os
    import subprocess

    script = tmp_path / "writer.py"
    script.write_text(WRITER_CHECK)
    home = os.environ["STREAMSTACK_SPARK_HOME"]
    done = subprocess.run(
        [f"{home}/bin/spark-submit", "--master", "local[1]", str(script), str(JOBS_DIR),
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "SPARK_HOME": home, "PYSPARK_PYTHON": sys.executable},
    )
    result_lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert result_lines, done.stderr[-3000:]
    result = json.loads(result_lines[-1].removeprefix("RESULT "))
    assert result["counts"] == {"0": {"records": 5, "valid": 5, "invalid": 0},
                                "1": {"records": 5, "valid": 3, "invalid": 2},
                                "3": {"records": 2, "valid": 2, "invalid": 0}}
    assert result["dead_after_clean_batch"] == 0
    assert result["dead_log_files"] == ["0", "1.compact", "2", "3.compact"]
    assert result["data"] == [0, 1, 2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15]
    assert result["dates"] == ["2026-12-03"]
    assert result["dead"] == [[5, "value_not_utf8"], [6, "value_not_utf8"],
                              [10, "value_not_utf8"]]


def test_app_name_keeps_spark_submit_name():
    for module in (wordcount, sink):
        assert module.app_name("wordcount") == "wordcount"
        assert module.app_name("kafka-to-hdfs") == "kafka-to-hdfs"
        assert module.app_name(None) == module.APP_NAME
        assert module.app_name("wordcount.py") == module.APP_NAME  # spark-submit's default
    assert wordcount.APP_NAME == "SparkKafkaWordCount"


def _run_with_fake_kerberos(tmp_path, keytab: Path, command: str):
    """with_admin_ticket(command) in bash, with kinit and klist stand-ins on PATH that
    log their arguments (klist prints a keytab listing as MIT klist -k does)."""
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "klist").write_text(
        "#!/bin/sh\nprintf 'Keytab name: FILE:%s\\nKVNO Principal\\n---- ---\\n"
        "   2 root@LAB.TEST\\n   2 root@LAB.TEST\\n' \"$2\"\n")
    (bin_dir / "kinit").write_text(f"#!/bin/sh\necho \"kinit $*\" >> {log}\n"
                                   "echo ticket > \"${KRB5CCNAME#FILE:}\"\n")
    for tool in ("klist", "kinit"):
        (bin_dir / tool).chmod(0o755)
    done = subprocess.run(
        ["bash", "-c", jobs_cli.with_admin_ticket(command, keytab=str(keytab))],
        capture_output=True, text=True, check=False,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    return done, (log.read_text() if log.exists() else "")


def test_with_admin_ticket_kinits_into_a_private_cache_then_removes_it(tmp_path):
    keytab = tmp_path / "root.keytab"
    keytab.write_text("keytab")
    done, calls = _run_with_fake_kerberos(
        tmp_path, keytab, 'cat "${KRB5CCNAME#FILE:}"; echo "$KRB5CCNAME"')
    assert done.returncode == 0, done.stderr
    assert calls == f"kinit -kt {keytab} root@LAB.TEST\n"
    ticket, ccache = done.stdout.split()
    assert ticket == "ticket" and ccache.startswith(f"FILE:{tmp_path}/")
    assert not Path(ccache.removeprefix("FILE:")).exists()  # removed on exit


def test_with_admin_ticket_runs_the_command_as_is_without_the_keytab(tmp_path):
    done, calls = _run_with_fake_kerberos(tmp_path, tmp_path / "absent.keytab",
                                          'echo "cache=${KRB5CCNAME:-none}"')
    assert done.returncode == 0 and done.stdout == "cache=none\n"
    assert calls == ""
