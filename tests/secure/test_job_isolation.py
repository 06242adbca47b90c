"""What a YARN job can become, live, on each NodeManager host of a secure lab.

Under the DefaultContainerExecutor a container is a child of the NodeManager: it runs
with the NodeManager's user, group and supplementary groups (yarn). Each probe here runs
with exactly those credentials, read from the running NodeManager's /proc/<pid>/status
(setpriv), as a job's code would: it reads every keytab it can, logs in as each principal
found (the NodeManager's own among them), and then must NOT be able to

- act as an HDFS superuser: `hdfs dfsadmin -report` and `hdfs dfs -chown` of a file it
  does not own are refused;
- read another service's keytab (HDFS, JobHistory, the jobs' spark, the lab user root)
  or Kafka's and ZooKeeper's credentials;
- submit to or administer a YARN queue as a principal that is not YARN's own (the web
  servers' HTTP/<host>, which the NodeManager reads for SPNEGO).

What the DefaultContainerExecutor leaves shared between jobs (their `yarn` identity, the
NodeManager's keytab, the HTTP keytab) is in README "Secure profile".

    pytest tests/secure/test_job_isolation.py --hosts=ansible://kafka \
        --ansible-inventory=<secure lab inventory>

Runs on the hosts of --hosts that are NodeManagers (skipped elsewhere); bounded: every
command has a timeout.
"""

from __future__ import annotations

import re
import shlex
import uuid

import pytest

KEYTAB_DIR = "/etc/security/keytabs"
ENV = "HADOOP_CONF_DIR=/etc/hadoop JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"
# Files that hold Kafka's and ZooKeeper's credentials (SASL/SCRAM JAAS, client settings
# with a password, the jobs' Kafka settings) are found by what they contain.
SECRET = r"password=|sasl\.jaas\.config|Digest[A-Za-z]*LoginModule|ScramLoginModule"
SECRET_DIRS = ("/etc/kafka /etc/zookeeper /opt/kafka/config /opt/zookeeper/conf "
               "/opt/streamstack-jobs")


def sh(host, command: str, timeout: int = 180):
    return host.run(f"timeout {timeout} bash -c {shlex.quote(command)}")


@pytest.fixture(scope="module")
def lab(host):
    variables = host.ansible.get_variables()
    name = variables["inventory_hostname"]
    if name not in variables["groups"].get("yarn_nodemanager", []):
        pytest.skip("no NodeManager on this host: no container runs here")
    return {
        "host": name,
        "realm": variables.get("streamstack_kerberos_realm", "STREAMSTACK.LAB"),
        "user": variables.get("kerberos_lab_user", "root"),
    }


@pytest.fixture(scope="module")
def container(host, lab):
    """`setpriv ...` with the running NodeManager's uid, gid and groups: a container's."""
    pid = host.check_output("systemctl show -p MainPID --value yarn-nodemanager").strip()
    assert pid not in ("", "0"), "the NodeManager is not running"
    status = host.file(f"/proc/{pid}/status").content_string
    fields = {k: v.split() for k, v in re.findall(r"^(Uid|Gid|Groups):\s*(.*)$", status, re.M)}
    uid, gid, groups = fields["Uid"][0], fields["Gid"][0], fields.get("Groups", [])
    assert host.check_output(f"id -un {uid}") == "yarn", "the NodeManager does not run as yarn"
    group_opt = f"--groups={','.join(groups)}" if groups else "--clear-groups"
    return f"setpriv --reuid={uid} --regid={gid} {group_opt} --reset-env --"


def as_container(host, container: str, command: str, ccache: str | None = None,
                 timeout: int = 180):
    env = f"env KRB5CCNAME=FILE:{ccache} " if ccache else "env KRB5CCNAME=FILE:/nonexistent "
    return sh(host, f"cd /tmp && {container} {env}{ENV} bash -c {shlex.quote(command)}",
              timeout)


@pytest.fixture(scope="module")
def readable(host, container):
    """{keytab path: [principals]} of every keytab a container can read on this host."""
    found = as_container(host, container,
                         f"for f in {KEYTAB_DIR}/*; do [ -r \"$f\" ] && echo \"$f\"; done; true")
    assert found.rc == 0, found.stderr
    out = {}
    for path in found.stdout.split():
        listed = as_container(host, container, f"klist -kt {shlex.quote(path)}")
        assert listed.rc == 0, listed.stderr
        out[path] = sorted({line.split()[-1] for line in listed.stdout.splitlines()
                            if "@" in line and line.split()[0].isdigit()})
    return out


