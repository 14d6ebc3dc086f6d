"""tinygrad: Tensor.softplus is logaddexp(x, 0) = log(exp(x - m) + exp(-m)) + m, with log where
log1p is needed: softplus(-40) is 0. Exact (mpmath): log1p(exp(-40)) = 4.248354255291589e-18.
Exits 1 while the defect stands.
"""
import sys

import numpy as np

try:  # exit 2, not 1, where tinygrad cannot run here (no compiler: "no usable devices")
    from tinygrad import Tensor
    Tensor([0.0]).realize()
except Exception as exc:
    print(f"cannot run: {type(exc).__name__}: {exc}")
    sys.exit(2)

EXACT = 4.248354255291589e-18
got = float(Tensor(np.array([-40.0])).softplus().numpy()[0])
print(f"softplus(-40) = {got!r}, exact {EXACT!r}")
sys.exit(0 if abs(got - EXACT) <= 1e-15 * EXACT else 1)
