"""Preflight on hosts as they come: what a bare host lacks, said before any change."""

from __future__ import annotations

import pytest
from test_preflight import MASTER, W1, W2, healthy, messages, only_error

from streamstack.plugins.plugin_utils import preflight
from streamstack.plugins.plugin_utils.preflight import ERROR, WARNING

NOW = 1_800_000_000.0
BASE_PACKAGES = ["openjdk-17-jdk-headless", "python3", "procps", "iproute2", "socat", "acl",
                 "python3-zstandard"]
MIRROR = "http://mirror.invalid/debian"


def brings(**changes) -> dict:
    """A Debian 12 host with everything installed, its mirror answering, clock right."""
    found = {"epoch": NOW - 2, "os": {"id": "debian", "version_id": "12",
                                      "name": "Debian GNU/Linux 12 (bookworm)"},
             "python": "3.11.2", "python_apt": True, "apt_get": True,
             "packages": BASE_PACKAGES + ["python3-apt"], "apt_sources": {MIRROR: None},
             "apt_proxy": False, "clock_synchronized": True,
             "reverse": {MASTER: MASTER, W1: W1, W2: W2}}
    found.update(changes)
    return found


def lab(**changes) -> dict:
    data = healthy()
    data["controller"] = {"epoch": NOW, "check_mode": False}
    for host in data["hosts"].values():
        host["vars"]["common_packages"] = list(BASE_PACKAGES)
        host["facts"]["brings"] = brings(**changes)
    return data


def test_a_host_with_everything_passes():
    data = lab()
    assert messages(data) == []
    assert messages(data, WARNING) == []


def test_a_bare_host_is_told_what_the_roles_will_install():
    data = lab()
    data["hosts"][W1]["facts"]["brings"] = brings(packages=["python3", "sudo"],
                                                  python_apt=False)
    assert messages(data) == []
    [warning] = messages(data, WARNING)
    assert warning.startswith(f"{W1}: common_packages=")
    for package in ("openjdk-17-jdk-headless", "acl", "socat", "python3-apt", "iproute2"):
        assert package in warning
    assert "the common role installs them from its apt sources" in warning


def test_missing_packages_and_no_mirror_is_an_error_naming_the_source():
    data = lab()
    data["hosts"][W2]["facts"]["brings"] = brings(
        packages=["python3"], apt_sources={MIRROR: "mirror.invalid:80: timed out"})
    error = only_error(data)
    assert error.startswith(f"{W2}: common_packages=")
    assert "mirror.invalid:80: timed out" in error
    assert "Acquire::http::Proxy" in error


def test_no_mirror_is_fine_when_nothing_is_missing():
    data = lab(apt_sources={MIRROR: "mirror.invalid:80: timed out"})
    assert messages(data) == []


def test_check_mode_on_a_host_without_python3_apt_says_what_to_do():
    data = lab()
    data["controller"]["check_mode"] = True
    data["hosts"][MASTER]["facts"]["brings"] = brings(packages=BASE_PACKAGES,
                                                      python_apt=False)
    error = only_error(data)
    assert error.startswith(f"{MASTER}: python3-apt=not installed")
    assert "without --check" in error


@pytest.mark.parametrize("release", [
    {"id": "debian", "version_id": "11", "name": "Debian GNU/Linux 11 (bullseye)"},
    {"id": "ubuntu", "version_id": "22.04", "name": "Ubuntu 22.04.4 LTS"},
])
def test_an_unsupported_release_is_refused(release):
    data = lab()
    data["hosts"][W1]["facts"]["brings"] = brings(os=release)
    error = only_error(data)
    assert error.startswith(f"{W1}: ansible_host={release['name']}")
    assert "debian 12" in error


def test_no_apt_get_is_refused():
    data = lab()
    data["hosts"][W1]["facts"]["brings"] = brings(apt_get=False)
    assert "the roles install packages with apt" in only_error(data)


