"""The collection's plugins/ tree, importable by the runner as streamstack.plugins.

One copy of the code that both sides run: installed as the collection (or from this
checkout through the link `make deps` puts on ansible.cfg's collections_path) Ansible
loads plugins/action/*.py as ansible_collections.streamstack.lab.plugins.action.*, and
their relative imports (`from ..plugin_utils import converged`) reach
plugins/plugin_utils/; the runner and the unit tests import the same files as
streamstack.plugins.plugin_utils.*, and the plugins as streamstack.plugins.action.*,
where the same relative imports reach the same modules. This package's only content is
that search path.
"""

from pathlib import Path

__path__ = [str(Path(__file__).resolve().parents[2] / "plugins")]
