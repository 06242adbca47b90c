"""`streamstack jobs status|logs|restart`: the streaming jobs' units and YARN apps.

Every command runs on the spark_client hosts through a ``host_exec(host, argv)``
callable, so the same code serves container hosts and VMs. The default one runs
``ansible.builtin.command`` through ansible-runner with the project's inventory; tests
and other callers may pass their own.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import PROJECT_ROOT
from .errors import StreamstackError

UNIT_PREFIX = "spark-job-"
# Properties read with `systemctl show`.
UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "MainPID",
                   "ActiveEnterTimestamp", "NRestarts", "UnitFileState")


@dataclass
class ExecResult:
    rc: int
    stdout: str
    stderr: str = ""


HostExec = Callable[[str, list[str]], ExecResult]


@dataclass
class JobStatus:
    name: str
    host: str
    unit: str
    active_state: str = "unknown"
    sub_state: str = ""
    main_pid: int = 0
    since: str = ""
    restarts: int = 0
    enabled: str = ""
    yarn: list[dict] = field(default_factory=list)

    @property
    def yarn_state(self) -> str:
        """The newest application's state, or '-' when YARN has none for this job."""
        if not self.yarn:
            return "-"
        return self.yarn[-1]["state"]

    @property
    def application_id(self) -> str:
        return self.yarn[-1]["id"] if self.yarn else "-"


# ------------------------------------------------------------------------ parsing

def unit_name(job: str) -> str:
    return job if job.endswith(".service") else f"{UNIT_PREFIX}{job}.service"


def job_name(unit: str) -> str:
    name = unit.removesuffix(".service")
    return name.removeprefix(UNIT_PREFIX)


