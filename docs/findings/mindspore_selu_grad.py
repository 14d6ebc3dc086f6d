"""MindSpore: the gradient of ops.selu is wrong for negative inputs, in float64 and float32:
mindspore.grad(ops.selu) at -0.5 is 0.32387, where selu'(d) = scale alpha e^d = 1.0663; it
turns negative below about -1.7 (-0.62946 at -2.403, exact 0.15901) while selu rises there.

Exact (mpmath, 50 digits): selu'(-0.5) = 1.0663411530445054576, selu'(-2.403) =
0.15901341735260596644. Written for backprop-harness's findings (docs/findings/mindspore.md
#9). Needs only MindSpore and NumPy. Exit status: 1 while the defect stands, 0 once it does
not, 2 when it cannot run here.
"""
import sys

import numpy as np

POINTS = (-0.5, -2.403)
EXACT = (1.0663411530445054576, 0.15901341735260596644)
ALLOWED = {"float64": 1e-12, "float32": 1e-6}  # relative


def framework_values(dtype):
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor, ops

    x = Tensor(np.array(POINTS, dtype))
    return ms.grad(lambda x: ops.selu(x).sum())(x).asnumpy().tolist()


try:
    values = {dtype: framework_values(dtype) for dtype in ALLOWED}
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
wrong = False
for dtype, got in values.items():
    for d, value, exact in zip(POINTS, got, EXACT):
        error = abs(value - exact) / exact
        wrong |= error > ALLOWED[dtype]
        print(f"{dtype}: selu'({d}) = {value!r}; exact {exact!r} (relative error {error:.3g})")
sys.exit(1 if wrong else 0)
