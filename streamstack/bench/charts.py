"""Each scenario's chart, bench/results/<scenario>.png."""

from __future__ import annotations

from pathlib import Path

from .common import GIB, GOALS

# ----------------------------------------------------------------------- charts

# Scenarios that converge the same lab two ways: their details' keys and labels.
TWO_LAB_CHARTS = {
    "connection": {"docker": "docker exec (root)", "ssh": "SSH (sudo user)"},
    "security": {"none": "no security", "kerberos": "secure profile"},
}


def chart(scenario: str, doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    details = doc["details"]
    load = doc["machine"]["load_average_start"][0]
    if scenario == "provisioning":
        fig, ax = plt.subplots(figsize=(9, 4.5))
        runs = [(f"{kind.replace('_', ' ')}, {hosts} host(s)", size[kind])
                for hosts, size in sorted(details["sizes"].items(), key=lambda i: int(i[0]))
                for kind in ("cold", "warm_full", "warm") if kind in size]
        plays = list(runs[0][1]["play_seconds"])
        bottom = [0.0] * len(runs)
        cmap = plt.get_cmap("tab20")
        for i, play in enumerate(plays):
            values = [r["play_seconds"].get(play, 0.0) for _, r in runs]
            ax.barh([name for name, _ in runs], values, left=bottom, color=cmap(i % 20),
                    label=play[:40])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for key, colour in (("cold_site_seconds", "red"), ("warm_site_seconds", "orange")):
            ax.axvline(GOALS[key][1], color=colour, linestyle="--", label=GOALS[key][2])
        ax.set_xlabel("seconds (per play, stacked)")
        ax.invert_yaxis()
        ax.legend(fontsize=6, loc="lower right")
    elif scenario == "kafka":
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
        runs = details["runs"]
        mean = {rf: sum(r.get("mib_per_second") or 0 for r in runs
                        if r["replication_factor"] == rf) / 2 for rf in (1, 3)}
        bars = {"RF 1 acks=1\nshipped": mean[1], "RF 3 acks=all\nshipped": mean[3],
                "RF 3 acks=all\nupstream": details["rf3_acksall_upstream"].get(
                    "mib_per_second") or 0,
                "producer.py\nlab": details["kafka_python"]["shipped"]["mib_per_second"],
                "producer.py\nhandout": details["kafka_python"]["handout"]["mib_per_second"]}
        drawn = left.bar(list(bars), list(bars.values()),
                         color=["tab:grey", "tab:green", "tab:red", "tab:green", "tab:red"])
        left.bar_label(drawn, fmt="%.1f", fontsize=7)
        left.axhline(0.6 * mean[1], color="red", linestyle="--", label="goal: 0.6 x RF 1")
        left.set_ylabel("MiB/s (1 KiB records, 3 partitions)")
        left.tick_params(axis="x", labelsize=7)
        left.legend(fontsize=7)
        half = details["rf3_acksall_half_rate"]
        lat = {"shipped": half, "upstream": details["rf3_acksall_upstream_half_rate"]}
        for i, (name, run) in enumerate(lat.items()):
            values = [run.get(f"latency_{k}_ms") or 0 for k in ("p50", "p95", "p99")]
            drawn = right.bar([x + i * 0.38 for x in range(3)], values, 0.38, label=name)
            right.bar_label(drawn, fmt="%.0f", fontsize=7)
        right.set_xticks([x + 0.19 for x in range(3)], ["p50", "p95", "p99"])
        right.axhline(500, color="red", linestyle="--", label="goal p99 500 ms")
        right.set_yscale("log")
        right.set_ylabel(f"ms at {half.get('throughput_limit')} records/s, RF 3 acks=all")
        right.legend(fontsize=7)
    elif scenario == "pipeline":
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
        lat = details.get("wordcount_latency_ms", {})
        values = sorted(lat.get("latencies_ms") or [])
        if values:
            left.plot(values, [(i + 1) / len(values) for i in range(len(values))])
        for key, style in (("p50", ":"), ("p95", "--"), ("p99", "-.")):
            if lat.get(key):
                left.axvline(lat[key], linestyle=style, color="grey",
                             label=f"{key} {lat[key]:.0f} ms")
        left.set_xlabel("produce-to-count latency (ms)")
        left.set_ylabel("fraction of words")
        left.axvline(1000, color="red", label="goal p95 1000 ms")
        left.legend(fontsize=7)
        sink, batch = details.get("sink", {}), details.get("sink_batch", {})
        rates = {"streaming\nend to end": sink.get("records_per_second_end_to_end"),
                 "streaming\nsustained": sink.get("records_per_second_after_first_batch"),
                 "batch": batch.get("records_per_second_end_to_end"),
                 "consumer\nperf test":
                     details.get("kafka_consumer_perf", {}).get("records_per_second")}
        bars = right.bar(list(rates), [v or 0 for v in rates.values()],
                         color=["tab:green", "tab:cyan", "tab:olive", "tab:blue"])
        right.bar_label(bars, fmt="%.0f", fontsize=8)
        right.axhline(0.8 * (rates["batch"] or 0), color="red", linestyle="--",
                      label="goal: streaming end to end 0.8 x batch")
        right.axhline(100000, color="orange", linestyle=":", label="goal: 100 000 records/s")
        right.set_ylabel("records/s")
        right.legend(fontsize=7)
    elif scenario in TWO_LAB_CHARTS:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        variants = TWO_LAB_CHARTS[scenario]
        width = 0.38
        for offset, run in ((-width / 2, "cold"), (width / 2, "warm")):
            values = [details[key][run]["seconds"] for key in variants]
            bars = ax.bar([i + offset for i in range(len(variants))], values, width,
                          label=f"{run} site.yml")
            ax.bar_label(bars, fmt="%.0f s", fontsize=8)
        ax.set_xticks(range(len(variants)), list(variants.values()))
        ax.set_ylabel("seconds")
        ax.legend(fontsize=8)
    else:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        hosts = details["hosts"]
        names = list(hosts)
        units = sorted({u["unit"] for h in hosts.values() for u in h["units"]})
        bottom = [0.0] * len(names)
        cmap = plt.get_cmap("tab20")
        for i, unit in enumerate(units):
            values = [sum(u["rss_bytes"] for u in hosts[h]["units"] if u["unit"] == unit) / GIB
                      for h in names]
            ax.bar(names, values, bottom=bottom, label=unit, color=cmap(i % 20))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        others = [(hosts[h]["total_rss_bytes"] / GIB) - b for h, b in zip(names, bottom,
                                                                          strict=True)]
        ax.bar(names, others, bottom=bottom, label="other processes", color="lightgrey")
        total = details["totals"]["lab_total_rss_gib"]
        ax.set_title(f"lab total {total} GiB (goal <= 8 GiB for the whole lab)", fontsize=9)
        ax.set_ylabel("RSS (GiB) at rest")
        ax.legend(fontsize=6, loc="upper right")
    fig.suptitle(f"{scenario} — {doc['date'][:16]} UTC, {doc['machine']['cores']} cores, "
                 f"load {load} at start", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
