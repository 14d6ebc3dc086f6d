"""The hand-written NumPy backpropagation engine, readable next to the seed's formulas.

    from impls.reference import Network
    net = Network.from_sizes([2, 2, 2], "sigmoid", "squared_error", seed=0)
    fwd = net.forward(x)            # fwd.d[l], fwd.h[l]; fwd.u is the output
    grads = net.backward(fwd, y)    # grads.e, grads.v[l], grads.g_weights[l], grads.g_bias[l]
    net.step(grads, r=0.5)          # w = w - r g, b = b - r g

NumPy only: it imports nothing from the harness, which builds on it.
"""

from .activations import ACTIVATIONS, Activation, activation
from .losses import LOSSES, Loss, loss
from .network import REDUCTIONS, Backward, Forward, Network

__all__ = ["ACTIVATIONS", "LOSSES", "REDUCTIONS", "Activation", "Backward", "Forward", "Loss",
           "Network", "activation", "loss"]
