"""Node image built without any image registry: Debian packages only."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from pathlib import Path

from . import PROJECT_ROOT
from .engine import docker
from .errors import StreamstackError
from .proc import run

IMAGE_REPO = "streamstack/node"
BASE_REPO = "streamstack/bookworm-base"
# Hosts as a minimal cloud or netinst image brings them, for the VM path's tests: the
# roles must install everything else (Java, python3-apt, acl, socat, ...) themselves.
BARE_REPO = "streamstack/bare"
SUITE = "bookworm"
# Debian releases a bare host image can be made of, with their version numbers: Debian 13
# hosts come with OpenJDK 21/25 and Python 3.13 (`lab up --debian13`, a mixed lab). They
# share the main archive's mirror with bookworm.
SUITES = {"bookworm": "12", "trixie": "13"}
# jdk-headless rather than jre: the handout compiles SimpleProducer with javac, and jps
# ships with the JDK. socat forwards the other hosts' Kafka ports on localhost.
# openssh-server: a lab can be reached over SSH like VMs (`lab up --ssh`).
# prometheus: the monitoring host's package, in the image so a cold `up` does not wait
# on apt for it (17.6 s of 179 s, provisioning-20261203-103620.json); disabled here, the
# monitoring role enables it on its one host. acl and python3-zstandard: the common
# role's packages, so that role runs no apt update either (6.6 s, provisioning-20261203-181537).
PACKAGES = [
    "python3",
    "python3-apt",
    "openjdk-17-jdk-headless",
    "procps",
    "iproute2",
    "sudo",
    "systemd",
    "systemd-sysv",
    "socat",
    "ca-certificates",
    "openssh-server",
    "prometheus",
    "acl",
    "python3-zstandard",
    # debootstrap resolves no virtual package: python3-zstandard's cffi backend API.
    "python3-cffi-backend",
]
BARE_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "python3",
    "ca-certificates",
]
DOCKERFILE = PROJECT_ROOT / "templates" / "node.Dockerfile"


def recipe_digest(packages: list[str] | None = None, suite: str = SUITE) -> str:
    """Changes whenever what goes into the image changes, so the tag says what it holds."""
    digest = hashlib.sha256()
    digest.update(" ".join(PACKAGES if packages is None else packages).encode())
    digest.update(DOCKERFILE.read_bytes())
    if suite != SUITE:
        digest.update(suite.encode())
    return digest.hexdigest()[:12]


def image_tag(bare: bool = False, suite: str = SUITE) -> str:
    if suite != SUITE and not bare:
        raise StreamstackError(f"only the bare host image can be made of Debian {suite}",
                               hint="the node image (the handout's lab) is Debian 12")
    if bare:
        repo = BARE_REPO if suite == SUITE else f"{BARE_REPO}-{suite}"
        return f"{repo}:{recipe_digest(BARE_PACKAGES, suite)}"
    return f"{IMAGE_REPO}:{recipe_digest()}"


def image_exists(ref: str) -> bool:
    return docker("image", "inspect", ref, check=False).returncode == 0


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's own apt configuration uses for the main archive."""
    candidates: list[str] = []
    for sources in sorted(apt_dir.glob("sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", sources.read_text()):
            fields = dict(
                (key.strip().lower(), value.strip())
                for key, _, value in (
                    line.partition(":") for line in stanza.splitlines() if ":" in line
                )
                if not key.lstrip().startswith("#")
            )
            suites = fields.get("suites", "").split()
            if SUITE in suites and fields.get("types", "deb").split()[0] == "deb":
                candidates.extend(fields.get("uris", "").split())
    legacy = apt_dir / "sources.list"
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb":
                uri_index = 2 if parts[1].startswith("[") else 1
                if len(parts) > uri_index + 1 and parts[uri_index + 1] == SUITE:
                    candidates.append(parts[uri_index])
    main = [uri for uri in candidates if "security" not in uri]
    if not main:
        raise StreamstackError(
            f"no Debian {SUITE} mirror found in {apt_dir}/sources.list(.d)",
            hint=f"add a 'deb <mirror> {SUITE} main' source, or load a debian:{SUITE} image",
        )
    return main[0]


def build_base(packages: list[str] | None = None, progress=print, suite: str = SUITE) -> str:
    """debootstrap a minimal rootfs of suite with packages (PACKAGES by default) and
    import it."""
    packages = PACKAGES if packages is None else packages
    repo = BASE_REPO if suite == SUITE else f"streamstack/{suite}-base"
    tag = f"{repo}:{hashlib.sha256(' '.join(packages).encode()).hexdigest()[:12]}"
    if image_exists(tag):
        return tag
    mirror = debian_mirror()
    progress(f"debootstrap {suite} with {len(packages)} packages (about a minute)")
    with tempfile.TemporaryDirectory(prefix="streamstack-rootfs-") as rootfs:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                suite,
                rootfs,
                mirror,
            ],
            timeout=1200,
            hint="debootstrap needs root and the Debian mirror from your apt sources",
        )
        run(["rm", "-rf", f"{rootfs}/var/cache/apt/archives", f"{rootfs}/var/lib/apt/lists"])
        progress(f"importing rootfs as {tag}")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "-", tag], stdin=tar.stdout, capture_output=True, check=False
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise StreamstackError(f"docker import failed: {imported.stderr.decode().strip()}")
    return tag


def build(force: bool = False, bare: bool = False, progress=print,
          suite: str = SUITE) -> tuple[str, bool]:
    """Build the node image (or with bare, the bare host image of suite) if missing.
    Returns (tag, built_now)."""
    tag = image_tag(bare, suite)
    packages = BARE_PACKAGES if bare else PACKAGES
    if image_exists(tag) and not force:
        return tag, False
    # A local debian image may hold more than a bare host has: the bare image is always
    # debootstrapped with exactly its packages.
    base = f"debian:{suite}"
    if image_exists(base) and not bare:
        progress(f"building {tag} from the local {base} image")
    else:
        base = build_base(packages, progress, suite)
        progress(f"building {tag} from {base}")
    docker(
        "build",
        "--network=host",
        "-t",
        tag,
        "-t",
        f"{tag.partition(':')[0]}:latest",
        "--build-arg",
        f"BASE={base}",
        "--build-arg",
        f"PACKAGES={' '.join(packages)}",
        "-f",
        str(DOCKERFILE),
        str(DOCKERFILE.parent),
        timeout=1800,
    )
    return tag, True
