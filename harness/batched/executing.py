"""Executing a campaign: the chunks planned, each drawn, traced and judged, locally on
threads or on a dask.distributed cluster; a plain dict per chunk comes back."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import HarnessError
from ..fuzz_domain import domain_mask
from ..registry import get
from ..runner import run_many, run_one, traces_many
from ..tolerance import resolve
from ..trace import LAYER_FIELDS, LayerTrace, StepTrace, Trace
from ..xfails import shipped
from .drawing import make_stack
from .judging import judge, label

EXECUTORS = ("local", "dask")
# LocalCluster workers share the machine's cores: one thread each, not one pool per framework
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
MAX_FAILURES_PER_CHUNK = 5


def fuzz_chunk(job: dict) -> dict:
    """Draw, trace and judge one chunk; a plain dict comes back (for dask too). A chunk that
    starts after the campaign's deadline (--max-time) is skipped: an empty report."""
    if job.get("deadline") and time.time() > job["deadline"]:
        return {"networks": 0, "judged": 0, "mismatches": {}, "known": {}, "failures": [],
                "seconds": {}, "skipped": True}
    stack = make_stack(job["sizes"], job["count"], job["batch"], job["activation"],
                       job["loss"], job["dtype"], job["seed"], job["chunk"], job["first"])
    traces, seconds = {}, {}
    t_all = time.perf_counter()
    errors = {}  # an implementation that raised: its one line
    for name in [job["baseline"]] + [n for n in job["impls"] if n != job["baseline"]]:
        t0 = time.perf_counter()
        try:
            with np.errstate(all="ignore"):  # overflow in a tail is a finding, not a warning
                traces[name] = trace_networks(name, stack)
        except Exception as exc:  # an implementation's bug is a finding, not a crash
            if name == job["baseline"]:
                raise HarnessError(f"the baseline {name} failed on chunk {job['chunk']}: "
                                   f"{type(exc).__name__}: {exc}") from None
            errors[name] = f"raised {type(exc).__name__}: {exc}"
        seconds[name] = time.perf_counter() - t0
    others = [name for name in job["impls"] if name != job["baseline"] and name in traces]
    t0 = time.perf_counter()
    base = traces[job["baseline"]]
    origins = judge(stack, base, [traces[name] for name in others],
                    resolve(stack.dtype)) if others else []
    judged = domain_mask(stack.loss, base, stack.count)
    seconds["compare"] = time.perf_counter() - t0
    mismatches, known, failures = {}, {}, []
    for name, origin in zip(others, origins):
        bad = np.flatnonzero((origin >= 0) & judged)
        if any(x.matches(stack.name) for x in shipped(get(name).impl)):
            known[name], bad = len(bad), bad[:0]  # a known deviation covers these networks
        mismatches[name] = len(bad)
        for i in bad[:MAX_FAILURES_PER_CHUNK]:
            failures.append({"network": stack.first_index + int(i), "impl": name,
                             "origin": label(stack, int(origin[i])),
                             "spec": stack.spec(int(i)).to_dict()})
    seconds["total"] = time.perf_counter() - t_all
    for name, error in errors.items():
        mismatches[name] = stack.count
        failures.append({"network": stack.first_index, "impl": name, "origin": error,
                         "spec": stack.spec(0).to_dict()})
    return {"networks": stack.count, "judged": int(judged.sum()), "mismatches": mismatches,
            "known": known, "failures": failures, "seconds": seconds}


def stacks(name: str) -> bool:
    """Whether the implementation runs stacked networks at once (trace_stacked)."""
    return callable(getattr(get(name).impl, "trace_stacked", None))


def trace_networks(name: str, stack) -> Trace:
    """The stack's trace: from trace_stacked where the implementation has it; otherwise
    network by network through the ordinary contract (trace_many in one call, else trace),
    the traces stacked on the networks' axis. A network it fails on raises, with its line."""
    if stacks(name):
        return get(name).impl.trace_stacked(stack)
    specs = [stack.spec(i) for i in range(stack.count)]
    outcomes = (run_many(name, specs) if traces_many(name) else None) or \
        [run_one(name, spec) for spec in specs]
    bad = next((o for o in outcomes if o.status != "ok"), None)
    if bad is not None:
        raise RuntimeError(f"{bad.case}: {bad.status}: {bad.message}")
    return stacked([o.trace for o in outcomes], stack)


def stacked(traces: list[Trace], stack) -> Trace:
    """One trace of networks on a leading axis from one trace per network."""
    def pile(arrays):
        return np.stack([np.asarray(a) for a in arrays])
    steps = [StepTrace(pile(t.steps[k].loss for t in traces),
                       pile(t.steps[k].outputs for t in traces),
                       [LayerTrace(*(pile(getattr(t.steps[k].layers[j], f) for t in traces)
                                     for f in LAYER_FIELDS)) for j in range(len(stack.layers))])
             for k in range(stack.steps)]
    params = [{key: pile(t.params[j][key] for t in traces) for key in ("weights", "bias")}
              for j in range(len(stack.layers))]
    first = traces[0]
    return Trace(first.impl, first.impl_version, stack.name, stack.dtype, steps, params,
                 first.settings)


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
    dtype = args.dtype or "float64"
    max_time = getattr(args, "max_time", None)
    deadline = time.time() + max_time if max_time else None
    jobs, first = [], 0
    for chunk in range(math.ceil(args.networks / args.chunk)):
        count = min(args.chunk, args.networks - first)
        jobs.append({"sizes": sizes, "count": count, "batch": args.batch,
                     "activation": args.activation, "loss": args.loss, "dtype": dtype,
                     "seed": args.seed, "chunk": chunk, "first": first, "impls": impls,
                     "baseline": args.baseline, "deadline": deadline})
        first += count
    return jobs


def execute(jobs: list[dict], executor: str, scheduler: str | None, workers: int) -> list[dict]:
    """Every chunk's report, in chunk order. Locally the first chunk runs alone (it imports
    and compiles what the rest reuse), then `workers` threads share the others: numpy, torch
    and XLA release the GIL while they compute, so threads use the cores without a second
    copy of torch and jax per process."""
    if executor == "local":
        first = [fuzz_chunk(jobs[0])]
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


