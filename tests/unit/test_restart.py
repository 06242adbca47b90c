"""`streamstack restart --rolling`: service names to the playbook's tags, and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from streamstack import cli, restart
from streamstack.errors import StreamstackError

ROOT = Path(__file__).resolve().parents[2]


def test_all_or_none_means_every_play():
    assert restart.tags(()) is None
    assert restart.tags(list(restart.SERVICES)) is None


def test_services_in_playbook_order():
    assert restart.tags(("jobs", "kafka")) == "kafka,jobs"
    assert restart.tags(["hdfs"]) == "hdfs"


def test_unknown_service_is_refused():
    with pytest.raises(StreamstackError, match="unknown service zk"):
        restart.tags(("zk",))


def test_every_service_is_a_play_tag_in_order():
    plays = yaml.safe_load((ROOT / restart.PLAYBOOK).read_text())
    assert [play["tags"][0] for play in plays] == list(restart.SERVICES)


def test_cli_runs_the_playbook_with_the_tags(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(cli, "_run", lambda playbook, inventory, **kw: calls.append(
        (playbook, inventory, kw)))
    result = CliRunner().invoke(cli.cli, ["restart", "--rolling", "kafka", "jobs",
                                          "-i", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert calls == [(restart.PLAYBOOK, tmp_path.resolve(), {"tags": "kafka,jobs"})]


def test_cli_needs_rolling(tmp_path):
    result = CliRunner().invoke(cli.cli, ["restart", "-i", str(tmp_path)])
    assert result.exit_code != 0
