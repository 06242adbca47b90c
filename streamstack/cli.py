"""The streamstack command: local lab lifecycle, artifacts, playbook runs."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import (
    PROJECT_ROOT,
    bench,
    collections,
    engine,
    image,
    lab,
    layout,
    restart,
    runner,
)
from .errors import StreamstackError
from .plugins.plugin_utils import converged

console = Console(highlight=False)


def say(message: str) -> None:
    console.print(f"[bold cyan]>[/] {message}")


def _lab(prefix: str) -> lab.Lab:
    return lab.Lab(prefix=prefix)


def _run(playbook: str, inventory: Path, **kwargs) -> runner.Summary:
    inside = inventory.is_relative_to(PROJECT_ROOT)
    shown = inventory.relative_to(PROJECT_ROOT) if inside else inventory
    say(f"running {playbook} on {shown}")
    started = time.monotonic()
    summary, run_dir = runner.run_playbook(playbook, inventory, **kwargs)
    elapsed = time.monotonic() - started
    text = runner.format_summary(summary, run_dir)
    style = "green" if summary.ok else "red"
    console.print(f"[{style}]{playbook}: {'ok' if summary.ok else 'FAILED'} in {elapsed:.0f}s, "
                  f"changed={summary.changed}[/]")
    console.print(text, markup=False)
    if not summary.ok:
        raise SystemExit(2)
    return summary


def _inventory(inventory: str | None, hosts: int, prefix: str) -> Path:
    if inventory:
        path = Path(inventory).resolve()
        if not path.exists():
            raise StreamstackError(f"inventory {inventory} does not exist")
        return path
    # A lab grown with `lab up --hosts 4` keeps its size for the commands after it.
    running = len(_lab(prefix).containers())
    return lab.write_inventory(_lab(prefix), running if hosts == 3 and running else hosts)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streamstack")
def cli() -> None:
    """ZooKeeper, Kafka, HDFS/YARN and Spark streaming lab: one command up."""


@cli.command()
@click.option("--fix", is_flag=True, help="Install and start a Docker engine if none answers.")
def doctor(fix: bool) -> None:
    """Check the controller: Docker engine, collections, artifacts cache."""
    say(engine.ensure_engine(fix=fix, progress=say))
    if collections.install(progress=say):
        say("installed Ansible collections into .cache/collections")
    say("collections: " + ", ".join(collections.COLLECTIONS))


@cli.group(name="image")
def image_group() -> None:
    """The node image (built from Debian packages, no registry)."""


@image_group.command(name="build")
@click.option("--force", is_flag=True, help="Rebuild even if the image exists.")
def image_build(force: bool) -> None:
    """Build the node image if it is missing."""
    engine.ensure_engine(fix=False)
    tag, built = image.build(force=force, progress=say)
    say(f"{tag} {'built' if built else 'already present (nothing to do)'}")


@cli.group(name="lab")
def lab_group() -> None:
    """The local lab's container hosts."""


prefix_option = click.option("--prefix", default="", hidden=True,
                             help="Name prefix for a second lab beside the default one.")
ssh_option = click.option(
    "--ssh", is_flag=True,
    help=f"Reach the hosts like lab VMs: SSH on 127.0.0.1 as the sudo user {lab.SSH_USER}, "
         "key only, host keys checked (the lab's key and known_hosts are under .cache/labs/).")


vm_option = click.option(
    "--vm", is_flag=True,
    help=f"Hosts as VMs come: a bare Debian 12 image (systemd, sshd, sudo, python3, "
         f"ca-certificates), the five hosts {', '.join(layout.VM_HOSTS)} with the roles "
         f"spread otherwise than the handout, reached over SSH as {lab.VM_USER}; the roles "
         "install everything else. Kept with the lab until `down --purge`.")


debian13_option = click.option(
    "--debian13", is_flag=True,
    help=f"A mixed VM-shaped lab (implies --vm): {layout.VM_HOSTS[-1]} from a bare Debian 13 image "
         "(OpenJDK 21, Python 3.13) carrying a broker, a DataNode and a NodeManager. Kept "
         "with the lab until `down --purge`.")


secure_option = click.option(
    "--secure", is_flag=True,
    help="The secure profile (streamstack_security: kerberos): TLS + SASL for Kafka and "
         "ZooKeeper, Kerberos for Hadoop; kept with the lab until `down --purge`.")


