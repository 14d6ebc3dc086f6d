"""thinc.api.NumpyOps.swish(d = -25.0) in float32: thinc 9.1.1 against the exact value.

Written by backprop-harness. Needs only thinc and NumPy. Exit status: 1 while the error
exceeds the allowed one, 0 once it does not, 2 when it cannot run here.
"""
import math
import sys

import numpy as np

EXACT = -3.4719859661927864025e-10  # mpmath, 60-digit arithmetic (its value)
ALLOWED = 4.76e-14  # absolute error the harness allows there


def framework_value():
    from thinc.api import NumpyOps
    ops = NumpyOps()

    def f(d):
        return ops.swish(d)

    a = np.array([[-25.0]], 'float32')
    x = a
    return float(np.ravel(f(x))[0])


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
error = abs(value - EXACT)
print(f"thinc.api.NumpyOps.swish(d = -25.0) in float32 = {value!r}; exact {EXACT!r}")
print(f"error {error:.3g} (relative {error / abs(EXACT) if EXACT else math.inf:.3g}), allowed {ALLOWED:.3g}")
sys.exit(0 if error <= ALLOWED else 1)
