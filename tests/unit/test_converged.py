"""The warm site.yml's short cut (plugins/plugin_utils/converged.py, the streamstack_converged
module and filter): what a full run watches, when the inputs count as changed, when a
host counts as drifted, and the all-or-nothing decision for the lab."""

from __future__ import annotations

import importlib
import itertools
import json
import os
from pathlib import Path
from types import SimpleNamespace

import collection_module
import pytest
import yaml

from streamstack.plugins.plugin_utils import converged

ROOT = Path(__file__).resolve().parents[2]


MODULE = collection_module.load(ROOT / "plugins/modules/streamstack_converged.py",
                                "streamstack_converged_module")
FILTER = collection_module.load(ROOT / "plugins/filter/converged.py",
                                "streamstack_filter_converged")


def test_file_tasks_watch_their_destination_and_loops_skip_skipped_items():
    assert converged.watched("ansible.builtin.template",
                             {"dest": "/etc/kafka/server-0.properties"}) \
        == ({"/etc/kafka/server-0.properties"}, set())
    paths, _ = converged.watched("ansible.builtin.file", {"results": [
        {"path": "/var/lib/kafka/"}, {"path": "/var/log/kafka", "skipped": True},
        {"path": "relative/ignored"}, {"path": "/failed", "failed": True}]})
    assert paths == {"/var/lib/kafka"}


def test_stat_watches_what_it_read_even_when_missing():
    found = {"stat": {"exists": True, "path": "/opt/kafka-3.6.1/.streamstack-ab"}}
    missing = {"stat": {"exists": False},
               "invocation": {"module_args": {"path": "/opt/spark-3.5.0/.streamstack-cd"}}}
    paths, _ = converged.watched("stat", {"results": [found, missing]})
    assert paths == {"/opt/kafka-3.6.1/.streamstack-ab", "/opt/spark-3.5.0/.streamstack-cd"}


def test_service_tasks_watch_their_unit_and_other_tasks_nothing():
    assert converged.watched("ansible.builtin.systemd_service", {"name": "zookeeper"}) \
        == (set(), {"zookeeper.service"})
    assert converged.watched("systemd", {"name": "kafka@0.service"}) == (set(), {"kafka@0.service"})
    assert converged.watched("ansible.builtin.command", {"cmd": "touch /etc/x"}) == (set(), set())


CENSORED = {"censored": "the output has been hidden due to the fact that 'no_log: true' "
                        "was specified for this result", "changed": False, "_ansible_no_log": True}


def test_no_log_results_and_in_place_edits_are_watched_by_their_task_arguments():
    # A no_log result is censored; lineinfile, blockinfile and replace never return a path.
    assert converged.watched("ansible.builtin.template", CENSORED,
                             {"src": "server.properties.j2",
                              "dest": "/etc/kafka/server-0.properties"}) \
        == ({"/etc/kafka/server-0.properties"}, set())
    for action in ("ansible.builtin.lineinfile", "ansible.builtin.blockinfile",
                   "ansible.builtin.replace"):
        assert converged.watched(action, {"changed": False, "msg": ""},
                                 {"path": "/etc/hosts", "line": "10.0.0.2 w1"}) \
            == ({"/etc/hosts"}, set()), action
    assert converged.watched("lineinfile", {"msg": ""}, {"dest": "/etc/x"})[0] == {"/etc/x"}
    # A loop's own arguments are not templated per item: its items are watched one by one.
    assert converged.watched("template", {"results": [CENSORED, CENSORED]},
                             {"dest": "/etc/kafka/server-{{ kafka_node.id }}.properties"}) \
        == (set(), set())


def test_paths_a_shell_task_names_on_its_stdout_are_watched():
    out = (f"{converged.WATCH_MARKER}/usr/local/bin/kafka-topics.sh\n"
           f"{converged.WATCH_MARKER}relative\nchanged=0")
    assert converged.watched("ansible.builtin.shell", {"stdout": out}) \
        == ({"/usr/local/bin/kafka-topics.sh"}, set())
    assert converged.watched("ansible.builtin.command", {"stdout": "changed=1"}) == (set(), set())


