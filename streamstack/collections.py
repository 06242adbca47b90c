"""Ansible collections without Galaxy: taken from the `ansible` package on PyPI.

Only the few collections the project uses are extracted (a few MB), into the
directory ansible.cfg's collections_path names. Beside them, this checkout itself is
linked in as the streamstack.lab collection (galaxy.yml), so the roles, playbooks and
plugins resolve by their fully qualified names from the repository as they do installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import PROJECT_ROOT
from .errors import StreamstackError

ANSIBLE_PACKAGE = "ansible==12.3.0"
COLLECTIONS = ["community/docker", "ansible/posix", "community/library_inventory_filtering_v1",
               "community/crypto"]
TARGET = PROJECT_ROOT / ".cache" / "collections"
# This repository as a collection: galaxy.yml's namespace and name.
SELF = "streamstack/lab"


def link_self(target: Path = TARGET, root: Path = PROJECT_ROOT) -> bool:
    """ansible_collections/streamstack/lab -> the checkout (relative, so a moved or
    copied checkout keeps working). Returns True when the link was (re)made."""
    link = target / "ansible_collections" / SELF
    wanted = Path(os.path.relpath(root, link.parent))
    if link.is_symlink() and Path(os.readlink(link)) == wanted:
        return False
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(wanted, target_is_directory=True)
    return True


def installed(target: Path = TARGET) -> bool:
    return all((target / "ansible_collections" / name / "MANIFEST.json").exists()
               for name in COLLECTIONS)


def install(target: Path = TARGET, progress=print) -> bool:
    """Returns True when something was installed, False when all were present. Links
    this checkout in as streamstack.lab either way."""
    link_self(target)
    if installed(target):
        return False
    with tempfile.TemporaryDirectory(prefix="streamstack-ansible-") as tmp:
        progress(f"downloading {ANSIBLE_PACKAGE} to extract {len(COLLECTIONS)} collections")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
             ANSIBLE_PACKAGE],
            capture_output=True, check=False,
        )
        if done.returncode != 0:
            raise StreamstackError(f"pip download {ANSIBLE_PACKAGE} failed: "
                                   f"{done.stderr.decode().strip()[-500:]}")
        wheel = next(Path(tmp).glob("ansible-*.whl"))
        prefixes = tuple(f"ansible_collections/{name}/" for name in COLLECTIONS)
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.startswith(prefixes):
                    archive.extract(member, target)
    return True


if __name__ == "__main__":
    print("installed" if install() else "already installed")
