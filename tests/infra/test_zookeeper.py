"""ZooKeeper: the `zookeeper` unit on every host of the zookeeper group, one ensemble."""

from __future__ import annotations

import re

import pytest

CLIENT_PORT = 2181


@pytest.fixture(scope="module")
def zk_hosts(host):
    return list(host.ansible.get_variables().get("groups", {}).get("zookeeper", []))


@pytest.fixture(autouse=True)
def _only_zookeeper_hosts(host, zk_hosts):
    if host.backend.get_hostname() not in zk_hosts:
        pytest.skip("not in the zookeeper group")


def four_letter_word(host, word: str, target: str = "127.0.0.1") -> str:
    cmd = host.run(
        "timeout 10 bash -c 'exec 3<>/dev/tcp/%s/%s; echo %s >&3; cat <&3'",
        target, str(CLIENT_PORT), word)
    return cmd.stdout


def test_unit_enabled_and_running(host):
    service = host.service("zookeeper")
    name = host.backend.get_hostname()
    assert service.is_enabled, f"zookeeper is not enabled on {name}"
    assert service.is_running, f"zookeeper is not running on {name}"


def test_runs_as_zookeeper_user(host):
    pid = host.check_output("systemctl show -p MainPID --value zookeeper")
    assert pid != "0"
    assert host.check_output("ps -o user= -p %s", pid) == "zookeeper"


def test_client_port_listening(host):
    assert host.socket(f"tcp://0.0.0.0:{CLIENT_PORT}").is_listening or \
        host.socket(f"tcp://:::{CLIENT_PORT}").is_listening


def test_ruok_answers_imok(host):
    assert four_letter_word(host, "ruok") == "imok"


def test_myid_matches_position_in_group(host, zk_hosts):
    name = host.backend.get_hostname()
    expected = host.ansible.get_variables().get("zookeeper_id", zk_hosts.index(name) + 1)
    assert host.file("/var/lib/zookeeper/myid").content_string.strip() == str(expected)


def test_config(host, zk_hosts):
    cfg = host.file("/etc/zookeeper/zoo.cfg")
    assert cfg.contains("^dataDir=/var/lib/zookeeper$")
    assert cfg.contains("^4lw.commands.whitelist=ruok,srvr,mntr,stat$")
    if len(zk_hosts) > 1:
        for index, server in enumerate(zk_hosts, start=1):
            assert cfg.contains(f"^server.{index}={server}:2888:3888$")


def test_ensemble_has_one_leader(host, zk_hosts):
    """Asked from this host over the network: every member serves, one leads."""
    modes = {}
    for member in zk_hosts:
        match = re.search(r"Mode: (\w+)", four_letter_word(host, "srvr", member))
        modes[member] = match.group(1) if match else None
    if len(zk_hosts) == 1:
        assert list(modes.values()) == ["standalone"]
    else:
        assert sorted(modes.values()) == ["follower"] * (len(zk_hosts) - 1) + ["leader"], modes


def test_jps_shows_quorum_peer_main(host):
    assert "QuorumPeerMain" in host.check_output("jps")
