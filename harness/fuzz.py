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
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, REDUCTIONS, loss as loss_record

from .conformance import choose_impls
from .errors import HarnessError
from .fuzz_domain import domain_mask
from .judge import Verdict, judge
from .rootcause import explain
from .runner import run_one
from .spec import ALL_DTYPES, DTYPES, SAFE_NAME_CHARS, Spec, spec_from_dict
from .xfails import read_xfails, shipped


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
        record = loss_record(loss)
        if record.outputs:  # BCE's sigmoid, poisson's softplus
            acts[-1] = record.outputs[0]
        batch = draw(st.integers(1, max_batch))
        layers = []
        for n_in, n_out, act in zip(sizes, sizes[1:], acts):
            layer = {"weights": draw(matrix(n_out, n_in)),
                     "bias": draw(st.lists(value, min_size=n_out, max_size=n_out)),
                     "activation": act}
            if act == "leaky_relu":
                layer["slope"] = draw(st.sampled_from([0.01, 0.1, 0.2]))
            if act == "celu":
                layer["alpha"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
            layers.append(layer)
        n_out = sizes[-1]
        if loss == "softmax_cross_entropy":
            classes = draw(st.lists(st.integers(0, n_out - 1), min_size=batch, max_size=batch))
            targets = np.eye(n_out)[classes].tolist()
        elif record.targets:  # the record's fit: BCE's min(1, |v| / 2), hinge's signs
            targets = draw(matrix(batch, n_out).map(
                lambda rows: record.targets.fit(np.array(rows, dtype=np.float64)).tolist()))
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


def _outcomes(spec: Spec, impl: str, baseline: str):
    """(baseline's, impl's) outcomes on one spec; None when the spec is outside the fuzzed
    domain or the implementation does not support it."""
    base = run_one(baseline, spec)
    if base.status != "ok" or not in_domain(spec, base.trace):
        return None
    other = run_one(impl, spec)
    return None if other.status == "unsupported" else (base, other)


def check(spec: Spec, impl: str, baseline: str, known=()) -> Verdict | None:
    """impl against baseline on one spec; None outside the fuzzed domain or its support."""
    traced = _outcomes(spec, impl, baseline)
    return None if traced is None else judge(spec, *traced, known=known)


def explained(spec: Spec, impl: str, baseline: str, known=()) -> Verdict | None:
    """check(), and for a divergence the oracle's blame and the root causes at one neuron
    (rootcause.explain; known deviations by signature applied)."""
    traced = _outcomes(spec, impl, baseline)
    if traced is None:
        return None
    verdict = judge(spec, *traced, known=known)
    return explain(spec, *traced, verdict, known=known)


def signature(spec: Spec, verdict: Verdict) -> tuple:
    """What makes two disagreements distinct: the signature of the first root cause where
    it reduces to one neuron; otherwise the origin layer's activation, the loss, the origin
    quantity and the dtype (or the status, for an implementation that failed outright)."""
    causes = verdict.root_causes
    if causes and causes[0].reproduced:
        return causes[0].signature.cause
    origin = verdict.origin
    if origin is None:
        return (verdict.impl, "-", spec.loss, verdict.status, spec.dtype)
    act = spec.layers[origin.layer].activation if origin.layer is not None else "-"
    return (verdict.impl, act, spec.loss, origin.quantity, spec.dtype, "does not reduce")


def describe_key(key: tuple, verdict: Verdict | None = None) -> str:
    """A finding's key in words (its root cause's signature where the verdict has one)."""
    if verdict is not None and verdict.root_causes and verdict.root_causes[0].reproduced:
        return str(verdict.root_causes[0].signature)
    return " / ".join(map(str, key))


@dataclass
class Finding:
    """One distinct disagreement: the minimal spec (the one-neuron spec of its root cause
    where it reduces, else the network shrunk), its verdict, the network it was found on."""

    spec: Spec
    verdict: Verdict
    network: Spec
    key: tuple

    def __iter__(self):  # (spec, verdict), as find_failure() has always given
        return iter((self.spec, self.verdict))


@dataclass
class Campaign:
    """A search's findings, how many networks were drawn and compared (the others were out
    of the domain), how many shrinking tried, the repeats of each known signature, the
    divergences a known deviation covers, and whether --max-time ended it."""

    findings: list = field(default_factory=list)
    drawn: int = 0
    compared: int = 0
    shrunk: int = 0
    repeats: dict = field(default_factory=dict)
    known: int = 0
    timed_out: bool = False


class _Stop(Exception):
    """Ends the search: enough findings, or out of time."""


def find_failures(impl: str, baseline: str = "reference", examples: int = 100, seed: int = 0,
                  dtypes=DTYPES, limit: int = 5, known=(), activations=ACTIVATIONS,
                  losses=LOSSES, max_time: float | None = None, shrink: int = 100,
                  on_finding=None, **limits) -> Campaign:
    """Search `examples` random specs for up to `limit` distinct disagreements (by
    signature(): one root cause, one finding; a repeat is counted); each is shrunk to its
    root cause's one-neuron spec where it reduces, else by dropping layers, samples and
    steps while the same disagreement stays (`shrink` tries of its own, not counted in
    `examples`). `on_finding(finding)` is called as soon as one is found. `max_time`
    (seconds) bounds the whole search."""
    from hypothesis.configuration import set_hypothesis_home_dir

    campaign = Campaign()
    deadline = None if max_time is None else time.monotonic() + max_time
    with tempfile.TemporaryDirectory(prefix="bh-hypothesis-") as home:
        set_hypothesis_home_dir(home)  # hypothesis keeps nothing: no .hypothesis/ left here
        try:
            _search(impl, baseline, examples, seed, dtypes, known, campaign, activations,
                    losses, limits, deadline, limit, shrink, on_finding)
        finally:
            set_hypothesis_home_dir(None)
    return campaign


def find_failure(impl: str, baseline: str = "reference", examples: int = 100, seed: int = 0,
                 dtypes=DTYPES, **limits) -> Finding | None:
    """The first disagreement find_failures() finds, shrunk, or None."""
    campaign = find_failures(impl, baseline, examples, seed, dtypes, limit=1, **limits)
    return campaign.findings[0] if campaign.findings else None


def _search(impl, baseline, examples, seed, dtypes, known, campaign, activations, losses,
            limits, deadline, limit, shrink, on_finding):
    """One hypothesis search (generation only: the shrinking is ours) that records every
    distinct disagreement as it meets it."""
    from hypothesis import HealthCheck, Phase, assume, given, settings
    from hypothesis import seed as hseed

    seen = {f.key for f in campaign.findings}

    @settings(max_examples=examples, deadline=None, database=None, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(spec_docs(dtypes, activations=activations, losses=losses, **limits))
    def prop(doc):
        if deadline is not None and time.monotonic() > deadline:
            campaign.timed_out = True
            raise _Stop()
        if len(campaign.findings) >= limit:
            raise _Stop()
        spec = spec_from_dict(doc)
        campaign.drawn += 1
        result = check(spec, impl, baseline, known)
        assume(result is not None)
        campaign.compared += 1
        if result.ok:
            return
        verdict = explained(spec, impl, baseline, known)
        if verdict is None or verdict.ok:  # a known deviation by signature
            campaign.known += 1
            return
        key = signature(spec, verdict)
        if key in seen:
            campaign.repeats[key] = campaign.repeats.get(key, 0) + 1
            return
        seen.add(key)
        finding = _shrink(spec, verdict, key, impl, baseline, known, shrink, campaign, deadline)
        campaign.findings.append(finding)
        if on_finding:
            on_finding(finding)

    try:
        prop()
    except _Stop:
        pass


def _shrink(spec: Spec, verdict: Verdict, key: tuple, impl: str, baseline: str, known,
            budget: int, campaign: Campaign, deadline) -> Finding:
    """The finding at its smallest: its root cause's one-neuron spec, judged again, where
    it reduces; otherwise the network with layers, samples and steps dropped while the same
    disagreement (signature) stays, at most `budget` tries."""
    cause = verdict.root_causes[0] if verdict.root_causes else None
    if cause is not None and cause.reproduced:
        small = spec_from_dict(dict(cause.spec, name=fuzz_name([cause.spec["layers"][0][
            "activation"]], cause.spec["loss"], spec.dtype) + "-root-cause"))
        again = check(small, impl, baseline, known)
        campaign.shrunk += 1
        if again is not None and not again.ok:
            return Finding(small, replace(again, root_causes=verdict.root_causes,
                                          blame=verdict.blame,
                                          blame_reason=verdict.blame_reason), spec, key)
        return Finding(spec, verdict, spec, key)
    best, best_verdict = spec, verdict
    for candidate in _smaller(spec):
        if campaign.shrunk >= budget or (deadline is not None and time.monotonic() > deadline):
            break
        campaign.shrunk += 1
        result = explained(candidate, impl, baseline, known)
        if result is not None and not result.ok and signature(candidate, result) == key:
            best, best_verdict = candidate, result
            return _shrink(best, best_verdict, key, impl, baseline, known, budget, campaign,
                           deadline)
    return Finding(best, best_verdict, spec, key)


def _smaller(spec: Spec):
    """Specs one step smaller: a middle layer of equal widths dropped, one sample kept,
    one step fewer."""
    doc = spec.to_dict()
    names = [layer["activation"] for layer in doc["layers"]]
    for k in range(len(spec.layers)):
        if len(spec.layers) > 1 and spec.sizes[k] == spec.sizes[k + 1]:
            d = json.loads(json.dumps(doc))
            del d["layers"][k]
            d["name"] = fuzz_name(names[:k] + names[k + 1:], spec.loss, spec.dtype)
            yield from _valid(d)
    for s in range(spec.batch if spec.batch > 1 else 0):
        d = json.loads(json.dumps(doc))
        d["inputs"], d["targets"] = [d["inputs"][s]], [d["targets"][s]]
        yield from _valid(d)
    if spec.steps > 1:
        yield from _valid(dict(json.loads(json.dumps(doc)), steps=spec.steps - 1))


def _valid(doc: dict):
    try:
        yield spec_from_dict(doc)
    except HarnessError:
        return


def write_failure(spec: Spec, result: Verdict, out_dir: Path, index: int = 0,
                  tolerance: dict | None = None) -> tuple[Path, str]:
    """The minimal failing spec as JSON, and the command that reproduces it; beside it the
    ISSUE.md draft (and, for a built-in framework, the scripts) of harness/reproduce.py."""
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"-{index + 1}" if index else ""
    path = out_dir / f"minimal-{SAFE_NAME_CHARS.sub('-', result.impl)}-vs-" \
                     f"{SAFE_NAME_CHARS.sub('-', result.baseline)}{suffix}.json"
    doc = spec.to_dict()
    doc["name"] = f"{spec.name}-minimal{suffix}"
    doc["description"] = f"found by the fuzzer: {result.message}"
    path.write_text(json.dumps(doc, indent=1))
    from .reproduce import reproducers, rerun_command
    folder = path.with_suffix("")
    files = reproducers(spec, result, tolerance, folder)
    if files:
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    return path, rerun_command(path, result.impl, result.baseline, tolerance)


def finding_record(finding: Finding, path: Path, command: str) -> dict:
    """One line of the findings file."""
    v = finding.verdict
    return {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "impl": v.impl, "baseline": v.baseline, "signature": describe_key(finding.key, v),
            "blame": v.blame, "who": v.who, "blame_reason": v.blame_reason, "why": v.why,
            "root_causes": [c.to_dict() for c in v.root_causes], "status": v.status,
            "message": v.message, "spec": str(path.resolve()), "reproduce": command,
            "network": finding.network.to_dict()}


BATCHED_ONLY = ("networks", "batch", "chunk", "executor", "scheduler", "workers")
EXAMPLES_ONLY = ("examples", "max_findings", "xfails", "shrink")


def add_fuzz_parser(sub) -> None:
    from .batched import EXECUTORS
    f = sub.add_parser("fuzz", help="random networks: property-based search, or batched (--arch)")
    f.add_argument("--impl", nargs="+", action="extend", metavar="NAME",
                   help="implementations to check (default: torch and jax)")
    f.add_argument("--baseline", default="reference", metavar="NAME",
                   help="what they are compared with (default: reference)")
    f.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the random draws")
    f.add_argument("--dtype", choices=ALL_DTYPES,
                   help="only this dtype (default: every one the implementation supports; "
                        "batched: float64)")
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
    f.add_argument("--max-time", type=float, metavar="SECONDS",
                   help="stop searching after this long (what was found is kept)")
    f.add_argument("--findings", type=Path, metavar="FILE",
                   help="append each finding as a JSON line the moment it is found, so a "
                        "killed run keeps it (default: OUT/findings.jsonl)")
    f.add_argument("--shrink", type=int, metavar="N",
                   help="property-based: tries to shrink a finding that does not reduce to "
                        "one neuron, beyond --examples (default 100)")
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
    if args.max_time is not None and not 0 < args.max_time < float("inf"):
        raise HarnessError(f"--max-time must be a positive number of seconds, got "
                           f"{args.max_time:g}")
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
    shrink = 100 if args.shrink is None else args.shrink
    for flag, value, least in (("--examples", examples, 1), ("--max-findings", limit, 1),
                               ("--shrink", shrink, 0)):
        if value < least:
            raise HarnessError(f"{flag} must be at least {least}, got {value}")
    impls = args.impl or ["torch", "jax"]
    infos = choose_impls(impls, args.baseline)
    given = [x for path in args.xfails or [] for x in read_xfails(path)]
    findings_file = args.findings or args.out / "findings.jsonl"
    findings_file.parent.mkdir(parents=True, exist_ok=True)
    deadline = None if args.max_time is None else time.monotonic() + args.max_time
    status = 0
    for info in infos:
        if info.name == args.baseline:
            continue
        dtypes = (args.dtype,) if args.dtype else supported_dtypes(info.name, args.baseline)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        count = [0]

        def report(finding: Finding, count=count) -> None:
            from .report import strict_json
            spec, verdict = finding
            path, cmd = write_failure(spec, verdict, args.out, count[0])
            count[0] += 1
            with open(findings_file, "a", encoding="utf-8") as out:
                out.write(json.dumps(strict_json(finding_record(finding, path, cmd))) + "\n")
                out.flush()
                os.fsync(out.fileno())
            who = f" [blame: {verdict.who}]" if verdict.blame else ""
            print(f"  FINDING {describe_key(finding.key, verdict)}{who} on {spec.arch} ({spec.dtype}, "
                  f"{spec.loss}, batch {spec.batch}, {spec.steps} step(s)): {verdict.message}")
            if verdict.why:
                print(f"    why: {verdict.why}")
            print(f"    spec: {path}\n    reproduce: {cmd}", flush=True)

        print(f"{info.name}: searching {examples} random networks ({', '.join(dtypes)})",
              flush=True)
        campaign = find_failures(info.name, args.baseline, examples, args.seed, dtypes, limit,
                                 known=given + shipped(info.impl),
                                 activations=[args.activation] if args.activation
                                 else ACTIVATIONS,
                                 losses=[args.loss] if args.loss else LOSSES,
                                 max_time=left, shrink=shrink, on_finding=report)
        ended = f"; stopped at --max-time {args.max_time:g} s" if campaign.timed_out else ""
        print(f"{info.name}: {campaign.drawn} random networks drawn, {campaign.compared} "
              f"compared with {args.baseline} (the rest outside the domain: not supported, "
              f"non-finite or ill-conditioned), {campaign.shrunk} shrinking tries: "
              f"{len(campaign.findings)} distinct finding(s) by signature, "
              f"{sum(campaign.repeats.values())} repeat(s), {campaign.known} known "
              f"deviation(s){ended}")
        for key, n in campaign.repeats.items():
            print(f"  seen again {n} time(s): {describe_key(key)}")
        status = status or (1 if campaign.findings else 0)
    print(f"findings: {findings_file}")
    sys.stdout.flush()
    return status


def supported_dtypes(impl: str, baseline: str) -> tuple:
    """Every dtype both the implementation and the baseline declare they support."""
    from .registry import get
    out = ALL_DTYPES
    for name in (impl, baseline):
        allowed = get(name).supports.get("dtypes")
        if allowed:
            out = tuple(d for d in out if d in allowed)
    return out
