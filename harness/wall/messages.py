"""Outcomes and traces as protocol data (harness/wall/protocol.py) and back.

The worker turns what an adapter returned into plain data here (every `__array__` and
`__float__` of the adapter's objects runs in the worker); the run rebuilds an Outcome from
that data alone, and checks the trace again against the spec (compare.check_trace).
"""

from __future__ import annotations

import numpy as np

from ..trace import LAYER_FIELDS, LayerTrace, StepTrace, Trace
from .protocol import MAX_STRING, ProtocolError, array_ref, clean, numeric_dtype

CUT = MAX_STRING - 100  # the worker cuts a message (marker included) below the run's bound

STATUSES = ("ok", "error", "unsupported")


def _text(value) -> str:
    """A string's own characters, without calling a subclass's __str__ (an adapter's)."""
    return str.__str__(value) if isinstance(value, str) else str(value)


def outcome_doc(outcome, arrays: list) -> dict:
    """An Outcome (harness/runner) as plain data; its trace's arrays appended to `arrays`."""
    doc = {"status": outcome.status, "message": clean(_text(outcome.message), CUT),
           "seconds": float(outcome.seconds), "note": clean(_text(outcome.note), CUT),
           "trace": None}
    t = outcome.trace
    if t is None:
        return doc
    came = {tuple(where): dtype for where, dtype in getattr(t, "retyped", ())}

    def ref(value, step, quantity, layer):
        """The array as the adapter returned it: check_trace converted a retyped one to the
        spec's dtype; it goes back in its own, so that the run finds the demotion itself."""
        a = np.asarray(value)
        if (step, quantity, layer) in came:
            a = a.astype(numeric_dtype(came[step, quantity, layer]))
        return array_ref(a, arrays)

    doc["trace"] = {
        "impl": _text(t.impl), "impl_version": _text(t.impl_version), "spec": _text(t.spec),
        "dtype": _text(t.dtype), "settings": t.settings,
        "steps": [{"loss": ref(s.loss, k, "loss", None),
                   "outputs": ref(s.outputs, k, "outputs", None),
                   "layers": [{q: ref(getattr(layer, q), k, q, j) for q in LAYER_FIELDS}
                              for j, layer in enumerate(s.layers)]}
                  for k, s in enumerate(t.steps)],
        "params": [{q: ref(p[q], None, q, j) for q in ("weights", "bias")}
                   for j, p in enumerate(t.params)]}
    return doc


def _str(doc: dict, key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"{key} is not a string")
    return value


def _array(value) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise ProtocolError("a quantity that is not an array")
    return value


def trace_from(doc: dict) -> Trace:
    """A Trace from its plain data (ProtocolError where the data has the wrong form)."""
    try:
        steps = [StepTrace(loss=_array(s["loss"])[()], outputs=_array(s["outputs"]),
                           layers=[LayerTrace(**{k: _array(layer[k]) for k in LAYER_FIELDS})
                                   for layer in s["layers"]])
                 for s in doc["steps"]]
        params = [{"weights": _array(p["weights"]), "bias": _array(p["bias"])}
                  for p in doc["params"]]
    except (KeyError, TypeError, IndexError, AttributeError):
        raise ProtocolError("a trace of the wrong form") from None
    return Trace(_str(doc, "impl"), _str(doc, "impl_version"), _str(doc, "spec"),
                 _str(doc, "dtype"), steps, params, doc.get("settings"))


def outcome_from(doc, impl: str, case: str, outcome_type):
    """An Outcome of `impl` on `case` from its plain data."""
    if not isinstance(doc, dict) or doc.get("status") not in STATUSES:
        raise ProtocolError("an outcome of the wrong form")
    seconds = doc.get("seconds")
    seconds = float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else 0.0
    trace = doc.get("trace")
    if doc["status"] == "ok":
        if not isinstance(trace, dict):
            raise ProtocolError("an ok outcome without a trace")
        trace = trace_from(trace)
    else:
        trace = None
    return outcome_type(impl, case, doc["status"], trace=trace, message=_str(doc, "message"),
                        seconds=seconds, note=_str(doc, "note"))
