"""Pure parts of streamstack.bench: perf-test parsers, percentile, ratios, JSON shape."""

from __future__ import annotations

import json

import pytest

from streamstack import bench
from streamstack.bench import harness
from streamstack.runner import EventCollector

PRODUCER_OUT = """\
51838 records sent, 10367.6 records/sec (10.12 MB/sec), 1830.2 ms avg latency, \
2861.0 ms max latency.
100000 records sent, 12345.679012 records/sec (12.06 MB/sec), 1653.32 ms avg latency, \
2861.00 ms max latency, 1590 ms 50th, 2607 ms 95th, 2790 ms 99th, 2850 ms 99.9th.
"""

CONSUMER_OUT = """\
WARNING: something on stderr merged
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-25 20:53:10:123, 2026-11-25 20:53:11:178, 97.6562, 92.5651, 100000, 94786.7299, \
655, 400, 244.1406, 250000.0000
"""


def test_parse_producer_perf_takes_the_final_summary():
    out = bench.parse_producer_perf(PRODUCER_OUT)
    assert out == {"records": 100000, "records_per_second": 12345.679012,
                   "mib_per_second": 12.06, "latency_avg_ms": 1653.32,
                   "latency_max_ms": 2861.0, "latency_p50_ms": 1590,
                   "latency_p95_ms": 2607, "latency_p99_ms": 2790}


def test_parse_producer_perf_without_summary_keeps_the_tail():
    assert "raw" in bench.parse_producer_perf("Exception in thread main")


def test_parse_consumer_perf_csv():
    out = bench.parse_consumer_perf(CONSUMER_OUT)
    assert out == {"records": 100000, "records_per_second": 94786.7299,
                   "mb_per_second": 92.5651, "fetch_records_per_second": 250000.0,
                   "fetch_mb_per_second": 244.1406}
    assert "raw" in bench.parse_consumer_perf("no csv here")


def test_parse_dd():
    out = bench.parse_dd("256+0 records in\n256+0 records out\n"
                         "268435456 bytes (268 MB, 256 MiB) copied, 2.0 s, 134 MB/s\n")
    assert out == {"bytes": 268435456, "seconds": 2.0, "mib_per_second": 128.0}
    assert "raw" in bench.parse_dd("dd: failed to open")


@pytest.mark.parametrize("text, expected", [
    ("1.5GiB / 23.4GiB", 1.5 * 1024 ** 3), ("512MiB / 1GiB", 512 * 1024 ** 2),
    ("800kB / 1GB", 800e3), ("garbage", 0.0)])
def test_parse_docker_mem(text, expected):
    assert bench.parse_docker_mem(text) == pytest.approx(expected)


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert bench.percentile(values, 50) == 50
    assert bench.percentile(values, 95) == 95
    assert bench.percentile(values, 99) == 99
    assert bench.percentile([7.0], 99) == 7.0
    assert bench.percentile([], 50) is None
    assert bench.percentile([3, 1, 2], 100) == 3


def test_ratio():
    assert bench.ratio(30, 60) == 0.5
    assert bench.ratio(None, 60) is None
    assert bench.ratio(30, 0) is None


def test_figure_goals():
    assert bench.figure("warm", 14.9, "s", "warm_site_seconds")["met"] is True
    assert bench.figure("warm", 15.1, "s", "warm_site_seconds")["met"] is False
    assert bench.figure("verify", 21, "s", "verify_seconds")["met"] is False
    assert bench.figure("5/3", 1.29, "x", "warm_5_to_3_ratio")["met"] is True
    assert bench.figure("changed", 0, "", "warm_changed")["met"] is True
    assert bench.figure("sink", 0.79, "x", "sink_streaming_to_batch_ratio")["met"] is False
    assert bench.figure("sink", 0.8, "x", "sink_streaming_to_batch_ratio")["met"] is True
    assert bench.figure("sink", None, "x", "sink_streaming_to_batch_ratio")["met"] is None
    assert bench.figure("p99", 501, "ms", "kafka_p99_half_rate_ms")["met"] is False
    plain = bench.figure("disk", 120.0, "MiB/s")
    assert plain["goal"] is None and plain["met"] is None
    assert bench.goal_text(plain) == "reported"
    assert bench.goal_text(bench.figure("p95", 1, "ms", "wordcount_p95_ms")) == "<= 1000 ms"


