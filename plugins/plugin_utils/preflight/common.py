"""Preflight rules over the whole inventory: reaching the hosts, the settings (and the
choices they accept) and the required groups."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .base import CLUSTER_VARIABLES, VERSION_VARIABLES, WARNING, Inventory, Issue, _show, rule

KAFKA_MODES = ("zookeeper", "kraft")
ARTIFACTS_SOURCES = ("maven", "archive")
# streamstack_security: none (the handout's open lab) or kerberos (the secure profile).
SECURITY_PROFILES = ("none", "kerberos")

# Groups every deployment needs; zookeeper only when Kafka is not in KRaft mode.
REQUIRED_GROUPS = (
    "hdfs_namenode",
    "yarn_resourcemanager",
    "kafka",
    "zookeeper",
    "hdfs_datanode",
    "yarn_nodemanager",
    "spark_client",
)
# Groups whose second host turns on HA (experimental): NameNodes (at most three here,
# what the lab tests) and ResourceManagers.
HA_GROUPS = {"hdfs_namenode": ("NameNode", 3), "yarn_resourcemanager": ("ResourceManager", 3)}


# --- reaching the hosts ----------------------------------------------------------------


@rule
def hosts_answer(inv: Inventory) -> Iterable[Issue]:
    """A host that was tried and did not answer (or would not let us become root)."""
    for host in inv.names:
        reach = inv.hosts[host].get("reach")
        if not reach or reach.get("answered"):
            continue
        message = " ".join(str(reach.get("message") or "no answer").split())[:300]
        if reach.get("stage") == "become":
            yield Issue(host, "ansible_become", reach.get("address"),
                        f"connected, but could not become root: {message}",
                        "give ansible_user passwordless sudo on the host, or pass "
                        "--ask-become-pass (-K)")
        elif reach.get("stage") == "python":
            yield Issue(host, "ansible_python_interpreter", reach.get("address"),
                        f"connected, but Ansible's module did not run: {message}",
                        "install python3 on the host (`apt-get install python3`: a minimal netinst "
                        "image has none), or set ansible_python_interpreter")
        elif reach.get("over_ssh", True):
            yield Issue(host, "ansible_host", reach.get("address"),
                        f"unreachable: {message}",
                        "check ansible_host/ansible_port/ansible_user in the inventory, that "
                        "the host is up and runs sshd, that this controller's key is in the "
                        "user's authorized_keys and the host key is in known_hosts")
        else:
            yield Issue(host, "ansible_connection", reach.get("address"),
                        f"unreachable: {message}",
                        "check that the host answers over this connection (for the container "
                        "lab: `streamstack lab status`) and that become works there")


# --- settings --------------------------------------------------------------------------


@rule
def templates_render(inv: Inventory) -> Iterable[Issue]:
    """A variable whose template fails: a play using it would fail there."""
    for host in inv.names:
        for name, failed in (inv.hosts[host].get("template_errors") or {}).items():
            yield Issue(host, name, failed["template"],
                        f"its template fails: {failed['error']}",
                        "define what the template uses, or correct it where it is set "
                        "(inventory, group_vars, role defaults)")


@rule
def known_choices(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        mode = inv.var(host, "kafka_mode")
        if mode not in KAFKA_MODES:
            yield Issue(host, "kafka_mode", mode, "unknown Kafka mode",
                        f"set kafka_mode to one of {', '.join(KAFKA_MODES)}")
        source = inv.var(host, "artifacts_source")
        if source not in ARTIFACTS_SOURCES:
            yield Issue(host, "artifacts_source", source, "unknown artifacts source",
                        f"set artifacts_source to one of {', '.join(ARTIFACTS_SOURCES)}")
        security = inv.var(host, "streamstack_security")
        if security not in SECURITY_PROFILES:
            yield Issue(host, "streamstack_security", security, "unknown security profile",
                        f"set streamstack_security to one of {', '.join(SECURITY_PROFILES)}")
        elif security == "kerberos" and mode == "kraft":
            yield Issue(host, "streamstack_security", security,
                        "the secure profile secures Kafka in ZooKeeper mode only (its KRaft "
                        "controller listener would stay plaintext)",
                        "use kafka_mode=zookeeper with it, or streamstack_security=none")


@rule
def same_on_every_host(inv: Inventory) -> Iterable[Issue]:
    for name in CLUSTER_VARIABLES:
        values = {}
        for host in inv.names:
            values.setdefault(_show(inv.var(host, name)), []).append(host)
        if len(values) > 1:
            for shown, hosts in values.items():
                yield Issue(", ".join(hosts), name, shown,
                            "differs between hosts; it describes the whole cluster",
                            f"set {name} once, in group_vars/all")


@rule
def pinned_versions(inv: Inventory) -> Iterable[Issue]:
    from .. import artifacts_catalog as catalog

    for host in inv.names:
        source = inv.var(host, "artifacts_source")
        sums = inv.var(host, "artifacts_archive_sha512") or {}
        sums = sums if isinstance(sums, dict) else {}
        for name, product in catalog.PRODUCTS.items():
            variable = VERSION_VARIABLES[name]
            version = inv.var(host, variable)
            if version is not None and str(version) != product.version:
                yield Issue(host, variable, str(version),
                            f"no pinned artifacts for {name} {version} (supported: "
                            f"{product.version})",
                            f"use {name} {product.version}, or add {name} {version} with its "
                            "checksums to plugins/plugin_utils/artifacts_catalog.py")
                continue
            if source != "archive" or product.archive is None:
                continue
            archive = product.archive
            pinned = sums.get(name) or sums.get(archive.filename) or archive.sha512
            if not pinned:
                yield Issue(host, f"artifacts_archive_sha512.{name}", None,
                            f"artifacts_source=archive needs a pinned SHA-512 for "
                            f"{archive.filename} and none is pinned",
                            f"set artifacts_archive_sha512.{name} to the official SHA-512 of "
                            f"{archive.filename} (the .sha512 file next to it on the Apache "
                            "archive), or use artifacts_source=maven")
            elif not re.fullmatch(r"[0-9a-fA-F]{128}", str(pinned).strip()):
                yield Issue(host, f"artifacts_archive_sha512.{name}", pinned,
                            "not a SHA-512 (128 hex digits)",
                            f"copy the hex digest from {archive.filename}.sha512")


# --- groups ----------------------------------------------------------------------------


@rule
def required_groups(inv: Inventory) -> Iterable[Issue]:
    kraft = inv.kafka_mode() == "kraft"
    for group in REQUIRED_GROUPS:
        if group == "zookeeper" and kraft:
            continue
        if not inv.group(group):
            yield Issue("inventory", f"groups.{group}", [],
                        "no host in a required group",
                        f"add a host under children: {group}: hosts: in the inventory")


@rule
def high_availability(inv: Inventory) -> Iterable[Issue]:
    """Two or more NameNodes or ResourceManagers turn on HA: it needs the ZooKeeper
    ensemble (elections, the RMs' state store), NameNode HA an odd quorum of 3 or more
    JournalNodes, and this slice of HA does not cover the secure profile yet."""
    journalnodes = inv.group("hdfs_journalnode")
    for group, (service, most) in HA_GROUPS.items():
        hosts = inv.group(group)
        if len(hosts) < 2:
            continue
        if len(hosts) > most:
            yield Issue("inventory", f"groups.{group}", hosts,
                        f"more than {most} {service}s; streamstack's HA is tested with 2 or 3",
                        f"keep 2 or 3 hosts in {group}")
        if not inv.group("zookeeper"):
            yield Issue("inventory", "groups.zookeeper", [],
                        f"{service} HA elects the active {service} in ZooKeeper, and there "
                        "is no zookeeper group",
                        "add 3 hosts under children: zookeeper: hosts:, or keep one host in "
                        f"{group}")
        security = inv.cluster_var("streamstack_security")
        if security == "kerberos":
            yield Issue("inventory", "streamstack_security", security,
                        f"{service} HA is not supported with the secure profile yet "
                        "(principals of the JournalNodes and ZKFCs, ZooKeeper ACLs)",
                        f"keep one host in {group}, or set streamstack_security: none")
    namenodes = inv.group("hdfs_namenode")
    if len(namenodes) > 1 and (len(journalnodes) < 3 or len(journalnodes) % 2 == 0):
        yield Issue("inventory", "groups.hdfs_journalnode", journalnodes,
                    f"NameNode HA ({len(namenodes)} hosts in hdfs_namenode) needs an odd "
                    "number of JournalNodes, 3 or more: edits are written to a majority, "
                    "and an even count tolerates no more failures than one less",
                    "list 3 (or 5) hosts under children: hdfs_journalnode: hosts:")
    if len(namenodes) < 2 and journalnodes:
        yield Issue("inventory", "groups.hdfs_journalnode", journalnodes,
                    "JournalNodes run only with NameNode HA (2 or more hosts in "
                    "hdfs_namenode): these hosts get none",
                    "add a second host to hdfs_namenode, or empty hdfs_journalnode",
                    level=WARNING)
