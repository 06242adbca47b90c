"""A consumer project converges a lab from the built collection tarball (issue 39).

Outside the repository, in a temporary directory: an `ansible.cfg`, a copy of the lab's
inventory and a two-line playbook importing `streamstack.lab.site`. The tarball `make
collection` builds is installed there with `ansible-galaxy collection install --offline`,
its dependencies (galaxy.yml) resolved from the collections `make deps` extracted, never
from a Galaxy server. The project's ansible-playbook then converges the lab: the release
artifacts are fetched, verified and packed on the controller by the collection itself
(its action `streamstack.lab.artifacts_fetch`), not by this repository's runner. The
services are checked (a Kafka message through a new topic, a file through HDFS, no failed
unit), then a second run must report changed=0 on every host. Last, a full run (no short cut)
with Mitogen turned on in the project (`strategy = streamstack.lab.mitogen_linear`),
which must change nothing either.

Real runs, no mocks: it needs a lab (`--consumer-inventory DIR` or
$STREAMSTACK_CONSUMER_INVENTORY) and takes as long as two converges.
`$STREAMSTACK_CACHE` (the artifact cache) is passed on; without it the collection's
default cache, ~/.cache/streamstack/artifacts, is filled first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from streamstack import collections, sanity

ROOT = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.MULTILINE)
# A converge of a cold host over SSH on a loaded 2-core controller: minutes, not hours.
CONVERGE_TIMEOUT = 3600

ANSIBLE_CFG = f"""\
[defaults]
inventory = ./inventory
collections_path = ./collections
# Only ./collections: nothing of the checkout's Python path is searched.
collections_scan_sys_path = False
callbacks_enabled = {FQCN}.streamstack_watch
interpreter_python = auto_silent
timeout = 30
retry_files_enabled = False

[ssh_connection]
pipelining = True
"""

# The two lines of the issue.
PLAYBOOK = f"---\n- ansible.builtin.import_playbook: {FQCN}.site\n"

CHECKS = """\
---
- name: The services answer
  hosts: all
  become: true
  gather_facts: false
  vars:
    bootstrap: "{{ inventory_hostname }}:{{ kafka_brokers[0].port + 10000 }}"
  tasks:
    - name: Name a topic of this check's own
      ansible.builtin.set_fact:
        topic: "cs-consumer-{{ now(utc=true).strftime('%Y%m%d%H%M%S') }}"
    - name: No unit failed
      ansible.builtin.command: systemctl list-units --state=failed --no-legend --plain
      register: failed_units
      changed_when: false
      failed_when: failed_units.stdout | trim | length > 0

    - name: A message goes through a new Kafka topic
      ansible.builtin.shell:
        cmd: |
          set -euo pipefail
          . /etc/profile.d/streamstack-artifacts.sh
          kafka-topics.sh --bootstrap-server {{ bootstrap }} --create --topic {{ topic }} \\
            --partitions 1 --replication-factor {{ kafka_brokers | length }}
          echo "hello {{ topic }}" | kafka-console-producer.sh --bootstrap-server {{ bootstrap }} \\
            --topic {{ topic }}
          kafka-console-consumer.sh --bootstrap-server {{ bootstrap }} --topic {{ topic }} \\
            --from-beginning --max-messages 1 --timeout-ms 60000
        executable: /bin/bash
      register: kafka_roundtrip
      changed_when: true
      failed_when: kafka_roundtrip.rc != 0 or ('hello ' ~ topic) not in kafka_roundtrip.stdout
      when: inventory_hostname in groups['kafka'] | default([])

    - name: A file goes through HDFS
      ansible.builtin.shell:
        cmd: |
          set -euo pipefail
          . /etc/profile.d/streamstack-artifacts.sh
          echo "hello consumer" | hdfs dfs -put -f - /tmp/cs-consumer-check
          hdfs dfs -cat /tmp/cs-consumer-check
          hdfs dfs -rm -skipTrash /tmp/cs-consumer-check
        executable: /bin/bash
      become_user: hdfs
      register: hdfs_roundtrip
      changed_when: true
      failed_when: hdfs_roundtrip.rc != 0 or 'hello consumer' not in hdfs_roundtrip.stdout
      when: inventory_hostname in groups['hdfs_namenode'] | default([])
