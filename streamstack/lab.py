"""The local lab: systemd container hosts on a user-defined Docker network."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import PROJECT_ROOT, layout
from .engine import docker
from .errors import StreamstackError
from .proc import run

LABEL = "io.streamstack.lab"
# Set on the containers of a lab reached over SSH (`lab up --ssh`); its value is the user.
SSH_LABEL = "io.streamstack.ssh"
# The sudo user of a lab VM, as in inventories/lab.
SSH_USER = "debian"
# The sudo user of a VM-shaped lab (`lab up --vm`): not the handout's, on purpose.
VM_USER = "labadmin"
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

    @property
    def state_dir(self) -> Path:
        """The lab's controller-side files: SSH key pair and known_hosts (never committed)."""
        return PROJECT_ROOT / ".cache" / "labs" / self.name

    @property
    def security_file(self) -> Path:
        """Present when the lab runs the secure profile (`lab up --secure`)."""
        return self.state_dir / "security"

    @property
    def secure(self) -> bool:
        return (self.security_file.is_file()
                and self.security_file.read_text().strip() == "kerberos")

    @property
    def secrets_dir(self) -> Path:
        """The lab's generated secrets on the controller (its streamstack_secrets_dir)."""
        return Path.home() / ".streamstack" / "secrets" / self.name

    @property
    def vm_file(self) -> Path:
        """Present when the lab is shaped like VMs as they come (`lab up --vm`)."""
        return self.state_dir / "vm"

    @property
    def vm(self) -> bool:
        return self.vm_file.is_file()

    @property
    def debian13_file(self) -> Path:
        """Present when the VM-shaped lab is mixed: its last host Debian 13 (`--debian13`)."""
        return self.state_dir / "debian13"

    @property
    def debian13(self) -> bool:
        return self.debian13_file.is_file()

    @property
    def ha_file(self) -> Path:
        """Present when the lab has two NameNodes and ResourceManagers (`lab up --ha`)."""
        return self.state_dir / "ha"

    @property
    def ha(self) -> bool:
        return self.ha_file.is_file()

    def hosts(self, count: int) -> list[layout.Host]:
        """The lab's hosts: a VM-shaped lab always has its five, whatever count says."""
        return layout.vm_hosts(self.debian13) if self.vm else layout.lab_hosts(count, ha=self.ha)

    @property
    def ssh_user(self) -> str:
        return VM_USER if self.vm else SSH_USER

    @property
    def ssh_key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

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


def _ssh_containers(lab: Lab) -> dict[str, str]:
    """Container name -> SSH user, for the lab's containers made with `--ssh`."""
    return {c["Names"]: user for c in lab.containers()
            if (user := _labels(c).get(SSH_LABEL))}


def _labels(container: dict) -> dict[str, str]:
    pairs = (item.partition("=") for item in container.get("Labels", "").split(",") if item)
    return {key: value for key, _, value in pairs}


def ensure_ssh_key(lab: Lab, progress=print) -> Path:
    """The lab's key pair, made once on the controller (0600, under .cache/, not committed)."""
    if not lab.ssh_key.exists():
        lab.state_dir.mkdir(parents=True, exist_ok=True)
        lab.state_dir.chmod(0o700)
        progress(f"generating the lab's SSH key {lab.ssh_key}")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"streamstack {lab.name}",
             "-f", str(lab.ssh_key)], hint="ssh-keygen comes with openssh-client")
    return lab.ssh_key


# What a cloud image's first boot does for a VM: the sudo user with the controller's key.
# Idempotent: run at every `lab up --ssh`.
SSH_USER_SCRIPT = """set -eu
user="$1"; key="$2"
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
install -d -m 0700 -o "$user" -g "$user" "/home/$user/.ssh"
printf '%s\\n' "$key" > "/home/$user/.ssh/authorized_keys"
chown "$user:$user" "/home/$user/.ssh/authorized_keys"
chmod 0600 "/home/$user/.ssh/authorized_keys"
printf '%s ALL=(ALL) NOPASSWD:ALL\\n' "$user" > "/etc/sudoers.d/90-$user"
chmod 0440 "/etc/sudoers.d/90-$user"
"""


