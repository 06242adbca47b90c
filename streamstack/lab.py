"""The local lab: systemd container hosts on a user-defined Docker network."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from . import PROJECT_ROOT, layout
from .engine import docker
from .errors import StreamstackError

LABEL = "io.streamstack.lab"
# Data directories kept in named volumes, so `down` + `up` keeps topics and HDFS files.
DATA_DIRS = ["/var/lib/zookeeper", "/var/lib/kafka", "/var/lib/hadoop"]
# The flags measured to run systemd as PID 1 here (--privileged fails).
SYSTEMD_FLAGS = [
    "--cap-add", "SYS_ADMIN",
    "--security-opt", "seccomp=unconfined",
    "--cgroupns=host",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run",
    "--tmpfs", "/run/lock",
]


@dataclass(frozen=True)
class Lab:
    """One lab. The default has no prefix: containers are named like the handout's."""

    prefix: str = ""

    @property
    def name(self) -> str:
        return f"{self.prefix}streamstack"

    @property
    def network(self) -> str:
        return self.name

    def container(self, host: str) -> str:
        return f"{self.prefix}{host}"

    def volume(self, host: str, data_dir: str) -> str:
        return f"{self.container(host)}{data_dir.replace('/', '-')}"

    @property
    def inventory_dir(self) -> Path:
        return PROJECT_ROOT / "inventories" / "local"

    def containers(self) -> list[dict]:
        out = docker(
            "ps", "-a", "--filter", f"label={LABEL}={self.name}", "--format", "{{json .}}"
        ).stdout.decode()
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def _wait_for_systemd(container: str, seconds: int = 90) -> str:
    deadline = time.monotonic() + seconds
    state = "unknown"
    while time.monotonic() < deadline:
        done = docker("exec", container, "systemctl", "is-system-running", check=False)
        state = done.stdout.decode().strip() or "starting"
        if state in ("running", "degraded"):
            return state
        time.sleep(1)
    raise StreamstackError(
        f"{container}: systemd did not finish booting in {seconds}s (state: {state})",
        hint=f"docker exec {container} systemctl --failed",
    )


def write_inventory(lab: Lab, count: int) -> Path:
    """The committed inventory serves the default 3-host lab; others get a generated one."""
    if count == 3 and not lab.prefix:
        return lab.inventory_dir
    target = PROJECT_ROOT / ".cache" / f"inventory-{lab.name}-{count}"
    target.mkdir(parents=True, exist_ok=True)
    data = layout.inventory(count)
    if lab.prefix:
        for host, host_vars in data["all"]["hosts"].items():
            merged = dict(host_vars or {})
            merged["ansible_host"] = lab.container(host)
            data["all"]["hosts"][host] = merged
    (target / "hosts.yml").write_text(layout.yaml_text(data))
    group_vars = target / "group_vars"
    if not group_vars.exists():
        group_vars.symlink_to(lab.inventory_dir / "group_vars")
    return target


def up(image: str, count: int = 3, lab: Lab | None = None, publish: bool = True,
       progress=print) -> Path:
    """Create what is missing, start what is stopped. Returns the inventory to use."""
    lab = lab or Lab()
    hosts = layout.lab_hosts(count)
    if docker("network", "inspect", lab.network, check=False).returncode != 0:
        progress(f"creating network {lab.network}")
        docker("network", "create", "--label", f"{LABEL}={lab.name}", lab.network)
    existing = {c["Names"]: c for c in lab.containers()}
    for host in hosts:
        name = lab.container(host.name)
        if name in existing:
            if existing[name]["State"] != "running":
                progress(f"starting {name}")
                docker("start", name)
            continue
        progress(f"creating {name}")
        args = ["run", "-d", "--name", name, "--hostname", host.name,
                "--network", lab.network, "--network-alias", host.name,
                "--label", f"{LABEL}={lab.name}", *SYSTEMD_FLAGS]
        for data_dir in DATA_DIRS:
            args += ["-v", f"{lab.volume(host.name, data_dir)}:{data_dir}"]
        if publish:
            for port in host.published_ports:
                args += ["-p", f"127.0.0.1:{port}:{port}"]
        docker(*args, image, "/lib/systemd/systemd")
    extra = sorted(set(existing) - {lab.container(h.name) for h in hosts})
    if extra:
        progress(f"note: {', '.join(extra)} also belong to this lab (started with more hosts)")
    for host in hosts:
        state = _wait_for_systemd(lab.container(host.name))
        progress(f"{lab.container(host.name)}: systemd {state}")
    return write_inventory(lab, count)


def down(lab: Lab | None = None, purge: bool = False, progress=print) -> None:
    """Remove the containers and network; data volumes stay unless purge."""
    lab = lab or Lab()
    for container in lab.containers():
        progress(f"removing {container['Names']}")
        docker("rm", "-f", container["Names"])
    if docker("network", "inspect", lab.network, check=False).returncode == 0:
        docker("network", "rm", lab.network)
    volumes = docker(
        "volume", "ls", "-q", "--filter", f"name=^{lab.prefix}hadoop-"
    ).stdout.decode().split()
    if purge:
        for volume in volumes:
            progress(f"removing volume {volume}")
            docker("volume", "rm", volume)
    elif volumes:
        progress(f"kept {len(volumes)} data volumes (topics, HDFS); `down --purge` removes them")


def status(lab: Lab | None = None) -> list[dict]:
    """One row per container: name, state, systemd state, published ports."""
    lab = lab or Lab()
    rows = []
    for container in sorted(lab.containers(), key=lambda c: c["Names"]):
        systemd = "-"
        if container["State"] == "running":
            done = docker("exec", container["Names"], "systemctl", "is-system-running",
                          check=False)
            systemd = done.stdout.decode().strip()
        rows.append({"name": container["Names"], "state": container["State"],
                     "systemd": systemd, "ports": container.get("Ports", "")})
    return rows
