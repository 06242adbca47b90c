"""The secure profile (streamstack_security: kerberos) as the roles template it, with
Ansible (role_templates) from the real defaults and the committed 3-host inventory:
krb5.conf, the Hadoop daemons' principals, keytabs, SASL/HTTPS/SPNEGO settings and the
jobs' --principal/--keytab; and the default profile without any of it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import role_templates
from role_templates import LOCAL, RoleVars

FACTS = {
    "architecture": "x86_64",
    "memtotal_mb": 24 * 1024,
    "processor_vcpus": 2,
    "python": {"version": {"major": 3, "minor": 11}},
    "systemd": {"version": 252},
}
SECURE = {"streamstack_security": "kerberos"}
REALM = "STREAMSTACK.LAB"


def hadoop(host: str, extra: dict | None = None) -> role_templates.HostVars:
    inv = role_templates.Inventory(
        LOCAL, default_roles=("common", "hadoop"), vars_role="hadoop", facts=FACTS, extra_vars=extra
    )
    return inv.hostvars[host]


def site(hv, name: str) -> dict[str, str]:
    root = ET.fromstring(role_templates.render(hv, "hadoop", f"{name}.j2").encode())
    return {p.findtext("name"): p.findtext("value") for p in root.findall("property")}


def auth_to_local(rules: str, principal: str) -> str | None:
    """Hadoop's auth_to_local for the rules the role writes: RULE:[2:$1@$0](regex)s/.*/user/
    for two-component principals, DEFAULT for name@REALM of the default realm."""
    name, realm = principal.split("@")
    parts = name.split("/")
    for rule in rules.split("\n"):
        if rule == "DEFAULT":
            if realm == REALM and len(parts) == 1:
                return parts[0]
            continue
        match = re.fullmatch(r"RULE:\[2:\$1@\$0\]\((.+)\)s/\.\*/(\w+)/", rule)
        assert match, rule
        if len(parts) == 2 and re.fullmatch(match.group(1), f"{parts[0]}@{realm}"):
            return match.group(2)
    return None


@pytest.mark.parametrize(
    "name", ["core-site.xml", "hdfs-site.xml", "yarn-site.xml", "mapred-site.xml"]
)
def test_default_profile_has_no_security_settings(name):
    props = site(hadoop("hadoop-master"), name)
    assert not [
        k
        for k in props
        if "kerberos" in k
        or "principal" in k
        or "keytab" in k
        or k
        in (
            "hadoop.security.authentication",
            "dfs.http.policy",
            "dfs.data.transfer.protection",
            "dfs.block.access.token.enable",
        )
    ]


def test_default_profile_templates_no_secure_files_and_no_keytabs():
    hv = hadoop("hadoop-master")
    assert set(hv["hadoop_config_readers"]) == {
        "core-site.xml",
        "hdfs-site.xml",
        "yarn-site.xml",
        "capacity-scheduler.xml",
        "mapred-site.xml",
        "hadoop-env.sh",
        "log4j.properties",
        "jmx-exporter.yml",
        "workers",
        "hosts.exclude",
    }
    assert hv["hadoop_webhdfs_url"] == "http://127.0.0.1:9870/webhdfs/v1"
    assert hv["hadoop_webhdfs_user_param"] == "&user.name=hdfs"
    assert hv["hadoop_http_env"] == {}


def test_core_site_kerberos_and_auth_to_local():
    props = site(hadoop("hadoop-worker1", SECURE), "core-site.xml")
    assert props["hadoop.security.authentication"] == "kerberos"
    assert props["hadoop.security.authorization"] == "true"
    assert props["hadoop.http.authentication.type"] == "kerberos"
    assert props["hadoop.http.authentication.simple.anonymous.allowed"] == "false"
    assert props["hadoop.http.authentication.kerberos.principal"] == f"HTTP/_HOST@{REALM}"
    rules = props["hadoop.security.auth_to_local"]
    expected = {
        f"nn/hadoop-master@{REALM}": "hdfs",
        f"dn/hadoop-worker1@{REALM}": "hdfs",
        f"rm/hadoop-master@{REALM}": "yarn",
        f"nm/hadoop-worker2@{REALM}": "yarn",
        f"jhs/hadoop-master@{REALM}": "mapred",
        f"spark@{REALM}": "spark",
        f"root@{REALM}": "root",
    }
    assert {p: auth_to_local(rules, p) for p in expected} == expected
    # Another realm's service principals are not mapped to our service users.
    assert auth_to_local(rules, "nn/hadoop-master@EVIL.LAB") is None


def test_hdfs_site_sasl_https_on_the_http_ports():
    props = site(hadoop("hadoop-worker1", SECURE), "hdfs-site.xml")
    assert props["dfs.block.access.token.enable"] == "true"
    assert props["dfs.data.transfer.protection"] == "authentication"
    assert props["dfs.http.policy"] == "HTTPS_ONLY"
    # No privileged ports (no jsvc): data transfer port stays 9866.
    assert props["dfs.datanode.address"] == "0.0.0.0:9866"
    assert props["dfs.datanode.https.address"] == "0.0.0.0:9864"
    assert props["dfs.namenode.https-address"] == "0.0.0.0:9870"
    assert props["dfs.namenode.kerberos.principal"] == f"nn/_HOST@{REALM}"
    assert props["dfs.datanode.kerberos.principal"] == f"dn/_HOST@{REALM}"
    assert props["dfs.datanode.keytab.file"] == "/etc/security/keytabs/hdfs.service.keytab"


def test_yarn_and_jobhistory_principals():
    yarn = site(hadoop("hadoop-master", SECURE), "yarn-site.xml")
    assert yarn["yarn.resourcemanager.principal"] == f"rm/_HOST@{REALM}"
    assert yarn["yarn.nodemanager.principal"] == f"nm/_HOST@{REALM}"
    assert yarn["yarn.resourcemanager.keytab"] == "/etc/security/keytabs/yarn.service.keytab"
    assert yarn["yarn.resourcemanager.webapp.spnego-principal"] == f"HTTP/_HOST@{REALM}"
    mapred = site(hadoop("hadoop-master", SECURE), "mapred-site.xml")
    assert mapred["mapreduce.jobhistory.principal"] == f"jhs/_HOST@{REALM}"
    assert mapred["mapreduce.jobhistory.keytab"] == "/etc/security/keytabs/mapred.service.keytab"


def test_yarn_and_jobhistory_web_servers_https_only():
    yarn = site(hadoop("hadoop-master", SECURE), "yarn-site.xml")
    assert yarn["yarn.http.policy"] == "HTTPS_ONLY"
    assert (yarn["yarn.resourcemanager.webapp.https.address"]
            == "${yarn.resourcemanager.hostname}:8088")
    assert yarn["yarn.nodemanager.webapp.https.address"] == "0.0.0.0:8042"
    assert yarn["yarn.log.server.url"].startswith("https://")
    mapred = site(hadoop("hadoop-master", SECURE), "mapred-site.xml")
    assert mapred["mapreduce.jobhistory.http.policy"] == "HTTPS_ONLY"
    assert mapred["mapreduce.jobhistory.webapp.https.address"].endswith(":19888")
    hdfs = site(hadoop("hadoop-master", SECURE), "hdfs-site.xml")
    assert hdfs["dfs.encrypt.data.transfer"] == "false"
    core = site(hadoop("hadoop-master", SECURE), "core-site.xml")
    assert core["hadoop.rpc.protection"] == "authentication"
    hdfs = site(hadoop("hadoop-master", {**SECURE, "hadoop_dfs_encrypt_data_transfer": True}),
                "hdfs-site.xml")
    assert hdfs["dfs.encrypt.data.transfer"] == "true"


def test_policy_restricts_daemon_protocols_to_their_users():
    props = site(hadoop("hadoop-master", SECURE), "hadoop-policy.xml")
    assert props["security.datanode.protocol.acl"] == "hdfs"
    assert props["security.resourcetracker.protocol.acl"] == "yarn"
    assert props["security.client.protocol.acl"] == "*"


def test_ssl_files_name_the_pki_stores():
    hv = hadoop("hadoop-worker1", {**SECURE, "pki_store_password": "s3cret"})
    server = site(hv, "ssl-server.xml")
    assert server["ssl.server.keystore.location"] == "/etc/pki/hadoop/hadoop.keystore.p12"
    assert server["ssl.server.keystore.password"] == "s3cret"
    client = site(hv, "ssl-client.xml")
    assert client["ssl.client.truststore.location"] == "/etc/pki/hadoop/hadoop.truststore.p12"
    assert set(hv["hadoop_config_readers"]) >= {
        "hadoop-policy.xml",
        "ssl-server.xml",
        "ssl-client.xml",
    }


def test_keytabs_per_host_follow_the_daemons():
    def keytabs(host):
        return {
            k["path"].rsplit("/", 1)[1]: (k["owner"], k["mode"], sorted(k["principals"]))
            for k in hadoop(host, SECURE)["hadoop_keytabs"]
        }

    assert keytabs("hadoop-master") == {
        "hdfs.service.keytab": ("hdfs", "0400", [f"nn/hadoop-master@{REALM}"]),
        "yarn.service.keytab": ("yarn", "0400", [f"rm/hadoop-master@{REALM}"]),
        "mapred.service.keytab": ("mapred", "0400", [f"jhs/hadoop-master@{REALM}"]),
        "spnego.service.keytab": ("root", "0440", [f"HTTP/hadoop-master@{REALM}"]),
    }
    assert keytabs("hadoop-worker2") == {
        "hdfs.service.keytab": ("hdfs", "0400", [f"dn/hadoop-worker2@{REALM}"]),
        "yarn.service.keytab": ("yarn", "0400", [f"nm/hadoop-worker2@{REALM}"]),
        "spnego.service.keytab": ("root", "0440", [f"HTTP/hadoop-worker2@{REALM}"]),
    }


def test_secure_role_calls_use_spnego_over_https_by_host_name():
    hv = hadoop("hadoop-master", SECURE)
    assert hv["hadoop_webhdfs_url"] == "https://hadoop-master:9870/webhdfs/v1"
    assert hv["hadoop_webhdfs_user_param"] == ""
    assert hv["hadoop_http_env"] == {"KRB5CCNAME": "FILE:/run/streamstack-hadoop-role.krb5cc"}
    assert hv["hadoop_namenode_info_url"].startswith("https://hadoop-master:9870/jmx")


def test_krb5_conf_names_the_kdc_on_the_namenode_host():
    v = RoleVars("kerberos", "hadoop-worker1", facts=FACTS, extra=SECURE)
    text = role_templates.render(v, "kerberos", "krb5.conf.j2")
    assert f"default_realm = {REALM}" in text
    realm = re.escape(REALM)
    assert re.search(rf"{realm} = {{\s+kdc = hadoop-master\s+admin_server = hadoop-master", text)
    assert "rdns = false" in text
    kdc = role_templates.render(v, "kerberos", "kdc.conf.j2")
    enctypes = "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal"
    assert f"supported_enctypes = {enctypes}\n" in kdc


def test_kdc_host_follows_the_kerberos_kdc_group():
    inv = role_templates.Inventory(
        LOCAL,
        default_roles=(),
        vars_role="kerberos",
        facts=FACTS,
        extra_vars=SECURE,
        groups={"kerberos_kdc": ["hadoop-worker2"]},
    )
    assert inv.hostvars["hadoop-master"]["kerberos_kdc_host"] == "hadoop-worker2"


def _unit(extra: dict) -> str:
    v = RoleVars("spark_jobs", "hadoop-master", facts=FACTS, extra=extra)
    job = v["spark_jobs"][1]
    return role_templates.render(
        v.with_overlay(spark_job=job), "spark_jobs", "spark-job.service.j2"
    )


def test_jobs_submit_with_principal_and_keytab_only_in_the_secure_profile():
    secure = _unit(SECURE)
    assert f'--principal "spark@{REALM}"' in secure
    assert '--keytab "/etc/security/keytabs/spark.keytab"' in secure
    assert "--principal" not in _unit({})
