#!/usr/bin/env python3
"""Sample every process's command line (/proc/<pid>/cmdline) on this host until stopped
(SIGTERM), for the no-secret checks of tests/secure (cmdline_samples.py). Each distinct
command line is written once, as a JSON string on its own line, to OUT (0600: they are
read back to be matched, on the controller, against the secrets); OUT.stats (JSON) has
the number of sweeps and the longest gap between two. Standard library only; run as
root (a systemd-run transient unit) to see every user's processes.

    python3 sample_cmdlines.py OUT [--interval 0.05] [--sweeps N]

A process is read at every sweep while it is young (a wrapper script such as
kafka-run-class.sh execs its real command seconds later under the same pid), then once
a second: the long-running daemons, most of the processes, cost little.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time

YOUNG_S = 10.0
OLD_EVERY_S = 1.0
STATS_EVERY_S = 5.0


def read_cmdline(pid: str) -> bytes | None:
    try:
        fd = os.open(f"/proc/{pid}/cmdline", os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--sweeps", type=int, default=0, help="stop after N sweeps (0: never)")
    args = parser.parse_args()
    os.umask(0o077)
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))

    seen: set[bytes] = set()
    pids: dict[str, list[float]] = {}  # pid: [first seen, last read]
    stats = {"interval_s": args.interval, "sweeps": 0, "max_gap_s": 0.0, "distinct": 0,
             "started": time.time(), "stopped": None}

    def write_stats() -> None:
        tmp = f"{args.out}.stats.tmp"
        with open(tmp, "w") as handle:
            json.dump(stats, handle)
        os.replace(tmp, f"{args.out}.stats")

    last_sweep = last_stats = time.monotonic()
    with open(args.out, "a", encoding="utf-8") as out:
        while not stopping and (args.sweeps == 0 or stats["sweeps"] < args.sweeps):
            now = time.monotonic()
            if stats["sweeps"]:
                stats["max_gap_s"] = max(stats["max_gap_s"], round(now - last_sweep, 3))
            last_sweep = now
            current = set()
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                current.add(pid)
                state = pids.setdefault(pid, [now, float("-inf")])
                if now - state[0] > YOUNG_S and now - state[1] < OLD_EVERY_S:
                    continue
                state[1] = now
                raw = read_cmdline(pid)
                if raw and raw not in seen:
                    seen.add(raw)
                    text = raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
                    out.write(json.dumps(text) + "\n")
            for pid in set(pids) - current:
                del pids[pid]
            stats["sweeps"] += 1
            stats["distinct"] = len(seen)
            if now - last_stats >= STATS_EVERY_S:
                out.flush()
                write_stats()
                last_stats = now
            time.sleep(max(0.0, args.interval - (time.monotonic() - now)))
    stats["stopped"] = time.time()
    write_stats()


if __name__ == "__main__":
    main()
