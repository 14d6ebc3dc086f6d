"""The wall's protocol (harness/wall/protocol.py): what a worker may send, read under bounds;
strings cleaned; arrays rebuilt from numeric dtypes only."""

from __future__ import annotations

import json
import os
import struct
import tempfile
import time

import numpy as np
import pytest

from harness.wall.protocol import (MAX_STRING, Closed, Late, ProtocolError, Reader, array_ref,
                                   clean, pack)


def _read(data: bytes, max_bytes: int = 1 << 20, seconds: float = 5.0):
    """The message `data` holds, read as the run reads a worker's (from a file here: a pipe
    holds 64 KiB)."""
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.seek(0)
        return Reader(f.fileno()).read(time.monotonic() + seconds, max_bytes)


@pytest.mark.parametrize("text, shown", [
    ("plain text, ünïcode", "plain text, ünïcode"),
    ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),
    ("a\r\n# PASS\x00", "a\\x0d\\x0a# PASS\\x00"),
    ("\x9b31m \u2028 \ud800", "\\x9b31m \\u2028 \\ud800"),
    ("\x7f\t", "\\x7f\\x09"),
])
def test_clean_escapes_every_control_character_visibly(text, shown):
    assert clean(text) == shown


def test_clean_cuts_a_long_string_with_a_marker():
    out = clean("x" * (MAX_STRING + 5))
    assert out == "x" * MAX_STRING + " [... 5 more characters cut]"
    assert clean("y" * MAX_STRING) == "y" * MAX_STRING


def test_a_message_round_trips_with_its_arrays_and_cleaned_strings():
    import ml_dtypes
    arrays: list = []
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([1.5, -2.25], dtype=ml_dtypes.bfloat16)
    doc = {"message": "red\x1b[31m", "x": array_ref(a, arrays), "y": [array_ref(b, arrays)],
           "n": 3}
    got = _read(pack(doc, arrays))
    assert got["message"] == "red\\x1b[31m" and got["n"] == 3
    np.testing.assert_array_equal(got["x"], a)
    assert got["x"].dtype == np.float32 and got["y"][0].dtype == b.dtype
    np.testing.assert_array_equal(got["y"][0].astype(np.float32), [1.5, -2.25])


def _frame(body: bytes, arrays: list[bytes] = (), count: int | None = None) -> bytes:
    head = struct.pack("<II", len(body), len(arrays) if count is None else count)
    return head + body + b"".join(struct.pack("<Q", len(x)) + x for x in arrays)


@pytest.mark.parametrize("data, says", [
    (b"\xff\xff\xff\x7fgarbage", "a message of 2147483647 bytes"),
    (_frame(b"{not json"), "not JSON"),
    (_frame(json.dumps({"a": {"@array": 0, "dtype": "object", "shape": [1]}}).encode(),
            [b"\0" * 8]), "dtype 'object', not numeric"),
    (_frame(json.dumps({"a": {"@array": 0, "dtype": "float64", "shape": [2]}}).encode(),
            [b"\0" * 8]), "bytes do not match its shape"),
    (_frame(json.dumps({"a": {"@array": 0, "dtype": "float64", "shape": [10**6]}}).encode(),
            [b"\0" * 8 * 10**6]), "larger than the spec's shapes allow"),
    (_frame(json.dumps({"a": {"@array": 1, "dtype": "float64", "shape": [1]}}).encode(),
            [b"\0" * 8]), "array references out of order"),
    (_frame(b"{}", count=2), "2 arrays announced, 0 referred to"),
    (_frame(b"[" * 100 + b"]" * 100), "nested too deep"),
])
def test_anything_but_a_message_is_a_protocol_error(data, says):
    with pytest.raises(ProtocolError, match=says.replace("(", r"\(").replace(")", r"\)")):
        _read(data, max_bytes=1024)


def test_a_closed_pipe_and_a_silent_one_are_told_apart():
    with pytest.raises(Closed):
        _read(b"\x05\x00")
    r, w = os.pipe()
    try:
        start = time.monotonic()
        with pytest.raises(Late):
            Reader(r).read(time.monotonic() + 0.3, 1024)
        assert time.monotonic() - start < 5
    finally:
        os.close(r)
        os.close(w)
