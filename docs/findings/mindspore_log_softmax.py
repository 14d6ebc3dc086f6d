"""mindspore.ops.log_softmax(u = [1.4622736327212902, -0.8942523140602745, -0.2080305027618239, 0.6974082910711661], y = [1.0, 0.0, 0.0, 0.0]) in float64: mindspore 2.10.0 against the exact value.

Written by backprop-harness. Needs only mindspore and NumPy. Exit status: 1 while the error
exceeds the allowed one, 0 once it does not, 2 when it cannot run here.
"""
import math
import sys

import numpy as np

EXACT = 0.55866403947654811595  # mpmath, 60-digit arithmetic (its value)
ALLOWED = 9.08e-14  # absolute error the harness allows there


def framework_value():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor
    from mindspore import ops

    def f(u):
        return -(y * ops.log_softmax(u, -1)).sum(-1)

    a = np.array([[1.4622736327212902, -0.8942523140602745, -0.2080305027618239, 0.6974082910711661]], 'float64')
    y = np.array([[1.0, 0.0, 0.0, 0.0]], 'float64')
    y = Tensor(y)
    x = Tensor(a)
    return float(f(x).asnumpy().ravel()[0])


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
error = abs(value - EXACT)
print(f"mindspore.ops.log_softmax(u = [1.4622736327212902, -0.8942523140602745, -0.2080305027618239, 0.6974082910711661], y = [1.0, 0.0, 0.0, 0.0]) in float64 = {value!r}; exact {EXACT!r}")
print(f"error {error:.3g} (relative {error / abs(EXACT) if EXACT else math.inf:.3g}), allowed {ALLOWED:.3g}")
sys.exit(0 if error <= ALLOWED else 1)
