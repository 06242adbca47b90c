"""The secure profile's Hadoop half, live, from a lab host: an unauthenticated client is
refused by HDFS RPC, WebHDFS, the YARN REST API (application submission) and every web
server (NameNode, SecondaryNameNode, DataNode, ResourceManager, NodeManager, JobHistory);
with the lab user's ticket the same calls succeed; the Kafka-to-HDFS sink, submitted with
its keytab, writes new records to HDFS.

    pytest tests/secure/test_kerberos_hadoop.py --hosts=ansible://hdfs_namenode \
        --ansible-inventory=<inventory of a lab converged with streamstack_security=kerberos>

Every call runs on the NameNode host (a lab host, inside the cluster network), as root,
with an empty ticket cache or with a ticket from the lab user's keytab.
"""

from __future__ import annotations

import json
import shlex
import time
import uuid

import pytest
import testinfra

KEYTAB_DIR = "/etc/security/keytabs"
CA = "/etc/pki/hadoop/ca.crt"
ENV = "HADOOP_CONF_DIR=/etc/hadoop JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"

# One HTTP call from the host: prints the status code. With --negotiate, a SPNEGO token
# for HTTP@<url host> from the ticket cache (python3-gssapi, installed by the kerberos role).
HTTP = r"""
import base64, ssl, sys, urllib.error, urllib.parse, urllib.request
url, method, negotiate = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
headers = {"Accept": "application/json"}
if negotiate:
    import gssapi
    name = gssapi.Name("HTTP@" + urllib.parse.urlsplit(url).hostname,
                       gssapi.NameType.hostbased_service)
    token = gssapi.SecurityContext(name=name, usage="initiate").step()
    headers["Authorization"] = "Negotiate " + base64.b64encode(token).decode()
req = urllib.request.Request(url, method=method, headers=headers,
                             data=b"" if method == "POST" else None)
ctx = ssl.create_default_context(cafile=sys.argv[4])
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
try:
    with opener.open(req, timeout=60) as resp:
        print(resp.status); print(resp.read(2000).decode(errors="replace"))
except urllib.error.HTTPError as err:
    print(err.code)
"""


@pytest.fixture(autouse=True)
def _from_the_namenode_host(host):
    """With --hosts=ansible://kafka (molecule/secure) every probe would run three times:
    they are made once, from the NameNode's host (a lab host inside the cluster)."""
    if host.backend.get_hostname() != host.ansible.get_variables()["groups"]["hdfs_namenode"][0]:
        pytest.skip("the Hadoop probes run from the NameNode's host")


@pytest.fixture(scope="module")
def lab(host):
    variables = host.ansible.get_variables()
    groups = variables["groups"]
    realm = variables.get("streamstack_kerberos_realm", "STREAMSTACK.LAB")
    return {
        "nn": groups["hdfs_namenode"][0],
        "dn": groups["hdfs_datanode"][0],
        "rm": groups["yarn_resourcemanager"][0],
        "nm": groups["yarn_nodemanager"][0],
        "spark": groups["spark_client"][0],
        "realm": realm,
        "user": variables.get("kerberos_lab_user", "root"),
    }


@pytest.fixture(scope="module")
def ccache(host, lab):
    """A fresh ticket of the lab user, from its keytab, in a cache of this test's own."""
    path = f"/tmp/streamstack-secure-test-{uuid.uuid4().hex[:8]}.krb5cc"
    host.run_expect(
        [0],
        f"KRB5CCNAME=FILE:{path} kinit -kt {KEYTAB_DIR}/{lab['user']}.keytab "
        f"{lab['user']}@{lab['realm']}",
    )
    yield path
    host.run(f"rm -f {path}")


def _cache(ccache: str | None) -> str:
    # No ticket: a cache file that does not exist (never root's default cache).
    return f"FILE:{ccache}" if ccache else "FILE:/nonexistent/streamstack-no-ticket"


def http(host, url: str, ccache: str | None, method: str = "GET") -> tuple[int, str]:
    cmd = (
        f"KRB5CCNAME={_cache(ccache)} python3 -c {shlex.quote(HTTP)} "
        f"{shlex.quote(url)} {method} {'yes' if ccache else 'no'} {CA}"
    )
    out = host.check_output(cmd)
    status, _, body = out.partition("\n")
    return int(status), body


def hdfs(host, args: str, ccache: str | None):
    return host.run(f"KRB5CCNAME={_cache(ccache)} {ENV} /opt/hadoop/bin/hdfs {args}")


def test_hdfs_rpc_refuses_a_client_without_ticket(host):
    res = hdfs(host, "dfs -ls /", None)
    assert res.rc != 0
    assert "Client cannot authenticate via:[TOKEN, KERBEROS]" in res.stderr, res.stderr[-600:]