def test_the_artifacts_role_names_the_command_links_it_makes():
    tasks = yaml.safe_load((ROOT / "roles/artifacts/tasks/main.yml").read_text())
    linking = next(t for t in tasks if t.get("name", "").startswith(
        "Artifacts | Link the product commands"))
    assert f'echo "{converged.WATCH_MARKER}$link"' in linking["ansible.builtin.shell"]["cmd"]


class _Result:
    """What a callback receives: the censored result and the task's templated fields."""

    def __init__(self, result, args, delegate_to=None):
        self.host = type("Host", (), {"get_name": lambda self: "hadoop-master"})()
        self.task = type("Task", (), {"delegate_to": delegate_to, "connection": None,
                                      "resolved_action": "ansible.builtin.template",
                                      "action": "template"})()
        self.result = result
        self.task_fields = {"args": args}


def test_the_callback_watches_each_item_of_a_no_log_loop(monkeypatch):
    monkeypatch.setattr(converged, "WATCHED", {})
    watch = importlib.import_module(
        "streamstack.plugins.callback.streamstack_watch").CallbackModule()
    for broker in (0, 1):
        watch.v2_runner_item_on_ok(_Result(dict(CENSORED),
                                           {"dest": f"/etc/kafka/server-{broker}.properties"}))
    watch.v2_runner_on_ok(_Result({"results": [CENSORED, CENSORED]},
                                  {"dest": "/etc/kafka/server-{{ kafka_node.id }}.properties"}))
    watch.v2_runner_item_on_ok(_Result(dict(CENSORED), {"dest": "/tmp/ca.crt"}, "localhost"))
    brokers = {"/etc/kafka/server-0.properties", "/etc/kafka/server-1.properties"}
    wanted = {"hadoop-master": {"paths": brokers, "units": set()}}
    assert wanted == converged.WATCHED


def test_remember_collects_per_host(monkeypatch):
    monkeypatch.setattr(converged, "WATCHED", {})
    converged.remember("h1", "copy", {"dest": "/etc/a"})
    converged.remember("h1", "service", {"name": "prometheus"})
    converged.remember("h2", "debug", {"msg": "x"})
    wanted = {"h1": {"paths": {"/etc/a"}, "units": {"prometheus.service"}}}
    assert wanted == converged.WATCHED


@pytest.fixture
def project(tmp_path):
    (tmp_path / "roles/kafka/tasks").mkdir(parents=True)
    (tmp_path / "roles/kafka/tasks/main.yml").write_text("- name: x\n")
    (tmp_path / "roles/kafka/tasks/__pycache__").mkdir()
    (tmp_path / "site.yml").write_text("---\n")
    inventory = tmp_path / "inv"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text("all: {}\n")
    (inventory / "group_vars/all.yml").write_text("kafka_heap: 256m\n")
    return tmp_path


def _digest(project, extra=None, sources=None):
    return converged.input_digest(project, sources or [str(project / "inv/hosts.yml")],
                                  extra or {}, [str(project / "manifest.json")])


def test_input_digest_follows_roles_inventory_vars_and_extra_vars(project):
    first = _digest(project)
    assert _digest(project) == first
    (project / "roles/kafka/tasks/__pycache__/main.cpython-311.pyc").write_bytes(b"\0")
    assert _digest(project) == first, "compiled Python is not an input"
    (project / "inv/group_vars/all.yml").write_text("kafka_heap: 512m\n")
    second = _digest(project)
    assert second != first, "group_vars beside a file inventory are inputs"
    (project / "roles/kafka/tasks/main.yml").write_text("- name: y\n")
    third = _digest(project)
    assert third != second
    assert _digest(project, {"kafka_heap": "1g"}) != third
    assert _digest(project, {"streamstack_full_run": True}) == third, \
        "asking for a full run is not an input"
    (project / "manifest.json").write_text("{}")
    assert _digest(project) != third, "an artifacts manifest that appears is an input"


