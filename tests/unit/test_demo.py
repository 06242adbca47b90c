from streamstack import demo
from streamstack.jobs import ExecResult


def test_demo_shows_each_command_and_its_output_and_counts_failures():
    calls = []

    def fake_exec(host, argv):
        calls.append((host, argv))
        if "yarn application" in argv[-1]:
            return ExecResult(1, "", "connection refused")
        return ExecResult(0, f"out of {argv[-1].split()[0]}")

    lines = []
    failed = demo.run(fake_exec, "hadoop-master", show=lines.append)
    assert failed == 1
    assert len(calls) == len(demo.STEPS)
    assert all(host == "hadoop-master" and argv[:2] == ["bash", "-lc"] for host, argv in calls)
    text = "\n".join(lines)
    assert "$ kafka-topics.sh --create --if-not-exists --topic Hello-Kafka" in text
    assert "    out of jps" in text
    assert "-> exit 1: connection refused" in text
