"""The secure profile (streamstack_security: kerberos) as the templates render it, with
Ansible (role_templates), from the real defaults and the local lab's inventory. The
secrets are real password-lookup files in a temporary secrets directory, so a test sees
that every role reads the same password for the same user."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import role_templates
from role_templates import LOCAL, render

ROOT = Path(__file__).resolve().parents[2]
FACTS = {"architecture": "x86_64", "python": {"version": {"major": 3, "minor": 11}},
         "systemd": {"version": 252}}
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\nQUJD\n-----END CERTIFICATE-----\n"
MANIFEST = {"products": {"spark": {"version": "3.5.0", "sha256": "0" * 64}}}


def properties(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        assert key not in out, f"duplicate key {key}"
        out[key] = value
    return out


def _job_module(name: str):
    spec = importlib.util.spec_from_file_location(f"secure_jobs_{name}",
                                                  ROOT / "jobs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    (directory / "ca").mkdir(parents=True)
    (directory / "ca" / "ca.crt").write_text(CA_PEM)
    return directory


def inventory(secrets: Path, security: str = "kerberos", roles=("zookeeper", "kafka"),
              vars_role: str = "kafka") -> role_templates.Inventory:
    return role_templates.Inventory(
        LOCAL, default_roles=roles, vars_role=vars_role, facts=FACTS,
        extra_vars={"streamstack_security": security, "streamstack_secrets_dir": str(secrets),
                    "streamstack_artifacts_manifest": MANIFEST})


def password(secrets: Path, name: str) -> str:
    return (secrets / name).read_text().split()[0]


def broker(inv, host: str = "hadoop-master"):
    hv = inv.hostvars[host]
    return hv.with_overlay(kafka_node=hv["kafka_local_nodes"][0])


def test_secure_broker_listeners_acls_and_keystore(secrets):
    inv = inventory(secrets)
    props = properties(render(broker(inv), "kafka", "server.properties.j2"))
    assert props["listener.security.protocol.map"] == "INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL"
    assert props["listeners"] == "INTERNAL://0.0.0.0:19092,EXTERNAL://0.0.0.0:9092"
    assert props["inter.broker.listener.name"] == "INTERNAL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == "kafka.security.authorizer.AclAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin"
    assert props["zookeeper.set.acl"] == "true"
    assert props["ssl.keystore.location"] == "/etc/kafka/tls/kafka.keystore.p12"
    assert props["ssl.truststore.location"] == "/etc/kafka/tls/kafka.truststore.p12"
    # The stores' password is the one roles/pki made the stores with.
    store = password(secrets, "pki-store-password")
    assert len(store) == 32
    assert props["ssl.keystore.password"] == props["ssl.truststore.password"] == store
    assert inv.hostvars["hadoop-master"]["streamstack_pki_store_password_file"] == \
        str(secrets / "pki-store-password")


def test_plaintext_profile_has_no_security_settings(secrets):
    inv = inventory(secrets, security="none")
    text = render(broker(inv), "kafka", "server.properties.j2")
    props = properties(text)
    assert props["listener.security.protocol.map"] == "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
    assert not [k for k in props if k.startswith(("sasl.", "ssl.", "authorizer", "super."))]
    env = render(broker(inv).with_overlay(kafka_jmx_port=39092), "kafka", "server.env.j2")
    assert "java.security.auth.login.config" not in env
    unit = render(inv.hostvars["hadoop-master"], "zookeeper", "zookeeper.service.j2")
    assert "jaas" not in unit
    assert "quorum.auth" not in render(inv.hostvars["hadoop-master"], "zookeeper", "zoo.cfg.j2")
    # Every variable was templated (role_templates does it eagerly): none read a secret.
    assert not list(secrets.glob("*password*"))


def test_broker_and_zookeeper_agree_on_the_kafka_sasl_password(secrets):
    inv = inventory(secrets)
    hv = inv.hostvars["hadoop-worker1"]
    kafka_jaas = render(hv, "kafka", "kafka_server_jaas.conf.j2")
    zk_jaas = render(hv, "zookeeper", "jaas.conf.j2")
    zk_password = password(secrets, "zookeeper-kafka-password")
    admin_password = password(secrets, "kafka-admin-password")
    assert f'user_kafka="{zk_password}";' in zk_jaas
    client = kafka_jaas.split("Client {", 1)[1]
    assert 'username="kafka"' in client and f'password="{zk_password}";' in client
    server = kafka_jaas.split("KafkaServer {", 1)[1].split("};", 1)[0]
    assert "ScramLoginModule required" in server
    assert 'username="admin"' in server and f'password="{admin_password}";' in server
    # The quorum's learner logs in with the password its servers accept.
    quorum = password(secrets, "zookeeper-quorum-password")
    assert f'user_zkquorum="{quorum}";' in zk_jaas
    learner = zk_jaas.split("QuorumLearner {", 1)[1]
    assert 'username="zkquorum"' in learner and f'password="{quorum}";' in learner


def test_secure_zookeeper_quorum_and_client_sasl(secrets):
    hv = inventory(secrets).hostvars["hadoop-master"]
    cfg = properties(render(hv, "zookeeper", "zoo.cfg.j2"))
    assert cfg["authProvider.sasl"] == "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
    for key in ("quorum.auth.enableSasl", "quorum.auth.learnerRequireSasl",
                "quorum.auth.serverRequireSasl"):
        assert cfg[key] == "true"
    assert cfg["quorum.auth.learner.saslLoginContext"] == "QuorumLearner"
    assert cfg["quorum.auth.server.saslLoginContext"] == "QuorumServer"
    unit = render(hv, "zookeeper", "zookeeper.service.j2")
    flags = next(line for line in unit.splitlines() if "SERVER_JVMFLAGS" in line)
    assert "-javaagent:" in flags
    assert "-Djava.security.auth.login.config=/etc/zookeeper/jaas.conf" in flags


def test_secure_zookeeper_refuses_anonymous_sessions(secrets):
    cfg = properties(render(inventory(secrets).hostvars["hadoop-master"], "zookeeper",
                            "zoo.cfg.j2"))
    assert cfg["enforce.auth.enabled"] == "true" and cfg["enforce.auth.schemes"] == "sasl"
    # Hadoop HA's ZKFC and ResourceManagers connect without SASL: no enforcement then.
    inv = role_templates.Inventory(
        LOCAL, default_roles=("zookeeper", "kafka"), vars_role="kafka", facts=FACTS,
        extra_vars={"streamstack_security": "kerberos", "streamstack_secrets_dir": str(secrets),
                    "streamstack_artifacts_manifest": MANIFEST, "streamstack_namenode_ha": True})
    cfg = properties(render(inv.hostvars["hadoop-master"], "zookeeper", "zoo.cfg.j2"))
    assert "enforce.auth.enabled" not in cfg and "authProvider.sasl" in cfg
    plain = properties(render(inventory(secrets, security="none").hostvars["hadoop-master"],
                              "zookeeper", "zoo.cfg.j2"))
    assert "enforce.auth.enabled" not in plain


def test_broker_env_has_agent_and_jaas(secrets):
    inv = inventory(secrets)
    env = render(broker(inv).with_overlay(kafka_jmx_port=39092), "kafka", "server.env.j2")
    opts = next(line for line in env.splitlines() if line.startswith("KAFKA_OPTS="))
    assert "=39092:/etc/kafka/jmx-exporter.yml" in opts
    assert opts.endswith("-Djava.security.auth.login.config=/etc/kafka/kafka_server_jaas.conf")


def test_client_settings_carry_the_lab_user(secrets):
    inv = inventory(secrets)
    hv = inv.hostvars["hadoop-master"]
    producer = properties(render(
        hv.with_overlay(kafka_client_kind="producer",
                        kafka_client_properties=hv["kafka_client_producer_properties"]),
        "kafka", "client.properties.j2"))
    assert producer["acks"] == "all"
    assert producer["security.protocol"] == "SASL_SSL"
    assert producer["sasl.mechanism"] == "SCRAM-SHA-512"
    assert producer["ssl.truststore.type"] == "PEM"
    assert producer["ssl.truststore.location"] == "/etc/kafka/tls/ca.crt"
    student = password(secrets, "kafka-student-password")
    assert producer["sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="student" password="{student}";')
    admin = properties(render(hv.with_overlay(kafka_client_user="admin"), "kafka",
                              "client-secure.properties.j2"))
    assert admin["bootstrap.servers"] == (
        "hadoop-master:19092,hadoop-worker1:19093,hadoop-worker2:19094")
    assert 'username="admin"' in admin["sasl.jaas.config"]
    # The role's CLI calls and admin modules authenticate as the admin.
    assert hv["kafka_admin_cli_args"] == ["--command-config", "/etc/kafka/admin.properties"]
    options = hv["kafka_admin_client_options"]
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_plain_username"] == "admin"
    assert options["sasl_plain_password"] == password(secrets, "kafka-admin-password")
    assert options["ssl_cafile"] == "/etc/kafka/tls/ca.crt"


def test_scram_users_and_acls(secrets):
    hv = inventory(secrets).hostvars["hadoop-master"]
    assert [u["name"] for u in hv["kafka_scram_users"]] == ["admin", "streamstack-jobs",
                                                             "student"]
    passwords = hv["kafka_scram_passwords"]
    assert len(set(passwords.values())) == 3
    # The hash that makes a re-run skip kafka-configs.sh changes with any password.
    first = hv["kafka_scram_hash"]
    (secrets / "kafka-student-password").write_text("another\n")
    assert inventory(secrets).hostvars["hadoop-master"]["kafka_scram_hash"] != first
    acls = {(a["principal"], a["resource_type"], a["name"]): a["operations"]
            for a in hv["kafka_acls"]}
    assert acls[("User:streamstack-jobs", "topic", "wordcount-results")] == ["Write"]
    assert acls[("User:streamstack-jobs", "topic", "*")] == ["Read", "Describe"]
    assert acls[("User:student", "topic", "*")] == ["All"]


def test_jobs_get_their_kafka_settings_from_a_file(secrets):
    inv = inventory(secrets, roles=("spark_jobs",), vars_role="spark_jobs")
    hv = inv.hostvars["hadoop-master"]
    job = next(j for j in hv["spark_jobs"] if j["name"] == "wordcount")
    unit = render(hv.with_overlay(spark_job=job), "spark_jobs", "spark-job.service.j2")
    assert '"--kafka-properties" "/opt/streamstack-jobs/kafka-client.properties"' in unit
    text = render(hv, "spark_jobs", "kafka-client.properties.j2")
    jobs_password = password(secrets, "kafka-streamstack-jobs-password")
    assert jobs_password in text and jobs_password not in unit
    path = secrets / "kafka-client.properties"
    path.write_text(text)
    for name in ("wordcount", "kafka_to_hdfs"):
        options = _job_module(name).read_kafka_properties(str(path))
        assert options["security.protocol"] == "SASL_SSL"
        assert options["sasl.mechanism"] == "SCRAM-SHA-512"
        assert options["sasl.jaas.config"].endswith(
            f'username="streamstack-jobs" password="{jobs_password}";')
        # The CA inline with its line breaks back: Kafka parses it as PEM.
        assert options["ssl.truststore.type"] == "PEM"
        assert options["ssl.truststore.certificates"] == CA_PEM.strip()


def test_plaintext_jobs_unchanged(secrets):
    inv = inventory(secrets, security="none", roles=("spark_jobs",), vars_role="spark_jobs")
    hv = inv.hostvars["hadoop-master"]
    job = next(j for j in hv["spark_jobs"] if j["name"] == "kafka-to-hdfs")
    unit = render(hv.with_overlay(spark_job=job), "spark_jobs", "spark-job.service.j2")
    assert "--kafka-properties" not in unit
    assert not list(secrets.glob("*password*"))