def test_hdfs_rpc_serves_the_lab_user_with_a_ticket(host, ccache):
    res = hdfs(host, "dfs -ls /", ccache)
    assert res.rc == 0, res.stderr[-600:]
    assert "/data" in res.stdout and "/user" in res.stdout


def _web(lab) -> dict[str, str]:
    nn, dn, rm, nm = lab["nn"], lab["dn"], lab["rm"], lab["nm"]
    return {
        "webhdfs": f"https://{nn}:9870/webhdfs/v1/?op=LISTSTATUS",
        "namenode ui": f"https://{nn}:9870/dfshealth.html",
        "namenode jmx": f"https://{nn}:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo",
        "secondarynamenode": f"https://{nn}:9868/jmx?qry=java.lang:type=Runtime",
        "datanode": f"https://{dn}:9864/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo",
        "resourcemanager ui": f"https://{rm}:8088/cluster",
        "resourcemanager rest": f"https://{rm}:8088/ws/v1/cluster/info",
        "nodemanager": f"https://{nm}:8042/ws/v1/node/info",
        "jobhistory": f"https://{nn}:19888/ws/v1/history/info",
    }


NAMES = list(_web({"nn": "a", "dn": "b", "rm": "c", "nm": "d"}))


@pytest.mark.parametrize("name", NAMES)
def test_web_server_refuses_a_client_without_ticket(host, lab, name):
    status, _ = http(host, _web(lab)[name], None)
    assert status == 401, f"{name}: {status}"


@pytest.mark.parametrize("name", NAMES)
def test_web_server_serves_the_lab_user_with_a_ticket(host, lab, ccache, name):
    status, body = http(host, _web(lab)[name], ccache)
    assert status == 200, f"{name}: {status} {body[:300]}"


def test_http_is_not_served_where_hdfs_moved_to_https(host, lab):
    res = host.run(f"python3 -c {shlex.quote(HTTP)} http://{lab['nn']}:9870/jmx GET no {CA}")
    assert res.rc != 0  # the port speaks TLS only


def test_yarn_rest_refuses_to_start_an_application_without_ticket(host, lab):
    url = f"https://{lab['rm']}:8088/ws/v1/cluster/apps/new-application"
    status, _ = http(host, url, None, method="POST")
    assert status == 401


def test_yarn_rest_gives_the_lab_user_an_application_id(host, lab, ccache):
    url = f"https://{lab['rm']}:8088/ws/v1/cluster/apps/new-application"
    status, body = http(host, url, ccache, method="POST")
    assert status == 200, body[:300]
    assert json.loads(body)["application-id"].startswith("application_")


def test_sink_job_writes_new_records_to_hdfs_with_its_keytab(host, lab, ccache):
    unit = "spark-job-kafka-to-hdfs"
    # The jobs' units are on the spark_client host (the NameNode's in the handout's layout).
    client = testinfra.get_host(f"ansible://{lab['spark']}",
                                ansible_inventory=host.backend.ansible_inventory)
    assert client.service(unit).is_running
    execstart = client.check_output(f"systemctl show -p ExecStart --value {unit}")
    assert f"--principal ; spark@{lab['realm']}" in execstart.replace("  ", " ") or (
        f"spark@{lab['realm']}" in execstart and "--keytab" in execstart
    ), execstart[:400]

    def committed() -> int:
        res = hdfs(host, "dfs -ls /data/events/_spark_metadata", ccache)
        return len([line for line in res.stdout.splitlines() if "/_spark_metadata/" in line])

    before = committed()
    marker = uuid.uuid4().hex
    records = "\n".join(f"{marker}-{i}" for i in range(20))
    # The lab user's SCRAM credentials (Kafka is SASL_SSL in this profile too).
    producer = ("/opt/kafka/bin/kafka-console-producer.sh --bootstrap-server localhost:9092 "
                "--producer.config /etc/kafka/producer.properties")
    sent = host.run(f"printf '%s\\n' {shlex.quote(records)} | {producer} --topic events")
    assert sent.rc == 0 and "ERROR" not in sent.stderr, sent.stderr[-800:]
    deadline = time.monotonic() + 240
    while committed() <= before and time.monotonic() < deadline:
        time.sleep(5)
    assert committed() > before, "the sink committed no batch to HDFS within 240 s"
    apps = host.run(
        f"KRB5CCNAME=FILE:{ccache} {ENV} /opt/hadoop/bin/yarn application -list "
        "-appStates RUNNING"
    )
    row = next((line for line in apps.stdout.splitlines() if "kafka-to-hdfs" in line), "")
    assert "\tspark\t" in row or " spark " in row.replace("\t", " "), apps.stdout[-800:]
