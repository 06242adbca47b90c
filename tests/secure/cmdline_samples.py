"""Command lines sampled on the lab hosts (sample_cmdlines.py in a systemd-run transient
unit, 0600 files under /root), read back and matched on the controller against the
secrets of the controller's secrets directory. A match is described by host, secret
file and the command line with every secret replaced: never with a secret.

molecule/resources/sample_cmdlines.yml starts the "converge" sampler with the same
names (SAMPLER_DIR, UNIT) before molecule/secure's converge.
"""

from __future__ import annotations

import json
from pathlib import Path

SAMPLER = Path(__file__).with_name("sample_cmdlines.py")
SAMPLER_DIR = "/root/.streamstack-cmdlines"
UNIT = "streamstack-cmdlines-{name}"
# The password lookup's files are random letters and digits (24 or 32 of them); a
# shorter value would match by chance.
MIN_SECRET_LENGTH = 12


def known_secrets(directory: Path) -> dict[str, str]:
    """{secret: its file, relative to the directory} for every password file (the
    password lookup's: the value, then maybe ` salt=...`), kept aside ones included."""
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "password" in path.name:
            words = path.read_text(errors="replace").split()
            if words and len(words[0]) >= MIN_SECRET_LENGTH:
                found[words[0]] = str(path.relative_to(directory))
    return found


def samples_path(name: str) -> str:
    return f"{SAMPLER_DIR}/{name}.samples"


def install(host) -> None:
    """The sampler in a root-only directory of the host."""
    host.run_expect([0], f"install -d -m 0700 -o root -g root {SAMPLER_DIR}")
    host.ansible("ansible.builtin.copy",
                 f"src={SAMPLER} dest={SAMPLER_DIR}/sample_cmdlines.py mode=0700", check=False)


def start(host, name: str, interval: float = 0.05) -> None:
    """Sample every `interval` seconds until stop(), in a transient unit."""
    install(host)
    host.run(f"systemctl stop {UNIT.format(name=name)}; rm -f {samples_path(name)}*")
    host.run_expect([0], f"systemd-run --quiet --collect --unit={UNIT.format(name=name)} "
                         f"/usr/bin/python3 {SAMPLER_DIR}/sample_cmdlines.py "
                         f"{samples_path(name)} --interval {interval}")


def sweep_once(host, name: str = "now") -> None:
    """One sweep of every process, now."""
    install(host)
    host.run_expect([0], f"rm -f {samples_path(name)}* && /usr/bin/python3 "
                         f"{SAMPLER_DIR}/sample_cmdlines.py {samples_path(name)} --sweeps 1")


def running(host, name: str) -> bool:
    return host.run(f"systemctl is-active {UNIT.format(name=name)}").stdout.strip() == "active"


def stop(host, name: str) -> None:
    """Stop the sampler (SIGTERM: it writes its last statistics)."""
    host.run(f"systemctl stop {UNIT.format(name=name)}")


def exists(host, name: str) -> bool:
    return host.run(f"test -f {samples_path(name)}").rc == 0


def read(host, name: str) -> tuple[list[str], dict]:
    """(distinct command lines, the sampler's statistics)."""
    text = host.check_output(f"cat {samples_path(name)}")
    stats = host.run(f"cat {samples_path(name)}.stats")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return lines, (json.loads(stats.stdout) if stats.rc == 0 and stats.stdout.strip() else {})


def redact(text: str, secrets: dict[str, str]) -> str:
    for secret, source in secrets.items():
        text = text.replace(secret, f"<secret of {source}>")
    return text


def leaks(where: str, lines: list[str], secrets: dict[str, str]) -> list[str]:
    """A description (without the secret) of each command line holding a secret."""
    found = []
    for line in lines:
        holders = sorted({source for secret, source in secrets.items() if secret in line})
        if holders:
            shown = redact(line, secrets)
            found.append(f"{where}: {', '.join(holders)} in: {shown[:400]}")
    return found
