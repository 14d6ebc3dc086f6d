"""TensorFlow: tf.nn.elu is exp(x) - 1 forward (0 for tiny negative x) and its gradient is
output + 1 (0 far below zero). Reported: tensorflow#116943 (forward), tensorflow#124833
(gradient, fixed on master by tensorflow#124902). Exact from mpmath: elu(-1e-20) = -1e-20,
elu'(-40) = exp(-40) = 4.248354255291589e-18. Exits 1 while either defect stands.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

x = tf.constant([-1e-20, -40.0], tf.float64)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.nn.elu(x)
    total = tf.reduce_sum(y)
g = tape.gradient(total, x).numpy()
f = y.numpy()
print(f"elu(-1e-20) = {f[0]!r}, exact -1e-20")
print(f"elu'(-40) = {g[1]!r}, exact 4.248354255291589e-18")
print(f"tensorflow {tf.__version__}")
ok = abs(f[0] + 1e-20) <= 1e-35 and abs(g[1] - 4.248354255291589e-18) <= 1e-32
sys.exit(0 if ok else 1)