def test_run_summary_from_runner_events():
    collector = EventCollector()
    events = [
        ({"event": "playbook_on_play_start", "event_data": {"play": "Kafka"}}, 0.0),
        ({"event": "playbook_on_task_start", "event_data": {"task": "Kafka | Template"}}, 1.0),
        ({"event": "runner_on_ok", "event_data": {"host": "h", "res": {"changed": True}}}, 4.0),
        ({"event": "playbook_on_stats", "event_data": {"ok": {"h": 1}, "changed": {"h": 1}}},
         5.0),
    ]
    for event, now in events:
        collector.handle(event, now=now)
    data = bench.run_summary(collector.summary, wall=5.04)
    assert data["seconds"] == 5.0 and data["changed"] == 1 and data["ok"]
    assert data["play_seconds"] == {"Kafka": 5.0}
    assert data["slowest_tasks"] == [{"task": "Kafka / Kafka | Template", "seconds": 4.0}]


def test_footprint_totals():
    hosts = {"a": {"units": [{"unit": "zookeeper.service", "rss_bytes": 100},
                             {"unit": "kafka@0.service", "rss_bytes": 300}],
                   "total_rss_bytes": 500},
             "b": {"units": [], "total_rss_bytes": bench.GIB}}
    totals = bench.footprint_totals(hosts)
    assert totals["per_host"]["a"] == {"daemons_rss_bytes": 400, "all_processes_rss_bytes": 500}
    assert totals["lab_total_rss_bytes"] == bench.GIB + 500
    assert totals["lab_daemons_rss_bytes"] == 400
    assert totals["lab_total_rss_gib"] == 1.0


def test_result_document_shape_is_json():
    doc = bench.result_document(
        "kafka", [bench.figure("x", 1.0, "x", "kafka_rf3_to_rf1_ratio")], {"runs": {}},
        {"cores": 2, "load_average_start": [1.0, 2.0, 3.0]}, {"kafka": "3.6.1"}, 12.34)
    again = json.loads(json.dumps(doc))
    assert set(again) == {"scenario", "date", "seconds", "machine", "versions", "lab",
                          "figures", "details"}
    assert again["seconds"] == 12.3 and again["lab"] == {"prefix": "bench-", "hosts": 3}
    assert again["figures"][0]["goal"]["op"] == ">="


def test_readme_block_is_replaced_in_place():
    doc = bench.result_document("footprint", [bench.figure("total", 5.1, "GiB",
                                                           "lab_total_rss_gib")],
                                {}, {"load_average_start": [4.2, 0, 0]}, {}, 1)
    table = bench.figures_markdown([doc])
    assert "| footprint | total | 5.1 GiB | <= 8.0 GiB | yes |" in table
    start, end = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"
    text = f"intro\n{start}\nold\n{end}\nafter\n"
    out = bench.replace_block(text, table)
    assert "old" not in out and out.startswith("intro\n") and out.endswith("after\n")
    assert bench.replace_block(out, table) == out
    assert start in bench.replace_block("no markers\n", table)
    # Another marker leaves this block alone.
    other = bench.replace_block(out + "<!-- bench:connection:start -->\nx\n"
                                "<!-- bench:connection:end -->\n", "new", "connection")
    assert table in other and "\nnew\n" in other and "\nx\n" not in other


def test_cli_bench_choices_match_the_scenarios():
    from streamstack.cli import bench_cmd

    choices = bench_cmd.params[0].type.choices
    assert list(choices) == ["all", *bench.SCENARIOS]


def test_latest_documents_skip_other_formats(tmp_path):
    (tmp_path / "pipeline-20260101-000000.json").write_text(json.dumps({"sink": {}}))
    doc = bench.result_document("pipeline", [], {}, {"load_average_start": [1, 1, 1]}, {}, 1)
    (tmp_path / "pipeline-20250101-000000.json").write_text(json.dumps(doc))
    assert [d["scenario"] for d in bench.latest_documents(tmp_path)] == ["pipeline"]