ha_option = click.option(
    "--ha", is_flag=True,
    help="High availability (experimental, new labs only, 3 hosts or more): NameNodes and "
         "ResourceManagers on the first two hosts, JournalNodes on the first three, "
         "automatic failover through ZooKeeper; kept with the lab until `down --purge`.")


@lab_group.command(name="up")
@click.option("--hosts", "count", type=click.IntRange(layout.MIN_HOSTS, layout.MAX_HOSTS),
              default=3, show_default=True, help="Number of container hosts.")
@click.option("--publish/--no-publish", default=True, show_default=True,
              help="Publish Kafka and web UI ports on 127.0.0.1.")
@ssh_option
@vm_option
@debian13_option
@secure_option
@ha_option
@prefix_option
def lab_up(count: int, publish: bool, ssh: bool, vm: bool, debian13: bool, secure: bool,
           ha: bool, prefix: str) -> None:
    """Create and start the container hosts (systemd inside)."""
    engine.ensure_engine(fix=False)
    the_lab = _lab(prefix)
    vm = vm or debian13 or the_lab.vm
    tag, _ = image.build(bare=vm, progress=say)
    inventory = lab.up(tag, count=count, lab=the_lab, publish=publish, ssh=ssh,
                       secure=secure, vm=vm, ha=ha, debian13=debian13,
                       images=_release_images(debian13 or the_lab.debian13), progress=say)
    say(f"inventory: {inventory}")


def _release_images(debian13: bool) -> dict[str, str]:
    """The bare images of the Debian releases other than 12 that the lab's hosts need."""
    return {"trixie": image.build(bare=True, suite="trixie", progress=say)[0]} if debian13 else {}


@lab_group.command(name="down")
@click.option("--purge", is_flag=True, help="Also delete the data volumes (topics, HDFS).")
@prefix_option
def lab_down(purge: bool, prefix: str) -> None:
    """Remove the container hosts (data volumes are kept unless --purge)."""
    lab.down(_lab(prefix), purge=purge, progress=say)


@lab_group.command(name="status")
@prefix_option
def lab_status(prefix: str) -> None:
    """Show the container hosts."""
    _print_lab_status(prefix)


def _print_lab_status(prefix: str) -> list[dict]:
    rows = lab.status(_lab(prefix))
    table = Table("host", "container", "systemd", "published on 127.0.0.1")
    for row in rows:
        table.add_row(row["name"], row["state"], row["systemd"], row["ports"])
    console.print(table if rows else "no lab containers")
    return rows


@cli.group(name="artifacts")
def artifacts_group() -> None:
    """Release artifacts cached on the controller."""


@artifacts_group.command(name="fetch")
@click.option("--offline", is_flag=True, help="Never touch the network.")
@click.option("--source", type=click.Choice(["maven", "archive"]), default="maven",
              show_default=True)
@click.option("--rehash", is_flag=True,
              help="Read every cached file again, even those unchanged since they were hashed.")
def artifacts_fetch(offline: bool, source: str, rehash: bool) -> None:
    """Resolve, verify and stage Kafka, ZooKeeper, Hadoop and Spark."""
    from . import artifacts

    artifacts.fetch(artifacts.default_cache_dir(), source=source, offline=offline,
                    progress=say, rehash=rehash)


@cli.command()
@click.option("--hosts", "count", type=click.IntRange(layout.MIN_HOSTS, layout.MAX_HOSTS),
              default=3, show_default=True, help="Number of container hosts.")
@click.option("--inventory", "-i", help="Lab VMs inventory: skip the local containers.")
@click.option("--check", is_flag=True, help="Dry run: --check --diff, nothing changes.")
@click.option("--full", is_flag=True,
              help="Run every role even when no host drifted since the last full run.")
@ssh_option
@vm_option
@debian13_option
@secure_option
@ha_option
@prefix_option
def up(count: int, inventory: str | None, check: bool, full: bool, ssh: bool, vm: bool,
       debian13: bool, secure: bool, ha: bool, prefix: str) -> None:
    """Everything: engine, image, lab, artifacts, site.yml (ZK, Kafka, HDFS, YARN, Spark, jobs)."""
    started = time.monotonic()
    if collections.install(progress=say):
        say("installed Ansible collections")
    if inventory is None:
        say(engine.ensure_engine(fix=True, progress=say))
        the_lab = _lab(prefix)
        vm = vm or debian13 or the_lab.vm
        tag, _ = image.build(bare=vm, progress=say)
        inventory_path = lab.up(tag, count=count, lab=the_lab, ssh=ssh, secure=secure, vm=vm,
                                ha=ha, debian13=debian13,
                                images=_release_images(debian13 or the_lab.debian13),
                                progress=say)
    else:
        if secure:
            raise StreamstackError("--secure is for the container lab",
                                   hint="set streamstack_security: kerberos in the inventory "
                                        "(inventories/lab does)")
        inventory_path = _inventory(inventory, count, prefix)
    _run("site.yml", inventory_path, check=check,
         extravars=converged.FULL_RUN if full else None)
    say(f"up in {time.monotonic() - started:.0f}s")
    # A VM-shaped lab has other host names: `lab status` and its inventory say where.
    if inventory is None and not prefix and not vm:
        _print_endpoints(ssh)


