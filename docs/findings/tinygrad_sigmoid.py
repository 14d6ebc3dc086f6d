"""tinygrad: the gradient of Tensor.sigmoid at -745 is NaN when it is realized together with the
sigmoid itself (as any training step does), and 0 when realized alone: exp2(745 / ln 2) = inf
meets a 0 in the fused kernel. Exact (mpmath): sigmoid'(-745) = 4.94e-324 (the smallest
subnormal; 0 is an acceptable rounding, NaN is not). Exits 1 while the defect stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

x = Tensor(np.array([-745.0]))
h = x.sigmoid()
v = h.sum().gradient(x)[0]
Tensor.realize(h, v)
fused = float(v.numpy()[0])
x = Tensor(np.array([-745.0]))
alone = float(x.sigmoid().sum().gradient(x)[0].numpy()[0])
print(f"sigmoid'(-745) realized with sigmoid(-745) = {fused!r}; realized alone = {alone!r}; "
      "exact 4.94e-324")
sys.exit(1 if np.isnan(fused) or np.isnan(alone) else 0)
