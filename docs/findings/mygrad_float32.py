"""mygrad: float32 tensors become float64 when combined with a Python number, and
nnet.leaky_relu returns float64 for float32 input even with a float32 slope.

NumPy 2 keeps float32 in 0.5 * x, 1 - x and x ** 3 (Python numbers are weak scalars, NEP 50);
mygrad turns the number into a float64 or int64 array first. Exits 1 while the defect stands.
"""
import sys

import mygrad as mg
import numpy as np
from mygrad.nnet import leaky_relu

x = mg.Tensor(np.array([-1.0, 2.0], np.float32))
dtypes = {"0.5 * x": (0.5 * x).dtype, "1 - x": (1 - x).dtype, "x ** 3": (x ** 3).dtype,
          "leaky_relu(x, float32(0.01))": leaky_relu(x, np.float32(0.01)).dtype,
          "NumPy's 0.5 * x (for comparison)": (0.5 * x.data).dtype}
for expr, dtype in dtypes.items():
    print(f"{expr}: {dtype}")
sys.exit(0 if all(d == np.float32 for d in dtypes.values()) else 1)
