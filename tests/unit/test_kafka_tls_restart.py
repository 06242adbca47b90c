"""A broker whose key pair changed (rotate_secrets.yml) is restarted even when no
configuration file changed: the first rotation under load left all 3 brokers serving
their old certificates (bench/results/rotation-20261203-074557.json)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "kafka"
HANDLER = "Kafka | Restart changed nodes"


def _task(name: str) -> dict:
    tasks = yaml.safe_load((ROLE / "tasks" / "security.yml").read_text())
    return next(t for t in tasks if t["name"] == name)


def test_a_new_key_pair_queues_the_rolling_restart():
    task = _task("Kafka | Note whether the brokers' certificates changed")
    assert task.get("notify") == HANDLER
    assert "pki_keypair_changed" in str(task.get("changed_when"))


def test_a_new_jaas_file_queues_the_rolling_restart():
    assert _task("Kafka | Template the brokers' JAAS file (SCRAM login, ZooKeeper client login)"
                 ).get("notify") == HANDLER


def test_the_handler_exists():
    handlers = yaml.safe_load((ROLE / "handlers" / "main.yml").read_text())
    assert HANDLER in [h["name"] for h in handlers]
