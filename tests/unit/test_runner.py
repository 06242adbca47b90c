from click.testing import CliRunner

from streamstack import cli, runner


def _events():
    yield {"event": "playbook_on_play_start", "event_data": {"play": "Kafka"}}
    yield {"event": "playbook_on_task_start", "event_data": {"task": "Kafka | Template"}}
    yield {"event": "runner_on_ok", "event_data": {"host": "hadoop-master",
                                                   "task": "Kafka | Template",
                                                   "res": {"changed": True}}}
    yield {"event": "runner_on_failed", "event_data": {
        "host": "hadoop-worker1", "task": "Kafka | Template", "play": "Kafka",
        "res": {"msg": "Could not find or access 'server.properties.j2'"}}}
    yield {"event": "runner_on_failed", "event_data": {
        "host": "hadoop-worker2", "task": "Kafka | Probe", "ignore_errors": True,
        "res": {"msg": "ignored"}}}
    yield {"event": "runner_on_unreachable", "event_data": {
        "host": "hadoop-worker2", "task": "Kafka | Template", "res": {"msg": "no such container"}}}
    yield {"event": "playbook_on_stats", "event_data": {
        "ok": {"hadoop-master": 3}, "changed": {"hadoop-master": 1},
        "failures": {"hadoop-worker1": 1}, "dark": {"hadoop-worker2": 1}}}


def _collect():
    collector = runner.EventCollector()
    for now, event in enumerate(_events()):
        collector.handle(event, now=float(now))
    return collector.summary


def test_failures_are_collected_with_host_task_and_message_ignored_ones_skipped():
    summary = _collect()
    assert [(f.host, f.task, f.unreachable) for f in summary.failures] == [
        ("hadoop-worker1", "Kafka | Template", False),
        ("hadoop-worker2", "Kafka | Template", True),
    ]
    assert "server.properties.j2" in summary.failures[0].message
    assert summary.changed == 1
    assert summary.changed_tasks == ["hadoop-master: Kafka | Template"]
    assert not summary.ok


def test_summary_text_puts_the_failing_host_first():
    text = runner.format_summary(_collect())
    lines = text.splitlines()
    assert lines[0] == "FAILED: 2 host task(s)"
    assert lines[1].startswith("  hadoop-worker1: failed at 'Kafka | Template'")
    assert text.index("FAILED") < text.index("hosts:")
    assert "hadoop-worker2: UNREACHABLE" in text
    assert "plays:" in text and text.index("plays:") > text.index("hosts:")


def test_the_short_cut_decision_is_kept_and_shown():
    collector = runner.EventCollector()
    collector.handle({"event": "runner_on_ok", "event_data": {
        "host": "hadoop-master", "task": runner.SHORT_CUT_TASK,
        "res": {"msg": "full run: hadoop-worker1: the inputs changed"}}}, now=0.0)
    assert collector.summary.short_cut == "full run: hadoop-worker1: the inputs changed"
    text = runner.format_summary(collector.summary)
    assert text.splitlines()[0] == "roles: full run: hadoop-worker1: the inputs changed"


def test_message_prefers_msg_then_stderr_and_keeps_the_tail():
    long_stderr = "\n".join(map(str, range(40)))
    assert runner.failure_message({"stderr": long_stderr}).splitlines()[-1] == "39"
    assert runner.failure_message({"msg": ["a", "b"]}) == "a\nb"
    assert runner.failure_message({}) == "failed (no message)"


def test_cli_run_exits_non_zero_and_prints_the_failure_first(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "run_playbook", lambda *a, **k: (_collect(), tmp_path))
    monkeypatch.setattr(cli.lab, "write_inventory", lambda *a, **k: tmp_path)
    result = CliRunner().invoke(cli.cli, ["run", "site.yml"])
    assert result.exit_code == 2
    assert "FAILED: 2 host task(s)" in result.output
    assert result.output.index("hadoop-worker1: failed") < result.output.index("hosts:")


def test_cli_run_unknown_playbook_is_a_clear_error():
    result = CliRunner().invoke(cli.cli, ["run", "no-such-play"])
    assert result.exit_code != 0
    assert "no playbook no-such-play" in str(result.exception)


def test_preflight_errors_are_shown_in_full_as_a_list():
    errors = [f"hadoop-worker{i}: kafka_brokers[0].port=9092: duplicate" for i in range(20)]
    message = runner.failure_message({"msg": "20 preflight errors", "preflight_errors": errors})
    assert message.splitlines() == [f"- {error}" for error in errors]
