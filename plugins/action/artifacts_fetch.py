"""Action plugin: fetch, verify and pack the release tarballs on the controller.

The artifacts role's first task (``run_once``). It runs plugin_utils/artifacts' fetch in
the controller's own Python, as ``python -m streamstack.artifacts fetch`` does from a
checkout: Maven (``mvn`` on the controller's PATH, its ``settings.xml`` and ``~/.m2``)
for the jars, ``pip download`` with the Python that runs Ansible for the pyspark sdist,
or the Apache archive from ``mirror``. So an installed collection needs nothing of this
repository. A warm cache (every file present with its recorded sha256) downloads and
packs nothing and reports no change.

Arguments (the role's variables; roles/artifacts/meta/argument_specs.yml documents them):
``cache`` (required), ``source`` (maven or archive), ``offline``, ``mirror``, ``sha512``
({product: hex}), ``products`` (list; default every product).
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ..plugin_utils.artifacts import ArtifactError, fetch

_ARGS = frozenset({"cache", "source", "offline", "mirror", "sha512", "products"})


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        unknown = sorted(set(args) - _ARGS)
        if unknown or not args.get("cache"):
            return {**result, "failed": True,
                    "msg": f"artifacts_fetch takes {', '.join(sorted(_ARGS))} (cache required); "
                           f"unknown: {', '.join(unknown) or 'none'}"}
        if self._play_context.check_mode:
            return {**result, "changed": False, "skipped": True,
                    "msg": "check mode: the controller's cache is left as it is"}
        lines: list[str] = []
        try:
            summary = fetch(str(args["cache"]), source=str(args.get("source") or "maven"),
                            offline=boolean(args.get("offline", False), strict=True),
                            progress=lines.append,
                            products=list(args.get("products") or []) or None,
                            mirror=str(args.get("mirror") or "") or None,
                            sha512={str(k): str(v) for k, v in
                                    dict(args.get("sha512") or {}).items()})
        except ArtifactError as exc:
            return {**result, "failed": True, "msg": str(exc), "stdout_lines": lines}
        return {**result, "changed": bool(summary["downloaded"] or summary["packed"]),
                "stdout_lines": lines, "summary": summary}