def _print_endpoints(ssh: bool = False) -> None:
    table = Table("what", "where")
    table.add_row("Kafka (from this machine)", "localhost:9092, localhost:9093, localhost:9094")
    table.add_row("HDFS NameNode UI", "http://127.0.0.1:9870")
    table.add_row("YARN ResourceManager UI", "http://127.0.0.1:8088")
    table.add_row("MapReduce JobHistory UI", "http://127.0.0.1:19888")
    table.add_row("Spark driver UIs (jobs)", "http://127.0.0.1:4040, :4041")
    table.add_row("a shell on the master", "docker exec -it hadoop-master bash")
    if ssh:
        the_lab = _lab("")
        table.add_row("the same over SSH", lab.ssh_command(the_lab, "hadoop-master"))
    console.print(table)


@cli.command()
@click.option("--hosts", "count", type=click.IntRange(3, layout.MAX_HOSTS), default=3,
              show_default=True, help="Number of container hosts to keep.")
@click.option("--purge", is_flag=True, help="Also delete the removed hosts' data volumes.")
@prefix_option
def shrink(count: int, purge: bool, prefix: str) -> None:
    """Drain the container hosts above --hosts (brokers' partitions moved, DataNodes and
    NodeManagers decommissioned, by site.yml), then remove them."""
    the_lab = _lab(prefix)
    if the_lab.vm:
        raise StreamstackError("a VM-shaped lab keeps its five hosts",
                               hint="drain a VM with the inventory's decommission group")
    running = len(the_lab.containers())
    if running <= count:
        say(f"the lab has {running} hosts: nothing to remove")
        return
    leaving = layout.host_names(running)[count:]
    say(f"decommissioning {', '.join(leaving)}")
    _run("site.yml", lab.write_inventory(the_lab, count, leaving=len(leaving)))
    lab.remove_hosts(the_lab, leaving, purge=purge, progress=say)
    say(f"inventory: {lab.write_inventory(the_lab, count)}")


@cli.command()
@click.option("--purge", is_flag=True, help="Also delete the data volumes.")
@prefix_option
def down(purge: bool, prefix: str) -> None:
    """Remove the local lab."""
    lab.down(_lab(prefix), purge=purge, progress=say)


@cli.command()
@click.option("--prometheus", "prometheus_url", default=None,
              help="Prometheus URL (default: the local lab's, published or on its network).")
@prefix_option
def status(prefix: str, prometheus_url: str | None) -> None:
    """Container hosts and their state, then live figures from Prometheus."""
    from . import metrics

    started = time.monotonic()
    if not prometheus_url:
        if not _print_lab_status(prefix):
            return
        prometheus_url = metrics.lab_url(prefix)
    if not prometheus_url:
        console.print("Prometheus: no lab master container to ask")
        return
    table = Table("live (Prometheus)", prometheus_url)
    for what, value in metrics.rows(metrics.collect(prometheus_url)):
        table.add_row(what, value)
    console.print(table)
    console.print(f"in {time.monotonic() - started:.1f}s")


@cli.command(name="run")
@click.argument("playbook")
@click.option("--inventory", "-i", help="Inventory (default: the local lab).")
@click.option("--check", is_flag=True, help="--check --diff: report, change nothing.")
@click.option("--limit", "-l", help="Limit to these hosts.")
@click.option("--tags", "-t", help="Only tasks with these tags.")
@click.option("--extra-var", "-e", "extra", multiple=True, help="key=value extra variable.")
@prefix_option
def run_cmd(playbook: str, inventory: str | None, check: bool, limit: str | None,
            tags: str | None, extra: tuple[str, ...], prefix: str) -> None:
    """Run one playbook of the project (site.yml, playbooks/kafka.yml, ...)."""
    path = PROJECT_ROOT / playbook
    if not path.exists():
        candidate = PROJECT_ROOT / "playbooks" / f"{playbook.removesuffix('.yml')}.yml"
        if not candidate.exists():
            raise StreamstackError(f"no playbook {playbook}",
                                   hint="see site.yml and playbooks/ for the names")
        playbook = str(candidate.relative_to(PROJECT_ROOT))
    extravars = dict(item.split("=", 1) for item in extra)
    _run(playbook, _inventory(inventory, 3, prefix), check=check, limit=limit, tags=tags,
         extravars=extravars)


