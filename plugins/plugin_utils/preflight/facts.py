"""Parsing what playbooks/preflight.yml gathered on the hosts."""

from __future__ import annotations

import re

# --- parsing what the playbook gathered ------------------------------------------------

_SS_PROCESS = re.compile(r'\("(?P<process>[^"]+)",pid=(?P<pid>\d+)')
_SS_UID = re.compile(r"\buid:(?P<uid>\d+)")
_SS_CGROUP = re.compile(r"\bcgroup:(?P<cgroup>\S+)")


def parse_ss(output: str, users_by_uid: dict[int, str] | None = None) -> list[dict]:
    """Listening TCP sockets from ``ss -H -ltnpe``: port, address, process, pid, user, unit.

    Inside containers without CAP_SYS_PTRACE ``-p`` shows no process; the socket's uid
    and cgroup (its systemd unit) still identify it.
    """
    users_by_uid = users_by_uid or {}
    sockets = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        # State Recv-Q Send-Q Local:Port Peer:Port [Process/extended]
        local = fields[3] if fields[0] == "LISTEN" else fields[2]
        address, _unused, port = local.rpartition(":")
        if not port.isdigit():
            continue
        match = _SS_PROCESS.search(line)
        uid = _SS_UID.search(line)
        user = users_by_uid.get(int(uid["uid"])) if uid else None
        if uid and user is None:
            user = f"uid {uid['uid']}"
        cgroup = _SS_CGROUP.search(line)
        unit = cgroup["cgroup"].rstrip("/").rsplit("/", 1)[-1] if cgroup else ""
        sockets.append({
            "port": int(port),
            "address": address.strip("[]"),
            "process": match["process"] if match else None,
            "pid": int(match["pid"]) if match else None,
            "user": user,
            # The systemd unit (from the cgroup), when the process itself is not visible.
            "unit": unit if unit.endswith(".service") else None,
        })
    return sockets


def users_by_uid(getent_passwd: dict) -> dict[int, str]:
    """``{uid: name}`` from the ``getent_passwd`` fact of ansible.builtin.getent."""
    out = {}
    for name, fields in (getent_passwd or {}).items():
        try:
            out[int(fields[1])] = name
        except (IndexError, TypeError, ValueError):
            continue
    return out
