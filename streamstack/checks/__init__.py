"""The checks behind `streamstack verify` and tests/infra: every daemon of the lab, its
cluster and both jobs, read in one pass per host.

Each host runs streamstack/probe.py once (all hosts at once, each probe's reads in
threads), then every check judges what the probes saw. What a host should run comes from
the inventory (groups, kafka_brokers, zookeeper_id), so the same checks serve the 3-host
lab, the one-host layout, KRaft mode and VMs. The checks only read; the one write is a
file of their own under /tmp in HDFS, removed at once.

A check yields one Result per host it looked at: the host, the unit or area, passed /
failed / skipped, what was checked in words, and the detail of a failure. A check that
does not apply to the inventory (no ZooKeeper in KRaft mode, SSH-only facts on a docker
lab) is not run and is listed as such; a check skipped on every host it applied to is a
failure (see `verify.exit_code`).

Where things live (each check module holds the checks of one part of the stack):

- ``base.py``: the ports, commands, files and directories the checks expect,
  :class:`Result`, the :class:`Lab` (inventory and what each probe saw), the check
  registry (``CHECKS``, ``@check``) and the helpers the checks share;
- ``zookeeper.py``: the units, the 4lw answers, zoo.cfg and the ensemble;
- ``kafka.py``: the brokers' units, configuration and registration, the localhost
  bootstrap, the handout's commands on PATH, and the round trip from the controller
  through the published port (``controller_round_trip``);
- ``hadoop.py``: the Hadoop units and client configuration, HDFS, YARN's NodeManagers;
- ``spark.py``: the Spark client, its configuration and kafka-python, the jobs' units
  and their YARN applications;
- ``hosts.py``: every host's release layout and, over SSH, its access;
- ``probes.py``: what each host's probe reads (``plan``) and running the probes;
- ``engine.py``: :func:`run` (probe, then every check), :class:`Report`, ``selected``,
  ``describe``.

The checks run and report in the order of ``CHECKS``: their modules' import order
below, then the order within each module. The names other code uses are re-exported
here.
"""

# isort: off
# The check modules first, in the order their checks run (each registers with @check).
from . import zookeeper, kafka, hadoop, spark, hosts  # noqa: F401
# isort: on
from .base import CHECKS, Check, Lab, Result, check
from .engine import Report, describe, run, selected

__all__ = ["CHECKS", "Check", "Lab", "Report", "Result", "check", "describe", "run", "selected"]
