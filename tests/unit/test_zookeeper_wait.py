"""The ZooKeeper four-letter-word wait (issue 19, item 4): one task file, bounded in time.

The real roles/zookeeper/tasks/wait.yml runs through ansible-playbook on this machine
against real sockets: a server that answers, and one that accepts and never answers
(which bash /dev/tcp waited for forever)."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import yaml
from role_play import run_tasks

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "roles" / "zookeeper" / "tasks"


def _server(answer: bytes | None) -> tuple[socket.socket, int]:
    """A listening socket; each client gets `answer` then EOF, or silence when None."""
    sock = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.recv(16)
            if answer is None:
                held.append(conn)  # accepted, never answered, never closed
            else:
                conn.sendall(answer)
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock, sock.getsockname()[1]


def _run_wait(tmp_path: Path, port: int, word: str, expect: str) -> tuple[int, float, str]:
    started = time.monotonic()
    done = run_tasks(tmp_path, "zookeeper", "wait.yml", {
        "zookeeper_client_port": port, "zookeeper_4lw_word": word,
        "zookeeper_4lw_expect": expect, "zookeeper_4lw_timeout": 1,
        "zookeeper_wait_retries": 2, "zookeeper_wait_delay": 1}, timeout=120)
    return done.returncode, time.monotonic() - started, done.stdout + done.stderr


def test_a_server_that_never_answers_fails_the_wait_in_bounded_time(tmp_path):
    sock, port = _server(None)
    try:
        rc, seconds, out = _run_wait(tmp_path, port, "ruok", "^imok$")
    finally:
        sock.close()
    assert rc != 0, out[-1500:]
    # 3 attempts of at most 1 s, 2 delays of 1 s, plus ansible-playbook's own start.
    assert seconds < 40, out[-1500:]


def test_the_wait_passes_once_the_answer_matches(tmp_path):
    sock, port = _server(b"Zookeeper version: 3.8.3\nMode: follower\nNode count: 5\n")
    try:
        rc, _, out = _run_wait(tmp_path, port, "srvr", r"Mode:\s*(leader|follower|standalone)")
    finally:
        sock.close()
    assert rc == 0, out[-1500:]


def test_every_four_letter_word_wait_uses_the_one_task_file():
    for path in TASKS.glob("*.yml"):
        text = path.read_text()
        assert "/dev/tcp" not in text, f"{path.name} talks to ZooKeeper over bash /dev/tcp"
        if path.name != "wait.yml":
            assert not re.search(r"echo (ruok|srvr|mntr|stat)", text), path.name
    imports = [t for name in ("service.yml", "restart.yml")
               for t in yaml.safe_load((TASKS / name).read_text())
               if t.get("ansible.builtin.import_tasks") == "wait.yml"]
    assert len(imports) == 3
