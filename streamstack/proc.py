"""Running external commands with errors that name the command and its output."""

from __future__ import annotations

import shlex
import subprocess

from .errors import StreamstackError


def run(
    args: list[str],
    *,
    check: bool = True,
    capture: bool = True,
    input_bytes: bytes | None = None,
    timeout: float | None = None,
    hint: str | None = None,
) -> subprocess.CompletedProcess:
    """Run a command; on failure raise StreamstackError with the tail of its output."""
    try:
        done = subprocess.run(
            args,
            capture_output=capture,
            input=input_bytes,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise StreamstackError(f"command not found: {args[0]}", hint=hint) from exc
    except subprocess.TimeoutExpired as exc:
        raise StreamstackError(
            f"timed out after {timeout:.0f}s: {shlex.join(args)}", hint=hint
        ) from exc
    if check and done.returncode != 0:
        tail = ""
        if capture:
            out = (done.stderr or b"") + (done.stdout or b"")
            tail = "\n" + "\n".join(out.decode(errors="replace").strip().splitlines()[-15:])
        raise StreamstackError(
            f"exit {done.returncode}: {shlex.join(args)}{tail}", hint=hint
        )
    return done


def output(args: list[str], **kwargs) -> str:
    """stdout of a successful command, stripped."""
    return run(args, **kwargs).stdout.decode().strip()
