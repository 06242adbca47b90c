"""The handout's SimpleProducer with kafka-python.

    python3 producer.py Hello-Kafka [--count 10] [--bootstrap localhost:9092]

Same producer settings as the Java class (acks=all, retries 0, batch.size 16384,
linger.ms 1, buffer.memory 33554432, string keys and values); sends keys/values
0..count-1 and prints the handout's message (in English, as SimpleProducer's
"Message envoye avec succes"). --lines FILE (or -) sends each line of a file as a
value instead, keyed by its line number; --value-prefix makes values unique per run.
"""

from __future__ import annotations

import argparse
import sys

PRODUCER_CONFIG = {
    "acks": "all",
    "retries": 0,
    "batch_size": 16384,
    "linger_ms": 1,
    "buffer_memory": 33554432,
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
        **PRODUCER_CONFIG,
    )
    futures = [producer.send(args.topic, key=k, value=v) for k, v in records(args, lines)]
    producer.flush()
    for future in futures:
        future.get(timeout=30)  # raise if a send failed (retries 0, as the handout)
    print(SUCCESS_MESSAGE)
    producer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