def test_sink_rates_sustained_excludes_the_first_batch():
    pipeline = bench.load_bench_module("pipeline")
    lines = [
        "not json",
        json.dumps({"event": "batch", "records": 1000, "started": "2026-11-26T00:00:00Z",
                    "duration_ms": 9000}),
        json.dumps({"event": "batch", "records": 2000, "started": "2026-11-26T00:00:10Z",
                    "duration_ms": 1000}),
        json.dumps({"event": "batch", "records": 2000, "started": "2026-11-26T00:00:11Z",
                    "duration_ms": 1000}),
    ]
    rates = pipeline.sink_rates("\n".join(lines))
    assert rates["batches"] == 3 and rates["records"] == 5000
    # 4000 records from 00:00:10 to 00:00:12
    assert rates["records_per_second_after_first_batch"] == 2000.0
    assert rates["records_per_second_end_to_end"] == round(5000 / 12, 1)
    assert rates["batch_seconds"] == [9.0, 1.0, 1.0]
    one = pipeline.sink_rates(lines[1])
    assert one["batches"] == 1 and one["records_per_second_after_first_batch"] is None


def test_sink_rates_sustained_counts_full_batches_only_with_a_cap():
    pipeline = bench.load_bench_module("pipeline")
    lines = [json.dumps({"event": "batch", "records": records, "started": started,
                         "duration_ms": ms})
             for records, started, ms in ((1000, "2026-11-26T00:00:00Z", 9000),
                                          (998, "2026-11-26T00:00:10Z", 1000),
                                          (999, "2026-11-26T00:00:11Z", 1000),
                                          (3, "2026-11-26T00:00:12Z", 1000))]
    capped = pipeline.sink_rates("\n".join(lines), cap=1000)
    # The remainder batch (3 records) is not a sustained sample: 1997 records in 2 s.
    assert capped["sustained_batches"] == 2
    assert capped["records_per_second_after_first_batch"] == 998.5
    assert capped["records_per_second_end_to_end"] == round(3000 / 13, 1)
    uncapped = pipeline.sink_rates("\n".join(lines))
    assert uncapped["sustained_batches"] == 3
    assert uncapped["records_per_second_after_first_batch"] == round(2000 / 3, 1)


def test_mean_ratio_of_alternated_runs():
    assert bench.mean_ratio([4.0, 2.0], [3.0, 3.0]) == 1.0
    assert bench.mean_ratio([4.0], []) is None
    assert bench.mean_ratio([4.0, None], [3.0, 3.0]) is None


def test_cpu_delta_shares_of_the_machine():
    before = {"machine_busy": 10.0, "machine_total": 40.0, "containers": {"m": 1.0, "w": 2.0}}
    after = {"machine_busy": 25.0, "machine_total": 60.0, "containers": {"m": 5.0, "w": 5.0}}
    out = bench.cpu_delta(before, after, cores=2)
    # 20 CPU-seconds over 2 cores = 10 s of wall time; 15 of them busy; the lab used 7.
    assert out["wall_seconds"] == 10.0 and out["machine_busy_fraction"] == 0.75
    assert out["machine_steal_fraction"] == 0.0  # counters without steal: none
    assert out["containers_cpu_seconds"] == {"m": 4.0, "w": 3.0}
    assert out["lab_cpu_seconds"] == 7.0 and out["lab_share_of_busy"] == round(7 / 15, 2)


def test_cpu_delta_steal_share():
    before = {"machine_busy": 10.0, "machine_total": 40.0, "machine_steal": 1.0,
              "containers": {}}
    after = {"machine_busy": 25.0, "machine_total": 60.0, "machine_steal": 5.0,
             "containers": {}}
    # 4 of the 20 CPU-seconds went to other VMs.
    assert bench.cpu_delta(before, after, cores=2)["machine_steal_fraction"] == 0.2


def _fake_settle_world(monkeypatch, states: list[str], busy: list[float]) -> list[str]:
    """jobs.status answers `states` in turn (then the last one); machine_window `busy`."""
    from types import SimpleNamespace

    from streamstack import jobs

    asked: list[str] = []
    monkeypatch.setattr(jobs, "ansible_host_exec", lambda inventory: None)
    monkeypatch.setattr(jobs, "spark_client_hosts", lambda inventory: ["h"])

    def status(host_exec, hosts):
        state = states.pop(0) if len(states) > 1 else states[0]
        asked.append(state)
        return [SimpleNamespace(yarn_state=state)]

    monkeypatch.setattr(jobs, "status", status)
    def window(seconds, cores):
        fraction = busy.pop(0) if len(busy) > 1 else busy[0]
        return {"machine_busy_fraction": fraction, "machine_steal_fraction": 0.1}

    monkeypatch.setattr(harness, "machine_window", window)
    monkeypatch.setattr(harness.time, "sleep", lambda seconds: None)
    return asked


