"""A host without Python (a minimal netinst), reached over SSH as VMs are (issue 40).

The choice made for such a host: preflight stops the run before any change with an error
naming the host, what it found and the fix (install python3), rather than bootstrapping
Python with `raw`. Here the interpreter of one live host is moved aside (with `raw`,
which needs none), preflight.yml must fail naming that host and only it, and the
interpreter is put back whatever happens.

    pytest tests/vm --ansible-inventory=INVENTORY
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# /usr/bin/python3 is a link to it; interpreter discovery would find either.
INTERPRETER = "/usr/bin/python3.11"


def _ansible(binary: str, *args: str, timeout: int, **env_vars: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **env_vars)
    return subprocess.run([str(BIN / binary), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _raw(inventory: Path, host: str, command: str) -> subprocess.CompletedProcess:
    # Without Mitogen, whose strategy starts Python on the host even for `raw`.
    return _ansible("ansible", host, "-i", inventory, "-b", "-m", "ansible.builtin.raw",
                    "-a", command, timeout=120, ANSIBLE_STRATEGY="linear")



@pytest.fixture(scope="module")
def python_less_host(inventory):
    listed = _ansible("ansible-inventory", "-i", inventory, "--list", timeout=60)
    assert listed.returncode == 0, listed.stderr
    hosts = sorted(yaml.safe_load(listed.stdout)["_meta"]["hostvars"])
    host = hosts[-1]
    hidden = _raw(inventory, host, f"mv {INTERPRETER} {INTERPRETER}.hidden-by-test")
    assert hidden.returncode == 0, hidden.stdout + hidden.stderr
    try:
        yield host
    finally:
        back = _raw(inventory, host, f"mv {INTERPRETER}.hidden-by-test {INTERPRETER}")
        assert back.returncode == 0, back.stdout + back.stderr


def test_preflight_names_the_python_less_host_and_the_fix(inventory, python_less_host):
    done = _ansible("ansible-playbook", "-i", inventory, "playbooks/preflight.yml",
                    timeout=540)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    report = [line.strip()[2:] for line in output.splitlines()
              if line.strip().startswith("- ") and "python" in line]
    named = [line for line in report if line.startswith(f"{python_less_host}: ")]
    assert named, output[-3000:]
    assert "ansible_python_interpreter=" in named[0], named[0]
    assert "install python3 on the host" in named[0], named[0]
    # Only that host lacks Python: no other host is reported for it.
    others = [line for line in report if "install python3 on the host" in line
              and not line.startswith(f"{python_less_host}: ")]
    assert not others, others
