"""Every web call the hadoop role makes to its own daemons works in the secure profile
too: SPNEGO with the role's ticket and the lab CA for HTTPS. decommission.yml asked the
NameNode without them and the first secure converge of molecule/secure failed there
(CERTIFICATE_VERIFY_FAILED on https://hadoop-master:9870/jmx)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TASKS = Path(__file__).resolve().parents[2] / "roles" / "hadoop" / "tasks"


def _uri_tasks():
    for path in sorted(TASKS.glob("*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            if "ansible.builtin.uri" in task:
                yield pytest.param(task, id=f"{path.name}: {task['name']}")


@pytest.mark.parametrize("task", list(_uri_tasks()))
def test_web_calls_carry_the_secure_profile_settings(task):
    args = task["ansible.builtin.uri"]
    assert args.get("use_gssapi") == "{{ hadoop_kerberos | bool }}"
    assert args.get("ca_path") == "{{ hadoop_ssl_ca_file if hadoop_kerberos | bool else omit }}"
    assert "hadoop_http_env" in str(task.get("environment", ""))


def test_there_are_web_calls_to_check():
    assert len(list(_uri_tasks())) >= 10


@pytest.mark.parametrize("task", [p for p in _uri_tasks() if "delegate_to" in p.values[0]])
def test_delegated_web_calls_name_the_host_they_run_on(task):
    """A delegated task keeps the play's inventory_hostname: its URL must name the host it
    is delegated to. The secure profile's wait for a restarted DataNode asked
    https://hadoop-master:9864 (no DataNode there) when a hdfs-site change restarted every
    DataNode from the master, and the converge failed (connection refused)."""
    url = str(task["ansible.builtin.uri"]["url"])
    assert "inventory_hostname" not in url
    assert "hadoop_datanode_info_url" not in url
