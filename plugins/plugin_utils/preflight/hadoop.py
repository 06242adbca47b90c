"""Preflight rules of Hadoop: YARN's memory, log aggregation in the secure profile."""

from __future__ import annotations

from collections.abc import Iterable

from .base import Inventory, Issue, _as_int, _is_int, _truthy, rule


@rule
def yarn_memory(inv: Inventory) -> Iterable[Issue]:
    for host in inv.group("yarn_nodemanager"):
        memory = _as_int(inv.var(host, "hadoop_yarn_nodemanager_memory_mb"))
        if memory is None:
            continue
        if not _is_int(memory) or memory < 1:
            yield Issue(host, "hadoop_yarn_nodemanager_memory_mb", memory,
                        "must be a positive integer (MB)", "set it to e.g. 4096")
            continue
        total = inv.fact(host, "memtotal_mb")
        if _is_int(total) and memory > total:
            yield Issue(host, "hadoop_yarn_nodemanager_memory_mb", memory,
                        f"larger than the host's memory ({total} MB)",
                        f"set it below {total} (leave room for the daemons), or give the host "
                        "more memory")


@rule
def secure_log_aggregation(inv: Inventory) -> Iterable[Issue]:
    """With Kerberos, a NodeManager aggregates logs through Hadoop's secure IO, which
    needs libhadoop.so: the first application to finish would stop it."""
    for host in inv.group("yarn_nodemanager"):
        enabled = inv.var(host, "hadoop_yarn_log_aggregation_enabled")
        if inv.var(host, "streamstack_security") == "kerberos" and _truthy(enabled):
            yield Issue(host, "hadoop_yarn_log_aggregation_enabled", enabled,
                        "with streamstack_security=kerberos, YARN's log aggregation needs "
                        "Hadoop's native libhadoop.so, which no Maven artifact carries: the "
                        "first application to finish would stop this NodeManager",
                        "leave it unset (off in the secure profile) or set it to false; "
                        "container logs stay under hadoop_yarn_log_dir on each NodeManager")