@cli.command()
@click.option("--inventory", "-i", help="Inventory (default: the local lab).")
@prefix_option
def preflight(inventory: str | None, prefix: str) -> None:
    """Validate inventory and hosts; changes nothing."""
    _run("playbooks/preflight.yml", _inventory(inventory, 3, prefix))


@cli.command()
@click.option("--inventory", "-i", help="Inventory (default: the local lab).")
@click.option("-k", "keyword",
              help="Only checks whose name contains one of these words ('a or b', 'a,b').")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per check.")
@prefix_option
def verify(inventory: str | None, keyword: str | None, as_json: bool, prefix: str) -> None:
    """Check every daemon and pipeline: one line per check (host, unit, state, what, detail)."""
    from . import verify as verify_mod

    say("probing every host (streamstack/checks/)")
    report, records = verify_mod.run(_inventory(inventory, 3, prefix), keyword)
    if as_json:
        console.print_json(json.dumps({"seconds": report.seconds, "records": records,
                                       "not_applicable": report.not_applicable}))
        raise SystemExit(verify_mod.exit_code(records))
    colour = {"passed": "green", "failed": "red", "skipped": "yellow"}
    width = max((len(r["host"]) for r in records), default=10)
    unit_width = max((len(r["service"]) for r in records), default=10)
    # One unwrapped line per check: what was checked, in words, where, and the outcome.
    for row in verify_mod.rows(records):
        line = (f"{row['state']:7} {row['host']:{width}}  {row['service']:{unit_width}}  "
                f"{row['what']}" + (f" -- {row['detail']}" if row["detail"] else ""))
        console.print(line, style=colour.get(row["state"], "red"), soft_wrap=True,
                      highlight=False, markup=False)
    for name, why in sorted(report.not_applicable.items()):
        console.print(f"not applicable: {name} ({why})", soft_wrap=True, highlight=False,
                      markup=False)
    failed = verify_mod.failure_lines(records)
    # Unwrapped, so the broken host and daemon survive any terminal width.
    for line in failed:
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    passed = sum(r["state"] == "passed" for r in records)
    console.print(f"{len(records)} checks, {passed} passed, {len(failed)} failed, "
                  f"in {report.seconds:.1f} s")
    if not passed:
        console.print("nothing was verified: no check ran to a pass", style="red")
    raise SystemExit(verify_mod.exit_code(records))


@cli.command(name="bench")
@click.argument("scenario", default="all", type=click.Choice(["all", *bench.SCENARIOS]))
@click.option("--keep", is_flag=True, help="Leave the bench- lab running at the end.")
@click.option("-i", "--inventory", default=None,
              help="Measure this running lab instead (kafka, pipeline and footprint only).")
@click.option("--metrics-compare", is_flag=True,
              help="footprint: also converge without the JMX agents and back, for their cost.")
def bench_cmd(scenario: str, keep: bool, inventory: str | None, metrics_compare: bool) -> None:
    """Benchmarks on a bench- lab; JSON and charts under bench/results (see bench/README.md)."""
    raise SystemExit(bench.main([scenario, *(["--keep"] if keep else []),
                                 *(["--metrics-compare"] if metrics_compare else []),
                                 *(["--inventory", inventory] if inventory else [])]))


@cli.group(name="jobs")
def jobs_group() -> None:
    """The streaming jobs: systemd units on the spark_client hosts, apps on YARN."""


inventory_option = click.option("--inventory", "-i", help="Inventory (default: the local lab).")


@jobs_group.command(name="status")
@inventory_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.argument("names", nargs=-1)
@prefix_option
def jobs_status(inventory: str | None, as_json: bool, names: tuple[str, ...],
                prefix: str) -> None:
    """Unit state, restarts and YARN state of each job."""
    from . import jobs

    path = _inventory(inventory, 3, prefix)
    rows = jobs.status(jobs.ansible_host_exec(path), jobs.spark_client_hosts(path),
                       list(names) or None)
    console.print(jobs.status_json(rows) if as_json else jobs.format_status(rows), markup=False)
    if not rows or any(r.active_state != "active" for r in rows):
        raise SystemExit(1)


