"""The fetch: the digest memo, the manifest, each group verified and fetched again when it
must be, then staged and packed; :func:`fetch` runs it for every product."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..artifacts_catalog import PRODUCTS, Product
from .common import (
    MANIFEST_FORMAT,
    ArtifactError,
    Group,
    Progress,
    Resolver,
    default_cache_dir,
    groups_for,
)
from .pack import pack_tree, recipe_digest, stage_product
from .resolve import RealResolver

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
    if product.archive is None:
        raise ArtifactError(f"{product.name}: no archive entry in the catalog")
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
        fresh = _files_under(tmp)
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
