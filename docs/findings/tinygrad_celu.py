"""tinygrad: Tensor.celu is maximum(x, 0) + minimum(alpha (exp(x / alpha) - 1), 0). exp - 1
cancels: celu(-1e-20) = 0 (exact -1e-20), and with alpha = 2^66, celu(-1) = 0 (exact -1.0).
Where it rounds to 0, maximum and minimum tie and split their gradients: celu'(-1e-20) = 0.5,
celu'(1e-20) = 1.5 (exact 1). Above 709 (float64) exp overflows and the gradient is NaN.

Exact (mpmath, 50 digits): celu(-1e-20) = -9.9999999999999994515e-21; 2^66 expm1(-2^-66) =
-0.99999999999999999999322 (-1.0 rounded); celu'(±1e-20) = celu'(800) = 1.0 (rounded).
Exits 1 while any stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

POINTS = [-1e-20, 1e-20, 800.0]
x = Tensor(np.array(POINTS))
y = x.celu()
g = y.sum().gradient(x)[0]
Tensor.realize(y, g)
f, t = y.numpy().tolist(), g.numpy().tolist()
big = float(Tensor(np.array([-1.0])).celu(alpha=2.0 ** 66).numpy()[0])
print(f"celu(-1e-20) = {f[0]!r}, exact -9.9999999999999994515e-21")
print(f"celu(-1) with alpha = 2^66 = {big!r}, exact -1.0")
for d, got in zip(POINTS, t):
    print(f"celu'({d!r}) = {got!r}, exact 1.0")
wrong = f[0] != -1e-20 or big != -1.0 or t != [1.0, 1.0, 1.0]
sys.exit(1 if wrong else 0)
