#!/usr/bin/env python3
"""Prometheus exporter of the lab's streaming jobs (standard library only).

Spark's Kafka source keeps its offsets in the query's checkpoint, not in a Kafka
consumer group, so a job's position is read where Spark keeps it: the offsets of the
newest committed micro-batch (<checkpoint>/commits/N, <checkpoint>/offsets/N) over
WebHDFS. Prometheus subtracts them from the brokers' log end offsets (the lag). Each
job's YARN state comes from the ResourceManager's REST API. Read on every scrape.

In the secure profile both answer only over SPNEGO (and WebHDFS only over HTTPS): the
config sets `spnego` and `ca_file`, and the unit hands the exporter its keytab as a
systemd credential (KRB5_CLIENT_KTNAME), from which GSSAPI gets its own tickets.

    jobs_exporter.py CONFIG.json
"""

from __future__ import annotations

import base64
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TIMEOUT = 5


def fetch(config: dict, url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if config.get("spnego"):
        # Not sent on along a redirect: WebHDFS's DataNode URL carries a delegation token.
        request.add_unredirected_header("Authorization", "Negotiate " + spnego_token(
            urllib.parse.urlsplit(url).hostname))
    context = ssl.create_default_context(cafile=config["ca_file"]) if config.get(
        "ca_file") else None
    with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
        return response.read()


def spnego_token(host: str) -> str:
    import gssapi  # python3-gssapi, installed on every host of the secure profile

    name = gssapi.Name(f"HTTP@{host}", gssapi.NameType.hostbased_service)
    return base64.b64encode(gssapi.SecurityContext(name=name, usage="initiate").step()).decode()


def webhdfs(config: dict, path: str, op: str) -> bytes:
    # With SPNEGO the ticket says who reads; user.name is the plain lab's pseudo-auth.
    who = {} if config.get("spnego") else {"user.name": config["hdfs_user"]}
    query = urllib.parse.urlencode({"op": op, **who})
    return fetch(config, f"{config['webhdfs']}{urllib.parse.quote(path)}?{query}")


def query_checkpoints(config: dict, checkpoint: str) -> list[str]:
    """The checkpoint itself, or (a job of several queries, like the sink's one per
    topic) each sub-directory that is one; `_deadletter` and the like are left out."""
    try:
        listing = json.loads(webhdfs(config, checkpoint, "LISTSTATUS"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise
    entries = listing["FileStatuses"]["FileStatus"]
    if any(f["pathSuffix"] == "commits" for f in entries):
        return [checkpoint]
    return [f"{checkpoint.rstrip('/')}/{f['pathSuffix']}" for f in entries
            if f["type"] == "DIRECTORY" and not f["pathSuffix"].startswith(("_", "."))]


def job_offsets(config: dict, checkpoint: str) -> tuple[int | None, dict]:
    """Newest batch and offsets over the job's queries; a partition read by two queries
    counts where the slower one is."""
    batch, merged = None, {}
    for path in query_checkpoints(config, checkpoint):
        query_batch, offsets = committed_offsets(config, path)
        if query_batch is not None:
            batch = max(batch or 0, query_batch)
        for key, offset in offsets.items():
            merged[key] = min(offset, merged.get(key, offset))
    return batch, merged


def committed_offsets(config: dict, checkpoint: str) -> tuple[int | None, dict]:
    """(newest committed batch, {(topic, partition): offset}); (None, {}) before any."""
    try:
        listing = json.loads(webhdfs(config, checkpoint + "/commits", "LISTSTATUS"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None, {}
        raise
    batches = [int(f["pathSuffix"]) for f in listing["FileStatuses"]["FileStatus"]
               if f["pathSuffix"].isdigit()]
    if not batches:
        return None, {}
    batch = max(batches)
    text = webhdfs(config, f"{checkpoint}/offsets/{batch}", "OPEN").decode()
    offsets = {}
    # "v1", the batch metadata, then one line of offsets per source.
    for line in text.splitlines()[2:]:
        line = line.strip()
        if not line.startswith("{"):
            continue
        for topic, partitions in json.loads(line).items():
            for partition, offset in partitions.items():
                offsets[(topic, partition)] = int(offset)
    return batch, offsets


def running_apps(config: dict) -> set[str]:
    data = json.loads(fetch(config, config["resourcemanager"]
                            + "/ws/v1/cluster/apps?states=RUNNING"))
    return {app["name"] for app in ((data.get("apps") or {}).get("app") or [])}


def label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(config: dict) -> str:
    lines = [
        "# HELP streamstack_job_running 1 if the job has a RUNNING YARN application.",
        "# TYPE streamstack_job_running gauge",
    ]
    try:
        running = running_apps(config)
        rm_ok = 1
    except Exception:  # noqa: BLE001 - a GSSAPI error too: the RM is then not readable
        running, rm_ok = set(), 0
    for job in config["jobs"]:
        lines.append(f'streamstack_job_running{{spark_job="{label(job["name"])}"}} '
                     f'{1 if job["name"] in running else 0}')
    lines += ["# HELP streamstack_resourcemanager_up 1 if the ResourceManager answered.",
              "# TYPE streamstack_resourcemanager_up gauge",
              f"streamstack_resourcemanager_up {rm_ok}",
              "# HELP streamstack_job_offset Next offset of the job's newest committed batch.",
              "# TYPE streamstack_job_offset gauge"]
    batches, readable = [], []
    for job in config["jobs"]:
        name = label(job["name"])
        try:
            batch, offsets = job_offsets(config, job["checkpoint"])
            ok = 1
        except Exception:  # noqa: BLE001 - a GSSAPI error too: the checkpoint is unreadable
            batch, offsets, ok = None, {}, 0
        readable.append(f'streamstack_job_checkpoint_readable{{spark_job="{name}"}} {ok}')
        if batch is not None:
            batches.append(f'streamstack_job_last_batch{{spark_job="{name}"}} {batch}')
        for (topic, partition), offset in sorted(offsets.items()):
            lines.append(f'streamstack_job_offset{{spark_job="{name}",topic="{label(topic)}",'
                         f'partition="{label(partition)}"}} {offset}')
    lines += ["# HELP streamstack_job_last_batch The job's newest committed micro-batch.",
              "# TYPE streamstack_job_last_batch gauge", *batches,
              "# HELP streamstack_job_checkpoint_readable 1 if WebHDFS answered for it.",
              "# TYPE streamstack_job_checkpoint_readable gauge", *readable]
    return "\n".join(lines) + "\n"


def main() -> None:
    with open(sys.argv[1]) as handle:
        config = json.load(handle)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = render(config).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # one line per scrape is noise
            pass

    server = ThreadingHTTPServer((config["listen_address"], config["port"]), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
