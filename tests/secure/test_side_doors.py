"""The secure profile's side doors, live: ZooKeeper refuses anonymous sessions and every
znode we create carries an ACL; the YARN and JobHistory web servers speak HTTPS only and
demand SPNEGO; a Spark job authenticates and encrypts its connections, and its UI is
shown to its owner and the admins only.

    pytest tests/secure/test_side_doors.py --hosts=ansible://all --ansible-inventory=<inv>

Every probe runs once, from the first NameNode host (ZooKeeper ones from the first
ZooKeeper host), as root, with an empty ticket cache or a ticket of its own. Bounded: every
command has a timeout.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid

import pytest

KEYTAB_DIR = "/etc/security/keytabs"
CA = "/etc/pki/hadoop/ca.crt"
KAFKA_JAAS = "/etc/kafka/kafka_server_jaas.conf"
ZK_SHELL = "/opt/kafka/bin/zookeeper-shell.sh localhost:2181"
HADOOP_ENV = "HADOOP_CONF_DIR=/etc/hadoop JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"

# One HTTP call: prints the status code (or "error <reason>" when no HTTP answer came),
# the Location and WWW-Authenticate headers, then the start of the body. Redirects are not
# followed. With a ticket cache, a SPNEGO token for HTTP@<url host> (python3-gssapi).
HTTP = r"""
import base64, ssl, sys, urllib.error, urllib.parse, urllib.request
url, negotiate, cafile, cookie = sys.argv[1], sys.argv[2] == "yes", sys.argv[3], sys.argv[4]
headers = {"Accept": "application/json"}
if cookie:
    headers["Cookie"] = cookie
