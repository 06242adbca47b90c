"""No secret on a command line (project issue 35): every task of roles/ and playbooks/
(handlers and nested block/rescue/always included) is walked, and a secret variable
templated into what becomes a process's arguments fails the test. Any local user reads
those in /proc/<pid>/cmdline while the command runs.

Checked: `argv`, `cmd`, `_raw_params` and the free-form string of command, shell, raw
and script, the `command` of ansible.builtin.expect, and `environment` (without
Mitogen, ANSIBLE_STRATEGY=linear, Ansible puts the environment on the remote
`/bin/sh -c '... python3'` command line). Allowed: `stdin`, a file's `content`, and any
other module argument (a module reads its arguments from a file or a pipe, never argv).
A task that handles a secret anywhere must also keep `no_log`.

A secret variable is one whose name says so (password, passwd, secret, passphrase,
storepass, keypass; not a *_file, *_dir or *_path naming where one is kept), one whose
value is read from the secrets directory (the password lookup, a file lookup of
streamstack_secrets_dir), anything derived from one (`kerberos_kadmin` with `-w`), and
the loop variable of a loop over one.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
import yaml
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[2]

SECRET_NAME = re.compile(r"password|passwd|secret|passphrase|storepass|keypass", re.IGNORECASE)
# Where a secret is kept, not the secret: paths, and lists of file names.
NOT_A_SECRET_NAME = re.compile(r"_(file|files|dir|dirs|path|paths)$")
# The account databases getent reads (names and ids; shadow is never read).
ACCOUNT_DATABASES = ("getent_passwd", "getent_group")
# A value read from the secrets directory: the password lookup makes and reads its
# files there; a file lookup is one when it names that directory.
PASSWORD_LOOKUP = re.compile(r"""(lookup|query|q)\(\s*['"](ansible\.builtin\.)?password['"]""")
FILE_LOOKUP = re.compile(
    r"""(lookup|query|q)\(\s*['"](ansible\.builtin\.)?(file|unvault)['"][^)]*secrets?_dir""")
# Named or derived like a secret without holding one: the results of templating the
# secret files (changed or not), and the sha256 of the SCRAM credentials applied.
NOT_SECRET_VALUES = {"hadoop_secret_config_results", "kafka_scram_hash"}

COMMAND_MODULES = {f"{prefix}{name}" for prefix in ("", "ansible.builtin.", "ansible.legacy.")
                   for name in ("command", "shell", "raw", "script", "expect")}
ARGV_KEYS = ("argv", "cmd", "_raw_params", "command")
BLOCK_KEYS = ("block", "rescue", "always")
PLAY_TASK_KEYS = ("pre_tasks", "roles", "tasks", "post_tasks", "handlers")

# Includes and imports log nothing of their vars; the tasks they run are walked.
INCLUDES = {f"{prefix}{name}" for prefix in ("", "ansible.builtin.")
            for name in ("include_tasks", "import_tasks", "include_role", "import_role")}
# Options of our own modules (plugins/modules) that their argument_spec marks no_log:
# Ansible masks those values in every result and log by itself.
MODULE_NO_LOG = re.compile(r"""["'](\w+)["']:\s*\{[^\n]*["']no_log["']:\s*True""")

ENV = jinja2.Environment()


def masked_options() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        options = set(MODULE_NO_LOG.findall(path.read_text()))
        if options:
            out[path.stem] = options
    return out


# --- what a Jinja string refers to -----------------------------------------------------

def _templates(value) -> Iterator[str]:
    """Every string inside a YAML value (keys of mappings too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _templates(key)
            yield from _templates(item)
    elif isinstance(value, list):
        for item in value:
            yield from _templates(item)


def _referenced(text: str) -> tuple[set[str], set[str]]:
    """(variable names, attribute and key names) a templated string uses."""
    if "{{" not in text and "{%" not in text:
        return set(), set()
    try:
        with warnings.catch_warnings():
            # Regular expressions in the roles' Jinja strings ('\\.'): Jinja's own notice.
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        # Not Jinja Ansible could render either; take every identifier inside {{ }}.
        words = set(re.findall(r"[A-Za-z_]\w*", " ".join(re.findall(r"{{(.*?)}}", text, re.S))))
        return words, set()
    names = {node.name for node in tree.find_all(nodes.Name)}
    attributes = {node.attr for node in tree.find_all(nodes.Getattr)}
    attributes |= {node.arg.value for node in tree.find_all(nodes.Getitem)
                   if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)}
    return names, attributes


def _uses(value) -> tuple[set[str], set[str]]:
    names, attributes = set(), set()
    for text in _templates(value):
        more_names, more_attributes = _referenced(text)
        names |= more_names
        attributes |= more_attributes
    return names, attributes


def secret_named(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not NOT_A_SECRET_NAME.search(name) \
        and name not in NOT_SECRET_VALUES and name not in ACCOUNT_DATABASES


# --- the files -------------------------------------------------------------------------

def _load(path: Path):
    return yaml.safe_load(path.read_text())


def task_files() -> list[Path]:
    files = [ROOT / "site.yml"]
    files += sorted((ROOT / "roles").glob("*/tasks/**/*.yml"))
    files += sorted((ROOT / "roles").glob("*/handlers/**/*.yml"))
    files += sorted(path for path in (ROOT / "playbooks").rglob("*.yml")
                    if "group_vars" not in path.parts)
    files += sorted((ROOT / "molecule").glob("*/*.yml"))
    return [path for path in files if path.name != "molecule.yml"]


def vars_files() -> list[Path]:
    return (sorted((ROOT / "roles").glob("*/defaults/**/*.yml"))
            + sorted((ROOT / "roles").glob("*/vars/**/*.yml"))
            + sorted((ROOT / "playbooks" / "group_vars").rglob("*.yml"))
            + sorted((ROOT / "inventories").glob("*/group_vars/**/*.yml"))
            + sorted((ROOT / "inventories").glob("*/host_vars/**/*.yml")))


def _is_play(entry: dict) -> bool:
    return any(key in entry
               for key in ("hosts", "import_playbook", "ansible.builtin.import_playbook"))


def walk(entries, where: str) -> Iterator[tuple[str, dict, list[dict]]]:
    """(where, task, enclosing blocks and play) for every task, blocks' own tasks and
    handlers included."""
    yield from _walk(entries or [], where, [])


def _walk(entries, where: str, parents: list[dict]) -> Iterator[tuple[str, dict, list[dict]]]:
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if _is_play(entry):
            for key in PLAY_TASK_KEYS:
                if key != "roles":
                    yield from _walk(entry.get(key) or [], f"{where} [{entry.get('name', 'play')}]",
                                     [*parents, entry])
            continue
        if any(key in entry for key in BLOCK_KEYS):
            for key in BLOCK_KEYS:
                yield from _walk(entry.get(key) or [], where, [*parents, entry])
            continue
        yield where, entry, parents


def all_tasks() -> list[tuple[str, dict, list[dict]]]:
    out = []
    for path in task_files():
        out += walk(_load(path), str(path.relative_to(ROOT)))
    return out


# --- which variables hold a secret ----------------------------------------------------

def _definitions() -> dict[str, list]:
    """Every definition of every variable: defaults, vars, group_vars, and the vars,
    set_fact and include vars of plays, blocks and tasks."""
    found: dict[str, list] = {}

    def add(mapping) -> None:
        if isinstance(mapping, dict):
            for name, value in mapping.items():
                if isinstance(name, str):
                    found.setdefault(name, []).append(value)

    for path in vars_files():
        add(_load(path))
    for path in task_files():
        for entry in _load(path) or []:
            if isinstance(entry, dict) and _is_play(entry):
                add(entry.get("vars"))
    for _where, task, parents in all_tasks():
        add(task.get("vars"))
        for parent in parents:
            add(parent.get("vars"))
        for key in ("ansible.builtin.set_fact", "set_fact"):
            add(task.get(key))
    return found


def secret_variables(definitions: dict[str, list] | None = None) -> set[str]:
    """Secret by name, by source (the secrets directory) or derived from a secret."""
    definitions = _definitions() if definitions is None else definitions
    secret = {name for name in definitions if secret_named(name)}
    for name, values in definitions.items():
        if name not in NOT_SECRET_VALUES and any(
                PASSWORD_LOOKUP.search(text) or FILE_LOOKUP.search(text)
                for value in values for text in _templates(value)):
            secret.add(name)
    uses = {name: _uses(values)[0] for name, values in definitions.items()}
    grown = True
    while grown:
        grown = False
        for name, used in uses.items():
            if name not in secret and name not in NOT_SECRET_VALUES and used & secret:
                secret.add(name)
                grown = True
    return secret


# --- the check -------------------------------------------------------------------------

def _module(task: dict) -> tuple[str | None, object]:
    for key, value in task.items():
        if key in COMMAND_MODULES:
            return key, value
    return None, None


def _loop_secret(task: dict, secret: set[str]) -> set[str]:
    """The loop variable when the loop runs over a secret."""
    loop = next((task[key] for key in task if key == "loop" or key.startswith("with_")), None)
    names, attributes = _uses(loop)
    if names & secret or any(secret_named(attribute) for attribute in attributes):
        return {(task.get("loop_control") or {}).get("loop_var", "item")}
    return set()


def _secrets_in(value, secret: set[str]) -> set[str]:
    names, attributes = _uses(value)
    return (names & secret) | {attribute for attribute in attributes if secret_named(attribute)}


def violations(tasks, secret: set[str]) -> list[str]:
    found = []
    masked = masked_options()
    for where, task, parents in tasks:
        label = f"{where}: {task.get('name', '(unnamed task)')}"
        task_secret = secret | _loop_secret(task, secret)
        module, args = _module(task)
        command_parts = []
        if module is not None:
            if isinstance(args, dict):
                command_parts += [args[key] for key in ARGV_KEYS if key in args]
            else:
                command_parts.append(args)
            extra = task.get("args") or {}
            if isinstance(extra, dict):
                command_parts += [extra[key] for key in ARGV_KEYS if key in extra]
        for name in sorted(_secrets_in(command_parts, task_secret)):
            found.append(f"{label}: {name} on the command line ({module})")
        for holder in (task, *parents):
            for name in sorted(_secrets_in(holder.get("environment"), task_secret)):
                found.append(f"{label}: {name} in the environment (on the remote command line "
                             "without Mitogen)")
        handled = {key: value for key, value in task.items()
                   if key not in ("name", "when", "changed_when", "failed_when", "until",
                                  "register", "no_log", "loop_control", "tags", "notify")}
        for key, value in list(handled.items()):
            own = masked.get(key.rsplit(".", 1)[-1])
            if own and isinstance(value, dict):
                handled[key] = {option: item for option, item in value.items() if option not in own}
        if any(key in INCLUDES for key in task):
            handled = {}
        if _secrets_in(handled, task_secret) and not task.get("no_log") \
                and not any(parent.get("no_log") for parent in parents):
            names = ", ".join(sorted(_secrets_in(handled, task_secret)))
            found.append(f"{label}: handles {names} without no_log")
    return found


# --- tests -----------------------------------------------------------------------------

def test_no_secret_on_a_command_line_or_in_a_log():
    found = violations(all_tasks(), secret_variables())
    assert not found, "\n".join(found)


def test_the_walk_sees_every_kind_of_task():
    tasks = all_tasks()
    wheres = {where.split(" [")[0] for where, _task, _parents in tasks}
    assert len(tasks) > 300
    assert "roles/kafka/handlers/main.yml" in wheres
    assert "playbooks/rotate_secrets.yml" in wheres
    # Tasks inside block/rescue/always are reached.
    assert any(parents and any(key in parents[-1] for key in BLOCK_KEYS)
               for _where, _task, parents in tasks)


def test_the_roles_secrets_are_known():
    secret = secret_variables()
    for name in ("kerberos_master_password", "kerberos_lab_user_password",
                 "kerberos_admin_password", "kafka_scram_passwords", "kafka_store_password",
                 "pki_store_password", "zookeeper_sasl_quorum_password",
                 "spark_jobs_kafka_password",
                 "hadoop_ssl_keystore_password", "kafka_admin_client_options"):
        assert name in secret, name
    for name in ("streamstack_secrets_dir", "pki_store_password_file", "kafka_scram_users",
                 "kafka_admin_command_config", "kafka_zookeeper_tool_env", "hadoop_http_env"):
        assert name not in secret, name


SAMPLES = """
- name: Argv
  ansible.builtin.command:
    argv: [kadmin.local, -q, "addprinc -pw {{ the_password }} root"]
  no_log: true
- name: Free form
  ansible.builtin.shell: "kdb5_util create -s -P {{ the_password }}"
  no_log: true
- name: Derived
  ansible.builtin.command:
    argv: "{{ admin_tool + ['-q', 'listprincs'] }}"
  no_log: true
- name: Cmd in a rescue
  block:
    - name: Nothing
      ansible.builtin.debug:
  rescue:
    - name: Cmd
      ansible.builtin.command:
        cmd: "kafka-configs --add-config password={{ item.password }}"
      no_log: true
- name: Expect
  ansible.builtin.expect:
    command: "passwd {{ the_password }}"
    responses: {}
  no_log: true
- name: Environment
  ansible.builtin.command:
    argv: [keytool, -storepass:env, PW]
  environment:
    PW: "{{ the_password }}"
  no_log: true
- name: Loop over secrets
  ansible.builtin.command:
    argv: [tool, "{{ pw }}"]
  loop: "{{ the_passwords }}"
  loop_control:
    loop_var: pw
  no_log: true
- name: No log
  ansible.builtin.copy:
    content: "{{ the_password }}"
    dest: /x
- name: Stdin is fine
  ansible.builtin.command:
    argv: [kadmin.local, -q, addprinc root]
    stdin: "{{ the_password }}\\n{{ the_password }}"
  no_log: true
- name: A file's content is fine
  ansible.builtin.copy:
    content: "{{ the_password }}"
    dest: "{{ secrets_dir }}/x"
  no_log: true
- name: A path is fine
  ansible.builtin.command:
    argv: [keytool, -storepass:file, "{{ the_password_file }}", "{{ secrets_dir }}"]
"""

SAMPLE_VARS = {
    "the_password": ["{{ lookup('ansible.builtin.password', '/s/x') }}"],
    "the_passwords": ["{{ query('ansible.builtin.password', '/s/x', '/s/y') }}"],
    "admin_tool": ["{{ ['kadmin', '-w', admin_pw] }}"],
    "admin_pw": ["{{ lookup('ansible.builtin.file', secrets_dir ~ '/admin') }}"],
    "the_password_file": ["/s/x"],
    "secrets_dir": ["/s"],
}


@pytest.mark.parametrize("name, expected", [
    ("Argv", "the_password on the command line"),
    ("Free form", "the_password on the command line"),
    ("Derived", "admin_tool on the command line"),
    ("Cmd", "password on the command line"),
    ("Expect", "the_password on the command line"),
    ("Environment", "the_password in the environment"),
    ("Loop over secrets", "pw on the command line"),
    ("No log", "without no_log"),
])
def test_the_check_finds_each_kind_of_leak(name, expected):
    secret = secret_variables(SAMPLE_VARS)
    found = [line for line in violations(walk(yaml.safe_load(SAMPLES), "sample"), secret)
             if line.startswith(f"sample: {name}: ")]
    assert any(expected in line for line in found), found


@pytest.mark.parametrize("name", ["Stdin is fine", "A file's content is fine", "A path is fine"])
def test_the_check_allows_stdin_files_and_paths(name):
    secret = secret_variables(SAMPLE_VARS)
    found = [line for line in violations(walk(yaml.safe_load(SAMPLES), "sample"), secret)
             if line.startswith(f"sample: {name}: ")]
    assert not found
