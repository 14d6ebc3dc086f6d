"""WalledImpl: an implementation whose adapter lives in a worker process (harness/wall/).

It stands for the adapter in the run: name, version(), settings(), supports, accuracy,
xfails and shared_with_reference are the plain data the worker described at load (strings
cleaned, checked again here); trace(), trace_many() and trace_stacked() are calls to the
worker with the adapter's contract, and run_one()/run_many() the runner's, bounded. A
worker that is lost (killed for its time, dead, babbling) is started again at the next call.
"""

from __future__ import annotations

import threading
import time

from .. import metadata
from ..compare import TraceError, check_trace, expected_shape, quantities
from ..outcome import ManyFailed, Outcome
from ..preconditions import check as check_preconditions
from .messages import outcome_from
from .protocol import ProtocolError, array_ref
from .proxy import LOAD_TIMEOUT, Worker, WorkerLost

DEFAULT_TIMEOUT = 300.0  # seconds per case (and per trace_many call) when none is given
_starting: dict[tuple, Worker] = {}  # (name, python): a worker started, not yet loaded
_lock = threading.Lock()


def start(name: str, python: str) -> None:
    """Start a worker for `name` now, so that its framework imports while others load."""
    with _lock:
        if (name, python) not in _starting:
            try:
                _starting[name, python] = Worker(name, python)
            except WorkerLost:
                pass  # load() tries again and says why


def drop_started() -> None:
    """Stop the workers started and never loaded."""
    with _lock:
        workers = list(_starting.values())
        _starting.clear()
    for worker in workers:
        worker.kill()


def load(name: str, python: str, timeout: float | None = None):
    """(WalledImpl, "") for a worker that loaded the adapter, else (None, why) in one line."""
    with _lock:
        worker = _starting.pop((name, python), None)
    try:
        worker = worker or Worker(name, python)
        reply = worker.call(None, max(LOAD_TIMEOUT, timeout or 0), sent=True)
    except WorkerLost as exc:
        return None, f"its worker did not load it: {exc}"
    if "describe" not in reply:
        worker.stop()
        why = reply.get("unavailable") or f"its worker failed to load it: {reply.get('failed')}"
        return None, str(why)
    try:
        return WalledImpl(name, python, reply["describe"], worker), ""
    except (ProtocolError, TypeError, KeyError) as exc:
        worker.stop()
        return None, f"its worker described it wrongly: {exc}"


def trace_bytes(spec) -> int:
    """The most bytes a trace of `spec` can hold: its shapes at 8 bytes a number."""
    total = 0
    for _, quantity, layer in quantities(len(spec.layers), spec.steps):
        n = 1
        for d in expected_shape(spec, quantity, layer):
            n *= d
        total += n
    return 8 * total


