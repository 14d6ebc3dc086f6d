"""Strict JSON for spec files: every way a file can fail to be JSON a spec can come from (no
such file, not UTF-8, empty, NaN or Infinity, a key given twice, an integer beyond the float
range) is a SpecError naming the file, never a traceback (spec.py reads the document)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import SpecError


def read_json(path: str | Path) -> Any:
    """The JSON document in a file, strictly: UTF-8, finite numbers, each key once; every
    problem a SpecError naming the file."""
    p = Path(path)
    if not p.exists():
        raise SpecError("", "no such file", str(path))
    if p.is_dir():
        raise SpecError("", "is a directory, expected a JSON spec file", str(path))
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError("", f"not UTF-8 text (byte {exc.start})", str(path)) from None
    except OSError as exc:
        raise SpecError("", f"cannot read: {exc.strerror}", str(path)) from None
    if not text.strip():
        raise SpecError("", "file is empty", str(path))
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int,
                          object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise SpecError("", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                        str(path)) from None
    except ValueError as exc:
        raise SpecError("", str(exc), str(path)) from None
    except RecursionError:
        raise SpecError("", "JSON nested too deeply", str(path)) from None


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} in JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object whose keys are all different: a repeated key (the last would silently
    win) is refused, named."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in one JSON object")
        out[key] = value
    return out


class HugeInteger:
    """An integer literal beyond the float range, kept as its digit count so that the check of
    the field it stands in names that field (float() would raise OverflowError, int() refuses
    over 4,300 digits)."""

    def __init__(self, digits: int):
        self.digits = digits


def _parse_int(text: str) -> int | HugeInteger:
    digits = len(text.lstrip("-"))
    if digits > 400:  # past the float range (309 digits), short of int()'s 4,300-digit limit
        return HugeInteger(digits)
    value = int(text)
    try:
        float(value)
    except OverflowError:
        return HugeInteger(digits)
    return value
