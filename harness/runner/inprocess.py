"""Tracing in this process: the shipped pure NumPy/mpmath implementations (reference,
numeric, exact), every implementation under --in-process, and every adapter inside its
worker (harness/wall/worker.py calls these same functions there).

Every (case, implementation) pair yields an Outcome: a trace, an error with its reason, or
"not supported". An implementation that raises, returns a malformed trace, or runs past the
timeout is an error for that case only. run_one() and run_many() of a walled implementation
(harness/wall/walled.py) go to its worker, which owns nothing of the run.

Guards against an adapter that defeats them, in this process: the timeout is a BaseException
raised again every second until the trace gives up (an adapter that catches every Exception
and retries still stops); SystemExit from a trace is an error of that case; os._exit() is
turned into an error while an implementation traces. Nothing here stops a segfault, a
thread's os._exit or an adapter that ignores SIGALRM: in the run's own process, only the
shipped code runs (the wall, docs/isolation.md).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager

import numpy as np

from ..compare import TraceError, check_trace
from ..outcome import ManyFailed, Outcome
from ..registry import Unsupported, get, unsupported_reason
from ..spec import Spec

DEFAULT_TIMEOUT = 300.0  # seconds per case and implementation
_until: list[float | None] = [None]  # bound_all(): a monotonic time no trace may pass
REPEAT = 1.0  # seconds between a timeout and the next, for an adapter that swallowed it


class _Timeout(BaseException):
    """The case's time is up: a BaseException, so that `except Exception` in an adapter does
    not swallow it."""


class _ExitCalled(BaseException):
    """An implementation called os._exit() while tracing in this process."""


class _time_limit:
    """Raise _Timeout in this (main) thread after `seconds`, and again every REPEAT seconds
    until the block is left (an adapter that swallowed it); a no-op on other threads (a signal
    handler runs on the main thread). An enclosing timer (pytest-timeout's, say) is put back
    on leaving, less the time spent inside, so that it still fires."""

    def __init__(self, seconds: float | None):
        on_main = threading.current_thread() is threading.main_thread()
        self.seconds = seconds if on_main else None
        self.active = False

    def _alarm(self, signum, frame):
        if self.active:
            raise _Timeout()

    def __enter__(self):
        if self.seconds:
            self.old = signal.signal(signal.SIGALRM, self._alarm)
            self.outer = signal.getitimer(signal.ITIMER_REAL)[0]  # 0.0: none
            self.start = time.monotonic()
            self.active = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds, REPEAT)
        return self

    def __exit__(self, *exc):
        if self.seconds:
            self.active = False  # first, so that an alarm from here on does nothing
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
            if self.outer:
                left = self.outer - (time.monotonic() - self.start)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
        return False


_REAL_EXIT = os._exit
_guarded: dict[int, int] = {}  # thread ident -> depth of its open _exit_guard()s
_guard_lock = threading.Lock()


def _refuse_exit(code=0):
    """os._exit while guards are open: an error on a thread inside one, the real exit on
    any other (the CLI's own final exit while a hung trace_many thread still holds one)."""
    if _guarded.get(threading.get_ident()):
        raise _ExitCalled(code)
    _REAL_EXIT(code)


@contextmanager
def _exit_guard():
    """os._exit() raises _ExitCalled on this thread while an implementation runs in this
    process: a plugin must not end the run (with exit code 0, a pass to CI) before any
    verdict is written. Guards nest and run on several threads at once; os._exit is the
    real one again when the last one ends."""
    me = threading.get_ident()
    with _guard_lock:
        _guarded[me] = _guarded.get(me, 0) + 1
        os._exit = _refuse_exit
    try:
        yield
    finally:
        with _guard_lock:
            _guarded[me] -= 1
            if not _guarded[me]:
                del _guarded[me]
            if not _guarded:
                os._exit = _REAL_EXIT


def _raised(exc: BaseException) -> str:
    """'raised ValueError: why (adapter.py:12)', for an error outcome."""
    where = traceback.extract_tb(exc.__traceback__)
    at = f" ({where[-1].filename.rsplit('/', 1)[-1]}:{where[-1].lineno})" if where else ""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}){at}"
    if isinstance(exc, _ExitCalled):
        return f"called os._exit({exc.args[0]!r}){at}"
    return f"raised {type(exc).__name__}: {exc}{at}"


def bound_all(until: float | None) -> None:
    """Bound every trace from now on to end by `until` (time.monotonic()), whatever its own
    timeout: a command with a wall-clock budget (fuzz --max-time) cannot hang on an adapter."""
    _until[0] = until


