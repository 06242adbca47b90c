"""The secure profile (streamstack_security: kerberos), Kafka and ZooKeeper side, probed
on a converged lab: what a client without credentials is refused, and that the same
operations with credentials work, on every Kafka host, through the handout's own tools.

    pytest tests/secure --hosts=ansible://kafka --ansible-inventory=<secure lab inventory>

Each probe is a real client (Kafka's CLI tools, zookeeper-shell.sh) run as root on the
host. Bounded: every command has a timeout; nothing runs in the background.
"""

from __future__ import annotations

import re
import shlex
import time
import uuid

import pytest
import testinfra

KAFKA_BIN = "/opt/kafka/bin"
CONF = "/etc/kafka"
INTERNAL_OFFSET = 10000
# A client that gives up quickly: a refused connection must fail the test fast.
QUICK = "request.timeout.ms=5000\ndefault.api.timeout.ms=15000\n"
# Time for a TLS and SCRAM handshake on a loaded lab (15 s ran out at load 90), so that a
# wrong password is answered by the broker and not by the client's timeout.
PATIENT = "request.timeout.ms=30000\ndefault.api.timeout.ms=60000\n"
WORDCOUNT_INPUT = "Hello-Kafka"
WORDCOUNT_RESULTS = "wordcount-results"


@pytest.fixture(autouse=True)
def _on_broker_hosts(host):
    """Under --hosts=ansible://all (CI's molecule/default) only the broker hosts apply."""
    if not host.ansible.get_variables().get("kafka_brokers"):
        pytest.skip("no broker on this host")


def sh(host, command: str, timeout: int = 120):
    return host.run(f"timeout {timeout} bash -c {shlex.quote(command)}")


def write(host, path: str, text: str, mode: str = "0600") -> None:
    done = host.run(f"install -m {mode} /dev/null {path} && cat > {path} <<'EOF'\n{text}EOF")
    assert done.rc == 0, done.stderr


def broker(host) -> dict:
    variables = host.ansible.get_variables()
    first = variables["kafka_brokers"][0]
    return {"name": variables["inventory_hostname"], "port": int(first["port"]),
            "internal_port": int(first["port"]) + INTERNAL_OFFSET}


def list_topics(host, server: str, config: str, timeout: int = 90):
    return sh(host, f"{KAFKA_BIN}/kafka-topics.sh --bootstrap-server {server} --list "
                    f"--command-config {config}", timeout)


@pytest.fixture(scope="module")
def probe_configs(host):
    """Client settings without credentials, and with a wrong password."""
    with_secrets = host.file(f"{CONF}/client.properties").content_string
    plain = "/tmp/streamstack-probe-plain.properties"
    write(host, plain, QUICK)
    wrong = "/tmp/streamstack-probe-wrong.properties"
    wrong_text = re.sub(r'password="[^"]*"', 'password="not-the-password"', with_secrets)
    assert wrong_text != with_secrets
    write(host, wrong, PATIENT + "\n".join(line for line in wrong_text.splitlines()
                                          if not line.startswith("bootstrap.servers")) + "\n")
    yield {"plain": plain, "wrong": wrong, "good": f"{CONF}/client.properties"}
    host.run(f"rm -f {plain} {wrong}")


@pytest.mark.parametrize("listener", ["external", "internal"])
def test_kafka_refuses_clients_without_credentials(host, probe_configs, listener):
    b = broker(host)
    server = (f"localhost:{b['port']}" if listener == "external"
              else f"{b['name']}:{b['internal_port']}")
    plain = list_topics(host, server, probe_configs["plain"])
    assert plain.rc != 0, f"a PLAINTEXT client listed topics on {server}: {plain.stdout}"
    assert WORDCOUNT_RESULTS not in plain.stdout
    wrong = list_topics(host, server, probe_configs["wrong"], timeout=150)
    assert wrong.rc != 0 and WORDCOUNT_RESULTS not in wrong.stdout
    assert "Authentication failed" in wrong.stdout + wrong.stderr, wrong.stderr[-2000:]
    good = list_topics(host, server, probe_configs["good"])
    assert good.rc == 0, good.stderr[-2000:]
    assert WORDCOUNT_RESULTS in good.stdout.split()


def test_listeners_are_sasl_ssl_with_acls(host):
    config = host.file(f"{CONF}/server-{host.ansible.get_variables()['kafka_brokers'][0]['id']}"
                       ".properties")
    assert config.mode == 0o640 and config.user == "root" and config.group == "kafka"
    text = config.content_string
    assert "listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL" in text
    assert "allow.everyone.if.no.acl.found=false" in text
    assert "zookeeper.set.acl=true" in text
    for path, mode in ((f"{CONF}/client.properties", 0o600), (f"{CONF}/admin.properties", 0o600),
                       (f"{CONF}/producer.properties", 0o600),
                       (f"{CONF}/kafka_server_jaas.conf", 0o640),
                       (f"{CONF}/tls/kafka.key", 0o400), (f"{CONF}/tls/kafka.keystore.p12", 0o400),
                       *([("/etc/zookeeper/jaas.conf", 0o640)] if "zookeeper" in
                         host.ansible.get_variables()["group_names"] else [])):
        assert host.file(path).mode == mode, path


