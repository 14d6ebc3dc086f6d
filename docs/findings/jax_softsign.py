"""jax: jax.nn.soft_sign's derivative is 1 / (1 + |x|) beyond |x| = sqrt(max), not
1 / (1 + |x|)^2: the quotient rule forms -x / (1 + |x|)^2, whose square overflows to inf.

Exact (mpmath, 40 digits): soft_sign'(1.3407807929942597e154) = 5.562684646268003e-309.
Exits 1 while the defect stands.
"""
import sys

import jax

jax.config.update("jax_enable_x64", True)
x, exact = 1.3407807929942597e154, 5.562684646268003e-309
got = float(jax.grad(jax.nn.soft_sign)(x))
print(f"soft_sign'({x!r}) = {got!r}, exact {exact!r}")
sys.exit(0 if abs(got - exact) <= 1e-6 * exact else 1)
