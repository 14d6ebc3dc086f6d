"""Batched fuzzing: many random networks of one architecture, stacked on a leading axis.

`backprop-harness fuzz --arch 4-8-8-2 --networks 100000` draws the networks chunk by chunk
(numpy PCG64 seeded with [seed, chunk]), runs each chunk through every stacked implementation
at once (numpy batched matmul, torch batched matmul, jax under jit), and judges every network
with the harness's tolerance model (harness/tolerance.py, which takes leading axes). A
mismatching network is reported by index and written out as an ordinary spec.

Chunks are independent, so `--executor dask` spreads them over a dask.distributed cluster (a
LocalCluster by default, `--scheduler ADDRESS` for a real one) and merges the reports.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .compare import quantities, value_of
from .errors import HarnessError
from .registry import get
from .spec import Spec, spec_from_dict
from .tolerance import magnitudes, resolve, with_final_drift

EXECUTORS = ("local", "dask")
# LocalCluster workers share the machine's cores: one thread each, not one pool per framework
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
MAX_FAILURES_PER_CHUNK = 5


@dataclass(frozen=True)
class StackLayer:
    weights: np.ndarray  # (networks, n_out, n_in)
    bias: np.ndarray     # (networks, n_out)
    activation: str
    slope: float = 0.01


@dataclass(frozen=True)
class Stack:
    """Networks of one architecture on a leading axis; shaped like a Spec for the impls."""

    name: str
    dtype: str
    layers: tuple
    loss: str
    reduction: str
    inputs: np.ndarray   # (networks, batch, n_in)
    targets: np.ndarray  # (networks, batch, n_out)
    learning_rate: float
    steps: int
    first_index: int

    @property
    def count(self) -> int:
        return self.inputs.shape[0]

    def spec(self, i: int) -> Spec:
        """Network i of this stack as an ordinary spec (to reproduce it alone)."""
        return spec_from_dict({
            "name": f"{self.name}-net{self.first_index + i}", "dtype": self.dtype,
            "loss": self.loss, "reduction": self.reduction,
            "layers": [{"weights": layer.weights[i].tolist(), "bias": layer.bias[i].tolist(),
                        "activation": layer.activation} for layer in self.layers],
            "inputs": self.inputs[i].tolist(), "targets": self.targets[i].tolist(),
            "learning_rate": self.learning_rate, "steps": self.steps})


def make_stack(sizes: list[int], count: int, batch: int, activation: str, loss: str,
               dtype: str, seed: int, chunk: int, first_index: int, steps: int = 1,
               learning_rate: float = 0.1) -> Stack:
    """`count` random networks: Xavier-uniform weights, small biases, uniform data."""
    rng = np.random.default_rng([seed, chunk])
    acts = [activation] * (len(sizes) - 1)
    if loss == "binary_cross_entropy":
        acts[-1] = "sigmoid"
    layers = []
    for n_in, n_out, act in zip(sizes, sizes[1:], acts):
        limit = math.sqrt(6.0 / (n_in + n_out))
        w = rng.uniform(-limit, limit, (count, n_out, n_in)).astype(dtype)
        b = rng.uniform(-0.1, 0.1, (count, n_out)).astype(dtype)
        layers.append(StackLayer(w, b, act))
    x = rng.uniform(-2.0, 2.0, (count, batch, sizes[0])).astype(dtype)
    n_out = sizes[-1]
    if loss == "softmax_cross_entropy":
        y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, (count, batch))]
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, (count, batch, n_out)).astype(dtype)
    else:
        y = rng.uniform(-1.0, 1.0, (count, batch, n_out)).astype(dtype)
    name = "fuzz-" + "-".join(map(str, sizes))
    return Stack(name, dtype, tuple(layers), loss, "sum", x, y, learning_rate, steps, first_index)


def compare_stack(stack: Stack, base, other, tol, base_mags=None) -> tuple[np.ndarray, np.ndarray]:
    """Per network: out of tolerance anywhere, and the index (in computation order) of the
    first quantity that is (-1 where none). `base_mags` (magnitudes(stack, base)) may be
    shared between the implementations compared with one baseline."""
    base_mags = base_mags if base_mags is not None else magnitudes(stack, base)
    mags = with_final_drift(stack, base_mags, base, other, tol["backward"])
    n = stack.count
    origin = np.full(n, -1)
    order = list(quantities(len(stack.layers), stack.steps))
    with np.errstate(all="ignore"):
        for qi, (step, q, layer) in enumerate(order):
            a = value_of(other, step, q, layer).reshape(n, -1)
            b = value_of(base, step, q, layer).reshape(n, -1)
            m = np.asarray(mags[-1 if step is None else step][(q, layer)]).reshape(n, -1)
            t = tol["forward" if q in ("d", "h", "outputs", "loss") else "backward"]
            ok = (np.abs(a - b) <= t.atol + t.rtol * m).all(axis=1)
            if not ok.all():  # equal infinities and NaN in the same place also pass
                rows = ~ok
                ar, br = a[rows], b[rows]
                ok[rows] = ((ar == br) | (np.isnan(ar) & np.isnan(br)) |
                            (np.abs(ar - br) <= t.atol + t.rtol * m[rows])).all(axis=1)
            bad = ~ok & (origin < 0)
            origin[bad] = qi
    return origin >= 0, origin


def _label(order, qi: int) -> str:
    step, q, layer = order[qi]
    when = "final" if step is None else f"step {step}"
    return f"{when} {q}" + (f"[layer {layer}]" if layer is not None else "")


def fuzz_chunk(job: dict) -> dict:
    """Draw, trace and judge one chunk; a plain dict comes back (for dask too)."""
    stack = make_stack(job["sizes"], job["count"], job["batch"], job["activation"],
                       job["loss"], job["dtype"], job["seed"], job["chunk"], job["first"])
    traces, seconds = {}, {}
    t_all = time.perf_counter()
    for name in job["impls"]:
        t0 = time.perf_counter()
        traces[name] = get(name).impl.trace(stack)
        seconds[name] = time.perf_counter() - t0
    tol = resolve(stack.dtype)
    order = list(quantities(len(stack.layers), stack.steps))
    mismatches, failures = {}, []
    t0 = time.perf_counter()
    base = traces[job["baseline"]]
    base_mags = magnitudes(stack, base)
    for name in job["impls"]:
        if name == job["baseline"]:
            continue
        bad, origin = compare_stack(stack, base, traces[name], tol, base_mags)
        mismatches[name] = int(bad.sum())
        for i in np.flatnonzero(bad)[:MAX_FAILURES_PER_CHUNK]:
            failures.append({"network": stack.first_index + int(i), "impl": name,
                             "origin": _label(order, int(origin[i])),
                             "spec": stack.spec(int(i)).to_dict()})
    seconds["compare"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_all
    return {"networks": stack.count, "mismatches": mismatches, "failures": failures,
            "seconds": seconds}


def plan(args) -> list[dict]:
    """The chunk jobs for a batched campaign."""
    try:
        sizes = [int(s) for s in args.arch.split("-")]
    except ValueError:
        raise HarnessError(f"--arch: expected widths joined by '-', like 4-8-8-2, "
                           f"got {args.arch!r}") from None
    if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > 4096:
        raise HarnessError(f"--arch: expected at least 2 widths between 1 and 4096, "
                           f"got {args.arch}")
    for flag, value in (("--networks", args.networks), ("--batch", args.batch),
                        ("--chunk", args.chunk)):
        if value < 1:
            raise HarnessError(f"{flag} must be at least 1, got {value}")
    params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    per_net = 8 * (params * 4 + args.batch * sum(sizes) * 6)
    if per_net * min(args.chunk, args.networks) > 4 * 1024 ** 3:
        raise HarnessError(f"--chunk {args.chunk} would need about "
                           f"{per_net * args.chunk / 1024 ** 3:.1f} GiB; use a smaller chunk")
    impls = list(dict.fromkeys([args.baseline] + (args.impl or ["torch", "jax"])))
    for name in impls:
        info = get(name)
        if not info.available:
            raise HarnessError(f"implementation {name!r} is unavailable: {info.reason}")
        if not getattr(info.impl, "stacked", False):
            raise HarnessError(f"implementation {name!r} cannot run stacked networks "
                               f"(batched fuzzing needs reference, torch or jax)")
    dtype = args.dtype or "float64"
    jobs, first = [], 0
    for chunk in range(math.ceil(args.networks / args.chunk)):
        count = min(args.chunk, args.networks - first)
        jobs.append({"sizes": sizes, "count": count, "batch": args.batch,
                     "activation": args.activation, "loss": args.loss, "dtype": dtype,
                     "seed": args.seed, "chunk": chunk, "first": first, "impls": impls,
                     "baseline": args.baseline})
        first += count
    return jobs


def execute(jobs: list[dict], executor: str, scheduler: str | None, workers: int) -> list[dict]:
    if executor == "local":
        return [fuzz_chunk(job) for job in jobs]
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise HarnessError(f"--executor dask needs dask.distributed ({exc}); "
                           "pip install 'backprop-harness[dask]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise HarnessError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
        with client:
            return client.gather(client.map(fuzz_chunk, jobs, pure=False))
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=ONE_THREAD) as cluster, Client(cluster) as client:
        return client.gather(client.map(fuzz_chunk, jobs, pure=False))


def run_batched(args) -> int:
    jobs = plan(args)
    t0 = time.perf_counter()
    reports = execute(jobs, args.executor, args.scheduler, args.workers)
    wall = time.perf_counter() - t0
    total = sum(r["networks"] for r in reports)
    impls = jobs[0]["impls"]
    print(f"{total:,} networks {args.arch} ({jobs[0]['dtype']}, {args.activation}, {args.loss}, "
          f"batch {args.batch}) in {len(jobs)} chunk(s) on {args.executor}: {wall:.2f} s, "
          f"{total / wall:,.0f} networks/s end to end")
    print(f"{'impl':<12} {'seconds':>9} {'mismatches':>11}")
    for name in impls + ["compare"]:
        secs = sum(r["seconds"].get(name, 0.0) for r in reports)
        bad = sum(r["mismatches"].get(name, 0) for r in reports)
        shown = "" if name in ("compare", args.baseline) else f"{bad:,}"
        print(f"{name:<12} {secs:>9.2f} {shown:>11}")
    failures = [f for r in reports for f in r["failures"]]
    if not failures:
        print(f"PASS: every network within tolerance of {args.baseline}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for f in failures[:20]:
        path = Path(args.out) / f"{f['spec']['name']}-{f['impl']}.json"
        path.write_text(json.dumps(f["spec"], indent=1))
        print(f"FAIL network {f['network']} {f['impl']}: first out of tolerance at "
              f"{f['origin']}; reproduce: backprop-harness run {path} --impl {f['impl']} "
              f"--baseline {args.baseline}")
    return 1
