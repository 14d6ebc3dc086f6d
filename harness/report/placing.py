"""Putting a finished report directory in place so that its path holds a whole report at every
instant: the old one or the new one, never neither and never a half.

The new report is built in a hidden sibling, .NAME.incomplete-PID; with --force the old one is
moved aside to .NAME.old-PID, the new one renamed in, then the old one removed, and a failure
in between moves the old one back. Ctrl-C and SIGTERM wait until the swap is done. Without
--force the rename itself is the existence check (a directory is never renamed onto a non-empty
one), so of two runs writing the same path the second is refused. What a killed run left behind
is dealt with by the next write to that path (tidy).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path


def hidden(final: Path, kind: str) -> Path:
    """.NAME.<kind>-PID beside final: 'incomplete' for the report being built, 'old' for the
    one being replaced."""
    return final.parent / f".{final.name}.{kind}-{os.getpid()}"


def target(out_dir: Path) -> Path:
    """Where a report for out_dir goes: out_dir, or the directory it links to (a symbolic
    link is never moved; what it points to is replaced)."""
    return Path(os.path.realpath(out_dir)) if out_dir.is_symlink() else out_dir


def reason(exc: OSError) -> str:
    """An OSError in a few words: 'No space left on device: /x/run.json'."""
    if exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return exc.strerror or str(exc)


def warn(message: str) -> None:
    print(f"backprop-harness: warning: {message}", file=sys.stderr)


@contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait until the block is done (in the main thread, the only one
    they reach as exceptions)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held, saved = [], {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not None:  # None: a handler Python did not install
            saved[sig] = signal.signal(sig, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        for sig in held:
            signal.raise_signal(sig)


def put_in_place(tmp: Path, final: Path, force: bool) -> None:
    """Rename the finished tmp to final. Without force an OSError when final exists (and is
    not an empty directory) at that moment; with force the old final is replaced, or left as
    it was if anything fails before the new one is in. An old one that cannot be removed
    afterwards is named in a warning; the new report stays."""
    with signals_held():
        if not force:
            os.rename(tmp, final)
            return
        old = hidden(final, "old") if os.path.lexists(final) else None
        if old:
            os.rename(final, old)
        try:
            os.rename(tmp, final)
        except BaseException:
            if old:
                os.rename(old, final)
            raise
        if old:
            try:
                shutil.rmtree(old)
            except OSError as exc:
                warn(f"the replaced report could not be removed: {old} ({reason(exc)})")


def tidy(final: Path) -> None:
    """Deal with what killed runs left beside final (.NAME.incomplete-PID, .NAME.old-PID of a
    process no longer alive): when final is missing, the newest whole report among them (a
    finished new one not yet moved in, else an old one moved aside) goes back to final; the
    rest is removed, or named in a warning when it cannot be."""
    pattern = re.compile(rf"\.{re.escape(final.name)}\.(incomplete|old)-(\d+)")
    try:
        found = [(m[1], final.parent / m[0]) for m in map(pattern.fullmatch,
                                                          os.listdir(final.parent)) if m]
    except OSError:
        return
    stale = [(kind, p) for kind, p in found if p.is_dir() and not p.is_symlink()
             and not _alive(int(p.name.rsplit("-", 1)[1]))]
    for kind, p in sorted(stale, key=lambda kp: kp[0] != "incomplete"):
        whole = kind == "old" or not (p / "INCOMPLETE").exists()
        try:
            if whole and not os.path.lexists(final):
                os.rename(p, final)
                warn(f"restored {final} from {p.name}, left by an interrupted run")
            else:
                shutil.rmtree(p)
        except OSError as exc:
            warn(f"could not remove {p}, left by an interrupted run ({reason(exc)})")


def _alive(pid: int) -> bool:
    """Whether another process with this id runs (this process's own leftovers are stale:
    it writes one report at a time)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except (OverflowError, ValueError):
        return False
    return True
