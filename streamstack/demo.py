"""`streamstack demo`: the handout's steps on the running lab, each command shown with
what came back, so a newcomer sees what the lab handout does by hand."""

from __future__ import annotations

from dataclasses import dataclass

from .jobs import HostExec


@dataclass(frozen=True)
class Step:
    title: str
    command: str
    explains: str


STEPS = [
    Step("Java processes on the master", "jps",
         "QuorumPeerMain is ZooKeeper, Kafka a broker; NameNode, ResourceManager and the "
         "SparkSubmit drivers of the two streaming jobs run here too."),
    Step("Create the handout's topic",
         "kafka-topics.sh --create --if-not-exists --topic Hello-Kafka --replication-factor 1 "
         "--partitions 1 --bootstrap-server localhost:9092",
         "Same command as the handout (--if-not-exists so a second demo run is quiet)."),
    Step("List the topics", "kafka-topics.sh --list --bootstrap-server localhost:9092",
         "Hello-Kafka, the jobs' topics (events, wordcount-results) and Kafka's own."),
    Step("Console producer",
         "printf 'hello streamstack\\nhello kafka\\n' | kafka-console-producer.sh "
         "--broker-list localhost:9092 --topic Hello-Kafka",
         "Two lines sent; the word count job reads Hello-Kafka."),
    Step("Console consumer",
         "kafka-console-consumer.sh --bootstrap-server localhost:9092 --topic Hello-Kafka "
         "--from-beginning --timeout-ms 10000 2>/dev/null | tail -n 5",
         "The last lines of the topic, read from the beginning."),
    Step("Word count results",
         "sleep 10; kafka-console-consumer.sh --bootstrap-server localhost:9092 "
         "--topic wordcount-results --from-beginning --timeout-ms 10000 "
         "--property print.key=true 2>/dev/null | tail -n 5",
         "The streaming word count's running counts (word, count), newest last."),
    Step("The streaming jobs on YARN", "yarn application -list 2>/dev/null",
         "wordcount and kafka-to-hdfs, RUNNING, each supervised by a systemd unit."),
    Step("Kafka records kept in HDFS", "hdfs dfs -ls -R /data 2>/dev/null | tail -n 5",
         "The sink's Parquet files, by topic and date, for later batch work."),
]


def run(host_exec: HostExec, host: str, show=print) -> int:
    """Run every step on host; returns the number of steps that failed."""
    failed = 0
    for number, step in enumerate(STEPS, start=1):
        show(f"\n[{number}/{len(STEPS)}] {step.title}")
        show(f"  {step.explains}")
        show(f"  $ {step.command}")
        done = host_exec(host, ["bash", "-lc", step.command])
        for line in (done.stdout.strip() or "(no output)").splitlines():
            show(f"    {line}")
        if done.rc != 0:
            failed += 1
            show(f"  -> exit {done.rc}: {done.stderr.strip()[-300:]}")
    return failed
