"""thinc.api.NumpyOps.gelu(d = -5.0) in float64: thinc 9.1.1 against the exact value.

Written by backprop-harness. Needs only thinc and NumPy. Exit status: 1 while the error
exceeds the allowed one, 0 once it does not, 2 when it cannot run here.
"""
import math
import sys

import numpy as np

EXACT = -1.4332578593959695584e-6  # mpmath, 60-digit arithmetic (its value)
ALLOWED = 3.55e-14  # absolute error the harness allows there


def framework_value():
    from thinc.api import NumpyOps
    ops = NumpyOps()

    def f(d):
        return ops.gelu(d)

    a = np.array([[-5.0]], 'float64')
    x = a
    return float(np.ravel(f(x))[0])


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
error = abs(value - EXACT)
print(f"thinc.api.NumpyOps.gelu(d = -5.0) in float64 = {value!r}; exact {EXACT!r}")
print(f"error {error:.3g} (relative {error / abs(EXACT) if EXACT else math.inf:.3g}), allowed {ALLOWED:.3g}")
sys.exit(0 if error <= ALLOWED else 1)
