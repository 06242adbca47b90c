"""The official binary releases' layouts, kept as data in layouts/<product>.yml beside this.

Each file lists the paths a product tree must have below its home (read from upstream's
assembly descriptors at the release tag) and, with a reason, those the release has that
streamstack does not install. The ``layout`` check (streamstack/checks/hosts.py) compares the
lab's trees with them; the artifacts catalog takes Hadoop's module jars from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

LAYOUTS = Path(__file__).resolve().parent / "layouts"


@dataclass(frozen=True)
class Layout:
    product: str
    home: str
    paths: tuple[str, ...]
    known_absent: dict[str, str]
    jars_only: tuple[str, ...] = field(default_factory=tuple)


def load(product: str, version: str) -> Layout:
    """plugins/plugin_utils/layouts/<product>.yml with {version} filled in."""
    data = yaml.safe_load((LAYOUTS / f"{product}.yml").read_text())
    paths = tuple(p.format(version=version) for p in data["paths"])
    absent = {p.format(version=version): reason
              for p, reason in (data.get("known_absent") or {}).items()}
    return Layout(product=data["product"], home=data["home"], paths=paths,
                  known_absent=absent, jars_only=tuple(data.get("jars_only") or ()))


def module_jars(layout: Layout, version: str, group_prefix: str = "hadoop-"
                ) -> dict[str, list[str]]:
    """{directory: ["artifact" or "artifact:tests", ...]} of the module jars in ``paths``,
    directories in their order of first appearance (the staging order)."""
    pattern = re.compile(rf"^(.+)/({re.escape(group_prefix)}[a-z0-9-]+?)-"
                         rf"{re.escape(version)}(-tests)?\.jar$")
    out: dict[str, list[str]] = {}
    for path in layout.paths:
        match = pattern.match(path)
        if match:
            directory, artifact, tests = match.groups()
            out.setdefault(directory, []).append(artifact + (":tests" if tests else ""))
    return out
