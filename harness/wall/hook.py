"""A third-party adapter's optional reproducer() hook (docs/adapters.md), read as plain data
wherever it runs: (api or None, lines), or None for no lines; anything else is HookFailed
with one line. The worker reads the hook's return value with answer() and the run reads the
worker's reply again with checked() (WalledImpl.reproducer); under --in-process the run calls
the hook itself, under the trace's guards, and reads it with answer() (reproduce/snippet.py).
"""

from __future__ import annotations

TIMEOUT = 10.0  # seconds for a hook to answer, behind the wall or in process
MAX_CHARS = 64 * 1024  # characters of a hook's lines, all together
MAX_API = 200  # characters of the API it names (the title)


class HookFailed(Exception):
    """The hook gave no usable lines (it hung, exited, raised or returned garbage); the
    message says how, in one line."""


def answer(got) -> tuple[str | None, list[str]] | None:
    """The hook's return value, a string of lines or (api, lines), as plain data; None for
    None or blank lines."""
    if got is None:
        return None
    if type(got) is tuple and len(got) == 2 and all(isinstance(g, str) for g in got):
        api, text = str.__str__(got[0]), str.__str__(got[1])
    elif isinstance(got, str):
        api, text = None, str.__str__(got)
    else:
        raise HookFailed(f"returned {type(got).__name__}, not lines (a str, or (api, str))")
    return checked(api, text.expandtabs().strip("\n").split("\n"))


def checked(api, lines) -> tuple[str | None, list[str]] | None:
    """(api, lines) when they are strings within MAX_CHARS (the API one line without
    backticks, at most MAX_API characters); None when no line holds anything."""
    if not (api is None or isinstance(api, str)) or not isinstance(lines, list) or \
            not all(isinstance(line, str) for line in lines):
        raise HookFailed("answered what is not lines of text")
    size = sum(map(len, lines))
    if size > MAX_CHARS:
        raise HookFailed(f"returned {size} characters of lines (at most {MAX_CHARS})")
    if not any(line.strip() for line in lines):
        return None
    if api is not None:
        api = " ".join(api.replace("`", "'").split())[:MAX_API] or None
    return api, lines
