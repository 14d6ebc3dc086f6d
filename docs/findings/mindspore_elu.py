"""mindspore.ops.elu(d = -1e-08) in float32: mindspore 2.10.0 against the exact value.

Written by backprop-harness. Needs only mindspore and NumPy. Exit status: 1 while the error
exceeds the allowed one, 0 once it does not, 2 when it cannot run here.
"""
import math
import sys

import numpy as np

EXACT = -9.9999999500000003759e-9  # mpmath, 60-digit arithmetic (its value)
ALLOWED = 1.3e-13  # absolute error the harness allows there


def framework_value():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor
    from mindspore import ops

    def f(d):
        return ops.elu(d)

    a = np.array([[-1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08, -1e-08]], 'float32')
    x = Tensor(a)
    return float(f(x).asnumpy().ravel()[0])


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
error = abs(value - EXACT)
print(f"mindspore.ops.elu(d = -1e-08) in float32 = {value!r}; exact {EXACT!r}")
print(f"error {error:.3g} (relative {error / abs(EXACT) if EXACT else math.inf:.3g}), allowed {ALLOWED:.3g}")
sys.exit(0 if error <= ALLOWED else 1)
