"""JSON for people to read and edit: indented like json.dumps(indent=...), except that a list
holding no list or object is written on one line, so a weight matrix reads row by row and a
bias vector is one line (json.dumps(indent=1) gives every number a line of its own)."""

from __future__ import annotations

import json


def dumps(doc, indent: int = 1, allow_nan: bool = True) -> str:
    """doc as readable JSON text; json.loads gives doc back."""
    def dump(value, level: int) -> str:
        inner, outer = " " * indent * (level + 1), " " * indent * level
        if isinstance(value, dict) and value:
            items = [f"{inner}{json.dumps(str(k))}: {dump(v, level + 1)}"
                     for k, v in value.items()]
            return "{\n" + ",\n".join(items) + f"\n{outer}}}"
        if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple))
                                                    for v in value):
            return "[\n" + ",\n".join(inner + dump(v, level + 1) for v in value) + f"\n{outer}]"
        return json.dumps(value, allow_nan=allow_nan)  # a number, a string, a flat list
    return dump(doc, 0)
