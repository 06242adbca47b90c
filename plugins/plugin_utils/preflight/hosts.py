"""Preflight rules over the facts gathered on each host: name resolution, free disk,
ports already in use."""

from __future__ import annotations

from collections.abc import Iterable

from .base import PORT_VARIABLES, WARNING, Inventory, Issue, _as_int, _is_int, _truthy, rule

# Processes that may hold a Kafka external port: the lab's localhost forwarders.
FORWARDER_PROCESSES = ("socat", "forward")


# --- host facts ------------------------------------------------------------------------


@rule
def name_resolution(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        if not inv.has_fact(host, "resolves"):
            continue
        resolves = inv.fact(host, "resolves") or {}
        managed = _truthy(inv.var(host, "common_manage_etc_hosts"))
        for other in inv.names:
            if other not in resolves:
                continue
            address = resolves[other]
            if not address:
                target = inv.fact(other, "default_ipv4")
                if managed and target:
                    yield Issue(host, "inventory_hostname", other,
                                f"{host} cannot resolve this name yet; the common role will "
                                f"add {target} {other} to /etc/hosts",
                                "nothing, or add it to DNS", level=WARNING)
                else:
                    yield Issue(host, "inventory_hostname", other,
                                f"{host} cannot resolve this host name",
                                f"add '<address> {other}' to /etc/hosts on {host} (or DNS), or "
                                "set common_manage_etc_hosts: true")
            elif other != host and str(address).startswith("127."):
                yield Issue(host, "inventory_hostname", other,
                            f"{host} resolves it to the loopback address {address}",
                            f"fix /etc/hosts on {host} so {other} maps to its network address")
            elif other == host and len(inv.names) > 1 and str(address).startswith(
                    "127.") and set(
                    inv.groups_of(host)) & {"hdfs_namenode", "yarn_resourcemanager",
                                            "zookeeper", "kafka"}:
                yield Issue(host, "inventory_hostname", host,
                            f"its own name resolves to {address}, so its services would listen "
                            "on loopback only and other hosts could not reach them",
                            f"remove '{address} {host}' from /etc/hosts on {host}")


@rule
def free_disk(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        mounts = inv.fact(host, "mounts")
        # The release trees and their tarballs (about 1.2 GB) as well as the data.
        dirs = inv.data_dirs(host) + [(name, str(inv.var(host, name))) for name in
                                      ("artifacts_install_dir", "artifacts_remote_cache_dir")]
        if not mounts or not dirs:
            continue
        threshold = _as_int(inv.var(host, "preflight_min_free_disk_mb"))
        threshold = threshold if _is_int(threshold) else 2048
        by_mount: dict[str, list[tuple[str, str]]] = {}
        available: dict[str, int] = {}
        for variable, path in dirs:
            mount = _mount_of(path, mounts)
            if mount is None:
                continue
            by_mount.setdefault(mount["mount"], []).append((variable, path))
            available[mount["mount"]] = int(mount.get("size_available") or 0)
        for mount, entries in by_mount.items():
            free_mb = available[mount] // (1024 * 1024)
            if free_mb < threshold:
                yield Issue(host, ",".join(v for v, _p in entries), [p for _v, p in entries],
                            f"only {free_mb} MB free on {mount} (needs "
                            f"preflight_min_free_disk_mb={threshold})",
                            f"free space on {mount}, put the data dirs on a larger disk, or "
                            "lower preflight_min_free_disk_mb")


def _mount_of(path: str, mounts: list[dict]) -> dict | None:
    best = None
    for mount in mounts:
        point = str(mount.get("mount", ""))
        prefix = point.rstrip("/") + "/"
        if (path == point or path.startswith(prefix) or point == "/") and (
                best is None or len(point) > len(best["mount"])):
            best = mount
    return best


@rule
def ports_in_use(inv: Inventory) -> Iterable[Issue]:
    external = {b["port"] for _unused, b in inv.all_brokers()}
    for host in inv.names:
        if not inv.has_fact(host, "listening"):
            continue
        listening = inv.fact(host, "listening") or []
        ours = inv.service_users(host)
        # (service, port, variable that sets the port, what else to do)
        wanted: list[tuple[str, int, str, str]] = []
        for listener, port, _unused in inv.kafka_ports(host):
            wanted.append((listener, port, "kafka_brokers.port",
                           f"move {listener} to another port"))
        for service, port, exclusive in inv.service_ports(host):
            if exclusive:
                variable = PORT_VARIABLES.get(service, "port")
                wanted.append((service, port, variable,
                               f"move {service} to another port" if variable != "port"
                               else f"free it for {service}"))
        if inv.forwarding():
            own = {b["port"] for b in inv.valid_brokers(host)}
            for port in sorted(external - own):
                wanted.append(("the Kafka localhost forwarder", port, "kafka_brokers.port",
                               "set kafka_forward_external_ports: false"))
        reported = set()
        for service, port, variable, other_fix in wanted:
            for sock in listening:
                if sock.get("port") != port or port in reported:
                    continue
                if _is_ours(sock, ours, port in external, inv.forwarding()):
                    if service.startswith("Kafka broker") and _is_forwarder(sock):
                        # A broker of this host now wants a port a forwarder still holds.
                        reported.add(port)
                        yield Issue(host, variable, port,
                                    f"port needed by {service} is held by the localhost "
                                    f"forwarder {sock.get('unit') or 'socat'}",
                                    f"stop it first (systemctl disable --now "
                                    f"kafka-forward@{port}) or keep the broker on its old port",
                                    level=WARNING)
                    continue
                reported.add(port)
                who = _describe(sock)
                yield Issue(host, variable, port,
                            f"port needed by {service} is already in use by {who}",
                            f"stop that process on {host}, or {other_fix}")


def _is_ours(sock: dict, service_users: set[str], kafka_external: bool,
             forwarding: bool) -> bool:
    """A socket of our own services: a service user's, or a forwarder on a Kafka port."""
    if sock.get("user") in service_users:
        return True
    if not kafka_external:
        return False
    if _is_forwarder(sock):
        return True
    # roles/kafka runs socat as nobody on 127.0.0.1; without CAP_SYS_PTRACE (containers)
    # and outside its unit's cgroup the process name is not visible.
    return (forwarding and not sock.get("process") and sock.get("user") == "nobody"
            and sock.get("address") == "127.0.0.1")


def _is_forwarder(sock: dict) -> bool:
    names = f"{sock.get('process') or ''} {sock.get('unit') or ''}"
    return any(p in names for p in FORWARDER_PROCESSES)


def _describe(sock: dict) -> str:
    who = sock.get("process") or sock.get("unit") or "an unknown process"
    details = [f"pid {sock['pid']}"] if sock.get("pid") else []
    if sock.get("process") and sock.get("unit"):
        details.append(f"unit {sock['unit']}")
    details.append(f"user {sock['user']}" if sock.get("user") else "user root or unknown")
    return f"{who} ({', '.join(details)})"
