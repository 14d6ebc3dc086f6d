"""Claims and signatures: what the root-cause reduction (harness/rootcause.py) states.

A RootCause is one claim at one neuron: a function's part at an input, the implementation's
value and mpmath's. Its Signature (implementation, function, part, dtype, input region,
symptom) names the cause; Signature.cause (implementation, function, part, region) is the
unit of counting, so one cause seen in two dtypes is one finding. Ledger entries match
claims by signature (harness/xfails.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DIGITS = 20  # mpmath digits shown in a claim
SYMPTOMS = ("NaN", "Inf", "zero", "lost relative precision", "wrong value")
PARTS = {"f": "f", "t": "t = f'", "fe": "fe", "te": "te = dE/du", "product": "x W^T + b",
         "gradient": "g = v x", "update": "p - r g"}
FORMATS = {"float64": (53, -1022), "float32": (24, -126), "float16": (11, -14),
           "bfloat16": (8, -126)}  # significand bits, smallest normal exponent


@dataclass(frozen=True)
class Signature:
    """What names a cause: who, which function and part, in which dtype, over which input
    region, with which symptom. One signature, one finding."""

    impl: str
    function: str
    part: str
    dtype: str
    region: str
    symptom: str

    def __str__(self) -> str:
        return (f"{self.impl}: {what(self.function, self.part)}, {self.dtype}, "
                f"{self.region}: {self.symptom}")

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def cause(self) -> tuple:
        """The unit of counting: who, which function and part, which side of zero (a region
        that is no band, "subnormal d" or "d = 0", stands alone). The same cause seen in two
        dtypes, in adjacent bands of one tail, or as zero at one input and as lost digits at
        the next, is one finding, however many cases show it; describe() gives its extent."""
        return (self.impl, self.function, self.part, _side(self.region))


def describe(signatures) -> str:
    """One finding in words, with its extent: "jax: elu's t, d in (-1000, -10]: zero
    (float64, float32)"."""
    first = signatures[0]
    seen = ", ".join(f"{sym} ({', '.join(dict.fromkeys(s.dtype for s in signatures if s.symptom == sym))})"
                     for sym in dict.fromkeys(s.symptom for s in signatures))
    return f"{first.impl}: {what(first.function, first.part)}, " \
           f"{extent([s.region for s in signatures])}: {seen}"


def _side(region: str) -> str:
    """"negative" or "positive" for a band "d in ...", else the region itself."""
    band = _band(region)
    if band is None:
        return region
    return "negative" if band[2] <= 0 else "positive"


def _band(region: str):
    """(name, lo, hi, lo_closed, hi_closed) of a band region "d in (-100, -10]", else None."""
    name, sep, rest = region.partition(" in ")
    if not sep or len(rest) < 5:
        return None
    lo, hi = (float(x) for x in rest[1:-1].split(", "))
    return name, lo, hi, rest[0] == "[", rest[-1] == "]"


def extent(regions) -> str:
    """The regions of one cause, adjacent bands merged: "d in (-1000, -10]"; others listed."""
    bands = sorted({_band(r) for r in regions if _band(r)}, key=lambda b: b[1])
    merged = []
    for b in bands:
        if merged and merged[-1][2] == b[1]:
            name, lo, _, lo_closed, _ = merged[-1]
            merged[-1] = (name, lo, b[2], lo_closed, b[4])
        else:
            merged.append(b)
    out = [f"{n} in {'[' if lc else '('}{lo:g}, {hi:g}{']' if hc else ')'}"
           for n, lo, hi, lc, hc in merged]
    out += list(dict.fromkeys(r for r in regions if not _band(r)))
    return " and ".join(out)


