"""Random networks, property-based (hypothesis): find a disagreement and shrink it to a minimum.

`spec_docs()` draws whole spec documents: depth, widths, activations per layer, loss,
reduction, batch, dtype, steps, and parameters and data that favour the hard places (exact
kink values, |d| of 30, tiny and large numbers). Hypothesis shrinks a failing document toward
fewer layers, neurons, samples and steps and simpler numbers; the minimal one is written out
as a spec JSON with the command that reproduces it. The batched mode (--arch, --networks)
lives in harness/batched.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, REDUCTIONS

from .conformance import choose_impls
from .errors import HarnessError
from .judge import Verdict, judge
from .runner import run_one
from .spec import DTYPES, Spec, spec_from_dict

BCE_MARGIN = 1e-11  # BCE on probabilities is ill-conditioned (and clamped by torch) below this


def _strategies():
    from hypothesis import strategies as st
    return st


def spec_docs(dtypes=DTYPES, max_depth: int = 3, max_width: int = 5, max_batch: int = 4,
              max_steps: int = 3, activations=ACTIVATIONS):
    """A hypothesis strategy of valid spec documents (explicit form)."""
    st = _strategies()
    special = st.sampled_from([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 30.0, -30.0, 1e-6])
    value = st.one_of(st.floats(-2.0, 2.0, allow_nan=False, width=32), special)

    def matrix(rows, cols):
        return st.lists(st.lists(value, min_size=cols, max_size=cols), min_size=rows,
                        max_size=rows)

    @st.composite
    def docs(draw):
        depth = draw(st.integers(1, max_depth))
        sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
        loss = draw(st.sampled_from(LOSSES))
        acts = draw(st.lists(st.sampled_from(list(activations)), min_size=depth,
                             max_size=depth))
        if loss == "binary_cross_entropy":
            acts[-1] = "sigmoid"
        batch = draw(st.integers(1, max_batch))
        layers = []
        for n_in, n_out, act in zip(sizes, sizes[1:], acts):
            layer = {"weights": draw(matrix(n_out, n_in)),
                     "bias": draw(st.lists(value, min_size=n_out, max_size=n_out)),
                     "activation": act}
            if act == "leaky_relu":
                layer["slope"] = draw(st.sampled_from([0.01, 0.1, 0.2]))
            layers.append(layer)
        n_out = sizes[-1]
        if loss == "softmax_cross_entropy":
            classes = draw(st.lists(st.integers(0, n_out - 1), min_size=batch, max_size=batch))
            targets = np.eye(n_out)[classes].tolist()
        elif loss == "binary_cross_entropy":
            targets = draw(matrix(batch, n_out).map(
                lambda rows: [[min(1.0, abs(v) / 2) for v in row] for row in rows]))
        else:
            targets = draw(matrix(batch, n_out))
        return {"name": "fuzz", "dtype": draw(st.sampled_from(list(dtypes))), "loss": loss,
                "reduction": draw(st.sampled_from(REDUCTIONS)), "layers": layers,
                "inputs": draw(matrix(batch, sizes[0])), "targets": targets,
                "learning_rate": draw(st.sampled_from([0.01, 0.1, 0.5])),
                "steps": draw(st.integers(1, max_steps))}

    return docs()


def in_domain(spec: Spec, baseline_trace) -> bool:
    """Whether the baseline computed finite numbers (and BCE stays well-conditioned)."""
    for step in baseline_trace.steps:
        arrays = [np.asarray(step.loss), step.outputs] + [
            getattr(layer, q) for layer in step.layers for q in ("d", "h", "v", "grad_weights")]
        if not all(np.all(np.isfinite(a)) for a in arrays):
            return False
        if spec.loss == "binary_cross_entropy":
            u = step.outputs.astype(np.float64)
            if np.any(u * (1 - u) < BCE_MARGIN):
                return False
    return True


def check(spec: Spec, impl: str, baseline: str) -> Verdict | None:
    """impl against baseline on one spec; None when the spec is outside the fuzzed domain."""
    base = run_one(baseline, spec)
    if base.status != "ok" or not in_domain(spec, base.trace):
        return None
    return judge(spec, base, run_one(impl, spec))


def find_failure(impl: str, baseline: str = "reference", examples: int = 100, seed: int = 0,
                 dtypes=DTYPES, **limits) -> tuple[Spec, Verdict] | None:
    """Search `examples` random specs for a disagreement; the shrunk minimum, or None."""
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import seed as hseed

    found: dict = {}

    @settings(max_examples=examples, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(spec_docs(dtypes, **limits))
    def prop(doc):
        spec = spec_from_dict(doc)
        result = check(spec, impl, baseline)
        assume(result is not None)
        if not result.ok:
            found["spec"], found["result"] = spec, result
            raise AssertionError(result.message)

    try:
        prop()
    except AssertionError:
        return found["spec"], found["result"]
    return None


def write_failure(spec: Spec, result: Verdict, out_dir: Path) -> tuple[Path, str]:
    """The minimal failing spec as JSON, and the command that reproduces it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"minimal-{result.impl}-vs-{result.baseline}.json"
    doc = spec.to_dict()
    doc["name"] = f"fuzz-minimal-{result.impl}"
    doc["description"] = f"shrunk by hypothesis: {result.message}"
    path.write_text(json.dumps(doc, indent=1))
    return path, f"backprop-harness run {path} --impl {result.impl} --baseline {result.baseline}"


