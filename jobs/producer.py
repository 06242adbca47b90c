"""The handout's SimpleProducer with kafka-python.

    python3 producer.py Hello-Kafka [--count 10] [--bootstrap localhost:9092]

Sends keys/values 0..count-1 as strings and prints the handout's message (in English,
as SimpleProducer's "Message envoye avec succes"). --lines FILE (or -) sends each line
of a file as a value instead, keyed by its line number; --value-prefix makes values
unique per run.

Settings: the lab's producer settings (those of $KAFKA_HOME/config/producer.properties),
not the Java class's, which --handout-settings restores (acks=all, retries 0,
batch.size 16384, linger.ms 1). The handout's 16 KiB batches sent after 1 ms leave an
acks=all producer waiting on replication for every small batch (about 2.6 MiB/s of
1 KiB records here, bench/README.md); 512 KiB batches filled for up to 20 ms carry more
per round trip, compressed with zstd. Retries with idempotence instead of retries 0: a
broker restart (rolling restart, upgrade) no longer fails the send, and a retried batch
is not written twice.
"""

from __future__ import annotations

import argparse
import sys

# The lab's producer.properties (roles/kafka defaults kafka_client_producer_properties).
PRODUCER_CONFIG = {
    "acks": "all",
    "enable_idempotence": True,
    "batch_size": 524288,
    "linger_ms": 20,
    "compression_type": "zstd",
}
# The handout's SimpleProducer (buffer.memory 33554432 is kafka-python's own limit).
HANDOUT_CONFIG = {
    "acks": "all",
    "retries": 0,
    "batch_size": 16384,
    "linger_ms": 1,
}
SUCCESS_MESSAGE = "Message sent successfully"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="producer.py", description=__doc__.splitlines()[0])
    parser.add_argument("topic", nargs="?", help="topic name (as the handout's first argument)")
    parser.add_argument("--topic", dest="topic_option", help="topic name (same as the argument)")
    parser.add_argument("--count", type=int, default=10, help="records to send (default 10)")
    parser.add_argument("--bootstrap", default="localhost:9092",
                        help="bootstrap servers (default localhost:9092)")
    parser.add_argument("--lines", metavar="FILE",
                        help="send each line of FILE ('-' = stdin) instead of 0..count-1")
    parser.add_argument("--value-prefix", default="",
                        help="prefix every value (and key) with this string")
    parser.add_argument("--handout-settings", action="store_true",
                        help="the Java SimpleProducer's settings (retries 0, 16 KiB batches, "
                             "linger 1 ms) instead of the lab's")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.topic = args.topic_option or args.topic
    if not args.topic:
        # The handout's behaviour when no topic is given.
        parser.error("Enter the topic name")
    if args.count < 0:
        parser.error("--count must be >= 0")
    return args


def records(args, lines=None):
    """(key, value) strings to send, in order."""
    if lines is not None:
        return [(f"{args.value_prefix}{i}", line.rstrip("\n")) for i, line in enumerate(lines)]
    return [(f"{args.value_prefix}{i}", f"{args.value_prefix}{i}") for i in range(args.count)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from kafka import KafkaProducer

    lines = None
    if args.lines:
        with (sys.stdin if args.lines == "-" else open(args.lines, encoding="utf-8")) as f:
            lines = f.readlines()
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap.split(","),
        key_serializer=lambda k: k.encode("utf-8"),
        value_serializer=lambda v: v.encode("utf-8"),
        **(HANDOUT_CONFIG if args.handout_settings else PRODUCER_CONFIG),
    )
    futures = [producer.send(args.topic, key=k, value=v) for k, v in records(args, lines)]
    producer.flush()
    for future in futures:
        future.get(timeout=30)  # raise if a send failed
    print(SUCCESS_MESSAGE)
    producer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
