"""All of a run's (implementation, case) tasks: every walled implementation in its worker
processes at once, the in-process ones (the shipped reference, numeric and exact, or all
under --in-process) on this thread meanwhile.

Each walled implementation is driven by threads of this process (one per worker: --jobs),
each sending one task at a time to its worker and waiting on its pipe, bounded by the
timeout, so jax compiles in its worker while torch traces in its own and exact here. An
implementation with trace_many() gets its cases as one call per worker (dealt round-robin),
bounded by the timeout for the whole call; where that call fails or overruns, its cases are
traced one by one, so that one case takes the blame, and their outcomes say so (`note`).
Outcomes reach `on_done` on this thread only, in the order they finish. This module owns all
the concurrency; adapters start none.
"""

from __future__ import annotations

import queue
import sys
import threading

from ..registry import get
from ..spec import Spec
from .inprocess import DEFAULT_TIMEOUT, _Ahead, _exit_guard, run_one, traces_many, walled
from ..outcome import ManyFailed, Outcome


def _noted(outcome: Outcome, note: str) -> Outcome:
    outcome.note = note
    return outcome


def _drive(impl, units: "queue.SimpleQueue", done: "queue.SimpleQueue", timeout: float,
           stop: threading.Event, spare: bool) -> None:
    """One worker's thread: take units (batch, [(index, spec)]) until none is left, put
    (index, Outcome) on `done`; a spare worker (--jobs) is stopped after."""
    try:
        while not stop.is_set():
            try:
                batch, items = units.get_nowait()
            except queue.Empty:
                return
            specs = [s for _, s in items]
            try:
                outs = _unit(impl, specs, batch, timeout)
            except Exception as exc:  # the run's own bug: these cases say so, the run goes on
                outs = [Outcome(impl.name, s.name, "error", message=f"the run could not read "
                                f"its answer: {type(exc).__name__}: {exc}") for s in specs]
            for (i, _), o in zip(items, outs):
                done.put((i, o))
    finally:
        if spare:
            impl.close()


def _unit(impl, specs: list[Spec], batch: bool, timeout: float) -> list[Outcome]:
    """The outcomes of one unit: a trace_many() batch (case by case where it fails), or
    each case."""
    if batch:
        try:
            return impl.run_many(specs, timeout)
        except ManyFailed as exc:
            return [_noted(impl.run_one(s, timeout), f"{exc}; traced case by case")
                    for s in specs]
    return [impl.run_one(s, timeout) for s in specs]


def _start_walled(tasks, names, jobs, timeout, done, stop) -> dict[str, int]:
    """Threads for each walled implementation's workers; how many tasks each will finish."""
    expected = {}
    for name in names:
        impl = get(name).impl
        idx = [i for i, (n, _) in enumerate(tasks) if n == name]
        parts = max(1, min(jobs, len(idx)))
        units: queue.SimpleQueue = queue.SimpleQueue()
        if traces_many(name):
            for k in range(parts):
                units.put((True, [(i, tasks[i][1]) for i in idx[k::parts]]))
        else:
            for i in idx:
                units.put((False, [(i, tasks[i][1])]))
        for k in range(parts):
            one = impl.copy() if k else impl
            threading.Thread(target=_drive, args=(one, units, done, timeout, stop, k > 0),
                             name=f"wall-{name}", daemon=True).start()
        expected[name] = len(idx)
    return expected


def run_tasks(tasks: list[tuple[str, Spec]], jobs: int = 1, timeout: float | None = None,
              on_done=None) -> list[Outcome]:
    """All (impl, spec) tasks; results in task order. Walled implementations trace in their
    workers (`jobs` each), the others here: each in-process implementation with trace_many()
    on a thread of its own, started first, bounded by the timeout for the whole call, the
    rest on this thread meanwhile (each under the timeout)."""
    timeout = timeout or DEFAULT_TIMEOUT
    names = list(dict.fromkeys(n for n, _ in tasks))
    out: list[Outcome | None] = [None] * len(tasks)
    done: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def finish(i: int, outcome: Outcome) -> None:
        out[i] = outcome
        if on_done:
            on_done(outcome)

    def drain(block: bool) -> None:
        while pending[0]:
            try:
                i, outcome = done.get(timeout=0.5) if block else done.get_nowait()
            except queue.Empty:
                if not block:
                    return
                continue
            pending[0] -= 1
            finish(i, outcome)

    remote = [n for n in names if get(n).available and walled(get(n))]
    pending = [sum(_start_walled(tasks, remote, jobs, timeout, done, stop).values())]
    try:
        with _exit_guard():
            here = [n for n in names if n not in remote]
            ahead = {n: _Ahead(n, [s for m, s in tasks if m == n], timeout)
                     for n in here if traces_many(n)}
            for name in here:
                if name not in ahead:  # its framework's import, outside the first case's timeout
                    get(name).version()
            for i, (name, spec) in enumerate(tasks):
                if name in here and name not in ahead:
                    finish(i, run_one(name, spec, timeout))
                    drain(False)
            for name, started in ahead.items():
                outcomes, failure = started.result()
                outcomes = iter(outcomes or [])
                for i, (n, spec) in enumerate(tasks):
                    if n == name:
                        outcome = next(outcomes, None) or _noted(
                            run_one(name, spec, timeout), f"{failure}; traced case by case")
                        finish(i, outcome)
                drain(False)
        drain(True)
    finally:
        stop.set()
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
