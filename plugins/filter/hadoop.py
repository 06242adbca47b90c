"""Filters of the hadoop role: HDFS user directories, the restart plan and the keytabs.

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


class FilterModule:
    def filters(self):
        return {"hadoop_user_dirs": hadoop_user_dirs,
                "hadoop_keytabs": hadoop_keytabs,
                "hadoop_restart_plan": hadoop_restart_plan}
