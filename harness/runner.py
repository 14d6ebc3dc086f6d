"""Run specs through implementations: in this process, or in worker processes (--jobs).

Every (case, implementation) pair yields an Outcome: a trace, an error with its reason, or
"not supported". An implementation that raises, returns a malformed trace, or runs past the
timeout is an error for that case only. Worker processes also survive a plugin that kills its
process (a segfault, os.abort()): the worker is replaced and the case is an error.

An implementation with `trace_many` gets its cases in one call: in this process on a thread
of its own, started first, while the others trace on the main thread (jax compiles while
torch imports and traces: XLA releases the GIL); under --jobs as one batch per worker. If
that call raises, overruns its bound (--timeout for the whole call) or dies, its cases are
traced one by one, so that one case takes the blame, and their outcomes say so (`note`).
This module owns all the concurrency; adapters start none.

Guards against an adapter that defeats them, in this process: the timeout is a BaseException
raised again every second until the trace gives up (an adapter that catches every Exception
and retries still stops); SystemExit from a trace is an error of that case; os._exit() is
turned into an error while an implementation traces (run_one(), run_many()), in worker
processes too. What only a process boundary stops (a
segfault, os.abort(), a signal that kills the process) needs --jobs.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait

import numpy as np

from .compare import TraceError, check_trace
from .errors import HarnessError
from .registry import Unsupported, get, unsupported_reason
from .spec import Spec, spec_from_dict
from .trace import Trace

DEFAULT_TIMEOUT = 300.0  # seconds per case and implementation
STARTUP_TIMEOUT = 300.0  # seconds for a worker to import its frameworks
REPEAT = 1.0  # seconds between a timeout and the next, for an adapter that swallowed it


@dataclass
class Outcome:
    """What one implementation did with one spec."""

    impl: str
    case: str
    status: str  # "ok" | "error" | "unsupported"
    trace: Trace | None = None
    message: str = ""
    seconds: float = 0.0  # the trace's (a share of trace_many's, for a case traced there)
    note: str = ""  # how it was traced, where that is worth a reader's word (a fallback)


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


def run_one(impl_name: str, spec: Spec, timeout: float | None = None) -> Outcome:
    """Trace one spec with one implementation in this process; never raises."""
    info = get(impl_name)
    if not info.available:
        return Outcome(impl_name, spec.name, "error", message=f"unavailable: {info.reason}")
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


class ManyFailed(Exception):
    """trace_many() gave no usable answer; the message says why (its cases are then traced
    one by one)."""


def run_many(impl_name: str, specs: list[Spec]) -> list[Outcome]:
    """trace_many() of the specs the implementation supports, each trace checked; an equal
    share of the call's time per case. Raises ManyFailed when the call raised or returned
    the wrong number of traces."""
    info = get(impl_name)
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


def traces_many(name: str) -> bool:
    """Whether the implementation is available and has trace_many()."""
    info = get(name)
    return info.available and callable(getattr(info.impl, "trace_many", None))


# ---------------------------------------------------------------- worker processes

def _worker_main(conn, impl_names: list[str]) -> None:
    """Load the implementations (version() imports a framework that loads lazily, keeping
    import time out of the timeouts), say so, then receive (impl, [spec documents], many,
    timeout) tasks and send back a list of Outcomes until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    for name in impl_names:
        get(name).version()  # never raises: a misbehaving one's traces will say what is wrong
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        impl_name, docs, many, timeout = task
        specs = [spec_from_dict(doc) for doc in docs]
        outcomes = _many_or_each(impl_name, specs, timeout) if many else \
            [run_one(impl_name, spec, timeout) for spec in specs]
        try:
            conn.send(outcomes)
        except Exception as exc:  # a trace that cannot be pickled back
            conn.send([Outcome(impl_name, spec.name, "error",
                               message=f"its trace cannot be sent back from the worker: "
                                       f"{type(exc).__name__}: {exc}") for spec in specs])


def _many_or_each(impl_name: str, specs: list[Spec], timeout: float) -> list[Outcome]:
    """run_many(), or, where it fails, each case by run_one() with a note saying why."""
    try:
        return run_many(impl_name, specs)
    except ManyFailed as exc:
        return [_noted(run_one(impl_name, spec, timeout), f"{exc}; traced case by case")
                for spec in specs]


def _noted(outcome: Outcome, note: str) -> Outcome:
    outcome.note = note
    return outcome


class _Worker:
    def __init__(self, ctx, impl_names: list[str]):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, impl_names), daemon=True)
        self.proc.start()
        child.close()
        self.task = None
        self.deadline = 0.0

    def wait_ready(self) -> "_Worker":
        """Block until the worker has loaded its implementations."""
        try:
            ready = self.conn.poll(STARTUP_TIMEOUT) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise HarnessError(f"a worker process did not start within {STARTUP_TIMEOUT:g} s "
                               f"(exit code {self.proc.exitcode})")
        return self

    def send(self, task, key, timeout):
        self.task, self.deadline = key, time.monotonic() + timeout
        self.conn.send(task)

    def kill(self):
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self):
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.kill()