@dataclass(frozen=True)
class RootCause:
    """One claim at one neuron: `function`'s `part` at `inputs` is `value` in the
    implementation against the exact `exact` (mpmath's digits); `reproduced` says whether the
    implementation itself showed it on the one-neuron spec `spec`; `note` says why not."""

    impl: str
    function: str
    part: str
    dtype: str
    inputs: dict
    at: float  # the principal input: d for an activation, the worst u for a loss, ...
    value: float
    exact: str
    reproduced: bool
    explains: str  # the failing tensor of the case it explains, e.g. "step 0 v[layer 1]"
    spec: dict | None = None
    note: str = ""
    operands: tuple = field(default=(), compare=False)  # for the region: subnormal operands
    width: int = 1  # 1: one neuron; more: one input on that many neurons (vectorized code)
    returned: str = ""  # a dtype other than `dtype` that the function returned (a demotion)
    label: str = field(default="", compare=False)  # what the value is, where what() is vague
    batch: int = 1  # identical samples of the one-neuron spec (a reduction over the batch)

    @property
    def rel_error(self) -> float:
        return _rel(self.value, float(self.exact))

    @property
    def ulps(self) -> float:
        exact = float(self.exact)
        if not (math.isfinite(self.value) and math.isfinite(exact)):
            return math.inf
        return abs(self.value - exact) / ulp(exact, self.dtype)

    @property
    def symptom(self) -> str:
        if self.returned:
            return f"returns {self.returned}"
        exact = float(self.exact)
        if math.isnan(self.value):
            return "NaN"
        if math.isinf(self.value) and not math.isinf(exact):
            return "Inf"
        if self.value == 0 and exact != 0:
            return "zero"
        return "lost relative precision" if self.rel_error < 0.5 else "wrong value"

    @property
    def region(self) -> str:
        return region(self.at, self.dtype, self.operands, self.part)

    @property
    def signature(self) -> Signature:
        return Signature(self.impl, self.function, self.part, self.dtype, self.region,
                         self.symptom if self.reproduced else "does not reduce")

    @property
    def text(self) -> str:
        """One line: "elu's t at d = -30: 9.36e-14 (jax), exact 9.3576229688401746e-14:
        relative error 1.1e-3, 4.1e+12 ulp (reproduced at one neuron)"."""
        if not self.reproduced:
            return f"{self.note}"
        args = ", ".join(f"{k} = {_short(v)}" for k, v in self.inputs.items())
        if self.returned:
            return (f"{what(self.function, self.part)} returns {self.returned} for "
                    f"{self.dtype} input (at {args}; reproduced at one neuron)")
        where = "at one neuron" if self.width == 1 else \
            f"at one input on {self.width} neurons, not on one (a vectorized code path)"
        if self.batch > 1:
            where += f" in a batch of {self.batch} identical samples, not of one (the " \
                     f"reduction over the batch)"
        return (f"{self.label or what(self.function, self.part)} at {args}: {self.value:.17g} "
                f"({self.impl}), exact {self.exact}: relative error {self.rel_error:.2g}, "
                f"{self.ulps:.3g} ulp (reproduced {where})")

    def to_dict(self) -> dict:
        return {"function": self.function, "part": self.part, "dtype": self.dtype,
                "input": self.inputs, "value": self.value, "exact": self.exact,
                "rel_error": self.rel_error, "ulps": self.ulps, "reproduced": self.reproduced,
                "explains": self.explains, "signature": self.signature.to_dict(),
                "width": self.width,
                "text": self.text, "spec": self.spec}


def what(function: str, part: str) -> str:
    if part in ("product", "gradient", "update"):
        return f"a layer's {PARTS[part]}"
    return f"{function}'s {part}"


def _short(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return f"{v:.17g}" if isinstance(v, float) else str(v)


def _rel(value: float, exact: float) -> float:
    if value == exact or (math.isnan(value) and math.isnan(exact)):
        return 0.0
    if not math.isfinite(value) or exact == 0:
        return math.inf
    return abs(value - exact) / abs(exact)


def ulp(x: float, dtype: str) -> float:
    """The spacing of the dtype's numbers at x (subnormal spacing below the normal range)."""
    bits, emin = FORMATS[dtype]
    e = max(math.frexp(abs(x))[1] - 1, emin) if x else emin
    return math.ldexp(1.0, e - bits + 1)


def region(x: float, dtype: str, operands=(), part: str = "") -> str:
    """The input region of a claim: "subnormal operand" when a factor is subnormal in the
    dtype; otherwise "normal operands" for the arithmetic of a layer (product, gradient,
    update), and the sign and band of the principal input for a function, "d in (-100,
    -10]"."""
    bits, emin = FORMATS[dtype]
    tiny = math.ldexp(1.0, emin)
    if any(0 < abs(o) < tiny for o in operands):
        return "subnormal operand"
    if part in ("product", "gradient", "update"):  # arithmetic: its operands' size is no cause
        return "normal operands"
    name = {"f": "d", "t": "d", "fe": "u", "te": "u"}.get(part, part or "d")
    if not math.isfinite(x):
        return f"{name} = {x}"
    if x == 0:
        return f"{name} = 0"
    if abs(x) < tiny:
        return f"subnormal {name}"
    edges = [0.0, 1e-3, 1.0, 10.0, 100.0, 1e3, math.inf]
    k = next(i for i in range(len(edges) - 1) if abs(x) < edges[i + 1])
    lo, hi = edges[k], edges[k + 1]
    if x > 0:
        return f"{name} in ({lo:g}, {hi:g})" if lo == 0 else f"{name} in [{lo:g}, {hi:g})"
    return f"{name} in (-{hi:g}, 0)" if lo == 0 else f"{name} in (-{hi:g}, -{lo:g}]"
