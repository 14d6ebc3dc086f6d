"""A trace that came back in another float dtype than its spec's (compare.check_trace lists
it in trace.retyped) reduced to the function that returned it, at one neuron: "tanh's f
returns float32 for float64 input". The probes are rootcause's own (harness/probes.py) for
the first retyped quantity; one reproduces when the implementation's trace of it comes back
retyped at the probed quantity.
"""

from __future__ import annotations

from dataclasses import replace

from .compare import TensorDiff, expected_shape
from .probes import probes_for
from .rootcause import _claim, not_reduced, run_probes
from .runner import Outcome
from .signature import RootCause
from .spec import Spec


def retyped_text(trace, dtype: str) -> str:
    """What came back retyped, in words: "step 0 h[layer 0] came back float32 for the spec's
    float64 (and 3 more arrays)"."""
    (step, quantity, layer), got = trace.retyped[0]
    where = f"{'final' if step is None else f'step {step}'} {quantity}" + \
        (f"[layer {layer}]" if layer is not None else "")
    more = len(trace.retyped) - 1
    return (f"{where} came back {got} for the spec's {dtype}"
            + (f" (and {more} more array{'s' * (more > 1)})" if more else ""))


def demotion_causes(spec: Spec, side: Outcome) -> tuple[RootCause, ...]:
    """The function that returned the first retyped array, reproduced at one neuron; where no
    probe reproduces, the claim that it needs the network."""
    if side.trace is None or not side.trace.retyped:
        return ()
    (step, quantity, layer), got = side.trace.retyped[0]
    shape = expected_shape(spec, quantity, layer)
    fake = TensorDiff(step, layer, quantity, shape, 0.0, 0.0, 0.0, 0.0, 0.0,
                      (0,) * len(shape), 0.0, 0.0, 0.0, 0)
    probes = [p for p in probes_for(0, spec, side.trace, fake) if p.width == 1]
    results = run_probes(side.impl, probes)
    for p in probes:
        own = results.get(id(p), (None, None))[1]
        if own is None or own.status != "ok":
            continue
        returned = dict(own.trace.retyped).get(p.target)
        if returned:
            claim = _claim(p, side.impl, spec.dtype, own, fake.label)
            return (replace(claim, returned=returned),)
    return (not_reduced(side.impl, spec, fake, probes,
                        f"{retyped_text(side.trace, spec.dtype)}: no one-neuron probe "
                        f"returns it, so it needs the network"),)
