"""How the controller reaches a host over SSH (lab VMs, `streamstack lab up --ssh`): as the
inventory's non-root user, root through sudo, the host key checked against a known_hosts
entry that matches the host's real key, and no root login with the controller's key.
Hosts reached with `docker exec` skip this module.
"""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest


@pytest.fixture(scope="module")
def ssh_vars(host):
    variables = host.ansible.get_variables()
    if variables.get("ansible_connection", "ssh") not in ("ssh", "smart"):
        pytest.skip(f"reached over {variables.get('ansible_connection')}, not SSH")
    return variables


def ssh_options(ssh_vars) -> dict[str, str]:
    args = shlex.split(str(ssh_vars.get("ansible_ssh_common_args", "")))
    options = {}
    for index, arg in enumerate(args):
        if arg == "-o" and index + 1 < len(args):
            key, _, value = args[index + 1].partition("=")
            options[key] = value
    return options


def test_logged_in_as_the_inventory_user_and_root_through_sudo(host, ssh_vars):
    user = ssh_vars.get("ansible_user")
    assert user and user != "root", f"ansible_user is {user!r}: log in as a sudo user"
    # testinfra runs every command through sudo when ansible_become is set.
    assert host.check_output("id -un") == "root"
    assert host.check_output("printenv SUDO_USER") == user


def test_host_key_is_checked_against_the_real_key(host, ssh_vars):
    options = ssh_options(ssh_vars)
    assert options.get("StrictHostKeyChecking", "yes") == "yes", options
    known_hosts = options.get("UserKnownHostsFile", os.path.expanduser("~/.ssh/known_hosts"))
    real_key = host.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[1]
    address = ssh_vars.get("ansible_host", host.backend.get_hostname())
    port = int(ssh_vars.get("ansible_port", 22))
    name = address if port == 22 else f"[{address}]:{port}"
    found = subprocess.run(["ssh-keygen", "-F", name, "-f", known_hosts], capture_output=True,
                           text=True, check=False).stdout
    assert real_key in found, f"{known_hosts} has no entry for {name} with the host's real key"


def test_root_cannot_log_in_with_the_controller_key(ssh_vars):
    key = ssh_vars.get("ansible_ssh_private_key_file")
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            *shlex.split(str(ssh_vars.get("ansible_ssh_common_args", ""))),
            "-p", str(ssh_vars.get("ansible_port", 22)),
            *(["-i", str(key)] if key else []),
            f"root@{ssh_vars.get('ansible_host')}", "true"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0, "root logged in over SSH"
    assert "Permission denied" in done.stderr, done.stderr