def add_fuzz_parser(sub) -> None:
    from .batched import EXECUTORS
    f = sub.add_parser("fuzz", help="random networks: property-based search, or batched (--arch)")
    f.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                   help="implementations to check (default: torch and jax)")
    f.add_argument("--baseline", default="reference", metavar="NAME")
    f.add_argument("--examples", type=int, default=100, metavar="N",
                   help="property-based: random specs to try per implementation")
    f.add_argument("--seed", type=int, default=0, metavar="N")
    f.add_argument("--dtype", choices=DTYPES, help="only this dtype (default: both)")
    f.add_argument("--out", type=Path, default=Path("reports/fuzz"), metavar="DIR",
                   help="where minimal failing specs are written")
    f.add_argument("--arch", metavar="SIZES", help="batched mode: one architecture, e.g. 4-8-8-2")
    f.add_argument("--networks", type=int, default=100_000, metavar="N",
                   help="batched mode: how many random networks")
    f.add_argument("--batch", type=int, default=8, metavar="B", help="batched mode: samples")
    f.add_argument("--activation", default="tanh", choices=ACTIVATIONS)
    f.add_argument("--loss", default="mse", choices=LOSSES)
    f.add_argument("--chunk", type=int, default=2_000, metavar="N",
                   help="batched mode: networks per chunk (memory ~ 4 KB per network)")
    f.add_argument("--executor", choices=EXECUTORS, default="local")
    f.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask scheduler address (default: a LocalCluster on this machine)")
    f.add_argument("--workers", type=int, default=2, metavar="N",
                   help="batched mode: threads (local) or LocalCluster workers (dask)")


def run_fuzz(args) -> int:
    if args.arch:
        from .batched import run_batched
        return run_batched(args)
    if args.examples < 1:
        raise HarnessError(f"--examples must be at least 1, got {args.examples}")
    impls = args.impl or ["torch", "jax"]
    infos = choose_impls(impls, args.baseline)
    dtypes = (args.dtype,) if args.dtype else DTYPES
    status = 0
    for info in infos:
        if info.name == args.baseline:
            continue
        found = find_failure(info.name, args.baseline, args.examples, args.seed, dtypes)
        if found is None:
            print(f"{info.name}: {args.examples} random networks, no disagreement "
                  f"with {args.baseline}")
            continue
        path, cmd = write_failure(*found, args.out)
        spec = found[0]
        print(f"{info.name}: FAIL on a minimal network {spec.arch} ({spec.dtype}, {spec.loss}, "
              f"batch {spec.batch}, {spec.steps} step(s)): {found[1].message}")
        print(f"  spec: {path}\n  reproduce: {cmd}")
        status = 1
    sys.stdout.flush()
    return status
