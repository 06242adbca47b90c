"""One HDFS namespace per cluster: the clusterIDs the NameNode's and the DataNodes' data
directories hold, read before any change (issue 37, cluster identity never reused)."""

from __future__ import annotations

from test_preflight import MASTER, W1, W2, healthy, hv, messages, only_error

from streamstack.plugins.plugin_utils.preflight import WARNING


def lab(namenode: str | None, datanodes: dict[str, str | None]) -> dict:
    """The local lab (NameNode on the master, DataNodes on the workers) whose data
    directories hold these clusterIDs (None: never formatted, no blocks)."""
    data = healthy()
    for name in (MASTER, W1, W2):
        data["hosts"][name]["facts"]["identities"] = {
            "namenode_cluster_id": namenode if name == MASTER else None,
            "datanode_cluster_id": datanodes.get(name)}
    return data


def test_a_new_cluster_and_a_running_one_pass():
    assert messages(lab(None, {})) == []
    assert messages(lab("CID-a", {W1: "CID-a", W2: "CID-a"})) == []
    # A DataNode that never ran (a host added, or rebuilt empty) joins the namespace.
    assert messages(lab("CID-a", {W1: "CID-a", W2: None})) == []


def test_a_datanode_of_another_cluster_is_refused_naming_both_ids():
    error = only_error(lab("CID-a", {W1: "CID-a", W2: "CID-b"}))
    assert error.startswith(f"{W2}: hadoop_datanode_dir=CID-b: this DataNode holds blocks "
                            "of the HDFS cluster CID-b, the NameNode's is CID-a")
    assert "empty its DataNode directory" in error


def test_a_namenode_about_to_be_formatted_beside_datanodes_with_blocks_is_refused():
    # One line for both DataNodes: the same finding on each.
    error = only_error(lab(None, {W1: "CID-a", W2: "CID-a"}))
    assert error.startswith(f"{W1}, {W2}: hadoop_datanode_dir=CID-a: the NameNode "
                            f"({MASTER}) has no metadata and would be formatted")
    assert "restore the NameNode's metadata" in error


def test_namenodes_of_two_clusters_are_refused():
    data = lab("CID-a", {})
    data["hosts"][W1]["groups"].append("hdfs_namenode")
    data["hosts"][W1]["facts"]["identities"]["namenode_cluster_id"] = "CID-b"
    found = [m for m in messages(data) if "different HDFS clusters" in m]
    assert len(found) == 1 and found[0].startswith(f"{MASTER}, {W1}: hdfs_namenode="), found
    assert "CID-a" in found[0] and "CID-b" in found[0]


def test_an_id_set_after_the_format_is_only_a_warning_since_it_is_never_used():
    data = lab("CID-a", {W1: "CID-a"})
    for name in (MASTER, W1, W2):
        hv(data, name)["hadoop_cluster_id"] = "CID-mine"
    assert messages(data) == []
    [warning] = messages(data, WARNING)
    assert warning.startswith(f"{MASTER}: hadoop_cluster_id=CID-mine: the NameNode was "
                              "formatted as CID-a")
