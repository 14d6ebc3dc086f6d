"""Network specs: load, validate and expand spec JSON (docs/specs.md) into a Spec.

A spec is everything needed to reproduce a run bit for bit: explicit weights, biases, data,
loss, learning rate and steps, in one dtype. The generated form (`"generate": {...}`) expands
deterministically (numpy's PCG64 from a seed) to the explicit form, so the same seed is the same
network on every machine and for every implementation.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from impls.reference import ACTIVATIONS, LOSSES, REDUCTIONS, activation, loss as loss_record
from impls.reference.dtypes import dtype as np_dtype, finfo

from .errors import SpecError
from .spec_json import HugeInteger, read_json

__all__ = ["Layer", "Spec", "load_spec", "load_specs", "spec_from_dict", "DEFAULT_REDUCTION"]

DTYPES = ("float64", "float32")  # the default suite's; LOW_PRECISION ones are opt-in
LOW_PRECISION = ("bfloat16", "float16")  # computed as in the frameworks (impls/reference)
ALL_DTYPES = DTYPES + LOW_PRECISION
DEFAULT_REDUCTION = "sum"  # the formulas then hold per sample, unchanged (docs/specs.md)
DEFAULT_SLOPE = 0.01
MAX_STEPS = 10_000
MAX_NAME = 120
SAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._+-]")  # a name is a file name in every report
MAX_TRACE_BYTES = 2 * 1024**3  # refuse specs whose traces would not fit comfortably in memory

TOP_FIELDS = {"name", "description", "dtype", "layers", "loss", "reduction", "inputs", "targets",
              "learning_rate", "steps", "tolerance", "generate"}
PARAM_FIELDS = {"slope", "alpha"}  # the activations' parameters (their records' Param)
LAYER_FIELDS = {"weights", "bias", "activation"} | PARAM_FIELDS
TOLERANCE_FIELDS = {"forward", "backward"}
TOLERANCE_KINDS = {"rtol", "atol"}


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Layer:
    """One dense layer: weights[j][i] from input i to neuron j, bias[j], activation f; slope:
    the activation's parameter (leaky_relu's slope, celu's alpha; unused by the others)."""

    weights: np.ndarray
    bias: np.ndarray
    activation: str
    slope: float = DEFAULT_SLOPE

    def to_dict(self) -> dict:
        out = {"weights": self.weights.tolist(), "bias": self.bias.tolist(),
               "activation": self.activation}
        param = activation(self.activation).param
        if param:
            out[param.field] = self.slope
        return out