if negotiate:
    import gssapi
    name = gssapi.Name("HTTP@" + urllib.parse.urlsplit(url).hostname,
                       gssapi.NameType.hostbased_service)
    token = gssapi.SecurityContext(name=name, usage="initiate").step()
    headers["Authorization"] = "Negotiate " + base64.b64encode(token).decode()
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
opener = urllib.request.build_opener(
    NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
def show(status, head, body):
    print(status); print(head.get("Location", "")); print(head.get("WWW-Authenticate", ""))
    print(body[:300000].decode(errors="replace"))
try:
    with opener.open(urllib.request.Request(url, headers=headers), timeout=60) as resp:
        show(resp.status, resp.headers, resp.read())
except urllib.error.HTTPError as err:
    show(err.code, err.headers, err.read())
except Exception as err:
    print("error", type(err).__name__, err)
"""


def _first(host, group: str) -> None:
    variables = host.ansible.get_variables()
    if host.backend.get_hostname() != (variables["groups"].get(group) or [None])[0]:
        pytest.skip(f"run once, from the first {group} host")


@pytest.fixture(scope="module")
def on_namenode(host):
    """The probes run once, from the first NameNode host (module-scoped fixtures that
    log in depend on it, so no other host tries)."""
    _first(host, "hdfs_namenode")


@pytest.fixture(scope="module")
def on_zookeeper(host):
    _first(host, "zookeeper")


@pytest.fixture(scope="module")
def lab(host):
    variables = host.ansible.get_variables()
    groups = variables["groups"]
    return {"nn": groups["hdfs_namenode"][0], "rm": groups["yarn_resourcemanager"][0],
            "nm": groups["yarn_nodemanager"][0],
            "realm": variables.get("streamstack_kerberos_realm", "STREAMSTACK.LAB"),
            "user": variables.get("kerberos_lab_user", "root")}


def _kinit(host, keytab: str, principal: str) -> str:
    path = f"/tmp/streamstack-doors-{uuid.uuid4().hex[:8]}.krb5cc"
    host.run_expect([0], f"KRB5CCNAME=FILE:{path} timeout 60 kinit -kt {keytab} {principal}")
    return path


@pytest.fixture(scope="module")
def ccache(on_namenode, host, lab):
    """A ticket of the lab user (an admin of YARN and of the jobs) in a cache of its own."""
    path = _kinit(host, f"{KEYTAB_DIR}/{lab['user']}.keytab", f"{lab['user']}@{lab['realm']}")
    yield path
    host.run(f"rm -f {path}")


@pytest.fixture(scope="module")
def stranger(on_namenode, host, lab):
    """A principal that is neither a job's owner nor an admin: the web servers' HTTP/<host>."""
    principal = f"HTTP/{lab['nn']}@{lab['realm']}"
    path = _kinit(host, f"{KEYTAB_DIR}/spnego.service.keytab", principal)
    yield path
    host.run(f"rm -f {path}")


def http(host, url: str, ccache: str | None = None, cookie: str = "") -> dict:
    cache = f"FILE:{ccache}" if ccache else "FILE:/nonexistent/streamstack-no-ticket"
    out = host.run(f"KRB5CCNAME={cache} timeout 90 python3 -c {shlex.quote(HTTP)} "
                   f"{shlex.quote(url)} {'yes' if ccache else 'no'} {CA} {shlex.quote(cookie)}")
    lines = (out.stdout + "\n\n\n").split("\n", 3)
    status = int(lines[0]) if lines[0].isdigit() else None
    return {"status": status, "error": None if status else lines[0] or out.stderr[-500:],
            "location": lines[1], "authenticate": lines[2], "body": lines[3]}


# ZooKeeper ------------------------------------------------------------------------------

def zk(host, commands: list[str], authenticated: bool) -> str:
    """Commands through Kafka's zookeeper-shell.sh: anonymous, or as Kafka's SASL user."""
    env = f"KAFKA_OPTS=-Djava.security.auth.login.config={KAFKA_JAAS} " if authenticated else ""
    script = "\n".join(commands) + "\nquit\n"
    out = host.run(f"printf %s {shlex.quote(script)} | timeout 90 env {env}{ZK_SHELL}")
    return out.stdout + out.stderr


def test_zookeeper_refuses_an_anonymous_client(on_zookeeper, host):
    znode = f"/streamstack-anonymous-{uuid.uuid4().hex[:6]}"
    try:
        out = zk(host, [f"create {znode} x", "ls /brokers/ids", "ls /brokers/topics",
                        "get /controller"], authenticated=False)
        assert f"Created {znode}" not in out, out[-1500:]
        # Broker ids, topics and the controller stay unread.
        assert not re.search(r"^\[.*\]$", out, re.M), out[-1500:]
        assert '"brokerid"' not in out, out[-1500:]
    finally:
        zk(host, [f"delete {znode}"], authenticated=True)


def test_every_znode_we_create_carries_an_acl(on_zookeeper, host):
    children = zk(host, ["ls /"], authenticated=True)
    top = re.findall(r"^\[([^\]]*)\]$", children, re.M)
    assert top, children[-1500:]
    ours = [f"/{name.strip()}" for name in top[-1].split(",") if name.strip() != "zookeeper"]
    assert "/brokers" in ours, ours
    # Kafka's deeper znodes too: the SCRAM credentials, a topic, a broker's registration.
    paths = ["/", *ours, "/config/users", "/config/users/admin", "/brokers/topics",
             "/brokers/topics/wordcount-results"]
    out = zk(host, [f"getAcl {path}" for path in paths], authenticated=True)
    # One block per path: "'scheme,'id" then ": perms" lines.
    blocks = re.split(r"^(?=\[zk: )", out, flags=re.M) if "[zk: " in out else [out]
    acls = " ".join(blocks)
    assert acls.count("'sasl,'kafka") >= len(paths), out[-3000:]
    # Nobody unauthenticated may change anything ('world,'anyone read-only at most).
    writable = re.findall(r"'world,'anyone\n: ([cdrwa]+)", out)
    assert all(perms == "r" for perms in writable), (writable, out[-3000:])


def test_zookeeper_enforces_sasl(on_zookeeper, host):
    cfg = host.file("/etc/zookeeper/zoo.cfg").content_string
    assert "enforce.auth.enabled=true" in cfg and "enforce.auth.schemes=sasl" in cfg


# YARN and JobHistory web servers --------------------------------------------------------

def _yarn_web(lab) -> dict[str, str]:
    return {"resourcemanager": f"{lab['rm']}:8088/ws/v1/cluster/info",
            "nodemanager": f"{lab['nm']}:8042/ws/v1/node/info",
            "jobhistory": f"{lab['nn']}:19888/ws/v1/history/info"}


YARN_WEB = list(_yarn_web({"rm": "a", "nm": "b", "nn": "c"}))


@pytest.mark.parametrize("name", YARN_WEB)
def test_yarn_web_server_speaks_no_plain_http(on_namenode, host, lab, name):
    """No page, no redirect and no SPNEGO challenge over plain HTTP (a cookie or token
    would then travel in clear): the port speaks TLS only."""
    answer = http(host, f"http://{_yarn_web(lab)[name]}")
    assert answer["status"] in (None, 400), (name, answer)
    assert not answer["location"] and "Negotiate" not in answer["authenticate"], (name, answer)


@pytest.mark.parametrize("name", YARN_WEB)
def test_yarn_web_server_https_demands_spnego(on_namenode, host, lab, ccache, name):
    refused = http(host, f"https://{_yarn_web(lab)[name]}")
    assert refused["status"] == 401 and "Negotiate" in refused["authenticate"], (name, refused)
    served = http(host, f"https://{_yarn_web(lab)[name]}", ccache)
    assert served["status"] == 200, (name, served)


# Spark ----------------------------------------------------------------------------------

def _running_jobs(host, ccache) -> dict[str, str]:
    """{application name: id} of the RUNNING applications, through YARN's RPC."""
    out = host.run(f"KRB5CCNAME=FILE:{ccache} {HADOOP_ENV} timeout 120 /opt/hadoop/bin/yarn "
                   "application -list -appStates RUNNING")
    assert out.rc == 0, out.stderr[-1000:]
    return {m.group(2): m.group(1) for m in
            re.finditer(r"^(application_\d+_\d+)\s+(\S+)", out.stdout, re.M)}


@pytest.fixture(scope="module")
def job(host, ccache):
    jobs = _running_jobs(host, ccache)
    assert jobs, "no running Spark job"
    name = "wordcount" if "wordcount" in jobs else sorted(jobs)[0]
    return jobs[name]


def _proxy(host, lab, app: str, path: str, ccache: str) -> dict:
    # The ResourceManager's proxy warns a user who is not the owner once (a cookie says
    # "seen"); the probe has seen it. The scheme: whatever the ResourceManager speaks.
    cookie = f"checked_{app}=true"
    for scheme in ("https", "http"):
        answer = http(host, f"{scheme}://{lab['rm']}:8088/proxy/{app}/{path}", ccache, cookie)
        if answer["status"]:
            return answer
    return answer


def test_spark_job_authenticates_and_encrypts(on_namenode, host, lab, ccache, job):
    answer = _proxy(host, lab, job, f"api/v1/applications/{job}/environment", ccache)
    assert answer["status"] == 200, answer
    props = dict(json.loads(answer["body"])["sparkProperties"])
    assert props.get("spark.authenticate") == "true", props
    assert props.get("spark.network.crypto.enabled") == "true", props
    assert props.get("spark.acls.enable") == "true", props


def test_spark_ui_is_for_the_owner_and_the_admins_only(on_namenode, host, lab, ccache,
                                                       stranger, job):
    admin = _proxy(host, lab, job, "jobs/", ccache)
    assert admin["status"] == 200, admin
    other = _proxy(host, lab, job, "jobs/", stranger)
    assert other["status"] in (401, 403), other
    assert "Streaming" not in other["body"] and "Spark Jobs" not in other["body"], other
