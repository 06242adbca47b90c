"""Restarts that can never be lost (plugins/module_utils/stale.py, the streamstack_stale
module, the hadoop_stale_watch filter): which running units are older than a file they
read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import collection_module

ROOT = Path(__file__).resolve().parents[2]


STALE = collection_module.load(ROOT / "plugins/module_utils/stale.py", "streamstack_stale_utils")
HADOOP = collection_module.load(ROOT / "plugins/filter/hadoop.py",
                                "streamstack_filter_hadoop_stale")

T0 = datetime(2026, 12, 7, 21, 16, 32, 628135, tzinfo=UTC).timestamp()
CONF = "/etc/hadoop/yarn-site.xml"
UNIT_FILE = "/etc/systemd/system/yarn-resourcemanager.service"


def _running(started: str = "Mon 2026-12-07 21:16:32.628135 UTC", **more) -> dict:
    return {"Id": "rm.service", "ActiveState": "active", "MainPID": "42",
            "ExecMainStartTimestamp": started, "NeedDaemonReload": "no", **more}


def _decide(fields: dict | None, mtimes: dict, now: float = T0 + 3600) -> dict:
    units = {"rm.service": fields} if fields is not None else {}
    return STALE.decide({"rm.service": [CONF, UNIT_FILE]}, units, mtimes, now, 1000.0)


def test_timestamps_in_microseconds_and_unset_ones():
    assert STALE.parse_timestamp("Mon 2026-12-07 21:16:32.628135 UTC") == T0
    assert STALE.parse_timestamp("") is None
    assert STALE.parse_timestamp("n/a") is None
    assert STALE.parse_timestamp("Mon 2026-12-07 21:16:32 CET") is None


def test_a_file_changed_after_the_start_makes_the_unit_stale():
    found = _decide(_running(), {CONF: T0 + 10, UNIT_FILE: T0 - 100})
    assert found["stale"] == ["rm.service"]
    assert CONF in found["why"]["rm.service"]


def test_files_older_than_the_start_and_absent_ones_are_not():
    # A healthy second run: every file was written before the (re)start.
    assert _decide(_running(), {CONF: T0 - 0.001, UNIT_FILE: None})["stale"] == []


def test_microseconds_count_a_file_written_in_the_same_second_after_the_start():
    assert _decide(_running(), {CONF: T0 + 0.2})["stale"] == ["rm.service"]
    assert _decide(_running(), {CONF: T0 - 0.2})["stale"] == []


def test_units_not_running_are_never_stale():
    newer = {CONF: T0 + 10}
    # First install: the unit does not exist yet, or is not started; a crash loop; a
    # unit without a main process.
    assert _decide(None, newer)["stale"] == []
    assert _decide(_running(ActiveState="inactive", MainPID="0", ExecMainStartTimestamp=""),
                   newer)["stale"] == []
    assert _decide(_running(ActiveState="activating"), newer)["stale"] == []
    assert _decide(_running(MainPID="0"), newer)["stale"] == []


def test_a_file_from_the_future_is_reported_not_restarted_for():
    now = T0 + 60
    found = _decide(_running(), {CONF: now + 3600}, now=now)
    assert found["stale"] == [] and found["future"] == ["rm.service"]
    # Within the slack it is judged.
    assert _decide(_running(), {CONF: now + 1}, now=now)["stale"] == ["rm.service"]


def test_a_unit_file_changed_on_disk_asks_for_a_reload():
    found = _decide(_running(NeedDaemonReload="yes"), {CONF: T0 - 1})
    assert found["reload"] == ["rm.service"] and found["stale"] == []


def test_old_systemd_start_time_from_the_monotonic_clock():
    fields = _running(ExecMainStartTimestamp="Mon 2026-12-07 21:16:32 UTC",
                      ExecMainStartTimestampMonotonic=str(900 * 10**6))
    # The process started 100 s (monotonic) before now.
    now = T0 + 1000
    assert STALE.started_at(fields, now, 1000.0) == now - 100
    assert STALE.decide({"rm.service": [CONF]}, {"rm.service": fields}, {CONF: now - 50},
                        now, 1000.0)["stale"] == ["rm.service"]


def test_systemctl_show_blocks():
    text = ("Id=a.service\nActiveState=active\nMainPID=1\n\n"
            "Id=b.service\nActiveState=inactive\nExecMainStartTimestamp=\n")
    parsed = STALE.parse_show(text)
    assert parsed["a.service"]["MainPID"] == "1"
    assert parsed["b.service"]["ExecMainStartTimestamp"] == ""


def test_check_names_units_as_given(monkeypatch, tmp_path):
    conf = tmp_path / "zoo.cfg"
    conf.write_text("x")
    monkeypatch.setattr(STALE, "read_units", lambda ids: {
        "zookeeper.service": _running("Mon 2000-01-03 00:00:00.000000 UTC")})
    found = STALE.check({"zookeeper": [str(conf)], "kafka@0.service": [str(conf)]})
    assert found["stale"] == ["zookeeper"]
    assert list(found["why"]) == ["zookeeper"]


def test_hadoop_daemons_watch_the_files_that_list_them_their_unit_and_extras():
    readers = {"core-site.xml": ["hdfs-datanode", "yarn-resourcemanager"],
               "yarn-site.xml": ["yarn-resourcemanager"], "workers": [], "hosts.exclude": []}
    watch = HADOOP.hadoop_stale_watch(["yarn-resourcemanager", "hdfs-datanode"],
                                      readers=readers, conf_dir="/etc/hadoop",
                                      extra=["/etc/security/keytabs/yarn.service.keytab"])
    assert watch["yarn-resourcemanager"] == sorted([
        "/etc/hadoop/core-site.xml", "/etc/hadoop/yarn-site.xml",
        "/etc/security/keytabs/yarn.service.keytab",
        "/etc/systemd/system/yarn-resourcemanager.service"])
    assert "/etc/hadoop/yarn-site.xml" not in watch["hdfs-datanode"]
    assert HADOOP.hadoop_stale_watch([], readers=readers, conf_dir="/etc/hadoop") == {}


def test_the_short_cut_counts_a_unit_older_than_its_files_as_drifted(monkeypatch, tmp_path):
    import collection_module

    from streamstack.plugins.plugin_utils import converged

    module = collection_module.load(ROOT / "plugins/modules/streamstack_converged.py",
                                    "converged_stale_module")
    # The callback keeps what each streamstack_stale task watched, for the record.
    converged.WATCHED.pop("h", None)
    converged.remember("h", "streamstack.lab.streamstack_stale",
                       {"watch": {"zookeeper.service": ["/etc/zookeeper/zoo.cfg"]}})
    assert converged.WATCHED["h"]["stale"] == {"zookeeper.service": {"/etc/zookeeper/zoo.cfg"}}
    converged.WATCHED.pop("h")

    stamp = tmp_path / "converged.json"
    conf = tmp_path / "zoo.cfg"
    conf.write_text("x")
    assert module.record(str(stamp), "d", [str(conf)], [], False,
                         {"zookeeper.service": [str(conf)]})["changed"]
    fresh = {"zookeeper.service": _running("Mon 2999-01-04 00:00:00.000000 UTC")}
    monkeypatch.setattr(module.stale, "read_units", lambda ids: fresh)
    assert module.check(str(stamp), "d")["converged"]
    # Same content, yet the server started before the file was last written.
    monkeypatch.setattr(module.stale, "read_units", lambda ids: {
        "zookeeper.service": _running("Mon 2000-01-03 00:00:00.000000 UTC")})
    found = module.check(str(stamp), "d")
    assert not found["converged"] and "zookeeper.service runs an older" in found["reason"]
