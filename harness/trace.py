"""Traces: what one implementation computed for one spec (docs/adapters.md lists every field).

`steps[k]` holds the forward and backward pass at the parameters before update k; `params`
the parameters after the last update. Arrays keep the spec's layout and dtype.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from impls.reference.dtypes import dtype as np_dtype

__all__ = ["LayerTrace", "StepTrace", "Trace", "LAYER_FIELDS"]

LAYER_FIELDS = ("d", "h", "v", "grad_weights", "grad_bias")


@dataclass
class LayerTrace:
    """One layer at one step: d, h, v (batch, n); grad_weights (n, n_in); grad_bias (n,)."""

    d: np.ndarray
    h: np.ndarray
    v: np.ndarray
    grad_weights: np.ndarray
    grad_bias: np.ndarray

    def to_dict(self) -> dict:
        return {k: np.asarray(getattr(self, k)).tolist() for k in LAYER_FIELDS}


@dataclass
class StepTrace:
    """One forward and backward pass: loss e, outputs u, and every layer."""

    loss: float
    outputs: np.ndarray
    layers: list[LayerTrace]

    def to_dict(self) -> dict:
        return {"loss": float(self.loss), "outputs": np.asarray(self.outputs).tolist(),
                "layers": [layer.to_dict() for layer in self.layers]}


@dataclass
class Trace:
    """A whole run of one implementation on one spec."""

    impl: str
    impl_version: str
    spec: str
    dtype: str
    steps: list[StepTrace]
    params: list[dict[str, np.ndarray]]
    settings: dict[str, Any] = field(default_factory=dict)
    # ((step, quantity, layer), dtype name): arrays that came back in another float dtype than
    # the spec's, converted by compare.check_trace (a finding: judge.py fails the trace)
    retyped: tuple = ()

    def to_dict(self) -> dict:
        return {"impl": self.impl, "impl_version": self.impl_version, "spec": self.spec,
                "dtype": self.dtype, "settings": dict(self.settings),
                "retyped": [[list(w), d] for w, d in self.retyped],
                "steps": [s.to_dict() for s in self.steps],
                "params": [{"weights": np.asarray(p["weights"]).tolist(),
                            "bias": np.asarray(p["bias"]).tolist()} for p in self.params]}

    @classmethod
    def from_dict(cls, doc: dict) -> "Trace":
        dt = np_dtype(doc["dtype"])

        def arr(x):
            return np.asarray(x, dtype=dt)

        steps = [StepTrace(loss=dt.type(s["loss"]), outputs=arr(s["outputs"]),
                           layers=[LayerTrace(**{k: arr(layer[k]) for k in LAYER_FIELDS})
                                   for layer in s["layers"]])
                 for s in doc["steps"]]
        params = [{"weights": arr(p["weights"]), "bias": arr(p["bias"])} for p in doc["params"]]
        return cls(impl=doc["impl"], impl_version=doc["impl_version"], spec=doc["spec"],
                   dtype=doc["dtype"], steps=steps, params=params,
                   settings=doc.get("settings", {}),
                   retyped=tuple((tuple(w), d) for w, d in doc.get("retyped", ())))


def retyped_text(trace, dtype: str) -> str:
    """What came back retyped, in words: "step 0 h[layer 0] came back float32 for the spec's
    float64 (and 3 more arrays)"."""
    (step, quantity, layer), got = trace.retyped[0]
    where = f"{'final' if step is None else f'step {step}'} {quantity}" + \
        (f"[layer {layer}]" if layer is not None else "")
    more = len(trace.retyped) - 1
    return (f"{where} came back {got} for the spec's {dtype}"
            + (f" (and {more} more array{'s' * (more > 1)})" if more else ""))
