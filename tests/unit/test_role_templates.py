"""role_templates gives a host the variables a play gives it: Ansible's own precedence
and scope, on an inventory that uses every level. A hand-made imitation read hosts.yml and
group_vars/all.yml only, put playbook group_vars above every inventory group, and put
role defaults into the hostvars of the other hosts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import role_templates
import yaml
from role_templates import LOCAL

FACTS = {"architecture": "x86_64", "memtotal_mb": 8192}


@pytest.fixture(scope="module")
def inventory(tmp_path_factory) -> role_templates.Inventory:
    """The local lab with a value at each level of the inventory."""
    directory: Path = tmp_path_factory.mktemp("inventory")
    shutil.copytree(LOCAL, directory, dirs_exist_ok=True)
    group_vars = directory / "group_vars"
    values = role_templates.load(group_vars / "all.yml")
    (group_vars / "all.yml").write_text(yaml.safe_dump({**values,
                                                        "hadoop_data_dir": "/srv/all"}))
    (group_vars / "hdfs_datanode.yml").write_text("hadoop_data_dir: /srv/datanodes\n")
    (group_vars / "kafka.yml").write_text("streamstack_kafka_internal_port_offset: 20000\n")
    (directory / "host_vars").mkdir()
    (directory / "host_vars/hadoop-worker2.yml").write_text(
        "hadoop_data_dir: /srv/worker2\nkafka_first_host: hadoop-worker2\n")
    return role_templates.Inventory(directory, default_roles=("hadoop", "kafka"),
                                    vars_role="kafka", facts=FACTS,
                                    extra_vars={"kafka_cluster_id_file": "/srv/cluster.id"})


@pytest.mark.parametrize("host,name,expected", [
    # inventory group_vars/all over a role default
    ("hadoop-master", "hadoop_data_dir", "/srv/all"),
    # a child group's group_vars over group_vars/all
    ("hadoop-worker1", "hadoop_data_dir", "/srv/datanodes"),
    # host_vars/ over every group
    ("hadoop-worker2", "hadoop_data_dir", "/srv/worker2"),
    # a role default templated with them
    ("hadoop-worker1", "hadoop_name_dir", "/srv/datanodes/name"),
    # inventory group_vars of a child group over the playbooks' group_vars/all
    ("hadoop-worker1", "streamstack_kafka_internal_port_offset", 20000),
    # role vars (roles/kafka/vars/main.yml) over an inventory host var
    ("hadoop-worker2", "kafka_first_host", "hadoop-master"),
    # extra vars over role vars
    ("hadoop-worker1", "kafka_cluster_id_file", "/srv/cluster.id"),
])
def test_precedence_is_ansibles(inventory, host, name, expected):
    assert inventory.hostvars[host][name] == expected


def test_hostvars_of_other_hosts_have_no_role_defaults(inventory):
    """In a play, hostvars[other] holds inventory vars and facts, not role defaults."""
    hostvars = inventory.hostvars["hadoop-master"]["hostvars"]
    assert hostvars["hadoop-worker1"]["hadoop_data_dir"] == "/srv/datanodes"
    assert "kafka_data_dir" in inventory.hostvars["hadoop-worker1"]
    assert "kafka_data_dir" not in hostvars["hadoop-worker1"]
