"""`backprop-harness fuzz`: the property-based search per implementation (fuzz_search.py),
or the batched mode (--arch, harness/batched/); findings written as specs with the command
that reproduces each, and appended to a findings file the moment they are found.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from impls.reference import ACTIVATIONS, LOSSES

from .conformance import choose_impls
from .errors import HarnessError
from .fuzz_search import Finding, find_failures
from .fuzz_verdict import describe_key
from .judge import Verdict
from .runner import bound_all
from .spec import ALL_DTYPES, SAFE_NAME_CHARS, Spec
from .xfails import read_xfails, shipped


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
    files = reproducers(spec, result, tolerance)
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


MAX_TIME_GRACE = 10.0  # seconds a trace may run past --max-time before it is stopped
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
                   help="search each implementation for this long (what was found is "
                        "kept); without --examples, only this bounds the search")
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
    examples = args.examples
    if examples is None and args.max_time is None:
        examples = 100
    limit = 5 if args.max_findings is None else args.max_findings
    shrink = 100 if args.shrink is None else args.shrink
    for flag, value, least in (("--examples", examples, 1), ("--max-findings", limit, 1),
                               ("--shrink", shrink, 0)):
        if value is not None and value < least:
            raise HarnessError(f"{flag} must be at least {least}, got {value}")
    impls = args.impl or ["torch", "jax"]
    infos = choose_impls(impls, args.baseline)
    given = [x for path in args.xfails or [] for x in read_xfails(path)]
    findings_file = args.findings or args.out / "findings.jsonl"
    findings_file.parent.mkdir(parents=True, exist_ok=True)
    status = 0
    for info in infos:
        if info.name == args.baseline:
            continue
        dtypes = (args.dtype,) if args.dtype else supported_dtypes(info.name, args.baseline)
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

        bound = f"{examples} random networks" if examples else "random networks"
        if args.max_time is not None:
            bound += f" for up to {args.max_time:g} s"
        print(f"{info.name}: searching {bound} ({', '.join(dtypes)})", flush=True)
        if args.max_time is not None:  # no trace outlives the budget by more than the grace
            bound_all(time.monotonic() + args.max_time + MAX_TIME_GRACE)
        campaign = find_failures(info.name, args.baseline, examples, args.seed, dtypes, limit,
                                 known=given + shipped(info.impl),
                                 activations=[args.activation] if args.activation
                                 else ACTIVATIONS,
                                 losses=[args.loss] if args.loss else LOSSES,
                                 max_time=args.max_time, shrink=shrink, on_finding=report)
        ended = f"; stopped at --max-time {args.max_time:g} s" if campaign.timed_out else ""
        print(f"{info.name}: {campaign.drawn} random networks drawn, {campaign.compared} "
              f"compared with {args.baseline} (the rest outside the domain: not supported, "
              f"non-finite or ill-conditioned), {campaign.shrunk} shrinking tries: "
              f"{len(campaign.findings)} distinct finding(s) by signature, "
              f"{sum(campaign.repeats.values())} repeat(s), {campaign.known} known "
              f"deviation(s){ended}")
        for key, n in campaign.repeats.items():
            print(f"  seen again {n} time(s): {describe_key(key)}")
        if not campaign.compared:
            print(f"{info.name}: NOTHING COMPARED: no drawn network was both in the domain "
                  f"and supported", flush=True)
        status = status or (1 if campaign.findings or not campaign.compared else 0)
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