def test_clock_skew_is_an_error_with_kerberos_and_a_warning_without():
    data = lab()
    data["hosts"][W2]["facts"]["brings"] = brings(epoch=NOW + 600, clock_synchronized=False)
    assert messages(data) == []
    [warning] = messages(data, WARNING)
    assert warning.startswith(f"{W2}: clock=+600 s from the controller")
    assert "NTP not synchronized" in warning
    for host in data["hosts"].values():
        host["vars"]["streamstack_security"] = "kerberos"
        host["vars"]["common_manage_etc_hosts"] = True
    assert "Kerberos refuses tickets beyond 300 s" in only_error(data)


def test_a_few_seconds_between_reading_and_rules_are_not_skew():
    data = lab(epoch=NOW - 40)
    assert messages(data, WARNING) == []


def test_heaps_larger_than_memory_are_refused_with_the_breakdown():
    data = lab()
    master = data["hosts"][MASTER]
    master["facts"]["memtotal_mb"] = 1000
    master["vars"].update(zookeeper_heap_mb=128, kafka_heap_opts="-Xmx384m -Xms384m",
                          hadoop_namenode_heap="384m", hadoop_secondarynamenode_heap="256m")
    error = only_error(data)
    assert error.startswith(f"{MASTER}: zookeeper_heap_mb,hadoop_namenode_heap,"
                            "hadoop_secondarynamenode_heap,kafka_heap_opts=1152 MB")
    assert "ZooKeeper 128 MB" in error and "1 Kafka broker(s) 384 MB" in error
    master["facts"]["memtotal_mb"] = 2000
    assert messages(data) == []


def test_a_name_that_maps_back_to_another_is_refused_only_when_kerberos_needs_it():
    data = lab()
    data["hosts"][W1]["facts"]["brings"]["reverse"][MASTER] = "ip-172-18-0-2.internal"
    assert messages(data) == []
    for host in data["hosts"].values():
        host["vars"]["streamstack_security"] = "kerberos"
        host["vars"]["common_manage_etc_hosts"] = False
    error = only_error(data)
    assert error.startswith(f"{W1}: inventory_hostname={MASTER}")
    assert "ip-172-18-0-2.internal" in error
    data["hosts"][W1]["vars"]["common_manage_etc_hosts"] = True
    assert messages(data) == []


def test_a_pinned_id_held_by_another_name_is_refused():
    data = lab()
    users = [{"name": name, "group": name, "uid": uid} for name, uid in
             (("zookeeper", 420), ("kafka", 421), ("hdfs", 422), ("yarn", 423),
              ("mapred", 424), ("spark", 425))]
    master = data["hosts"][MASTER]
    master["vars"].update(common_service_users=users, common_service_group_ids={"kafka": 421})
    master["facts"]["getent_passwd"] = {"root": ["x", "0", "0"], "backup": ["x", "421", "34"],
                                        **{u["name"]: ["x", str(u["uid"])] for u in users
                                           if u["name"] != "kafka"}}
    master["facts"]["getent_group"] = {"root": ["x", "0"], "kafka": ["x", "130"]}
    error = only_error(data)
    assert error.startswith(f"{MASTER}: common_service_users[].uid=421")
    assert "belongs to backup" in error
    # An existing kafka user keeps its own id: nothing to refuse.
    master["facts"]["getent_passwd"]["kafka"] = ["x", "130", "130"]
    assert messages(data) == []


def test_every_issue_names_the_host_the_variable_and_a_fix():
    data = lab(os={"id": "ubuntu", "version_id": "22.04", "name": "Ubuntu"})
    for issue in preflight.check(data):
        if issue.level == ERROR:
            assert issue.host in data["hosts"] and issue.variable and issue.fix


def test_an_address_that_maps_back_to_no_name_is_refused_unless_etc_hosts_is_managed():
    data = lab()
    data["hosts"][MASTER]["facts"]["brings"]["reverse"][W2] = None
    error = only_error(data)
    assert error.startswith(f"{MASTER}: inventory_hostname={W2}")
    assert "cannot map its address back" in error
    data["hosts"][MASTER]["vars"]["common_manage_etc_hosts"] = True
    assert messages(data) == []


def test_a_small_opt_disk_is_named():
    data = lab()
    master = data["hosts"][MASTER]
    master["facts"]["mounts"].append({"mount": "/opt", "size_available": 100 * 1024 * 1024})
    error = only_error(data)
    assert error.startswith(f"{MASTER}: artifacts_install_dir=")
    assert "only 100 MB free on /opt" in error


