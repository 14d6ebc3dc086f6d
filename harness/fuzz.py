"""Random networks, property-based (hypothesis): find disagreements and shrink each to a minimum.

`spec_docs()` draws whole spec documents: depth, widths, activations per layer, loss,
reduction, batch, dtype, steps, and parameters and data that favour the hard places (exact
kink values, tiny numbers, the far tails). Every drawn network is judged like a case of `run`
(known deviations applied: a network is named fuzz-<activations>-<loss>-<dtype>, so a glob can
cover it). The search goes on after a disagreement, collecting distinct ones (by the origin's
activation, the loss and the origin quantity) up to a limit; hypothesis shrinks each toward
fewer layers, neurons, samples and steps and simpler numbers, then layers that change nothing
are dropped; each minimum is written out as a spec with the command that reproduces it. The
batched mode (--arch, --networks) lives in harness/batched/.
"""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, REDUCTIONS

from .conformance import choose_impls
from .errors import HarnessError
from .judge import Verdict, judge
from .runner import run_one
from .spec import DTYPES, Spec, spec_from_dict
from .words import count
from .xfails import read_xfails, shipped

BCE_MARGIN = 1e-11  # BCE on probabilities is ill-conditioned (and clamped by torch) below this


def _strategies():
    from hypothesis import strategies as st
    return st


def fuzz_name(activations, loss: str, dtype: str) -> str:
    """fuzz-<activations>-<loss>-<dtype>: what a known-deviation glob matches."""
    return "-".join(["fuzz", *activations, loss, dtype])


def spec_docs(dtypes=DTYPES, max_depth: int = 3, max_width: int = 5, max_batch: int = 4,
              max_steps: int = 3, activations=ACTIVATIONS, losses=LOSSES):
    """A hypothesis strategy of valid spec documents (explicit form)."""
    st = _strategies()
    special = st.sampled_from([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 20.0, 30.0, -30.0, -45.0, 100.0,
                               1e-6, -1e-12, 1e-20])
    value = st.one_of(st.floats(-2.0, 2.0, allow_nan=False, width=32), special)

    def matrix(rows, cols):
        return st.lists(st.lists(value, min_size=cols, max_size=cols), min_size=rows,
                        max_size=rows)

    @st.composite
    def docs(draw):
        depth = draw(st.integers(1, max_depth))
        sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
        loss = draw(st.sampled_from(list(losses)))
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
        dtype = draw(st.sampled_from(list(dtypes)))
        return {"name": fuzz_name(acts, loss, dtype), "dtype": dtype, "loss": loss,
                "reduction": draw(st.sampled_from(REDUCTIONS)), "layers": layers,
                "inputs": draw(matrix(batch, sizes[0])), "targets": targets,
                "learning_rate": draw(st.sampled_from([0.01, 0.1, 0.5])),
                "steps": draw(st.integers(1, max_steps))}

    return docs()


def in_domain(spec: Spec, baseline_trace) -> bool:
    """Whether the baseline computed finite numbers (and BCE stays well-conditioned)."""
    return bool(domain_mask(spec.loss, baseline_trace, 1)[0])


def domain_mask(loss: str, baseline_trace, networks: int) -> np.ndarray:
    """Per network (a leading axis of `networks`, 1 for one spec): whether the baseline's
    numbers are finite and, for BCE, u(1 - u) stays above BCE_MARGIN. Outside, frameworks
    legitimately differ (overflow, torch's clamps), so a fuzzer does not judge there."""
    ok = np.ones(networks, dtype=bool)
    for step in baseline_trace.steps:
        arrays = [np.asarray(step.loss), step.outputs] + [
            getattr(layer, q) for layer in step.layers for q in ("d", "h", "v", "grad_weights")]
        for a in arrays:
            ok &= np.isfinite(np.reshape(a, (networks, -1))).all(axis=1)
        if loss == "binary_cross_entropy":
            u = np.reshape(step.outputs, (networks, -1)).astype(np.float64)
            with np.errstate(invalid="ignore"):
                ok &= (u * (1 - u) >= BCE_MARGIN).all(axis=1)
    return ok


def check(spec: Spec, impl: str, baseline: str, known=()) -> Verdict | None:
    """impl against baseline on one spec; None when the spec is outside the fuzzed domain or
    the implementation does not support it."""
    base = run_one(baseline, spec)
    if base.status != "ok" or not in_domain(spec, base.trace):
        return None
    other = run_one(impl, spec)
    if other.status == "unsupported":
        return None
    return judge(spec, base, other, known=known)


