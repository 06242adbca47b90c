"""The runner's face of the artifact supply: ``python -m streamstack.artifacts fetch``.

The code is the collection's, plugins/plugin_utils/artifacts/ (its docstring says what
a fetch does), so that an installed collection fetches without this package
(``streamstack.lab.artifacts_fetch``); it is imported here as
``streamstack.plugins.plugin_utils.artifacts`` and its names re-exported, with the
command line (``cli.py``, ``__main__.py``).
"""

from streamstack.plugins.plugin_utils.artifacts import (
    DEPENDENCY_PLUGIN,
    ArtifactError,
    RealResolver,
    common,
    default_cache_dir,
    fetch,
    fetching,
    maven_pom,
    pack,
    pack_tree,
    project_root,
    resolve,
    stage_product,
)

from .cli import main

__all__ = [
    "DEPENDENCY_PLUGIN", "ArtifactError", "RealResolver", "common", "default_cache_dir",
    "fetch", "fetching", "main", "maven_pom", "pack", "pack_tree", "project_root", "resolve",
    "stage_product",
]
