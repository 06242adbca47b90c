"""Who is who, as the roles set it up (role_templates, from the real defaults and the
committed 3-host inventory): each service user in a primary group of its own with a
pinned gid, an HDFS superuser group that no YARN identity is in (every container runs as
yarn under the DefaultContainerExecutor), and YARN ACLs that name their principals in
the secure profile, while the handout's cluster (the plain profile) is not bound by them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import role_templates
import yaml
from ansible.template import trust_as_template
from role_templates import LOCAL
from test_kerberos_templates import FACTS, SECURE, hadoop, site

ROOT = Path(__file__).resolve().parents[2]


def common(host: str = "hadoop-master") -> role_templates.HostVars:
    inv = role_templates.Inventory(LOCAL, default_roles=("common",), vars_role="common",
                                   facts=FACTS)
    return inv.hostvars[host]


def task_loop(role: str, name: str, hv: role_templates.HostVars) -> list:
    """The loop of one task of roles/<role>/tasks/main.yml, templated for this host."""
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    task = next(t for t in tasks if t.get("name") == name)
    return hv.templar.template(trust_as_template(task["loop"]))


def test_hadoop_users_have_primary_groups_of_their_own_and_share_hadoop():
    users = {u["name"]: u for u in common()["common_service_users"]}
    for name in ("hdfs", "yarn", "mapred"):
        assert users[name]["group"] == name
        assert users[name]["groups"] == ["hadoop"]
    for name in ("zookeeper", "kafka", "spark"):
        assert users[name]["group"] == name
        assert "hadoop" not in users[name].get("groups", [])


def test_every_group_the_common_role_creates_has_a_pinned_free_gid():
    hv = common()
    made = task_loop("common", "Common | Create service groups", hv)
    assert set(made) == {"zookeeper", "kafka", "hadoop", "hdfs", "yarn", "mapred", "spark"}
    ids = hv["common_service_group_ids"]
    assert set(made) <= set(ids)
    assert len(set(ids.values())) == len(ids), ids
    assert all(420 <= gid <= 429 for gid in ids.values()), ids
    # The superuser group the hadoop role makes on the NameNode host is pinned too (the
    # hadoop play does not see the common role's defaults: a variable of its own).
    superusers = hadoop("hadoop-master")["hadoop_dfs_permissions_superusergroup_gid"]
    assert 420 <= superusers <= 429 and superusers not in ids.values()
    # The gids the groups had before keep their numbers (data on disk keeps its group).
    assert {k: ids[k] for k in ("zookeeper", "kafka", "hadoop", "spark")} == {
        "zookeeper": 420, "kafka": 421, "hadoop": 422, "spark": 425}
    uids = [u["uid"] for u in hv["common_service_users"]]
    assert len(set(uids)) == len(uids)


def test_uninstall_removes_every_group_the_role_made():
    tasks = yaml.safe_load((ROOT / "roles/common/tasks/uninstall.yml").read_text())
    described = tasks[0]["ansible.builtin.set_fact"]["common_uninstall"]["groups"]
    hv = common()
    assert set(hv.templar.template(trust_as_template(described))) == set(
        task_loop("common", "Common | Create service groups", hv))


@pytest.mark.parametrize("extra", [None, SECURE], ids=["plain", "secure"])
def test_hdfs_superuser_group_is_not_a_group_yarn_is_in(extra):
    hv = hadoop("hadoop-master", extra)
    group = site(hv, "hdfs-site.xml")["dfs.permissions.superusergroup"]
    assert group == "supergroup"
    users = {u["name"]: u for u in common()["common_service_users"]}
    for name in ("yarn", "mapred", "spark", "kafka", "zookeeper"):
        assert group != users[name]["group"] and group not in users[name].get("groups", [])
    assert group != hv["hadoop_group"]


def test_secure_yarn_acls_name_their_principals():
    hv = hadoop("hadoop-master", SECURE)
    yarn = site(hv, "yarn-site.xml")
    assert yarn["yarn.acl.enable"] == "true"
    assert yarn["yarn.admin.acl"] == "yarn,root supergroup"
    capacity = site(hv, "capacity-scheduler.xml")
    acls = {k: v for k, v in capacity.items() if ".acl_" in k}
    # root's ACLs too: a queue's ACL is its own plus its parent's, and root's default is '*'.
    assert acls == {
        "yarn.scheduler.capacity.root.acl_submit_applications": "root supergroup",
        "yarn.scheduler.capacity.root.acl_administer_queue": "root supergroup",
        "yarn.scheduler.capacity.root.default.acl_submit_applications": "spark,root supergroup",
        "yarn.scheduler.capacity.root.default.acl_administer_queue": "root supergroup",
    }
    policy = site(hv, "hadoop-policy.xml")
    assert "hadoop" not in policy["security.admin.operations.protocol.acl"].split(" ")[-1]


def test_plain_profile_does_not_enforce_yarn_acls():
    """The handout's cluster (no authentication): root and anyone submit as before."""
    yarn = site(hadoop("hadoop-master"), "yarn-site.xml")
    assert yarn.get("yarn.acl.enable", "false") == "false"
    assert "yarn.admin.acl" not in yarn


def test_yarn_submitters_and_admins_can_be_set():
    hv = hadoop("hadoop-master", {**SECURE, "hadoop_yarn_submitters": ["spark", "alice"],
                                  "hadoop_yarn_admins": ["ops"]})
    capacity = site(hv, "capacity-scheduler.xml")
    assert capacity["yarn.scheduler.capacity.root.default.acl_submit_applications"] == (
        "spark,alice,ops supergroup")
    assert site(hv, "yarn-site.xml")["yarn.admin.acl"] == "yarn,ops supergroup"
