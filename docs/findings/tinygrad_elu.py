"""tinygrad: Tensor.elu is relu(x) - relu(1 - exp(x)). For tiny negative x, 1 - exp(x) rounds to
0: elu(-1e-20) is 0 and, relu'(0) being 0, so is elu'(-1e-20). For x > 709, exp(x) = inf and
elu'(x) is NaN (that part: tinygrad#17852, merged after 0.14.0). Exact (mpmath): elu(-1e-20) =
-1e-20, elu'(-1e-20) = exp(-1e-20) = 1.0 (rounded), elu'(800) = 1. Exits 1 while any stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

x = Tensor(np.array([-1e-20, 800.0]))
y = x.elu()
g = y.sum().gradient(x)[0]
Tensor.realize(y, g)
f, t = y.numpy(), g.numpy()
print(f"elu(-1e-20) = {f[0]!r}, exact -1e-20")
print(f"elu'(-1e-20) = {t[0]!r}, exact 1.0")
print(f"elu'(800) = {t[1]!r}, exact 1.0")
sys.exit(0 if f[0] == -1e-20 and t[0] == 1.0 and t[1] == 1.0 else 1)
