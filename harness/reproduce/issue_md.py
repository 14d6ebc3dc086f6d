"""ISSUE.md, written for the framework's tracker: a title naming the framework's API and the
symptom, the reproducer first, the notation in words, the condition the claim needs, the
expected value, the versions once, and the harness's own case details last, in a fold. No
local path anywhere: commands are relative to the folder that holds the files."""

from __future__ import annotations

import math
import platform

import numpy as np

from ..judge import Verdict
from ..signature import RootCause, ulp, what
from ..spec import Spec

PART_WORDS = {"f": "`{api}`", "t": "`{api}`'s derivative", "fe": "`{api}`",
              "te": "`{api}`'s gradient"}
NOTATION = ("In the harness's words: f is an activation's value at its input d, t its "
            "derivative f'(d); fe is a loss's value at the prediction u and target y, te its "
            "derivative with respect to u; v = dE/dd is what the backward pass carries.")


def _g(x: float) -> str:
    return f"{x:.3g}"


def headline(api: str, cause: RootCause, j: int = 0) -> str:
    """"`jax.nn.elu`'s derivative is 0 at d = -40 in float64 (exact 4.25e-18)"; a loss's at
    its element j: "... at u = 4.25e-18, y = 1 (element 0 of 9)"."""
    who = PART_WORDS[cause.part].format(api=api) if cause.part in PART_WORDS else \
        f"{cause.impl}: {what(cause.function, cause.part)}"
    exact = float(cause.exact)
    sym = cause.symptom
    if sym in ("zero", "NaN", "Inf"):
        is_ = {"zero": "is 0", "NaN": "is NaN", "Inf": f"is {cause.value}"}[sym]
    elif sym == "lost relative precision":
        is_ = f"is off by {_g(cause.rel_error)} relative"
    else:
        is_ = f"is {_g(cause.value)}"
    if cause.part == "fe" and isinstance(cause.inputs.get("u"), list):
        at = f"u = [{', '.join(map(_g, cause.inputs['u']))}], " \
             f"y = [{', '.join(map(_g, cause.inputs.get('y', [])))}]"
    elif cause.part == "te" and isinstance(cause.inputs.get("u"), list):
        u, y = cause.inputs["u"], cause.inputs.get("y", [])
        at = f"u = {_g(u[j])}, y = {_g(y[j])}" + \
            (f" (element {j} of {len(u)})" if len(u) > 1 else "")
    else:
        at = ", ".join(f"{k} = {_short(v)}" for k, v in cause.inputs.items())
    return f"{who} {is_} at {at} in {cause.dtype} (exact {_g(exact)})"


