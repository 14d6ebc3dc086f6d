"""tinygrad: Tensor.selu's defaults are alpha=1.67326 and gamma=1.0507, not Klambauer et al.'s
1.6732632423543772 and 1.0507009873554805: selu(0.5) = 0.52535 (9.4e-7 relative), selu(-0.5)
2.9e-6 off. It is gamma (exp(x) - 1) below 0: selu(-1e-20) = 0. And its gradient is NaN above
709 (float64): the branch `where` does not take overflows exp, and 0 * inf is NaN.

Exact (mpmath, 50 digits): selu(0.5) = 0.52535049367774024671, selu(-0.5) =
-0.69175818780287140236, selu(-1e-20) = -1.7580993408473767635e-20, selu'(800) = scale =
1.0507009873554804934. Exits 1 while any stands.
"""
import math
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

POINTS = [0.5, -0.5, -1e-20, 800.0]
EXACT_F = [0.52535049367774024671, -0.69175818780287140236, -1.7580993408473767635e-20, None]
EXACT_T800 = 1.0507009873554804934
x = Tensor(np.array(POINTS))
y = x.selu()
g = y.sum().gradient(x)[0]
Tensor.realize(y, g)
f, t = y.numpy().tolist(), g.numpy().tolist()
wrong = False
for d, got, exact in zip(POINTS, f, EXACT_F):
    if exact is not None:
        wrong |= not abs(got - exact) <= 1e-13 * abs(exact)
        print(f"selu({d!r}) = {got!r}, exact {exact!r}")
wrong |= not (math.isfinite(t[3]) and abs(t[3] - EXACT_T800) <= 1e-13)
print(f"selu'(800) = {t[3]!r}, exact {EXACT_T800!r}")
sys.exit(1 if wrong else 0)
