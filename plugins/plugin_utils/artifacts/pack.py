"""Step 2: staging a product's installed layout from its inputs and packing it as a
reproducible tarball."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from .. import launchers
from ..artifacts_catalog import MavenSet, Product
from .common import PACK_MTIME, STAGING_VERSION, ArtifactError, groups_for

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
    if src is None:
        raise ArtifactError(f"{member.name}: not a regular file")
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
            if product.pip is None:
                raise ArtifactError(f"{product.name}: no pip entry in the catalog")
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
            if product.archive is None:
                raise ArtifactError(f"{product.name}: no archive entry in the catalog")
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
        if product.archive is None:
            raise ArtifactError(f"{product.name}: no archive entry in the catalog")
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