def _prepare_ssh_host(container: str, user: str, public_key: str, seconds: int = 60) -> None:
    """Create the sudo user and wait until sshd runs with its host key."""
    docker("exec", container, "sh", "-c", SSH_USER_SCRIPT, "sh", user, public_key)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        active = docker("exec", container, "systemctl", "is-active", "ssh", check=False)
        if active.stdout.decode().strip() == "active":
            key = docker("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub",
                         check=False)
            if key.returncode == 0:
                return
        time.sleep(1)
    raise StreamstackError(f"{container}: sshd did not start in {seconds}s",
                           hint=f"docker exec {container} journalctl -u ssh -n 30")


def _ssh_port(container: str) -> int:
    done = docker("port", container, "22/tcp", check=False)
    for line in done.stdout.decode().splitlines():
        address, _, port = line.rpartition(":")
        if address == "127.0.0.1" and port.isdigit():
            return int(port)
    raise StreamstackError(f"{container}: SSH is not published on 127.0.0.1",
                           hint="start the lab: `streamstack lab up --ssh`")


def ssh_command(lab: Lab, host: str) -> str:
    """The shell command that logs in to a host of an SSH lab as its sudo user."""
    return (f"ssh -i {lab.ssh_key} -o UserKnownHostsFile={lab.known_hosts} "
            f"-p {_ssh_port(lab.container(host))} {lab.ssh_user}@127.0.0.1")


def ssh_group_vars(lab: Lab, user: str) -> dict:
    """Connection variables of an SSH lab: the shape of inventories/lab (sudo user, no root)."""
    ssh_args = (f"-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes")
    return {"ansible_connection": "ssh", "ansible_user": user, "ansible_become": True,
            "ansible_ssh_host_key_checking": True,
            "ansible_ssh_private_key_file": str(lab.ssh_key),
            "ansible_ssh_common_args": ssh_args}


