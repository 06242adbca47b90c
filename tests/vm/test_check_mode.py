"""`site.yml --check --diff` on a converged lab reports changed=0 on every host, with every
role run (no short cut), as a dry run before a change must (issue 40: any names, any
layout). In CI's scenario it runs after the idempotence step, on the bare VM lab.

    pytest tests/vm --ansible-inventory=INVENTORY
"""

from __future__ import annotations

from streamstack import runner
from streamstack.plugins.plugin_utils import converged


def test_check_mode_on_a_converged_lab_changes_nothing(inventory):
    summary, run_dir = runner.run_playbook("site.yml", inventory, check=True, quiet=True,
                                           extravars=converged.FULL_RUN)
    assert summary.ok, runner.format_summary(summary, run_dir)
    assert summary.changed == 0, summary.changed_tasks
    # Every role ran: the jobs' play is the last of site.yml.
    assert any("/ Spark jobs |" in task for task in summary.task_seconds), \
        (summary.short_cut, runner.format_summary(summary, run_dir))
