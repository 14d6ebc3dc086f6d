"""tinygrad: Tensor.hardsigmoid is relu(x / 6 + 1/2) - relu(x / 6 - 1/2): x / 6 + 1/2 cancels
near -3 (torch and jax compute relu6(x + 3) / 6, whose x + 3 is exact there). At
x = -3 + 2^-40 it is 1.2e-4 relative off, at -2.999999999999999 12.5%.

Exact (mpmath, 50 digits): (x + 3) / 6 = 1.5158245029548803965e-13 and
1.4802973661668753872e-16. Exits 1 while it stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

POINTS = [-3 + 2.0 ** -40, -2.999999999999999]
EXACT = [1.5158245029548803965e-13, 1.4802973661668753872e-16]
f = Tensor(np.array(POINTS)).hardsigmoid().numpy().tolist()
wrong = False
for d, got, exact in zip(POINTS, f, EXACT):
    wrong |= not abs(got - exact) <= 1e-13 * exact
    print(f"hardsigmoid({d!r}) = {got!r}, exact {exact!r}")
sys.exit(1 if wrong else 0)
