"""Filter of the spark role: the NodeManagers PySpark cannot use from this host.

PySpark refuses a worker whose Python minor version differs from the driver's
(PYTHON_VERSION_MISMATCH): in a mixed lab, a Debian 13 NodeManager (Python 3.13) cannot
run the executors of a driver on Debian 12 (3.11). spark-defaults.conf keeps YARN
applications off those hosts (spark.yarn.exclude.nodes).
"""

from __future__ import annotations


def _minor(facts) -> tuple | None:
    version = ((facts or {}).get("python") or {}).get("version") or {}
    if "major" not in version or "minor" not in version:
        return None
    return (version["major"], version["minor"])


def spark_python_mismatched(nodemanagers, hostvars, facts) -> list[str]:
    """The NodeManagers whose python3 is another minor version than facts' (the driver's
    host). A host whose facts were not read is kept: nothing is known against it."""
    mine = _minor(facts)
    if mine is None:
        return []
    mismatched = []
    for host in nodemanagers or []:
        theirs = _minor(((hostvars or {}).get(host) or {}).get("ansible_facts"))
        if theirs is not None and theirs != mine:
            mismatched.append(host)
    return mismatched


class FilterModule:
    def filters(self):
        return {"spark_python_mismatched": spark_python_mismatched}
