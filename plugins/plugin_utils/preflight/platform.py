"""Rules about what a host brings as it comes (a cloud or netinst image): its OS
release, python3-apt, the packages the roles need and whether apt can fetch them, the
clock, memory for the heaps the inventory implies, names that map back, free ids.

They read ``facts["brings"]`` (the preflight task "Read what the host brings") and the
controller's view in ``data["controller"]`` (``epoch``: its clock when the rules ran,
``check_mode``). A host whose facts were not read is skipped, as elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .base import ERROR, WARNING, Inventory, Issue, _as_int, _truthy, rule

# OS releases the roles are tested on: {os-release ID: [VERSION_ID, ...]}.
SUPPORTED_RELEASES = {"debian": ["12", "13"]}
# The JDKs (feature releases) each Debian release's main archive carries: Debian 13 has
# no OpenJDK 17 (plugins/filter/java.py picks 21 there).
RELEASE_JDKS = {"12": [17], "13": [21, 25]}
# The Java feature releases each product runs on here. Upstream documents Hadoop 3.3 on
# 8 and 11 and Spark 3.5 on 8 to 17; Hadoop on 17 and 21 runs with the launchers'
# --add-opens (streamstack/launchers.py), and Spark 3.5.0 on 21, on the mixed lab's
# Debian 13 host (README, "Hosts as users bring them"). Java 23 and later refuse
# Subject.getSubject, which Hadoop's client and Spark call ("UnsupportedOperationException:
# getSubject is not supported" on Debian 13's OpenJDK 25). Kafka 3.6 on 21 is the mixed
# lab's Debian 13 broker; ZooKeeper 3.8 on 21 was tried standalone there (a znode created
# and read); 25 is left out for both as untried with their SASL logins.
PRODUCT_JAVA = [
    # (product, its groups, the variable of its JDK, the feature releases it runs on)
    ("ZooKeeper 3.8", ["zookeeper"], "zookeeper_java_home", [11, 17, 21]),
    ("Kafka 3.6", ["kafka", "kafka_controller"], "kafka_java_home", [11, 17, 21]),
    ("Hadoop 3.3.6", ["hdfs_namenode", "hdfs_datanode", "hdfs_journalnode",
                      "yarn_resourcemanager", "yarn_nodemanager"], "hadoop_java_home",
     [11, 17, 21]),
    # Executors run in YARN containers, on their NodeManager's JDK.
    ("Spark 3.5 executors", ["yarn_nodemanager"], "hadoop_java_home", [11, 17, 21]),
    ("Spark 3.5", ["spark_client"], "spark_java_home", [11, 17, 21]),
    ("the Spark jobs", ["spark_client"], "spark_jobs_java_home", [11, 17, 21]),
]
_JDK_PACKAGE = re.compile(r"^openjdk-(\d+)-")
# Kerberos refuses tickets beyond 300 s of skew (krb5's clockskew); half of it leaves
# room for the seconds between the hosts' reading and the rules.
MAX_CLOCK_SKEW_S = 150
# Heaps the roles give each daemon, by the group that runs it: (variable, daemon).
HEAP_VARIABLES = {
    "zookeeper": [("zookeeper_heap_mb", "ZooKeeper")],
    "hdfs_namenode": [("hadoop_namenode_heap", "NameNode"),
                      ("hadoop_secondarynamenode_heap", "SecondaryNameNode")],
    "hdfs_datanode": [("hadoop_datanode_heap", "DataNode")],
    "yarn_resourcemanager": [("hadoop_resourcemanager_heap", "ResourceManager")],
    "yarn_nodemanager": [("hadoop_nodemanager_heap", "NodeManager"),
                         ("hadoop_yarn_nodemanager_memory_mb", "NodeManager containers")],
}
_SIZE = re.compile(r"^(?P<number>\d+)(?P<unit>[kmgKMG]?)$")
_XMX = re.compile(r"-Xmx(\d+[kmgKMG]?)")


def _megabytes(value: object, bare_unit: str = "m") -> int | None:
    """'384m', '1g', 384 (MB unless bare_unit says otherwise) -> MB."""
    match = _SIZE.match(str(value).strip())
    if not match:
        return None
    number = int(match["number"])
    unit = (match["unit"] or bare_unit).lower()
    return {"k": number // 1024, "m": number, "g": number * 1024}[unit]


def _brings(inv: Inventory, host: str) -> dict | None:
    brings = inv.fact(host, "brings")
    return brings if isinstance(brings, dict) else None


@rule
def os_release(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        brings = _brings(inv, host)
        if not brings or "os" not in brings:
            continue
        found = brings.get("os") or {}
        versions = SUPPORTED_RELEASES.get(str(found.get("id")))
        if versions and str(found.get("version_id")) in versions:
            continue
        supported = ", ".join(f"{name} {v}" for name, vs in SUPPORTED_RELEASES.items()
                              for v in vs)
        yield Issue(host, "ansible_host", found.get("name") or "no /etc/os-release",
                    f"the roles support {supported} (they install Java, Kafka's, Hadoop's and "
                    "Spark's needs from its apt sources)",
                    f"use a {supported} host for {host}, or remove it from the inventory")


def _java_of(inv: Inventory, host: str, home: str, brings: dict) -> tuple[int | None, str]:
    """The feature release the JDK at home has or will have, and where that was read."""
    found = (brings.get("jdks") or {}).get(home)
    if isinstance(found, int):
        return found, f"{home} holds Java {found}"
    if home == inv.var(host, "common_java_home"):
        package = str(inv.var(host, "common_java_package") or "")
        match = _JDK_PACKAGE.match(package)
        if match:
            return int(match[1]), f"{home}: Java {match[1]}, from {package} (common role)"
    return None, f"no JDK at {home}"


@rule
def java_per_product(inv: Inventory) -> Iterable[Issue]:
    """Each product's JDK exists or will (the common role's package, which the host's
    Debian release must carry) and is one that product runs on."""
    for host in inv.names:
        brings = _brings(inv, host)
        if not brings or "jdks" not in brings:
            continue
        version = str((brings.get("os") or {}).get("version_id"))
        package = str(inv.var(host, "common_java_package") or "")
        match = _JDK_PACKAGE.match(package)
        carried = RELEASE_JDKS.get(version)
        if match and carried and int(match[1]) not in carried and package not in (
                brings.get("packages") or []):
            jdks = ", ".join(f"openjdk-{n}-jdk-headless" for n in carried)
            yield Issue(host, "common_java_package", package,
                        f"Debian {version} has no {package} (it carries {jdks})",
                        f"set common_java_package for {host} to one of {jdks} (or remove it "
                        "to get the release's default)")
            continue
        groups = set(inv.groups_of(host))
        for product, product_groups, variable, supported in PRODUCT_JAVA:
            if not groups.intersection(product_groups):
                continue
            home = str(inv.var(host, variable) or "").rstrip("/")
            if not home:
                continue
            feature, what = _java_of(inv, host, home, brings)
            if feature in supported:
                continue
            runs_on = " or ".join(f"Java {n}" for n in supported)
            installed = ", ".join(f"{path} (Java {n})" for path, n in
                                  sorted((brings.get("jdks") or {}).items())
                                  if n in supported) or "none installed"
            yield Issue(host, variable, home,
                        f"{what}; {product} runs on {runs_on}",
                        f"point {variable} for {host} at a JDK of {runs_on} ({installed}), "
                        "or install one there, or move this host out of "
                        f"{'/'.join(sorted(groups.intersection(product_groups)))}")


@rule
def packages_and_apt(inv: Inventory) -> Iterable[Issue]:
    """What the roles will install, and whether apt can: a missing package is fine when
    apt's sources answer, an error when they do not."""
    for host in inv.names:
        brings = _brings(inv, host)
        if not brings or "packages" not in brings:
            continue
        if not brings.get("apt_get"):
            yield Issue(host, "ansible_host", "no apt-get",
                        "the roles install packages with apt", "use a Debian host")
            continue
        installed = set(brings.get("packages") or [])
        wanted = [str(p) for p in (inv.var(host, "common_packages") or [])]
        missing = [p for p in dict.fromkeys(wanted + ["python3-apt"]) if p not in installed]
        if not missing:
            continue
        sources = brings.get("apt_sources") or {}
        unreachable = {uri: why for uri, why in sources.items() if why}
        via = "its apt proxy" if brings.get("apt_proxy") else "its apt sources"
        if sources and len(unreachable) < len(sources):
            if inv.controller.get("check_mode") and "python3-apt" in missing:
                yield Issue(host, "python3-apt", "not installed",
                            "check mode cannot read the packages of a host without "
                            "python3-apt, nor preview their install",
                            "run site.yml once without --check (the common role installs "
                            f"it first), or `apt-get install python3-apt` on {host}")
                continue
            yield Issue(host, "common_packages", missing,
                        f"not installed yet; the common role installs them from {via}",
                        "nothing to do (preinstall them to save the time)", level=WARNING)
            continue
        detail = "; ".join(f"{uri}: {why}" for uri, why in unreachable.items()) or \
            "no http(s) source in /etc/apt/sources.list(.d)"
        yield Issue(host, "common_packages", missing,
                    f"not installed, and {via} do not answer ({detail})",
                    f"give {host} a reachable Debian mirror (or Acquire::http::Proxy) in its "
                    "apt configuration, or install these packages on it beforehand")


