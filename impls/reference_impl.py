"""The reference engine (impls/reference) as a harness implementation: spec in, trace out."""

from __future__ import annotations

import numpy as np

from harness import __version__
from harness.trace import LayerTrace, StepTrace, Trace
from impls.reference import Network


class ReferenceImpl:
    """The NumPy engine of impls/reference, run exactly as a library user would. With
    form="accurate" (the audit's "reference-accurate"), the activations' accurate forms."""

    name = "reference"

    def __init__(self, form: str = "seed"):
        self.form = form
        if form != "seed":
            self.name = f"reference-{form}"

    def version(self) -> str:
        return __version__

    def settings(self) -> dict:
        return {"numpy": np.__version__, "device": "cpu", "form": self.form}

    def network(self, spec) -> Network:
        """The engine for a spec (a hook: test plugins plant bugs by overriding it)."""
        return Network.from_spec(spec, self.form)

    def trace(self, spec) -> Trace:
        return self._run(self.network(spec), spec)

    def trace_stacked(self, stack) -> Trace:
        """Networks on a leading axis: the engine takes leading axes as they are."""
        return self._run(Network.from_spec(stack, self.form), stack)

    def _run(self, net: Network, spec) -> Trace:
        """spec.steps SGD steps of `net` on spec's data, every pass recorded."""
        steps = []

        def record(k, fwd, grads):
            layers = [LayerTrace(d, h, v, gw, gb) for d, h, v, gw, gb in
                      zip(fwd.d, fwd.h, grads.v, grads.g_weights, grads.g_bias)]
            steps.append(StepTrace(grads.e, fwd.u, layers))

        net.fit(spec.inputs, spec.targets, spec.learning_rate, spec.steps, callback=record)
        params = [{"weights": w, "bias": b} for w, b in zip(net.weights, net.biases)]
        return Trace(self.name, self.version(), spec.name, spec.dtype, steps, params,
                     self.settings())
