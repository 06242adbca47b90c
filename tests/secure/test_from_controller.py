"""The secure profile probed from the controller (outside the lab hosts): each listener is
reachable, and a client without credentials is refused by Kafka (external and
inter-broker listeners), ZooKeeper (a write under a Kafka znode), HDFS RPC, WebHDFS,
the YARN REST API and every web UI; Kafka with the lab user's SCRAM credentials and
the lab CA from the controller's secrets directory works.

    pytest tests/secure/test_from_controller.py --hosts=ansible://kafka \
        --ansible-inventory=<secure lab inventory>

The controller has no Kerberos client, so the Hadoop calls *with* a ticket are probed
from a lab host (test_kerberos_hadoop.py). Every connection has a timeout.
"""

from __future__ import annotations

import socket
import struct
import uuid
from contextlib import contextmanager

import pytest
import requests
import testinfra
from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from testinfra.utils.ansible_runner import AnsibleRunner

from streamstack.checks.base import secrets_dir
from streamstack.probe import exchange_frame

INTERNAL_OFFSET = 10000
WORDCOUNT_RESULTS = "wordcount-results"


@pytest.fixture(scope="module")
def lab(request):
    inventory = request.config.option.ansible_inventory
    runner = AnsibleRunner(inventory)
    names = runner.get_hosts("all")
    variables = {name: runner.get_variables(name) for name in names}
    if variables[names[0]].get("streamstack_security", "none") != "kerberos":
        pytest.fail("this inventory does not use the secure profile")
    addresses = {}
    for name in names:
        # The address the host's certificate names (its default IPv4 address), which
        # the controller reaches directly: the lab's bridge network, or the VM's LAN.
        out = testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory).check_output(
            "hostname -I")
        addresses[name] = out.split()[0]
    first = variables[names[0]]
    secrets = secrets_dir(first, inventory)
    groups = first["groups"]
    return {"vars": variables, "addr": addresses, "secrets": secrets, "groups": groups,
            "ca": str(secrets / "ca" / "ca.crt")}


def reachable(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=5):
            return True
    except OSError:
        return False


def brokers(lab) -> list[tuple[str, int]]:
    return [(name, int(b["port"])) for name in lab["groups"]["kafka"]
            for b in lab["vars"][name].get("kafka_brokers", [])]


@contextmanager
def resolving(names: dict[str, str]):
    """The lab's inventory names resolve to its addresses in this process only (brokers
    advertise their inventory names, which the controller's resolver does not know)."""
    original = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        return original(names.get(host, host), *args, **kwargs)

    socket.getaddrinfo = lookup
    try:
        yield
    finally:
        socket.getaddrinfo = original


def admin(bootstrap: str, **settings) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000,
                            api_version_auto_timeout_ms=10000, **settings)


@pytest.mark.parametrize("listener", ["external", "internal"])
def test_kafka_refuses_a_plaintext_client(lab, listener):
    for name, port in brokers(lab):
        port += INTERNAL_OFFSET if listener == "internal" else 0
        address = lab["addr"][name]
        assert reachable(address, port), f"{name} {address}:{port} not reachable"
        with pytest.raises(KafkaError):
            admin(f"{address}:{port}").list_topics()


def test_kafka_refuses_tls_without_sasl_and_a_wrong_password(lab):
    name, port = brokers(lab)[0]
    bootstrap = f"{lab['addr'][name]}:{port + INTERNAL_OFFSET}"
    with pytest.raises(KafkaError):
        admin(bootstrap, security_protocol="SSL", ssl_cafile=lab["ca"]).list_topics()
    with resolving(lab["addr"]), pytest.raises(KafkaError):
        admin(bootstrap, security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
              sasl_plain_username="student", sasl_plain_password="not-the-password",
              ssl_cafile=lab["ca"]).list_topics()


def test_kafka_serves_the_lab_user_with_scram_and_the_lab_ca(lab):
    user = lab["vars"][lab["groups"]["kafka"][0]].get("kafka_lab_user", "student")
    password = (lab["secrets"] / f"kafka-{user}-password").read_text().split()[0]
    name, port = brokers(lab)[0]
    with resolving(lab["addr"]):
        client = admin(f"{lab['addr'][name]}:{port + INTERNAL_OFFSET}",
                       security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                       sasl_plain_username=user, sasl_plain_password=password,
                       ssl_cafile=lab["ca"])
        try:
            topics = client.list_topics()
            nodes = client.describe_cluster()["brokers"]
        finally:
            client.close()
    assert WORDCOUNT_RESULTS in topics
    assert len(nodes) == len(brokers(lab))


