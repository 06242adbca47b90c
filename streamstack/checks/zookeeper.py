"""The checks of ZooKeeper: its units, its 4lw answers, zoo.cfg and the ensemble."""

from __future__ import annotations

import re

from .base import ZOOKEEPER_PORT, Lab, _jps_classes, _listens, _result, _unit_problems, check

# ZooKeeper --------------------------------------------------------------------------

@check("zookeeper.unit", "hosts of the zookeeper group")
def zookeeper_unit(lab: Lab):
    for host in lab.group("zookeeper"):
        yield _result("zookeeper.unit", host, "zookeeper",
                      "unit enabled and running as user zookeeper",
                      _unit_problems(lab, host, "zookeeper", "zookeeper"))


@check("zookeeper.serves", "hosts of the zookeeper group")
def zookeeper_serves(lab: Lab):
    for host in lab.group("zookeeper"):
        problems = []
        if not _listens(lab, host, ZOOKEEPER_PORT, everywhere=True):
            problems.append(f"nothing listens on *:{ZOOKEEPER_PORT}")
        seen = lab.got(host, "zookeeper") or {}
        if seen.get("ruok") != "imok":
            problems.append(f"ruok answered {seen.get('ruok')!r}, not 'imok'")
        if "QuorumPeerMain" not in _jps_classes(lab, host):
            problems.append("jps does not list QuorumPeerMain")
        yield _result("zookeeper.serves", host, "zookeeper",
                      f"port {ZOOKEEPER_PORT} listening, ruok answers imok, jps lists "
                      "QuorumPeerMain", problems)


@check("zookeeper.config", "hosts of the zookeeper group")
def zookeeper_config(lab: Lab):
    members = lab.group("zookeeper")
    for host in members:
        seen = lab.got(host, "zookeeper_files") or {}
        expected = str(lab.vars[host].get("zookeeper_id", members.index(host) + 1))
        myid = (seen.get("/var/lib/zookeeper/myid") or {}).get("content", "").strip()
        cfg = (seen.get("/etc/zookeeper/zoo.cfg") or {}).get("content", "")
        problems = [] if myid == expected else [f"myid is {myid!r}, inventory says {expected}"]
        wanted = ["dataDir=/var/lib/zookeeper", "4lw.commands.whitelist=ruok,srvr,mntr,stat"]
        if len(members) > 1:
            wanted += [f"server.{lab.vars[m].get('zookeeper_id', i)}={m}:2888:3888"
                       for i, m in enumerate(members, start=1)]
        problems += [f"zoo.cfg lacks {line}" for line in wanted
                     if line not in cfg.splitlines()]
        yield _result("zookeeper.config", host, "zookeeper",
                      f"myid {expected}, zoo.cfg data dir, 4lw whitelist and "
                      f"{len(members)} server line(s)", problems)


@check("zookeeper.ensemble", "hosts of the zookeeper group")
def zookeeper_ensemble(lab: Lab):
    members = lab.group("zookeeper")
    for host in members:
        srvr = (lab.got(host, "zookeeper") or {}).get("srvr", {})
        modes = {m: (re.search(r"Mode: (\w+)", srvr.get(m, "")) or [None, None])[1]
                 for m in members}
        wanted = (["standalone"] if len(members) == 1
                  else ["follower"] * (len(members) - 1) + ["leader"])
        problems = [] if sorted(m or "down" for m in modes.values()) == wanted else [
            "modes seen from here: " + ", ".join(f"{m}={v or 'down'}" for m, v in modes.items())]
        yield _result("zookeeper.ensemble", host, "zookeeper",
                      f"all {len(members)} member(s) answer srvr from here, one leader",
                      problems)
