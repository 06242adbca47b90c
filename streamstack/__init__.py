"""streamstack: Ansible roles and a runner for a ZooKeeper/Kafka/Hadoop/Spark streaming lab."""

from pathlib import Path

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
