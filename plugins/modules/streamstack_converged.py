#!/usr/bin/python
"""Ansible module: compare a host with the stamp of the last full run, or record it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: streamstack_converged
short_description: Tell whether a host still looks as the last full site.yml run left it
description:
  - I(state=record) writes a stamp with the run's input digest and a description of every
    watched path (type, mode, owner, content digest or link target), every watched unit
    (active or not, enabled or not, restarts by systemd), the users, groups, installed
    packages, memory, CPUs and the host's default IPv4 address.
  - Paths and units of earlier stamps stay watched (a warm run skips tasks that a cold
    one ran). Without any path or unit to record, the stamp is removed instead.
  - I(state=start) marks the stamp as being replaced, so that a full run that stops before its
    end (failure, interrupt) leaves it marked, and the next check is not converged.
  - I(state=check) reads the stamp and describes the same things again. The host is
    converged when the input digest is the same and nothing differs; otherwise the reason
    names what differs.
  - The action plugin of the same name supplies I(input_digest) and, to record, the paths
    and units the run's tasks managed (callback plugin streamstack_watch).
  - Supports check mode (nothing is written).
options:
  state:
    description: Compare with the stamp, mark it as being replaced, or write it.
    type: str
    choices: [check, start, record]
    default: check
  input_digest:
    description:
      - Digest of the run's inputs, computed on the controller when the run starts (check).
      - Recorded as given, so an input edited during the run is a change for the next one.
    type: str
    required: true
  paths:
    description: Absolute paths to describe (record only).
    type: list
    elements: str
    default: []
  units:
    description: systemd units to describe (record only).
    type: list
    elements: str
    default: []
  stale_watch:
    description:
      - Unit to the files it reads, from the run's streamstack_stale tasks (record only).
      - Kept in the stamp; a check finds a running unit older than one of them drifted
        (a restart still owed), so the short cut never hides it.
    type: dict
    default: {}
  stamp_path:
    description: Where the stamp lives on the host.
    type: path
    default: /var/lib/streamstack/converged.json
author: streamstack maintainers (@streamstack)
"""

EXAMPLES = r"""
- name: Compare the host with its stamp
  streamstack_converged:
    state: check
"""

RETURN = r"""
converged:
  description: Whether the host is as the stamp says (check only).
  type: bool
  returned: always
reason:
  description: What differs, when the host is not converged.
  type: str
  returned: always
recorded_at:
  description: When the stamp was written (UTC, ISO 8601).
  type: str
  returned: when a stamp exists
"""

import hashlib
import json
import os
import socket
import stat
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.streamstack.lab.plugins.module_utils import stale  # noqa: E402

# Files bigger than this are described by size and modification time, not content.
CONTENT_DIGEST_LIMIT = 1 << 20
HOST_FILES = ("/etc/passwd", "/etc/group", "/var/lib/dpkg/status")
STAMP_VERSION = 1


def describe_path(path: str) -> str:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    owner = f"{stat.S_IMODE(info.st_mode):o} {info.st_uid}:{info.st_gid}"
    if stat.S_ISLNK(info.st_mode):
        return f"link {os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return f"dir {owner}"
    if info.st_size > CONTENT_DIGEST_LIMIT:
        return f"file {owner} size {info.st_size} mtime {info.st_mtime_ns}"
    with open(path, "rb") as handle:
        return f"file {owner} sha1 {hashlib.sha1(handle.read()).hexdigest()}"


def parse_unit_states(text: str) -> dict[str, str]:
    """`systemctl show -p Id,ActiveState,SubState,UnitFileState,NRestarts` blocks -> unit:
    "up enabled". Only active is up: a unit in a crash loop (activating/auto-restart) or
    restarted by systemd since the stamp (NRestarts) has drifted."""
    states = {}
    for block in text.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" not in fields:
            continue
        active = fields.get("ActiveState", "")
        running = "up" if active == "active" else f"{active}/{fields.get('SubState', '')}"
        state = f"{running} {fields.get('UnitFileState') or '-'}"
        restarts = fields.get("NRestarts") or "0"
        states[fields["Id"]] = state if restarts == "0" else f"{state} restarts {restarts}"
    return states


def describe_units(units: list[str]) -> dict[str, str]:
    if not units:
        return {}
    done = subprocess.run(["systemctl", "show", "-p", "Id", "-p", "ActiveState", "-p",
                           "SubState", "-p", "UnitFileState", "-p", "NRestarts", "--", *units],
                          capture_output=True, text=True, check=False)
    found = parse_unit_states(done.stdout)
    return {f"unit {unit}": found.get(unit, "unknown") for unit in units}


