"""The wall's protocol (harness/wall/protocol.py): what a worker may send, read under bounds;
strings cleaned; arrays rebuilt from numeric dtypes only."""

from __future__ import annotations

import json
import os
import select
import struct
import tempfile
import threading
import time

import numpy as np
import pytest

from harness.wall.protocol import (MAX_STRING, Closed, Late, ProtocolError, Reader, array_ref,
                                   clean, pack)


pytestmark = pytest.mark.timeout(60)  # a mutant that makes a read or a write hang fails


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
    assert _read(pack({"n": 1}), seconds=0.9) == {"n": 1}  # what is there is read to the end
    with pytest.raises(Closed, match="^closed$"):
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


# --------------------------------------------- every bound and branch, by hand

def test_clean_cuts_at_its_own_limit_and_escapes_by_code_point():
    assert clean("abcdef", 3) == "abc [... 3 more characters cut]"
    assert clean("abc", 3) == "abc"
    # C0, DEL and C1 as \xNN; line and paragraph separators and surrogates as \uNNNN
    assert clean("\x00\x1f \x7e\x7f\x9f\xa0") == "\\x00\\x1f \x7e\\x7f\\x9f\xa0"
    assert clean("\u2027\u2028\u2029\u202a") == "\u2027\\u2028\\u2029\u202a"
    assert clean("\ud7ff\udfff\ue000") == "\ud7ff\\udfff\ue000"


def _nested(depth: int, wrap):
    """A string inside `depth` containers (what `wrap` makes of a value)."""
    value = "s\x1b"
    for _ in range(depth):
        value = wrap(value)
    return value


@pytest.mark.parametrize("wrap, unwrap", [(lambda v: [v], lambda v: v[0]),
                                          (lambda v: {"k\x07": v}, lambda v: v["k\\x07"])],
                         ids=["lists", "dicts"])
def test_cleaned_cleans_keys_and_values_down_to_its_depth_bound(wrap, unwrap):
    from harness.wall.protocol import MAX_DEPTH, cleaned
    inner = cleaned(_nested(MAX_DEPTH, wrap))
    for _ in range(MAX_DEPTH):
        inner = unwrap(inner)
    assert inner == "s\\x1b"
    with pytest.raises(ProtocolError, match="^nested too deep$"):
        cleaned(_nested(MAX_DEPTH + 1, wrap))


def test_cleaned_leaves_what_is_not_a_string_as_it_is():
    from harness.wall.protocol import cleaned
    assert cleaned({"k\x07": ["v\r", 1, None, 2.5, True, {"\x1b": "x"}]}) == \
        {"k\\x07": ["v\\x0d", 1, None, 2.5, True, {"\\x1b": "x"}]}


@pytest.mark.parametrize("name", ["bool", "int8", "uint16", "int64", "float16", "float32",
                                  "float64", "bfloat16"])
def test_numeric_dtypes_are_rebuilt_by_name(name):
    from harness.wall.protocol import numeric_dtype
    assert numeric_dtype(name).name == name


@pytest.mark.parametrize("name, says", [
    ("complex64", "an array of dtype 'complex64', not numeric"),
    ("object", "an array of dtype 'object', not numeric"),
    ("U3", "an array of dtype 'U3', not numeric"),
    ("V8", "an array of dtype 'V8', not numeric"),
    ("i4,i4", "an array of dtype 'i4,i4', not numeric"),
    (",".join(["i4"] * 20), "an array of dtype '" + ",".join(["i4"] * 20)[:40]
     + " [... 19 more characters cut]', not numeric"),
    ("nonsense", "an array of unknown dtype 'nonsense'"),
    (["float64"], "an array of unknown dtype \"['float64']\""),
    ("q" * 50, "an array of unknown dtype '" + "q" * 40 + " [... 10 more characters cut]'"),
    ("\x1b" * 50, "an array of unknown dtype '" + "\\\\x1b" * 40
     + " [... 10 more characters cut]'"),
])
def test_other_dtypes_are_refused_by_name(name, says):
    from harness.wall.protocol import numeric_dtype
    with pytest.raises(ProtocolError) as info:
        numeric_dtype(name)
    assert str(info.value) == says


