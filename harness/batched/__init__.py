"""Batched fuzzing: many random networks of one architecture, stacked on a leading axis.

`backprop-harness fuzz --arch 4-8-8-2 --networks 100000` draws the networks chunk by chunk
(drawing.py: numpy PCG64 seeded with [seed, chunk]), runs each chunk through every implementation
with trace_stacked() at once (numpy batched matmul, torch batched matmul, jax under jit),
judges every network with the harness's tolerance model and pass rule (judging.py), and reports
a mismatching network by index, written out as an ordinary spec (command.py). Chunks are
independent: locally `--workers` threads share them, and `--executor dask` spreads them over a
dask.distributed cluster (executing.py); the reports are merged in chunk order.
"""

from .command import run_batched
from .drawing import Stack, StackLayer, make_stack
from .executing import EXECUTORS, execute, fuzz_chunk, plan
from .judging import first_out, judge

__all__ = ["EXECUTORS", "Stack", "StackLayer", "execute", "first_out", "fuzz_chunk", "judge",
           "make_stack", "plan", "run_batched"]
