"""tinygrad: the gradient of Tensor.softsign, x / (1 + |x|), is formed as r - |x| r^2 with
r = 1 / (1 + |x|) (the product rule through reciprocal), which cancels: softsign'(1e8) is
1.6e-9 relative off in float64, softsign'(1e15) 18%, and softsign'(1e19) = 0 (exact 1e-38, a
normal float64). float32 is 8.3e-5 off at 1e4, 29% at 1e7 and 0 from 1e8.

Exact (mpmath, 50 digits): 1 / (1 + x)^2 = 9.999999800000003e-17 at 1e8,
9.99999999999998e-31 at 1e15, 9.999999999999999998e-39 at 1e19. Exits 1 while it stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

POINTS = [1e8, 1e15, 1e19]
EXACT = [9.999999800000003e-17, 9.99999999999998e-31, 9.999999999999999998e-39]
x = Tensor(np.array(POINTS))
t = x.softsign().sum().gradient(x)[0].numpy().tolist()
wrong = False
for d, got, exact in zip(POINTS, t, EXACT):
    wrong |= not abs(got - exact) <= 1e-13 * exact
    print(f"softsign'({d!r}) = {got!r}, exact {exact!r}")
sys.exit(1 if wrong else 0)
