"""MindSpore: ops.selu in float64 uses float32 constants: selu(-0.5) = -0.6917581703153756,
exact -0.6917581878028714 (2.5e-8 relative; scale and alpha are float32 numbers).

Exact (mpmath, 50 digits): selu(-0.5) = scale alpha expm1(-0.5) = -0.69175818780287140236,
with Klambauer et al.'s scale 1.0507009873554804934 and alpha 1.6732632423543772848.
Written for backprop-harness's findings (docs/findings/mindspore.md #10). Needs only MindSpore
and NumPy. Exit status: 1 while the defect stands, 0 once it does not, 2 when it cannot run.
"""
import sys

import numpy as np

EXACT = -0.69175818780287140236
ALLOWED = 1e-13  # relative: far above float64 rounding, far below the defect


def framework_value():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor, ops

    y = ops.selu(Tensor(np.array([-0.5], "float64")))
    assert str(y.dtype) == "Float64", y.dtype
    return float(y.asnumpy()[0])


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
error = abs(value - EXACT) / abs(EXACT)
print(f"float64 selu(-0.5) = {value!r}; exact {EXACT!r} (relative error {error:.3g})")
sys.exit(0 if error <= ALLOWED else 1)
