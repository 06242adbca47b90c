"""Ansible collections without Galaxy: taken from the `ansible` package on PyPI.

Only the few collections the project uses are extracted (a few MB), into the
directory ansible.cfg's collections_path names.
"""

from __future__ import annotations

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


def installed(target: Path = TARGET) -> bool:
    return all((target / "ansible_collections" / name / "MANIFEST.json").exists()
               for name in COLLECTIONS)


def install(target: Path = TARGET, progress=print) -> bool:
    """Returns True when something was installed, False when all were present."""
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