def bounded(timeout: float | None) -> float:
    """The timeout of a trace that starts now: its own (or the default), cut at bound_all's."""
    timeout = timeout or DEFAULT_TIMEOUT
    if _until[0] is None:
        return timeout
    return max(0.01, min(timeout, _until[0] - time.monotonic()))


def run_one(impl_name: str, spec: Spec, timeout: float | None = None) -> Outcome:
    """Trace one spec with one implementation (in this process, or in its worker); never
    raises."""
    timeout = bounded(timeout)
    info = get(impl_name)
    if not info.available:
        return Outcome(impl_name, spec.name, "error", message=f"unavailable: {info.reason}")
    if walled(info):
        return info.impl.run_one(spec, timeout)
    reason = unsupported_reason(info, spec)
    if reason:
        return Outcome(impl_name, spec.name, "unsupported", message=reason)
    start = time.perf_counter()
    try:
        with _exit_guard(), _time_limit(timeout), np.errstate(all="ignore"):  # NaN/Inf: findings
            trace = info.impl.trace(spec)
        check_trace(spec, trace)
    except Unsupported as exc:
        return Outcome(impl_name, spec.name, "unsupported", message=str(exc),
                       seconds=time.perf_counter() - start)
    except _Timeout:
        return Outcome(impl_name, spec.name, "error", message=f"timed out after {timeout:g} s",
                       seconds=time.perf_counter() - start)
    except TraceError as exc:
        return Outcome(impl_name, spec.name, "error", message=f"malformed trace: {exc}",
                       seconds=time.perf_counter() - start)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # an implementation's bug (sys.exit too) is a finding
        return Outcome(impl_name, spec.name, "error", message=_raised(exc),
                       seconds=time.perf_counter() - start)
    return Outcome(impl_name, spec.name, "ok", trace=trace, seconds=time.perf_counter() - start)


def run_many(impl_name: str, specs: list[Spec], timeout: float | None = None) -> list[Outcome]:
    """trace_many() of the specs the implementation supports, each trace checked; an equal
    share of the call's time per case. Raises ManyFailed when the call raised or returned
    the wrong number of traces (or, in a worker, overran `timeout` for the whole call)."""
    info = get(impl_name)
    if walled(info):
        return info.impl.run_many(specs, bounded(timeout))
    reasons = [unsupported_reason(info, s) for s in specs]
    todo = [s for s, why in zip(specs, reasons) if not why]
    start = time.perf_counter()
    try:
        with _exit_guard(), np.errstate(all="ignore"):
            traces = list(info.impl.trace_many(todo)) if todo else []
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise ManyFailed(f"trace_many {_raised(exc)}") from None
    if len(traces) != len(todo):
        raise ManyFailed(f"trace_many returned {len(traces)} traces for {len(todo)} cases")
    share = (time.perf_counter() - start) / max(1, len(todo))
    traced = iter(traces)
    out = []
    for spec, why in zip(specs, reasons):
        if why:
            out.append(Outcome(impl_name, spec.name, "unsupported", message=why))
            continue
        trace = next(traced)
        try:
            check_trace(spec, trace)
        except Exception as exc:  # TraceError, or whatever a broken object raises when read
            out.append(Outcome(impl_name, spec.name, "error", message=f"malformed trace: {exc}",
                               seconds=share))
            continue
        out.append(Outcome(impl_name, spec.name, "ok", trace=trace, seconds=share))
    return out


def walled(info) -> bool:
    """Whether the implementation's adapter lives in a worker process."""
    return getattr(info.impl, "walled", False) is True


def traces_many(name: str) -> bool:
    """Whether the implementation is available and has trace_many()."""
    info = get(name)
    return info.available and callable(getattr(info.impl, "trace_many", None))


# ---------------------------------------------------------------- in this process

class _Ahead:
    """run_many(name, specs) on a daemon thread. result() waits for it, at most `bound`
    seconds for the whole call, and gives its outcomes, or None and why (the caller then
    traces case by case)."""

    def __init__(self, name: str, specs: list[Spec], bound: float):
        self.bound = bound
        self.outcomes, self.failure = None, ""
        self.thread = threading.Thread(target=self._run, args=(name, specs),
                                       name=f"trace-many-{name}", daemon=True)
        self.thread.start()

    def _run(self, name: str, specs: list[Spec]) -> None:
        try:
            self.outcomes = run_many(name, specs)
        except ManyFailed as exc:
            self.failure = str(exc)

    def result(self) -> tuple[list[Outcome] | None, str]:
        self.thread.join(self.bound)
        if self.thread.is_alive():  # left running: a thread cannot be stopped
            return None, f"trace_many did not return within {self.bound:g} s"
        return self.outcomes, self.failure