def _jute_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">i", len(data)) + data


def zookeeper_create(address: str, port: int, path: str) -> int:
    """An anonymous session creating `path` (ZooKeeper's wire protocol, no client
    library on the controller): the reply's error code, 0 when created."""
    with socket.create_connection((address, port), timeout=10) as sock:
        # ConnectRequest: protocol version, last zxid, timeout, session id, password.
        exchange_frame(sock, struct.pack(">iqiq", 0, 0, 10000, 0) + struct.pack(">i", 16)
                       + b"\0" * 16)
        # Create (op 1): path, data, ACL world:anyone all, persistent.
        request = (struct.pack(">ii", 1, 1) + _jute_string(path) + struct.pack(">i", 1) + b"x"
                   + struct.pack(">ii", 1, 31) + _jute_string("world") + _jute_string("anyone")
                   + struct.pack(">i", 0))
        reply = exchange_frame(sock, request)
        return struct.unpack(">iqi", reply[:16])[2]


def test_zookeeper_refuses_an_anonymous_write_under_kafka_znodes(lab):
    port = int(lab["vars"][lab["groups"]["zookeeper"][0]].get(
        "streamstack_zookeeper_client_port", 2181))
    for name in lab["groups"]["zookeeper"]:
        address = lab["addr"][name]
        # -124: SESSIONCLOSEDREQUIRESASLAUTH (enforce.auth: no anonymous session); -102:
        # NOAUTH where enforcement is off (Hadoop HA), the znode's ACL refusing the write.
        code = zookeeper_create(address, port, f"/brokers/probe-{uuid.uuid4().hex[:6]}")
        assert code in (-124, -102), code


def test_hdfs_rpc_refuses_simple_authentication(lab):
    name = lab["groups"]["hdfs_namenode"][0]
    port = int(lab["vars"][name].get("streamstack_namenode_port", 9000))
    with socket.create_connection((lab["addr"][name], port), timeout=10) as sock:
        # Hadoop RPC connection header: "hrpc", version 9, service class 0, auth NONE.
        sock.sendall(b"hrpc" + bytes([9, 0, 0]))
        reply = b""
        try:
            while len(reply) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except TimeoutError:
            pass
    assert b"SIMPLE authentication is not enabled" in reply, reply[:300]


def _web(lab) -> dict[str, tuple[str, str]]:
    groups = lab["groups"]
    nn, dn = groups["hdfs_namenode"][0], groups["hdfs_datanode"][0]
    rm, nm = groups["yarn_resourcemanager"][0], groups["yarn_nodemanager"][0]
    return {
        "webhdfs": ("GET", f"https://{nn}:9870/webhdfs/v1/?op=LISTSTATUS"),
        "webhdfs as a claimed user": ("GET",
                                      f"https://{nn}:9870/webhdfs/v1/?op=LISTSTATUS&user.name=hdfs"),
        "namenode ui": ("GET", f"https://{nn}:9870/dfshealth.html"),
        "secondarynamenode": ("GET", f"https://{nn}:9868/jmx"),
        "datanode": ("GET", f"https://{dn}:9864/jmx"),
        "resourcemanager ui": ("GET", f"https://{rm}:8088/cluster"),
        "resourcemanager rest": ("GET", f"https://{rm}:8088/ws/v1/cluster/info"),
        "yarn app submission": ("POST", f"https://{rm}:8088/ws/v1/cluster/apps/new-application"),
        "yarn app submission as a claimed user": (
            "POST", f"https://{rm}:8088/ws/v1/cluster/apps/new-application?user.name=yarn"),
        "nodemanager": ("GET", f"https://{nm}:8042/ws/v1/node/info"),
        "jobhistory": ("GET", f"https://{nn}:19888/ws/v1/history/info"),
    }


@pytest.mark.parametrize("name", list(_web({"groups": {g: ["h"] for g in (
    "hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager", "yarn_nodemanager")}})))
def test_web_server_refuses_a_client_without_ticket(lab, name):
    method, url = _web(lab)[name]
    # By inventory name, as the certificates say, verified against the lab CA.
    with resolving(lab["addr"]):
        answer = requests.request(method, url, verify=lab["ca"], timeout=30,
                                  allow_redirects=False)
    assert answer.status_code == 401, f"{name}: {answer.status_code} {answer.text[:200]}"
    assert "Negotiate" in answer.headers.get("WWW-Authenticate", ""), answer.headers
