"""What the artifact steps share: the pinned constants, the error, the cache's place and
the input groups."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..artifacts_catalog import MavenSet, Product

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
    """The checkout (or the installed collection's directory): plugins/plugin_utils/artifacts/.."""
    return Path(__file__).resolve().parents[3]


def default_cache_dir() -> Path:
    env = os.environ.get("STREAMSTACK_CACHE")
    return Path(env) if env else project_root() / ".cache" / "artifacts"


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
