"""MindSpore: ops.l1_loss, ops.huber_loss and nn.PoissonNLLLoss compute in float32 for float64
inputs, and return float64 tensors holding float32 numbers: at u = 0.47230716803578743,
y = 0.1, l1_loss = 0.3723071813583374 (exact 0.37230716803578743, 3.6e-8 relative).

Exact (mpmath, 50 digits): |u - y| = 0.37230716803578742247, huber (delta 1) (u - y)^2 / 2 =
0.069306313685414025909, Poisson u - y log u at u = 1.4723071680357874 (log_input=False,
eps=0) 1.433624100788321079. Written for backprop-harness's findings
(docs/findings/mindspore.md #14). Needs only MindSpore and NumPy. Exit status: 1 while any
stands, 0 once none does, 2 when it cannot run here.
"""
import sys

import numpy as np

U, Y, U_POISSON = 0.47230716803578743, 0.1, 1.4723071680357874
EXACT = {"ops.l1_loss": 0.37230716803578742247, "ops.huber_loss": 0.069306313685414025909,
         "nn.PoissonNLLLoss": 1.433624100788321079}
ALLOWED = 1e-13  # relative: far above float64 rounding, far below the defect


def framework_values():
    import mindspore as ms
    ms.set_device("CPU")
    from mindspore import Tensor, nn, ops

    def t(v):
        return Tensor(np.array([v], "float64"))

    poisson = nn.PoissonNLLLoss(log_input=False, eps=0.0)
    losses = {"ops.l1_loss": ops.l1_loss(t(U), t(Y)), "ops.huber_loss": ops.huber_loss(t(U), t(Y)),
              "nn.PoissonNLLLoss": poisson(t(U_POISSON), t(Y))}
    for name, loss in losses.items():
        assert str(loss.dtype) == "Float64", (name, loss.dtype)
    return {name: float(loss.asnumpy()) for name, loss in losses.items()}


try:
    values = framework_values()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)
wrong = False
for name, value in values.items():
    error = abs(value - EXACT[name]) / EXACT[name]
    wrong |= error > ALLOWED
    print(f"float64 {name} = {value!r}; exact {EXACT[name]!r} (relative error {error:.3g})")
sys.exit(1 if wrong else 0)
