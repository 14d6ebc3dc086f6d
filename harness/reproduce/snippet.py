"""The framework-only reproducer of one root cause, a few lines: the framework's own call of the
function at fault at the claimed input, its value or derivative the way the framework computes
it, the exact value as a literal (mpmath's digits), and an exit status: 1 while the error
exceeds the harness's tolerance there, 0 once it does not, 2 when it cannot run (the framework
missing, no usable device, a third-party adapter's snippet not filled in).

Built-in adapters get their lines from recipes.py; a third-party adapter from its optional
hook `reproducer(function, part, inputs, dtype)` (docs/adapters.md); without it the script
says what to fill in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..signature import what
from . import recipes

WORDS = {"f": "{api}({x})", "t": "the derivative of {api} at {x}",
         "fe": "{api}({x})", "te": "the derivative of {api} at {x}"}


@dataclass(frozen=True)
class Claim:
    """What a reproducer states: `function`'s `part` at the input array `a` (element J for
    a derivative; `upstream` the incoming gradient the claim needs, 1 when none), in `dtype`,
    exactly `exact` (mpmath's digits), allowed an absolute error `allowed`."""

    impl: str
    function: str
    part: str
    dtype: str
    a: tuple  # the input row(s): d on `width` neurons, or a loss's u (x through the sigmoid)
    exact: str
    allowed: float
    y: tuple = ()  # a loss's targets
    J: int = 0
    upstream: float = 1.0
    slope: float = 0.01
    through: str = "identity"  # the activation before a loss (binary cross-entropy's probe)

    @property
    def at(self) -> str:
        row = self.a[0]
        if self.part in ("f", "t"):
            return f"d = {row[0]!r}"
        u = "x" if self.through != "identity" else "u"
        return f"{u} = {list(row)!r}, y = {list(self.y[0])!r}"


def framework_lines(impl, claim: Claim) -> tuple[list[str], str, str] | None:
    """(the body of framework_value(), the framework's API of the function, the framework's
    distribution) for a built-in implementation, else None."""
    found = recipes.recipe(impl)
    if found is None:
        return None
    rec, module = found
    made = recipes.function_source(module, rec, claim.function, claim.part, claim.slope,
                                   claim.through)
    if made is None:
        return None
    defs, api = made
    blank = defs.index("")  # the imports f needs, then its definition
    lines = [*dict.fromkeys([*rec.prelude, *defs[:blank]]), *defs[blank:], "",
             f"a = np.array({[list(r) for r in claim.a]!r}, "
             f"{claim.dtype!r})"]
    if claim.part in ("fe", "te"):
        lines.append(f"y = np.array({[list(r) for r in claim.y]!r}, {claim.dtype!r})")
        if rec.tensor != "a":
            lines.append("y = " + re.sub(r"\ba\b", "y", rec.tensor).replace(
                ", requires_grad=True", ""))
    lines.append(f"x = {rec.tensor}")
    steps = rec.value if claim.part in ("f", "fe") else "\n".join(rec.derivative)
    p = claim.upstream
    if p == 1:  # no upstream factor: the plain derivative
        steps = (steps.replace(" * P", "").replace(" / P", "")
                 .replace("np.full(out.shape, P, a.dtype)", ""))
    else:
        steps = steps.replace("P", repr(p))
    lines += steps.replace("[J]", f"[{claim.J}]").replace("flat[J]", f"flat[{claim.J}]") \
        .split("\n")
    return lines, api or f"{rec.framework}'s {claim.function}", rec.framework


def third_party_lines(impl, claim: Claim) -> tuple[list[str], str, str]:
    """The adapter's hook's lines (str, or (api, str)), else a body that says what to fill
    in and exits 2 (NotImplementedError)."""
    hook = getattr(impl, "reproducer", None)
    name = getattr(impl, "name", claim.impl)
    inputs = {"d": claim.a[0][0]} if claim.part in ("f", "t") else \
        {"u": list(claim.a[0]), "y": list(claim.y[0]), "j": claim.J}
    got = None
    if hook is not None:
        try:
            got = hook(claim.function, claim.part, inputs, claim.dtype)
        except Exception:  # an adapter's hook is its own code: without it, the fill-in body
            got = None
    if isinstance(got, tuple) and len(got) == 2 and all(isinstance(g, str) for g in got):
        return got[1].strip("\n").split("\n"), got[0], name
    if isinstance(got, str) and got.strip():
        return got.strip("\n").split("\n"), f"{name}'s {claim.function}", name
    todo = what(claim.function, claim.part)
    return [f"# Fill in: compute {todo} at {claim.at} in {claim.dtype} with {name}, the",
            "# way its adapter does, and return it as a float (the adapter's optional hook",
            "# reproducer(function, part, inputs, dtype) writes these lines: docs/adapters.md).",
            "raise NotImplementedError(\"fill in framework_value(): see the comment in it\")"], \
        f"{name}'s {claim.function}", name


def script(impl, claim: Claim, version: str = "") -> tuple[str, str, str]:
    """(reproduce.py's text, the API it calls, the framework it needs)."""
    made = framework_lines(impl, claim) or third_party_lines(impl, claim)
    body, api, framework = made
    label = WORDS[claim.part].format(api=api, x=claim.at)
    which = "its value" if claim.part in ("f", "fe") else "its derivative"
    condition = "" if claim.upstream == 1 else \
        f", with an upstream gradient of {claim.upstream!r}"
    indented = "\n".join(("    " + ln) if ln else "" for ln in body)
    title = f"{label} in {claim.dtype}{condition}: {framework}{f' {version}' if version else ''}"
    shown = f"{label} in {claim.dtype}".replace("{", "{{").replace("}", "}}")
    text = f'''"""{title} against the exact value.

Written by backprop-harness. Needs only {framework} and NumPy. Exit status: 1 while the error
exceeds the allowed one, 0 once it does not, 2 when it cannot run here.
"""
import sys

import numpy as np

EXACT = {claim.exact}  # mpmath, 60-digit arithmetic ({which})
ALLOWED = {claim.allowed:.3g}  # absolute error the harness allows there


def framework_value():
{indented}


try:
    value = framework_value()
except Exception as exc:  # the framework missing, no usable device: not the defect
    print(f"cannot run: {{type(exc).__name__}}: {{exc}}")
    sys.exit(2)
error = abs(value - EXACT)
relative = error / abs(EXACT) if EXACT else math.inf
print(f"{shown} = {{value!r}}; exact {{EXACT!r}}")
print(f"error {{error:.3g}} (relative {{relative:.3g}}), allowed {{ALLOWED:.3g}}")
sys.exit(0 if error <= ALLOWED else 1)
'''
    if "math.inf" in text:
        text = text.replace("import sys\n", "import math\nimport sys\n", 1)
    return text, api, framework