def test_pack_writes_the_header_the_json_and_each_array_with_its_length():
    a, b = np.array([1.0, 2.0]), np.array([[3, 4]], dtype=np.int8)
    doc = {"x": float("nan"), "s": "é \ud800"}
    data = pack(doc, [a, b])
    body = json.dumps(doc).encode()
    assert data[:8] == struct.pack("<II", len(body), 2)
    assert data[8:8 + len(body)] == body
    rest = data[8 + len(body):]
    assert rest == struct.pack("<Q", 16) + a.tobytes() + struct.pack("<Q", 2) + b.tobytes()
    assert pack([]) == struct.pack("<II", 2, 0) + b"[]"


def test_array_ref_numbers_the_arrays_and_refuses_what_is_not_numbers():
    arrays: list = []
    assert array_ref([1.5, 2.5], arrays) == {"@array": 0, "dtype": "float64", "shape": [2]}
    swapped = np.arange(6, dtype=">i4").reshape(3, 2)
    assert array_ref(swapped, arrays) == {"@array": 1, "dtype": "int32", "shape": [3, 2]}
    assert arrays[1].dtype == np.dtype("=i4")
    got = _read(pack({"a": {"@array": 0, "dtype": "int32", "shape": [3, 2]}}, [arrays[1]]))
    np.testing.assert_array_equal(got["a"], np.arange(6).reshape(3, 2))
    for bad in (np.array([object()]), np.array(["text"]), np.array([1j])):
        with pytest.raises(TypeError, match=f"an array of dtype {bad.dtype.name}, not numeric"):
            array_ref(bad, arrays)
    assert len(arrays) == 2


def test_rebuild_puts_each_array_in_place_and_refuses_a_reference_to_none():
    from harness.wall.protocol import rebuild
    a, b = np.zeros(1), np.ones(2)
    got = rebuild({"x": [{"@array": 1}, {"y": {"@array": 0}}], "n": 1}, [a, b])
    assert got["x"][0] is b and got["x"][1]["y"] is a and got["n"] == 1
    for k in (2, -1, "0", None, 1.0):
        with pytest.raises(ProtocolError, match="^an array reference to no array$"):
            rebuild([{"@array": k}], [a, b])


def test_array_references_may_come_in_any_order_of_the_document():
    arrays: list = []
    first, second = np.array([1.0]), np.array([2, 3], dtype=np.uint8)
    refs = [array_ref(first, arrays), array_ref(second, arrays)]
    got = _read(pack({"a": refs[1], "b": [refs[0]]}, arrays))  # the second array named first
    np.testing.assert_array_equal(got["b"][0], first)
    np.testing.assert_array_equal(got["a"], second)
    assert got["a"].dtype == np.uint8 and got["a"].flags.writeable  # a copy, not the buffer


@pytest.mark.parametrize("indices", [["0"], [0, "1"], ["1", 0]])
def test_a_reference_whose_index_is_no_number_is_out_of_order(indices):
    refs = [{"@array": k, "dtype": "int8", "shape": [1]} for k in indices]
    with pytest.raises(ProtocolError, match="^array references out of order$"):
        _read(_frame(json.dumps(refs).encode(), [b"\0"] * len(refs)))


def test_messages_in_a_row_are_read_one_at_a_time():
    two = pack({"n": 2, "a": {"@array": 0, "dtype": "int16", "shape": [2]}},
               [np.array([7, 8], dtype=np.int16)])
    with tempfile.TemporaryFile() as f:
        f.write(pack({"n": 0}) + two + pack({"n": 3}))
        f.seek(0)
        reader = Reader(f.fileno())
        deadline = time.monotonic() + 5
        got = [reader.read(deadline, 4) for _ in range(3)]
    assert [g["n"] for g in got] == [0, 2, 3] and got[1]["a"].tolist() == [7, 8]


@pytest.mark.parametrize("shape, says", [
    (None, "an array without a valid shape"),
    ({"0": 2}, "an array without a valid shape"),
    ([2, -1], "an array without a valid shape"),
    ([2.0], "an array without a valid shape"),
    ([1], "an array whose bytes do not match its shape"),
    ([2, 2], "an array whose bytes do not match its shape"),
])
def test_an_array_needs_a_shape_of_its_bytes(shape, says):
    ref = {"@array": 0, "dtype": "float32", "shape": shape}
    with pytest.raises(ProtocolError, match=f"^{says}$"):
        _read(_frame(json.dumps({"a": ref}).encode(), [b"\0" * 8]))


