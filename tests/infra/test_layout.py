"""Each product tree on each host has the official release's layout.

The expected paths come from streamstack/layouts/<product>.yml (read from upstream's
assembly descriptors at the release tags); a missing path fails unless that file lists
it as known absent, with a reason.
"""

from __future__ import annotations

import shlex

import pytest

from streamstack import release_layout
from streamstack.artifacts_catalog import PRODUCTS


@pytest.mark.parametrize("product", sorted(PRODUCTS))
def test_product_tree_has_the_release_layout(host, product):
    layout = release_layout.load(product, PRODUCTS[product].version)
    # One shell round trip per product: print each path that is missing ("dir/" must be
    # a directory with something in it).
    checks = " ".join(shlex.quote(p) for p in layout.paths)
    script = (
        f"cd {shlex.quote(layout.home)}/ || exit 3; "
        f"for p in {checks}; do "
        'case $p in */) [ -n "$(ls -A "$p" 2>/dev/null)" ] || echo "$p" ;; '
        '*) [ -e "$p" ] || echo "$p" ;; esac; done'
    )
    result = host.run(script)
    assert result.rc == 0, f"{layout.home}: {result.stderr or 'no such directory'}"
    missing = result.stdout.split()
    unexplained = [p for p in missing if p not in layout.known_absent]
    assert not unexplained, (
        f"{product}: {len(unexplained)} path(s) of the release missing under {layout.home} "
        f"and not listed as known absent: {', '.join(unexplained[:10])}")