"""


@pytest.fixture(scope="module")
def lab_inventory(request) -> Path:
    given = request.config.getoption("--consumer-inventory") or \
        os.environ.get("STREAMSTACK_CONSUMER_INVENTORY")
    if not given:
        pytest.skip("no lab to converge: pass --consumer-inventory DIR or set "
                    "STREAMSTACK_CONSUMER_INVENTORY (e.g. the inventory `streamstack lab up "
                    "--ssh --hosts 1 --no-publish --prefix cs-` writes under .cache/)")
    path = Path(given).resolve()
    if not path.exists():
        pytest.fail(f"the consumer inventory {path} does not exist")
    return path


def _env() -> dict[str, str]:
    """The caller's environment without ANSIBLE_* settings (the project's ansible.cfg
    decides), with the venv's ansible first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(args: list[str], cwd: Path, log: Path, timeout: int = 600) -> tuple[int, str, float]:
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(args, cwd=cwd, env=_env(), stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    text = log.read_text()
    return done.returncode, text, time.monotonic() - started


def _recap(text: str) -> dict[str, dict[str, int]]:
    return {m[1]: {"ok": int(m[2]), "changed": int(m[3]), "unreachable": int(m[4]),
                   "failed": int(m[5])} for m in RECAP.finditer(text)}


@pytest.fixture(scope="module")
def consumer(tmp_path_factory, lab_inventory: Path) -> Path:
    """The consumer project, outside the repository, with the collection installed."""
    project = tmp_path_factory.mktemp("consumer")
    assert ROOT not in project.parents, project
    # The same command `make collection` runs.
    tarball = sanity.build(tmp_path_factory.mktemp("build"))
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert "plugins/action/artifacts_fetch.py" in names, "the fetch ships in the tarball"
    assert not [n for n in names if n.startswith("streamstack/")], "no runner in the tarball"

    shutil.copytree(lab_inventory, project / "inventory")
    (project / "ansible.cfg").write_text(ANSIBLE_CFG)
    (project / "site.yml").write_text(PLAYBOOK)
    (project / "checks.yml").write_text(CHECKS)
    # The tarball and its dependencies, each from a local file or directory: the
    # collections `make deps` extracted from the ansible package.
    dependencies = [{"name": str(collections.TARGET / "ansible_collections" / name),
                     "type": "dir"} for name in collections.COLLECTIONS]
    missing = [d["name"] for d in dependencies if not Path(d["name"], "MANIFEST.json").exists()]
    if missing:
        pytest.fail(f"`make deps` has not extracted {missing}")
    (project / "requirements.yml").write_text(yaml.safe_dump(
        {"collections": [{"name": str(tarball), "type": "file"}, *dependencies]}))
    rc, text, _ = _run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline",
                        "-r", "requirements.yml", "-p", "./collections"],
                       project, project / "install.log")
    assert rc == 0, text
    installed = project / "collections" / "ansible_collections"
    for name in [FQCN.replace(".", "/"), *collections.COLLECTIONS]:
        assert (installed / name / "MANIFEST.json").exists(), f"{name} not installed:\n{text}"
    # An installed copy, not a link to this checkout.
    assert not (installed / FQCN.replace(".", "/")).is_symlink()
    return project


def test_the_collection_installs_from_local_files_with_its_dependencies(consumer: Path):
    text = (consumer / "install.log").read_text()
    for name in collections.COLLECTIONS:
        assert f"{name.replace('/', '.')}:" in text, text


def test_a_consumer_project_converges_the_lab_and_a_second_run_changes_nothing(consumer: Path):
    rc, text, seconds = _run([str(BIN / "ansible-playbook"), "site.yml"], consumer,
                             consumer / "run1.log", timeout=CONVERGE_TIMEOUT)
    assert rc == 0, text[-6000:]
    first = _recap(text)
    assert first and all(r["failed"] == 0 and r["unreachable"] == 0 for r in first.values()), first
    # The fetch ran from the installed collection, on the controller.
    assert "Artifacts | Fetch, verify and pack the products on the controller" in text
    print(f"\nfirst run: {seconds:.0f} s, recap {first}")

    rc, checks, _ = _run([str(BIN / "ansible-playbook"), "checks.yml"], consumer,
                         consumer / "checks.log")
    assert rc == 0, checks[-6000:]

    rc, text, seconds = _run([str(BIN / "ansible-playbook"), "site.yml"], consumer,
                             consumer / "run2.log", timeout=CONVERGE_TIMEOUT)
    assert rc == 0, text[-6000:]
    second = _recap(text)
    print(f"second run: {seconds:.0f} s, recap {second}")
    assert set(second) == set(first), second
    changed = {host: r["changed"] for host, r in second.items() if r["changed"]}
    assert not changed, f"the second run changed something: {changed}\n{text[-6000:]}"
    (consumer / "converged").touch()


def test_mitogen_from_the_installed_collection_and_a_full_run_change_nothing(consumer: Path):
    """After the converge above: Mitogen is optional, a project turns it on by the
    strategy's fully qualified name; a full run (the short cut off) changes nothing."""
    if not (consumer / "converged").exists():
        pytest.skip("the converge test did not pass")
    strategy = f"{FQCN}.mitogen_linear"
    cfg = (consumer / "ansible.cfg").read_text()
    (consumer / "ansible.cfg").write_text(
        cfg.replace("[defaults]\n", f"[defaults]\nstrategy = {strategy}\n", 1))
    try:
        rc, text, seconds = _run([str(BIN / "ansible-playbook"), "site.yml",
                                  "-e", "streamstack_full_run=true"], consumer,
                                 consumer / "run3-mitogen-full.log", timeout=CONVERGE_TIMEOUT)
    finally:
        (consumer / "ansible.cfg").write_text(cfg)
    assert rc == 0, text[-6000:]
    assert "mitogen is not importable" not in text, "ran without Mitogen"
    third = _recap(text)
    print(f"\nfull run with Mitogen: {seconds:.0f} s, recap {third}")
    assert third, text[-6000:]
    changed = {host: r["changed"] for host, r in third.items() if r["changed"]}
    assert not changed, f"a full run changed something: {changed}\n{text[-6000:]}"
