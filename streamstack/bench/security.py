"""The security scenario: what the secure profile costs, to converge and to produce."""

from __future__ import annotations

from ..plugins.plugin_utils import converged
from .common import figure, ratio
from .harness import Context, fresh_lab, load_bench_module, log, run_playbook, settle
from .kafka import KafkaRun, kafka_producer_run

SECURE_ADMIN_CONFIG = "/etc/kafka/client.properties"
SECURITY_PROFILES = ("none", "kerberos")


def scenario_security(ctx: Context) -> tuple[list[dict], dict]:
    """What the secure profile costs: the same fresh 3-host lab converged (cold, then
    warm) and its producer measured (RF 3 acks=all, the shipped client settings, which
    on the secure lab are SASL_SSL) without the profile, then with it. One lab after
    the other: two at once would not fit beside the machine's other labs."""
    from .. import artifacts, jobs, lab

    pipeline = load_bench_module("pipeline")
    artifacts.fetch(artifacts.default_cache_dir(), progress=log)
    details: dict = {}
    for profile in SECURITY_PROFILES:
        secure = profile != "none"
        lab_seconds = fresh_lab(ctx, secure=secure)
        cold = run_playbook(ctx, "site.yml", f"cold site.yml, security {profile}")
        settled = settle(ctx)
        warm = run_playbook(ctx, "site.yml", f"warm site.yml, security {profile}",
                            extravars=converged.FULL_RUN)
        remote = pipeline.Remote(ctx.inventory)
        bootstrap = pipeline.bootstrap_of(remote)
        containers = [f"{ctx.prefix}{h}" for h in jobs._inventory_hosts(ctx.inventory, "all")]
        runs = [kafka_producer_run(ctx, remote, bootstrap,
                                   KafkaRun(f"rf3-acksall-{profile}", 3, "all", True),
                                   containers,
                                   admin_config=SECURE_ADMIN_CONFIG if secure else "")
                for _ in range(2)]
        details[profile] = {"lab_up_seconds": round(lab_seconds, 1), "cold": cold,
                            "settle_before_warm": settled, "warm": warm,
                            "bootstrap": bootstrap, "kafka_runs": runs}
    lab.down(ctx.lab, purge=True, progress=log)
    ctx.inventory = None
    return security_figures(details), details


def security_figures(details: dict) -> list[dict]:
    """Each profile's converge times and producer rate, and secure / plain ratios."""
    def mean_rate(profile: str) -> float | None:
        rates = [r.get("mib_per_second") for r in details[profile]["kafka_runs"]]
        return None if not rates or None in rates else round(sum(rates) / len(rates), 2)

    plain, secure = (details[p] for p in SECURITY_PROFILES)
    figures = []
    for kind in ("cold", "warm"):
        figures += [
            figure(f"{kind} site.yml, no security", plain[kind]["seconds"], "s",
                   note=f"changed={plain[kind]['changed']}"),
            figure(f"{kind} site.yml, secure profile", secure[kind]["seconds"], "s",
                   note=f"changed={secure[kind]['changed']}"),
            figure(f"{kind} site.yml, secure / no security",
                   ratio(secure[kind]["seconds"], plain[kind]["seconds"]), "x"),
        ]
    p99 = {p: ", ".join(f"{r.get('latency_p99_ms')} ms" for r in details[p]["kafka_runs"])
           for p in SECURITY_PROFILES}
    figures += [
        figure("RF 3 acks=all, no security (PLAINTEXT)", mean_rate("none"), "MiB/s",
               note=f"mean of 2 runs; p99 {p99['none']}"),
        figure("RF 3 acks=all, secure profile (SASL_SSL, SCRAM-SHA-512)",
               mean_rate("kerberos"), "MiB/s", note=f"mean of 2 runs; p99 {p99['kerberos']}"),
        figure("RF 3 acks=all, secure / no security",
               ratio(mean_rate("kerberos"), mean_rate("none")), "x",
               note="one lab after the other, not alternated"),
    ]
    return figures