def test_the_controller_secrets_directory_is_an_input_by_digest_only(project):
    declared = yaml.safe_load((ROOT / "playbooks/group_vars/all/streamstack.yml").read_text())
    assert "{{ streamstack_secrets_dir }}" in declared["streamstack_converged_inputs"]
    secrets = project.parent / "secrets"
    (secrets / "hosts/w1").mkdir(parents=True)
    (secrets / "hosts/w1/kafka.key").write_text("KEY-A")

    def digest():
        return converged.input_digest(project, [str(project / "inv/hosts.yml")], {},
                                      [str(secrets)])
    first = digest()
    (secrets / "hosts/w1/kafka.key").write_text("KEY-B")
    second = digest()
    assert second != first, "a new key is an input"
    (secrets / "hosts/w1/kafka.key").rename(secrets / "hosts/w1/old.key")
    assert digest() != second, "so is a file's name"


def test_controller_tools_are_inputs(project, tmp_path):
    tools = {"ansible-core": "2.19.14", "mitogen": "0.3.54"}
    first = converged.input_digest(project, [], {}, [], tools)
    assert converged.input_digest(project, [], {}, [], dict(tools)) == first
    assert converged.input_digest(project, [], {}, [], {**tools, "mitogen": "0.3.55"}) != first
    for root, content in ((tmp_path / "a", "1.0.0"), (tmp_path / "b", "2.0.0")):
        (root / "ansible_collections/community/docker").mkdir(parents=True)
        (root / "ansible_collections/community/docker/MANIFEST.json").write_text(content)
    found = converged.collection_manifests([str(tmp_path / "a"), str(tmp_path / "b"),
                                            str(tmp_path / "none")])
    assert list(found) == ["collection community.docker"], found
    assert found == converged.collection_manifests([str(tmp_path / "a")]), "first one wins"


def test_the_action_hands_the_controller_tools_to_the_digest(action, monkeypatch):
    seen = []
    monkeypatch.setattr(converged, "input_digest", lambda *args: seen.append(args) or "d")
    action({"state": "check", "inputs": []})
    tools = seen[0][4]
    assert tools["ansible-core"] and tools["mitogen"], tools
    assert any(name.startswith("collection community.") for name in tools), tools


def test_partial_runs_are_named_by_their_flag():
    assert converged.partial_run_reason({"tags": ("all",), "skip_tags": ()}) is None
    assert converged.partial_run_reason({"tags": ("kafka",)}) == "--tags was given"
    assert converged.partial_run_reason({"subset": "hadoop-worker1"}) == "--limit was given"
    assert converged.partial_run_reason({"skip_tags": ("topics",)}) == "--skip-tags was given"


def test_the_lab_is_short_cut_only_when_every_host_is():
    ok = {"converged": True, "recorded_at": "2026-12-06T03:00:00Z"}
    later = {"converged": True, "recorded_at": "2026-12-06T03:05:00Z"}
    hostvars = {"a": {"check": ok}, "b": {"check": later}}
    decided = FILTER.streamstack_lab_converged(["a", "b"], hostvars, "check")
    assert decided["converged"] is True
    assert "2026-12-06T03:00:00Z" in decided["message"]
    hostvars["b"] = {"check": {"converged": False, "reason": "unit kafka@1.service (up -> failed)"}}
    hostvars["c"] = {}
    decided = FILTER.streamstack_lab_converged(["a", "b", "c"], hostvars, "check")
    assert decided["converged"] is False
    assert "b: unit kafka@1.service" in decided["message"]
    assert "c: not checked (not reached)" in decided["message"]
    assert FILTER.streamstack_lab_converged([], {}, "check")["converged"] is False


def test_the_decision_names_at_most_three_hosts():
    hostvars = {name: {} for name in "abcde"}
    message = FILTER.streamstack_lab_converged(list("abcde"), hostvars, "check")["message"]
    assert message.endswith("(and 2 more)")


def test_paths_are_described_by_type_owner_and_content(tmp_path):
    target = tmp_path / "zoo.cfg"
    target.write_text("tickTime=2000\n")
    os.chmod(target, 0o640)
    described = MODULE.describe_path(str(target))
    assert described.startswith("file 640 ") and " sha1 " in described
    (tmp_path / "link").symlink_to(target)
    assert MODULE.describe_path(str(tmp_path / "link")) == f"link {target}"
    assert MODULE.describe_path(str(tmp_path)).startswith("dir ")
    assert MODULE.describe_path(str(tmp_path / "nothing")) == "absent"
    target.write_text("tickTime=3000\n")
    assert MODULE.describe_path(str(target)) != described


