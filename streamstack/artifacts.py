"""Artifact supply: resolve, verify, stage and pack the products on the controller.

For each product in ``streamstack.artifacts_catalog`` this module

1. gets the input files into ``<cache>/inputs/<product>-<version>/<source>/``: Maven
   jars with ``mvn dependency:copy-dependencies`` on a generated pom (so the machine's
   ``settings.xml`` and ``~/.m2`` apply), the Spark distribution with ``pip download``
   of the ``pyspark`` sdist, or the official Apache tarballs (``--source archive``);
2. stages the installed layout (jars, generated ``bin/`` launchers, default logging
   configuration) and packs it, deterministically, as
   ``<cache>/dist/<product>-<version>.tar`` with top-level dir ``<product>-<version>/``;
3. records in ``<cache>/manifest.json`` the tarball's name, size and sha256 and the sha256
   of every input file.

A fetch whose manifest matches (recipe unchanged, every input and tarball present with
the recorded sha256) downloads nothing and packs nothing. A missing or corrupted file
is detected by its checksum and fetched or rebuilt again. ``offline=True`` never touches
the network (``mvn -o``, no pip, no URL): what is missing is named in the error.

Command line: ``python -m streamstack.artifacts fetch [--offline] [--source maven|archive]
[--cache DIR] [--mirror URL|DIR] [--sha512 PRODUCT=HEX] [--product NAME]``.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol
from xml.sax.saxutils import escape

from streamstack import launchers
from streamstack.artifacts_catalog import PRODUCTS, MavenSet, Product

# Bump when the staging/packing code changes the produced trees: every product repacks.
STAGING_VERSION = 3
MANIFEST_FORMAT = 1
# Maven plugin used for copy-dependencies; pinned so every machine behaves the same.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
# Fixed mtime for packed entries (2024-01-01T00:00:00Z) so packing is reproducible.
PACK_MTIME = 1704067200

Progress = Callable[[str], None]


class ArtifactError(RuntimeError):
    """A fetch that cannot complete; the message says what and why."""


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_cache_dir() -> Path:
    env = os.environ.get("STREAMSTACK_CACHE")
    return Path(env) if env else project_root() / ".cache" / "artifacts"


# Digests already computed, keyed by algorithm and what stat() says of the file,
# kept in <cache>/digests.json so a re-run on a warm cache (every site.yml run) does
# not read 1 GB again. None outside fetch(); `fetch --rehash` starts it empty.
_digest_memo: dict[str, str] | None = None
_digest_used: dict[str, str] = {}
DIGEST_MEMO = "digests.json"


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks (tarballs are hundreds of MB)."""
    key = ""
    if _digest_memo is not None:
        st = path.stat()
        # The file itself (device, inode), so a rename (tmp dir -> cache) keeps it.
        key = f"{algorithm} {st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns}"
        if key in _digest_memo:
            _digest_used[key] = _digest_memo[key]
            return _digest_memo[key]
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if key:
        _digest_memo[key] = _digest_used[key] = h.hexdigest()
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    return file_digest(path, "sha256")


