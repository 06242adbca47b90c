"""Preflight rules of ZooKeeper: the ensemble's size and its server ids."""

from __future__ import annotations

from collections.abc import Iterable

from .base import WARNING, Inventory, Issue, rule


@rule
def zookeeper_ensemble(inv: Inventory) -> Iterable[Issue]:
    if inv.kafka_mode() == "kraft":
        return
    hosts = inv.group("zookeeper")
    if len(hosts) == 1:
        yield Issue("inventory", "groups.zookeeper", hosts,
                    "an ensemble of 1 has no fault tolerance", "use 3 hosts for a real cluster",
                    level=WARNING)
    elif hosts and len(hosts) % 2 == 0:
        yield Issue("inventory", "groups.zookeeper", hosts,
                    f"an even ensemble ({len(hosts)}) tolerates no more failures than "
                    f"{len(hosts) - 1} hosts and can split evenly",
                    f"use an odd number of hosts ({len(hosts) - 1} or {len(hosts) + 1})")


@rule
def zookeeper_ids(inv: Inventory) -> Iterable[Issue]:
    """Ensemble ids are unique, and a host keeps the id its data directory already has:
    reordering the zookeeper group must not renumber servers."""
    if inv.kafka_mode() == "kraft":
        return
    hosts = inv.group("zookeeper")
    ids = {host: str(inv.var(host, "zookeeper_id") or hosts.index(host) + 1) for host in hosts}
    for shown, holders in _holders(ids).items():
        if len(holders) > 1:
            yield Issue(", ".join(holders), "zookeeper_id", shown,
                        "the same ZooKeeper server id on several hosts",
                        "give each zookeeper host its own zookeeper_id (1-255)")
    for host in hosts:
        kept = (inv.fact(host, "identities") or {}).get("myid")
        if kept and kept != ids[host]:
            data_dir = inv.var(host, "zookeeper_data_dir")
            yield Issue(host, "zookeeper_id", ids[host],
                        f"this host is already ZooKeeper server {kept} ({data_dir}/myid); the "
                        "inventory would renumber it (hosts reordered in the zookeeper group?)",
                        f"set zookeeper_id: {kept} on {host} in the inventory")


def _holders(values: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for host, value in values.items():
        out.setdefault(value, []).append(host)
    return out
