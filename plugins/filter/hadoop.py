"""Filters of the hadoop role: HDFS user directories and the restart plan.

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


class FilterModule:
    def filters(self):
        return {"hadoop_user_dirs": hadoop_user_dirs,
                "hadoop_restart_plan": hadoop_restart_plan}
