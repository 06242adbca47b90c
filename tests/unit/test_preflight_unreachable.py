"""Preflight before contact: the real playbooks/preflight.yml (and site.yml) against an
inventory whose hosts cannot be reached and which has inventory mistakes. Every mistake
and every unreachable host must be named in one report, and nothing after preflight may
start. No lab is needed: the hosts are 127.0.0.1 port 1 (refused at once) and a local
host whose become fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

BAD_INVENTORY = {
    "all": {
        "vars": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                 "ansible_user": "debian", "ansible_become": True},
        "hosts": {
            "vm1": {"kafka_brokers": [{"id": 0, "port": 9092}]},
            "vm2": {"kafka_brokers": [{"id": 0, "port": 9092}]},
            # Connected (local), but become to a user that does not exist fails.
            "vm3": {"ansible_connection": "local", "ansible_become_method": "su",
                    "ansible_become_user": "no-such-user",
                    "kafka_brokers": [{"id": 2, "port": 9092}]},
            # Connected, but no Python there: a minimal netinst host (the choice made
            # for it: a preflight error naming the fix, never a raw bootstrap).
            "vm4": {"ansible_connection": "local", "ansible_become": False,
                    "ansible_python_interpreter": "/nonexistent/python3"},
        },
        "children": {
            "zookeeper": {"hosts": {"vm1": None, "vm2": None}},  # even ensemble
            "kafka": {"hosts": {"vm1": None, "vm2": None, "vm3": None}},
            # no hdfs_namenode
            "hdfs_datanode": {"hosts": {"vm2": None}},
            "yarn_resourcemanager": {"hosts": {"vm1": None}},
            "yarn_nodemanager": {"hosts": {"vm2": None}},
            "spark_client": {"hosts": {"vm1": None}},
        },
    }
}


def run_playbook(playbook: str, inventory: Path) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).parent / "ansible-playbook"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    return subprocess.run([str(binary), "-i", str(inventory), playbook], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="module")
def bad_inventory(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "hosts.yml"
    path.write_text(yaml.safe_dump(BAD_INVENTORY))
    return path


def report_lines(output: str) -> list[str]:
    """The '  - ...' lines of the first 'preflight found N errors:' block."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "preflight found" in line)
    block = []
    for line in lines[start + 1:]:
        if not line.strip().startswith("- "):
            break
        block.append(line.strip()[2:])
    return block


@pytest.mark.parametrize("playbook", ["playbooks/preflight.yml", "site.yml"])
def test_every_mistake_and_unreachable_host_is_named(bad_inventory, playbook):
    done = run_playbook(playbook, bad_inventory)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-2000:]
    assert "preflight found" in output, output[-3000:]
    lines = report_lines(output)
    joined = "\n".join(lines)
    # Each unreachable host, with its address and what failed.
    assert any(line.startswith("vm1, vm2: ansible_host=debian@127.0.0.1:1 (ssh): unreachable")
               and "Connection refused" in line for line in lines), joined
    assert any(line.startswith("vm3: ansible_become=") and "could not become root" in line
               and "no-such-user" in line for line in lines), joined
    assert any(line.startswith("vm4: ansible_python_interpreter=")
               and "install python3 on the host" in line for line in lines), joined
    # Each inventory mistake, though no host was read.
    assert any("groups.hdfs_namenode=[]" in line and "no host in a required group" in line
               for line in lines), joined
    assert any("groups.zookeeper=" in line and "even ensemble" in line for line in lines), joined
    assert any("kafka_brokers.id=0: broker id used 2 times" in line for line in lines), joined
    assert len(lines) == 6, joined
    # Nothing after preflight started: no play of base.yml, no role task.
    assert "PLAY [Base |" not in output
    assert "Common |" not in output


# One unreachable host in every group, and an inventory value that the hadoop role's
# defaults template (hadoop_name_dir: "{{ hadoop_data_dir }}/name", ...) naming a variable
# defined nowhere.
TEMPLATE_INVENTORY = {
    "all": {
        "vars": {**BAD_INVENTORY["all"]["vars"], "hadoop_data_dir": "{{ data_root }}/hadoop"},
        "hosts": {"vm1": {"kafka_brokers": [{"id": 0, "port": 9092}]}},
        "children": {group: {"hosts": {"vm1": None}} for group in (
            "zookeeper", "kafka", "hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager",
            "yarn_nodemanager", "spark_client")},
    }
}


def test_a_template_error_is_reported_with_host_variable_and_error(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(TEMPLATE_INVENTORY))
    done = run_playbook("playbooks/preflight.yml", path)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-2000:]
    lines = report_lines(output)
    joined = "\n".join(lines)
    failing = {"hadoop_name_dir": "name", "hadoop_namesecondary_dir": "namesecondary",
               "hadoop_datanode_dir": "data", "hadoop_yarn_local_dir": "yarn-local",
               "hadoop_yarn_log_dir": "yarn-logs"}
    for name, leaf in failing.items():
        assert (f"vm1: {name}={{{{ hadoop_data_dir }}}}/{leaf}: its template fails: "
                "'data_root' is undefined") in joined, joined
    # Besides them, only the unreachable host: hadoop_yarn_nodemanager_memory_mb needs
    # facts, which an unread host has not, and that is no template error.
    assert len(lines) == len(failing) + 1, joined
    assert any("unreachable" in line for line in lines), joined
