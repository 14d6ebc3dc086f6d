"""the derivative of mindspore.ops.elu at d = -37.40828690084455 in float64: mindspore 2.10.0 against the exact value.

Written by backprop-harness. Needs only mindspore and NumPy. Exit status: 1 while the error
exceeds the allowed one, 0 once it does not, 2 when it cannot run here.
"""
import math
import sys

import numpy as np

EXACT = 5.6726687161729666755e-17  # mpmath, 60-digit arithmetic (its derivative)
ALLOWED = 2.37e-29  # absolute error the harness allows there


def framework_value():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor
    from mindspore import ops

    def f(d):
        return ops.elu(d)

    a = np.array([[-37.40828690084455]], 'float64')
    x = Tensor(a)
    g = ms.grad(lambda x: (f(x)).sum())(x)
    return float(g.asnumpy().ravel()[0])


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
error = abs(value - EXACT)
print(f"the derivative of mindspore.ops.elu at d = -37.40828690084455 in float64 = {value!r}; exact {EXACT!r}")
print(f"error {error:.3g} (relative {error / abs(EXACT) if EXACT else math.inf:.3g}), allowed {ALLOWED:.3g}")
sys.exit(0 if error <= ALLOWED else 1)
