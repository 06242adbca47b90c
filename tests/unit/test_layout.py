import pytest
import yaml

from streamstack import PROJECT_ROOT, layout


def test_committed_local_inventory_is_the_generated_three_host_layout():
    committed = yaml.safe_load((PROJECT_ROOT / "inventories/local/hosts.yml").read_text())
    assert committed == layout.inventory(3)


def test_three_hosts_spread_brokers_one_per_host_with_handout_ports():
    hosts = {host.name: host for host in layout.lab_hosts(3)}
    assert [b for h in hosts.values() for b in h.kafka_brokers] == [
        {"id": 0, "port": 9092}, {"id": 1, "port": 9093}, {"id": 2, "port": 9094}]
    assert "hdfs_namenode" in hosts["hadoop-master"].groups
    assert "hdfs_datanode" not in hosts["hadoop-master"].groups
    assert hosts["hadoop-worker1"].published_ports == [9093]
    assert 9870 in hosts["hadoop-master"].published_ports


def test_a_fourth_host_brings_a_broker_a_datanode_and_a_nodemanager():
    hosts = {host.name: host for host in layout.lab_hosts(4)}
    worker3 = hosts["hadoop-worker3"]
    assert worker3.kafka_brokers == [{"id": 3, "port": 9095}]
    assert {"kafka", "hdfs_datanode", "yarn_nodemanager"} <= set(worker3.groups)
    assert "zookeeper" not in worker3.groups, "the ensemble stays at 3"


def test_one_host_is_the_handout_single_layout():
    (master,) = layout.lab_hosts(1)
    assert [b["port"] for b in master.kafka_brokers] == [9092, 9093, 9094]
    assert {"zookeeper", "kafka", "hdfs_namenode", "hdfs_datanode", "yarn_nodemanager",
            "spark_client"} <= set(master.groups)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_zookeeper_ensemble_is_always_odd(count):
    members = [h for h in layout.lab_hosts(count) if "zookeeper" in h.groups]
    assert len(members) % 2 == 1


@pytest.mark.parametrize("count", [0, 6])
def test_host_count_out_of_range_is_refused(count):
    with pytest.raises(ValueError, match="1 to 5 hosts"):
        layout.lab_hosts(count)


@pytest.mark.parametrize("inventory", ["local", "lab", "single"])
def test_zookeeper_ids_are_explicit_and_unique(inventory):
    """Ids from the host's position would renumber servers when hosts are reordered."""
    data = yaml.safe_load((PROJECT_ROOT / "inventories" / inventory / "hosts.yml").read_text())
    members = data["all"]["children"]["zookeeper"]["hosts"]
    ids = [(data["all"]["hosts"][name] or {}).get("zookeeper_id") for name in members]
    assert all(isinstance(i, int) for i in ids), ids
    assert len(set(ids)) == len(ids), ids


@pytest.mark.parametrize("count", [1, 3, 5])
def test_generated_inventories_pin_zookeeper_ids(count):
    hosts = layout.inventory(count)["all"]["hosts"]
    members = layout.inventory(count)["all"]["children"]["zookeeper"]["hosts"]
    assert sorted(hosts[name]["zookeeper_id"] for name in members) == \
        list(range(1, len(members) + 1))


def test_leaving_hosts_are_only_in_the_decommission_group_and_keep_their_brokers():
    data = layout.inventory(3, leaving=2)
    children = data["all"]["children"]
    assert list(children["decommission"]["hosts"]) == ["hadoop-worker3", "hadoop-worker4"]
    for group, members in children.items():
        if group != "decommission":
            assert not {"hadoop-worker3", "hadoop-worker4"} & set(members["hosts"]), group
    # The drain needs the ids of the brokers it moves partitions away from.
    assert data["all"]["hosts"]["hadoop-worker4"]["kafka_brokers"] == [{"id": 4, "port": 9096}]
    # What stays is exactly the 3-host lab.
    staying = layout.inventory(3)["all"]
    assert {g: m for g, m in children.items() if g != "decommission"} == staying["children"]


def test_the_vm_layout_leans_on_nothing_of_the_handout():
    hosts = {host.name: host for host in layout.vm_hosts()}
    assert not any(name.startswith("hadoop-") for name in hosts)
    groups = {name: set(host.groups) for name, host in hosts.items()}
    namenode = next(n for n, g in groups.items() if "hdfs_namenode" in g)
    spark_clients = [n for n, g in groups.items() if "spark_client" in g]
    assert spark_clients and namenode not in spark_clients
    assert any("yarn_nodemanager" in g and "hdfs_datanode" not in g for g in groups.values())
    assert any(g == {"kafka"} for g in groups.values()), "a host with only a broker"
    members = [h for h in hosts.values() if "zookeeper" in h.groups]
    assert sorted(h.zookeeper_id for h in members) == [1, 2, 3]
    brokers = sorted(b["id"] for h in hosts.values() for b in h.kafka_brokers)
    assert brokers == [0, 1, 2]


def test_the_vm_inventory_has_every_required_group():
    inventory = layout.inventory(vm=True)
    assert set(inventory["all"]["hosts"]) == set(layout.VM_HOSTS)
    for group in layout.GROUP_ORDER:
        assert inventory["all"]["children"][group]["hosts"], group


def test_the_ha_layout_has_two_masters_and_three_journalnodes():
    groups = layout.inventory(3, ha=True)["all"]["children"]
    assert list(groups["hdfs_namenode"]["hosts"]) == ["hadoop-master", "hadoop-worker1"]
    assert list(groups["yarn_resourcemanager"]["hosts"]) == ["hadoop-master", "hadoop-worker1"]
    assert list(groups["hdfs_journalnode"]["hosts"]) == [
        "hadoop-master", "hadoop-worker1", "hadoop-worker2"]
    # Only the first master publishes the web UIs: the ports would collide.
    hosts = layout.lab_hosts(3, ha=True)
    assert layout.MASTER_UI_PORTS[0] in hosts[0].published_ports
    assert layout.MASTER_UI_PORTS[0] not in hosts[1].published_ports


def test_the_default_layout_has_no_journalnode_group():
    assert "hdfs_journalnode" not in layout.inventory(3)["all"]["children"]


@pytest.mark.parametrize("count", [1, 2])
def test_the_ha_layout_needs_three_hosts(count):
    with pytest.raises(ValueError, match="needs 3 hosts"):
        layout.lab_hosts(count, ha=True)


def test_the_mixed_lab_puts_a_broker_a_datanode_and_a_nodemanager_on_debian_13():
    plain = {host.name: host for host in layout.vm_hosts()}
    mixed = {host.name: host for host in layout.vm_hosts(debian13=True)}
    newer = [host for host in mixed.values() if host.suite != "bookworm"]
    assert [(h.name, h.suite) for h in newer] == [(layout.VM_HOSTS[-1], "trixie")]
    assert {"kafka", "hdfs_datanode", "yarn_nodemanager"} <= set(newer[0].groups)
    # Everything else stays the VM layout CI converges.
    for name, host in plain.items():
        if name != newer[0].name:
            assert mixed[name] == host
    children = layout.inventory(vm=True, debian13=True)["all"]["children"]
    assert newer[0].name in children["hdfs_datanode"]["hosts"]
    plain_children = layout.inventory(vm=True)["all"]["children"]
    assert newer[0].name not in plain_children["hdfs_datanode"]["hosts"]
