"""The worker protocol: what crosses the wall between the run and a worker, as data only.

A message is a frame: an 8-byte header (the JSON part's length, the number of arrays), the
JSON part (UTF-8), then each array as an 8-byte length and its raw bytes. An array travels
in the JSON as {"@array": k, "dtype": name, "shape": [...]} and is rebuilt with
np.frombuffer() from a numeric dtype only: nothing from a worker is ever unpickled. The
reading side bounds everything it reads (the JSON part, the arrays' bytes, its time) and
cleans every string once (clean()), so no writer downstream meets a control character.

This module needs only NumPy and the standard library: a worker in another environment
imports it (with harness/wall/worker.py) from the project's folder.
"""

from __future__ import annotations

import json
import os
import re
import select
import struct
import time

import numpy as np

MAX_STRING = 64 * 1024  # characters of one string from a worker; the rest is cut, visibly
MAX_JSON = 8 * 1024 * 1024  # bytes of a message's JSON part
MAX_DEPTH = 32  # nesting of a message's JSON part
NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: the dtypes an array may have
EXTRA_DTYPES = ("bfloat16",)  # numeric dtypes NumPy knows by name only through ml_dtypes
FOREVER = float("inf")  # a deadline that never comes (the worker waiting for its next task)
_HEADER = struct.Struct("<II")
_LENGTH = struct.Struct("<Q")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class ProtocolError(Exception):
    """The other side wrote something that is not a message of this protocol, or too much."""


class Closed(ProtocolError):
    """The other side closed its end (a worker that exited or died)."""


class Late(Exception):
    """The deadline passed before a whole message came (or went)."""


def clean(text: str, limit: int = MAX_STRING) -> str:
    """A string made safe for every report and terminal: control characters (ESC, so ANSI
    and OSC sequences; CR, LF, NUL, ...), C1 codes, line separators and lone surrogates
    escaped visibly as \\xNN or \\uNNNN, and anything past `limit` characters cut with a
    marker saying how much."""
    cut = ""
    if len(text) > limit:
        cut = f" [... {len(text) - limit} more characters cut]"
        text = text[:limit]
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text) + cut


def cleaned(value, depth: int = 0):
    """Every string in a decoded JSON value (keys too) cleaned."""
    if depth > MAX_DEPTH:
        raise ProtocolError("nested too deep")
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [cleaned(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean(k): cleaned(v, depth + 1) for k, v in value.items()}
    return value


def numeric_dtype(name: str) -> np.dtype:
    """The NumPy dtype named `name` when it is numeric; ProtocolError otherwise."""
    if name in EXTRA_DTYPES:
        import ml_dtypes
        return np.dtype(getattr(ml_dtypes, name))
    try:
        dt = np.dtype(name)
    except (TypeError, ValueError):
        raise ProtocolError(f"an array of unknown dtype {clean(str(name), 40)!r}") from None
    if dt.kind not in NUMERIC_KINDS or dt.hasobject or dt.fields:
        raise ProtocolError(f"an array of dtype {clean(str(name), 40)!r}, not numeric")
    return dt


def pack(doc, arrays: list[np.ndarray] = ()) -> bytes:
    """One frame: `doc` as JSON (arrays referred to as {"@array": k, ...}) and the arrays."""
    body = json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass")
    parts = [_HEADER.pack(len(body), len(arrays)), body]
    for a in arrays:
        data = np.ascontiguousarray(a).tobytes()
        parts += [_LENGTH.pack(len(data)), data]
    return b"".join(parts)


def array_ref(a, arrays: list) -> dict:
    """`a` as a NumPy array of a numeric dtype, appended to `arrays`; its JSON reference."""
    a = np.asarray(a)
    name = a.dtype.name
    if name not in EXTRA_DTYPES and (a.dtype.kind not in NUMERIC_KINDS or a.dtype.hasobject):
        raise TypeError(f"an array of dtype {name}, not numeric")
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("="))
    arrays.append(a)
    return {"@array": len(arrays) - 1, "dtype": name, "shape": list(a.shape)}


def rebuild(value, arrays: list[np.ndarray]):
    """A decoded JSON value with its array references replaced by the arrays (its depth
    bounded by cleaned() before)."""
    if isinstance(value, dict):
        if "@array" in value:
            k = value["@array"]
            if not isinstance(k, int) or not 0 <= k < len(arrays):
                raise ProtocolError("an array reference to no array")
            return arrays[k]
        return {k: rebuild(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [rebuild(v, arrays) for v in value]
    return value


class Reader:
    """Reads frames from a non-blocking file descriptor, each within a deadline and a bound
    on the arrays' bytes."""

    def __init__(self, fd: int):
        self.fd = fd
        os.set_blocking(fd, False)

    def _exactly(self, n: int, deadline: float) -> bytes:
        chunks, left = [], n
        while left:
            wait = None if deadline == FOREVER else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise Late()
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, min(left, 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise Closed("closed")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def read(self, deadline: float, max_bytes: int):
        """The next message: its JSON part (strings cleaned, arrays in place)."""
        size, count = _HEADER.unpack(self._exactly(_HEADER.size, deadline))
        if size > MAX_JSON:
            raise ProtocolError(f"a message of {size} bytes (at most {MAX_JSON})")
        try:
            doc = json.loads(self._exactly(size, deadline).decode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"not JSON: {clean(str(exc), 200)}") from None
        doc = cleaned(doc)
        refs = _array_refs(doc)
        if len(refs) != count:
            raise ProtocolError(f"{count} arrays announced, {len(refs)} referred to")
        arrays = []
        for ref in refs:
            (length,) = _LENGTH.unpack(self._exactly(_LENGTH.size, deadline))
            max_bytes -= length
            if max_bytes < 0:
                raise ProtocolError("arrays larger than the spec's shapes allow")
            dt = numeric_dtype(ref.get("dtype"))
            shape = ref.get("shape")
            if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0
                                                      for n in shape):
                raise ProtocolError("an array without a valid shape")
            if length != dt.itemsize * int(np.prod(shape, dtype=np.int64)):
                raise ProtocolError("an array whose bytes do not match its shape")
            data = self._exactly(length, deadline)
            arrays.append(np.frombuffer(data, dtype=dt).reshape(shape).copy())
        return rebuild(doc, arrays)


def _array_refs(doc) -> list[dict]:
    """The array references of a decoded message, in order of their index."""
    found: list[dict] = []

    def walk(v):
        if isinstance(v, dict):
            if "@array" in v:
                found.append(v)
                return
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(doc)
    found.sort(key=lambda r: r["@array"] if isinstance(r["@array"], int) else -1)
    if [r["@array"] for r in found] != list(range(len(found))):
        raise ProtocolError("array references out of order")
    return found


def write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write `data` to a non-blocking descriptor by the deadline (Late), or Closed."""
    view = memoryview(data)
    while view:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise Late()
        _, ready, _ = select.select([], [fd], [], wait)
        if not ready:
            continue
        try:
            n = os.write(fd, view[:1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, OSError):
            raise Closed("closed") from None
        view = view[n:]
