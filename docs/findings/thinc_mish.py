"""thinc: Ops.mish is d tanh(log(1 + exp(d))): once exp(d) < eps / 2, 1 + exp(d) rounds to 1
and mish(d) is -0, below about -36.7 in float64 and in float32 (whose kernel computes in
double), where the exact value is about d e^d: mish(-40) = -1.70e-16.

Exact (mpmath, 50 digits): mish(-40) = -40 tanh(log1p(e^-40)) = -1.6993417021166355945e-16.
Written for backprop-harness's findings (docs/findings/thinc.md #4). Needs only thinc and
NumPy. Exit status: 1 while the defect stands, 0 once it does not, 2 when it cannot run here.
"""
import sys

import numpy as np

EXACT = -1.6993417021166355945e-16
ALLOWED = {"float64": 1e-13, "float32": 1e-6}  # relative


def framework_values():
    from thinc.api import NumpyOps
    ops = NumpyOps()
    return {dtype: float(ops.mish(np.array([[-40.0]], dtype))[0, 0]) for dtype in ALLOWED}


try:
    values = framework_values()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
wrong = False
for dtype, value in values.items():
    error = abs(value - EXACT) / abs(EXACT)
    wrong |= error > ALLOWED[dtype]
    print(f"{dtype} mish(-40) = {value!r}; exact {EXACT!r} (relative error {error:.3g})")
sys.exit(1 if wrong else 0)
