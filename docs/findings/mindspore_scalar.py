"""MindSpore: a Python float times a float64 tensor is computed with the float rounded to
float32 first: Tensor([1.0], float64) * 0.1 = 0.10000000149011612 (float32's 0.1), where
NumPy, torch and jax give 0.1. The result's dtype is float64, so nothing says it happened. An
SGD update p - lr * g with a Python learning rate is wrong in float64 by 1.5e-8 relative.

Written for backprop-harness's findings (docs/findings/mindspore.md #8). Needs only MindSpore
and NumPy. Exit status: 1 while the defect stands, 0 once it does not, 2 when it cannot run.
"""
import sys

import numpy as np

EXACT = 0.1  # 0.1 rounded to float64: what float64 arithmetic gives


def framework_value():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor

    x = Tensor(np.array([1.0], "float64"))
    y = x * 0.1
    assert str(y.dtype) == "Float64", y.dtype
    return float(y.asnumpy()[0])


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
print(f"Tensor([1.0], float64) * 0.1 = {value!r}; float64 gives {EXACT!r}, "
      f"float32's 0.1 is {float(np.float32(0.1))!r}")
sys.exit(0 if value == EXACT else 1)