def write_inventory(lab: Lab, count: int, leaving: int = 0) -> Path:
    """The committed inventory serves the default 3-host lab reached with `docker exec`;
    others get a generated one. A lab made with `--ssh` is written as SSH hosts on
    127.0.0.1 (one published port each), their host keys in the lab's known_hosts.
    With leaving, that many hosts after the first count are being decommissioned."""
    ssh_users = _ssh_containers(lab)
    if (count == 3 and not leaving and not lab.prefix and not ssh_users and not lab.secure
            and not lab.ha):
        return lab.inventory_dir
    if lab.vm:
        count = len(layout.VM_HOSTS)
    name = (f"inventory-{lab.name}-{count}" + ("-ha" if lab.ha else "")
            + (f"-leaving-{leaving}" if leaving else ""))
    target = PROJECT_ROOT / ".cache" / name
    target.mkdir(parents=True, exist_ok=True)
    data = layout.inventory(count, leaving, vm=lab.vm, ha=lab.ha, debian13=lab.debian13)
    known_hosts = []
    for host, host_vars in data["all"]["hosts"].items():
        merged = dict(host_vars or {})
        container = lab.container(host)
        if container in ssh_users:
            port = _ssh_port(container)
            merged.update(ansible_host="127.0.0.1", ansible_port=port)
            key = docker("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
            key_type, key_data = key.stdout.decode().split()[:2]
            known_hosts.append(f"[127.0.0.1]:{port} {key_type} {key_data}")
        elif lab.prefix:
            merged["ansible_host"] = container
        data["all"]["hosts"][host] = merged or None
    (target / "hosts.yml").write_text(layout.yaml_text(data))
    group_vars = target / "group_vars" / "all"
    if (target / "group_vars").is_symlink():  # the layout before SSH labs
        (target / "group_vars").unlink()
    group_vars.mkdir(parents=True, exist_ok=True)
    local = group_vars / "00-local.yml"
    if not local.is_symlink():
        local.symlink_to(lab.inventory_dir / "group_vars" / "all.yml")
    security_vars = group_vars / "20-security.yml"
    if lab.secure:
        security_vars.write_text(
            "# Generated by `streamstack lab up --secure`: the secure profile.\n"
            + yaml.safe_dump({"streamstack_security": "kerberos",
                              "streamstack_lab_name": lab.name},
                             sort_keys=False, default_flow_style=False, width=1000))
    else:
        security_vars.unlink(missing_ok=True)
    ssh_vars = group_vars / "10-ssh.yml"
    if ssh_users:
        lab.known_hosts.write_text("\n".join(known_hosts) + "\n")
        user = next(iter(ssh_users.values()))
        ssh_vars.write_text("# Generated by `streamstack lab up --ssh`: reached like lab VMs.\n"
                            + yaml.safe_dump(ssh_group_vars(lab, user), sort_keys=False,
                                             default_flow_style=False, width=1000))
    else:
        ssh_vars.unlink(missing_ok=True)
    return target


def up(image: str, count: int = 3, lab: Lab | None = None, publish: bool = True,
       ssh: bool = False, secure: bool = False, vm: bool = False, ha: bool = False,
       debian13: bool = False, images: dict[str, str] | None = None,
       progress=print) -> Path:
    """Create what is missing, start what is stopped. Returns the inventory to use.

    With ssh, each host also runs sshd with the lab's sudo user (the lab's key only),
    published on an ephemeral port of 127.0.0.1; the inventory then reaches it over SSH.
    With vm (which implies ssh), image is the bare host image and the lab takes the
    VM-shaped layout and sudo user; the choice is kept with the lab. images gives the
    image of each host whose Debian release (layout.Host.suite) is not image's."""
    lab = lab or Lab()
    existing = {c["Names"]: c for c in lab.containers()}
    if vm != lab.vm and existing:
        prefix = f" --prefix {lab.prefix}" if lab.prefix else ""
        raise StreamstackError(
            f"the lab {lab.name} was created {'without' if vm else 'with'} --vm",
            hint=f"remove the lab first: streamstack lab down --purge{prefix}")
    if vm and not lab.vm:
        lab.state_dir.mkdir(parents=True, exist_ok=True)
        lab.vm_file.touch()
    if debian13 and not lab.debian13:
        if existing or not vm:
            prefix = f" --prefix {lab.prefix}" if lab.prefix else ""
            raise StreamstackError(
                f"--debian13 makes a new VM-shaped lab; {lab.name} "
                + ("exists without it" if existing else "needs --vm"),
                hint=f"remove the lab first: streamstack lab down --purge{prefix}"
                if existing else "add --vm")
        lab.debian13_file.touch()
    # HA is kept with the lab like --vm; a lab made without it keeps its single masters
    # (converting a living cluster is not supported yet).
    if ha and not lab.ha:
        if existing:
            prefix = f" --prefix {lab.prefix}" if lab.prefix else ""
            raise StreamstackError(
                f"the lab {lab.name} was created without --ha, and converting a living "
                "cluster to HA is not supported yet",
                hint=f"remove the lab first: streamstack lab down --purge{prefix}")
        lab.state_dir.mkdir(parents=True, exist_ok=True)
        lab.ha_file.touch()
    ssh = ssh or vm
    hosts = lab.hosts(count)
    mismatched = sorted(name for name, c in existing.items()
                        if bool(_labels(c).get(SSH_LABEL)) != ssh)
    if mismatched:
        made = "without" if ssh else "with"
        prefix = f" --prefix {lab.prefix}" if lab.prefix else ""
        raise StreamstackError(f"{', '.join(mismatched)} were created {made} --ssh",
                               hint=f"remove the lab first: streamstack lab down{prefix}")
    public_key = ""
    if ssh:
        public_key = ensure_ssh_key(lab, progress).with_suffix(".pub").read_text().strip()
    user = lab.ssh_user
    if docker("network", "inspect", lab.network, check=False).returncode != 0:
        progress(f"creating network {lab.network}")
        docker("network", "create", "--label", f"{LABEL}={lab.name}", lab.network)
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
        if ssh:
            # An ephemeral port: labs side by side never collide; the inventory follows it.
            args += ["--label", f"{SSH_LABEL}={user}", "-p", "127.0.0.1::22"]
        for data_dir in DATA_DIRS:
            args += ["-v", f"{lab.volume(host.name, data_dir)}:{data_dir}"]
        if publish:
            for port in host.published_ports:
                args += ["-p", f"127.0.0.1:{port}:{port}"]
        docker(*args, (images or {}).get(host.suite, image), "/lib/systemd/systemd")
    extra = sorted(set(existing) - {lab.container(h.name) for h in hosts})
    if extra:
        progress(f"note: {', '.join(extra)} also belong to this lab (started with more hosts)")
    for host in hosts:
        state = _wait_for_systemd(lab.container(host.name))
        progress(f"{lab.container(host.name)}: systemd {state}")
        if ssh:
            _prepare_ssh_host(lab.container(host.name), user, public_key)
            progress(f"{lab.container(host.name)}: sshd on 127.0.0.1:"
                     f"{_ssh_port(lab.container(host.name))}, user {user} (sudo, key only)")
    if secure and not lab.secure:
        # Kept with the lab: every later command (run, verify, up) converges it secure.
        lab.state_dir.mkdir(parents=True, exist_ok=True)
        lab.security_file.write_text("kerberos\n")
        progress(f"secure profile on; secrets in {lab.secrets_dir}")
    return write_inventory(lab, count)


def down(lab: Lab | None = None, purge: bool = False, progress=print) -> None:
    """Remove the containers and network; data volumes stay unless purge."""
    lab = lab or Lab()
    for container in lab.containers():
        progress(f"removing {container['Names']}")
        docker("rm", "-f", container["Names"])
    if docker("network", "inspect", lab.network, check=False).returncode == 0:
        docker("network", "rm", lab.network)
    # Every data volume any of the lab's layouts may have made, and no other.
    names = {lab.volume(host, data_dir)
             for host in layout.host_names(layout.MAX_HOSTS) + layout.VM_HOSTS
             for data_dir in DATA_DIRS}
    volumes = [volume for volume in docker("volume", "ls", "-q").stdout.decode().split()
               if volume in names]
    if purge:
        for volume in volumes:
            progress(f"removing volume {volume}")
            docker("volume", "rm", volume)
        if lab.state_dir.exists():
            progress(f"removing the lab's SSH key and known_hosts ({lab.state_dir})")
            shutil.rmtree(lab.state_dir)
        if lab.secrets_dir.is_dir():
            # The data that the secrets protected is gone with the volumes.
            progress(f"removing the lab's generated secrets ({lab.secrets_dir})")
            shutil.rmtree(lab.secrets_dir)
    elif volumes:
        progress(f"kept {len(volumes)} data volumes (topics, HDFS); `down --purge` removes them")


def remove_hosts(lab: Lab, hosts: list[str], purge: bool = False, progress=print) -> None:
    """Remove some of the lab's containers (a shrink); their data volumes stay unless
    purge."""
    for host in hosts:
        progress(f"removing {lab.container(host)}")
        docker("rm", "-f", lab.container(host))
        if purge:
            for data_dir in DATA_DIRS:
                progress(f"removing volume {lab.volume(host, data_dir)}")
                docker("volume", "rm", "-f", lab.volume(host, data_dir))


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
