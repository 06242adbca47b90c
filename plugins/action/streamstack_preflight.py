"""Action plugin: run the preflight rules of plugin_utils/preflight on the controller.

Runs once (``run_once: true``) after the read-only gathering tasks of
playbooks/preflight.yml. For every host of the play it takes the host's groups, the
variables the rules read (as Ansible gives them to a play of the roles named in the task's
``roles`` argument, templated for that host), and the gathered facts, evaluates every
rule, and fails once with all errors. A variable whose template fails is one of those
errors. Warnings are shown as Ansible warnings. The result carries ``preflight_errors`` /
``preflight_warnings`` (lists of strings) for the runner. Changes nothing, anywhere.
"""

from __future__ import annotations

import contextlib
import json
import re
import time

from ansible.errors import AnsibleError
from ansible.playbook.play import Play
from ansible.plugins.action import ActionBase
from ansible.template import Templar

from ..plugin_utils import preflight


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        hostvars = task_vars["hostvars"]
        all_hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        variable_manager = self._task.get_variable_manager()
        play = self._roles_play(variable_manager)

        data = {"hosts": {}}
        alive = set()
        for host in all_hosts:
            raw = hostvars.raw_get(host)
            reach = _reach(raw)
            if reach["answered"]:
                alive.add(host)
            # The plugin API hands out no Host objects: the inventory's own are needed.
            host_vars = variable_manager.get_vars(
                play=play, host=variable_manager._inventory.get_host(host))
            values, template_errors = self._variables(host_vars, reach["answered"])
            data["hosts"][host] = {
                "groups": list(raw.get("group_names", [])),
                "vars": values,
                "template_errors": template_errors,
                "facts": self._facts(raw) if reach["answered"] else {},
                "reach": reach,
            }
        data["controller"] = {"epoch": time.time(),
                              "check_mode": bool(self._play_context.check_mode)}
        issues = preflight.check(data)
        for host in all_hosts:
            if host not in alive:
                continue
            raw = hostvars.raw_get(host)
            for register, what in (("preflight_listening", "listening ports (ss -ltnpe)"),
                                   ("preflight_resolution", "host name resolution"),
                                   ("preflight_identities", "ZooKeeper, Kafka and HDFS ids kept"),
                                   ("preflight_brings", "the OS, packages, apt and clock")):
                found = raw.get(register) or {}
                if found.get("rc") not in (0, None):
                    detail = (found.get("stderr") or found.get("msg") or "").strip()
                    issues.append(preflight.Issue(
                        host, register, f"rc={found.get('rc')}",
                        f"could not check {what}: {detail.splitlines()[-1] if detail else '?'}",
                        "check that python3 runs on the host", level=preflight.WARNING))
        errors = [str(i) for i in preflight.errors(issues)]
        warnings = [str(i) for i in preflight.warnings(issues)]
        result.update(changed=False, preflight_errors=errors, preflight_warnings=warnings,
                      preflight_hosts=len(all_hosts))
        if warnings:
            result["warnings"] = warnings
        if self._display.verbosity >= 2:  # -vv: what the rules saw
            result["preflight_input"] = data
        if errors:
            result["failed"] = True
            result["msg"] = preflight.format_errors(errors)
        else:
            result["msg"] = (f"preflight: {len(all_hosts)} hosts, no errors"
                             + (f", {len(warnings)} warnings" if warnings else ""))
        return result

    # -- variables ----------------------------------------------------------------------

    def _roles_play(self, variable_manager) -> Play:
        """A play of the roles the rules read variables from, loaded by Ansible, never run.

        VariableManager.get_vars(play, host) then gives each host exactly what a play of
        these roles gives its tasks (role defaults < inventory and playbook group_vars <
        host vars < facts < role vars < extra vars). Listing the roles on the report play
        itself would run their tasks.
        """
        return Play.load({"name": "Preflight | Variables of the roles", "hosts": "all",
                          "gather_facts": False, "roles": list(self._task.args["roles"])},
                         variable_manager=variable_manager, loader=self._loader)

    def _variables(self, host_vars: dict, read: bool) -> tuple[dict, dict]:
        """The variables the rules read, templated for the host, and {name: error} for
        those whose template fails."""
        if not read:
            # No facts: a template that needs them fails with "'ansible_facts' is
            # undefined", which says the value is unknown, not that it is wrong.
            host_vars = {k: v for k, v in host_vars.items() if k != "ansible_facts"}
        templar = Templar(loader=self._loader, variables=host_vars)
        values, errors = {}, {}
        for name in preflight.VARIABLE_DEFAULTS:
            if name not in host_vars:
                continue
            try:
                values[name] = _plain(templar.template(host_vars[name]))
            except AnsibleError as error:
                if read or "'ansible_facts' is undefined" not in error.message:
                    errors[name] = _template_error(host_vars[name], error)
        return values, errors

    # -- facts --------------------------------------------------------------------------

    @staticmethod
    def _facts(raw: dict) -> dict:
        facts = raw.get("ansible_facts") or {}
        out: dict = {}
        if "memtotal_mb" in facts:
            out["memtotal_mb"] = int(facts["memtotal_mb"])
        if facts.get("mounts"):
            out["mounts"] = [{"mount": m.get("mount"), "size_available": m.get("size_available")}
                             for m in facts["mounts"]]
        address = (facts.get("default_ipv4") or {}).get("address")
        if address:
            out["default_ipv4"] = address
        users = preflight.users_by_uid(facts.get("getent_passwd") or {})
        ss = raw.get("preflight_listening") or {}
        if ss.get("rc") == 0:
            out["listening"] = preflight.parse_ss(ss.get("stdout", ""), users)
        resolution = raw.get("preflight_resolution") or {}
        if resolution.get("rc") == 0:
            with contextlib.suppress(ValueError):
                out["resolves"] = json.loads(resolution.get("stdout") or "{}")
        for database in ("getent_passwd", "getent_group"):
            if facts.get(database):
                out[database] = facts[database]
        brings = raw.get("preflight_brings") or {}
        if brings.get("rc") == 0:
            with contextlib.suppress(ValueError):
                out["brings"] = json.loads(brings.get("stdout") or "{}")
        identities = raw.get("preflight_identities") or {}
        if identities.get("rc") == 0:
            with contextlib.suppress(ValueError):
                out["identities"] = json.loads(identities.get("stdout") or "{}")
        return out


