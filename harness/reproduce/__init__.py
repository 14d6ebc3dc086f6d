"""Reproducers to file upstream: for every failing case of any implementation, the files of a
report a framework's maintainer can take as they are.

Per root cause reproduced at one neuron: `reproduce.py` (`reproduce-2.py`, ...), a few lines
that need only the framework and NumPy (snippet.py; built-ins through recipes.py, third-party
adapters through their optional hook), at the most convincing input (claims.py), and its
one-neuron spec `smallest.json` (`smallest-2.json`, ...). A divergence that does not reduce
gets the case replay of torch and jax instead (case_script.py). ISSUE.md (issue_md.py) ties
them together with no local path in it. commands.py holds the rerun commands.
"""

from __future__ import annotations

import json

from .. import metadata
from ..compare import value_of
from ..judge import Verdict
from ..registry import get
from ..runner import run_one
from ..spec import Spec
from .case_script import frameworks_of, script as case_script
from .claims import claim_of
from .commands import harness_command, relative_command, rerun_command, tolerance_flags
from .issue_md import issue
from .snippet import script

FUNCTION_PARTS = ("f", "t", "fe", "te")  # a function's value or derivative: a snippet shows it
__all__ = ["harness_command", "relative_command", "reproducers", "rerun_command",
           "tolerance_flags"]


def _version(name: str) -> tuple[str, str]:
    """(the implementation's framework version, its mode and device in words)."""
    try:
        version, settings, _ = metadata.read(get(name).impl)
    except Exception:  # an adapter's own code: any failure is "unknown"
        return "(unknown)", ""
    how = ", ".join(f"{k} {settings[k]}" for k in ("mode", "device") if settings.get(k))
    return version or "(unknown)", f" ({how})" if how else ""


def reproducers(spec: Spec, verdict: Verdict, tolerance: dict | None = None) -> dict[str, str]:
    """{file name: text} for a failure: per root cause reproduced at one neuron its
    framework-only reproducer and smallest spec; ISSUE.md; the case replay of torch and jax
    when the origin does not reduce."""
    if verdict.origin is None and not verdict.root_causes:
        return {}
    wrong = {"a-wrong": verdict.baseline}.get(verdict.blame, verdict.impl)
    version, settings = _version(wrong)
    files: dict[str, str] = {}
    shown, smallest = [], []
    for k, cause in enumerate(c for c in verdict.root_causes if c.reproduced):
        suffix = "" if k == 0 else f"-{k + 1}"
        name = f"smallest{suffix}.json"
        doc = dict(cause.spec, name=f"{spec.name}-root-cause{suffix}")
        files[name] = json.dumps(doc, indent=1)
        smallest.append((cause, name, relative_command(name, cause.impl, "exact", tolerance)))
        if cause.part not in FUNCTION_PARTS:  # a layer's arithmetic: its spec is the reproducer
            shown.append((cause, cause, None, name, None, f"{wrong}'s {cause.function}", wrong))
            continue
        if any(c is not None and (s.function, s.part, s.dtype, s.symptom) ==
               (cause.function, cause.part, cause.dtype, cause.symptom)
               for _, s, c, *_ in shown):  # one cause met in two input bands: one reproducer
            continue
        claim, stated = claim_of(cause, tolerance)
        text, api, framework = script(get(cause.impl).impl, claim, version)
        files[f"reproduce{suffix}.py"] = text
        shown.append((cause, stated, claim, f"reproduce{suffix}.py", text, api, framework))
    replay, truth = None, None
    if not shown and verdict.origin is not None:
        names = frameworks_of(verdict)
        exact = run_one("exact", spec) if names else None
        if exact is not None and exact.status == "ok":
            o = verdict.origin
            truth = float(value_of(exact.trace, o.step, o.quantity, o.layer)[o.worst_index])
            allowed = _case_allowed(spec, exact.trace, o)
            for name in names:
                replay = f"reproduce_{name}.py"
                files[replay] = case_script(name, spec, verdict, truth, allowed)
    files["ISSUE.md"] = issue(spec, verdict, wrong, version, settings, shown, replay,
                              smallest, truth)
    return files


def _case_allowed(spec: Spec, truth, o) -> float:
    """The tolerance model's bound for the origin's worst element, the exact trace as the
    baseline (its magnitudes M)."""
    import numpy as np

    from ..judge import tolerances
    from ..tolerance import bound, magnitudes
    tol = tolerances(spec, "exact", "exact")
    m = magnitudes(spec, truth)[-1 if o.step is None else o.step][(o.quantity, o.layer)]
    m = np.broadcast_to(m, np.shape(value_of(truth, o.step, o.quantity, o.layer)))
    phase = "forward" if o.quantity in ("d", "h", "outputs", "loss") else "backward"
    return float(bound(np, m[o.worst_index], tol[phase]))