@pytest.fixture(scope="module")
def tickets(host, container, readable):
    """{principal: ticket cache of the container's own} for each principal it can log in as."""
    caches = {}
    for path, principals in readable.items():
        for principal in principals:
            cache = f"/tmp/streamstack-job-isolation-{uuid.uuid4().hex[:8]}.krb5cc"
            got = as_container(host, container,
                               f"kinit -kt {shlex.quote(path)} {shlex.quote(principal)}", cache)
            assert got.rc == 0, f"{principal}: {got.stderr}"
            caches[principal] = cache
    yield caches
    host.run("rm -f " + " ".join(caches.values()))


@pytest.fixture(scope="module")
def not_its_file(host, lab):
    """A file in HDFS owned by the lab user, made with the lab user's own ticket."""
    cache = f"/tmp/streamstack-job-isolation-admin-{uuid.uuid4().hex[:8]}.krb5cc"
    path = f"/tmp/streamstack-job-isolation-{uuid.uuid4().hex[:8]}"
    kinit = (f"KRB5CCNAME=FILE:{cache} kinit -kt {KEYTAB_DIR}/{lab['user']}.keytab "
             f"{lab['user']}@{lab['realm']}")
    made = sh(host, f"{kinit} && KRB5CCNAME=FILE:{cache} {ENV} /opt/hadoop/bin/hdfs dfs "
                    f"-touchz {path} && KRB5CCNAME=FILE:{cache} {ENV} /opt/hadoop/bin/hdfs dfs "
                    f"-chmod 644 {path}")
    assert made.rc == 0, made.stderr[-600:]
    yield path, cache
    sh(host, f"KRB5CCNAME=FILE:{cache} {ENV} /opt/hadoop/bin/hdfs dfs -rm -f -skipTrash {path}")
    host.run(f"rm -f {cache}")


def test_a_container_reads_no_keytab_of_another_service(lab, readable):
    """YARN's own principals (the NodeManager's; the ResourceManager's where it shares the
    host) and HTTP/<host> for the web servers' SPNEGO: nothing of HDFS, JobHistory, the
    jobs' spark or the lab user."""
    allowed = {f"{p}/{lab['host']}@{lab['realm']}" for p in ("nm", "rm", "HTTP")}
    principals = {p for found in readable.values() for p in found}
    assert f"nm/{lab['host']}@{lab['realm']}" in principals  # the door this test watches
    assert principals <= allowed, {k: v for k, v in readable.items() if set(v) - allowed}


def test_no_principal_a_container_holds_is_an_hdfs_superuser(host, container, tickets):
    for principal, cache in tickets.items():
        report = as_container(host, container, "/opt/hadoop/bin/hdfs dfsadmin -report", cache)
        assert report.rc != 0, f"{principal} ran dfsadmin -report: {report.stdout[:300]}"
        assert "Superuser privilege is required" in report.stderr or (
            "Access denied" in report.stderr), f"{principal}: {report.stderr[-600:]}"


def test_no_principal_a_container_holds_takes_a_file_it_does_not_own(host, container,
                                                                       tickets, not_its_file):
    path, admin_cache = not_its_file
    for principal, cache in tickets.items():
        taken = as_container(host, container,
                             f"/opt/hadoop/bin/hdfs dfs -chown yarn {path}", cache)
        assert taken.rc != 0, f"{principal} chowned {path}"
        assert "Permission denied" in taken.stderr or "Non-super user" in taken.stderr, (
            f"{principal}: {taken.stderr[-600:]}")
    owner = sh(host, f"KRB5CCNAME=FILE:{admin_cache} {ENV} /opt/hadoop/bin/hdfs dfs "
                     f"-stat %u {path}")
    assert owner.stdout.strip() == "root", owner.stdout + owner.stderr


def test_a_container_reads_no_kafka_or_zookeeper_credentials(host, container):
    found = as_container(host, container,
                         f"grep -rlsIE {shlex.quote(SECRET)} {SECRET_DIRS}; true")
    assert found.stdout.split() == [], found.stdout


def _queue_acls(host, container, cache) -> dict[str, set[str]]:
    res = as_container(host, container, "/opt/hadoop/bin/mapred queue -showacls", cache)
    assert res.rc == 0, res.stderr[-600:]
    acls = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) in (1, 2) and parts[0] in ("root", "root.default"):
            acls[parts[0]] = set(parts[1].split(",")) if len(parts) == 2 else set()
    assert set(acls) == {"root", "root.default"}, res.stdout
    return acls


def test_a_principal_that_is_not_yarn_neither_submits_nor_administers(host, container,
                                                                       tickets, lab):
    """HTTP/<host> (the spnego keytab every daemon user reads) is no YARN user: no queue
    lets it submit or kill. (YARN's own principals map to yarn, which the ResourceManager
    always counts as an administrator: README says so.)"""
    http = tickets[f"HTTP/{lab['host']}@{lab['realm']}"]
    assert _queue_acls(host, container, http) == {"root": set(), "root.default": set()}
