"""The shell commands that rerun a spec through an implementation: absolute ones for
reproduce.sh (from any directory, without an activated environment) and relative ones for a
draft filed upstream (run in the folder that holds the spec; no local path in them)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def harness_command() -> list[str]:
    """How to start this harness from any directory, never with the current directory first
    on the import path (a folder there named like a plugin's package would shadow it): the
    console script beside this Python, else this Python with -P."""
    script = Path(sys.executable).with_name("backprop-harness")
    return [str(script)] if script.is_file() else [sys.executable, "-P", "-m", "harness"]


def tolerance_flags(override: dict | None) -> list[str]:
    """A run's tolerance overrides as its command-line options."""
    return [x for phase, values in (override or {}).items() for kind, value in values.items()
            for x in (f"--{kind}-{phase}", repr(value))]


def rerun_command(spec_path: Path, impl: str, baseline: str, tolerance: dict | None = None,
                  oracle: bool = True, extra=()) -> str:
    """The shell command that runs a spec file through `impl` against `baseline` with a
    run's tolerance and oracle choice, every word quoted."""
    words = [*harness_command(), "run", str(Path(spec_path).resolve()), "--impl", impl,
             "--baseline", baseline, *tolerance_flags(tolerance),
             *([] if oracle else ["--no-oracle"]), *extra]
    return shlex.join(words)


def relative_command(file_name: str, impl: str, baseline: str,
                     tolerance: dict | None = None) -> str:
    """The same run for a reader elsewhere: the console script by name and the spec by its
    file name, run in the folder that holds it."""
    return shlex.join(["backprop-harness", "run", file_name, "--impl", impl, "--baseline",
                       baseline, *tolerance_flags(tolerance)])
