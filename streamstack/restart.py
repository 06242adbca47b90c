"""`streamstack restart --rolling [SERVICE...]`: playbooks/rolling_restart.yml, limited by tag.

Each service is one play of the playbook, tagged with its name, in the order a rolling
restart must go: Kafka brokers, DataNodes, NodeManagers, then the streaming jobs.
"""

from __future__ import annotations

from .errors import StreamstackError

PLAYBOOK = "playbooks/rolling_restart.yml"
# In the playbook's order; each is the tag of its play.
SERVICES = ("kafka", "hdfs", "yarn", "jobs")


def tags(services: tuple[str, ...] | list[str]) -> str | None:
    """The --tags value for these services; None (every play) when none or all are named."""
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise StreamstackError(f"unknown service {', '.join(unknown)}",
                               hint=f"one of {', '.join(SERVICES)} (default: all)")
    chosen = [name for name in SERVICES if name in services]
    if not chosen or len(chosen) == len(SERVICES):
        return None
    return ",".join(chosen)
