"""The warm site.yml's short cut: skip the roles when nothing changed since the last full
run, on every host.

Nothing changed means both:
- the run's inputs are the same: the project's playbooks, roles and plugins, the
  inventory, the extra vars, the artifacts manifest, the secrets directory and the
  versions of ansible-core, Mitogen and the collections (`input_digest`, on the
  controller, as the run starts);
- each host still looks as that run left it: every file, directory and link its tasks
  wrote, every unit they started or enabled, the users, groups, packages, memory and CPUs
  (the streamstack_converged module compares them with the stamp the run recorded).

The callback plugin streamstack_watch collects what the tasks wrote (`watched`); the last
play of site.yml records it on each host. One host that drifted, answered no stamp or
was not reached makes the whole lab run in full.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

# Runs with any of these are never short cut: they ask for part of the work on purpose.
PARTIAL_RUN_OPTIONS = {"tags": "--tags", "skip_tags": "--skip-tags", "subset": "--limit",
                       "start_at_task": "--start-at-task", "step": "--step"}
FULL_RUN_VARIABLE = "streamstack_full_run"
FULL_RUN_ENVIRONMENT = "STREAMSTACK_FULL_RUN"
# The extra vars of a run that runs every role (streamstack up --full, the bench).
FULL_RUN = {FULL_RUN_VARIABLE: True}

_FILE_ACTIONS = {"template", "copy", "file", "lineinfile", "blockinfile", "replace", "ini_file"}
_UNIT_ACTIONS = {"systemd", "systemd_service", "service"}
# What a full run read to decide (e.g. the markers of unpacked trees) is watched too.
_READ_ACTIONS = {"stat"}
# A shell task that manages files (one task for many links) names each on its stdout.
_COMMAND_ACTIONS = {"command", "shell"}
WATCH_MARKER = "streamstack_watch "
# The task's own path arguments (aliases included), for results that name none: no_log
# censors them, lineinfile/blockinfile/replace never return one.
_PATH_ARGUMENTS = ("dest", "path", "destfile", "name")
_PROJECT_INPUTS = ("site.yml", "ansible.cfg", "playbooks", "roles", "plugins", "jobs",
                   "streamstack")
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}

# Host name -> {"paths": set, "units": set, "stale": {unit: set}}, filled by the callback
# in the controller's main process; the record task's worker is forked from it and reads
# it.
WATCHED: dict[str, dict[str, set[str]]] = {}


def watched(action: str, result: dict, args: dict | None = None) -> tuple[set[str], set[str]]:
    """The paths and units one task result (or, when it names none, the task's templated
    arguments `args`) says it manages on its host."""
    short = (action or "").rsplit(".", 1)[-1]
    if short in _COMMAND_ACTIONS:
        lines = str(result.get("stdout") or "").splitlines()
        named = {line[len(WATCH_MARKER):].strip() for line in lines
                 if line.startswith(WATCH_MARKER)}
        return {os.path.normpath(path) for path in named if path.startswith("/")}, set()
    if short not in _FILE_ACTIONS | _UNIT_ACTIONS | _READ_ACTIONS:
        return set(), set()
    paths: set[str] = set()
    units: set[str] = set()
    items = result.get("results")
    # A loop's arguments are not templated per item: each item's callback brings its own.
    asked_for = {} if items else (args or {})
    for item in items or [result]:
        if not isinstance(item, dict) or item.get("skipped") or item.get("failed"):
            continue
        if short in _UNIT_ACTIONS:
            name = item.get("name") or asked_for.get("name")
            if isinstance(name, str) and name:
                units.add(name if "." in name else f"{name}.service")
            continue
        if short in _READ_ACTIONS:
            asked = (item.get("invocation") or {}).get("module_args") or asked_for
            path = (item.get("stat") or {}).get("path") or asked.get("path")
        else:
            path = item.get("dest") or item.get("path") or next(
                (asked_for[name] for name in _PATH_ARGUMENTS if asked_for.get(name)), None)
        if isinstance(path, str) and path.startswith("/"):
            paths.add(os.path.normpath(path))
    return paths, units


def remember(host: str, action: str, result: dict, args: dict | None = None) -> None:
    """Add one task result's paths and units to the host's watch list; a
    streamstack_stale result adds which files each unit reads (the check restarts none,
    but counts a unit older than one of them as drifted)."""
    if (action or "").rsplit(".", 1)[-1] == "streamstack_stale":
        stale = WATCHED.setdefault(host, {"paths": set(), "units": set()}) \
            .setdefault("stale", {})
        for unit, unit_paths in (result.get("watch") or {}).items():
            stale.setdefault(unit, set()).update(unit_paths or ())
        return
    paths, units = watched(action, result, args)
    if paths or units:
        entry = WATCHED.setdefault(host, {"paths": set(), "units": set()})
        entry["paths"] |= paths
        entry["units"] |= units


def _files_under(path: Path):
    if path.is_file():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_PARTS)
        for name in sorted(files):
            if not name.endswith(".pyc"):
                yield Path(root) / name


def _inventory_paths(source: str) -> list[Path]:
    """An inventory source and the group_vars/host_vars Ansible reads beside it."""
    path = Path(source).resolve()
    if path.is_dir():
        return [path]
    return [path, path.parent / "group_vars", path.parent / "host_vars"]


def collection_manifests(search_paths: list[str]) -> dict[str, str]:
    """Each installed collection's MANIFEST.json digest (its version and files), the first
    found on the search path as Ansible loads it."""
    found: dict[str, str] = {}
    for root in search_paths:
        for manifest in sorted(Path(root).glob("ansible_collections/*/*/MANIFEST.json")):
            name = "collection " + ".".join(manifest.parent.parts[-2:])
            if name not in found:
                found[name] = hashlib.sha256(manifest.read_bytes()).hexdigest()
    return found


def input_digest(project_root: Path, inventory_sources: list[str],
                 extra_vars: dict, more_files: list[str], tools: dict | None = None) -> str:
    """One digest of everything a full run reads on the controller; `tools` are the
    versions of the controller's software (ansible-core, Mitogen, collections). A
    directory in `more_files` (the secrets) counts by its files' names and digests."""
    digest = hashlib.sha256()
    roots = [project_root / name for name in _PROJECT_INPUTS]
    for source in inventory_sources:
        roots += _inventory_paths(source)
    roots += [Path(name) for name in more_files]
    for root in roots:
        if not root.exists():
            digest.update(f"absent {root}\n".encode())
            continue
        for path in _files_under(root):
            name = path.relative_to(project_root) if path.is_relative_to(project_root) else path
            digest.update(f"{name} {hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    # Parsed, not as typed: ansible-runner passes a file of its own run directory each
    # time. Asking for a full run is not an input of the run.
    wanted = {name: value for name, value in (extra_vars or {}).items()
              if name != FULL_RUN_VARIABLE}
    digest.update(json.dumps(wanted, sort_keys=True, default=str).encode())
    digest.update(json.dumps(tools or {}, sort_keys=True).encode())
    return digest.hexdigest()


def partial_run_reason(cli_args: dict) -> str | None:
    """Why a run that asks for part of the work (tags, limit, ...) is never short cut."""
    for option, flag in PARTIAL_RUN_OPTIONS.items():
        value = cli_args.get(option)
        if option == "tags" and list(value or []) in ([], ["all"]):
            continue
        if value:
            return f"{flag} was given"
    return None
