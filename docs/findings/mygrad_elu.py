"""mygrad: nnet.elu computes exp(x) - 1, not expm1(x): elu(x) is 0 for tiny negative x, and its
derivative (exp(x) - 1) + 1 is 0 far below zero.

Exact (mpmath, 40 digits): elu(-1e-20) = expm1(-1e-20) = -1e-20 (to 20 digits);
elu'(-40) = exp(-40) = 4.248354255291589e-18. Exits 1 while the defect stands.
"""
import sys

import mygrad as mg
import numpy as np
from mygrad.nnet import elu

x = mg.Tensor(np.array([-1e-20, -40.0]))
y = elu(x, 1.0)
y.backward()
exact_f, exact_t = -1e-20, 4.248354255291589e-18
print(f"elu(-1e-20) = {y.data[0]!r}, exact {exact_f!r}")
print(f"elu'(-40) = {x.grad[1]!r}, exact {exact_t!r}")
ok = (abs(y.data[0] - exact_f) <= 1e-15 * abs(exact_f)
      and abs(x.grad[1] - exact_t) <= 1e-15 * exact_t)
sys.exit(0 if ok else 1)
