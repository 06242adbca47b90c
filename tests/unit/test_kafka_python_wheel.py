"""kafka-python on the hosts (issue 19, item 5): installed by pip from the copied wheel,
with --require-hashes, not unzipped. The role's real kafka_python.yml runs here through
ansible-playbook on this machine, with its paths in a temporary directory: the wheel
pinned in the defaults installs; a wheel with other bytes under the same name does not."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from role_play import run_tasks

ROOT = Path(__file__).resolve().parents[2]
WHEELS = ROOT / ".cache" / "wheels"
DEFAULTS = yaml.safe_load((ROOT / "roles/spark/defaults/main.yml").read_text())
KAFKA = f"kafka_python-{DEFAULTS['spark_kafka_python_version']}-py2.py3-none-any.whl"
PIP = f"pip-{DEFAULTS.get('spark_pip_version', '24.3.1')}-py3-none-any.whl"


def _wheels(tmp: Path) -> Path:
    """The controller's wheel directory, from the cache a site.yml run fills."""
    if not (WHEELS / KAFKA).is_file() or not (WHEELS / PIP).is_file():
        pytest.skip(f"needs {KAFKA} and {PIP} in .cache/wheels (a site.yml run downloads them)")
    out = tmp / "controller"
    out.mkdir()
    for name in (KAFKA, PIP):
        shutil.copy(WHEELS / name, out / name)
    return out


def _install(tmp: Path, wheel_dir: Path):
    site, data = tmp / "site-packages", tmp / "spark-data"
    site.mkdir()
    data.mkdir()
    return run_tasks(tmp, "spark", "kafka_python.yml", {
        "spark_kafka_python_wheel_dir": str(wheel_dir), "spark_data_dir": str(data),
        "_spark_site_packages": str(site)})


def test_pinned_wheel_is_installed_by_pip(tmp_path):
    done = _install(tmp_path, _wheels(tmp_path))
    assert done.returncode == 0, done.stdout[-2000:]
    info = next((tmp_path / "site-packages").glob("kafka_python-*.dist-info")) / "INSTALLER"
    assert info.read_text().strip() == "pip"
    assert (tmp_path / "site-packages" / "kafka" / "__init__.py").is_file()


def test_wheel_with_other_bytes_is_refused(tmp_path):
    wheel_dir = _wheels(tmp_path)
    # The same name and a valid wheel, one byte of metadata changed: not the published file.
    src, dst = wheel_dir / KAFKA, tmp_path / "tampered.whl"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("/METADATA"):
                data += b"\n"
            zout.writestr(item, data)
    shutil.move(dst, src)
    done = _install(tmp_path, wheel_dir)
    assert done.returncode != 0, done.stdout[-2000:]
    assert "HASH" in done.stdout.upper(), done.stdout[-2000:]
    assert not list((tmp_path / "site-packages").glob("kafka*"))