def default_address() -> str:
    """The source address of the default route, as the default_ipv4 fact that other
    hosts' /etc/hosts are written from (a short cut gathers no facts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("8.8.8.8", 53))  # a UDP connect sends nothing
            return probe.getsockname()[0]
        except OSError:
            return "none"


def describe_host(paths: list[str], units: list[str]) -> dict[str, str]:
    described = {f"path {path}": describe_path(path) for path in sorted(set(paths))}
    described.update({f"path {path}": describe_path(path) for path in HOST_FILES})
    described.update(describe_units(sorted(set(units))))
    described["cpus"] = str(os.cpu_count())
    described["address"] = default_address()
    with open("/proc/meminfo", encoding="ascii") as handle:
        described["memory"] = handle.readline().split(":", 1)[1].strip()
    return described


def differences(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    return [f"{key} ({recorded[key]} -> {now.get(key, 'absent')})"
            for key in sorted(recorded) if now.get(key) != recorded[key]]


def watched_in(described: dict[str, str]) -> tuple[list[str], list[str]]:
    """The paths and units a stamp describes."""
    return ([key[5:] for key in described if key.startswith("path ")],
            [key[5:] for key in described if key.startswith("unit ")])


def read_stamp(stamp_path: str) -> dict | None:
    try:
        with open(stamp_path, encoding="utf-8") as handle:
            stamp = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    return stamp if stamp.get("version") == STAMP_VERSION else None


def check(stamp_path: str, input_digest: str) -> dict:
    stamp = read_stamp(stamp_path)
    if stamp is None:
        return {"converged": False, "reason": f"no stamp of a full run ({stamp_path})"}
    result = {"converged": False, "recorded_at": stamp.get("recorded_at")}
    if stamp.get("replaced_since"):
        return {**result, "reason": f"the run started at {stamp['replaced_since']} recorded "
                                    "no stamp (it failed, was stopped or was partial)"}
    if stamp.get("input_digest") != input_digest:
        return {**result, "reason": "the inputs changed (playbooks, roles, inventory, "
                                    "extra vars, artifacts, secrets or Ansible versions) "
                                    "since the last full run"}
    recorded = stamp.get("described") or {}
    paths, units = watched_in(recorded)
    changed = differences(recorded, describe_host(paths, units))
    # Same digests, yet a unit may run with an older configuration (a file put back by
    # hand, a restart lost): its role restarts it, so the roles must run.
    owed = stale.check(stamp.get("stale_watch") or {})
    changed += [f"unit {unit} runs an older configuration ({owed['why'][unit]})"
                for unit in owed["stale"]]
    if changed:
        more = f" and {len(changed) - 2} more" if len(changed) > 2 else ""
        return {**result, "reason": "changed since the last full run: "
                                    + "; ".join(changed[:2]) + more}
    return {**result, "converged": True, "reason": ""}


def _write(stamp_path: str, stamp: dict) -> None:
    os.makedirs(os.path.dirname(stamp_path), mode=0o755, exist_ok=True)
    partial = f"{stamp_path}.new"
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
              encoding="utf-8") as handle:
        json.dump(stamp, handle, indent=1, sort_keys=True)
    os.replace(partial, stamp_path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def start(stamp_path: str, check_mode: bool) -> dict:
    stamp = read_stamp(stamp_path)
    if stamp is None or stamp.get("replaced_since"):
        return {"changed": False, "converged": False, "reason": ""}
    if not check_mode:
        _write(stamp_path, {**stamp, "replaced_since": _now()})
    return {"changed": True, "converged": False, "reason": ""}


def record(stamp_path: str, input_digest: str, paths: list[str], units: list[str],
           check_mode: bool, stale_watch: dict | None = None) -> dict:
    previous = read_stamp(stamp_path) or {}
    if not paths and not units:
        # Nothing collected (the callback did not run): a stamp would watch nothing.
        if previous and not check_mode:
            os.remove(stamp_path)
        return {"changed": bool(previous), "converged": False,
                "reason": "no watch list from callback streamstack_watch: no stamp"}
    # What earlier full runs managed stays watched: a warm run skips tasks a cold one ran.
    recorded = previous.get("described") or {}
    recorded_paths, recorded_units = watched_in(recorded)
    paths = set(paths) | set(recorded_paths)
    units = set(units) | set(recorded_units)
    described = describe_host(sorted(paths), sorted(units))
    watch = {unit: sorted(set(files) | set((previous.get("stale_watch") or {}).get(unit, [])))
             for unit, files in (stale_watch or {}).items()}
    watch = {**(previous.get("stale_watch") or {}), **watch}
    if previous.get("input_digest") == input_digest and previous.get("described") == described \
            and previous.get("stale_watch", {}) == watch and not previous.get("replaced_since"):
        return {"changed": False, "converged": True, "reason": "",
                "recorded_at": previous.get("recorded_at")}
    stamp = {"version": STAMP_VERSION, "input_digest": input_digest, "recorded_at": _now(),
             "described": described, "stale_watch": watch}
    if not check_mode:
        _write(stamp_path, stamp)
    return {"changed": True, "converged": True, "reason": "",
            "recorded_at": stamp["recorded_at"], "watched": len(described)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["check", "start", "record"],
                      "default": "check"},
            "input_digest": {"type": "str", "required": True},
            "paths": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "stale_watch": {"type": "dict", "default": {}},
            "stamp_path": {"type": "path", "default": "/var/lib/streamstack/converged.json"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "check":
        module.exit_json(changed=False, **check(params["stamp_path"], params["input_digest"]))
    if params["state"] == "start":
        module.exit_json(**start(params["stamp_path"], module.check_mode))
    module.exit_json(**record(params["stamp_path"], params["input_digest"], params["paths"],
                              params["units"], module.check_mode, params["stale_watch"]))


if __name__ == "__main__":
    main()
