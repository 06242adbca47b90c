"""Preflight rules of Hadoop: YARN's memory, log aggregation in the secure profile, one HDFS
namespace per cluster (the clusterIDs the data directories hold)."""

from __future__ import annotations

from collections.abc import Iterable

from .base import WARNING, Inventory, Issue, _as_int, _is_int, _truthy, rule


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


@rule
def hdfs_cluster_identity(inv: Inventory) -> Iterable[Issue]:
    """One HDFS namespace per cluster: a DataNode refuses a NameNode of another clusterID
    ("Incompatible clusterIDs"), and a NameNode formatted anew beside DataNodes that hold
    blocks would be a new namespace that knows none of them."""
    namenodes = {host: (inv.fact(host, "identities") or {}).get("namenode_cluster_id")
                 for host in inv.group("hdfs_namenode")}
    formatted = {host: cid for host, cid in namenodes.items() if cid}
    if len(set(formatted.values())) > 1:
        listed = ", ".join(f"{host}: {cid}" for host, cid in sorted(formatted.items()))
        for host in formatted:
            yield Issue(host, "hdfs_namenode", listed,
                        "the NameNodes hold metadata of different HDFS clusters",
                        "keep in hdfs_namenode only the NameNodes of this cluster")
        return
    namespace = [*formatted.values(), None][0]
    missing = [host for host in namenodes if host not in formatted]
    wanted = str(inv.cluster_var("hadoop_cluster_id") or "")
    if namespace and wanted and wanted != namespace:
        yield Issue(list(formatted)[0], "hadoop_cluster_id", wanted,
                    f"the NameNode was formatted as {namespace}, and is never formatted again",
                    f"remove hadoop_cluster_id, or set it to {namespace}", level=WARNING)
    for host in inv.group("hdfs_datanode"):
        holds = (inv.fact(host, "identities") or {}).get("datanode_cluster_id")
        if not holds or holds == namespace:
            continue
        if namespace:
            yield Issue(host, "hadoop_datanode_dir", holds,
                        f"this DataNode holds blocks of the HDFS cluster {holds}, the "
                        f"NameNode's is {namespace}: it would refuse to join",
                        "if the host was rebuilt for this cluster, empty its DataNode "
                        "directory (HDFS copies the blocks back); otherwise take it out of "
                        "hdfs_datanode")
        elif namenodes and not formatted:
            yield Issue(host, "hadoop_datanode_dir", holds,
                        f"the NameNode ({', '.join(missing)}) has no metadata and would be "
                        f"formatted as a new namespace, while this DataNode holds blocks of "
                        f"the HDFS cluster {holds}: the new namespace would know none of them",
                        "restore the NameNode's metadata (its name directory from a backup) "
                        "before running; or, to start HDFS over and lose those files, empty "
                        "the DataNodes' directories")
