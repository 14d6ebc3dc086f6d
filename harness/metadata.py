"""What an implementation says of itself (version, settings, supports), checked before use.

A plugin's metadata flows into the CLI's table, run.json, summary.md and report.html; a
version() that raises or a settings() that returns a set would otherwise end a whole run in a
traceback after all the tracing. Here such an answer becomes a one-line problem, and the
implementation errors (or is unavailable) instead.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 4
SAFE_IMPL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}")  # reaches file names, scripts
SUPPORT_KEYS = ("dtypes", "activations", "losses", "reductions")


def unsafe_name(name: str) -> str | None:
    """Why an implementation's registered name cannot be used, or None: names become file
    names and words in generated shell scripts, so only letters, digits and . _ + - (and @,
    which joins an implementation to its environment: torch@venv-old)."""
    if isinstance(name, str) and SAFE_IMPL_NAME.fullmatch(name):
        return None
    return (f"unsafe implementation name {str(name)[:40]!r}: use letters, digits, '.', '_', "
            f"'+' and '-' (at most 64, starting with a letter or digit)")


def plain(value: Any, depth: int = 0) -> bool:
    """Whether a value is plain JSON data: str, int, float, bool, None, and lists and dicts
    (string keys) of those, nested at most MAX_DEPTH deep."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if depth >= MAX_DEPTH:
        return False
    if isinstance(value, list):
        return all(plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v, depth + 1) for k, v in value.items())
    return False


def problem(version: Any, settings: Any) -> str | None:
    """What is wrong with a version and settings an implementation reported, or None."""
    if not isinstance(version, str):
        return f"version is {type(version).__name__}, expected a string"
    if not isinstance(settings, dict):
        return f"settings is {type(settings).__name__}, expected a dict of plain values"
    if not plain(settings):
        return "settings holds a value that is not plain data (str, number, bool, None, " \
               "lists and dicts of those)"
    return None


def supports_problem(supports: Any) -> str | None:
    """What is wrong with an adapter's `supports` table, or None."""
    if supports is None:
        return None
    if not isinstance(supports, dict):
        return f"supports is {type(supports).__name__}, expected a dict"
    for key, names in supports.items():
        if key not in SUPPORT_KEYS:
            return f"supports has an unknown key {str(key)[:40]!r} (known: " \
                   f"{', '.join(SUPPORT_KEYS)})"
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            return f"supports[{key!r}] is not a list of names"
    return None


def outside_supports(supports: dict, name: str, spec) -> str | None:
    """Why a `supports` table excludes this spec ("dtype bfloat16 not supported by x"), or
    None."""
    checks = {"dtypes": ("dtype", [spec.dtype]), "losses": ("loss", [spec.loss]),
              "reductions": ("reduction", [spec.reduction]),
              "activations": ("activation",
                              sorted({layer.activation for layer in spec.layers}))}
    for key, (what, wanted) in checks.items():
        allowed = supports.get(key)
        if allowed is not None:
            bad = [w for w in wanted if w not in allowed]
            if bad:
                return f"{what} {bad[0]} not supported by {name}"
    return None


def read(impl: Any) -> tuple[str, dict, str | None]:
    """(version, settings, problem) from an implementation's own version() and settings();
    on a problem, an empty version and settings and the problem in one line. A walled
    implementation answers from what its worker said at load (harness/wall/walled.py)."""
    if getattr(impl, "walled", False) is True:
        return impl.metadata
    try:
        version = impl.version()
        settings_of = getattr(impl, "settings", None)
        settings = settings_of() if settings_of is not None else {}
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a plugin's answer, not ours to obey
        return "", {}, f"its version() or settings() raised {type(exc).__name__}: " \
                       f"{str(exc)[:200]}"
    why = problem(version, settings)
    return (version, settings, None) if why is None else ("", {}, why)
