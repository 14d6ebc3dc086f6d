"""Batched fuzzing: many random networks of one architecture, stacked on a leading axis.

`backprop-harness fuzz --arch 4-8-8-2 --networks 100000` draws the networks chunk by chunk
(numpy PCG64 seeded with [seed, chunk]), runs each chunk through every stacked implementation
at once (numpy batched matmul, torch batched matmul, jax under jit), and judges every network
with the harness's tolerance model (tolerance.recurrences, which takes leading axes; compiled
with jax.jit when jax is installed). A mismatching network is reported by index and written
out as an ordinary spec.

Chunks are independent: locally `--workers` threads share them, and `--executor dask` spreads
them over a dask.distributed cluster (a LocalCluster by default, `--scheduler ADDRESS` for a
real one); the reports are merged in chunk order.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from .compare import PHASE, quantities, value_of
from .errors import HarnessError
from .registry import get
from .runner import preparation, prepares
from .spec import Spec, spec_from_dict
from .tolerance import PHASES, Tolerance, local_terms, recurrences, resolve, with_final_drift
from .trace import LayerTrace, StepTrace, Trace

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


def first_out(xp, stack: Stack, base, other, mags: list[dict], tol) -> object:
    """Per network, the index (in computation order) of the first quantity of `other` out of
    tolerance of `base`, -1 where none; equal infinities and NaN in the same place pass.
    Every element gets its quantity's index where it fails and a sentinel where it passes,
    and one minimum per network picks the first (one reduction, not one per quantity)."""
    n = stack.count
    order = list(quantities(len(stack.layers), stack.steps))
    codes = []
    for qi, (step, q, layer) in enumerate(order):
        a = xp.reshape(value_of(other, step, q, layer, xp), (n, -1))
        b = xp.reshape(value_of(base, step, q, layer, xp), (n, -1))
        m = xp.reshape(mags[-1 if step is None else step][(q, layer)], (n, -1))
        t = tol["forward" if PHASE[q] == "forward" else "backward"]
        ok = (xp.abs(a - b) <= t.atol + t.rtol * m) | (a == b) | (xp.isnan(a) & xp.isnan(b))
        codes.append(xp.where(ok, len(order), qi).astype(xp.int16))
    first = xp.concatenate(codes, axis=1).min(axis=1)
    return xp.where(first == len(order), -1, first)


def _judge(xp, stack: Stack, base, others: list, terms, tol) -> list:
    """first_out() of every other implementation against one baseline; one-step magnitudes
    are computed once and completed per implementation (with_final_drift)."""
    if stack.steps == 1:
        shared = recurrences(xp, stack, base, terms)
        mags = [with_final_drift(stack, shared, base, o, tol["backward"], xp) for o in others]
    else:
        mags = [recurrences(xp, stack, base, terms, o, tol["backward"]) for o in others]
    return [first_out(xp, stack, base, o, m, tol) for o, m in zip(others, mags)]


def _tree(trace: Trace):
    """A trace's arrays as nested tuples (a pytree jax.jit takes)."""
    return (tuple((s.loss, s.outputs, tuple((lt.d, lt.h, lt.v, lt.grad_weights, lt.grad_bias)
                                            for lt in s.layers)) for s in trace.steps),
            tuple((p["weights"], p["bias"]) for p in trace.params))


def _untree(tree) -> Trace:
    steps, params = tree
    return Trace("", "", "", "", [StepTrace(loss, u, [LayerTrace(*a) for a in layers])
                                  for loss, u, layers in steps],
                 [{"weights": w, "bias": b} for w, b in params])


@lru_cache(maxsize=16)
def _jitted_judge(template: Stack, tol_key: tuple):
    """_judge under jax.jit for stacks shaped like `template` (its arrays are not used):
    XLA fuses the tolerance model's ~60 elementwise passes, which numpy makes one by one."""
    import jax
    import jax.numpy as jnp

    import impls.jax_grad  # noqa: F401  (float64 enabled, the persistent compilation cache)

    tol = {phase: Tolerance(*values) for phase, values in zip(PHASES, tol_key)}

    def run(arrays):
        ws, bs, x, y, base, others, terms = arrays
        layers = tuple(replace(layer, weights=w, bias=b)
                       for layer, w, b in zip(template.layers, ws, bs))
        stack = replace(template, layers=layers, inputs=x, targets=y)
        return jnp.stack(_judge(jnp, stack, _untree(base), [_untree(o) for o in others],
                                terms, tol))

    return jax.jit(run)


def judge(stack: Stack, base, others: list, tol, use_jax: bool | None = None) -> np.ndarray:
    """(len(others), networks): the first quantity out of tolerance per implementation and
    network, -1 where none. Under jax.jit when jax is installed (use_jax None), else numpy;
    both run the same code (tolerance.recurrences and first_out) and give the same answer."""
    terms = local_terms(stack, base)
    if use_jax is None:
        use_jax = importlib.util.find_spec("jax") is not None
    if not use_jax:
        with np.errstate(all="ignore"):
            return np.stack(_judge(np, stack, base, others, terms, tol))
    template = replace(stack, layers=tuple(replace(layer, weights=None, bias=None)
                                           for layer in stack.layers),
                       inputs=stack.inputs.shape, targets=stack.targets.shape,
                       name="", first_index=0)
    tol_key = tuple((tol[phase].rtol, tol[phase].atol) for phase in PHASES)
    arrays = ([layer.weights for layer in stack.layers], [layer.bias for layer in stack.layers],
              stack.inputs, stack.targets, _tree(base), [_tree(o) for o in others], terms)
    return np.array(_jitted_judge(template, tol_key)(arrays))


