"""Filters of the hadoop role: HDFS user directories, the restart plan, the keytabs,
and where the NameNode and the ResourceManager stand with the hosts being decommissioned.

What roles/hadoop/vars/main.yml used to compute in Jinja loops, as plain functions with
unit tests (tests/unit/test_filters.py).
"""

from __future__ import annotations


def hadoop_user_dirs(users, *, group: str, mode: str = "0755") -> list[dict]:
    """/user/<name> for every HDFS user, owned by that user."""
    return [{"path": f"/user/{name}", "owner": name, "group": group, "mode": mode}
            for name in users or []]


def hadoop_restart_plan(daemons, *, play_hosts, hostvars) -> list[dict]:
    """The pending restarts of every host, daemons in start order and hosts in play
    order, so DataNodes and NodeManagers restart one host at a time."""
    plan = []
    for daemon in daemons or []:
        for host in play_hosts or []:
            pending = hostvars[host].get("hadoop_restart_pending") or []
            if daemon["name"] in pending:
                plan.append({"daemon": daemon["name"], "port": daemon["port"], "host": host})
    return plan


def hadoop_stale_watch(daemons, *, readers: dict, conf_dir: str, extra=(),
                       unit_dir: str = "/etc/systemd/system") -> dict[str, list[str]]:
    """Daemon name -> every file it reads: the configuration files listing it among their
    readers, its unit file and `extra` (keytabs, keystores), for streamstack_stale."""
    return {name: sorted({f"{conf_dir}/{file}" for file, names in (readers or {}).items()
                          if name in (names or [])}
                         | {f"{unit_dir}/{name}.service"} | set(extra or ()))
            for name in daemons or []}


def hadoop_keytabs(daemons, *, principals: dict, host: str, realm: str, keytab_dir: str,
                   group: str, spnego_keytab: str) -> list[dict]:
    """The secure profile's keytabs of one host: one per service user with its daemons'
    principals (<primary>/<host>@realm, 0400), and the web servers' HTTP/<host>@realm,
    read by every daemon user of the host through the group (0440)."""
    out = []
    for user in dict.fromkeys(d["user"] for d in daemons or []):
        primaries = dict.fromkeys(principals[d["name"]] for d in daemons if d["user"] == user)
        out.append({"path": f"{keytab_dir}/{user}.service.keytab", "owner": user,
                    "group": group, "mode": "0400",
                    "principals": [f"{p}/{host}@{realm}" for p in primaries]})
    if daemons:
        out.append({"path": spnego_keytab, "owner": "root", "group": group, "mode": "0440",
                    "principals": [f"HTTP/{host}@{realm}"]})
    return out


def _names(host, hostvars) -> set[str]:
    """What a daemon of this inventory host may be called by the masters: its inventory
    name, short name, ansible_host and default address."""
    names = {host, host.split(".")[0]}
    if hostvars is not None and host in hostvars:
        found = hostvars[host]
        names.add(str(found.get("ansible_host", host)))
        address = (found.get("ansible_facts") or {}).get("default_ipv4", {}).get("address")
        if address:
            names.add(address)
    return names


def _host_of(address: str) -> set[str]:
    host = (address or "").rsplit(":", 1)[0]
    return {host, host.split(".")[0]} if host else set()


def hadoop_datanodes_of(live_nodes, hosts, hostvars=None) -> dict:
    """{host: adminState} of the hosts' live DataNodes, from NameNodeInfo's LiveNodes
    ("In Service", "Decommission In Progress", "Decommissioned"); hosts without a live
    DataNode are left out."""
    states = {}
    for host in hosts or []:
        names = _names(host, hostvars)
        for key, node in (live_nodes or {}).items():
            if names & (_host_of(key) | _host_of(node.get("xferaddr", ""))):
                states[host] = node.get("adminState", "")
    return states


# A host that registered again keeps its old entry too: report the most active one.
_NODE_STATE_ORDER = ["RUNNING", "DECOMMISSIONING", "UNHEALTHY", "NEW", "REBOOTED"]


def hadoop_nodemanagers_of(cluster_nodes, hosts, hostvars=None) -> dict:
    """{host: state} of the hosts' NodeManagers, from the ResourceManager's
    /ws/v1/cluster/nodes (RUNNING, DECOMMISSIONING, DECOMMISSIONED, LOST, ...)."""
    nodes = ((cluster_nodes or {}).get("nodes") or {}).get("node") or []
    rank = {state: index for index, state in enumerate(_NODE_STATE_ORDER)}
    states = {}
    for host in hosts or []:
        names = _names(host, hostvars)
        found = [node.get("state", "") for node in nodes
                 if names & (_host_of(node.get("nodeHostName", ""))
                             | _host_of(node.get("nodeHTTPAddress", "")))]
        if found:
            states[host] = min(found, key=lambda state: rank.get(state, len(rank)))
    return states


class FilterModule:
    def filters(self):
        return {"hadoop_user_dirs": hadoop_user_dirs,
                "hadoop_keytabs": hadoop_keytabs,
                "hadoop_restart_plan": hadoop_restart_plan,
                "hadoop_stale_watch": hadoop_stale_watch,
                "hadoop_datanodes_of": hadoop_datanodes_of,
                "hadoop_nodemanagers_of": hadoop_nodemanagers_of}
