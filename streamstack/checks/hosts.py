"""The checks of every host: the official release layout, and access over SSH."""

from __future__ import annotations

import os
import shlex
import subprocess

from .base import Lab, _result, check

# Release layout ----------------------------------------------------------------------

@check("layout", "every host")
def release_layout(lab: Lab):
    for host in lab.hosts:
        for product, layout in lab.layouts.items():
            seen = lab.got(host, f"layout:{product}") or {}
            unexplained = [p for p in seen.get("missing", []) if p not in layout.known_absent]
            problems = [seen["error"]] if seen.get("error") else (
                [f"{len(unexplained)} release path(s) missing: {', '.join(unexplained[:8])}"]
                if unexplained else [])
            yield _result("layout", host, product,
                          f"{len(layout.paths)} paths of the official release under "
                          f"{layout.home}", problems)


# How the controller reaches a host over SSH (lab VMs, `streamstack lab up --ssh`) ------

def over_ssh(lab: Lab, host: str) -> bool:
    return lab.vars[host].get("ansible_connection", "ssh") in ("ssh", "smart")


def ssh_options(variables: dict) -> dict[str, str]:
    args = shlex.split(str(variables.get("ansible_ssh_common_args", "")))
    return dict(args[i + 1].partition("=")[::2] for i, arg in enumerate(args)
                if arg == "-o" and i + 1 < len(args))


@check("ssh.access", "hosts reached over SSH")
def ssh_access(lab: Lab):
    for host in lab.hosts:
        if not over_ssh(lab, host):
            continue
        variables = lab.vars[host]
        user = variables.get("ansible_user")
        problems = []
        if not user or user == "root":
            problems.append(f"ansible_user is {user!r}: log in as a sudo user")
        identity = (lab.got(host, "identity") or {}).get("out", "").split()
        if identity != ["root", str(user)]:
            problems.append(f"id -un / SUDO_USER through the connection: {identity}")
        options = ssh_options(variables)
        if options.get("StrictHostKeyChecking", "yes") != "yes":
            problems.append(f"StrictHostKeyChecking={options['StrictHostKeyChecking']}")
        known_hosts = options.get("UserKnownHostsFile",
                                  os.path.expanduser("~/.ssh/known_hosts"))
        real_key = ((lab.got(host, "host_key") or {}).get(
            "/etc/ssh/ssh_host_ed25519_key.pub") or {}).get("content", "").split()[1:2]
        address = variables.get("ansible_host", host)
        port = int(variables.get("ansible_port", 22))
        entry = address if port == 22 else f"[{address}]:{port}"
        found = subprocess.run(["ssh-keygen", "-F", entry, "-f", known_hosts],
                               capture_output=True, text=True, check=False).stdout
        if not real_key or real_key[0] not in found:
            problems.append(f"{known_hosts} has no entry for {entry} with the host's real key")
        problems += _root_login_problems(variables)
        yield _result("ssh.access", host, "sshd",
                      f"logged in as {user}, root through sudo, host key checked against "
                      "its real key, root login refused", problems)


def _root_login_problems(variables: dict) -> list[str]:
    key = variables.get("ansible_ssh_private_key_file")
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            *shlex.split(str(variables.get("ansible_ssh_common_args", ""))),
            "-p", str(variables.get("ansible_port", 22)), *(["-i", str(key)] if key else []),
            f"root@{variables.get('ansible_host')}", "true"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode == 0:
        return ["root logged in over SSH with the controller's key"]
    if "Permission denied" not in done.stderr:
        return [f"root login failed, but not as refused: {done.stderr.strip()[-200:]}"]
    return []
