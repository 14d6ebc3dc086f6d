"""Float dtypes by name, bfloat16 included, importing ml_dtypes only when one needs it.

NumPy knows bfloat16 only after ml_dtypes is imported, and that import costs ~0.8 s (it
registers hundreds of ufunc loops), a quarter of a small run's time; float64, float32 and
float16 are NumPy's own, so a run without bfloat16 never pays it.
"""

from __future__ import annotations

import numpy as np


def _ml_dtypes():
    import ml_dtypes  # registers bfloat16 with NumPy
    return ml_dtypes


def dtype(name) -> np.dtype:
    """np.dtype(name), bfloat16 included."""
    if isinstance(name, str) and name == "bfloat16":
        _ml_dtypes()
    return np.dtype(name)


def finfo(dt):
    """The machine limits of a float dtype, bfloat16 included (NumPy's finfo lacks it)."""
    dt = dtype(dt)
    return _ml_dtypes().finfo(dt) if dt.name == "bfloat16" else np.finfo(dt)
