"""The recorded release layouts and the artifacts catalog agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamstack.plugins.plugin_utils import launchers, release_layout
from streamstack.plugins.plugin_utils.artifacts_catalog import HADOOP, PRODUCTS

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_layout_loads_with_reasons_and_no_overlap(product):
    layout = release_layout.load(product, PRODUCTS[product].version)
    assert layout.home == f"/opt/{product}"
    assert layout.paths and "{version}" not in " ".join(layout.paths)
    assert not set(layout.paths) & set(layout.known_absent)
    for path, reason in layout.known_absent.items():
        assert isinstance(reason, str) and len(reason) > 10, path


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_every_generated_file_the_layout_expects_is_rendered(product):
    """bin/, sbin/, conf/ files of the layout that streamstack writes itself exist."""
    layout = release_layout.load(product, PRODUCTS[product].version)
    rendered = launchers.render(product, version="v", origin="o")
    generated = [p for p in layout.paths if p.split("/")[0] in
                 ("bin", "sbin", "libexec", "etc", "conf", "config")]
    if product == "spark":  # bin/ and sbin/ come from the distribution itself
        generated = [p for p in generated if p.startswith("conf/")]
    missing = [p for p in generated if p not in rendered]
    assert not missing


def test_hadoop_maven_sets_place_every_module_jar_of_the_layout():
    layout = release_layout.load("hadoop", HADOOP.version)
    jars = [p for p in layout.paths if p.startswith("share/hadoop/") and p.endswith(".jar")
            and p.rsplit("/", 1)[-1].startswith("hadoop-")]
    assert len(jars) > 40
    placed = set()
    for mset in HADOOP.maven:
        for dep in mset.deps:
            group, artifact, version = dep.parts
            if group == "org.apache.hadoop":
                suffix = f"-{dep.classifier}" if dep.classifier else ""
                placed.add(f"{mset.dest}/{artifact}-{version}{suffix}.jar")
    assert set(jars) <= placed
    # upstream's stitching order: common first, then hdfs, yarn, mapreduce, tools
    order = [m.dest for m in HADOOP.maven]
    assert order.index("share/hadoop/common") < order.index("share/hadoop/hdfs") \
        < order.index("share/hadoop/yarn") < order.index("share/hadoop/mapreduce") \
        < order.index("share/hadoop/tools/lib")


def test_readme_lists_the_known_absent_maven_artifacts():
    """What Maven does not serve here is named in the README too."""
    text = README.read_text()
    layout = release_layout.load("hadoop", HADOOP.version)
    for path, reason in layout.known_absent.items():
        if "not served" in reason:
            name = path.rstrip("/").rsplit("/", 1)[-1].removesuffix(f"-{HADOOP.version}.jar")
            assert name in text, name