def signature(spec: Spec, verdict: Verdict) -> tuple:
    """What makes two disagreements distinct: the origin layer's activation, the loss, and
    the origin quantity (or the status, for an implementation that failed outright)."""
    origin = verdict.origin
    if origin is None:
        return ("-", spec.loss, verdict.status)
    act = spec.layers[origin.layer].activation if origin.layer is not None else "-"
    return (act, spec.loss, origin.quantity)


@dataclass
class Campaign:
    """A search's findings (each a shrunk spec and its verdict) and how many networks were
    drawn and how many of them were compared (the others were out of the domain)."""

    findings: list = field(default_factory=list)
    drawn: int = 0
    compared: int = 0


def find_failures(impl: str, baseline: str = "reference", examples: int = 100, seed: int = 0,
                  dtypes=DTYPES, limit: int = 5, known=(), activations=ACTIVATIONS,
                  losses=LOSSES, **limits) -> Campaign:
    """Search about `examples` random specs (shrinking included) for up to `limit` distinct
    disagreements, each shrunk to a minimum."""
    from hypothesis.configuration import set_hypothesis_home_dir

    campaign = Campaign()
    seen: set = set()
    with tempfile.TemporaryDirectory(prefix="bh-hypothesis-") as home:
        set_hypothesis_home_dir(home)  # hypothesis keeps nothing: no .hypothesis/ left here
        while len(campaign.findings) < limit and campaign.compared < examples:
            found = _search(impl, baseline, examples - campaign.compared, seed + len(seen),
                            dtypes, known, seen, campaign, activations, losses, limits)
            if found is None:
                break
            spec, verdict = _drop_idle_layers(*found, impl, baseline, known)
            seen.add(signature(*found))
            campaign.findings.append((spec, verdict))
        set_hypothesis_home_dir(None)
    return campaign


def find_failure(impl: str, baseline: str = "reference", examples: int = 100, seed: int = 0,
                 dtypes=DTYPES, **limits) -> tuple[Spec, Verdict] | None:
    """The first disagreement find_failures() finds, shrunk, or None."""
    campaign = find_failures(impl, baseline, examples, seed, dtypes, limit=1, **limits)
    return campaign.findings[0] if campaign.findings else None


def _search(impl, baseline, examples, seed, dtypes, known, seen, campaign, activations,
            losses, limits):
    """One hypothesis search for a disagreement whose signature is not in `seen`."""
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import seed as hseed

    found: dict = {}

    @settings(max_examples=examples, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(spec_docs(dtypes, activations=activations, losses=losses, **limits))
    def prop(doc):
        spec = spec_from_dict(doc)
        campaign.drawn += 1
        result = check(spec, impl, baseline, known)
        assume(result is not None)
        campaign.compared += 1
        if not result.ok and signature(spec, result) not in seen:
            found["spec"], found["result"] = spec, result
            raise AssertionError(result.message)

    try:
        prop()
    except AssertionError:
        return found["spec"], found["result"]
    return None


def _drop_idle_layers(spec: Spec, verdict: Verdict, impl: str, baseline: str, known):
    """Remove layers whose input and output widths agree while the disagreement stays the
    same (hypothesis cannot: it shrinks widths and values, not the depth of a middle layer)."""
    want = signature(spec, verdict)
    k = 0
    while k < len(spec.layers) and len(spec.layers) > 1:
        if spec.sizes[k] == spec.sizes[k + 1]:
            doc = spec.to_dict()
            del doc["layers"][k]
            doc["name"] = fuzz_name([layer["activation"] for layer in doc["layers"]],
                                    spec.loss, spec.dtype)
            try:
                candidate = spec_from_dict(doc)
            except HarnessError:
                candidate = None
            result = check(candidate, impl, baseline, known) if candidate else None
            if result is not None and not result.ok and signature(candidate, result) == want:
                spec, verdict = candidate, result
                continue
        k += 1
    return spec, verdict


def write_failure(spec: Spec, result: Verdict, out_dir: Path, index: int = 0) -> tuple[Path, str]:
    """The minimal failing spec as JSON, and the command that reproduces it; beside it, for a
    built-in framework, the scripts and issue draft of harness/reproduce.py."""
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"-{index + 1}" if index else ""
    path = out_dir / f"minimal-{result.impl}-vs-{result.baseline}{suffix}.json"
    doc = spec.to_dict()
    doc["name"] = f"{spec.name}-minimal-{result.impl}{suffix}"
    doc["description"] = f"shrunk by hypothesis: {result.message}"
    path.write_text(json.dumps(doc, indent=1))
    from .reproduce import reproducers  # scripts for a built-in framework, and ISSUE.md
    files = reproducers(spec, result)
    if files:
        folder = path.with_suffix("")
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    return path, (f"backprop-harness run {shlex.quote(str(path))} --impl {result.impl} "
                  f"--baseline {result.baseline}")


BATCHED_ONLY = ("networks", "batch", "chunk", "executor", "scheduler", "workers")
EXAMPLES_ONLY = ("examples", "max_findings", "xfails")


def add_fuzz_parser(sub) -> None:
    from .batched import EXECUTORS
    f = sub.add_parser("fuzz", help="random networks: property-based search, or batched (--arch)")
    f.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                   help="implementations to check (default: torch and jax)")
    f.add_argument("--baseline", default="reference", metavar="NAME",
                   help="what they are compared with (default: reference)")
    f.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the random draws")
    f.add_argument("--dtype", choices=DTYPES, help="only this dtype (default: both; batched: "
                   "float64)")
    f.add_argument("--activation", choices=ACTIVATIONS,
                   help="only this activation (default: all; batched: tanh)")
    f.add_argument("--loss", choices=LOSSES, help="only this loss (default: all; batched: mse)")
    f.add_argument("--out", type=Path, default=Path("reports/fuzz"), metavar="DIR",
                   help="where minimal failing specs are written (default: reports/fuzz)")
    f.add_argument("--examples", type=int, metavar="N",
                   help="property-based: random specs to try per implementation (default 100)")
    f.add_argument("--max-findings", type=int, metavar="N",
                   help="property-based: distinct disagreements to collect per "
                        "implementation before stopping (default 5)")
    f.add_argument("--xfails", action="append", metavar="FILE",
                   help="property-based: known deviations, as for run (repeatable)")
    f.add_argument("--arch", metavar="SIZES", help="batched mode: one architecture, e.g. 4-8-8-2")
    f.add_argument("--networks", type=int, metavar="N",
                   help="batched mode: how many random networks (default 100,000)")
    f.add_argument("--batch", type=int, metavar="B", help="batched mode: samples (default 8)")
    f.add_argument("--chunk", type=int, metavar="N",
                   help="batched mode: networks per chunk (default 2,000; ~4 KB per network)")
    f.add_argument("--executor", choices=EXECUTORS,
                   help="batched mode: local threads or dask (default: local)")
    f.add_argument("--scheduler", metavar="ADDRESS",
                   help="batched mode: a dask scheduler address (default: a LocalCluster here)")
    f.add_argument("--workers", type=int, metavar="N",
                   help="batched mode: threads (local) or LocalCluster workers (dask) "
                        "(default 2)")


