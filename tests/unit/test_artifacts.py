"""Artifact cache logic with a fake product and a fake resolver (no network)."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from streamstack import artifacts
from streamstack.artifacts import ArtifactError, RealResolver, fetch, fetching, pack_tree
from streamstack.artifacts import cli as artifacts_cli
from streamstack.plugins.plugin_utils.artifacts.pack import _already_shipped
from streamstack.plugins.plugin_utils.artifacts_catalog import (
    PRODUCTS,
    Archive,
    MavenDep,
    MavenSet,
    PipSdist,
    Product,
)

DEMO = Product(
    name="demo",
    version="1.0",
    home_env="DEMO_HOME",
    maven=(MavenSet(name="libs", dest="libs",
                    deps=(MavenDep("org.example:demo:1.0", exclusions=("log4j:log4j",)),)),),
    archive=Archive(filename="demo-1.0-bin.tgz", path="demo/1.0/demo-1.0-bin.tgz", sha512=None),
    archive_jars=(("lib/*.jar", "libs"),),
    commands=("bin/demo",),
)
CATALOG = {"demo": DEMO}

JARS = {
    "org/example/demo/1.0/demo-1.0.jar": b"demo jar",
    "org/example/dep/2.0/dep-2.0.jar": b"dep jar" * 100,
}


class FakeResolver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []

    def resolve(self, product, group, dest, *, offline, progress):
        self.calls.append((product.name, group.key, offline))
        for rel, data in JARS.items():
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def run_fetch(cache: Path, resolver, **kw) -> dict:
    lines: list[str] = []
    summary = fetch(cache, progress=lines.append, resolver=resolver, catalog=CATALOG, **kw)
    summary["lines"] = lines
    return summary


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_fetch_packs_and_records_everything(tmp_path: Path):
    res = FakeResolver()
    s = run_fetch(tmp_path, res)
    assert s["downloaded"] == 2 and s["bytes"] == sum(len(v) for v in JARS.values())
    assert s["lines"][-1] == f"downloaded=2 bytes={s['bytes']}"
    tarball = tmp_path / "dist" / "demo-1.0.tar"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["products"]["demo"]
    assert entry["tarball"] == "demo-1.0.tar"
    assert entry["sha256"] == sha(tarball) and entry["size"] == tarball.stat().st_size
    assert entry["version"] == "1.0" and entry["commands"] == ["bin/demo"]
    assert set(entry["inputs"]) == {f"maven/libs/{k}" for k in JARS}
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert names[0] == "demo-1.0"
    assert "demo-1.0/libs/demo-1.0.jar" in names and "demo-1.0/libs/dep-2.0.jar" in names


def test_second_fetch_downloads_and_packs_nothing(tmp_path: Path):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    tarball = tmp_path / "dist" / "demo-1.0.tar"
    mtime = tarball.stat().st_mtime_ns
    s = run_fetch(tmp_path, res)
    assert s["downloaded"] == 0 and s["bytes"] == 0 and s["packed"] == 0
    assert s["products"][0]["status"] == "cached"
    assert len(res.calls) == 1
    assert tarball.stat().st_mtime_ns == mtime
    assert s["lines"][-1] == "downloaded=0 bytes=0"


def test_repacking_removes_the_tarball_of_an_earlier_format(tmp_path: Path):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    manifest_path = tmp_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # What a cache packed before the tarballs were plain tar looks like.
    old = tmp_path / "dist" / "demo-1.0.tar.gz"
    old.write_bytes(b"old")
    manifest["products"]["demo"]["tarball"] = old.name
    manifest["products"]["demo"]["recipe"] = "an earlier recipe"
    manifest_path.write_text(json.dumps(manifest))
    s = run_fetch(tmp_path, res)
    assert s["packed"] == 1 and s["products"][0]["tarball"] == "demo-1.0.tar"
    assert not old.exists() and (tmp_path / "dist" / "demo-1.0.tar").is_file()


def test_corrupted_input_is_fetched_again(tmp_path: Path):
    res = FakeResolver()
    first = run_fetch(tmp_path, res)
    jar = tmp_path / "inputs" / "demo-1.0" / "maven" / "maven" / "libs" / \
        "org/example/dep/2.0/dep-2.0.jar"
    jar.write_bytes(b"corrupt")
    s = run_fetch(tmp_path, res)
    assert len(res.calls) == 2
    assert s["downloaded"] == 1
    assert jar.read_bytes() == JARS["org/example/dep/2.0/dep-2.0.jar"]
    assert any("checksum mismatch" in line for line in s["lines"])
    # inputs are back to what the tarball was built from: no repack needed
    assert s["products"][0]["sha256"] == first["products"][0]["sha256"]


def _count_hashing(monkeypatch) -> list[str]:
    opened: list[str] = []
    real_new = hashlib.new

    def counting_new(name, *args, **kwargs):
        opened.append(name)
        return real_new(name, *args, **kwargs)

    monkeypatch.setattr(fetching.hashlib, "new", counting_new)
    return opened


def _dep_jar(cache: Path) -> Path:
    return cache / "inputs" / "demo-1.0" / "maven" / "maven" / "libs" / \
        "org/example/dep/2.0/dep-2.0.jar"


def test_warm_fetch_hashes_no_file_again(tmp_path: Path, monkeypatch):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    hashed = _count_hashing(monkeypatch)
    s = run_fetch(tmp_path, res)
    assert s["products"][0]["status"] == "cached"
    assert hashed == []
    # --rehash reads the two inputs and the tarball again
    s = run_fetch(tmp_path, res, rehash=True)
    assert s["products"][0]["status"] == "cached" and len(hashed) == 3


def test_rewritten_input_of_the_same_size_is_hashed_again(tmp_path: Path):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    jar = _dep_jar(tmp_path)
    before = jar.stat()
    jar.write_bytes(b"x" * before.st_size)
    os.utime(jar, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    s = run_fetch(tmp_path, res)
    assert any("checksum mismatch" in line for line in s["lines"])
    assert jar.read_bytes() == JARS["org/example/dep/2.0/dep-2.0.jar"]


def test_rehash_finds_a_corruption_that_kept_size_and_mtime(tmp_path: Path):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    jar = _dep_jar(tmp_path)
    before = jar.stat()
    with jar.open("r+b") as f:  # same inode, same size
        f.write(b"X")
    os.utime(jar, ns=(before.st_atime_ns, before.st_mtime_ns))
    s = run_fetch(tmp_path, res, rehash=True)
    assert any("checksum mismatch" in line for line in s["lines"])
    assert jar.read_bytes() == JARS["org/example/dep/2.0/dep-2.0.jar"]


def test_missing_input_is_fetched_again(tmp_path: Path):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    jar = tmp_path / "inputs" / "demo-1.0" / "maven" / "maven" / "libs" / \
        "org/example/demo/1.0/demo-1.0.jar"
    jar.unlink()
    s = run_fetch(tmp_path, res)
    assert s["downloaded"] == 1 and jar.exists()
    assert any("missing from cache" in line for line in s["lines"])


def test_resolved_file_that_still_differs_from_manifest_is_an_error(tmp_path: Path):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    manifest_path = tmp_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    key = "maven/libs/org/example/dep/2.0/dep-2.0.jar"
    manifest["products"]["demo"]["inputs"][key] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="still differs from the manifest"):
        run_fetch(tmp_path, res)


def test_corrupted_or_missing_tarball_is_rebuilt_identically(tmp_path: Path):
    res = FakeResolver()
    first = run_fetch(tmp_path, res)
    tarball = tmp_path / "dist" / "demo-1.0.tar"
    original = tarball.read_bytes()
    tarball.write_bytes(b"garbage")
    s = run_fetch(tmp_path, res)
    assert s["packed"] == 1 and s["downloaded"] == 0 and len(res.calls) == 1
    assert tarball.read_bytes() == original  # deterministic packing
    tarball.unlink()
    s = run_fetch(tmp_path, res)
    assert s["packed"] == 1 and tarball.read_bytes() == original
    assert s["products"][0]["sha256"] == first["products"][0]["sha256"]


def test_pack_tree_is_reproducible(tmp_path: Path):
    src = tmp_path / "src"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "x").write_text("#!/bin/sh\n")
    (src / "bin" / "x").chmod(0o700)
    (src / "a.txt").write_text("a")
    pack_tree(src, "p-1", tmp_path / "one.tar")
    (src / "a.txt").touch()  # mtime changes must not matter
    pack_tree(src, "p-1", tmp_path / "two.tar")
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()
    # "r:" refuses a compressed tarball.
    with tarfile.open(tmp_path / "one.tar", "r:") as tar:
        x = tar.getmember("p-1/bin/x")
        assert x.mode == 0o755 and x.uid == 0 and x.uname == "root"
        assert tar.getmember("p-1/a.txt").mode == 0o644


def test_offline_with_missing_pip_sdist_names_the_file(tmp_path: Path):
    product = Product(name="sp", version="9", home_env="SP_HOME",
                      pip=PipSdist("sp==9", "sp-9.tar.gz", "ab" * 32))
    with pytest.raises(ArtifactError, match=r"offline, and sp-9.tar.gz is not in the cache"):
        fetch(tmp_path, offline=True, progress=lambda s: None, catalog={"sp": product})


def test_offline_maven_failure_names_the_artifact(tmp_path: Path):
    mvn = tmp_path / "fake-mvn"
    mvn.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = -o ] && off=1; done\n'
        '[ -n "$off" ] || { echo "expected -o"; exit 3; }\n'
        'echo "[ERROR] Failed to execute goal on project demo-libs: Could not resolve '
        "dependencies for project streamstack.artifacts:demo-libs:pom:1.0: Cannot access "
        "central in offline mode and the artifact org.example:demo:jar:1.0 has not been "
        'downloaded from it before."\nexit 1\n')
    mvn.chmod(0o755)
    with pytest.raises(ArtifactError) as err:
        fetch(tmp_path / "cache", offline=True, progress=lambda s: None, catalog=CATALOG,
              resolver=RealResolver(mvn=str(mvn)))
    assert "org.example:demo:jar:1.0" in str(err.value)
    assert "offline" in str(err.value)


def test_offline_with_complete_cache_does_not_resolve(tmp_path: Path):
    res = FakeResolver()
    run_fetch(tmp_path, res)
    s = run_fetch(tmp_path, res, offline=True)
    assert s["downloaded"] == 0 and len(res.calls) == 1


def _demo_archive(mirror: Path) -> Path:
    mirror.mkdir(parents=True, exist_ok=True)
    path = mirror / "demo-1.0-bin.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("demo-1.0-bin/lib/demo-1.0.jar", b"jar a"),
                           ("demo-1.0-bin/lib/dep-2.0.jar", b"jar b"),
                           ("demo-1.0-bin/README", b"readme")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archive_source_with_override_checksum(tmp_path: Path):
    archive = _demo_archive(tmp_path / "mirror")
    digest = hashlib.sha512(archive.read_bytes()).hexdigest()
    lines: list[str] = []
    s = fetch(tmp_path / "cache", source="archive", progress=lines.append, catalog=CATALOG,
              mirror=str(tmp_path / "mirror"), sha512={"demo": digest})
    assert s["downloaded"] == 1 and s["products"][0]["status"] == "packed"
    with tarfile.open(tmp_path / "cache" / "dist" / "demo-1.0.tar") as tar:
        names = tar.getnames()
    assert "demo-1.0/libs/demo-1.0.jar" in names and "demo-1.0/libs/dep-2.0.jar" in names
    assert not any(n.endswith("README") for n in names)
    again = fetch(tmp_path / "cache", source="archive", progress=lines.append,
                  catalog=CATALOG, mirror=str(tmp_path / "mirror"), sha512={"demo": digest})
    assert again["downloaded"] == 0 and again["packed"] == 0


def test_archive_source_without_pinned_checksum_is_a_clear_error(tmp_path: Path):
    _demo_archive(tmp_path / "mirror")
    with pytest.raises(ArtifactError, match="no pinned SHA-512 for demo-1.0-bin.tgz"):
        fetch(tmp_path / "cache", source="archive", progress=lambda s: None, catalog=CATALOG,
              mirror=str(tmp_path / "mirror"))


def test_archive_source_with_wrong_checksum_fails(tmp_path: Path):
    _demo_archive(tmp_path / "mirror")
    with pytest.raises(ArtifactError, match="does not match its pinned SHA-512"):
        fetch(tmp_path / "cache", source="archive", progress=lambda s: None, catalog=CATALOG,
              mirror=str(tmp_path / "mirror"), sha512={"demo": "0" * 128})


def test_generated_pom_has_no_repository_and_keeps_exclusions():
    pom = artifacts.maven_pom(DEMO, DEMO.maven[0])
    assert "<exclusion><groupId>log4j</groupId><artifactId>log4j</artifactId>" in pom
    assert "<repositor" not in pom and "http" not in pom
    hadoop = PRODUCTS["hadoop"]
    webapps = next(m for m in hadoop.maven if m.extract)
    assert "<classifier>tests</classifier>" in artifacts.maven_pom(hadoop, webapps)


def test_catalog_pins_the_contract_versions():
    assert {p.dirname for p in PRODUCTS.values()} == {
        "kafka-3.6.1", "zookeeper-3.8.3", "hadoop-3.3.6", "spark-3.5.0", "jmx_exporter-1.0.1"}
    kafka_deps = {d.coordinate for d in PRODUCTS["kafka"].maven[0].deps}
    assert "org.apache.kafka:kafka_2.13:3.6.1" in kafka_deps
    assert "org.apache.zookeeper:zookeeper:3.8.3" in kafka_deps
    spark = PRODUCTS["spark"]
    assert spark.pip and spark.pip.requirement == "pyspark==3.5.0"
    assert spark.maven[0].skip_shipped


def test_already_shipped_matches_artifact_ids_exactly():
    shipped = {"commons-pool-1.5.4.jar", "lz4-java-1.8.0.jar",
               "spark-token-provider-kafka-0-10_2.12-3.5.0.jar"}
    assert _already_shipped("lz4-java", shipped)
    assert not _already_shipped("commons-pool2", shipped)
    assert _already_shipped("spark-token-provider-kafka-0-10_2.12", shipped)
    assert not _already_shipped("spark-token-provider-kafka", shipped)


def test_cli_prints_one_line_per_product_and_the_summary(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(fetching, "PRODUCTS", CATALOG)
    monkeypatch.setattr(artifacts_cli, "PRODUCTS", CATALOG)
    monkeypatch.setattr(fetching, "RealResolver", lambda mirror=None: FakeResolver())
    assert artifacts.main(["fetch", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("demo 1.0: packed dist/demo-1.0.tar") for line in out)
    assert out[-1].startswith("downloaded=2 bytes=")


def test_default_cache_dir_honours_env(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("STREAMSTACK_CACHE", str(tmp_path / "c"))
    assert artifacts.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("STREAMSTACK_CACHE")
    assert artifacts.default_cache_dir() == artifacts.project_root() / ".cache" / "artifacts"


# --- Maven's strict checksum policy, with the real mvn --------------------------------

def _file_repository(root: Path, jar: bytes, published_sha1: str) -> None:
    """A Maven repository on disk with org.streamstack.check:tampered:1.0 whose jar's
    .sha1 (what the repository publishes) is `published_sha1`."""
    base = root / "org/streamstack/check/tampered/1.0"
    base.mkdir(parents=True)
    pom = (b'<project><modelVersion>4.0.0</modelVersion><groupId>org.streamstack.check'
           b'</groupId><artifactId>tampered</artifactId><version>1.0</version></project>')
    for name, data in (("tampered-1.0.pom", pom), ("tampered-1.0.jar", jar)):
        (base / name).write_bytes(data)
        digest = hashlib.sha1(data).hexdigest() if name.endswith(".pom") else published_sha1
        (base / f"{name}.sha1").write_text(digest)
        (base / f"{name}.md5").write_text(
            hashlib.md5(data).hexdigest() if name.endswith(".pom") else "0" * 32)


def _mvn_with_repository(tmp: Path, repo: Path) -> Path:
    """The real mvn, with a settings file adding the on-disk repository and a local
    repository of its own holding (hard links of) what ~/.m2 already has, so the
    dependency plugin needs no network and only the checked artifact is downloaded."""
    local = tmp / "m2"
    home_repo = Path.home() / ".m2" / "repository"
    subprocess.run(["cp", "-al", str(home_repo), str(local)], check=True)
    settings = tmp / "settings.xml"
    settings.write_text(
        f"<settings><localRepository>{local}</localRepository><profiles><profile>"
        "<id>check</id><repositories><repository><id>check</id>"
        f"<url>{repo.as_uri()}</url></repository></repositories></profile></profiles>"
        "<activeProfiles><activeProfile>check</activeProfile></activeProfiles></settings>")
    wrapper = tmp / "mvn"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("mvn")} -s {settings} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


CHECKED = Product(name="checked", version="1.0", home_env="CHECKED_HOME",
                  maven=(MavenSet(name="libs", dest="libs",
                                  deps=(MavenDep("org.streamstack.check:tampered:1.0"),)),))


def _needs_mvn_and_plugin():
    plugin = Path.home() / ".m2/repository/org/apache/maven/plugins/maven-dependency-plugin"
    if not shutil.which("mvn") or not (plugin / artifacts.DEPENDENCY_PLUGIN.split(":")[2]).is_dir():
        pytest.skip("needs mvn and the dependency plugin in ~/.m2 (a first artifacts fetch)")


@pytest.mark.parametrize("tampered", [True, False])
def test_maven_jar_that_differs_from_the_published_checksum_fails_the_fetch(tmp_path, tampered):
    _needs_mvn_and_plugin()
    jar = b"PK\x05\x06" + b"\0" * 18  # an empty zip
    published = hashlib.sha1(b"the jar the repository released").hexdigest() if tampered \
        else hashlib.sha1(jar).hexdigest()
    _file_repository(tmp_path / "repo", jar, published)
    mvn = _mvn_with_repository(tmp_path, tmp_path / "repo")
    fetch_it = functools.partial(fetch, tmp_path / "cache", progress=lambda s: None,
                                 catalog={"checked": CHECKED}, resolver=RealResolver(mvn=str(mvn)))
    if tampered:
        with pytest.raises(ArtifactError, match="(?i)checksum"):
            fetch_it()
        assert not (tmp_path / "cache" / "manifest.json").exists() or "checked" not in \
            json.loads((tmp_path / "cache" / "manifest.json").read_text())["products"]
    else:
        assert fetch_it()["products"][0]["status"] == "packed"

def _repo_jar(root: Path, group: str, artifact: str, version: str, data: bytes,
              classifier: str = "") -> None:
    name = f"{artifact}-{version}{'-' + classifier if classifier else ''}.jar"
    path = root / group.replace(".", "/") / artifact / version / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_component_sets_stage_like_the_hadoop_release(tmp_path: Path):
    """Declared modules in the component dir, their closure in lib/, each jar once."""
    common = MavenSet(name="common", dest="share/h/common", lib="share/h/common/lib",
                      deps=(MavenDep("org.h:h-common:1"), MavenDep("org.h:h-common:1:tests")))
    yarn = MavenSet(name="yarn", dest="share/h/yarn", lib="share/h/yarn/lib",
                    deps=(MavenDep("org.h:h-yarn:1"),))
    mapred = MavenSet(name="mapreduce", dest="share/h/mapreduce", lib="share/h/mapreduce/lib",
                      deps=(MavenDep("org.h:h-mr:1"),))
    product = Product(name="h", version="1", home_env="H_HOME", maven=(common, yarn, mapred),
                      stitch="share/h")
    inputs = tmp_path / "inputs"
    _repo_jar(inputs / "maven/common", "org.h", "h-common", "1", b"c")
    _repo_jar(inputs / "maven/common", "org.h", "h-common", "1", b"ct", "tests")
    _repo_jar(inputs / "maven/common", "org.x", "guava", "9", b"g")
    _repo_jar(inputs / "maven/yarn", "org.h", "h-yarn", "1", b"y")
    _repo_jar(inputs / "maven/yarn", "org.h", "h-common", "1", b"c")  # already in common
    _repo_jar(inputs / "maven/yarn", "org.x", "guava", "9", b"g")  # already in common/lib
    _repo_jar(inputs / "maven/yarn", "org.x", "jersey", "1", b"j")
    _repo_jar(inputs / "maven/yarn", "org.h", "h-mr", "1", b"m")  # mapreduce's own module
    _repo_jar(inputs / "maven/mapreduce", "org.h", "h-mr", "1", b"m")
    stage = tmp_path / "stage"
    artifacts.stage_product(product, "maven", inputs, stage)
    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*.jar"))
    assert files == [
        "share/h/common/h-common-1-tests.jar",
        "share/h/common/h-common-1.jar",
        "share/h/common/lib/guava-9.jar",
        "share/h/mapreduce/h-mr-1.jar",
        "share/h/yarn/h-yarn-1.jar",
        "share/h/yarn/lib/jersey-1.jar",
    ]


def test_hadoop_sets_import_hadoop_project_versions_like_the_upstream_build():
    hadoop = PRODUCTS["hadoop"]
    component_sets = [m for m in hadoop.maven if m.lib]
    assert component_sets and all(
        m.bom == f"org.apache.hadoop:hadoop-project:{hadoop.version}" for m in component_sets)
    pom = artifacts.maven_pom(hadoop, component_sets[0])
    assert ("<artifactId>hadoop-project</artifactId><version>3.3.6</version>"
            "<type>pom</type><scope>import</scope>") in pom