@rule
def clock_skew(inv: Inventory) -> Iterable[Issue]:
    now = inv.controller.get("epoch")
    if not isinstance(now, int | float):
        return
    for host in inv.names:
        brings = _brings(inv, host)
        if not brings or not isinstance(brings.get("epoch"), int | float):
            continue
        skew = brings["epoch"] - now
        # The host read its clock before the rules ran: up to that delay is not skew.
        if -MAX_CLOCK_SKEW_S - 60 <= skew <= MAX_CLOCK_SKEW_S:
            continue
        kerberos = inv.var(host, "streamstack_security") == "kerberos"
        synced = brings.get("clock_synchronized")
        state = {True: "NTP says synchronized", False: "NTP not synchronized",
                 None: "no NTP status"}[synced]
        yield Issue(host, "clock", f"{skew:+.0f} s from the controller",
                    f"the clock is off ({state})"
                    + ("; Kerberos refuses tickets beyond 300 s of skew" if kerberos else ""),
                    f"enable time sync on {host} (systemd-timesyncd or chrony) and on this "
                    "controller", level=ERROR if kerberos else WARNING)


@rule
def memory_for_heaps(inv: Inventory) -> Iterable[Issue]:
    for host in inv.names:
        total = inv.fact(host, "memtotal_mb")
        if not isinstance(total, int):
            continue
        groups = set(inv.groups_of(host))
        needs: list[tuple[str, str, int]] = []
        for group, entries in HEAP_VARIABLES.items():
            if group not in groups:
                continue
            for variable, daemon in entries:
                size = _megabytes(inv.var(host, variable))
                if size:
                    needs.append((variable, daemon, size))
        brokers = inv.valid_brokers(host)
        heap = _XMX.search(str(inv.var(host, "kafka_heap_opts") or ""))
        if brokers and heap and (size := _megabytes(heap.group(1))):
            needs.append(("kafka_heap_opts", f"{len(brokers)} Kafka broker(s)",
                          size * len(brokers)))
        wanted = sum(size for _v, _d, size in needs)
        containers = _megabytes(inv.var(host, "hadoop_yarn_nodemanager_memory_mb")) or 0
        # Containers alone beyond the host's memory: yarn_memory says so already.
        if wanted <= total or ("yarn_nodemanager" in groups and containers > total):
            continue
        parts = ", ".join(f"{daemon} {size} MB" for _unused, daemon, size in needs)
        yield Issue(host, ",".join(dict.fromkeys(v for v, _d, _s in needs)), f"{wanted} MB",
                    f"the daemons of this host would take {wanted} MB ({parts}), more than its "
                    f"{total} MB of memory",
                    f"give {host} more memory, lower those heaps, or move some of its groups "
                    "to another host")


