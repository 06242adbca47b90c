"""Filter of site.yml's short cut (playbooks/preflight.yml): all hosts converged, or why not.

Each host's streamstack_converged check says whether it still looks as the last full run
left it (plugins/plugin_utils/converged.py). This decides for the lab, with unit tests in
tests/unit/test_converged.py.
"""

from __future__ import annotations


def streamstack_lab_converged(hosts, hostvars, result_name: str) -> dict:
    """All or nothing: the lab is short cut only when every host is; otherwise the
    message names the first hosts that are not and why."""
    reasons = []
    for host in hosts:
        result = (hostvars.get(host) or {}).get(result_name) or {}
        if not result.get("converged"):
            reasons.append(f"{host}: {result.get('reason') or 'not checked (not reached)'}")
    if not hosts:
        reasons.append("no host to check")
    if reasons:
        return {"converged": False,
                "message": "full run: " + "; ".join(reasons[:3])
                           + (f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else "")}
    since = min(str((hostvars[h].get(result_name) or {}).get("recorded_at")) for h in hosts)
    return {"converged": True,
            "message": f"no host drifted since the full run of {since}: the roles are "
                       f"skipped (-e streamstack_full_run=true runs them all)"}


class FilterModule:
    def filters(self):
        return {"streamstack_lab_converged": streamstack_lab_converged}
