"""The pipeline scenario: the word count's latency and the HDFS sink's rates
(bench/pipeline.py measures them)."""

from __future__ import annotations

from .common import figure, ratio
from .harness import Context, ensure_lab, load_bench_module, log, settle


def scenario_pipeline(ctx: Context) -> tuple[list[dict], dict]:
    ensure_lab(ctx)
    pipeline = load_bench_module("pipeline")
    args = pipeline.build_parser().parse_args(
        ["--inventory", str(ctx.inventory), "--samples", str(ctx.options["samples"])])
    # As before the warm runs: the scenario before this one (Kafka's topic deletions,
    # its last perf runs) still busies the cores, and the word count's figures would
    # measure that instead of the pipeline.
    settled = settle(ctx)
    log(f"pipeline: word count latency ({args.samples} words, one every {args.interval}s), "
        f"then the sink on {args.records} records")
    details = {"settle_before": settled, **pipeline.run(args)}
    lat = details.get("wordcount_latency_ms", {})
    consumer = details.get("kafka_consumer_perf", {}).get("records_per_second")
    sink, batch = details.get("sink", {}), details.get("sink_batch", {})
    # The ratio takes both runs from their first batch's start to their last batch's end:
    # each pays one warm-up of a fresh application, the streaming run also every batch's
    # costs. The service's sustained rate is the streaming run's after its first batch.
    streaming_rate = sink.get("records_per_second_end_to_end")
    sustained_rate = sink.get("records_per_second_after_first_batch")
    batch_rate = batch.get("records_per_second_end_to_end")
    figures = [
        figure("word count latency p50", lat.get("p50"), "ms"),
        figure("word count latency p95", lat.get("p95"), "ms", "wordcount_p95_ms"),
        figure("word count latency p99", lat.get("p99"), "ms"),
        figure("word count samples lost", lat.get("lost"), ""),
        figure("word count warm-up (not in the percentiles)", lat.get("warmup_seconds"), "s",
               note="until 3 warm-up words in a row came back within 5 s"),
        figure("HDFS sink, streaming, sustained (after the first batch)", sustained_rate,
               "records/s", "sink_records_per_second",
               note=f"{args.records} records of {args.record_size} B, trigger "
                    f"{args.sink_trigger} s, maxOffsetsPerTrigger {args.sink_max_offsets}, "
                    f"{sink.get('batches')} batches of {sink.get('batch_seconds')} s, "
                    f"sustained over the {sink.get('sustained_batches')} full ones after "
                    "the first"),
        figure("HDFS sink, streaming, end to end (first batch included)", streaming_rate,
               "records/s"),
        figure("HDFS sink, same application in batch (AvailableNow)", batch_rate, "records/s",
               note=f"{batch.get('batches')} batch(es)"),
        figure("sink streaming / batch, end to end", ratio(streaming_rate, batch_rate), "x",
               "sink_streaming_to_batch_ratio"),
        figure("kafka-consumer-perf-test, same topic", consumer, "records/s"),
        figure("sink streaming / raw consumer", ratio(streaming_rate, consumer), "x"),
    ]
    return figures, details
