"""Running the preflight rules: every issue of an inventory, merged; errors, warnings and
the text the runner and the playbook show."""

from __future__ import annotations

from collections.abc import Iterable

from .base import ERROR, RULES, WARNING, Inventory, Issue, _show

# --- running the rules -----------------------------------------------------------------


def check(data: dict) -> list[Issue]:
    """Every issue of the inventory, errors first, identical problems merged."""
    inv = Inventory(hosts=dict(data.get("hosts") or {}),
                    controller=dict(data.get("controller") or {}))
    issues: list[Issue] = []
    for function in RULES:
        issues.extend(function(inv))
    return _merge(issues, inv.names)


def _merge(issues: list[Issue], hosts: list[str]) -> list[Issue]:
    merged: dict[tuple, list[str]] = {}
    first: dict[tuple, Issue] = {}
    for issue in issues:
        key = (issue.level, issue.variable, _show(issue.value), issue.problem, issue.fix)
        first.setdefault(key, issue)
        for host in issue.host.split(", "):
            if host not in merged.setdefault(key, []):
                merged[key].append(host)
    out = []
    for key, issue in first.items():
        names = merged[key]
        label = ("all hosts" if len(hosts) > 1 and sorted(names) == sorted(hosts)
                 else ", ".join(names))
        out.append(Issue(label, issue.variable, issue.value, issue.problem, issue.fix,
                         issue.level))
    return sorted(out, key=lambda i: i.level != ERROR)


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.level == ERROR]


def warnings(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.level == WARNING]


def format_errors(errors: Iterable[Issue | str]) -> str:
    """The list the runner and the playbook show: one line per problem."""
    lines = [str(e) for e in errors]
    if not lines:
        return "preflight: no errors"
    noun = "error" if len(lines) == 1 else "errors"
    return f"preflight found {len(lines)} {noun}:\n" + "\n".join(f"  - {line}" for line in lines)