JDK17, JDK21, JDK25 = (f"/usr/lib/jvm/java-{n}-openjdk-amd64" for n in (17, 21, 25))
JAVA_HOMES = ["zookeeper_java_home", "kafka_java_home", "hadoop_java_home",
              "spark_java_home", "spark_jobs_java_home"]
DEBIAN13 = {"id": "debian", "version_id": "13", "name": "Debian GNU/Linux 13 (trixie)"}


def java_lab(host: str, release: dict | None = None, jdks: dict | None = None,
             package: str = "openjdk-17-jdk-headless") -> dict:
    """The lab with every product on the common role's JDK (as the role defaults say);
    host brings release and jdks, the others a Debian 12 with its Java 17."""
    data = lab()
    for name, entry in data["hosts"].items():
        mine = name == host
        entry_package = package if mine else "openjdk-17-jdk-headless"
        home = f"/usr/lib/jvm/java-{entry_package.split('-')[1]}-openjdk-amd64"
        entry["vars"].update({"common_java_package": entry_package, "common_java_home": home},
                             **dict.fromkeys(JAVA_HOMES, home))
        entry["facts"]["brings"]["jdks"] = jdks if mine and jdks is not None else {JDK17: 17}
        if mine and release:
            entry["facts"]["brings"]["os"] = release
    return data


def test_debian_13_with_its_java_21_passes_before_the_jdk_is_installed():
    data = java_lab(W1, DEBIAN13, jdks={}, package="openjdk-21-jdk-headless")
    assert messages(data) == []


def test_debian_13_asked_for_java_17_names_what_the_release_carries():
    data = java_lab(W1, DEBIAN13, jdks={})
    data["hosts"][W1]["facts"]["brings"]["packages"] = ["python3"]
    error = only_error(data)
    assert error.startswith(f"{W1}: common_java_package=openjdk-17-jdk-headless")
    assert "Debian 13 has no openjdk-17-jdk-headless" in error
    assert "openjdk-21-jdk-headless, openjdk-25-jdk-headless" in error


def test_hadoop_on_java_25_is_refused_naming_the_setting_and_a_jdk_that_fits():
    data = java_lab(W1, DEBIAN13, jdks={JDK21: 21, JDK25: 25}, package="openjdk-21-jdk-headless")
    data["hosts"][W1]["vars"]["hadoop_java_home"] = JDK25
    found = messages(data)
    # The DataNode/NodeManager host: Hadoop itself and the Spark executors it would run.
    assert len(found) == 2, found
    hadoop = next(m for m in found if "Hadoop 3.3.6 runs" in m)
    assert hadoop.startswith(f"{W1}: hadoop_java_home={JDK25}")
    assert f"{JDK25} holds Java 25" in hadoop
    assert "Java 11 or Java 17 or Java 21" in hadoop
    assert f"{JDK21} (Java 21)" in hadoop
    assert any("Spark 3.5 executors runs" in m for m in found)


def test_a_java_home_with_no_jdk_is_an_error_for_the_products_of_that_host_only():
    data = java_lab(MASTER)
    data["hosts"][MASTER]["vars"]["kafka_java_home"] = "/opt/jdk-missing"
    error = only_error(data)
    assert error.startswith(f"{MASTER}: kafka_java_home=/opt/jdk-missing")
    assert "no JDK at /opt/jdk-missing; Kafka 3.6 runs on" in error


def test_a_jdk_the_inventory_installed_elsewhere_counts():
    data = java_lab(MASTER, jdks={JDK17: 17, "/opt/temurin-21": 21})
    data["hosts"][MASTER]["vars"]["spark_java_home"] = "/opt/temurin-21"
    assert messages(data) == []


def test_debian_13_is_a_supported_release_and_14_is_not():
    assert messages(java_lab(W2, DEBIAN13, jdks={JDK21: 21},
                             package="openjdk-21-jdk-headless")) == []
    data = java_lab(W2, {"id": "debian", "version_id": "14", "name": "Debian 14"})
    error = only_error(data)
    assert error.startswith(f"{W2}: ansible_host=Debian 14")
    assert "debian 12, debian 13" in error
