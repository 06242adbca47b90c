#!/usr/bin/python
"""Ansible module: which running units started before a file they read last changed."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: streamstack_stale
short_description: Find running systemd units older than their configuration
description:
  - For each unit, compares the modification time of the files it reads (configuration,
    unit file, environment files, keytabs) with the start of its running main process
    (C(ExecMainStartTimestamp)), both by the host's clock.
  - A unit is stale when it is active and one of its files changed after it started, a
    restart that a failed or stopped run never did. The role restarts it through its own
    restart handler, so a lost restart is done by the next run.
  - A unit that is not running is never stale (what starts it reads the files). A file
    modified after the host's present (a clock set back) is reported in I(future), not
    counted as stale.
  - Reads only; never changed. Supports check mode.
options:
  units:
    description: Unit name (C(name) means C(name.service)) to the absolute paths it reads.
    type: dict
    required: true
author: streamstack maintainers (@streamstack)
"""

EXAMPLES = r"""
- name: Find the daemons older than their configuration
  streamstack.lab.streamstack_stale:
    units:
      yarn-resourcemanager:
        - /etc/hadoop/yarn-site.xml
        - /etc/systemd/system/yarn-resourcemanager.service
  register: hadoop_stale
"""

RETURN = r"""
stale:
  description: The units (as named in I(units)) that run with an older configuration.
  type: list
  elements: str
  returned: always
why:
  description: For each stale unit, its newest file and when the unit started.
  type: dict
  returned: always
reload:
  description: The units whose unit file changed since systemd last loaded it.
  type: list
  elements: str
  returned: always
future:
  description: Units with a file modified after the host's present (not judged).
  type: list
  elements: str
  returned: always
watch:
  description: I(units) as given (the short cut keeps it in its stamp).
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.streamstack.lab.plugins.module_utils.stale import check  # noqa: E402


def main() -> None:
    module = AnsibleModule(argument_spec={"units": {"type": "dict", "required": True}},
                           supports_check_mode=True)
    watch = {str(unit): [str(path) for path in paths or []]
             for unit, paths in module.params["units"].items()}
    found = check(watch)
    if found["future"]:
        module.warn("modified after the host's present (clock set back?), not judged: "
                    + ", ".join(found["future"]))
    module.exit_json(changed=False, watch=watch, **found)


if __name__ == "__main__":
    main()