@dataclass(frozen=True)
class Spec:
    """A validated network, its data and its training run; arrays are read-only numpy arrays."""

    name: str
    dtype: str
    layers: tuple[Layer, ...]
    loss: str
    inputs: np.ndarray
    targets: np.ndarray
    learning_rate: float
    steps: int = 1
    reduction: str = DEFAULT_REDUCTION
    tolerance: dict = field(default_factory=dict)
    description: str = ""

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first: [n_in, n_1, ..., n_out]."""
        return [self.inputs.shape[1]] + [layer.bias.shape[0] for layer in self.layers]

    @property
    def batch(self) -> int:
        return self.inputs.shape[0]

    @property
    def directions(self) -> int:
        """The inputs a forward-mode AD needs one direction each for: every parameter and
        every pre-activation element (for v)."""
        sizes = self.sizes
        return sum(a * b + b for a, b in zip(sizes, sizes[1:])) + self.batch * sum(sizes[1:])

    @property
    def arch(self) -> str:
        return "-".join(map(str, self.sizes))

    def to_dict(self) -> dict:
        """The explicit JSON form; `spec_from_dict(s.to_dict())` gives back the same spec."""
        out = {"name": self.name, "dtype": self.dtype,
               "layers": [layer.to_dict() for layer in self.layers], "loss": self.loss,
               "reduction": self.reduction, "inputs": self.inputs.tolist(),
               "targets": self.targets.tolist(), "learning_rate": self.learning_rate,
               "steps": self.steps}
        if self.tolerance:
            out["tolerance"] = self.tolerance
        if self.description:
            out["description"] = self.description
        return out

    def replace(self, **changes) -> "Spec":
        """A new spec with some fields changed, validated again."""
        d = self.to_dict()
        d.update(changes)
        return spec_from_dict(d)


# ---------------------------------------------------------------- loading

def load_specs(path: str | Path) -> list[Spec]:
    """Specs from a file holding one spec or a suite (a list of specs, or {"specs": [...]})."""
    doc = read_json(path)
    if isinstance(doc, dict) and "specs" in doc and "layers" not in doc and "generate" not in doc:
        doc = doc["specs"]
        prefix = "specs"
        if not isinstance(doc, list):
            raise SpecError(prefix, f"expected a list of specs, got {_kind(doc)}", str(path))
    else:
        prefix = ""
    if isinstance(doc, list):
        if not doc:
            raise SpecError(prefix, "suite is empty: expected at least one spec", str(path))
        return [spec_from_dict(item, source=str(path), path=f"{prefix}[{i}]")
                for i, item in enumerate(doc)]
    return [spec_from_dict(doc, source=str(path), default_name=Path(path).stem)]


def load_spec(path: str | Path) -> Spec:
    """The single spec in a file (a suite of one is accepted)."""
    specs = load_specs(path)
    if len(specs) != 1:
        raise SpecError("", f"expected one spec, found a suite of {len(specs)}", str(path))
    return specs[0]


# ---------------------------------------------------------------- validation

class _Checker:
    """Field-path-aware checks; every failure is a SpecError naming the field."""

    def __init__(self, source: str | None, path: str):
        self.source = source
        self.path = path

    def fail(self, fld: str, message: str):
        full = f"{self.path}.{fld}" if self.path and fld else (self.path or fld)
        raise SpecError(full, message, self.source)

    def mapping(self, doc: Any, fld: str, allowed: set[str]) -> dict:
        if not isinstance(doc, dict):
            self.fail(fld, f"expected an object, got {_kind(doc)}")
        unknown = sorted(set(doc) - allowed)
        if unknown:
            self.fail(fld, f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        return doc

    def require(self, doc: dict, key: str, fld: str | None = None) -> Any:
        if key not in doc:
            self.fail(fld or "", f"missing required field {key!r}")
        return doc[key]

    def string(self, value: Any, fld: str) -> str:
        if not isinstance(value, str):
            self.fail(fld, f"expected a string, got {_kind(value)}")
        return value

    def choice(self, value: Any, fld: str, names) -> str:
        value = self.string(value, fld)
        if value not in names:
            self.fail(fld, f"unknown name {value!r} (known: {', '.join(names)})")
        return value

    def number(self, value: Any, fld: str, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(fld, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value):
            self.fail(fld, f"expected a finite number, got {value}")
        if positive and value <= 0:
            self.fail(fld, f"must be positive, got {value}")
        return float(value)

    def integer(self, value: Any, fld: str, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(fld, f"expected an integer, got {_kind(value)}")
        if not lo <= value <= hi:
            self.fail(fld, f"must be between {lo} and {hi}, got {value}")
        return value

    def array(self, value: Any, fld: str, ndim: int, dtype: str) -> np.ndarray:
        """A rectangular, non-empty, finite array of numbers, rounded once to dtype."""
        self._check_nested(value, fld, ndim)
        a64 = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(a64)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a64))[0])
            self.fail(fld, f"non-finite number at {list(idx)}")
        limit = float(finfo(dtype).max)
        if np.any(np.abs(a64) > limit):
            idx = tuple(int(i) for i in np.argwhere(np.abs(a64) > limit)[0])
            self.fail(fld, f"number at {list(idx)} is beyond the {dtype} range")
        return _readonly(a64.astype(np_dtype(dtype)))

    def _check_nested(self, value: Any, fld: str, ndim: int):
        if ndim == 0:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(fld, f"expected a number, got {_kind(value)}")
            return
        if not isinstance(value, list):
            self.fail(fld, f"expected a {ndim}-d array (nested lists), got {_kind(value)}")
        if not value:
            self.fail(fld, "empty array")
        for i, item in enumerate(value):
            self._check_nested(item, f"{fld}[{i}]", ndim - 1)
        if ndim > 1:
            self._check_rows(value, fld)

    def _check_rows(self, rows: list, fld: str):
        """Rows of one length; otherwise the error names the first row whose length differs
        from the most common one (row 0's in a tie), not the first row that differs from
        row 0."""
        lengths = [len(row) for row in rows]
        common, count = Counter(lengths).most_common(1)[0]
        odd = next((i for i, n in enumerate(lengths) if n != common), None)
        if odd is None:
            return
        others = len(rows) - 1
        if count == others:
            where = f"the other row{'s have' if others > 1 else ' has'}"
        elif count == 1:
            where = f"{fld}[{lengths.index(common)}] has"
        else:
            where = f"{count} of the {len(rows)} rows have"
        n = lengths[odd]
        self.fail(f"{fld}[{odd}]", f"ragged array: {n} entr{'y' if n == 1 else 'ies'} where "
                  f"{where} {common}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, HugeInteger):
        return f"an integer of {value.digits} digits, beyond the float range"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def spec_from_dict(doc: Any, source: str | None = None, path: str = "",
                   default_name: str = "spec") -> Spec:
    """Validate a spec document (explicit or generated form) and build the immutable Spec."""
    c = _Checker(source, path)
    doc = c.mapping(doc, "", TOP_FIELDS)
    if "generate" in doc:
        from .generate import expand  # generated form -> explicit form
        doc = expand(doc, c)
    if "name" in doc:
        name = c.string(doc["name"], "name")
    else:  # named after its file: made safe, or refused naming the file, not a "name" field
        name = SAFE_NAME_CHARS.sub("-", default_name).lstrip(".")[:MAX_NAME]
        if not name.strip("-"):
            c.fail("", f"no \"name\" field, and the file name {default_name[:60]!r} gives no "
                   f"usable case name: add a \"name\"")
    if not name.strip():
        c.fail("name", "must not be empty")
    if SAFE_NAME_CHARS.search(name) or name.startswith(".") or len(name) > MAX_NAME:
        c.fail("name", f"{name[:60]!r} is not a safe file name (reports write <name>.json): use "
               f"letters, digits, '.', '_', '+' and '-', at most {MAX_NAME} characters, not "
               f"starting with '.'")
    dtype = c.choice(doc.get("dtype", "float64"), "dtype", ALL_DTYPES)
    loss = c.choice(c.require(doc, "loss"), "loss", LOSSES)
    reduction = c.choice(doc.get("reduction", DEFAULT_REDUCTION), "reduction", REDUCTIONS)
    lr = c.number(c.require(doc, "learning_rate"), "learning_rate", positive=True)
    steps = c.integer(doc.get("steps", 1), "steps", 1, MAX_STEPS)
    inputs = c.array(c.require(doc, "inputs"), "inputs", 2, dtype)
    targets = c.array(c.require(doc, "targets"), "targets", 2, dtype)
    layers = _layers(c, c.require(doc, "layers"), inputs.shape[1], dtype)
    _check_data(c, layers, inputs, targets, loss)
    tolerance = _tolerance(c, doc.get("tolerance", {}))
    description = c.string(doc.get("description", ""), "description")
    spec = Spec(name=name, dtype=dtype, layers=layers, loss=loss, inputs=inputs,
                targets=targets, learning_rate=lr, steps=steps, reduction=reduction,
                tolerance=tolerance, description=description)
    _check_size(c, spec)
    return spec


def _layers(c: _Checker, docs: Any, n_in: int, dtype: str) -> tuple[Layer, ...]:
    if not isinstance(docs, list) or not docs:
        c.fail("layers", f"expected a non-empty list of layers, got {_kind(docs)}"
               if not isinstance(docs, list) else "expected at least one layer")
    layers = []
    width, source = n_in, "the input has"
    for k, item in enumerate(docs):
        at = f"layers[{k}]"
        item = c.mapping(item, at, LAYER_FIELDS)
        w = c.array(c.require(item, "weights", at), f"{at}.weights", 2, dtype)
        b = c.array(c.require(item, "bias", at), f"{at}.bias", 1, dtype)
        act = c.choice(c.require(item, "activation", at), f"{at}.activation", ACTIVATIONS)
        slope = _param(c, item, act, at)
        if w.shape[1] != width:
            c.fail(f"{at}.weights", f"expected {width} columns ({source} {width} "
                   f"{'features' if k == 0 else 'neurons'}), got {w.shape[1]}")
        if b.shape[0] != w.shape[0]:
            c.fail(f"{at}.bias", f"expected {w.shape[0]} entries (one per row of weights), "
                   f"got {b.shape[0]}")
        layers.append(Layer(w, b, act, slope))
        width, source = w.shape[0], f"layer {k} has"
    return tuple(layers)


def _param(c: _Checker, item: dict, act: str, at: str) -> float:
    """The layer's activation parameter (its record's Param: field, default, range), or
    DEFAULT_SLOPE for an activation that takes none; a parameter of another activation fails."""
    param = activation(act).param
    for name in sorted(PARAM_FIELDS & set(item) - {param.field if param else None}):
        takers = [a for a in ACTIVATIONS if (p := activation(a).param) and p.field == name]
        article = "an" if name[0] in "aeiou" else "a"
        c.fail(f"{at}.{name}", f"only {' and '.join(takers)} takes {article} {name}, "
               f"activation is {act}")
    if not param:
        return DEFAULT_SLOPE
    value = c.number(item.get(param.field, param.default), f"{at}.{param.field}")
    if (why := param.check(value)):
        c.fail(f"{at}.{param.field}", why)
    return value


def _check_data(c: _Checker, layers, inputs, targets, loss: str):
    if targets.shape[0] != inputs.shape[0]:
        c.fail("targets", f"expected {inputs.shape[0]} rows (the batch size of inputs), "
               f"got {targets.shape[0]}")
    n_out = layers[-1].bias.shape[0]
    if targets.shape[1] != n_out:
        c.fail("targets", f"expected {n_out} columns (the last layer has {n_out} neurons), "
               f"got {targets.shape[1]}")
    record = loss_record(loss)
    if record.targets and not np.all(record.targets.holds(targets)):
        c.fail("targets", f"{loss} needs {record.targets.why}")
    if record.outputs and layers[-1].activation not in record.outputs:
        c.fail(f"layers[{len(layers) - 1}].activation", f"{loss} needs outputs in "
               f"{'(0, 1)' if record.outputs == ('sigmoid',) else '(0, inf)'}: the last activation "
               f"must be {' or '.join(record.outputs)}, got {layers[-1].activation}")


def _tolerance(c: _Checker, doc: Any) -> dict:
    doc = c.mapping(doc, "tolerance", TOLERANCE_FIELDS)
    out = {}
    for phase, kinds in doc.items():
        kinds = c.mapping(kinds, f"tolerance.{phase}", TOLERANCE_KINDS)
        out[phase] = {k: c.number(v, f"tolerance.{phase}.{k}") for k, v in kinds.items()}
        for k, v in out[phase].items():
            if v < 0:
                c.fail(f"tolerance.{phase}.{k}", f"must be >= 0, got {v}")
    return out


def trace_bytes(spec: Spec) -> int:
    """Estimated bytes of one trace of this spec: every per-step array, every step."""
    item = np_dtype(spec.dtype).itemsize
    params = sum(layer.weights.size + layer.bias.size for layer in spec.layers)
    per_step = 3 * spec.batch * sum(spec.sizes[1:]) + params
    return item * (spec.steps * per_step + params)


def _check_size(c: _Checker, spec: Spec):
    need = trace_bytes(spec)
    if need > MAX_TRACE_BYTES:
        c.fail("", f"too large: a trace would take about {need / 1024**3:.1f} GiB "
               f"(limit {MAX_TRACE_BYTES / 1024**3:.0f} GiB); use fewer steps, samples or neurons")
