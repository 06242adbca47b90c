"""Preflight rules: what is wrong with an inventory, before anything changes.

The rules are pure functions over one data structure, so they are unit tested without
hosts. ``playbooks/preflight.yml`` gathers a few read-only facts on every host, builds the
structure on the controller (``plugins/action/streamstack_preflight.py``) and
calls :func:`check`; ``streamstack preflight`` shows the same list.

The structure::

    {"hosts": {
        "hadoop-master": {
            "groups": ["zookeeper", "kafka", ...],
            "vars": {"kafka_brokers": [{"id": 0, "port": 9092}], "kafka_mode": "zookeeper",
                     ...},          # the variables of VARIABLE_DEFAULTS, as the host sees them
            "template_errors": {    # those of them whose template failed (absent: none)
                "hadoop_name_dir": {"template": "{{ hadoop_data_dir }}/name",
                                    "error": "'data_root' is undefined"}},
            "facts": {              # absent or partial when not gathered (unit tests)
                "memtotal_mb": 24000,
                "default_ipv4": "172.18.0.2",
                "mounts": [{"mount": "/", "size_available": 1234}],       # bytes
                "listening": [{"port": 9092, "address": "0.0.0.0", "process": "java",
                               "user": "kafka"}],
                "resolves": {"hadoop-worker1": "172.18.0.3", "other": None},
                "identities": {     # what the data directories say this host already is
                    "myid": "1",    # <zookeeper_data_dir>/myid, None if absent
                    "kafka": [{"dir": "/var/lib/kafka/broker-0", "node_id": "0",
                               "cluster_id": "Ab3..."}],       # each meta.properties
                    "cluster_id_file": None},  # <kafka_data_dir>/cluster.id (KRaft)
            },
            "reach": {              # absent: not tried (unit tests); else the first contact
                "answered": False, "address": "debian@192.0.2.10:22 (ssh)", "over_ssh": True,
                "stage": "connect",  # or "become" (sudo failed), "python" (no module ran)
                "message": "ssh: connect to host 192.0.2.10 port 22: Connection refused"},
            },
        ...}}

Every problem is an :class:`Issue`; its text is
``<host>: <variable>=<value>: <problem>. Fix: <what to do>``.

Where things live (each rule module holds the rules of one part of the stack):

- ``base.py``: the levels, the tables the Inventory and several rules read (service
  ports, data directories, versions, VARIABLE_DEFAULTS, cluster-wide variables),
  :class:`Issue`, the :class:`Inventory` view over the structure, the value helpers and
  the rule registry (``RULES``, ``@rule``);
- ``common.py``: reaching the hosts, the settings (templates, known choices, cluster-wide
  values, pinned versions) and the required groups, with the choices and groups these
  rules accept;
- ``zookeeper.py``: the ensemble's size and its server ids;
- ``kafka.py``: Kafka data identities, the KRaft migration and controllers, the brokers
  and their ports, decommissioning, topic replication;
- ``hadoop.py``: YARN memory, log aggregation in the secure profile;
- ``hosts.py``: the facts gathered on each host: name resolution, free disk, ports in use
  (and the localhost forwarders that may hold a Kafka port);
- ``platform.py``: what a host brings as it comes: OS release, python3-apt, packages
  and apt's sources, clock, memory for the heaps, names mapping back, free pinned ids;
- ``engine.py``: :func:`check` (every rule, merged), ``errors``, ``warnings``,
  ``format_errors``;
- ``facts.py``: parsing what the playbook gathered (``parse_ss``, ``users_by_uid``).

The rules run in the order of ``RULES``: their modules' import order below, then the
order within each module. The names other code uses are re-exported here.
"""

# isort: off
# The rule modules first, in the order their rules run (each registers with @rule).
from . import common, zookeeper, kafka, hadoop, hosts, platform  # noqa: F401
# isort: on
from .base import ERROR, RULES, VARIABLE_DEFAULTS, WARNING, Inventory, Issue, rule
from .engine import check, errors, format_errors, warnings
from .facts import parse_ss, users_by_uid
from .kafka import DECOMMISSION

__all__ = [
    "DECOMMISSION", "ERROR", "RULES", "VARIABLE_DEFAULTS", "WARNING", "Inventory", "Issue",
    "check", "errors", "format_errors", "parse_ss", "rule", "users_by_uid", "warnings",
]
