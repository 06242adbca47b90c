"""The command line of ``python -m streamstack.artifacts``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from streamstack.plugins.plugin_utils.artifacts.common import ArtifactError, default_cache_dir
from streamstack.plugins.plugin_utils.artifacts.fetching import fetch, load_manifest
from streamstack.plugins.plugin_utils.artifacts_catalog import PRODUCTS

# ------------------------------------------------------------------ CLI


def _parse_sha512(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        if "=" not in v:
            raise ArtifactError(f"--sha512 takes PRODUCT=HEX, got {v!r}")
        k, h = v.split("=", 1)
        out[k.strip()] = h.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streamstack.artifacts",
                                     description="Fetch, verify and pack the products.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="fetch inputs and build <cache>/dist/*.tar")
    f.add_argument("--offline", action="store_true", help="never touch the network")
    f.add_argument("--source", choices=["maven", "archive"], default="maven")
    f.add_argument("--cache", type=Path, default=None,
                   help="cache dir (default $STREAMSTACK_CACHE or <repo>/.cache/artifacts)")
    f.add_argument("--mirror", default=None,
                   help="archive source: base URL or directory (STREAMSTACK_ARCHIVE_MIRROR)")
    f.add_argument("--sha512", action="append", default=[], metavar="PRODUCT=HEX",
                   help="archive source: SHA-512 for a product without a pinned one")
    f.add_argument("--product", action="append", default=None, choices=list(PRODUCTS),
                   help="only this product (repeatable); default all")
    f.add_argument("--json", action="store_true", help="print the summary as JSON at the end")
    f.add_argument("--rehash", action="store_true",
                   help="read every cached file again, even those hashed before unchanged")
    m = sub.add_parser("manifest", help="print the manifest")
    m.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "manifest":
            print(json.dumps(load_manifest(args.cache or default_cache_dir()), indent=2))
            return 0
        summary = fetch(args.cache, source=args.source, offline=args.offline,
                        progress=lambda s: print(s, flush=True), products=args.product,
                        mirror=args.mirror, sha512=_parse_sha512(args.sha512),
                        rehash=args.rehash)
        if args.json:
            print(json.dumps(summary))
        return 0
    except ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
