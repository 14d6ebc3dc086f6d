"""The process wall: every adapter but the shipped pure NumPy/mpmath ones runs in a worker
process of its own (worker.py), and only plain data crosses back (protocol.py, messages.py),
read by the run under bounds it owns (proxy.py, walled.py). docs/isolation.md tells it all."""
