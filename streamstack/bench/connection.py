"""The connection scenario: the same site.yml over `docker exec` as root, then over SSH
as the sudo user."""

from __future__ import annotations

from ..plugins.plugin_utils import converged
from .common import figure, ratio
from .harness import Context, fresh_lab, log, run_playbook, settle


def scenario_connection(ctx: Context) -> tuple[list[dict], dict]:
    """The same cold and warm site.yml on fresh hosts reached with `docker exec` as root,
    then over SSH as the sudo user (the lab VM path), one after the other."""
    from .. import artifacts

    # The controller's cache first, unmeasured: a stale cache would bill the first run
    # alone for the downloads and packing.
    artifacts.fetch(artifacts.default_cache_dir(), progress=log)
    details: dict = {}
    for connection in ("docker", "ssh"):
        lab_seconds = fresh_lab(ctx, ssh=connection == "ssh")
        cold = run_playbook(ctx, "site.yml", f"cold site.yml over {connection}")
        settled = settle(ctx)
        warm = run_playbook(ctx, "site.yml", f"warm site.yml over {connection}",
                            extravars=converged.FULL_RUN)
        details[connection] = {"lab_up_seconds": round(lab_seconds, 1), "cold": cold,
                               "settle_before_warm": settled, "warm": warm}
    # The next scenarios build (ensure_lab) and measure a lab as make up makes it.
    from .. import lab
    lab.down(ctx.lab, purge=True, progress=log)
    ctx.inventory = None
    docker, ssh = details["docker"], details["ssh"]
    figures = [
        figure("cold site.yml over docker exec (root)", docker["cold"]["seconds"], "s"),
        figure("cold site.yml over SSH (sudo user)", ssh["cold"]["seconds"], "s",
               note=f"changed={ssh['cold']['changed']}"),
        figure("cold site.yml, SSH / docker exec",
               ratio(ssh["cold"]["seconds"], docker["cold"]["seconds"]), "x"),
        figure("warm site.yml over docker exec (root)", docker["warm"]["seconds"], "s"),
        figure("warm site.yml over SSH (sudo user)", ssh["warm"]["seconds"], "s",
               note=f"changed={ssh['warm']['changed']}"),
        figure("warm site.yml, SSH / docker exec",
               ratio(ssh["warm"]["seconds"], docker["warm"]["seconds"]), "x"),
    ]
    return figures, details