def parse_systemctl_show(text: str) -> dict[str, str]:
    """`systemctl show -p A -p B unit` output (KEY=value lines) as a dict."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def parse_unit_list(text: str) -> list[str]:
    """Unit names from `systemctl list-units/list-unit-files --plain --no-legend`."""
    units = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(UNIT_PREFIX) and parts[0].endswith(".service"):
            units.append(parts[0])
    return sorted(set(units))


def parse_yarn_list(text: str) -> list[dict]:
    """Rows of `yarn application -list`: tab-separated, after the header line.

    Columns: Application-Id, Application-Name, Application-Type, User, Queue, State,
    Final-State, Progress, Tracking-URL. Lines not starting with an application id
    (log lines, headers) are skipped.
    """
    rows = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("\t")]
        if not cells or not cells[0].startswith("application_") or len(cells) < 7:
            continue
        rows.append({
            "id": cells[0], "name": cells[1], "type": cells[2], "user": cells[3],
            "queue": cells[4], "state": cells[5], "final_state": cells[6],
            "progress": cells[7] if len(cells) > 7 else "",
            "tracking_url": cells[8] if len(cells) > 8 else "",
        })
    # Application ids sort by submission (cluster timestamp, then sequence number).
    return sorted(rows, key=lambda row: _app_sort_key(row["id"]))


def _app_sort_key(app_id: str) -> tuple[int, int]:
    parts = app_id.split("_")
    try:
        return int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return 0, 0


def format_status(rows: list[JobStatus]) -> str:
    if not rows:
        return "no streaming job units (spark-job-*) on the spark_client hosts"
    header = ("JOB", "HOST", "UNIT STATE", "PID", "RESTARTS", "YARN APP", "YARN STATE")
    table = [header] + [
        (r.name, r.host, f"{r.active_state}/{r.sub_state}", str(r.main_pid or "-"),
         str(r.restarts), r.application_id, r.yarn_state)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     .rstrip() for row in table)


# ------------------------------------------------------------------- host access

def _inventory_hosts(inventory: Path, pattern: str) -> list[str]:
    done = subprocess.run(
        ["ansible", "-i", str(Path(inventory).resolve()), pattern, "--list-hosts"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, check=False,
    )
    if done.returncode != 0:
        raise StreamstackError(f"cannot list hosts of {pattern}: {done.stderr.strip()}",
                               hint=f"check the inventory {inventory}")
    hosts = [line.strip() for line in done.stdout.splitlines()[1:] if line.strip()]
    return hosts


def spark_client_hosts(inventory: Path) -> list[str]:
    return _inventory_hosts(inventory, "spark_client")


def ansible_host_exec(inventory: Path) -> HostExec:
    """host_exec through ansible-runner: ansible.builtin.command with an argv list."""
    inventory = Path(inventory).resolve()  # ansible-runner runs in its own directory

    def run(host: str, argv: list[str]) -> ExecResult:
        import ansible_runner

        with tempfile.TemporaryDirectory(prefix="streamstack-exec-") as private:
            result = ansible_runner.run(
                private_data_dir=private,
                project_dir=str(PROJECT_ROOT),
                inventory=str(inventory),
                host_pattern=host,
                module="ansible.builtin.command",
                module_args=json.dumps({"argv": argv}),
                envvars={"ANSIBLE_CONFIG": str(PROJECT_ROOT / "ansible.cfg")},
                quiet=True,
            )
            for event in result.events:
                if event.get("event") in ("runner_on_ok", "runner_on_failed",
                                          "runner_on_unreachable"):
                    res = event.get("event_data", {}).get("res", {}) or {}
                    rc = res.get("rc")
                    if rc is None:
                        rc = 255 if event["event"] == "runner_on_unreachable" else 1
                    return ExecResult(int(rc), res.get("stdout", "") or "",
                                      res.get("stderr", "") or res.get("msg", "") or "")
            output = result.stdout.read() if hasattr(result.stdout, "read") else ""
        return ExecResult(255, "", f"ansible-runner gave no result for {host} "
                                   f"(status {result.status}): {output[-500:]}")

    return run


def _login(command: str) -> list[str]:
    """A login shell, so /etc/profile.d (JAVA_HOME, HADOOP_CONF_DIR) applies."""
    return ["bash", "-lc", command]


# The secure profile's keytab for admin commands on the spark_client hosts
# (roles/spark: spark_admin_keytab); root has no Kerberos ticket otherwise.
ADMIN_KEYTAB = "/etc/security/keytabs/root.keytab"


def with_admin_ticket(command: str, keytab: str = ADMIN_KEYTAB) -> str:
    """`command` with a ticket from the admin keytab in a private credential cache,
    removed afterwards, when the host has that keytab; as it is otherwise."""
    kt = shlex.quote(keytab)
    return (f"if [ -r {kt} ]; then export KRB5CCNAME=FILE:\"$(mktemp)\"; "
            "trap 'rm -f \"${KRB5CCNAME#FILE:}\"' EXIT; "
            f"kinit -kt {kt} \"$(klist -k {kt} | awk 'NR > 3 {{print $2; exit}}')\" "
            "|| exit 1; fi; " + command)


# ------------------------------------------------------------------------- actions

def list_units(host_exec: HostExec, host: str) -> list[str]:
    done = host_exec(host, ["systemctl", "list-unit-files", "--plain", "--no-legend",
                            f"{UNIT_PREFIX}*.service"])
    return parse_unit_list(done.stdout)


def yarn_applications(host_exec: HostExec, host: str) -> list[dict]:
    done = host_exec(host, _login(with_admin_ticket(
        "yarn application -list -appStates SUBMITTED,ACCEPTED,RUNNING 2>/dev/null")))
    return parse_yarn_list(done.stdout)


def status(host_exec: HostExec, hosts: list[str], jobs: list[str] | None = None
           ) -> list[JobStatus]:
    """Unit state and YARN application state of every (or the named) job."""
    rows: list[JobStatus] = []
    for host in hosts:
        units = [unit_name(j) for j in jobs] if jobs else list_units(host_exec, host)
        if not units:
            continue
        apps = yarn_applications(host_exec, host)
        for unit in units:
            argv = ["systemctl", "show", unit] + [f"--property={p}" for p in UNIT_PROPERTIES]
            props = parse_systemctl_show(host_exec(host, argv).stdout)
            if props.get("LoadState") == "not-found":
                continue
            name = job_name(unit)
            rows.append(JobStatus(
                name=name, host=host, unit=unit,
                active_state=props.get("ActiveState", "unknown"),
                sub_state=props.get("SubState", ""),
                main_pid=int(props.get("MainPID", "0") or 0),
                since=props.get("ActiveEnterTimestamp", ""),
                restarts=int(props.get("NRestarts", "0") or 0),
                enabled=props.get("UnitFileState", ""),
                yarn=[app for app in apps if app["name"] == name],
            ))
    return rows


def status_json(rows: list[JobStatus]) -> str:
    return json.dumps([dict(asdict(r), yarn_state=r.yarn_state) for r in rows], indent=2)


def logs(host_exec: HostExec, host: str, job: str, lines: int = 100) -> str:
    done = host_exec(host, ["journalctl", "--unit", unit_name(job), "--lines", str(lines),
                            "--no-pager", "--output", "short-iso"])
    if done.rc != 0:
        raise StreamstackError(f"{host}: journalctl failed for {unit_name(job)}: "
                               f"{done.stderr.strip()}")
    return done.stdout


def restart(host_exec: HostExec, host: str, job: str) -> ExecResult:
    # A unit that hit its start limit refuses starts until its failed state is reset.
    host_exec(host, ["systemctl", "reset-failed", unit_name(job)])
    done = host_exec(host, ["systemctl", "restart", unit_name(job)])
    if done.rc != 0:
        raise StreamstackError(
            f"{host}: restart of {unit_name(job)} failed: {done.stderr.strip()}",
            hint=f"streamstack jobs logs {job}",
        )
    return done


def describe(argv: list[str]) -> str:
    return shlex.join(argv)
