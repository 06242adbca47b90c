"""roles/pki keypair.yml, run for real on this machine: the host directory is made with
the service's group, but a parent it has to create is a plain 0755 root:root directory
and a parent that exists keeps its owner and mode (it was /etc/pki 0750 root:hadoop)."""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

import pytest
from role_play import run_tasks


def _group() -> str:
    for name in ("daemon", "bin", "sys", "adm"):
        try:
            grp.getgrnam(name)
            return name
        except KeyError:
            continue
    pytest.skip("no system group other than root")


def _keypair(tmp: Path, pki_dir: Path, group: str):
    secrets = tmp / "secrets"
    common = {"streamstack_secrets_dir": str(secrets), "pki_secrets_dir": str(secrets)}
    ca = run_tasks(tmp, "pki", "main.yml", common)
    assert ca.returncode == 0, ca.stdout[-2000:]
    return run_tasks(tmp, "pki", "keypair.yml", {
        **common, "pki_name": "probe", "pki_dir": str(pki_dir), "pki_owner": "root",
        "pki_group": group})


def _mode_owner(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


@pytest.mark.skipif(os.geteuid() != 0, reason="sets owners: needs root")
def test_a_missing_parent_is_made_as_a_plain_system_directory(tmp_path):
    group = _group()
    target = tmp_path / "etc" / "pki" / "hadoop"
    done = _keypair(tmp_path, target, group)
    assert done.returncode == 0, done.stdout[-2000:]
    assert _mode_owner(target.parent) == (0o755, 0, 0)
    assert _mode_owner(target) == (0o750, 0, grp.getgrnam(group).gr_gid)
    assert (target / "probe.keystore.p12").is_file()


@pytest.mark.skipif(os.geteuid() != 0, reason="sets owners: needs root")
def test_an_existing_parent_keeps_its_owner_and_mode(tmp_path):
    group = _group()
    parent = tmp_path / "etc" / "pki"
    parent.mkdir(parents=True)
    parent.chmod(0o711)
    os.chown(parent, 0, grp.getgrnam(group).gr_gid)
    before = _mode_owner(parent)
    target = parent / "hadoop"
    done = _keypair(tmp_path, target, "root")
    assert done.returncode == 0, done.stdout[-2000:]
    assert _mode_owner(parent) == before
    assert _mode_owner(target) == (0o750, 0, 0)