def _reject(args, names, mode: str) -> None:
    """One error line for an option that the chosen mode does not use."""
    for name in names:
        if getattr(args, name) is not None:
            raise HarnessError(f"--{name.replace('_', '-')} applies only {mode}")


def run_fuzz(args) -> int:
    if args.arch:
        _reject(args, EXAMPLES_ONLY, "without --arch (property-based mode)")
        from .batched import run_batched
        defaults = {"networks": 100_000, "batch": 8, "chunk": 2_000, "executor": "local",
                    "workers": 2, "activation": "tanh", "loss": "mse"}
        for name, value in defaults.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
        return run_batched(args)
    _reject(args, BATCHED_ONLY, "with --arch (batched mode)")
    examples = 100 if args.examples is None else args.examples
    limit = 5 if args.max_findings is None else args.max_findings
    if examples < 1:
        raise HarnessError(f"--examples must be at least 1, got {examples}")
    if limit < 1:
        raise HarnessError(f"--max-findings must be at least 1, got {limit}")
    impls = args.impl or ["torch", "jax"]
    infos = choose_impls(impls, args.baseline)
    dtypes = (args.dtype,) if args.dtype else DTYPES
    given = [x for path in args.xfails or [] for x in read_xfails(path)]
    status = 0
    for info in infos:
        if info.name == args.baseline:
            continue
        campaign = find_failures(info.name, args.baseline, examples, args.seed, dtypes, limit,
                                 known=given + shipped(info.impl),
                                 activations=[args.activation] if args.activation
                                 else ACTIVATIONS,
                                 losses=[args.loss] if args.loss else LOSSES)
        print(f"{info.name}: {count(campaign.drawn, 'random network')} drawn, "
              f"{campaign.compared} compared with {args.baseline} (the rest outside the "
              f"domain: not supported, non-finite or ill-conditioned): "
              f"{count(len(campaign.findings), 'distinct disagreement')}")
        for k, (spec, verdict) in enumerate(campaign.findings):
            path, cmd = write_failure(spec, verdict, args.out, k)
            print(f"  FAIL {'/'.join(signature(spec, verdict))} on a minimal network {spec.arch} "
                  f"({spec.dtype}, {spec.loss}, batch {spec.batch}, {count(spec.steps, 'step')}): "
                  f"{verdict.message}")
            print(f"    spec: {path}\n    reproduce: {cmd}")
            status = 1
    sys.stdout.flush()
    return status
