"""Callback plugin: what each host's tasks manage, for the stamp of a full run.

Every result of a file-writing task (template, copy, file, lineinfile, ...), of a stat
and of a systemd/service task on the host itself (not delegated) adds its path or unit
to plugin_utils/converged.py's WATCHED, which the streamstack_converged action records on the
host at the end of site.yml. A result that names no path (no_log censors it; lineinfile
and the like return none) is watched by the task's templated arguments; a loop's by
each item's. Only descriptions (digest, mode, owner) are recorded, never contents.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: streamstack_watch
type: aggregate
short_description: Collect the paths and units each host's tasks manage
description:
  - Feeds the streamstack_converged action (the warm site.yml's short cut).
"""

from ansible.plugins.callback import CallbackBase

from ..plugin_utils import converged


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "streamstack_watch"
    CALLBACK_NEEDS_ENABLED = False

    def v2_runner_on_ok(self, result):
        task = result.task
        if task.delegate_to or task.connection == "local" or \
                result.result.get("_ansible_delegated_vars"):
            return
        converged.remember(result.host.get_name(), task.resolved_action or task.action,
                           result.result, (result.task_fields or {}).get("args"))

    # Each item's fields are templated with its item (the loop's own are not).
    v2_runner_item_on_ok = v2_runner_on_ok