@jobs_group.command(name="logs")
@inventory_option
@click.option("--lines", "-n", default=100, show_default=True)
@click.argument("name")
@prefix_option
def jobs_logs(inventory: str | None, lines: int, name: str, prefix: str) -> None:
    """The job unit's journal (driver output, batch progress)."""
    from . import jobs

    path = _inventory(inventory, 3, prefix)
    host_exec = jobs.ansible_host_exec(path)
    for host in jobs.spark_client_hosts(path):
        console.print(f"== {host}", markup=False)
        console.print(jobs.logs(host_exec, host, name, lines), markup=False)


@jobs_group.command(name="restart")
@inventory_option
@click.argument("name")
@prefix_option
def jobs_restart(inventory: str | None, name: str, prefix: str) -> None:
    """Restart a job; it resumes from its checkpoint."""
    from . import jobs

    path = _inventory(inventory, 3, prefix)
    host_exec = jobs.ansible_host_exec(path)
    for host in jobs.spark_client_hosts(path):
        jobs.restart(host_exec, host, name)
        say(f"{host}: restarted {jobs.unit_name(name)}")


@cli.command()
@inventory_option
@prefix_option
def demo(inventory: str | None, prefix: str) -> None:
    """Walk through the handout on the running lab, command by command."""
    from . import demo as demo_mod
    from . import jobs

    path = _inventory(inventory, 3, prefix)
    host = jobs.spark_client_hosts(path)[0]
    say(f"the handout, step by step, on {host}")
    failed = demo_mod.run(jobs.ansible_host_exec(path), host,
                          show=lambda line: console.print(line, markup=False))
    if failed:
        raise SystemExit(1)


@cli.command(name="restart")
@click.option("--rolling", is_flag=True,
              help="One daemon at a time, each waited back in service (required).")
@click.argument("services", nargs=-1, type=click.Choice(restart.SERVICES))
@inventory_option
@prefix_option
def restart_cmd(rolling: bool, services: tuple[str, ...], inventory: str | None,
                prefix: str) -> None:
    """Rolling restart of SERVICES (kafka, hdfs, yarn, jobs; default all), no downtime."""
    if not rolling:
        raise click.UsageError("only rolling restarts are supported: restart --rolling")
    _run(restart.PLAYBOOK, _inventory(inventory, 3, prefix), tags=restart.tags(services))


@cli.command(name="rebalance")
@click.option("--topics", help="Comma-separated topics (default: every topic).")
@click.option("--throttle", type=int, help="Replication throttle in bytes/s while replicas "
              "move (default: kafka_rebalance_throttle_bytes, 10 MiB/s).")
@click.option("--check", is_flag=True, help="Show the reassignment plan, move nothing.")
@inventory_option
@prefix_option
def rebalance_cmd(topics: str | None, throttle: int | None, check: bool, inventory: str | None,
                  prefix: str) -> None:
    """Spread Kafka partitions over every broker of the inventory (playbooks/rebalance.yml)."""
    extravars: dict = {}
    if topics:
        extravars["kafka_rebalance_topics"] = [t for t in topics.split(",") if t]
    if throttle:
        extravars["kafka_rebalance_throttle_bytes"] = throttle
    _run("playbooks/rebalance.yml", _inventory(inventory, 3, prefix), check=check,
         extravars=extravars)


@cli.command(name="uninstall")
@click.option("--purge", is_flag=True, help="Also delete the data directories and the lab's "
              "controller-side secrets (-e streamstack_purge_data=true).")
@click.option("--check", is_flag=True, help="--check --diff: show what would go, remove nothing.")
@inventory_option
@prefix_option
def uninstall_cmd(purge: bool, check: bool, inventory: str | None, prefix: str) -> None:
    """Stop and remove what site.yml made on the hosts (playbooks/uninstall.yml): units,
    trees, configuration, users and groups; the data stays unless --purge."""
    _run("playbooks/uninstall.yml", _inventory(inventory, 3, prefix), check=check,
         extravars={"streamstack_purge_data": True} if purge else None)


def main() -> None:
    # ansible, ansible-playbook and pytest come from the same environment as this
    # Python, whether or not that venv is activated.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except StreamstackError as exc:
        console.print(f"[bold red]error:[/] {exc}", markup=True)
        if exc.hint:
            console.print(f"[yellow]hint:[/] {exc.hint}")
        sys.exit(1)
    except SystemExit:
        raise


if __name__ == "__main__":
    main()
