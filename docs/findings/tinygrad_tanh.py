"""tinygrad: Tensor.tanh is 2 * sigmoid(2x) - 1, which cancels near 0: tanh(-1e-20) is 0 and
tanh(1e-10) keeps 7 digits. Exact (mpmath, 40 digits): tanh(-1e-20) = -1e-20,
tanh(1e-10) = 1e-10 (to 20 digits). Exits 1 while the defect stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

got = Tensor(np.array([-1e-20, 1e-10])).tanh().numpy()
exact = np.array([-1e-20, 1e-10])
rel = np.abs(got - exact) / np.abs(exact)
for x, g, e, r in zip([-1e-20, 1e-10], got, exact, rel):
    print(f"tanh({x:g}) = {g!r}, exact {e!r}: relative error {r:.1e}")
sys.exit(1 if np.any(rel > 1e-15) else 0)
