"""`lab up --secure`: the lab keeps the secure profile, and its inventory says so."""

from __future__ import annotations

import pytest
import yaml

from streamstack import lab


@pytest.fixture(autouse=True)
def project(monkeypatch, tmp_path):
    """A project root, HOME and no containers of its own: nothing of a real lab is touched."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(lab, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.setattr(lab, "_ssh_containers", lambda _lab: {})


@pytest.fixture
def the_lab():
    return lab.Lab(prefix="unit-secure-")


def test_a_secure_lab_gets_the_profile_in_its_inventory(the_lab, tmp_path):
    assert not the_lab.secure
    plain = lab.write_inventory(the_lab, 3)
    assert not (plain / "group_vars" / "all" / "20-security.yml").exists()
    the_lab.state_dir.mkdir(parents=True, exist_ok=True)
    the_lab.security_file.write_text("kerberos\n")
    assert the_lab.secure
    inventory = lab.write_inventory(the_lab, 3)
    values = yaml.safe_load((inventory / "group_vars" / "all" / "20-security.yml").read_text())
    # The lab's name keys its secrets (playbooks/group_vars/all/security.yml).
    assert values == {"streamstack_security": "kerberos",
                      "streamstack_lab_name": "unit-secure-streamstack"}
    assert the_lab.secrets_dir == tmp_path / ".streamstack" / "secrets" / "unit-secure-streamstack"
    # Back to plaintext (the state removed, as `down --purge` does): the file goes too.
    the_lab.security_file.unlink()
    lab.write_inventory(the_lab, 3)
    assert not (inventory / "group_vars" / "all" / "20-security.yml").exists()


def test_the_default_lab_uses_a_generated_inventory_only_when_secure():
    default = lab.Lab()
    assert lab.write_inventory(default, 3) == default.inventory_dir
    default.state_dir.mkdir(parents=True)
    default.security_file.write_text("kerberos\n")
    generated = lab.write_inventory(default, 3)
    assert generated != default.inventory_dir
    assert (generated / "group_vars" / "all" / "20-security.yml").is_file()
    # The committed inventory's settings still apply (linked, not copied).
    assert (generated / "group_vars" / "all" / "00-local.yml").is_symlink()
