"""MindSpore: ops.logsigmoid is log(sigmoid(d)). In float64 it is -inf at -745 once sigmoid
underflows (exact -745) and 0 at 100 once sigmoid rounds to 1 (exact -e^-100 = -3.72e-44);
in float32 the -inf starts at -88.7 (mindspore#390).

Exact (mpmath, 50 digits): logsigmoid(d) = -log1p(e^-d): -745.0 (rounded) and
-3.720075976020835963e-44. Written for backprop-harness's findings (docs/findings/mindspore.md
#12). Needs only MindSpore and NumPy. Exit status: 1 while the defect stands, 0 once it does
not, 2 when it cannot run here.
"""
import math
import sys

import numpy as np

POINTS = (-745.0, 100.0)
EXACT = (-745.0, -3.720075976020835963e-44)
ALLOWED = 1e-13  # relative: far above float64 rounding, far below the defect


def framework_values():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor, ops

    return ops.logsigmoid(Tensor(np.array(POINTS, "float64"))).asnumpy().tolist()


try:
    values = framework_values()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
wrong = False
for d, value, exact in zip(POINTS, values, EXACT):
    error = abs(value - exact) / abs(exact) if math.isfinite(value) else math.inf
    wrong |= error > ALLOWED
    print(f"float64 logsigmoid({d}) = {value!r}; exact {exact!r} (relative error {error:.3g})")
sys.exit(1 if wrong else 0)
