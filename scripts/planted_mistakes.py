"""The realistic mistakes of issue 31 in the cause-naming machinery, planted one at a time:
each is written into its file, the tests that should catch it run, the file restored.

    python scripts/planted_mistakes.py [TEST FILE ...]

Prints CAUGHT or MISSED per mistake (docs/mutation.md); exits 1 if any is missed.
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
TESTS = sys.argv[1:] or ["tests/test_rootcause.py", "tests/test_judge.py", "tests/test_signature_units.py"]
env = dict(os.environ, PYTHONPATH=ROOT)
missed = 0
for what, path, old, new in MUTANTS:
    p = os.path.join(ROOT, path)
    src = open(p).read()
    assert src.count(old) == 1, (what, src.count(old))
    open(p, "w").write(src.replace(old, new))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", *TESTS, "-x", "-q",
                            "-n", "2", "-p", "no:cacheprovider"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
        last = [l for l in r.stdout.splitlines() if "passed" in l or "failed" in l][-1:]
        failed = [l for l in r.stdout.splitlines() if l.startswith("FAILED")][:1]
        print(("CAUGHT  " if r.returncode else "MISSED  ") + what, last, failed, flush=True)
        missed += not r.returncode
    finally:
        open(p, "w").write(src)
sys.exit(1 if missed else 0)
