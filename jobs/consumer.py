"""The handout's SimpleConsumer with kafka-python.

    python3 consumer.py Hello-Kafka [--bootstrap localhost:9092] [--max-messages N]
                                    [--timeout SECONDS] [--from-beginning]

Group "test", auto-commit every 1000 ms, session timeout 30 s, string keys and values;
prints "offset = %d, key = %s, value = %s" per record, as the Java class. It polls
forever like the handout unless --max-messages or --timeout (seconds without a new
record) is given, so tests and scripts terminate.
"""

from __future__ import annotations

import argparse
import sys

CONSUMER_CONFIG = {
    "group_id": "test",
    "enable_auto_commit": True,
    "auto_commit_interval_ms": 1000,
    "session_timeout_ms": 30000,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consumer.py", description=__doc__.splitlines()[0])
    parser.add_argument("topic", nargs="?", help="topic name (as the handout's first argument)")
    parser.add_argument("--topic", dest="topic_option", help="topic name (same as the argument)")
    parser.add_argument("--bootstrap", default="localhost:9092",
                        help="bootstrap servers (default localhost:9092)")
    parser.add_argument("--group", default=CONSUMER_CONFIG["group_id"],
                        help="consumer group (default test, as the handout)")
    parser.add_argument("--max-messages", type=int, default=None,
                        help="stop after this many records")
    parser.add_argument("--timeout", type=float, default=None,
                        help="stop after this many seconds without a record")
    parser.add_argument("--from-beginning", action="store_true",
                        help="start at the earliest offset when the group has none")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.topic = args.topic_option or args.topic
    if not args.topic:
        parser.error("Enter the topic name")
    if args.max_messages is not None and args.max_messages <= 0:
        parser.error("--max-messages must be > 0")
    return args


def _decode(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def format_record(offset: int, key: str | None, value: str | None) -> str:
    """The handout's printf("offset = %d, key = %s, value = %s\\n"); Java prints null."""
    key_text = "null" if key is None else key
    value_text = "null" if value is None else value
    return f"offset = {offset:d}, key = {key_text}, value = {value_text}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from kafka import KafkaConsumer

    config = dict(CONSUMER_CONFIG, group_id=args.group)
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap.split(","),
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        key_deserializer=_decode,
        value_deserializer=_decode,
        # Without --timeout the iterator blocks forever, like the handout's loop.
        consumer_timeout_ms=int(args.timeout * 1000) if args.timeout else float("inf"),
        **config,
    )
    consumer.subscribe([args.topic])
    print(f"Subscribed to topic {args.topic}", flush=True)
    seen = 0
    try:
        for record in consumer:
            print(format_record(record.offset, record.key, record.value), flush=True)
            seen += 1
            if args.max_messages is not None and seen >= args.max_messages:
                break
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