def test_unit_states_count_a_crash_loop_or_a_restart_by_systemd_as_drift():
    text = ("Id=kafka@0.service\nActiveState=activating\nSubState=auto-restart\n"
            "UnitFileState=enabled\nNRestarts=4\n\n"
            "Id=zookeeper.service\nActiveState=failed\nSubState=failed\n"
            "UnitFileState=enabled\nNRestarts=0\n\n"
            "Id=kafka@1.service\nActiveState=active\nSubState=running\n"
            "UnitFileState=enabled\nNRestarts=1\n\n"
            "Id=prometheus.service\nActiveState=active\nSubState=running\nUnitFileState=\n"
            "NRestarts=0\n\n"
            "Id=streamstack.timer\nActiveState=active\nSubState=waiting\nUnitFileState=enabled\n")
    assert MODULE.parse_unit_states(text) == {
        "kafka@0.service": "activating/auto-restart enabled restarts 4",
        "zookeeper.service": "failed/failed enabled",
        "kafka@1.service": "up enabled restarts 1",
        "prometheus.service": "up -",
        "streamstack.timer": "up enabled"}


def test_record_then_check_then_drift(tmp_path):
    stamp = str(tmp_path / "stamp/converged.json")
    managed = tmp_path / "server.properties"
    managed.write_text("broker.id=0\n")
    assert MODULE.check(stamp, "d1")["reason"].startswith("no stamp")
    recorded = MODULE.record(stamp, "d1", [str(managed)], [], check_mode=False)
    assert recorded["changed"] is True and os.stat(stamp).st_mode & 0o777 == 0o600
    assert MODULE.check(stamp, "d1") == {"converged": True, "reason": "",
                                         "recorded_at": recorded["recorded_at"]}
    assert MODULE.record(stamp, "d1", [str(managed)], [], check_mode=False)["changed"] is False
    assert "inputs changed" in MODULE.check(stamp, "d2")["reason"]
    managed.write_text("broker.id=1\n")
    drift = MODULE.check(stamp, "d1")
    assert drift["converged"] is False and str(managed) in drift["reason"]


def test_a_host_with_a_new_address_has_drifted(tmp_path, monkeypatch):
    # Other hosts' /etc/hosts name it by its address (a fact a short cut never gathers).
    stamp = str(tmp_path / "converged.json")
    (tmp_path / "a").write_text("a")
    monkeypatch.setattr(MODULE, "default_address", lambda: "172.18.0.2")
    MODULE.record(stamp, "d1", [str(tmp_path / "a")], [], check_mode=False)
    assert MODULE.check(stamp, "d1")["converged"] is True
    monkeypatch.setattr(MODULE, "default_address", lambda: "172.18.0.7")
    moved = MODULE.check(stamp, "d1")
    assert moved["converged"] is False and "address (172.18.0.2 -> 172.18.0.7)" in moved["reason"]


def test_the_default_address_is_an_address_or_none():
    found = MODULE.default_address()
    assert found == "none" or found.count(".") == 3, found


def test_record_keeps_earlier_paths_and_check_mode_writes_nothing(tmp_path):
    stamp = tmp_path / "converged.json"
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text("a")
    second.write_text("b")
    MODULE.record(str(stamp), "d1", [str(first)], [], check_mode=False)
    MODULE.record(str(stamp), "d1", [str(second)], [], check_mode=False)
    described = json.loads(stamp.read_text())["described"]
    assert f"path {first}" in described and f"path {second}" in described
    before = stamp.read_text()
    MODULE.record(str(stamp), "d9", [str(first)], [], check_mode=True)
    assert stamp.read_text() == before


