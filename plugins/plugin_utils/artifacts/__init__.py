"""Artifact supply: resolve, verify, stage and pack the products on the controller.

The collection's copy of the code (installed, it runs as the action
``streamstack.lab.artifacts_fetch``, plugins/action/artifacts_fetch.py); the runner
imports the same files as ``streamstack.plugins.plugin_utils.artifacts`` and
``streamstack.artifacts`` re-exports them with its command line.

For each product in ``artifacts_catalog`` this package

1. gets the input files into ``<cache>/inputs/<product>-<version>/<source>/``: Maven
   jars with ``mvn dependency:copy-dependencies`` on a generated pom (so the machine's
   ``settings.xml`` and ``~/.m2`` apply), the Spark distribution with ``pip download``
   of the ``pyspark`` sdist, or the official Apache tarballs (``--source archive``);
2. stages the installed layout (jars, generated ``bin/`` launchers, default logging
   configuration) and packs it, deterministically, as
   ``<cache>/dist/<product>-<version>.tar`` with top-level dir ``<product>-<version>/``;
3. records in ``<cache>/manifest.json`` the tarball's name, size and sha256 and the sha256
   of every input file.

A fetch whose manifest matches (recipe unchanged, every input and tarball present with
the recorded sha256) downloads nothing and packs nothing. A missing or corrupted file
is detected by its checksum and fetched or rebuilt again. ``offline=True`` never touches
the network (``mvn -o``, no pip, no URL): what is missing is named in the error.

Command line: ``python -m streamstack.artifacts fetch [--offline] [--source maven|archive]
[--cache DIR] [--mirror URL|DIR] [--sha512 PRODUCT=HEX] [--product NAME]``.

Where things live:

- ``common.py``: the pinned constants (staging version, manifest format, Maven's
  dependency plugin, the packing mtime), :class:`ArtifactError`, the cache's place
  (``default_cache_dir``) and the input groups (``Group``, ``groups_for``, ``Resolver``);
- ``resolve.py``: step 1, getting a group's input files: the generated pom
  (``maven_pom``) and :class:`RealResolver` (Maven, pip, the Apache archive);
- ``pack.py``: step 2, staging the installed layout (``stage_product``), the recipe's
  digest and the reproducible tarball (``pack_tree``);
- ``fetching.py``: step 3 and the whole run: the digest memo, the manifest, verifying and
  fetching each group again, :func:`fetch` (named ``fetching`` so that it does not hide
  the function);
The command line, ``main``, is the runner's: streamstack/artifacts/cli.py.
"""

from .common import DEPENDENCY_PLUGIN, ArtifactError, default_cache_dir, project_root
from .fetching import fetch
from .pack import pack_tree, stage_product
from .resolve import RealResolver, maven_pom

__all__ = [
    "DEPENDENCY_PLUGIN", "ArtifactError", "RealResolver", "default_cache_dir", "fetch",
    "maven_pom", "pack_tree", "project_root", "stage_product",
]
