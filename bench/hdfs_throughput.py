#!/usr/bin/env python3
"""HDFS write/read throughput next to the disk's own, on one lab host, in one run.

Inside the container (docker exec): `dd if=/dev/zero bs=1M count=N conv=fsync` to the
data volume (/var/lib/hadoop, the disk the DataNodes use), then `hdfs dfs -put` of that
file and `hdfs dfs -cat > /dev/null` of it, each timed in the container. Prints one JSON
object; --output also writes it to a file. Removes its local and HDFS files.

    python bench/hdfs_throughput.py --container hd-hadoop-master \
        --output bench/results/hdfs-throughput-$(date +%F).json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys

SCRIPT = r"""
set -eu
size=$1
dir=/var/lib/hadoop/bench
local=$dir/hdfs-throughput.bin
remote=/tmp/bench-hdfs-throughput-$(hostname)-$$
mkdir -p "$dir"
cleanup() {
  rm -f "$local"; rmdir "$dir" 2>/dev/null || true
  hdfs dfs -rm -f -skipTrash "$remote" >/dev/null 2>&1 || true
}
trap cleanup EXIT
now() { date +%s.%N; }
t0=$(now); dd if=/dev/zero of="$local" bs=1M count="$size" conv=fsync status=none; t1=$(now)
dd if="$local" of=/dev/null bs=1M status=none; t2=$(now)
hdfs dfs -put "$local" "$remote"; t3=$(now)
hdfs dfs -cat "$remote" > /dev/null; t4=$(now)
repl=$(hdfs dfs -stat %r "$remote")
load=$(cut -d' ' -f1 /proc/loadavg)
echo "$t0 $t1 $t2 $t3 $t4 $repl $load"
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--container", default="hadoop-master",
                        help="lab container to run on (default: hadoop-master)")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--output", help="also write the JSON result to this file")
    args = parser.parse_args(argv)

    done = subprocess.run(
        ["docker", "exec", args.container, "bash", "-c", SCRIPT, "bench", str(args.size_mib)],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    t0, t1, t2, t3, t4, repl, load = done.stdout.split()[-7:]
    t = [float(x) for x in (t0, t1, t2, t3, t4)]
    size = args.size_mib

    def rate(seconds: float) -> float:
        return round(size / seconds, 1)

    hostname = subprocess.run(["docker", "exec", args.container, "hostname"],
                              capture_output=True, text=True, check=False).stdout.strip()
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "container": args.container,
        "host": hostname,
        "size_mib": size,
        "dd_write_fsync_mib_s": rate(t[1] - t[0]),
        "dd_read_mib_s": rate(t[2] - t[1]),
        "hdfs_put_mib_s": rate(t[3] - t[2]),
        "hdfs_cat_mib_s": rate(t[4] - t[3]),
        "seconds": {"dd_write": round(t[1] - t[0], 2), "dd_read": round(t[2] - t[1], 2),
                    "hdfs_put": round(t[3] - t[2], 2), "hdfs_cat": round(t[4] - t[3], 2)},
        "hdfs_replication": int(repl),
        # The machine's load when the run ended: lab runs share 2 cores with other labs.
        "load_average_1m": float(load),
        "notes": ("same machine, same run; dd write is fsync'd, dd read comes from the page "
                  "cache; HDFS put includes a client JVM start (~1-2 s) and writes every "
                  "block to `hdfs_replication` DataNodes on the same physical disk; "
                  "DataNodes do not fsync on block close (upstream default)."),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