@rule
def names_map_back(inv: Inventory) -> Iterable[Issue]:
    """An address must map back to a name: the NameNode refuses a DataNode whose address
    it cannot resolve, and Kerberos principals need the inventory name itself. The
    common role's /etc/hosts does both when common_manage_etc_hosts is on."""
    for host in inv.names:
        brings = _brings(inv, host)
        if not brings or _truthy(inv.var(host, "common_manage_etc_hosts")):
            continue
        kerberos = inv.var(host, "streamstack_security") == "kerberos"
        for other, name in (brings.get("reverse") or {}).items():
            if name is None and (inv.fact(host, "resolves") or {}).get(other):
                yield Issue(host, "inventory_hostname", other,
                            f"{host} resolves {other} but cannot map its address back to a "
                            "name (the NameNode refuses such a DataNode)",
                            f"set common_manage_etc_hosts: true, or add a PTR record for {other}")
                continue
            if not kerberos or name is None or name == other or str(name).startswith(
                    f"{other}."):
                continue
            yield Issue(host, "inventory_hostname", other,
                        f"{host} maps its address back to {name}, not to {other}: its "
                        "Kerberos principals would not match",
                        f"set common_manage_etc_hosts: true, or fix DNS/PTR so {other}'s "
                        "address maps back to it")


@rule
def service_ids_free(inv: Inventory) -> Iterable[Issue]:
    """A pinned id held by another name would give a new service user someone else's
    files (useradd refuses, halfway through the common role)."""
    for host in inv.names:
        passwd = inv.fact(host, "getent_passwd")
        group_db = inv.fact(host, "getent_group")
        if not isinstance(passwd, dict) or not isinstance(group_db, dict):
            continue
        uids = {str(fields[1]): name for name, fields in passwd.items() if len(fields) > 1}
        gids = {str(fields[1]): name for name, fields in group_db.items() if len(fields) > 1}
        for user in inv.var(host, "common_service_users") or []:
            uid = _as_int(user.get("uid"))
            holder = uids.get(str(uid))
            if uid is not None and user["name"] not in passwd and holder not in (None,
                                                                                 user["name"]):
                yield Issue(host, "common_service_users[].uid", uid,
                            f"the id pinned for {user['name']} belongs to {holder}",
                            f"set another free uid for {user['name']} in common_service_users")
        for name, gid in (inv.var(host, "common_service_group_ids") or {}).items():
            holder = gids.get(str(gid))
            if name not in group_db and holder not in (None, name):
                yield Issue(host, "common_service_group_ids", {name: gid},
                            f"the id pinned for the group {name} belongs to {holder}",
                            f"set another free gid for {name} in common_service_group_ids")
