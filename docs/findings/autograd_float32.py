"""autograd: the gradient of a float32 function comes back float64 through anp.where and anp.mean.

Both vjps build float64 arrays (where: anp.zeros(g.shape); mean: g / a NumPy integer count), so
every gradient upstream of them is computed in float64 and returned as float64 for float32
parameters; anp.sum, anp.tanh and the rest keep float32. Exits 1 while the defect stands.
"""
import sys

import autograd.numpy as anp
import numpy as np
from autograd import grad

x = np.array([-1.0, 0.5, 2.0], np.float32)
dtypes = {"where": grad(lambda x: anp.sum(anp.where(x > 0, x, 0.0)))(x).dtype,
          "mean": grad(lambda x: anp.mean(x * x))(x).dtype,
          "sum (for comparison)": grad(lambda x: anp.sum(x * x))(x).dtype}
for name, dtype in dtypes.items():
    print(f"grad through {name} of float32 x: {dtype}")
sys.exit(0 if all(d == np.float32 for d in dtypes.values()) else 1)
