"""Action plugin: run the preflight rules of streamstack.preflight on the controller.

Runs once (``run_once: true``) after the read-only gathering tasks of
playbooks/preflight.yml. For every host of the play it takes the host's groups, the
variables the rules read (the inventory's value, else the role default from
roles/*/defaults, templated for that host, else the rules' own default) and the gathered
facts, evaluates every rule, and fails once with all errors. Warnings are shown as
Ansible warnings. The result carries ``preflight_errors`` / ``preflight_warnings`` (lists
of strings) for the runner. Changes nothing, anywhere.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.template import Templar

try:
    from streamstack import preflight
except ImportError:  # plain ansible-playbook from a checkout: the package is next door
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from streamstack import preflight


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        hostvars = task_vars["hostvars"]
        all_hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        defaults = self._role_defaults()

        data = {"hosts": {}}
        alive = set()
        for host in all_hosts:
            raw = hostvars.raw_get(host)
            reach = _reach(raw)
            if reach["answered"]:
                alive.add(host)
            data["hosts"][host] = {
                "groups": [g for g in raw.get("group_names", [])],
                "vars": self._variables(raw, defaults),
                "facts": self._facts(raw) if reach["answered"] else {},
                "reach": reach,
            }
        issues = preflight.check(data)
        for host in all_hosts:
            if host not in alive:
                continue
            raw = hostvars.raw_get(host)
            for register, what in (("preflight_listening", "listening ports (ss -ltnpe)"),
                                   ("preflight_resolution", "host name resolution"),
                                   ("preflight_identities", "ZooKeeper and Kafka ids kept")):
                found = raw.get(register) or {}
                if found.get("rc") not in (0, None):
                    detail = (found.get("stderr") or found.get("msg") or "").strip()
                    issues.append(preflight.Issue(
                        host, register, f"rc={found.get('rc')}",
                        f"could not check {what}: {detail.splitlines()[-1] if detail else '?'}",
                        "install iproute2 (ss) and python3 on the host", level=preflight.WARNING))
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

    def _role_dirs(self) -> list[Path]:
        base = Path(self._loader.get_basedir())
        candidates = [base / "roles", base.parent / "roles"]
        candidates += [Path(p) for p in (C.DEFAULT_ROLES_PATH or [])]
        seen, out = set(), []
        for path in candidates:
            path = path.resolve()
            if path.is_dir() and path not in seen:
                seen.add(path)
                out.append(path)
        return out

    def _role_defaults(self) -> dict:
        """The defaults of every role (later role dirs do not override earlier ones)."""
        merged: dict = {}
        for roles in self._role_dirs():
            for role in sorted(roles.iterdir()):
                files = [role / "defaults" / "main.yml", role / "defaults" / "main.yaml"]
                files += sorted((role / "defaults" / "main").glob("*.yml"))
                for path in files:
                    if not path.is_file():
                        continue
                    try:  # ansible-core 2.19: role defaults are trusted templates
                        values = self._loader.load_from_file(str(path),
                                                             trusted_as_template=True)
                    except TypeError:
                        values = self._loader.load_from_file(str(path))
                    values = values or {}
                    for key, value in values.items():
                        merged.setdefault(key, value)
        return merged

    def _variables(self, raw: dict, defaults: dict) -> dict:
        context = dict(defaults)
        context.update(raw)
        templar = Templar(loader=self._loader, variables=context)
        out = {}
        for name in preflight.VARIABLE_DEFAULTS:
            if name not in context:
                continue
            try:
                out[name] = _plain(templar.template(context[name]))
            except Exception:  # noqa: BLE001 - an untemplatable default: use the rules' own
                out[name] = None
        return out

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
        identities = raw.get("preflight_identities") or {}
        if identities.get("rc") == 0:
            with contextlib.suppress(ValueError):
                out["identities"] = json.loads(identities.get("stdout") or "{}")
        return out


def _reach(raw: dict) -> dict:
    """What the first contact (the ping of playbooks/preflight.yml) found for a host."""
    connection = str(raw.get("ansible_connection") or "ssh")
    address = str(raw.get("ansible_host") or raw.get("inventory_hostname"))
    if connection in ("ssh", "paramiko", "smart"):
        address = f"{raw.get('ansible_user') or '(your user)'}@{address}:" \
                  f"{raw.get('ansible_port') or 22}"
    address += f" ({connection})"
    result = raw.get("preflight_reach")
    if result is None:  # not tried: the first play did not run for this host
        return {"answered": False, "address": address, "stage": "connect",
                "message": "the host was not tried (its first task did not run)"}
    if result.get("ping") == "pong":
        return {"answered": True, "address": address}
    message = str(result.get("msg") or result.get("module_stderr") or "no answer")
    lowered = message.lower()
    if any(word in lowered for word in ("sudo", "su:", "privilege escalation", "become")):
        stage = "become"
    elif result.get("unreachable"):
        stage = "connect"
    else:
        stage = "python"
    return {"answered": False, "address": address, "stage": stage, "message": message}


def _plain(value):
    """Tagged/lazy containers from the templar, as plain Python data."""
    return json.loads(json.dumps(value, default=str))
