"""The hand-written NumPy backpropagation engine, readable next to the seed's formulas.

    from impls.reference import Network
    net = Network.from_sizes([2, 2, 2], "sigmoid", "squared_error", seed=0)
    fwd = net.forward(x)            # fwd.d[l], fwd.h[l]; fwd.u is the output
    grads = net.backward(fwd, y)    # grads.e, grads.v[l], grads.g_weights[l], grads.g_bias[l]
    net.step(grads, r=0.5)          # w = w - r g, b = b - r g
"""

from .activations import Activation, activation
from .losses import Loss, loss
from .network import Backward, Forward, Network

__all__ = ["Activation", "Backward", "Forward", "Loss", "Network", "activation", "loss"]