def test_an_empty_array_and_the_byte_bound_hold_exactly():
    ref = {"@array": 0, "dtype": "float32", "shape": [0, 3]}
    empty = _read(_frame(json.dumps({"a": ref}).encode(), [b""]), max_bytes=0)["a"]
    assert empty.shape == (0, 3) and empty.dtype == np.float32
    refs = {"a": {"@array": 0, "dtype": "int8", "shape": [2, 2]},
            "b": {"@array": 1, "dtype": "int8", "shape": [4]}}
    data = _frame(json.dumps(refs).encode(), [b"\1\2\3\4", b"\5" * 4])
    got = _read(data, max_bytes=8)
    assert got["a"].tolist() == [[1, 2], [3, 4]] and got["b"].tolist() == [5] * 4
    with pytest.raises(ProtocolError, match="larger than the spec's shapes allow"):
        _read(data, max_bytes=7)


def test_the_json_bound_holds_exactly():
    from harness.wall.protocol import MAX_JSON
    text = b'"' + b"x" * (MAX_JSON - 2) + b'"'
    assert _read(_frame(text)) == clean("x" * (MAX_JSON - 2))
    with pytest.raises(ProtocolError) as info:
        _read(_frame(text + b" "))
    assert str(info.value) == f"a message of {MAX_JSON + 1} bytes (at most {MAX_JSON})"


@pytest.mark.parametrize("body", [b'{"a": 1,}', b"\xff", b"[" * 100_000 + b"]" * 100_000],
                         ids=["json", "utf-8", "recursion"])
def test_what_does_not_parse_is_named_in_one_line(body):
    try:
        json.loads(body.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError) as exc:
        why = str(exc)
    with pytest.raises(ProtocolError) as info:
        _read(_frame(body))
    assert str(info.value) == f"not JSON: {clean(why, 200)}"


def test_a_lone_surrogate_a_worker_wrote_raw_is_read_and_escaped():
    assert _read(_frame(b'["\xed\xa0\x80"]')) == ["\\ud800"]


def test_a_reader_waits_for_a_message_written_in_pieces_and_forever_if_told():
    from harness.wall.protocol import FOREVER
    arrays: list = []
    data = pack({"text": "y" * 60_000, "x": array_ref(np.arange(300_000.0), arrays)}, arrays)
    r, w = os.pipe()
    writer = threading.Thread(target=_write_slowly, args=(w, data))
    writer.start()
    try:
        got = Reader(r).read(FOREVER, 2_400_000)  # more than one read's 1 MiB
    finally:
        writer.join()
        os.close(r)
        os.close(w)
    assert got["text"] == "y" * 60_000
    np.testing.assert_array_equal(got["x"], np.arange(300_000.0))


def _write_slowly(fd: int, data: bytes) -> None:
    """Three bytes, a pause, then the rest (blocking)."""
    os.write(fd, data[:3])
    time.sleep(0.2)
    view = memoryview(data)[3:]
    while view:
        view = view[os.write(fd, view):]


def test_write_all_writes_everything_in_chunks_by_its_deadline():
    from harness.wall.protocol import write_all
    data = bytes(range(256)) * 20_000  # 5 MB: more than a pipe holds and than one chunk
    r, w = os.pipe()
    os.set_blocking(w, False)
    got = bytearray()

    def drain():
        while len(got) < len(data):
            got.extend(os.read(r, 1 << 16))
    reader = threading.Thread(target=drain)
    reader.start()
    try:
        write_all(w, data, time.monotonic() + 60)
        reader.join(60)
    finally:
        os.close(r)
        os.close(w)
    assert bytes(got) == data


def test_write_all_is_late_when_nobody_reads_and_closed_when_nobody_can():
    from harness.wall.protocol import write_all
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        write_all(w, b"", time.monotonic() - 1)  # nothing to write: nothing late
        with pytest.raises(Late):
            write_all(w, b"x", time.monotonic() - 1)
        assert select.select([r], [], [], 0)[0] == []  # nothing written after the deadline
        start = time.monotonic()
        with pytest.raises(Late):
            write_all(w, b"z" * (1 << 20), time.monotonic() + 0.3)  # a pipe holds 64 KiB
        assert time.monotonic() - start < 30
        os.close(r)
        r = None
        with pytest.raises(Closed, match="^closed$"):
            write_all(w, b"y" * 10, time.monotonic() + 5)
    finally:
        if r is not None:
            os.close(r)
        os.close(w)
