"""The realistic mistakes of issue 31 in the cause-naming machinery and of issue 32 in the
coverage machinery and the fuzzer, planted one at a time: each is written into its file, the
tests that should catch it run (its area's test files), the file restored.

    python scripts/planted_mistakes.py [TEST FILE ...]   # every mistake, against these tests
    WORKERS=0 python scripts/planted_mistakes.py         # pytest -n 0 (default 2)

Prints CAUGHT (with every failing test) or MISSED per mistake (docs/mutation.md); exits 1 if
any is missed.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
MUTANTS = [
 ("probe reproduces at whatever quantity it fails", "harness/rootcause.py",
  "return o is not None and (o.step, o.quantity, o.layer) == probe.target", "return o is not None"),
 ("probes judged against the reference, not exact", "harness/rootcause.py",
  'return {id(p): (run_one("exact", p.spec), o)', 'return {id(p): (run_one("reference", p.spec), o)'),
 ("wrong side probed when the baseline is wrong", "harness/rootcause.py",
  'side = base if verdict.blame == "a-wrong" else other', 'side = other'),
 ("probe's loss gradient sign flipped (te = y - u)", "harness/probes.py",
  "        te = u - y\n", "        te = y - u\n"),
 ("16-neuron fallback removed", "harness/probes.py", "for width in (1, WIDE):", "for width in (1,):"),
 ("region edges inclusive", "harness/signature.py", "if abs(x) < edges[i + 1])", "if abs(x) <= edges[i + 1])"),
 ("subnormal-operand test counts zero", "harness/signature.py", "if any(0 < abs(o) < tiny for o in operands):", "if any(abs(o) < tiny for o in operands):"),
 ("ulps at the wrong value", "harness/signature.py", "/ ulp(exact, self.dtype)", "/ ulp(self.value, self.dtype)"),
 ("unreproduced cause given a symptom", "harness/signature.py",
  'self.symptom if self.reproduced else "does not reduce"', 'self.symptom'),
 ("oracle named though it is a side", "harness/judge.py",
  "if oracle is None or name in (base.impl, other.impl):", "if oracle is None:"),
]
COVERAGE = ["tests/test_coverage.py"]
FUZZ = ["tests/test_fuzz.py"]
MUTANTS_32 = [
 ("a case of another dtype counted as a visit (activations)", "harness/coverage.py",
  "mine = [s for s in seen if s.spec.dtype == dtype and name in s.d]",
  "mine = [s for s in seen if name in s.d]", COVERAGE),
 ("a case of another dtype counted as a visit (losses)", "harness/coverage.py",
  "mine = [s for s in seen if s.spec.dtype == dtype and s.spec.loss == name]",
  "mine = [s for s in seen if s.spec.loss == name]", COVERAGE),
 ("only step 0 examined", "harness/coverage.py",
  "spec.learning_rate, spec.steps, callback=record)", "spec.learning_rate, 1, callback=record)",
  COVERAGE),
 ("16-bit special-point edges computed in the 16-bit dtype", "impls/reference/points.py",
  "compute = np.dtype(np.float32) if dt.itemsize < 4 else dt", "compute = dt", COVERAGE),
 ("shrinking accepts any failure, not the same signature", "harness/fuzz_search.py",
  "if result is not None and not result.ok and signature(candidate, result) == key:",
  "if result is not None and not result.ok:", FUZZ),
 ("--max-time taken as an absolute deadline", "harness/fuzz_search.py",
  "deadline = None if max_time is None else time.monotonic() + max_time",
  "deadline = None if max_time is None else max_time", FUZZ),
 ("fuzz's exit code decided by the last implementation only", "harness/fuzz.py",
  "status = status or (1 if", "status = (1 if", FUZZ),
 ("an implementation that errors on every draw skipped (Unsatisfiable)", "harness/fuzz_verdict.py",
  'return None if other.status == "unsupported" else (base, other)',
  'return None if other.status in ("unsupported", "error") else (base, other)', FUZZ),
]
TESTS = sys.argv[1:] or ["tests/test_rootcause.py", "tests/test_judge.py", "tests/test_signature_units.py"]
MUTANTS = [m + (TESTS,) for m in MUTANTS] + [m if not sys.argv[1:] else m[:4] + (TESTS,)
                                               for m in MUTANTS_32]
env = dict(os.environ, PYTHONPATH=ROOT)
missed = 0
for what, path, old, new, tests in MUTANTS:
    p = os.path.join(ROOT, path)
    src = open(p).read()
    assert src.count(old) == 1, (what, src.count(old))
    open(p, "w").write(src.replace(old, new))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", *tests, "-q", "-rf",
                            "-n", os.environ.get("WORKERS", "2"), "-p", "no:cacheprovider"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        last = [l for l in r.stdout.splitlines() if "passed" in l or "failed" in l][-1:]
        failed = [l.split(" - ")[0] for l in r.stdout.splitlines() if l.startswith("FAILED")]
        print(("CAUGHT  " if r.returncode else "MISSED  ") + what, last, failed, flush=True)
        missed += not r.returncode
    finally:
        open(p, "w").write(src)
sys.exit(1 if missed else 0)
