"""Speed and memory, side by side in one process: python benchmarks/run.py [--quick]

Prints one table per measurement: numpy's matmul rate; one training step (forward, backward,
SGD update) of the reference engine (train_step, and the traced step that keeps every v and
gradient), torch eager and jitted JAX per configuration (median time, ratios to the reference
and to torch, GFLOP/s, fraction of the matmul rate, peak memory); the batched fuzzer's
throughput, and a chunk's time part by part; the default run (`backprop-harness run`) cold
and warm against the bare `import torch, jax` (issue 35's goal, in turns); and the cost of a
step over batch sizes and widths. `--default-run` prints the default run's table alone (with
`--before CHECKOUT`, that checkout's runs too, in the same turns); `--before CHECKOUT` alone
prints the before/after tables of the engine and the batched fuzzer against another checkout
(before_after.py). Timings are medians; the machine is shared, so read ratios, not single
numbers. Implementations compared with each other are timed in turns, each turn after a
settling time (see interleaved()): timed one after the other, torch right after numpy ran
with one core taken by OpenBLAS's spinning threads, which made torch look up to 2.5x slower
on small steps.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np


CLOCK = {"now": time.perf_counter}  # --cpu-clock: the process's CPU seconds instead


def clock() -> float:
    return CLOCK["now"]()


def median_time(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return float(np.median(times))


def interleaved(fns: dict, repeats: int, rounds: int = 3, settle: float = 0.3) -> dict:
    """Median seconds per function over `repeats` calls, taken in `rounds` blocks that take
    turns, so that a change in this shared machine's speed during the measurement affects all
    of them alike. Each block first runs its function untimed for `settle` seconds (at least
    twice): after a switch, the other library's idle threads keep spinning for a while
    (OpenBLAS's for ~0.1 s) and take a core from the next one."""
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            start, calls = time.perf_counter(), 0
            while calls < 2 or time.perf_counter() - start < settle:
                fn()
                calls += 1
            for _ in range(max(1, repeats // rounds)):
                t0 = clock()
                fn()
                times[k].append(clock() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


MATMUL_FLOP = 2 * 2048 ** 3


def square_matmul(dtype: str):
    """numpy's 2048x2048 product in dtype: the rate a step's fraction is measured against."""
    a = np.random.default_rng(0).random((2048, 2048)).astype(dtype)
    return lambda: a @ a


def matmul_rate(dtype: str) -> float:
    return MATMUL_FLOP / median_time(square_matmul(dtype), 5) / 1e9


def step_flops(sizes, batch) -> float:
    """Forward matmuls, v = (v' W') for every layer but the first, and g = v^T x."""
    params = [a * b for a, b in zip(sizes, sizes[1:])]
    return 2 * batch * (2 * sum(params) + sum(params[1:]))


def peak_rss_delta(fn, release=lambda: None) -> float:
    """MiB of resident memory a call adds at its peak (VmHWM reset through clear_refs), after
    `release` dropped what the previous call left held. Meaningful only when large blocks are
    mapped and unmapped one by one (memory_table runs it with glibc's mmap threshold low)."""
    release()
    gc.collect()
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    fn()
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    return max(0, hwm - rss) / 1024


def steppers(sizes, batch, dtype):
    """One-step closures for reference, torch and jax on the same data (tanh, mse, mean)."""
    import jax
    import torch

    import impls.jax_grad as jg
    import impls.torch_autograd as ta
    from impls.reference import Network
    ta._load()

    rng = np.random.default_rng(0)
    ws = [rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(dtype) for a, b in zip(sizes, sizes[1:])]
    bs = [np.zeros(b, dtype) for b in sizes[1:]]
    x = rng.normal(size=(batch, sizes[0])).astype(dtype)
    y = rng.normal(size=(batch, sizes[-1])).astype(dtype)

    net = Network(ws, bs, "tanh", "mse", "mean", dtype=dtype)

    def reference():
        net.train_step(x, y, 0.01)

    def reference_traced():
        grads = net.backward(net.forward(x), y)
        net.step(grads, 0.01)

    tp = [torch.tensor(a, requires_grad=True) for pair in zip(ws, bs) for a in pair]
    opt = torch.optim.SGD(tp, lr=0.01)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def torch_step():
        opt.zero_grad()
        h = xt
        for k in range(len(ws)):
            d = h @ tp[2 * k].T + tp[2 * k + 1]
            d.retain_grad()  # v, as the adapter records it
            h = torch.tanh(d)
        ta.LOSSES["mse"](h, yt).mean(-1).backward()
        opt.step()

    fn = jg.step_fn(tuple(("tanh", 0.01) for _ in ws), "mse", "mean")
    state = {"p": [(jax.numpy.asarray(w), jax.numpy.asarray(b)) for w, b in zip(ws, bs)]}
    xj, yj, r = jax.numpy.asarray(x), jax.numpy.asarray(y), np.dtype(dtype).type(0.01)

    def jax_step():
        out = fn(state["p"], xj, yj, r)
        jax.block_until_ready(out)
        state["p"] = out[-1]

    def traced_bytes(fn):
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak / 2 ** 20

    releases = {"reference": lambda: None, "reference, traced": lambda: None,
                "jax": lambda: None, "torch": lambda: opt.zero_grad(set_to_none=True)}
    return {"reference": reference, "reference, traced": reference_traced, "torch": torch_step,
            "jax": jax_step}, traced_bytes, releases


def table(title, header, rows):
    print(f"\n{title}")
    print(" | ".join(header))
    print("|".join("---" for _ in header))
    for row in rows:
        print(" | ".join(row))


CONFIGS = [([784, 256, 256, 10], 128, 30), ([1024] * 5, 512, 5), ([2, 2, 2], 1, 2000)]


def memory_table() -> dict:
    """Peak memory of a step per configuration and implementation, measured in a child process
    whose glibc maps every block over 64 KiB on its own (so freed memory leaves RSS at once)."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    out = subprocess.run([sys.executable, __file__, "--memory-only"], env=env,
                         capture_output=True, text=True, check=True)
    return {tuple(k): v for k, v in json.loads(out.stdout)}


def measure_memory() -> None:
    rows = []
    for sizes, batch, _ in CONFIGS:
        for dtype in ("float64", "float32"):
            fns, _, releases = steppers(sizes, batch, dtype)
            for f in fns.values():
                f()
            rows.append([["-".join(map(str, sizes)), batch, dtype],
                         {k: min(peak_rss_delta(f, releases[k]) for _ in range(3))
                          for k, f in fns.items()}])
    print(json.dumps(rows))


def bench_steps(quick: bool):
    configs = CONFIGS
    memory = memory_table()
    rates = {dt: matmul_rate(dt) for dt in ("float64", "float32")}
    table("numpy matmul 2048x2048", ["dtype", "GFLOP/s"],
          [[dt, f"{r:.0f}"] for dt, r in rates.items()])
    rows = []
    for sizes, batch, repeats in configs:
        for dtype in ("float64", "float32"):
            fns, ref_bytes, _ = steppers(sizes, batch, dtype)
            matmul = square_matmul(dtype)
            before = median_time(matmul, 3, warmup=1)
            times = interleaved(fns, max(3, repeats // (3 if quick else 1)))
            rate = 2 * MATMUL_FLOP / (before + median_time(matmul, 3, warmup=1)) / 1e9
            mem = memory[("-".join(map(str, sizes)), batch, dtype)]
            flops = step_flops(sizes, batch)
            for k in fns:
                rows.append(["-".join(map(str, sizes)) if len(sizes) < 5 else "1024x4 layers",
                             str(batch), dtype, k, f"{times[k] * 1e3:.3f}",
                             f"{times[k] / times['reference']:.2f}",
                             f"{times[k] / times['torch']:.2f}",
                             f"{flops / times[k] / 1e9:.1f}",
                             f"{flops / times[k] / 1e9 / rate:.0%} of {rate:.0f}",
                             f"{mem[k]:.1f}" + (f" ({ref_bytes(fns[k]):.1f})"
                                                 if k.startswith("reference") else "")])
    table("one SGD step (forward, backward, update), the implementations timed in turns (3 "
          "rounds), against numpy's 2048x2048 matmul timed just before and after; reference: "
          "Network.train_step, reference, traced: forward(), backward() and step(), which keep "
          "every d, h, v and gradient of the pass; peak MiB: resident memory a step adds at its "
          "peak (RSS high-water mark; for the reference also NumPy's own peak by tracemalloc, in "
          "parentheses)",
          ["network", "batch", "dtype", "impl", "ms", "x reference", "x torch", "GFLOP/s",
           "of matmul GFLOP/s",
           "peak MiB"], rows)


def bench_gemm():
    """The three matrix products of a 1024-wide layer's step (batch 512), numpy vs torch: the
    floor under the reference's step on large layers is numpy's BLAS on these shapes."""
    import torch
    rows = []
    for dtype in ("float64", "float32"):
        rng = np.random.default_rng(0)
        x, v = (rng.random((512, 1024)).astype(dtype) for _ in range(2))
        w = rng.random((1024, 1024)).astype(dtype)
        tx, tv, tw = map(torch.from_numpy, (x, v, w))
        for label, fn, tfn in (("d = x W^T", lambda: x @ w.T, lambda: tx @ tw.T),
                               ("v W", lambda: v @ w, lambda: tv @ tw),
                               ("g = v^T x", lambda: v.T @ x, lambda: tv.T @ tx)):
            times = interleaved({"numpy": fn, "torch": tfn}, 15)
            a, b = times["numpy"], times["torch"]
            flops = 2 * 512 * 1024 * 1024
            rows.append([dtype, label, f"{a * 1e3:.2f}", f"{b * 1e3:.2f}", f"{a / b:.2f}",
                         f"{flops / a / 1e9:.0f}", f"{flops / b / 1e9:.0f}"])
    table("one layer's matrix products alone (1024x1024 weights, batch 512): numpy (OpenBLAS) "
          "vs torch (MKL)", ["dtype", "product", "numpy ms", "torch ms", "numpy / torch",
                             "numpy GFLOP/s", "torch GFLOP/s"], rows)


def bench_scaling():
    rows = []
    for dtype in ("float64",):
        for batch in (32, 128, 512):
            fns, _, _ = steppers([256, 256, 256, 10], batch, dtype)
            rows.append(["256-256-256-10", str(batch),
                         f"{median_time(fns['reference'], 20) * 1e3:.3f}"])
        for width in (64, 256, 1024):
            fns, _, _ = steppers([width, width, width, 10], 128, dtype)
            rows.append([f"{width}-{width}-{width}-10", "128",
                         f"{median_time(fns['reference'], 10) * 1e3:.3f}"])
    table("reference step over batch and width (float64): time should grow linearly with "
          "batch and with the parameter count", ["network", "batch", "ms"], rows)


def bench_fuzz_chunk(count: int = 2000, repeats: int = 7):
    """Where a batched-fuzz chunk's time goes: drawing, each implementation's trace_stacked,
    the judge (tolerance model and pass rule, jitted), the domain mask; one thread, warm."""
    from harness.batched import judge, make_stack
    from harness.batched.executing import trace_networks
    from harness.fuzz_domain import domain_mask
    from harness.tolerance import resolve

    def draw():
        return make_stack([4, 8, 8, 2], count, 8, "tanh", "mse", "float64", 0, 1, 0)

    stack = draw()
    traces = {name: trace_networks(name, stack) for name in ("reference", "torch", "jax")}
    others = [traces["torch"], traces["jax"]]
    parts = {"draw": draw, **{f"trace {name}": (lambda n=name: trace_networks(n, stack))
                              for name in traces},
             "judge (torch, jax)": lambda: judge(stack, traces["reference"], others,
                                                 resolve("float64")),
             "domain mask": lambda: domain_mask("mse", traces["reference"], count)}
    times = {k: median_time(fn, repeats) for k, fn in parts.items()}
    total = sum(times.values())
    rows = [[k, f"{t * 1e3:.2f}", f"{t / total:.0%}"] for k, t in times.items()]
    rows.append(["chunk", f"{total * 1e3:.2f}", f"{count / total:,.0f} networks/s per core"])
    table(f"one batched-fuzz chunk of {count:,} float64 4-8-8-2 networks (batch 8), part by part "
          "(medians; one thread; imports and compiles done)", ["part", "ms", "share"], rows)


def run_cli(args) -> tuple[float, str]:
    return _timed([sys.executable, "-m", "harness", *args])


def bench_fuzz_and_suite(tmp: str):
    rows = []
    for networks, workers in ((100_000, 1), (100_000, 2), (1_000_000, 2)):
        cache = os.path.join(tmp, f"fuzz-cache-{networks}-{workers}")
        os.environ["BACKPROP_HARNESS_JAX_CACHE"] = cache  # empty: JAX compiles everything
        wall, line = run_cli(["fuzz", "--arch", "4-8-8-2", "--networks", str(networks),
                              "--workers", str(workers)])
        rate = line.split(" s, ")[-1].split(" networks/s")[0] if "networks/s" in line else line
        rows.append([f"{networks:,}", str(workers), f"{wall:.1f}", rate])
    table("batched fuzz, 4-8-8-2 float64 networks (batch 8) through reference, torch and jax, "
          "judged by the tolerance model; JAX compilation cache empty",
          ["networks", "--workers", "wall s (process)", "networks/s (harness, imports and "
           "compile included)"], rows)
    default_run_table(tmp)


def default_run_table(tmp: str, before: Path | None = None) -> None:
    rows = default_run_rows(tmp, before)
    table("the default run (`backprop-harness run`, every available implementation) against the "
          "bare `import torch, jax`, in turns; JAX compilation cache cold (emptied before each "
          "cold run) or warm (the previous run's); wall seconds, imports and report included",
          ["command", "JAX cache", "wall s (runs)", "median / import", "verdict"], rows)


def _timed(argv: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, str]:
    """(wall s, the verdict line: PASS/FAIL or the fuzzer's networks/s, else the last line of
    stderr) of one command, run in `cwd` (the default runs use a neutral folder: `python -m`
    puts the working folder first on the path, before PYTHONPATH's checkout). Its CPU seconds
    are not taken: the run's workers, in sessions of their own, are not its waited-for
    children."""
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    line = next((x for x in out.stdout.splitlines()
                 if "networks/s" in x or x.startswith(("PASS", "FAIL"))),
                (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1])
    return wall, line


def default_run_rows(tmp: str, before: Path | None = None, rounds: int = 3) -> list[list[str]]:
    """Issue 35's goal, measured: the bare import, the cold default run and the warm one, each
    `rounds` times, taken in turns so that the machine's drift touches all of them alike;
    with `before`, that checkout's runs too (its code first on the path), in the same turns."""
    trees = {"": Path(__file__).resolve().parents[1]}
    if before:
        trees = {" (this tree)": trees[""], f" ({before})": before.resolve()}
    commands = {"import torch, jax": ("", {}, [sys.executable, "-c", "import torch, jax"])}
    for k, (label, root) in enumerate(trees.items()):
        env = {**os.environ, "BACKPROP_HARNESS_JAX_CACHE": os.path.join(tmp, f"jax-cache-{k}"),
               "PYTHONPATH": str(root)}
        argv = [sys.executable, "-m", "harness", "run", "--force", "--out",
                os.path.join(tmp, f"default-run-{k}")]
        commands[f"run{label} (cold)"] = ("cold", env, argv)
        commands[f"run{label} (warm)"] = ("warm", env, argv)
    got = {name: [] for name in commands}
    for _ in range(rounds):
        for name, (cache, env, argv) in commands.items():
            if cache == "cold":
                subprocess.run(["rm", "-rf", env["BACKPROP_HARNESS_JAX_CACHE"]])
            got[name].append(_timed(argv, env or dict(os.environ), tmp))
    base = float(np.median([w for w, _ in got["import torch, jax"]]))
    rows = []
    for name, (cache, _, _) in commands.items():
        walls = [w for w, _ in got[name]]
        rows.append([name, cache or "-", " / ".join(f"{w:.1f}" for w in walls),
                     f"{np.median(walls) / base:.1f}x", got[name][-1][1].split(" in ")[0]])
    return rows


def before_and_after(args) -> None:
    from before_after import engine_table, fuzz_table
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min); before: "
          f"{args.before}; steps timed by {'CPU' if args.cpu_clock else 'wall'} seconds")
    engine_table(args.before.resolve(), args.quick, interleaved, table)
    fuzz_table(args.before.resolve(), args.networks, 2, args.rounds, table)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument("--skip-cli", action="store_true", help="only the in-process tables")
    p.add_argument("--default-run", action="store_true",
                   help="only the default run's table (cold, warm, import; in turns); with "
                        "--before, that checkout's default run too")
    p.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cpu-clock", action="store_true",
                   help="time steps by the process's CPU seconds, not wall seconds: steadier "
                        "on a loaded machine; run it with OMP_NUM_THREADS=1 "
                        "OPENBLAS_NUM_THREADS=1 so that no library's idle threads spin")
    p.add_argument("--before", type=Path, metavar="CHECKOUT",
                   help="only the before/after tables: this tree's engine and batched fuzzer "
                        "against those of another checkout (a git worktree of main, say)")
    p.add_argument("--networks", type=int, default=100_000,
                   help="--before: networks per fuzz run (default 100,000)")
    p.add_argument("--rounds", type=int, default=2,
                   help="--before: fuzz runs per side, taken in turns (default 2)")
    args = p.parse_args()
    if args.memory_only:
        return measure_memory()
    if args.cpu_clock:
        CLOCK["now"] = time.process_time
    if args.default_run:
        import tempfile
        print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")
        with tempfile.TemporaryDirectory() as tmp:
            default_run_table(tmp, args.before)
        print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")
        return None
    if args.before:
        return before_and_after(args)
    import torch
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min); timed by "
          f"{'CPU' if args.cpu_clock else 'wall'} seconds")
    bench_steps(args.quick)
    bench_gemm()
    bench_scaling()
    bench_fuzz_chunk()
    if not args.skip_cli:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            bench_fuzz_and_suite(tmp)


if __name__ == "__main__":
    main()