def _load_digest_memo(cache: Path) -> dict[str, str]:
    try:
        data = json.loads((cache / DIGEST_MEMO).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_digest_memo(cache: Path, memo: dict[str, str]) -> None:
    """Keeps the entries this run used, so the file does not grow forever."""
    tmp = cache / (DIGEST_MEMO + ".tmp")
    tmp.write_text(json.dumps(memo, indent=0, sort_keys=True))
    tmp.replace(cache / DIGEST_MEMO)


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# ------------------------------------------------------------------ input groups


@dataclass(frozen=True)
class Group:
    """A unit of inputs fetched together: one Maven set, the pip sdist or an archive."""

    key: str  # directory under the product's inputs dir: "maven/libs", "pip", "archive"
    kind: str  # "maven" | "pip" | "archive"
    maven: MavenSet | None = None

    def describe(self, product: Product) -> str:
        if self.kind == "maven" and self.maven:
            return f"{len(self.maven.deps)} Maven artifacts + runtime deps ({self.maven.name})"
        if self.kind == "pip" and product.pip:
            return f"{product.pip.requirement} sdist with pip"
        if self.kind == "archive" and product.archive:
            return product.archive.filename
        return self.key


def groups_for(product: Product, source: str) -> list[Group]:
    if source == "maven":
        groups = [Group(f"maven/{m.name}", "maven", m) for m in product.maven]
        if product.pip:
            groups.insert(0, Group("pip", "pip"))
        return groups
    if source == "archive":
        if not product.archive:
            raise ArtifactError(f"{product.name}: no archive defined in the catalog")
        groups = [Group("archive", "archive")]
        groups += [Group(f"maven/{m.name}", "maven", m) for m in product.maven
                   if m.name in product.archive_maven]
        return groups
    raise ArtifactError(f"unknown source {source!r} (maven or archive)")


class Resolver(Protocol):
    """Puts a group's files below ``dest`` (an empty directory)."""

    def resolve(self, product: Product, group: Group, dest: Path, *, offline: bool,
                progress: Progress) -> None: ...


# ------------------------------------------------------------------ real resolver


def maven_pom(product: Product, mset: MavenSet) -> str:
    deps = []
    for dep in mset.deps:
        g, a, v = dep.parts
        cls = f"<classifier>{escape(dep.classifier)}</classifier>" if dep.classifier else ""
        excl = "".join(
            "<exclusion><groupId>{}</groupId><artifactId>{}</artifactId></exclusion>".format(
                *(escape(x) for x in e.split(":"))) for e in dep.exclusions)
        deps.append(
            f"    <dependency><groupId>{escape(g)}</groupId><artifactId>{escape(a)}"
            f"</artifactId><version>{escape(v)}</version>{cls}<scope>{dep.scope}</scope>"
            + (f"<exclusions>{excl}</exclusions>" if excl else "")
            + "</dependency>")
    managed = "\n".join(
        "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId>"
        "<version>{}</version></dependency>".format(*(escape(x) for x in c.split(":")))
        for c in mset.managed)
    if mset.bom:
        managed += ("\n    <dependency><groupId>{}</groupId><artifactId>{}</artifactId>"
                    "<version>{}</version><type>pom</type><scope>import</scope>"
                    "</dependency>").format(*(escape(x) for x in mset.bom.split(":")))
    pg, pa, pv = DEPENDENCY_PLUGIN.split(":")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by streamstack.artifacts: runtime closure of {product.dirname} ({mset.name}) -->
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>streamstack.artifacts</groupId>
  <artifactId>{product.name}-{mset.name}</artifactId>
  <version>{product.version}</version>
  <packaging>pom</packaging>
  <dependencyManagement>
    <dependencies>
{managed}
    </dependencies>
  </dependencyManagement>
  <dependencies>
{chr(10).join(deps)}
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin><groupId>{pg}</groupId><artifactId>{pa}</artifactId><version>{pv}</version></plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
"""


_MVN_MISSING = [
    re.compile(r"artifact ([\w.\-]+:[\w.\-]+:[\w.\-]+:[\w.\-]+) has not been downloaded"),
    re.compile(r"Could not resolve dependencies for project [^:]+:[^:]+:[^:]+:[^:]+: "
               r"(.+?)(?: in offline mode|: |$)", re.M),
    re.compile(r"following artifacts could not be resolved: ([^:]+:[^:]+:[^:]+:[^ ,]+)"),
    re.compile(r"Plugin ([^ ]+) or one of its dependencies could not be resolved"),
]


def _mvn_failure(product: Product, mset: MavenSet, out: str, offline: bool) -> ArtifactError:
    missing = None
    for rx in _MVN_MISSING:
        m = rx.search(out)
        if m:
            missing = m.group(1)
            break
    tail = "\n".join(line for line in out.strip().splitlines()[-15:])
    if offline:
        what = missing or "some artifact"
        return ArtifactError(
            f"{product.dirname}: offline, and {what} is not in Maven's local repository "
            f"(~/.m2); run a fetch without --offline first.\n{tail}")
    return ArtifactError(
        f"{product.dirname}: mvn could not resolve {missing or mset.name}.\n{tail}")


class RealResolver:
    """Maven via ``mvn``, the pyspark sdist via ``pip``, archives via urllib or a dir."""

    def __init__(self, mirror: str | None = None, mvn: str = "mvn",
                 python: str = sys.executable) -> None:
        self.mirror = mirror or os.environ.get("STREAMSTACK_ARCHIVE_MIRROR")
        self.mvn = mvn
        self.python = python

    def resolve(self, product: Product, group: Group, dest: Path, *, offline: bool,
                progress: Progress) -> None:
        if group.kind == "maven":
            assert group.maven is not None
            self._maven(product, group.maven, dest, offline=offline, progress=progress)
        elif group.kind == "pip":
            self._pip(product, dest, offline=offline, progress=progress)
        elif group.kind == "archive":
            self._archive(product, dest, offline=offline, progress=progress)
        else:  # pragma: no cover - catalog error
            raise ArtifactError(f"unknown input kind {group.kind}")

    def _maven(self, product: Product, mset: MavenSet, dest: Path, *, offline: bool,
               progress: Progress) -> None:
        if not shutil.which(self.mvn):
            raise ArtifactError("mvn is not on PATH: install Maven (Debian: maven) and Java")
        with tempfile.TemporaryDirectory(prefix="streamstack-pom-") as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(maven_pom(product, mset))
            # --strict-checksums: a jar (or pom) whose bytes do not match the .sha1/.md5
            # the repository publishes fails the fetch instead of being recorded in the
            # manifest as first downloaded (Maven's default policy only warns).
            cmd = [self.mvn, "-B", "-q", "--strict-checksums"]
            if offline:
                cmd.append("-o")
            cmd += ["-f", str(pom), "dependency:copy-dependencies",
                    "-DincludeScope=runtime", f"-DoutputDirectory={dest}",
                    "-Dmdep.useRepositoryLayout=true", "-Dmdep.copyPom=false",
                    "-Dmdep.addParentPoms=false"]
            progress(f"  {product.dirname}: mvn resolving {mset.name} "
                     f"({', '.join(d.coordinate for d in mset.deps[:3])}"
                     f"{', ...' if len(mset.deps) > 3 else ''})")
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
            if proc.returncode != 0:
                raise _mvn_failure(product, mset, proc.stdout + proc.stderr, offline)
        # keep the jars only (the repository layout also copies _remote.repositories ...)
        for path in sorted(dest.rglob("*"), reverse=True):
            if path.is_file() and path.suffix != ".jar":
                path.unlink()

    def _pip(self, product: Product, dest: Path, *, offline: bool,
             progress: Progress) -> None:
        assert product.pip is not None
        if offline:
            raise ArtifactError(
                f"{product.dirname}: offline, and {product.pip.filename} is not in the "
                f"cache (expected sha256 {product.pip.sha256[:16]}...); run a fetch "
                "without --offline first")
        with tempfile.TemporaryDirectory(prefix="streamstack-pip-") as tmp:
            req = Path(tmp) / "requirements.txt"
            req.write_text(f"{product.pip.requirement} --hash=sha256:{product.pip.sha256}\n")
            progress(f"  {product.dirname}: pip download {product.pip.requirement} "
                     "(source distribution, ~317 MB)")
            cmd = [self.python, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "--require-hashes", "--progress-bar", "off", "-d", str(dest), "-r", str(req)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise ArtifactError(f"{product.dirname}: pip download failed:\n"
                                    + "\n".join((proc.stdout + proc.stderr).splitlines()[-10:]))

    def _archive(self, product: Product, dest: Path, *, offline: bool,
                 progress: Progress) -> None:
        assert product.archive is not None
        arc = product.archive
        if not self.mirror:
            raise ArtifactError(
                f"{product.dirname}: --source archive needs a mirror: set "
                "STREAMSTACK_ARCHIVE_MIRROR or pass --mirror (a base URL or a local "
                f"directory holding {arc.filename})")
        target = dest / arc.filename
        parsed = urllib.parse.urlparse(self.mirror)
        if parsed.scheme in ("", "file"):
            base = Path(parsed.path if parsed.scheme == "file" else self.mirror)
            for candidate in (base / arc.filename, base / arc.path):
                if candidate.is_file():
                    progress(f"  {product.dirname}: copying {candidate}")
                    shutil.copyfile(candidate, target)
                    return
            raise ArtifactError(f"{product.dirname}: {arc.filename} not found in {base} "
                                f"(looked for {arc.filename} and {arc.path})")
        if offline:
            raise ArtifactError(f"{product.dirname}: offline, and {arc.filename} is not in "
                                "the cache; run a fetch without --offline first")
        url = self.mirror.rstrip("/") + "/" + arc.path
        progress(f"  {product.dirname}: downloading {url}")
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, target.open("wb") as out:
                shutil.copyfileobj(resp, out, 1 << 20)
        except OSError as exc:
            raise ArtifactError(f"{product.dirname}: download of {url} failed: {exc}") from exc


# ------------------------------------------------------------------ packing


def pack_tree(src: Path, top: str, out: Path) -> None:
    """Write ``src`` as ``out`` (plain tar, top dir ``top``), byte-for-byte reproducible.
    Not gzipped: the trees are mostly jars, already compressed (gzip saved 9-11 %), and
    ansible's unarchive reads a tarball three times (list, diff, extract)."""
    tmp = out.with_name(out.name + ".part")
    entries = sorted(src.rglob("*"), key=lambda p: p.relative_to(src).as_posix())
    with tmp.open("wb") as raw, \
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(path: Path, name: str) -> None:
            info = tar.gettarinfo(str(path), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = PACK_MTIME
            info.pax_headers = {}
            if info.isdir():
                info.mode = 0o755
                tar.addfile(info)
            elif info.issym():
                info.mode = 0o777
                tar.addfile(info)
            else:
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                with path.open("rb") as f:
                    tar.addfile(info, f)

        add(src, top)
        for path in entries:
            add(path, f"{top}/{path.relative_to(src).as_posix()}")
    tmp.replace(out)


# ------------------------------------------------------------------ staging


def _write_generated(stage: Path, files: dict[str, tuple[str, int]]) -> None:
    for rel, (text, mode) in files.items():
        path = stage / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


_VERSION_TAIL = re.compile(r"^\d[\w.]*(-[A-Za-z][\w.]*)?(-[\w.]+)?\.jar$")


def _already_shipped(artifact_id: str, shipped: Iterable[str]) -> bool:
    """True if a jar named ``<artifact_id>-<version>[-classifier].jar`` is in ``shipped``."""
    prefix = artifact_id + "-"
    return any(n.startswith(prefix) and _VERSION_TAIL.match(n[len(prefix):]) for n in shipped)


def _stage_maven_set(group_dir: Path, mset: MavenSet, stage: Path,
                     stitched: set[str] | None = None,
                     placed_elsewhere: frozenset[str] = frozenset()) -> list[str]:
    """Flatten a repository-layout copy into ``stage/dest``; returns skipped jar names.

    With ``mset.lib``, the declared artifacts go to ``dest`` and the rest of the closure
    to ``lib``, except the artifacts that another set declares (``placed_elsewhere``):
    those go to that set's directory only. ``stitched`` (names of the jars already
    staged) makes a jar present anywhere in the tree skipped, as upstream Hadoop's
    dist-layout-stitching does.
    """
    dest = stage / mset.dest
    dest.mkdir(parents=True, exist_ok=True)
    if mset.extract:
        for jar in sorted(group_dir.rglob("*.jar")):
            _extract_zip_prefix(jar, mset.extract, dest)
        return []
    declared = {dep.parts[1] for dep in mset.deps}
    skipped = []
    shipped = {p.name for p in dest.glob("*.jar")} if mset.skip_shipped else set()
    for jar in sorted(group_dir.rglob("*.jar")):
        rel = jar.relative_to(group_dir).parts
        # repository layout: group/.../artifactId/version/artifactId-version[-cls].jar
        artifact_id = rel[-3] if len(rel) >= 3 else jar.stem
        if mset.skip_shipped and _already_shipped(artifact_id, shipped):
            skipped.append(jar.name)
            continue
        if artifact_id not in declared and artifact_id in placed_elsewhere:
            continue
        target_dir = dest if mset.lib is None or artifact_id in declared \
            else stage / mset.lib
        if stitched is not None:
            if jar.name in stitched:
                continue
            stitched.add(jar.name)
        if (target_dir / jar.name).exists():
            continue
        _link_or_copy(jar, target_dir / jar.name)
    return skipped


def _extract_zip_prefix(jar: Path, prefix: str, dest: Path) -> None:
    with zipfile.ZipFile(jar) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(prefix) or info.filename == prefix:
                continue
            rel = info.filename[len(prefix):]
            if ".." in Path(rel).parts:
                continue
            target = dest / rel
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            target.chmod(0o644)


def _extract_members(tar_path: Path, mapping: list[tuple[str, str]], stage: Path,
                     skip: Callable[[str], bool] = lambda rel: False) -> None:
    """Extract regular files under prefixes of ``tar_path`` to ``stage`` (prefix->dest)."""
    with tarfile.open(tar_path) as tar:
        for member in tar:
            if not (member.isfile() or member.isdir()):
                continue
            for prefix, dest in mapping:
                if member.name == prefix.rstrip("/") and member.isdir():
                    (stage / dest).mkdir(parents=True, exist_ok=True)
                    break
                if member.name.startswith(prefix):
                    rel = member.name[len(prefix):]
                    if not rel or skip(rel):
                        break
                    target = stage / dest / rel
                    if member.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        break
                    _extract_to(tar, member, target, 0o755 if member.mode & 0o111 else 0o644)
                    break


def _extract_to(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, mode: int) -> None:
    """One archive member written to target with a fixed mode (not the archive's owner)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = tar.extractfile(member)
    assert src is not None
    with src, target.open("wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    target.chmod(mode)


def _archive_top(tar_path: Path) -> str:
    with tarfile.open(tar_path) as tar:
        for member in tar:
            return member.name.split("/", 1)[0]
    raise ArtifactError(f"{tar_path.name} is empty")


def _stage_archive_jars(product: Product, tar_path: Path, stage: Path) -> None:
    top = _archive_top(tar_path)
    with tarfile.open(tar_path) as tar:
        for member in tar:
            if not member.isfile() or not member.name.startswith(top + "/"):
                continue
            rel = member.name[len(top) + 1:]
            if any(fnmatch.fnmatch(rel, pat) for pat in product.archive_exclude):
                continue
            for pattern, dest in product.archive_jars:
                if fnmatch.fnmatch(rel, pattern):
                    target = stage / rel if dest is None else stage / dest / Path(rel).name
                    if target.exists():  # the same jar under several share/ dirs
                        break
                    _extract_to(tar, member, target, 0o644)
                    break


def stage_product(product: Product, source: str, inputs: Path, stage: Path) -> dict:
    """Build the installed tree of ``product`` in ``stage``; returns staging notes."""
    notes: dict = {}
    stage.mkdir(parents=True, exist_ok=True)
    if product.name == "spark":
        if source == "maven":
            assert product.pip is not None
            sdist = inputs / "pip" / product.pip.filename
            top = f"pyspark-{product.version}/"
            _extract_members(
                sdist,
                [(top + "deps/bin/", "bin"), (top + "deps/sbin/", "sbin"),
                 (top + "deps/jars/", "jars"), (top + "lib/", "python/lib"),
                 (top + "pyspark/", "python/pyspark")],
                stage, skip=lambda rel: rel.endswith(".cmd") or "__pycache__" in rel)
            origin = f"the {product.pip.requirement} source distribution"
        else:
            assert product.archive is not None
            tar_path = inputs / "archive" / product.archive.filename
            top = _archive_top(tar_path) + "/"
            _extract_members(
                tar_path,
                [(top + "bin/", "bin"), (top + "sbin/", "sbin"), (top + "jars/", "jars"),
                 (top + "python/lib/", "python/lib"), (top + "python/pyspark/",
                                                       "python/pyspark")],
                stage, skip=lambda rel: rel.endswith(".cmd") or "__pycache__" in rel)
            origin = product.archive.filename
        skipped = []
        for group in groups_for(product, source):
            if group.kind == "maven" and group.maven:
                skipped += _stage_maven_set(inputs / group.key, group.maven, stage)
        notes["skipped_as_shipped"] = sorted(skipped)
        _write_generated(stage, launchers.render("spark", version=product.version,
                                                 origin=origin))
        return notes

    if source == "archive":
        assert product.archive is not None
        _stage_archive_jars(product, inputs / "archive" / product.archive.filename, stage)
    stitched = {p.name for p in (stage / product.stitch).rglob("*.jar")} \
        if product.stitch else None
    # Modules that a component directory declares (Hadoop's share/hadoop/<component>).
    modules = frozenset(dep.parts[1] for mset in product.maven if mset.lib
                        for dep in mset.deps)
    for group in groups_for(product, source):
        if group.kind == "maven" and group.maven:
            _stage_maven_set(inputs / group.key, group.maven, stage, stitched, modules)
    _write_generated(stage, launchers.render(product.name, version=product.version))
    return notes


def recipe_digest(product: Product, source: str) -> str:
    """Changes whenever what we would build changes (catalog entry, launchers, code)."""
    h = hashlib.sha256()
    h.update(json.dumps({"staging": STAGING_VERSION, "source": source,
                         "product": asdict(product)}, sort_keys=True, default=str).encode())
    generated = launchers.render(product.name, version=product.version, origin="")
    for rel in sorted(generated):
        text, mode = generated[rel]
        h.update(f"{rel}\0{mode}\0{text}\0".encode())
    return h.hexdigest()


# ------------------------------------------------------------------ manifest


def load_manifest(cache: Path) -> dict:
    path = cache / "manifest.json"
    if not path.exists():
        return {"format": MANIFEST_FORMAT, "products": {}}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {"format": MANIFEST_FORMAT, "products": {}}
    if data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("products"), dict):
        return {"format": MANIFEST_FORMAT, "products": {}}
    return data


def save_manifest(cache: Path, manifest: dict) -> None:
    path = cache / "manifest.json"
    tmp = path.with_name("manifest.json.part")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def _files_under(root: Path) -> dict[str, Path]:
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _group_pinned_ok(product: Product, group: Group, group_dir: Path,
                     sha512_overrides: dict[str, str]) -> bool | None:
    """For single-file groups with a pinned hash: True/False; None if not applicable."""
    if group.kind == "pip" and product.pip:
        f = group_dir / product.pip.filename
        return f.is_file() and sha256_file(f) == product.pip.sha256
    if group.kind == "archive" and product.archive:
        f = group_dir / product.archive.filename
        if not f.is_file():
            return False
        expected = pinned_sha512(product, sha512_overrides)
        return file_digest(f, "sha512") == expected
    return None


def pinned_sha512(product: Product, overrides: dict[str, str]) -> str:
    assert product.archive is not None
    value = overrides.get(product.name) or overrides.get(product.archive.filename) \
        or product.archive.sha512
    if not value:
        raise ArtifactError(
            f"no pinned SHA-512 for {product.archive.filename}; pass --sha512 "
            f"{product.name}=<hex> / set artifacts_archive_sha512 "
            f"(e.g. {{'{product.name}': '<hex>'}})")
    return value.strip().lower()


# ------------------------------------------------------------------ fetch


@dataclass
class Counter:
    files: int = 0
    bytes: int = 0


def _ensure_group(product: Product, group: Group, inputs: Path, recorded: dict[str, str],
                  resolver: Resolver, offline: bool, progress: Progress,
                  sha512_overrides: dict[str, str], counter: Counter) -> dict[str, str]:
    """Make the group's inputs complete and verified; returns {relpath: sha256}."""
    group_dir = inputs / group.key
    prefix = group.key + "/"
    expected = {k: v for k, v in recorded.items() if k.startswith(prefix)}
    present = _files_under(group_dir)

    # 1. Everything the manifest recorded is there, unchanged: nothing to do.
    if expected and set(expected) == {prefix + k for k in present}:
        actual = {prefix + k: sha256_file(p) for k, p in present.items()}
        if actual == expected:
            if group.kind == "archive":  # the pin may have changed since
                pinned_sha512(product, sha512_overrides)
                if not _group_pinned_ok(product, group, group_dir, sha512_overrides):
                    raise ArtifactError(f"{product.archive.filename}: SHA-512 mismatch "
                                        "against the pinned value")
            return actual
        bad = sorted(k for k in actual if actual[k] != expected.get(k))
        progress(f"  {product.dirname}: checksum mismatch, fetching again: "
                 + ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
    elif expected:
        missing = sorted(set(expected) - {prefix + k for k in present})
        if missing:
            progress(f"  {product.dirname}: missing from cache, fetching again: "
                     + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))

    # 2. Single-file groups already present with the pinned hash (e.g. a seeded cache).
    if not expected and _group_pinned_ok(product, group, group_dir, sha512_overrides):
        return {prefix + k: sha256_file(p) for k, p in present.items()}
    if group.kind == "archive":
        pinned_sha512(product, sha512_overrides)  # fail before any download

    # 3. Resolve into a fresh directory, then swap it in.
    progress(f"  {product.dirname}: fetching {group.describe(product)}")
    group_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{group.key.replace('/', '-')}-", dir=inputs))
    try:
        resolver.resolve(product, group, tmp, offline=offline, progress=progress)
        fresh = {k: p for k, p in _files_under(tmp).items()}
        if not fresh:
            raise ArtifactError(f"{product.dirname}: resolving {group.key} produced no files")
        result = {}
        for rel, path in fresh.items():
            digest = sha256_file(path)
            key = prefix + rel
            old = present.get(rel)
            if old is None or sha256_file(old) != digest:
                counter.files += 1
                counter.bytes += path.stat().st_size
            if key in expected and expected[key] != digest:
                raise ArtifactError(
                    f"{product.dirname}: {rel} fetched again but its sha256 {digest[:16]}... "
                    f"still differs from the manifest ({expected[key][:16]}...). If it comes "
                    "from Maven's local repository (~/.m2), that copy is corrupt: delete it "
                    "and fetch again.")
            result[key] = digest
        if group.kind in ("pip", "archive") and \
                not _group_pinned_ok(product, group, tmp, sha512_overrides):
            name = product.pip.filename if group.kind == "pip" else product.archive.filename
            raise ArtifactError(f"{product.dirname}: {name} does not match its pinned "
                                f"{'sha256' if group.kind == 'pip' else 'SHA-512'}")
        if group_dir.exists():
            shutil.rmtree(group_dir)
        group_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(group_dir)
        return result
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fetch_product(product: Product, cache: Path, source: str, offline: bool,
                  resolver: Resolver, progress: Progress, manifest: dict,
                  sha512_overrides: dict[str, str] | None = None) -> dict:
    sha512_overrides = sha512_overrides or {}
    counter = Counter()
    started = time.monotonic()
    recipe = recipe_digest(product, source)
    entry = manifest["products"].get(product.name) or {}
    same_recipe = (entry.get("recipe") == recipe and entry.get("version") == product.version
                   and entry.get("source") == source)
    recorded = entry.get("inputs", {}) if same_recipe else {}
    inputs = cache / "inputs" / product.dirname / source
    inputs.mkdir(parents=True, exist_ok=True)

    all_inputs: dict[str, str] = {}
    for group in groups_for(product, source):
        all_inputs.update(_ensure_group(product, group, inputs, recorded, resolver, offline,
                                        progress, sha512_overrides, counter))
    # drop stray groups (e.g. a group removed from the catalog)
    keep = {g.key.split("/")[0] for g in groups_for(product, source)}
    for child in inputs.iterdir():
        if child.is_dir() and child.name not in keep and not child.name.startswith("."):
            shutil.rmtree(child)

    dist = cache / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    tarball = dist / product.tarball
    status = "cached"
    if not (same_recipe and all_inputs == entry.get("inputs") and tarball.is_file()
            and tarball.stat().st_size == entry.get("size")
            and sha256_file(tarball) == entry.get("sha256")):
        if tarball.exists() and same_recipe and all_inputs == entry.get("inputs"):
            progress(f"  {product.dirname}: {tarball.name} differs from the manifest, "
                     "packing again")
        progress(f"  {product.dirname}: staging and packing {tarball.name}")
        with tempfile.TemporaryDirectory(prefix="stage-", dir=cache) as tmp:
            stage = Path(tmp) / product.dirname
            notes = stage_product(product, source, inputs, stage)
            pack_tree(stage, product.dirname, tarball)
        entry = {
            "version": product.version,
            "source": source,
            "recipe": recipe,
            "tarball": product.tarball,
            "sha256": sha256_file(tarball),
            "size": tarball.stat().st_size,
            "home_env": product.home_env,
            "commands": list(product.commands),
            "inputs": dict(sorted(all_inputs.items())),
            "notes": notes,
        }
        previous = manifest["products"].get(product.name, {}).get("tarball")
        manifest["products"][product.name] = entry
        save_manifest(cache, manifest)
        if previous and previous != entry["tarball"]:
            (dist / previous).unlink(missing_ok=True)  # an earlier version or format
        status = "packed"
    return {
        "name": product.name,
        "version": product.version,
        "status": status,
        "tarball": entry["tarball"],
        "sha256": entry["sha256"],
        "size": entry["size"],
        "inputs": len(entry["inputs"]),
        "downloaded": counter.files,
        "bytes": counter.bytes,
        "seconds": round(time.monotonic() - started, 1),
    }


def fetch(cache_dir: Path | None = None, source: str = "maven", offline: bool = False,
          progress: Progress = print, *, products: Iterable[str] | None = None,
          resolver: Resolver | None = None, mirror: str | None = None,
          sha512: dict[str, str] | None = None,
          catalog: dict[str, Product] | None = None, rehash: bool = False) -> dict:
    """Fetch, verify and pack every product; returns a summary.

    A file hashed by an earlier fetch whose size, mtime and inode are unchanged is not
    read again; ``rehash`` reads every file (to find a cache corrupted in place).

    The summary has ``downloaded`` (input files newly brought into the cache), ``bytes``,
    ``packed`` (tarballs rebuilt), ``manifest`` (path) and ``products`` (one dict each
    with name, version, status "packed" or "cached", tarball, sha256, size, ...).
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    catalog = catalog or PRODUCTS
    names = list(products) if products else list(catalog)
    unknown = [n for n in names if n not in catalog]
    if unknown:
        raise ArtifactError(f"unknown product(s): {', '.join(unknown)} "
                            f"(known: {', '.join(catalog)})")
    resolver = resolver or RealResolver(mirror=mirror)
    manifest = load_manifest(cache)
    results = []
    global _digest_memo
    _digest_memo = {} if rehash else _load_digest_memo(cache)
    _digest_used.clear()
    try:
        for name in names:
            product = catalog[name]
            res = fetch_product(product, cache, source, offline, resolver, progress,
                                manifest, sha512)
            results.append(res)
            progress(f"{product.name} {product.version}: {res['status']} "
                     f"dist/{res['tarball']} ({human(res['size'])}) "
                     f"sha256={res['sha256'][:16]} inputs={res['inputs']} "
                     f"downloaded={res['downloaded']} in {res['seconds']}s")
        _save_digest_memo(cache, _digest_used)
    finally:
        _digest_memo = None
    summary = {
        "cache": str(cache),
        "manifest": str(cache / "manifest.json"),
        "source": source,
        "downloaded": sum(r["downloaded"] for r in results),
        "bytes": sum(r["bytes"] for r in results),
        "packed": sum(1 for r in results if r["status"] == "packed"),
        "products": results,
    }
    progress(f"downloaded={summary['downloaded']} bytes={summary['bytes']}")
    return summary


# ------------------------------------------------------------------ CLI


def _parse_sha512(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        if "=" not in v:
            raise ArtifactError(f"--sha512 takes PRODUCT=HEX, got {v!r}")
        k, h = v.split("=", 1)
        out[k.strip()] = h.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streamstack.artifacts",
                                     description="Fetch, verify and pack the products.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="fetch inputs and build <cache>/dist/*.tar")
    f.add_argument("--offline", action="store_true", help="never touch the network")
    f.add_argument("--source", choices=["maven", "archive"], default="maven")
    f.add_argument("--cache", type=Path, default=None,
                   help="cache dir (default $STREAMSTACK_CACHE or <repo>/.cache/artifacts)")
    f.add_argument("--mirror", default=None,
                   help="archive source: base URL or directory (STREAMSTACK_ARCHIVE_MIRROR)")
    f.add_argument("--sha512", action="append", default=[], metavar="PRODUCT=HEX",
                   help="archive source: SHA-512 for a product without a pinned one")
    f.add_argument("--product", action="append", default=None, choices=list(PRODUCTS),
                   help="only this product (repeatable); default all")
    f.add_argument("--json", action="store_true", help="print the summary as JSON at the end")
    f.add_argument("--rehash", action="store_true",
                   help="read every cached file again, even those hashed before unchanged")
    m = sub.add_parser("manifest", help="print the manifest")
    m.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "manifest":
            print(json.dumps(load_manifest(args.cache or default_cache_dir()), indent=2))
            return 0
        summary = fetch(args.cache, source=args.source, offline=args.offline,
                        progress=lambda s: print(s, flush=True), products=args.product,
                        mirror=args.mirror, sha512=_parse_sha512(args.sha512),
                        rehash=args.rehash)
        if args.json:
            print(json.dumps(summary))
        return 0
    except ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
