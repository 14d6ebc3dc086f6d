"""autograd: the derivative of expm1 cancels to 0 far below zero (so does any elu built on it).

d/dx expm1(x) = exp(x); exp(-40) = 4.248354255291589e-18 (mpmath, 40 digits), a normal float64.
autograd's rule is (expm1(x) + 1) * g, and expm1(-40) rounds to -1. Exits 1 while the defect
stands.
"""
import sys

import autograd.numpy as anp
from autograd import grad

EXACT = 4.248354255291589e-18  # exp(-40), mpmath
got = grad(anp.expm1)(-40.0)
print(f"grad(expm1)(-40.0) = {got!r}, exact {EXACT!r}")
sys.exit(0 if abs(got - EXACT) <= 1e-15 * EXACT else 1)
