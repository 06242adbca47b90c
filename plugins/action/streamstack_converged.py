"""Action plugin of streamstack_converged: the controller's half.

To check (the run's first task), computes the digest of the run's inputs
(plugin_utils/converged.py's input_digest) and returns it; to record, takes that digest back
(input_digest) and hands the module what the callback plugin streamstack_watch saw this
run's tasks manage on the host. A run that asks for part of the work (tags, limit, ...)
or sets streamstack_full_run (or a true STREAMSTACK_FULL_RUN in the environment) is never
short cut, and a partial run records no stamp.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ansible import constants, context
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_version
from ansible.utils.vars import load_extra_vars

from ..plugin_utils import converged


def controller_tools() -> dict[str, str]:
    """The controller's software a full run runs with: a new version may change it."""
    try:
        import mitogen
        mitogen_version = ".".join(map(str, mitogen.__version__))
    except ImportError:
        mitogen_version = "absent"
    search = list(constants.COLLECTIONS_PATHS)
    if constants.COLLECTIONS_SCAN_SYS_PATH:
        search += sys.path
    return {"ansible-core": ansible_version, "mitogen": mitogen_version,
            **converged.collection_manifests(search)}


class ActionModule(ActionBase):
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        state = args.get("state", "check")
        cli_args = dict(context.CLIARGS)
        partial = converged.partial_run_reason(cli_args)
        if state == "record" and partial:
            # Part of the work was done: the host may not look as a full run leaves it.
            return {**result, "changed": False, "skipped": True,
                    "msg": f"no stamp recorded: {partial}"}
        # The inputs as the run started: one edited during the run is a change next time.
        digest = args.get("input_digest") or ""
        if state == "record" and not digest:
            return {**result, "changed": False, "skipped": True,
                    "msg": "no stamp recorded: no input digest from the start of the run"}
        if state == "check":
            digest = converged.input_digest(
                Path(__file__).resolve().parents[2],
                [str(source) for source in task_vars.get("ansible_inventory_sources") or []],
                load_extra_vars(self._loader),
                [str(name) for name in args.get("inputs") or []],
                controller_tools())
            result["input_digest"] = digest
            reason = partial
            if boolean(task_vars.get(converged.FULL_RUN_VARIABLE, False), strict=False):
                reason = f"{converged.FULL_RUN_VARIABLE} is true"
            elif boolean(os.environ.get(converged.FULL_RUN_ENVIRONMENT, ""), strict=False):
                reason = f"{converged.FULL_RUN_ENVIRONMENT} is true"
            if reason:
                return {**result, "changed": False, "converged": False, "reason": reason}
        module_args = {"state": state, "input_digest": digest}
        if "stamp_path" in args:
            module_args["stamp_path"] = args["stamp_path"]
        if state == "record":
            seen = converged.WATCHED.get(task_vars.get("inventory_hostname"), {})
            module_args["paths"] = sorted(seen.get("paths", ()))
            module_args["units"] = sorted(seen.get("units", ()))
            module_args["stale_watch"] = {unit: sorted(paths) for unit, paths
                                          in seen.get("stale", {}).items()}
        result.update(self._execute_module(module_name="streamstack.lab.streamstack_converged",
                                           module_args=module_args, task_vars=task_vars))
        return result
