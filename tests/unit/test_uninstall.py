"""playbooks/uninstall.yml removes what each role describes in tasks/uninstall.yml. These
tests keep the descriptions from drifting: everything a role's tasks write on a host
(template, copy, file, unarchive, lineinfile dest/path, a command's `creates`) must be
named in its uninstall.yml, by the same literal path or by the variable it starts with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
PLAYBOOK = ROOT / "playbooks" / "uninstall.yml"

WRITERS = {
    "ansible.builtin.template": ("dest",),
    "ansible.builtin.copy": ("dest",),
    "ansible.builtin.file": ("path", "dest"),
    "ansible.builtin.unarchive": ("dest",),
    "ansible.builtin.lineinfile": ("path",),
    "ansible.builtin.command": ("creates",),
    "ansible.builtin.shell": ("creates",),
}

# Written on a host, yet not the role's to remove, with the reason.
NOT_REMOVED = {
    # Debian's python3-apt, a package (packages stay).
    "/usr/lib/python3/dist-packages/apt_pkg.cpython-*.so",
    # Lines of it, not the file: common_uninstall.etc_hosts.
    "/etc/hosts",
}
# A loop variable and what the description reads instead.
LOOP_VARS = {
    "kafka_node": "kafka_local_nodes",
    "hadoop_daemon": "hadoop_all_daemon_names",
    "artifacts_install": "artifacts_install_dir",
    "kerberos_keytab": "kerberos_keytab_dir",
    "kafka_forward": "kafka_conf_dir",
}
# Variables whose paths another description names, with the reason.
ELSEWHERE = {
    # Links inside the release tree, which the artifacts role's description removes.
    "kafka_home",
    # Under kerberos_kdc_keytab_stage_dir (our KDC) or the external KDC's staging
    # directory (vars/main.yml), both named.
    "kerberos_keytab_stage", "kerberos_keytab_staged",
    # A temporary directory (ansible.builtin.tempfile) its block removes in `always`.
    "kafka_scram_tmp",
}


def _definitions(role: str) -> dict:
    out: dict = {}
    for sub in ("defaults", "vars"):
        path = ROLES / role / sub / "main.yml"
        if path.exists():
            out.update(yaml.safe_load(path.read_text()) or {})
    return out


def _named(name: str, description: str, definitions: dict) -> bool:
    """The variable, or the one its value starts with (kafka_cluster_id_file ->
    kafka_data_dir), is named in the description."""
    seen = set()
    while name not in seen:
        seen.add(name)
        if name in description or name in ELSEWHERE:
            return True
        value = definitions.get(name)
        match = re.match(r"^\{\{\s*([a-z_]+)\s*\}\}", value) if isinstance(value, str) else None
        if not match:
            return False
        name = match.group(1)
    return False


def _tasks(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _written(task) -> list[str]:
    """The host paths a task writes (controller-side tasks write none here)."""
    if task.get("delegate_to") == "localhost":
        return []
    out = []
    for module, keys in WRITERS.items():
        args = task.get(module)
        if not isinstance(args, dict):
            continue
        if module == "ansible.builtin.file" and args.get("state") not in (
                "directory", "link", "touch", "hard"):
            continue
        for key in keys:
            value = args.get(key)
            if not isinstance(value, str):
                continue
            if re.match(r"^\{\{\s*item\b", value):
                # The loop's own items: a list of paths or of {path: ...}.
                loop = task.get("loop")
                if isinstance(loop, list):
                    out += [i if isinstance(i, str) else i.get("path", "") for i in loop]
                continue
            out.append(value)
    return [v for v in out if v]


def _roles() -> list[str]:
    return sorted(p.parent.parent.name for p in ROLES.glob("*/tasks/uninstall.yml"))


def test_every_role_site_yml_runs_has_a_description():
    roles = {p.name for p in ROLES.iterdir() if (p / "tasks" / "main.yml").exists()}
    # pki writes only where its callers say (kafka_tls_dir, hadoop_pki_dir): they describe it.
    assert set(_roles()) == roles - {"pki"}
    play = yaml.safe_load(PLAYBOOK.read_text())[0]
    assert set(play["vars"]["streamstack_uninstall_roles"]) == set(_roles())


@pytest.mark.parametrize("role", _roles())
def test_description_names_everything_the_role_writes(role):
    description = (ROLES / role / "tasks" / "uninstall.yml").read_text()
    definitions = _definitions(role)
    missing = []
    for path in sorted((ROLES / role / "tasks").glob("*.yml")):
        if path.name == "uninstall.yml":
            continue
        for task in _tasks(yaml.safe_load(path.read_text())):
            for value in _written(task):
                if value in NOT_REMOVED:
                    continue
                variable = re.match(r"^\{\{\s*([a-z_]+)", value)
                if variable:
                    name = LOOP_VARS.get(variable.group(1), variable.group(1))
                    if not _named(name, description, definitions):
                        missing.append(f"{path.name}: {value} ({name})")
                    continue
                # A literal path: it, or a directory above it, is named in the description.
                parts = Path(value).parts
                prefixes = {str(Path(*parts[:i])) for i in range(2, len(parts) + 1)}
                if not any(prefix in description for prefix in prefixes):
                    missing.append(f"{path.name}: {value}")
    assert not missing, f"roles/{role}/tasks/uninstall.yml does not name: {missing}"


def test_task_names_and_modules():
    files = [PLAYBOOK, ROOT / "playbooks" / "tasks" / "uninstall_units.yml",
             *(ROLES / role / "tasks" / "uninstall.yml" for role in _roles())]
    for path in files:
        data = yaml.safe_load(path.read_text())
        tasks = data[0]["tasks"] if path == PLAYBOOK else data
        for task in _tasks(tasks):
            assert task["name"].startswith("Uninstall | "), (path.name, task["name"])
            if "block" in task:
                continue
            modules = [k for k in task if "." in k]
            assert modules and all(m.startswith("ansible.builtin.") for m in modules), task["name"]