def _label(order, qi: int) -> str:
    step, q, layer = order[qi]
    when = "final" if step is None else f"step {step}"
    return f"{when} {q}" + (f"[layer {layer}]" if layer is not None else "")


def fuzz_chunk(job: dict, overlap: bool = False) -> dict:
    """Draw, trace and judge one chunk; a plain dict comes back (for dask too).

    With `overlap` (the first local chunk), implementations with a prepare() hook start on
    background threads once the baseline has traced (torch's import: ~2 s, holding the GIL
    that the baseline's numpy calls would wait for), and the judge is compiled meanwhile,
    with the baseline's trace standing in for theirs (same shapes and dtypes): XLA compiles
    without the GIL."""
    stack = make_stack(job["sizes"], job["count"], job["batch"], job["activation"],
                       job["loss"], job["dtype"], job["seed"], job["chunk"], job["first"])
    traces, seconds, started, pending = {}, {}, {}, None
    t_all = time.perf_counter()
    others = [name for name in job["impls"] if name != job["baseline"]]
    tol = resolve(stack.dtype)
    slow = {name for name in others if overlap and prepares(name)}
    for name in [job["baseline"]] + sorted(others, key=lambda n: n in slow):
        if name in slow:
            if pending is None:
                pending = {n: preparation(n, []) for n in slow}
                base = traces[job["baseline"]]
                judge(stack, base, [base] * len(others), tol)
            started[name] = pending[name].wait()
        t0 = time.perf_counter()
        traces[name] = get(name).impl.trace(stack)
        seconds[name] = time.perf_counter() - t0
    order = list(quantities(len(stack.layers), stack.steps))
    t0 = time.perf_counter()
    origins = judge(stack, traces[job["baseline"]], [traces[name] for name in others], tol)
    seconds["compare"] = time.perf_counter() - t0
    mismatches, failures = {}, []
    for name, origin in zip(others, origins):
        bad = np.flatnonzero(origin >= 0)
        mismatches[name] = len(bad)
        for i in bad[:MAX_FAILURES_PER_CHUNK]:
            failures.append({"network": stack.first_index + int(i), "impl": name,
                             "origin": _label(order, int(origin[i])),
                             "spec": stack.spec(int(i)).to_dict()})
    seconds["total"] = time.perf_counter() - t_all
    return {"networks": stack.count, "mismatches": mismatches, "failures": failures,
            "seconds": seconds, "started": started}


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
                        ("--chunk", args.chunk), ("--workers", args.workers)):
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
    """Every chunk's report, in chunk order. Locally the first chunk runs alone (it compiles
    what the rest reuse while prepare() hooks import on other threads), then `workers`
    threads share the others: numpy, torch and XLA release the GIL while they compute, so
    threads use the cores without a second copy of torch and jax per process."""
    if executor == "local":
        first = [fuzz_chunk(jobs[0], overlap=True)]
        if workers < 2 or len(jobs) < 2:
            return first + [fuzz_chunk(job) for job in jobs[1:]]
        pool = ThreadPoolExecutor(workers, thread_name_prefix="fuzz-chunk")
        try:
            return first + list(pool.map(fuzz_chunk, jobs[1:]))
        finally:  # on Ctrl-C, chunks not started are dropped rather than waited for
            pool.shutdown(wait=False, cancel_futures=True)
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
    t0 = time.perf_counter()  # from before plan(): importing the frameworks counts too
    jobs = plan(args)
    reports = execute(jobs, args.executor, args.scheduler, args.workers)
    wall = time.perf_counter() - t0
    total = sum(r["networks"] for r in reports)
    impls = jobs[0]["impls"]
    print(f"{total:,} networks {args.arch} ({jobs[0]['dtype']}, {args.activation}, {args.loss}, "
          f"batch {args.batch}) in {len(jobs)} chunk(s) on {args.executor}: {wall:.2f} s, "
          f"{total / wall:,.0f} networks/s end to end (imports and JAX compile included)")
    print(f"{'impl':<12} {'seconds':>9} {'start s':>8} {'mismatches':>11}   (seconds summed "
          f"over chunks; start: prepare(), e.g. torch's import, overlapped with the first chunk)")
    for name in impls + ["compare"]:
        secs = sum(r["seconds"].get(name, 0.0) for r in reports)
        start = sum(r["started"].get(name, 0.0) for r in reports)
        bad = sum(r["mismatches"].get(name, 0) for r in reports)
        shown = "" if name in ("compare", args.baseline) else f"{bad:,}"
        print(f"{name:<12} {secs:>9.2f} {f'{start:.2f}' if start >= 0.005 else '':>8} {shown:>11}")
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
