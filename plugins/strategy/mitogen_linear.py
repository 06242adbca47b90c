"""The linear strategy run over Mitogen: one Python interpreter per host for the whole
run instead of one `docker exec` (or ssh round trip) and interpreter per task. A no-op
site.yml run on the 3-host lab took 102 s without it and 30 s with it, back to back
(bench/README.md, provisioning).

Set ANSIBLE_STRATEGY=linear to run without Mitogen. Without the mitogen package this
falls back to the plain linear strategy and says so.
"""

from __future__ import annotations

from ansible.utils.display import Display

try:
    # Imported under its own name, as Mitogen's own proxy module does, so its classes
    # are loaded once.
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as error:
    from ansible.plugins.strategy.linear import StrategyModule

    Display().warning(f"mitogen is not importable ({error}): running the plain linear "
                      "strategy (slower); `make deps` installs it")

__all__ = ["StrategyModule"]
