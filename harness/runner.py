"""Run specs through implementations: in this process, or in worker processes (--jobs).

Every (case, implementation) pair yields an Outcome: a trace, an error with its reason, or
"not supported". An implementation that raises, returns a malformed trace, or runs past the
timeout is an error for that case only. Worker processes also survive a plugin that kills its
process (a segfault, os.abort()): the worker is replaced and the case is an error.
"""

from __future__ import annotations

import multiprocessing as mp
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


@dataclass
class Outcome:
    """What one implementation did with one spec."""

    impl: str
    case: str
    status: str  # "ok" | "error" | "unsupported"
    trace: Trace | None = None
    message: str = ""
    seconds: float = 0.0  # the trace's, plus this case's share of prepare_seconds
    prepare_seconds: float = 0.0  # a share of the implementation's prepare() wall time

    def charge(self, share: float) -> Outcome:
        """This case's share of its implementation's prepare() time, counted in seconds."""
        self.seconds += share
        self.prepare_seconds = share
        return self


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float | None):
    """Raise _Timeout in this (main) thread after `seconds`; a no-op elsewhere."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


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
        with _time_limit(timeout), np.errstate(all="ignore"):  # NaN/Inf are findings
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
    except Exception as exc:  # an implementation's bug is a finding, not a crash
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Outcome(impl_name, spec.name, "error",
                       message=f"raised {type(exc).__name__}: {exc} "
                               f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
                       seconds=time.perf_counter() - start)
    return Outcome(impl_name, spec.name, "ok", trace=trace, seconds=time.perf_counter() - start)


# ---------------------------------------------------------------- worker processes

def _worker_main(conn, impl_names: list[str]) -> None:
    """Load the implementations, say so, then receive (impl, [spec documents], prepare,
    timeout) tasks and send back a list of Outcomes until told to stop. Loading first, with
    each prepare([]) hook (which may import a framework: see impls/torch_autograd.py), keeps
    import time out of the timeouts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    for name in impl_names:
        if prepares(name):
            prepare_quietly(get(name), [])
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        impl_name, docs, prepare, timeout = task
        specs = [spec_from_dict(doc) for doc in docs]
        share = prepare_quietly(get(impl_name), specs) / len(specs) if prepare else 0.0
        conn.send([run_one(impl_name, spec, timeout).charge(share) for spec in specs])


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

    The tasks of an implementation with a prepare() hook go first, in one batch per worker
    (its cases dealt round-robin), each batch prepared where it runs as in one process (jax
    compiles its share of the cases on that worker's core), each case under the timeout;
    the others go one by one to whichever worker is free. A batch whose worker crashes or
    overruns timeout x (cases + 1) is retried case by case, unprepared."""
    ctx = mp.get_context("spawn")
    timeout = timeout or DEFAULT_TIMEOUT
    results: dict[int, Outcome] = {}
    names = list(dict.fromkeys(name for name, _ in tasks))
    prepared = {n for n in names if prepares(n)}
    units = []
    for name in (n for n in names if n in prepared):
        idx = [i for i, (n, _) in enumerate(tasks) if n == name]
        parts = min(jobs, len(idx))
        units += [(True, idx[k::parts]) for k in range(parts)]
    units += [(False, [i]) for i, (n, _) in enumerate(tasks) if n not in prepared]
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
                            timeout if batch else None), (batch, idx),
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
                    pending.extend((False, [i]) for i in reversed(idx))
                    continue
                for i, outcome in zip(idx, outcomes):
                    finish(i, outcome)
    finally:
        for w in workers:
            if w.task is not None:
                w.kill()
            else:
                w.stop()
    return [results[i] for i in range(len(tasks))]


def run_tasks(tasks: list[tuple[str, Spec]], jobs: int = 1, timeout: float | None = None,
              on_done=None) -> list[Outcome]:
    """All (impl, spec) tasks, in this process when jobs == 1, else on worker processes.
    In this process, implementations with a prepare() hook get it on a background thread
    first and their tasks run last, an implementation at a time in the order their
    preparations finish, so preparation overlaps the others' traces."""
    if jobs > 1:
        return run_parallel(tasks, jobs, timeout, on_done)
    ahead = {}
    for name in dict.fromkeys(n for n, _ in tasks):
        started = preparation(name, [s for n, s in tasks if n == name], timeout)
        if started:
            ahead[name] = started
    out: list[Outcome | None] = [None] * len(tasks)

    def run(i: int, share: float = 0.0) -> None:
        name, spec = tasks[i]
        out[i] = run_one(name, spec, timeout or DEFAULT_TIMEOUT).charge(share)
        if on_done:
            on_done(out[i])

    for i in range(len(tasks)):
        if tasks[i][0] not in ahead:
            run(i)
    while ahead:  # then one prepared implementation at a time, whichever is ready first
        name = Preparation.first_ready(ahead)
        share = ahead.pop(name).wait()
        for i in range(len(tasks)):
            if tasks[i][0] == name:
                run(i, share)
    return out


def prepare_quietly(info, specs: list[Spec]) -> float:
    """info.impl.prepare(the specs it supports); the seconds it took. An exception there is
    dropped: the hook only computes ahead, and trace() meets the same error and reports it."""
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            info.impl.prepare([s for s in specs if not unsupported_reason(info, s)])
    except Exception:
        pass
    return time.perf_counter() - start


def prepares(name: str) -> bool:
    """Whether the implementation is available and has a prepare() hook."""
    info = get(name)
    return info.available and getattr(info.impl, "prepare", None) is not None


def preparation(name: str, specs: list[Spec], timeout: float | None = None):
    """The implementation's prepare(specs) started on a background thread (a Preparation),
    or None when it has no such hook or is unavailable."""
    return Preparation(get(name), specs, timeout) if prepares(name) else None


class Preparation:
    """prepare_quietly(info, specs) on a daemon thread. wait() joins it (for at most the
    timeout per supported spec) and returns each task's share of the time it took, so the
    implementation's seconds include it."""

    def __init__(self, info, specs: list[Spec], timeout: float | None):
        supported = sum(not unsupported_reason(info, s) for s in specs)
        self.limit = (timeout or DEFAULT_TIMEOUT) * max(1, supported)
        self.share = max(1, len(specs))
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._run, args=(info, specs),
                                       name=f"prepare-{info.name}", daemon=True)
        self.thread.start()

    def _run(self, info, specs: list[Spec]) -> None:
        self.seconds = prepare_quietly(info, specs)

    def wait(self) -> float:
        if self.thread.is_alive():
            self.thread.join(self.limit)
        return self.seconds / self.share

    @staticmethod
    def first_ready(preparations: dict) -> str:
        """The name of the first preparation to finish (the first one's once any ran past
        its limit), polling every 20 ms."""
        deadline = time.monotonic() + min(p.limit for p in preparations.values())
        while time.monotonic() < deadline:
            for name, p in preparations.items():
                if not p.thread.is_alive():
                    return name
            time.sleep(0.02)
        return next(iter(preparations))


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