def test_settle_waits_for_the_jobs_then_a_calm_machine(monkeypatch):
    asked = _fake_settle_world(monkeypatch, ["ACCEPTED", "RUNNING"], [0.9, 0.7, 0.2])
    out = bench.settle(bench.Context(inventory=None), timeout=60)
    assert asked == ["ACCEPTED", "RUNNING"]  # not asked again once running
    assert out["jobs_running"] is True and out["machine_busy_fraction"] == 0.2
    assert out["machine_steal_fraction"] == 0.1


def test_settle_gives_up_on_a_busy_machine(monkeypatch):
    _fake_settle_world(monkeypatch, ["RUNNING"], [0.9])
    clock = iter(range(0, 10_000, 30))
    monkeypatch.setattr(harness.time, "monotonic", lambda: next(clock))
    out = bench.settle(bench.Context(inventory=None), timeout=100)
    assert out["jobs_running"] is True and out["machine_busy_fraction"] == 0.9


def test_tool_cpu_seconds_from_bash_time():
    assert bench.tool_cpu_seconds("100 records sent\nTOOL_CPU 3.20 0.40\n") == 3.6
    assert bench.tool_cpu_seconds("no timing") is None


def test_pipeline_bench_runs_the_service_settings():
    pipeline = bench.load_bench_module("pipeline")
    args = pipeline.build_parser().parse_args([])
    assert args.sink_trigger == pipeline.SERVICE["trigger"]
    assert args.sink_max_offsets == pipeline.SERVICE["max_offsets"]
    assert args.sink_conf == pipeline.SERVICE["conf"]


def test_kafka_runs_table_shows_every_run_with_its_cpu():
    run = {"label": "rf3-acksall", "client_settings": "shipped", "throughput_limit": -1,
           "mib_per_second": 20.5, "latency_p50_ms": 40, "latency_p99_ms": 300,
           "client_cpu_seconds": 6.1,
           "cpu": {"machine_busy_fraction": 0.97, "lab_cpu_seconds": 9.5, "wall_seconds": 6.0,
                   "containers_cpu_seconds": {"hadoop-master": 5.0, "hadoop-worker1": 4.5}}}
    doc = {"date": "2026-12-02T08:00:00+00:00", "machine": {"load_average_start": [3.5]},
           "details": {"runs": [run], "rf3_acksall_half_rate": dict(run, throughput_limit=9000),
                       "rf3_acksall_upstream": None}}
    table = bench.kafka_runs_markdown(doc)
    assert "load average 3.5" in table
    assert "| rf3-acksall | shipped | none | 20.5 | 40 | 300 | 0.97 | 9.5 in 6.0 s " \
           "| master 5.0, worker1 4.5 | 6.1 |" in table
    assert "| 9000 |" in table and table.count("| rf3-acksall |") == 2


def test_provisioning_sizes_must_include_the_measured_lab():
    assert bench.build_parser().parse_args(["provisioning", "--hosts", "1,5,3"]).hosts == (
        1, 5, 3)
    with pytest.raises(SystemExit):
        bench.build_parser().parse_args(["provisioning", "--hosts", "1,5"])


def test_make_bench_leaves_the_two_lab_scenarios_to_an_explicit_run():
    assert set(bench.DEFAULT_SCENARIOS) == set(bench.SCENARIOS) - {"connection", "security"}


def _converge(seconds: float, changed: int) -> dict:
    return {"seconds": seconds, "changed": changed}


def test_security_figures_compare_the_profiles():
    details = {
        "none": {"cold": _converge(100, 200), "warm": _converge(30, 0),
                 "kafka_runs": [{"mib_per_second": 20.0, "latency_p99_ms": 900},
                                {"mib_per_second": 22.0, "latency_p99_ms": 800}]},
        "kerberos": {"cold": _converge(150, 260), "warm": _converge(36, 0),
                     "kafka_runs": [{"mib_per_second": 10.0, "latency_p99_ms": 1500},
                                    {"mib_per_second": 11.0, "latency_p99_ms": 1400}]},
    }
    figures = {f["name"]: f for f in bench.security_figures(details)}
    assert figures["cold site.yml, secure / no security"]["value"] == 1.5
    assert figures["warm site.yml, secure / no security"]["value"] == 1.2
    assert figures["RF 3 acks=all, no security (PLAINTEXT)"]["value"] == 21.0
    assert figures["RF 3 acks=all, secure / no security"]["value"] == 0.5
    assert "1500 ms, 1400 ms" in figures[
        "RF 3 acks=all, secure profile (SASL_SSL, SCRAM-SHA-512)"]["note"]


