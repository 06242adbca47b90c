"""The linear strategy run over Mitogen: one Python interpreter per host for the whole
run instead of one `docker exec` (or ssh round trip) and interpreter per task. A no-op
site.yml run on the 3-host lab took 102 s without it and 30 s with it, back to back
(bench/README.md, provisioning).

Set ANSIBLE_STRATEGY=linear to run without Mitogen. Without the mitogen package this
falls back to the plain linear strategy and says so.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: mitogen_linear
short_description: Mitogen's linear strategy, or Ansible's own where Mitogen is absent
description:
  - The linear strategy run over Mitogen (one Python interpreter per host for the run).
  - Without the mitogen package, Ansible's linear strategy, with a warning.
author: streamstack maintainers (@streamstack)
requirements:
  - mitogen (optional)
"""

from ansible.utils.display import Display

try:
    # Imported under its own name, as Mitogen's own proxy module does, so its classes
    # are loaded once.
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as error:
    from ansible.plugins.strategy.linear import StrategyModule as _Linear

    _MISSING = str(error)

    class StrategyModule(_Linear):
        """Ansible's linear strategy, saying once per run that Mitogen is missing."""

        def __init__(self, *args, **kwargs):
            Display().warning(f"mitogen is not importable ({_MISSING}): running the plain "
                              "linear strategy (slower); `make deps` installs it")
            super().__init__(*args, **kwargs)

__all__ = ["StrategyModule"]
