"""Docker engine bootstrap: find a running engine, or install and start one (Debian)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from .errors import StreamstackError
from .proc import run

DOCKERD_LOG = Path("/var/log/streamstack-dockerd.log")
# Command -> the Debian package that brings it; ssh/ssh-keygen serve `lab up --ssh`.
ENGINE_PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap", "ssh": "openssh-client",
                   "ssh-keygen": "openssh-client"}


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


def ensure_engine(fix: bool, progress=print, wait_seconds: int = 60) -> str:
    """Return a one-line status; with fix=True install and start the engine when absent."""
    if engine_answers():
        return "docker engine answers"
    if not fix:
        raise StreamstackError(
            "no Docker engine answers (`docker info` failed)",
            hint="run `streamstack doctor --fix` (as root) to install and start one",
        )
    if os.geteuid() != 0:
        raise StreamstackError(
            "no Docker engine answers and this user cannot install one (not root)",
            hint="start dockerd yourself, or run `sudo streamstack doctor --fix`",
        )
    missing = sorted({package for command, package in ENGINE_PACKAGES.items()
                      if shutil.which(command) is None})
    if missing:
        if shutil.which("apt-get") is None:
            raise StreamstackError(
                "dockerd is not installed and apt-get is not available",
                hint="install a Docker engine with your system's package manager",
            )
        progress(f"installing {' '.join(missing)} from the Debian archive")
        env_prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
        run([*env_prefix, "apt-get", "update", "-q"], timeout=600)
        run([*env_prefix, "apt-get", "install", "-y", "-q", *missing], timeout=900)
    progress(f"starting dockerd (log: {DOCKERD_LOG})")
    with DOCKERD_LOG.open("ab") as log:
        subprocess.Popen(
            ["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if engine_answers():
            return "docker engine started"
        time.sleep(1)
    tail = DOCKERD_LOG.read_text(errors="replace").splitlines()[-10:]
    raise StreamstackError(
        f"dockerd did not answer within {wait_seconds}s; last log lines:\n" + "\n".join(tail),
        hint=f"read {DOCKERD_LOG}",
    )


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return run(["docker", *args], **kwargs)
