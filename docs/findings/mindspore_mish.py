"""MindSpore: ops.mish is NaN where exp(d) overflows, d >= 709.8 in float64 (88.7 in float32),
where the exact value is d; and it is imprecise below 0: mish(-10) = -4.54177e-4 in float64,
exact -4.53989e-4 (4.1e-4 relative). mindspore#379 reports the NaN at +inf, not at finite d.

Exact (mpmath, 50 digits): mish(d) = d tanh(log1p(e^d)): mish(710) = 710.0 (rounded),
mish(-10) = -0.00045398899185674694297. Written for backprop-harness's findings
(docs/findings/mindspore.md #13). Needs only MindSpore and NumPy. Exit status: 1 while the
defect stands, 0 once it does not, 2 when it cannot run here.
"""
import math
import sys

import numpy as np

POINTS = (710.0, -10.0)
EXACT = (710.0, -0.00045398899185674694297)
ALLOWED = 1e-13  # relative: far above float64 rounding, far below the defect


def framework_values():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor, ops

    return ops.mish(Tensor(np.array(POINTS, "float64"))).asnumpy().tolist()


try:
    values = framework_values()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
wrong = False
for d, value, exact in zip(POINTS, values, EXACT):
    error = abs(value - exact) / abs(exact) if math.isfinite(value) else math.inf
    wrong |= error > ALLOWED
    print(f"float64 mish({d}) = {value!r}; exact {exact!r} (relative error {error:.3g})")
sys.exit(1 if wrong else 0)
