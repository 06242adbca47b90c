"""The streamstack.lab collection (issue 39): the tarball `make collection` builds
carries what an installed collection needs, its dependencies are the collections
`make deps` installs, and the roles and playbooks name the collection's content by its
fully qualified names (so they run the same installed as from this checkout)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest
import yaml

from streamstack import collections, sanity

ROOT = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> set[str]:
    tarball = sanity.build(tmp_path_factory.mktemp("build"))
    with tarfile.open(tarball) as archive:
        return {member.name for member in archive.getmembers()}


def _tracked(pattern: str) -> set[str]:
    return {str(path.relative_to(ROOT)) for path in ROOT.glob(pattern)
            if path.is_file() and "__pycache__" not in path.parts}


def test_the_tarball_carries_roles_plugins_playbooks_and_metadata(members):
    wanted = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "meta/runtime.yml",
              "playbooks/site.yml", "playbooks/group_vars/all/streamstack.yml"}
    wanted |= _tracked("roles/**/*") | _tracked("plugins/**/*.py") | _tracked("jobs/*.py")
    wanted |= _tracked("plugins/plugin_utils/layouts/*.yml") | _tracked("playbooks/*.yml")
    # The artifacts fetch (plugins/plugin_utils/artifacts) packs these scripts.
    wanted |= _tracked("templates/launchers/**/*")
    assert not wanted - members, f"missing from the tarball: {sorted(wanted - members)}"


def test_the_tarball_leaves_the_runner_and_the_repository_tooling_out(members):
    tops = {name.split("/")[0] for name in members}
    assert tops <= {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "meta", "roles",
                    "plugins", "playbooks", "jobs", "templates", "tests"}, tops
    assert {name.split("/")[1] for name in members if name.startswith("templates/")} \
        <= {"launchers"}, "templates/ ships the launchers only"
    tests = {name for name in members if name.startswith("tests/")}
    assert all(name == "tests" or name.startswith("tests/sanity") for name in tests), tests
    assert not [name for name in members if "__pycache__" in name or name.endswith(".pyc")]


def test_the_dependencies_are_the_collections_make_deps_installs():
    declared = GALAXY["dependencies"]
    assert sorted(declared) == sorted(name.replace("/", ".") for name in collections.COLLECTIONS)
    for name, spec in declared.items():
        manifest = (collections.TARGET / "ansible_collections" / name.replace(".", "/")
                    / "MANIFEST.json")
        if not manifest.exists():
            pytest.skip("make deps has not installed the collections")
        version = tuple(map(int, yaml.safe_load(manifest.read_text())
                            ["collection_info"]["version"].split(".")))
        low, high = re.fullmatch(r">=([\d.]+),<([\d.]+)", spec).groups()
        assert tuple(map(int, low.split("."))) <= version < tuple(map(int, high.split("."))), \
            f"{name} {version} installed, galaxy.yml wants {spec}"


def test_requires_ansible_admits_the_pinned_ansible_core():
    pinned = next(line.split("==")[1] for line in (ROOT / "requirements.txt").read_text()
                  .splitlines() if line.startswith("ansible-core=="))
    wanted = yaml.safe_load((ROOT / "meta/runtime.yml").read_text())["requires_ansible"]
    low, high = re.fullmatch(r">=([\d.]+),<([\d.]+)", wanted).groups()
    as_tuple = lambda text: tuple(map(int, text.split(".")))  # noqa: E731
    assert as_tuple(low) <= as_tuple(pinned) < as_tuple(high)


def test_make_deps_links_the_checkout_in_as_the_collection(tmp_path):
    assert collections.link_self(tmp_path) is True
    link = tmp_path / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert link.resolve() == ROOT
    assert collections.link_self(tmp_path) is False, "made once"


def _names(kind: str) -> set[str]:
    return {path.stem for path in (ROOT / "plugins" / kind).glob("*.py")}


def test_roles_and_playbooks_name_the_collection_content_by_fqcn():
    roles = {path.name for path in (ROOT / "roles").iterdir() if path.is_dir()}
    modules = _names("modules") | _names("action")
    short = []
    files = sorted((ROOT / "playbooks").rglob("*.yml")) + sorted(ROOT.glob("roles/*/tasks/*.yml"))
    for path in files + sorted(ROOT.glob("roles/*/handlers/*.yml")):
        text = path.read_text()
        for line in text.splitlines():
            code = line.split("#", 1)[0]
            if re.match(rf"\s*(- )?({'|'.join(modules)}):\s*$", code):
                short.append(f"{path.relative_to(ROOT)}: {line.strip()}")
            if re.match(rf"\s*(- role|name): ({'|'.join(roles)})\s*$", code) \
                    and ("role" in code or "_role" in text):
                short.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not short, "short names where the collection's FQCN belongs:\n" + "\n".join(short)


def test_templates_use_the_filters_by_fqcn():
    import importlib

    filters = set()
    for path in (ROOT / "plugins" / "filter").glob("*.py"):
        module = importlib.import_module(f"streamstack.plugins.filter.{path.stem}")
        filters |= set(module.FilterModule().filters())
    pattern = re.compile(rf"\|\s*({'|'.join(sorted(filters))})\b")
    found = [f"{path.relative_to(ROOT)}: {m.group(0)}"
             for path in sorted(ROOT.glob("roles/**/*")) + sorted(ROOT.glob("playbooks/**/*"))
             if path.is_file() and path.suffix in (".yml", ".j2")
             for m in pattern.finditer(path.read_text())]
    assert not found, found
