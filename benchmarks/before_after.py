"""Before and after, side by side: this tree's engine and batched fuzzer against another
checkout's (python benchmarks/run.py --before ../main).

The machine is shared and its speed drifts, so the two sides are taken in turns (A B A B) in
one run and compared by their medians; each fuzz run's CPU seconds (user + system, from the
child's rusage) are printed next to its wall seconds, with the load average it ran under: on a
loaded machine the CPU seconds are the steadier figure.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
ENGINE_CONFIGS = [([784, 256, 256, 10], 128, 30), ([1024] * 5, 512, 6)]


def engine_of(root: Path, name: str):
    """impls.reference of the checkout at `root`, imported under another name (so that both
    versions of the engine live in this process)."""
    package = root / "impls" / "reference"
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.Network


def traced_peak(fn) -> float:
    """MiB at the peak of one call, by tracemalloc (NumPy reports its buffers to it)."""
    fn()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def engine_table(before: Path, quick: bool, interleaved, table) -> None:
    """train_step of both engines on the same data (tanh, mse, mean), timed in turns after
    checking that three steps of each leave the same parameters."""
    networks = {"before": engine_of(before, "before_reference"),
                "after": engine_of(HERE, "after_reference")}
    rows = []
    for sizes, batch, repeats in ENGINE_CONFIGS:
        for dtype in ("float64", "float32"):
            rng = np.random.default_rng(0)
            ws = [rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(dtype)
                  for a, b in zip(sizes, sizes[1:])]
            bs = [np.zeros(b, dtype) for b in sizes[1:]]
            x = rng.normal(size=(batch, sizes[0])).astype(dtype)
            y = rng.normal(size=(batch, sizes[-1])).astype(dtype)
            nets = {side: cls(ws, bs, "tanh", "mse", "mean", dtype=dtype)
                    for side, cls in networks.items()}
            fns = {side: (lambda n=n: n.train_step(x, y, 0.01)) for side, n in nets.items()}
            for fn in fns.values():  # three steps each from the same start: the same numbers
                fn(), fn(), fn()
            if not all((a == b).all() for a, b in zip(nets["before"].weights,
                                                      nets["after"].weights)):
                raise SystemExit("before and after: the parameters differ after 3 steps")
            times = interleaved(fns, max(3, repeats // (3 if quick else 1)))
            peaks = {side: traced_peak(fn) for side, fn in fns.items()}
            name = "-".join(map(str, sizes)) if len(sizes) < 5 else "1024x4 layers"
            rows.append([name, str(batch), dtype, f"{times['before'] * 1e3:.3f}",
                         f"{times['after'] * 1e3:.3f}", f"{times['after'] / times['before']:.2f}",
                         f"{peaks['before']:.1f}", f"{peaks['after']:.1f}"])
    table("engine, Network.train_step before and after (timed in turns, 3 rounds; the same "
          "parameters after 3 steps, checked); peak MiB of a step by tracemalloc",
          ["network", "batch", "dtype", "before ms", "after ms", "after / before",
           "before peak MiB", "after peak MiB"], rows)


def fuzz_run(root: Path, networks: int, workers: int, out: str) -> tuple[float, float, str]:
    """One `fuzz --arch 4-8-8-2` of the checkout at root: wall s, CPU s, its rate line."""
    import time
    env = dict(os.environ, PYTHONPATH=str(root))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harness", "fuzz", "--arch", "4-8-8-2",
                           "--networks", str(networks), "--workers", str(workers), "--out", out],
                          cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next((line for line in done.stdout.splitlines() if "networks/s" in line),
                done.stderr.strip()[-200:])
    return wall, cpu, line


def fuzz_table(before: Path, networks: int, workers: int, rounds: int, table) -> None:
    """The batched fuzzer (reference, torch, jax; float64 4-8-8-2, batch 8) of both checkouts,
    run in turns; the JAX cache is the one both use (a first run per side warms it)."""
    results: dict = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as out:
        for side, root in (("before", before), ("after", HERE)):
            fuzz_run(root, 2000, workers, out)  # untimed: compiles into the JAX cache
        for _ in range(rounds):
            for side, root in (("before", before), ("after", HERE)):
                load = os.getloadavg()[0]
                wall, cpu, line = fuzz_run(root, networks, workers, out)
                results[side].append((wall, cpu, load))
                if "networks/s" not in line:
                    raise SystemExit(f"{side}: the fuzz run failed: {line}")
    rows = []
    for side, runs in results.items():
        wall, cpu = (float(np.median([r[i] for r in runs])) for i in (0, 1))
        loads = ", ".join(f"{r[2]:.1f}" for r in runs)
        rows.append([side, f"{networks:,}", str(workers), f"{wall:.1f}", f"{cpu:.1f}",
                     f"{networks / wall:,.0f}", f"{networks / cpu:,.0f}", loads])
    table(f"batched fuzz before and after, {rounds} runs each in turns (medians), imports and "
          "a warm JAX cache included", ["side", "networks", "--workers", "wall s", "CPU s",
                                        "networks/s (wall)", "networks per CPU second",
                                        "load average at each start"], rows)
