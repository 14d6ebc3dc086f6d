"""The worker process: one implementation's adapter, loaded and called here, never in the run.

Started by harness/wall/proxy.py as `python -m harness.wall.worker` in a temporary folder
of its own, with the protocol on its stdin and stdout (moved aside at once: what the adapter
prints goes to the worker's log, not to the run). It reads one task at a time and answers
each with plain data (harness/wall/protocol.py):

    {"op": "load", "name", "path", "memory"}   -> {"describe": {...}} | {"unavailable": why}
    {"op": "run", "specs": [...], "many"}      -> {"outcomes": [...]} | {"failed": why}
    {"op": "unsupported", "spec": {...}}       -> {"reason": why | None}
    {"op": "stacked", "stack": {...}}          -> {"outcomes": [one, its trace stacked]}
    {"op": "stop"}                             -> (exits)

Each trace is made by the in-process runner (harness/runner/inprocess.py), so the guards
that turn sys.exit(), os._exit() and exceptions into an error of the case hold here too;
whatever gets past them (a segfault, a thread's os._exit, a hang) ends or stalls only this
process, and the run, which owns every bound, says so and starts another.
"""

from __future__ import annotations

import os
import resource
import signal
import sys

from .protocol import FOREVER, Reader, pack

ATTRS = ("mode", "matmul_precision", "precision", "device")  # read by reproduce.py's templates


def _send(fd: int, doc, arrays=()) -> None:
    data = memoryview(pack(doc, list(arrays)))
    while data:
        data = data[os.write(fd, data):]


def _plain_attr(value):
    """An adapter's mode attribute as plain data (a jax Device as its platform)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(getattr(value, "platform", value))


def describe(info) -> dict:
    """What the run needs to know of a loaded adapter, as plain data."""
    from ..metadata import read
    impl = info.impl
    version, settings, problem = read(impl)
    xfails = getattr(impl, "xfails", None)
    return {"name": str(impl.name), "version": version, "settings": settings,
            "problem": problem, "supports": info.supports,
            "accuracy": getattr(impl, "accuracy", None),
            "xfails": None if xfails is None else os.fspath(xfails),
            "shared_with_reference": [str(g) for g in
                                      getattr(impl, "shared_with_reference", ())],
            "preconditions": list(getattr(impl, "preconditions", ()) or ()),
            "declines": callable(getattr(impl, "unsupported", None)),
            "many": callable(getattr(impl, "trace_many", None)),
            "stacked": callable(getattr(impl, "trace_stacked", None)),
            "module": type(impl).__module__,
            "attrs": {a: _plain_attr(getattr(impl, a)) for a in ATTRS if hasattr(impl, a)}}


def _load(task) -> tuple[dict, object]:
    for p in reversed(task.get("path") or []):
        if p not in sys.path:
            sys.path.insert(0, p)
    if task.get("memory"):
        limit = int(task["memory"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from .. import local_impls, registry
    local_impls.CALLER_CWD = task.get("cwd")  # where a folder shadowing a package would be
    registry.set_wall(False)
    info = registry.get(task["name"])
    if not info.available:
        return {"unavailable": info.reason}, None
    _warm(info)
    return {"describe": describe(info)}, info


def _warm(info) -> None:
    """Import now what tracing needs, so that no case's time pays for it: the runner, the
    spec's reader, the messages, and ml_dtypes where the adapter may get bfloat16 cases."""
    from ..runner import inprocess  # noqa: F401
    from ..spec import spec_from_dict  # noqa: F401
    from . import messages  # noqa: F401
    if "bfloat16" in info.supports.get("dtypes", ["bfloat16"]):
        try:
            import ml_dtypes  # noqa: F401
        except ImportError:  # its bfloat16 cases will say so
            pass


def _one(name: str, spec):
    """run_one(), with whatever gets past its guards (a KeyboardInterrupt, which in the run's
    process is the user's Ctrl-C; sys.exit() from unsupported()) as the case's error."""
    from ..outcome import Outcome
    from ..runner.inprocess import _raised, run_one
    try:
        return run_one(name, spec)
    except BaseException as exc:
        return Outcome(name, spec.name, "error", message=_raised(exc))


def _outcomes(name: str, task) -> tuple[dict, list]:
    from ..outcome import ManyFailed, Outcome
    from ..runner.inprocess import run_many
    from ..spec import spec_from_dict
    from .messages import outcome_doc
    specs = [spec_from_dict(doc) for doc in task["specs"]]
    if task.get("many"):
        try:
            outcomes = run_many(name, specs)
        except ManyFailed as exc:
            return {"failed": str(exc)}, []
    else:
        outcomes = [_one(name, spec) for spec in specs]
    arrays: list = []
    docs = []
    for spec, o in zip(specs, outcomes):
        start = len(arrays)
        try:
            docs.append(outcome_doc(o, arrays))
        except BaseException as exc:  # an object that cannot be read as numbers
            del arrays[start:]
            why = f"its trace cannot be sent back from the worker: {type(exc).__name__}: {exc}"
            docs.append(outcome_doc(Outcome(name, spec.name, "error", message=why), arrays))
    return {"outcomes": docs}, arrays


def _unsupported(info, task) -> dict:
    from .. import registry
    from ..spec import spec_from_dict
    reason = registry.unsupported_reason(info, spec_from_dict(task["spec"]))
    return {"reason": None if reason is None else str.__str__(reason)
            if isinstance(reason, str) else str(reason)}


def _stacked(info, task) -> tuple[dict, list]:
    from ..batched.drawing import StackLayer, Stack
    from ..outcome import Outcome
    from .messages import outcome_doc
    doc = dict(task["stack"])
    doc["layers"] = tuple(StackLayer(**layer) for layer in doc["layers"])
    stack = Stack(**doc)
    arrays: list = []
    trace = info.impl.trace_stacked(stack)
    return {"outcomes": [outcome_doc(Outcome(info.name, stack.name, "ok", trace=trace),
                                     arrays)]}, arrays


def main() -> None:
    """Serve one implementation until told to stop or the run closes the pipe."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)  # the adapter's prints go to the log, never into the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run handles Ctrl-C
    reader = Reader(proto_in)
    info = None
    while True:
        try:
            task = reader.read(FOREVER, 1 << 40)
        except Exception:  # the run has gone
            return
        op = task.get("op")
        if op == "stop":
            return
        try:
            if op == "load":
                reply, info = _load(task)
                arrays: list = []
            elif op == "run":
                reply, arrays = _outcomes(info.name, task)
            elif op == "unsupported":
                reply, arrays = _unsupported(info, task), []
            else:
                reply, arrays = _stacked(info, task)
        except BaseException as exc:  # KeyboardInterrupt and SystemExit of an adapter too
            reply, arrays = {"failed": f"{type(exc).__name__}: {exc}"}, []
        _send(proto_out, reply, arrays)


if __name__ == "__main__":
    main()
