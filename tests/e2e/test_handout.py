"""The handout's SimpleProducer → SimpleConsumer, from the controller through
localhost:9092 as the handout does it (the lab publishes the brokers on 127.0.0.1).

    pytest tests/e2e/test_handout.py
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import uuid

import pytest

from streamstack import PROJECT_ROOT

JOBS = PROJECT_ROOT / "jobs"
BOOTSTRAP = "localhost:9092"
LINE = re.compile(r"^offset = (\d+), key = (\S+), value = (\S+)$")


@pytest.fixture(scope="module", autouse=True)
def published_broker():
    with socket.socket() as probe:
        probe.settimeout(2)
        if probe.connect_ex(("127.0.0.1", 9092)) != 0:
            pytest.fail("localhost:9092 does not answer: is the lab up (`make up`)?")


def _python(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(JOBS / script), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_simple_producer_then_simple_consumer_prints_offsets_keys_values():
    topic = f"handout-{uuid.uuid4().hex[:8]}"
    sent = _python("producer.py", topic, "--bootstrap", BOOTSTRAP)
    assert sent.returncode == 0, sent.stderr
    assert "Message sent successfully" in sent.stdout

    received = _python("consumer.py", topic, "--bootstrap", BOOTSTRAP, "--from-beginning",
                       "--group", f"test-{topic}", "--max-messages", "10", "--timeout", "60")
    assert received.returncode == 0, received.stderr
    rows = [LINE.match(line).groups() for line in received.stdout.splitlines()
            if LINE.match(line)]
    assert sorted((key, value) for _, key, value in rows) == [(str(i), str(i)) for i in range(10)]
    offsets = sorted(int(offset) for offset, _, _ in rows)
    # A new topic with one or more partitions: offsets start at 0 in each partition.
    assert offsets[0] == 0 and len(offsets) == 10