# How a host without the interpreter answers: sh's "python3: not found" over SSH, or
# Mitogen's "No such file or directory: '/usr/bin/python3'" when it starts it.
_NO_PYTHON = re.compile(r"python[\d.]*'?:? (?:\d+: )?(?:not found|No such file)"
                        r"|No such file or directory: '[^']*python", re.IGNORECASE)


def _reach(raw: dict) -> dict:
    """What the first contact (the ping of playbooks/preflight.yml) found for a host."""
    connection = str(raw.get("ansible_connection") or "ssh")
    over_ssh = connection in ("ssh", "paramiko", "smart")
    address = str(raw.get("ansible_host") or raw.get("inventory_hostname"))
    if over_ssh:
        address = f"{raw.get('ansible_user') or '(your user)'}@{address}:" \
                  f"{raw.get('ansible_port') or 22}"
    address += f" ({connection})"
    result = raw.get("preflight_reach")
    if result is None:  # not tried: the first play did not run for this host
        return {"answered": False, "address": address, "over_ssh": over_ssh, "stage": "connect",
                "message": "the host was not tried (its first task did not run)"}
    if result.get("ping") == "pong":
        return {"answered": True, "address": address, "over_ssh": over_ssh}
    message = str(result.get("msg") or result.get("module_stderr") or "no answer")
    lowered = message.lower()
    if any(word in lowered for word in ("sudo", "su:", "privilege escalation", "become")):
        stage = "become"
    elif _NO_PYTHON.search(message):
        # Mitogen reports a host without the interpreter as unreachable; the cure is Python.
        stage = "python"
    elif result.get("unreachable"):
        stage = "connect"
    else:
        stage = "python"
    return {"answered": False, "address": address, "over_ssh": over_ssh, "stage": stage,
            "message": message}


def _template_error(template, error: AnsibleError) -> dict:
    """A template and why it failed, each on one line for the report."""
    return {"template": " ".join(str(template).split()),
            "error": " ".join(str(error.message).split())}


def _plain(value):
    """Tagged/lazy containers from the templar, as plain Python data."""
    return json.loads(json.dumps(value, default=str))
