"""Run one task file of a role for real, on this machine, through ansible-playbook (the
project's ansible.cfg and roles), for tests of tasks that a template cannot show."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def run_tasks(tmp: Path, role: str, tasks_from: str, variables: dict,
              timeout: int = 300) -> subprocess.CompletedProcess:
    """include_role ROLE tasks_from TASKS_FROM on localhost with these variables."""
    play = [{"name": f"{role} {tasks_from}", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "Run", "ansible.builtin.include_role": {
                 "name": role, "tasks_from": tasks_from}, "vars": variables}]}]
    (tmp / "play.yml").write_text(yaml.safe_dump(play))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_STRATEGY": "linear",
           "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
           "ANSIBLE_PYTHON_INTERPRETER": shutil.which("python3") or sys.executable}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c",
         "local", str(tmp / "play.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