def run_parallel(tasks: list[tuple[str, Spec]], jobs: int, timeout: float | None,
                 on_done=None) -> list[Outcome]:
    """Run (impl, spec) tasks on `jobs` worker processes; results in task order.

    The tasks of an implementation with trace_many() go first, in one batch per worker (its
    cases dealt round-robin), each batch one trace_many() call; the others go one by one to
    whichever worker is free. A batch whose worker crashes or overruns timeout x (cases + 1)
    is retried case by case."""
    ctx = mp.get_context("spawn")
    timeout = timeout or DEFAULT_TIMEOUT
    results: dict[int, Outcome] = {}
    retried: dict[int, str] = {}  # task index -> why its batch was retried case by case
    names = list(dict.fromkeys(name for name, _ in tasks))
    many = {n for n in names if traces_many(n)}
    units = []
    for name in (n for n in names if n in many):
        idx = [i for i, (n, _) in enumerate(tasks) if n == name]
        parts = min(jobs, len(idx))
        units += [(True, idx[k::parts]) for k in range(parts)]
    units += [(False, [i]) for i, (n, _) in enumerate(tasks) if n not in many]
    pending = units[::-1]
    workers = [_Worker(ctx, names) for _ in range(min(jobs, len(units)) or 1)]

    def finish(i: int, outcome: Outcome) -> None:
        results[i] = outcome
        if on_done:
            on_done(outcome)

    try:
        for w in workers:
            w.wait_ready()
        while pending or any(w.task is not None for w in workers):
            for w in workers:
                if w.task is None and pending:
                    batch, idx = pending.pop()
                    w.send((tasks[idx[0]][0], [tasks[i][1].to_dict() for i in idx], batch,
                            timeout), (batch, idx),
                           timeout * (len(idx) + 1) if batch else timeout)
            busy = [w for w in workers if w.task is not None]
            now = time.monotonic()
            ready = wait([w.conn for w in busy], max(0.0, min(w.deadline for w in busy) - now))
            for k, w in enumerate(workers):
                if w.task is None:
                    continue
                batch, idx = w.task
                name, spec = tasks[idx[0]]
                lost = True  # the worker died or overran; a batch is then retried
                if w.conn in ready:
                    try:
                        outcomes, lost = w.conn.recv(), False
                    except (EOFError, OSError):
                        w.proc.join(5)
                        outcomes = [Outcome(name, spec.name, "error",
                                            message=f"crashed its process (exit code "
                                                    f"{w.proc.exitcode})")]
                        workers[k] = _Worker(ctx, names).wait_ready()
                elif time.monotonic() >= w.deadline:
                    w.kill()
                    outcomes = [Outcome(name, spec.name, "error",
                                        message=f"timed out after {timeout:g} s",
                                        seconds=timeout)]
                    workers[k] = _Worker(ctx, names).wait_ready()
                else:
                    continue
                w.task = None
                if lost and batch:  # retried case by case, so that one case takes the blame
                    why = "crashed its worker" if w.conn in ready else \
                        f"did not return within {timeout * (len(idx) + 1):g} s"
                    retried.update({i: f"trace_many {why}; traced case by case" for i in idx})
                    pending.extend((False, [i]) for i in reversed(idx))
                    continue
                for i, outcome in zip(idx, outcomes):
                    finish(i, _noted(outcome, retried[i]) if i in retried else outcome)
    finally:
        for w in workers:
            if w.task is not None:
                w.kill()
            else:
                w.stop()
    return [results[i] for i in range(len(tasks))]


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


def run_tasks(tasks: list[tuple[str, Spec]], jobs: int = 1, timeout: float | None = None,
              on_done=None) -> list[Outcome]:
    """All (impl, spec) tasks, in this process when jobs == 1, else on worker processes.
    In this process, each implementation with trace_many() traces its cases on a thread of
    its own, started first, bounded by the timeout for the whole call; the other tasks run on
    this thread meanwhile (each under the timeout), then those implementations' outcomes are
    collected in turn."""
    if jobs > 1:
        return run_parallel(tasks, jobs, timeout, on_done)
    timeout = timeout or DEFAULT_TIMEOUT
    names = list(dict.fromkeys(n for n, _ in tasks))
    out: list[Outcome | None] = [None] * len(tasks)

    def finish(i: int, outcome: Outcome) -> None:
        out[i] = outcome
        if on_done:
            on_done(outcome)

    with _exit_guard():
        ahead = {n: _Ahead(n, [s for m, s in tasks if m == n], timeout)
                 for n in names if traces_many(n)}
        for name in names:
            if name not in ahead:  # its framework's import, outside the first case's timeout
                get(name).version()
        for i, (name, spec) in enumerate(tasks):
            if name not in ahead:
                finish(i, run_one(name, spec, timeout))
        for name, started in ahead.items():
            outcomes, failure = started.result()
            outcomes = iter(outcomes or [])
            for i, (n, spec) in enumerate(tasks):
                if n == name:
                    outcome = next(outcomes, None) or _noted(
                        run_one(name, spec, timeout), f"{failure}; traced case by case")
                    finish(i, outcome)
    return out


def progress(total: int, stream=sys.stderr):
    """A one-line progress counter on a terminal; silent otherwise."""
    done = [0]
    if not stream.isatty():
        return None

    def tick(outcome: Outcome):
        done[0] += 1
        stream.write(f"\r[{done[0]}/{total}] {outcome.case[:50]:<50} {outcome.impl:<10}")
        if done[0] == total:
            stream.write("\r" + " " * 70 + "\r")
        stream.flush()

    return tick