def _short(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    if isinstance(v, float):  # the shortest that reads back: -40, -1e-20, -37.4
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    return str(v)


def _error_line(cause: RootCause) -> str:
    exact = float(cause.exact)
    err = abs(cause.value - exact) if math.isfinite(cause.value) else math.inf
    ulps = err / ulp(exact, cause.dtype) if math.isfinite(err) else math.inf
    return f"error {_g(err)} (relative {_g(cause.rel_error)}, {_g(ulps)} ulp in {cause.dtype})"


def _claim(found, cause, claim, file, text, api, fw, version) -> list[str]:
    """One root cause in words, its reproducer, expected and actual."""
    if claim is None:  # a layer's arithmetic: the one-neuron spec reproduces it
        return [f"{cause.text}.", "",
                f"`backprop-harness run {file} --impl {cause.impl} --baseline exact` "
                f"reproduces it (one layer, batch 1, one step).", "",
                f"- expected: {cause.exact} (exact)", f"- actual ({fw}): {cause.value!r}", ""]
    cond = "" if claim.upstream == 1 else \
        (f" It shows with an upstream gradient of {claim.upstream!r} (the incoming "
         f"gradient dE/df the case had there); with 1 the derivative is right.")
    lines = [f"{PART_WORDS[cause.part].format(api=api)} at {claim.at} in {cause.dtype} "
             f"is {cause.value!r} in {fw} {version}; the exact value is {cause.exact} "
             f"(mpmath, 60-digit arithmetic): {_error_line(cause)}.{cond}", ""]
    if found.at != cause.at or found.inputs != cause.inputs:
        lines += [f"That is the least extreme input tried that still shows it; the harness "
                  f"first met it at {_short(found.at)} ({found.value!r}, exact "
                  f"{found.exact}).", ""]
    return lines + [
        f"Run `python {file}` (needs only {fw} and NumPy): it prints the value and exits 1 "
        f"while the error exceeds {claim.allowed:.3g}, 0 once it does not, 2 when it cannot "
        f"run here.", "", "```python", text.rstrip("\n"), "```", "",
        f"- expected: {cause.exact} (exact)", f"- actual ({fw} {version}): {cause.value!r}", ""]


def issue(spec: Spec, verdict: Verdict, wrong: str, version: str, settings: str,
          shown: list, case_script: str | None, smallest: list,
          truth: float | None = None) -> str:
    """The draft. `shown`: (cause as found, cause as claimed, its Claim, reproducer file,
    its text, api, framework) per reproduced root cause; `smallest`: (cause, spec file,
    command); `truth`: the exact value of the case's origin when it does not reduce."""
    lines = []
    if shown:
        found, cause, claim, file, text, api, framework = shown[0]
        lines += [f"# {headline(api, cause, claim.J if claim else 0)}", ""]
    else:
        framework = wrong
        o = verdict.origin
        what = o.label if o is not None else verdict.status
        lines += [f"# {wrong}: {what} of a small network differs from the exact value "
                  f"({spec.dtype})", ""]
    for k, (found, cause, claim, file, text, api, fw) in enumerate(shown):
        if k:
            lines += [f"## Also: {headline(api, cause, claim.J if claim else 0)}", ""]
        lines += _claim(found, cause, claim, file, text, api, fw, version)
    if not shown:
        lines += ["The divergence does not reduce to one function at one input: it needs the "
                  "network (accumulation order, cancellation across neurons).", ""]
        o = verdict.origin
        if o is not None:
            where = f"{o.label}[{', '.join(map(str, o.worst_index))}]"
            lines += [f"- expected: the exact value of {where}"
                      f"{f' = {truth!r}' if truth is not None else ''}",
                      f"- actual ({wrong}): "
                      f"{o.worst_value if wrong == verdict.impl else o.worst_baseline!r}", ""]
        if case_script:
            lines += [f"`python {case_script}` (needs only {framework} and NumPy) replays the "
                      f"case and exits 1 while the error stands.", ""]
    from .. import __version__
    lines += [NOTATION, "", "## Versions", "", f"- {framework} {version}{settings}",
              f"- NumPy {np.__version__}, Python {platform.python_version()}, "
              f"{platform.system()} {platform.machine()}",
              f"- found with backprop-harness {__version__}", "",
              "<details><summary>How backprop-harness found it (the case)</summary>", ""]
    lines += _case(spec, verdict, wrong, smallest)
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _case(spec: Spec, verdict: Verdict, wrong: str, smallest: list) -> list[str]:
    o = verdict.origin
    out = [f"- case `{spec.name}` ({spec.dtype}, layers "
           f"{'-'.join(map(str, spec.sizes))}, {spec.loss}, {spec.steps} step(s))"]
    if o is not None:
        actual = o.worst_value if wrong == verdict.impl else o.worst_baseline
        out.append(f"- first quantity out of tolerance: {o.label}, element "
                   f"{list(o.worst_index)}: {actual!r} ({wrong})")
    out += [f"- who is wrong: {verdict.who or 'undecided'} ({verdict.blame_reason})",
            *([f"- already known: {verdict.known}"] if verdict.known else []),
            f"- compared: {verdict.impl} with {verdict.baseline}: {verdict.message}"]
    for k, c in enumerate(verdict.root_causes, 1):
        out.append(f"- root cause {k}: {c.text}; signature `{c.signature}`")
    for cause, name, command in smallest:
        out += [f"- `{name}`: the one-neuron spec of {cause.function}'s {cause.part}; in this "
                f"folder, `{command}` reruns it against the exact oracle"]
    return out
