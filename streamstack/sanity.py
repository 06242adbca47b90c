"""`make collection` and the collection half of `make lint`.

`python -m streamstack.sanity build` builds the streamstack.lab tarball (galaxy.yml) into
.cache/build/. `python -m streamstack.sanity` builds it, installs it with ansible-galaxy
into a temporary ansible_collections/streamstack/lab tree outside the checkout (ansible-test
needs an ansible_collections tree, and inside a git checkout it tests only the files git
tracks: none, for an installed copy) and runs `ansible-test sanity --local` there, so what
is tested is what a user installs.

ansible-test installs each test's requirements (pylint, yamllint, voluptuous, ...) into a
virtual environment of its own under ~/.ansible/test/venv, and starts pip in it with a
bootstrap script it downloads from a host outside the package registries. Where that
script is not cached yet, a stand-in takes its place: Python's own ensurepip, then pip
from the package index the way pip is configured. The requirements themselves come from
the package index, pinned by ansible-test; the first run installs them, the next ones
reuse them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

from . import PROJECT_ROOT
from .errors import StreamstackError

BUILD_DIR = PROJECT_ROOT / ".cache" / "build"
NAMESPACE, NAME = "streamstack", "lab"
BIN = Path(sys.executable).parent
PIP_BOOTSTRAP = """\
# Stand-in for ansible-test's get-pip bootstrap (streamstack/sanity.py says why).
import subprocess
import sys
import tempfile

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
wanted = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
                       *wanted])
"""


def _run(command: list[str], cwd: Path = PROJECT_ROOT) -> None:
    done = subprocess.run(command, cwd=cwd, check=False)
    if done.returncode != 0:
        raise StreamstackError(f"{' '.join(command)} failed (exit {done.returncode})")


def build(output: Path = BUILD_DIR) -> Path:
    """The collection tarball, built from this checkout."""
    output.mkdir(parents=True, exist_ok=True)
    _run([str(BIN / "ansible-galaxy"), "collection", "build", "--force",
          "--output-path", str(output), str(PROJECT_ROOT)])
    tarballs = sorted(output.glob(f"{NAMESPACE}-{NAME}-*.tar.gz"), key=os.path.getmtime)
    return tarballs[-1]


def install(tarball: Path, tree: Path) -> Path:
    """The tarball installed (no dependencies) under tree/ansible_collections/."""
    _run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", "--no-deps",
          "-p", str(tree), str(tarball)])
    return tree / "ansible_collections" / NAMESPACE / NAME


def _seed_pip_bootstrap() -> None:
    from ansible_test._internal.python_requirements import get_venv_packages

    python = SimpleNamespace(version=f"{sys.version_info.major}.{sys.version_info.minor}")
    version = get_venv_packages(python)["pip"]
    cache = Path.home() / ".ansible/test/cache" / f"get_pip_{version.replace('.', '_')}.py"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(PIP_BOOTSTRAP)


def sanity(collection: Path) -> None:
    _seed_pip_bootstrap()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    _run([str(BIN / "ansible-test"), "sanity", "--local", "--python", python, "--color", "no"],
         cwd=collection)


def main(argv: list[str]) -> int:
    try:
        tarball = build()
        print(f"built {tarball.relative_to(PROJECT_ROOT)}")
        if argv[:1] != ["build"]:
            with tempfile.TemporaryDirectory(prefix="streamstack-sanity-") as tree:
                sanity(install(tarball, Path(tree)))
    except StreamstackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
