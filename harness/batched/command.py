"""The batched fuzzer's command line: run a campaign, print its table, write what failed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..fuzz_verdict import describe_key, explained, signature
from ..registry import get
from ..reproduce import rerun_command
from ..spec import SAFE_NAME_CHARS, spec_from_dict
from ..xfails import shipped
from .executing import execute, plan, stacks
from ..words import count


def run_batched(args) -> int:
    """`fuzz --arch ...`: exit 0 when every network agrees, 1 when one does not."""
    t0 = time.perf_counter()  # from before plan(): importing the frameworks counts too
    jobs = plan(args)
    reports = execute(jobs, args.executor, args.scheduler, args.workers)
    wall = time.perf_counter() - t0
    total = sum(r["networks"] for r in reports)
    judged = sum(r["judged"] for r in reports)
    impls = jobs[0]["impls"]
    print(f"{total:,} networks {args.arch} ({jobs[0]['dtype']}, {args.activation}, {args.loss}, "
          f"batch {args.batch}) in {count(len(jobs), 'chunk')} on {args.executor}: {wall:.2f} s, "
          f"{total / wall:,.0f} networks/s end to end (imports and JAX compile included); "
          f"{judged:,} judged, {total - judged:,} outside the domain (the baseline "
          f"overflowed, or BCE ill-conditioned)")
    width = max([12] + [len(name) + 1 for name in impls])
    print(f"{'impl':<{width}} {'seconds':>9} {'mismatches':>11} {'known':>9}   (seconds summed "
          f"over chunks; the first chunk's include imports and compiles; known: covered by "
          f"the implementation's known deviations)")
    for name in impls + ["compare"]:
        secs = sum(r["seconds"].get(name, 0.0) for r in reports)
        bad = sum(r["mismatches"].get(name, 0) for r in reports)
        known = sum(r["known"].get(name, 0) for r in reports)
        quiet = name in ("compare", args.baseline)
        print(f"{name:<{width}} {secs:>9.2f} {'' if quiet else f'{bad:,}':>11} "
              f"{'' if quiet or not known else f'{known:,}':>9}")
    skipped = sum(bool(r.get("skipped")) for r in reports)
    if skipped:
        print(f"stopped at --max-time {args.max_time:g} s: {len(reports) - skipped} of "
              f"{len(reports)} chunk(s) run")
    _slower(impls, reports, total, args.baseline)
    failures = [f for r in reports for f in r["failures"]]
    if not failures:
        print(f"PASS: every network within tolerance of {args.baseline}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    found = _by_signature(failures[:20], args)
    print(f"{len(found)} distinct finding(s) by root-cause signature among the first "
          f"{min(20, len(failures))} failing network(s):")
    for key, group in found.items():
        f, verdict, path = group[0]
        known = " (known: " + verdict.known + ")" if verdict is not None and verdict.known \
            else ""
        what = f['origin'] if f['origin'].startswith("raised ") else \
            f"first out of tolerance at {f['origin']}"
        print(f"FAIL {describe_key(key, verdict)}{known}: {len(group)} network(s), first "
              f"network {f['network']} {f['impl']}: {what}")
        if verdict is not None and verdict.why:
            print(f"  why: {verdict.why}")
        print(f"  reproduce: {rerun_command(path, f['impl'], args.baseline)}")
    return 1


def _by_signature(failures: list[dict], args) -> dict:
    """Each failing network written out, judged alone (blame and root cause, known
    deviations by signature), grouped by fuzz.signature(): one cause, one finding."""
    out: dict = {}
    for f in failures:
        path = Path(args.out) / f"{f['spec']['name']}-{SAFE_NAME_CHARS.sub('-', f['impl'])}.json"
        path.write_text(json.dumps(f["spec"], indent=1))
        spec = spec_from_dict(f["spec"])
        verdict = None
        if not f["origin"].startswith("raised "):
            verdict = explained(spec, f["impl"], args.baseline, shipped(get(f["impl"]).impl))
        key = signature(spec, verdict) if verdict is not None and not verdict.ok else \
            (f["impl"], f["origin"].split(":")[0])
        out.setdefault(key, []).append((f, verdict, path))
    return out


def _slower(impls: list[str], reports: list[dict], total: int, baseline: str) -> None:
    """A line for each implementation without trace_stacked: how much slower it ran,
    network by network, than the fastest stacked one."""
    rate = {n: total / max(1e-9, sum(r["seconds"].get(n, 0.0) for r in reports))
            for n in impls}
    fast = [n for n in impls if stacks(n)]
    for name in (n for n in impls if not stacks(n)):
        ref = max(fast, key=rate.get) if fast else None
        than = f", {rate[ref] / rate[name]:.0f}x slower than {ref} stacked" if ref else ""
        print(f"note: {name} has no trace_stacked: traced network by network (trace_many or "
              f"trace), {rate[name]:,.0f} networks/s{than}")
