"""No secret on any process's command line, on any host (project issue 35): every
local user reads /proc/<pid>/cmdline. The secrets are those of the controller's secrets
directory (every password file); the command lines are

- those sampled every 50 ms on every host during molecule/secure's converge and
  idempotence run (its prepare step, molecule/resources/sample_cmdlines.yml, starts
  the sampler; outside that scenario this check is skipped and says so);
- every process's, now.

test_rotation.py samples the same way while playbooks/rotate_secrets.yml runs. A
match fails with its host, the secret's file and the command line with the secret
replaced, never the secret itself.

    pytest tests/secure/test_command_lines.py --hosts=ansible://all \
        --ansible-inventory=<secure lab inventory>
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from streamstack.checks.base import secrets_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdline_samples  # noqa: E402

# The converge's sampler must have kept sampling: no pause longer than this between
# two sweeps (the machine is loaded during a converge; 50 ms is the aim).
MAX_GAP_S = 5.0


@pytest.fixture(scope="module")
def secrets(request, host):
    inventory = request.config.option.ansible_inventory
    variables = host.ansible.get_variables()
    if variables.get("streamstack_security", "none") != "kerberos":
        pytest.fail("this inventory does not use the secure profile")
    found = cmdline_samples.known_secrets(secrets_dir(variables, inventory))
    # The stores', ZooKeeper's two, three SCRAM users', the KDC master's, the lab user's.
    assert len(found) >= 8, sorted(found.values())
    return found


def test_no_secret_on_a_command_line_during_the_converge(host, secrets):
    name = host.backend.get_hostname()
    if not cmdline_samples.exists(host, "converge"):
        pytest.skip("no command lines sampled during a converge: molecule/secure's "
                    "prepare step starts the sampler")
    assert cmdline_samples.running(host, "converge"), "the converge's sampler stopped early"
    cmdline_samples.stop(host, "converge")
    lines, stats = cmdline_samples.read(host, "converge")
    print(f"{name}: converge sampler {stats}")
    assert stats.get("sweeps", 0) > 1000 and lines, stats
    assert stats["max_gap_s"] < MAX_GAP_S, stats
    found = cmdline_samples.leaks(name, lines, secrets)
    assert not found, "\n".join(found)


def test_no_secret_on_a_command_line_now(host, secrets):
    name = host.backend.get_hostname()
    cmdline_samples.sweep_once(host)
    lines, stats = cmdline_samples.read(host, "now")
    assert stats.get("sweeps") == 1 and len(lines) > 10, stats
    found = cmdline_samples.leaks(name, lines, secrets)
    assert not found, "\n".join(found)