class WalledImpl:
    """The adapter of `name`, in its worker (see the module's docstring)."""

    walled = True

    def __init__(self, name: str, python: str, doc: dict, worker: Worker):
        self.python, self.worker = python, worker
        self.name = name
        version, settings, problem = doc["version"], doc["settings"], doc["problem"]
        self.metadata = (version, settings, problem) if problem is None and \
            metadata.problem(version, settings) is None else ("", {}, problem or
                                                              metadata.problem(version, settings))
        self.supports = doc["supports"]
        why = metadata.supports_problem(self.supports)
        if why:
            raise ProtocolError(why)
        accuracy = doc.get("accuracy")
        self.accuracy = accuracy if isinstance(accuracy, dict) and metadata.plain(accuracy) \
            else None
        xfails = doc.get("xfails")
        self.xfails = xfails if isinstance(xfails, str) else None
        self.shared_with_reference = tuple(g for g in doc.get("shared_with_reference", [])
                                           if isinstance(g, str))
        self.preconditions = tuple(doc.get("preconditions") or ())
        why = check_preconditions(self.preconditions)
        if why:
            raise ProtocolError(why)
        self.declines, self.many = bool(doc.get("declines")), bool(doc.get("many"))
        self.adapter_module = str(doc.get("module", ""))
        attrs = doc.get("attrs")
        self.attrs = attrs if isinstance(attrs, dict) and metadata.plain(attrs) else {}
        self.stacked = bool(doc.get("stacked"))
        self._bind()

    def _bind(self) -> None:
        """The adapter's optional methods, where it has them (callers test for them)."""
        if self.stacked:
            self.trace_stacked = self._trace_stacked
        if self.declines:
            self.unsupported = self._unsupported
        if self.many:
            self.trace_many = self._trace_many
        self.lock = threading.Lock()

    def version(self) -> str:
        return self.metadata[0]

    def settings(self) -> dict:
        return self.metadata[1]

    def copy(self) -> "WalledImpl":
        """Another worker of the same implementation (--jobs), started at its first call."""
        twin = object.__new__(WalledImpl)
        twin.__dict__.update(self.__dict__)
        twin.worker = None  # started at its first call
        twin._bind()
        return twin

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    # ------------------------------------------------------------ calls to the worker

    def _call(self, doc: dict, seconds: float, max_bytes: int, arrays=()) -> dict:
        """One call, with a worker started (and loaded) again if the last one was lost."""
        if self.worker is None or self.worker.proc.poll() is not None:
            if self.worker is not None:
                self.worker.stop()
            self.worker = Worker(self.name, self.python)
            reply = self.worker.call(None, max(LOAD_TIMEOUT, seconds), sent=True)
            if "describe" not in reply:
                self.worker.stop()
                self.worker = None
                raise WorkerLost("its worker did not load it again")
        try:
            return self.worker.call(doc, seconds, max_bytes, arrays=arrays)
        except WorkerLost:
            self.worker = None
            raise

    def _outcomes(self, specs, many: bool, seconds: float) -> list[Outcome]:
        """Outcomes of the specs: those its `supports` excludes decided here (the worker's
        environment may lack what such a spec needs: ml_dtypes for bfloat16), the others
        by one call of the worker."""
        out = {}
        for k, spec in enumerate(specs):
            why = metadata.outside_supports(self.supports, self.name, spec)
            if why:
                out[k] = Outcome(self.name, spec.name, "unsupported", message=why)
        todo = [k for k in range(len(specs)) if k not in out]
        if todo:
            out.update(zip(todo, self._traced([specs[k] for k in todo], many, seconds)))
        return [out[k] for k in range(len(specs))]

    def _traced(self, specs, many: bool, seconds: float) -> list[Outcome]:
        doc = {"op": "run", "specs": [s.to_dict() for s in specs], "many": many}
        with self.lock:
            reply = self._call(doc, seconds, sum(map(trace_bytes, specs)))
        if "failed" in reply:
            raise ManyFailed(str(reply["failed"]))
        docs = reply.get("outcomes")
        if not isinstance(docs, list) or len(docs) != len(specs):
            raise ProtocolError("the wrong number of outcomes")
        out = []
        for spec, d in zip(specs, docs):
            o = outcome_from(d, self.name, spec.name, Outcome)
            if o.trace is not None:
                try:
                    check_trace(spec, o.trace)
                except TraceError as exc:
                    o = Outcome(self.name, spec.name, "error", message=f"malformed trace: {exc}",
                                seconds=o.seconds)
            out.append(o)
        return out

    def run_one(self, spec, timeout: float | None = None) -> Outcome:
        """The runner's run_one() through the worker; never raises."""
        timeout = timeout or DEFAULT_TIMEOUT
        start = time.perf_counter()
        try:
            return self._outcomes([spec], False, timeout)[0]
        except (WorkerLost, ProtocolError, ManyFailed) as exc:
            return Outcome(self.name, spec.name, "error", message=str(exc),
                           seconds=time.perf_counter() - start)

    def run_many(self, specs, timeout: float | None = None) -> list[Outcome]:
        """The runner's run_many() through the worker, the whole call bounded by `timeout`;
        ManyFailed with the reason when it gives no usable answer."""
        timeout = timeout or DEFAULT_TIMEOUT
        try:
            return self._outcomes(specs, True, timeout)
        except WorkerLost as exc:
            why = str(exc)
            if why.startswith("timed out"):
                raise ManyFailed(f"trace_many did not return within {timeout:g} s") from None
            raise ManyFailed(f"trace_many {why}") from None
        except ProtocolError as exc:
            raise ManyFailed(f"trace_many: {exc}") from None

    # ------------------------------------------------------------ the adapter's contract

    def trace(self, spec):
        """The adapter's trace(), through the worker: a Trace, or Unsupported or
        RuntimeError with the worker's one line."""
        o = self.run_one(spec)
        return _trace_or_raise(o)

    def _unsupported(self, spec) -> str | None:
        """The adapter's unsupported(), through the worker (its failure is the reason)."""
        with self.lock:
            try:
                reply = self._call({"op": "unsupported", "spec": spec.to_dict()},
                                   LOAD_TIMEOUT, 0)
            except (WorkerLost, ProtocolError) as exc:
                return f"its unsupported() failed: {exc}"
        reason = reply.get("reason")
        return reason if isinstance(reason, str) or reason is None else \
            f"its unsupported() failed: {reply.get('failed')}"

    def _trace_many(self, specs):
        return [_trace_or_raise(o) for o in self.run_many(specs)]

    def _trace_stacked(self, stack):
        arrays: list = []
        doc = {"name": stack.name, "dtype": stack.dtype, "loss": stack.loss,
               "reduction": stack.reduction, "learning_rate": stack.learning_rate,
               "steps": stack.steps, "first_index": stack.first_index,
               "inputs": array_ref(stack.inputs, arrays),
               "targets": array_ref(stack.targets, arrays),
               "layers": [{"weights": array_ref(layer.weights, arrays),
                           "bias": array_ref(layer.bias, arrays),
                           "activation": layer.activation, "slope": layer.slope}
                          for layer in stack.layers]}
        bound = stack.count * trace_bytes(stack.spec(0))
        with self.lock:
            try:
                reply = self._call({"op": "stacked", "stack": doc}, DEFAULT_TIMEOUT, bound,
                                   arrays)
            except (WorkerLost, ProtocolError) as exc:
                raise RuntimeError(str(exc)) from None
        if "failed" in reply:
            raise RuntimeError(str(reply["failed"]))
        return _trace_or_raise(outcome_from(reply["outcomes"][0], self.name, stack.name,
                                            Outcome))


def _trace_or_raise(o: Outcome):
    from ..errors import Unsupported
    if o.status == "unsupported":
        raise Unsupported(o.message)
    if o.status != "ok":
        raise RuntimeError(o.message)
    return o.trace