def test_record_without_a_watch_list_removes_the_stamp(tmp_path):
    stamp = tmp_path / "converged.json"
    (tmp_path / "a").write_text("a")
    MODULE.record(str(stamp), "d1", [str(tmp_path / "a")], [], check_mode=False)
    done = MODULE.record(str(stamp), "d1", [], [], check_mode=False)
    assert done["changed"] is True and not stamp.exists()


def test_a_run_that_records_nothing_after_start_is_never_taken_for_converged(tmp_path):
    stamp = str(tmp_path / "converged.json")
    managed = tmp_path / "zoo.cfg"
    managed.write_text("tickTime=2000\n")
    assert MODULE.start(stamp, check_mode=False)["changed"] is False, "no stamp to mark"
    MODULE.record(stamp, "d1", [str(managed)], [], check_mode=False)
    assert MODULE.start(stamp, check_mode=True)["changed"] is True
    assert MODULE.check(stamp, "d1")["converged"] is True, "check mode marked nothing"
    assert MODULE.start(stamp, check_mode=False)["changed"] is True
    stopped = MODULE.check(stamp, "d1")
    assert stopped["converged"] is False and "recorded no stamp" in stopped["reason"]
    assert MODULE.start(stamp, check_mode=False)["changed"] is False, "marked once"
    recorded = MODULE.record(stamp, "d1", [str(managed)], [], check_mode=False)
    assert recorded["changed"] is True
    assert MODULE.check(stamp, "d1")["converged"] is True


ACTION = importlib.import_module("streamstack.plugins.action.streamstack_converged")


@pytest.fixture
def action(monkeypatch):
    """Runs the action plugin without a host: returns its result and the module's args.
    Each input digest it computes is a new one, as when an input is edited mid-run."""
    monkeypatch.delenv(converged.FULL_RUN_ENVIRONMENT, raising=False)
    digests = itertools.count()
    monkeypatch.setattr(converged, "input_digest", lambda *_: f"digest-{next(digests)}")
    monkeypatch.setattr(ACTION.ActionBase, "run", lambda self, tmp=None, task_vars=None: {})

    def run(args):
        plugin = object.__new__(ACTION.ActionModule)
        plugin._task = SimpleNamespace(args=args)
        plugin._loader = None
        sent = {}
        plugin._execute_module = lambda module_name, module_args, task_vars: \
            sent.update(module_args) or {"converged": False, "reason": "x"}
        return plugin.run(task_vars={"inventory_hostname": "h"}), sent
    return run


def test_the_stamp_records_the_input_digest_taken_when_the_run_started(action):
    checked, sent = action({"state": "check", "inputs": []})
    assert checked["input_digest"] == sent["input_digest"] == "digest-0"
    # A group_var edited (or a git pull) during the run: the stamp keeps the start's digest.
    _, sent = action({"state": "record", "inputs": [], "input_digest": "digest-0"})
    assert sent["input_digest"] == "digest-0"
    skipped, sent = action({"state": "record", "inputs": []})
    assert skipped["skipped"] is True and not sent, "no digest of the run's start: no stamp"
    record = yaml.safe_load((ROOT / "playbooks/converged_record.yml").read_text())
    args = record[0]["tasks"][0]["streamstack.lab.streamstack_converged"]
    assert "streamstack_converged_check.input_digest" in args["input_digest"]


def test_a_forced_full_run_still_reports_the_digest_to_record(action, monkeypatch):
    monkeypatch.setenv(converged.FULL_RUN_ENVIRONMENT, "1")
    checked, sent = action({"state": "check", "inputs": []})
    assert checked["converged"] is False and checked["input_digest"] == "digest-0"
    assert not sent


@pytest.mark.parametrize(("value", "forced"), [("0", False), ("false", False), ("no", False),
                                               ("", False), ("1", True), ("true", True),
                                               ("yes", True)])
def test_only_a_true_streamstack_full_run_in_the_environment_forces_one(action, monkeypatch,
                                                                        value, forced):
    monkeypatch.setenv(converged.FULL_RUN_ENVIRONMENT, value)
    checked, _ = action({"state": "check", "inputs": []})
    assert (converged.FULL_RUN_ENVIRONMENT in checked.get("reason", "")) is forced