def test_the_jobs_user_is_limited_by_acls(host):
    """The jobs' SCRAM user authenticates but may not write a topic outside its ACLs."""
    jobs = host.run("cat /opt/streamstack-jobs/kafka-client.properties")
    if jobs.rc != 0:
        pytest.skip("no job on this host (spark_client only)")
    b = broker(host)
    topic = f"streamstack-acl-probe-{uuid.uuid4().hex[:6]}"
    config = "/tmp/streamstack-probe-jobs.properties"
    # The refusal comes with the first metadata answer; at load 90 that took over 15 s.
    write(host, config, PATIENT + "max.block.ms=60000\n" + jobs.stdout)
    try:
        done = sh(host, f"echo probe | {KAFKA_BIN}/kafka-console-producer.sh --bootstrap-server "
                        f"localhost:{b['port']} --topic {topic} --producer.config {config}", 150)
        assert "TopicAuthorizationException" in done.stdout + done.stderr or \
            "Not authorized to access topics" in done.stdout + done.stderr, done.stderr[-2000:]
        listed = list_topics(host, f"localhost:{b['port']}", config)
        assert listed.rc == 0 and topic not in listed.stdout.split()
    finally:
        host.run(f"rm -f {config}")


def zookeeper_shell(host, command: str, authenticated: bool):
    env = (f"KAFKA_OPTS=-Djava.security.auth.login.config={CONF}/kafka_server_jaas.conf "
           if authenticated else "")
    return sh(host, f"{env}{KAFKA_BIN}/zookeeper-shell.sh localhost:2181 {command}", 90)


def test_zookeeper_refuses_unauthenticated_writes_to_kafka_znodes(host):
    if "zookeeper" not in host.ansible.get_variables()["group_names"]:
        pytest.skip("no ZooKeeper server on this host")
    acl = zookeeper_shell(host, "getAcl /brokers/ids", authenticated=True)
    assert acl.rc == 0, acl.stderr[-2000:]
    assert "'sasl,'kafka" in acl.stdout, acl.stdout
    znode = f"/brokers/streamstack-probe-{uuid.uuid4().hex[:6]}"
    # Refused by the ACL, or (enforce.auth) the anonymous session itself.
    refused = zookeeper_shell(host, f"create {znode} x", authenticated=False)
    assert "Created" not in refused.stdout + refused.stderr, refused.stdout
    created = zookeeper_shell(host, f"create {znode} x", authenticated=True)
    assert f"Created {znode}" in created.stdout + created.stderr, created.stdout[-2000:]
    deleted = zookeeper_shell(host, f"delete {znode}", authenticated=True)
    assert deleted.rc == 0
    gone = zookeeper_shell(host, f"stat {znode}", authenticated=True)
    assert "does not exist" in gone.stdout + gone.stderr


def test_zookeeper_quorum_formed_with_sasl(host):
    if "zookeeper" not in host.ansible.get_variables()["group_names"]:
        pytest.skip("no ZooKeeper server on this host")
    cfg = host.file("/etc/zookeeper/zoo.cfg").content_string
    assert "quorum.auth.serverRequireSasl=true" in cfg
    assert "quorum.auth.learnerRequireSasl=true" in cfg
    modes = []
    for name in host.ansible.get_variables()["groups"]["zookeeper"]:
        other = testinfra.get_host(f"ansible://{name}",
                                   ansible_inventory=host.backend.ansible_inventory)
        out = other.run("timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2181; "
                        "printf srvr >&3; cat <&3'").stdout
        modes += re.findall(r"Mode: (\w+)", out)
    assert sorted(modes) == ["follower", "follower", "leader"], modes


def _wordcount_host(host):
    name = host.ansible.get_variables()["groups"]["spark_client"][0]
    return testinfra.get_host(f"ansible://{name}",
                              ansible_inventory=host.backend.ansible_inventory)


def _latest_counts(node, port: int, group: str) -> dict[str, int]:
    done = sh(node, f"{KAFKA_BIN}/kafka-console-consumer.sh --bootstrap-server localhost:{port} "
                    f"--topic {WORDCOUNT_RESULTS} --from-beginning --group {group} "
                    f"--consumer.config {CONF}/client.properties --property print.key=true "
                    "--timeout-ms 20000", 120)
    counts: dict[str, int] = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition("\t")
        if value.strip().isdigit():
            counts[key] = int(value)
    return counts


def test_wordcount_counts_over_sasl_ssl(host):
    node = _wordcount_host(host)
    if node.backend.get_hostname() != host.backend.get_hostname():
        pytest.skip("run once, on the spark_client host")
    job = node.service("spark-job-wordcount")
    assert job.is_running
    # The job's secrets are in a file only its user reads, not on its command line.
    props = node.file("/opt/streamstack-jobs/kafka-client.properties")
    assert props.user == "spark" and props.mode == 0o400
    password = re.search(r'password="([^"]+)"', props.content_string).group(1)
    assert password not in node.run("ps -eo args").stdout
    port = broker(node)["port"]
    run = uuid.uuid4().hex[:8]
    words = {f"s{run}kafka": 3, f"s{run}tls": 2, f"s{run}scram": 1}
    lines = [f"s{run}kafka s{run}tls", f"s{run}kafka  s{run}scram", f"s{run}tls s{run}kafka"]
    produced = sh(node, f"printf '%s\\n' {' '.join(shlex.quote(x) for x in lines)} | "
                        f"{KAFKA_BIN}/kafka-console-producer.sh --bootstrap-server "
                        f"localhost:{port} --topic {WORDCOUNT_INPUT} "
                        f"--producer.config {CONF}/producer.properties", 120)
    assert produced.rc == 0, produced.stderr[-2000:]
    deadline = time.monotonic() + 600  # batches take minutes at load 90 on 2 cores
    seen: dict[str, int] = {}
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1  # a new group each time: --from-beginning then reads everything
        counts = _latest_counts(node, port, f"streamstack-secure-probe-{run}-{attempt}")
        seen = {w: counts[w] for w in words if w in counts}
        if seen == words:
            break
        time.sleep(10)
    assert seen == words
