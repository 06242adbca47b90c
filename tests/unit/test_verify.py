from streamstack import verify


def _record(host, service, check, state, detail=""):
    return {"host": host, "service": service, "check": check, "state": state, "detail": detail}


def test_failures_come_first_then_by_host_and_service():
    records = [
        _record("hadoop-worker1", "kafka", "units", "passed"),
        _record("hadoop-worker2", "hadoop", "datanode", "failed", "hdfs-datanode inactive"),
        _record("hadoop-master", "zookeeper", "ruok", "skipped", "not in group"),
        _record("hadoop-master", "kafka", "units", "passed"),
    ]
    ordered = verify.rows(records)
    assert [(r["host"], r["state"]) for r in ordered] == [
        ("hadoop-worker2", "failed"), ("hadoop-master", "skipped"),
        ("hadoop-master", "passed"), ("hadoop-worker1", "passed")]


def test_exit_code_is_non_zero_when_anything_failed_or_nothing_ran():
    passed = [_record("h", "kafka", "units", "passed")]
    assert verify.exit_code(0, passed) == 0
    assert verify.exit_code(1, passed + [_record("h", "kafka", "isr", "failed")]) == 1
    assert verify.exit_code(5, []) == 1
    # pytest failing on its own (e.g. a fixture error) is not hidden by passing checks.
    assert verify.exit_code(2, passed) == 1


def test_exit_code_is_non_zero_when_every_check_skipped():
    """pytest exits 0 when all it ran skipped (no host in the groups, a -k that selects
    only skipping checks): nothing was verified, so verify must not pass."""
    skipped = [_record("h", "kafka", "units", "skipped", "not in group"),
               _record("h", "zookeeper", "ruok", "skipped", "not in group")]
    assert verify.exit_code(0, skipped) == 1


def test_failure_lines_name_host_service_and_detail_of_failures_only():
    records = [
        _record("hadoop-worker1", "kafka", "units", "passed"),
        _record("hadoop-worker2", "hdfs-datanode", "unit_active", "failed",
                "hdfs-datanode is not running on hadoop-worker2"),
        _record("hadoop-master", "zookeeper", "ruok", "skipped", "not in group"),
    ]
    assert verify.failure_lines(records) == [
        "FAILED hadoop-worker2 hdfs-datanode unit_active: "
        "hdfs-datanode is not running on hadoop-worker2"]
