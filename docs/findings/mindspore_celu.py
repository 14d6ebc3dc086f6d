"""MindSpore: ops.celu computes in float32 for float64 input, and its derivative cancels far
below 0. In float64, celu(-0.5) = -0.39346933364868164 (exact expm1(-0.5) =
-0.3934693402873666, 1.7e-8 relative) and celu'(-40) = 0 (exact e^-40 = 4.25e-18), as
ops.elu's derivative (findings #4).

Exact (mpmath, 50 digits): expm1(-0.5) = -0.3934693402873665764, exp(-40) =
4.2483542552915889953e-18. Written for backprop-harness's findings (docs/findings/mindspore.md
#11). Needs only MindSpore and NumPy. Exit status: 1 while either defect stands, 0 once
neither does, 2 when it cannot run here.
"""
import sys

import numpy as np

EXACT_F, EXACT_T = -0.3934693402873665764, 4.2483542552915889953e-18
ALLOWED = 1e-13  # relative: far above float64 rounding, far below the defect


def framework_values():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor, ops

    f = float(ops.celu(Tensor(np.array([-0.5], "float64"))).asnumpy()[0])
    x = Tensor(np.array([-40.0], "float64"))
    t = float(ms.grad(lambda x: ops.celu(x).sum())(x).asnumpy()[0])
    return f, t


try:
    f, t = framework_values()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
errors = abs(f - EXACT_F) / abs(EXACT_F), abs(t - EXACT_T) / EXACT_T
print(f"float64 celu(-0.5) = {f!r}; exact {EXACT_F!r} (relative error {errors[0]:.3g})")
print(f"float64 celu'(-40) = {t!r}; exact {EXACT_T!r} (relative error {errors[1]:.3g})")
sys.exit(0 if max(errors) <= ALLOWED else 1)
