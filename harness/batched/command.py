"""The batched fuzzer's command line: run a campaign, print its table, write what failed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..words import count
from .executing import execute, plan


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
    failures = [f for r in reports for f in r["failures"]]
    if not failures:
        print(f"PASS: every network within tolerance of {args.baseline}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for f in failures[:20]:
        path = Path(args.out) / f"{f['spec']['name']}-{f['impl']}.json"
        path.write_text(json.dumps(f["spec"], indent=1))
        what = f['origin'] if f['origin'].startswith("raised ") else \
            f"first out of tolerance at {f['origin']}"
        print(f"FAIL network {f['network']} {f['impl']}: {what}; reproduce: backprop-harness "
              f"run {path} --impl {f['impl']} --baseline {args.baseline}")
    return 1