def test_security_figures_without_a_rate_say_not_measured():
    runs = [{"mib_per_second": None}, {"mib_per_second": 5.0}]
    details = {p: {"cold": _converge(1, 1), "warm": _converge(1, 0), "kafka_runs": runs}
               for p in bench.SECURITY_PROFILES}
    figures = {f["name"]: f for f in bench.security_figures(details)}
    assert figures["RF 3 acks=all, secure / no security"]["value"] is None


def test_monitoring_split_separates_prometheus_from_the_jvms():
    before = {"m": {"units": [
        {"unit": "kafka@0.service", "rss_bytes": 1, "cpu_nsec": 1_000_000_000},
        {"unit": "prometheus.service", "rss_bytes": 1, "cpu_nsec": 0},
        {"unit": "zookeeper.service", "rss_bytes": 1, "cpu_nsec": 9_000_000_000}]}}
    after = {"m": {"units": [
        {"unit": "kafka@0.service", "rss_bytes": 400, "cpu_nsec": 7_000_000_000},
        {"unit": "prometheus.service", "rss_bytes": 100, "cpu_nsec": 3_000_000_000},
        # restarted in the window: its counter went down, so no CPU is counted
        {"unit": "zookeeper.service", "rss_bytes": 50, "cpu_nsec": 1_000_000_000}]}}
    split = bench.monitoring_split(before, after, 60.0)
    assert split["jvm_rss_bytes"] == 450
    assert split["monitoring_rss_bytes"] == 100
    assert split["jvm_cpu_cores"] == 0.1
    assert split["monitoring_cpu_cores"] == 0.05


def test_parse_log_dirs_sums_the_topics_partitions_on_every_broker():
    out = ("Querying brokers for log directories information\n"
           "Received log directory information from brokers 1,2\n"
           '{"version":1,"brokers":[{"broker":1,"logDirs":[{"logDir":"/d1","error":null,'
           '"partitions":[{"partition":"bench-x-0","size":100,"offsetLag":0,"isFuture":false},'
           '{"partition":"bench-x-1","size":50,"offsetLag":0,"isFuture":false},'
           '{"partition":"bench-x-10-0","size":7,"offsetLag":0,"isFuture":false}]}]},'
           '{"broker":2,"logDirs":[{"logDir":"/d2","error":null,"partitions":'
           '[{"partition":"bench-x-0","size":100,"offsetLag":0,"isFuture":false}]}]}]}\n')
    assert bench.parse_log_dirs(out, "bench-x") == 250
    assert bench.parse_log_dirs("Querying brokers\n", "bench-x") is None


def test_a_warm_run_counts_as_short_cut_by_the_tasks_of_its_busiest_host():
    short = {"stats": {"m": {"ok": 7, "changed": 0}, "w": {"ok": 4, "skipped": 1}}}
    full = {"stats": {"m": {"ok": 151, "skipped": 36}, "w": {"ok": 81, "skipped": 24}}}
    assert bench.tasks_on_busiest_host(short) == 7
    assert bench.tasks_on_busiest_host(full) == 187
    assert bench.tasks_on_busiest_host(short) <= bench.SHORT_CUT_MAX_TASKS
    assert bench.tasks_on_busiest_host(full) > bench.SHORT_CUT_MAX_TASKS
    assert bench.short_cut_note({"warm_short_cut": False}) == "no short cut: the roles ran"


def test_warm_short_cut_is_the_median_of_its_runs_with_the_most_changed():
    runs = [{"seconds": 4.6, "changed": 0, "changed_tasks": []},
            {"seconds": 3.2, "changed": 1, "changed_tasks": ["h: Kafka | x"]},
            {"seconds": 3.4, "changed": 0, "changed_tasks": []}]
    warm = bench.median_run(runs)
    assert warm["seconds"] == 3.4
    assert warm["changed"] == 1 and warm["changed_tasks"] == ["h: Kafka | x"]
    assert warm["runs_seconds"] == [4.6, 3.2, 3.4]
    note = bench.short_cut_note({"warm_short_cut": True, "warm": warm})
    assert note == ("short cut: roles skipped, no host drifted, median of 3 runs "
                    "(4.6, 3.2, 3.4 s)")
