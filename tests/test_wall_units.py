"""The process wall's parts in this process (harness/wall/hook.py, messages.py, worker.py):
the reproducer() hook's answer read as plain data, outcomes and traces as protocol data and
back, and the worker's loop served from a file of tasks. tests/test_wall.py runs the same code
through real runs of the CLI (subprocesses, whose calls mutmut does not see)."""

from __future__ import annotations

import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import register
from harness import local_impls, registry
from harness.outcome import Outcome
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK
from harness.trace import LAYER_FIELDS
from harness.wall import hook, worker
from harness.wall.hook import HookFailed, answer, checked
from harness.wall.messages import CUT, outcome_doc, outcome_from, trace_from
from harness.wall.protocol import MAX_STRING, Closed, ProtocolError, Reader, clean, pack
from impls.reference_impl import ReferenceImpl

# a test here takes seconds at most: a mutant that makes one hang (a worker never waited
# for, a read that never ends) fails it after a minute rather than mutmut's minutes
pytestmark = pytest.mark.timeout(60)
SPEC = spec_from_dict({**SEED_NETWORK, "dtype": "float32", "steps": 2})


def _across(doc, arrays=(), max_bytes: int = 1 << 20):
    """`doc` and its arrays as the other side of the wall reads them."""
    with tempfile.TemporaryFile() as f:
        f.write(pack(doc, list(arrays)))
        f.seek(0)
        return Reader(f.fileno()).read(time.monotonic() + 5, max_bytes)


def _arrays(trace) -> list:
    """Every array of a trace, in a fixed order."""
    out = []
    for s in trace.steps:
        out += [s.loss, s.outputs] + [getattr(layer, q) for layer in s.layers
                                      for q in LAYER_FIELDS]
    return out + [p[q] for p in trace.params for q in ("weights", "bias")]


def _same_trace(got, want) -> None:
    assert (got.impl, got.impl_version, got.spec, got.dtype, got.settings) == \
        (want.impl, want.impl_version, want.spec, want.dtype, want.settings)
    assert len(got.steps) == len(want.steps) and len(got.params) == len(want.params)
    assert [len(s.layers) for s in got.steps] == [len(s.layers) for s in want.steps]
    for a, b in zip(_arrays(got), _arrays(want), strict=True):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(a, b)


class _Exits(str):
    """A string whose own formatting ends the test (an adapter's trick)."""

    def __str__(self):
        raise AssertionError("an adapter's __str__ was called")


# --------------------------------------------- hook.py: the reproducer() hook's answer

@pytest.mark.parametrize("got, made", [
    (None, None),
    ("", None),
    (" \n\t\n", None),
    ("\n\na\tb\n\nc \n\n", (None, ["a       b", "", "c "])),
    ("Xa\nbX", (None, ["Xa", "bX"])),  # only newlines are stripped
    (("api", "x"), ("api", ["x"])),
    (("  two\n words `q` ", "x"), ("two words 'q'", ["x"])),
    (("", "x"), (None, ["x"])),
    ((" \n", "x"), (None, ["x"])),
    (("a" * 201, "x"), ("a" * 200, ["x"])),
    (("a" * 200, "x"), ("a" * 200, ["x"])),
    (("api", "\n"), None),
])
def test_a_hooks_answer_as_lines(got, made):
    assert answer(got) == made


def test_a_hooks_strings_are_read_without_their_own_str():
    api, lines = answer((_Exits("api"), _Exits("line")))
    assert (api, lines) == ("api", ["line"]) and type(api) is str and type(lines[0]) is str
    api, lines = answer(_Exits("alone"))
    assert api is None and lines == ["alone"] and type(lines[0]) is str


@pytest.mark.parametrize("got, says", [
    ({"lines": "x"}, "returned dict, not lines (a str, or (api, str))"),
    (("api", "x", "y"), "returned tuple, not lines (a str, or (api, str))"),
    ((None, "x"), "returned tuple, not lines (a str, or (api, str))"),
    (("api", 3), "returned tuple, not lines (a str, or (api, str))"),
    (["api", "x"], "returned list, not lines (a str, or (api, str))"),
    (b"x", "returned bytes, not lines (a str, or (api, str))"),
])
def test_a_hooks_garbage_is_one_line(got, says):
    with pytest.raises(HookFailed) as info:
        answer(got)
    assert str(info.value) == says


@pytest.mark.parametrize("api, lines", [(3, ["x"]), (None, "x"), (None, ("x",)),
                                        (None, ["x", 3]), (b"api", ["x"])])
def test_a_workers_reply_that_is_not_lines_of_text_is_refused(api, lines):
    with pytest.raises(HookFailed, match="^answered what is not lines of text$"):
        checked(api, lines)


def test_a_hooks_lines_are_bounded_all_together():
    half = hook.MAX_CHARS // 2
    lines = ["x" * half, "y" * (hook.MAX_CHARS - half)]
    assert checked(None, lines) == (None, lines)
    with pytest.raises(HookFailed) as info:
        checked(None, lines + ["z"])
    assert str(info.value) == f"returned {hook.MAX_CHARS + 1} characters of lines (at most " \
                              f"{hook.MAX_CHARS})"
    with pytest.raises(HookFailed, match="characters of lines"):
        answer("x" * (hook.MAX_CHARS + 1))


def test_checked_keeps_the_lines_as_they_are():
    assert checked(None, [" ", "  x\t", ""]) == (None, [" ", "  x\t", ""])
    assert checked("a\tb", ["x"]) == ("a b", ["x"])
    assert checked(None, []) is None and checked("api", [" ", ""]) is None


# --------------------------------------------- messages.py: outcomes and traces as data

def test_an_outcome_crosses_the_wall_with_its_trace_whole():
    trace = ReferenceImpl().trace(SPEC)
    o = Outcome("reference", SPEC.name, "ok", trace, message="m", seconds=0.25, note="n")
    arrays: list = []
    doc = outcome_doc(o, arrays)
    assert len(arrays) == len(_arrays(trace))
    back = outcome_from(_across(doc, arrays), "other", "case", Outcome)
    assert (back.impl, back.case, back.status, back.message, back.seconds, back.note) == \
        ("other", "case", "ok", "m", 0.25, "n")
    _same_trace(back.trace, trace)
    assert all(isinstance(s.loss, np.float32) for s in back.trace.steps)  # a scalar, not 0-d


def test_a_retyped_array_goes_back_in_the_dtype_the_adapter_returned():
    trace = ReferenceImpl().trace(SPEC)
    trace.retyped = (((1, "v", 0), "float16"), ((None, "weights", 1), "float64"),
                     ((0, "loss", None), "float64"), ((1, "outputs", None), "float16"))
    arrays: list = []
    back = trace_from(_across(outcome_doc(Outcome("r", "c", "ok", trace), arrays),
                              arrays)["trace"])
    assert back.steps[1].layers[0].v.dtype == np.float16
    assert back.params[1]["weights"].dtype == np.float64
    assert np.asarray(back.steps[0].loss).dtype == np.float64
    assert back.steps[1].outputs.dtype == np.float16
    others = [back.steps[0].layers[0].v, back.steps[1].layers[1].v, back.steps[1].layers[0].d,
              back.params[0]["weights"], back.params[1]["bias"], back.steps[1].loss,
              back.steps[0].outputs]
    assert {np.asarray(a).dtype for a in others} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(back.steps[1].layers[0].v,
                                  trace.steps[1].layers[0].v.astype(np.float16))


def test_an_outcome_without_a_trace_is_its_plain_words():
    o = Outcome("x", "c", "error", message=_Exits("why\x1b[31m"), seconds=2, note=42)
    doc = outcome_doc(o, [])
    assert doc == {"status": "error", "message": "why\\x1b[31m", "seconds": 2.0, "note": "42",
                   "trace": None}
    assert type(doc["seconds"]) is float
    long = outcome_doc(Outcome("x", "c", "error", message="m" * MAX_STRING,
                               note="n" * (CUT + 1)), [])
    assert long["message"] == clean("m" * MAX_STRING, CUT)
    assert long["message"].endswith(f" [... {MAX_STRING - CUT} more characters cut]")
    assert long["note"] == "n" * CUT + " [... 1 more characters cut]"
    assert outcome_doc(Outcome("x", "c", "ok", note="n" * CUT), [])["note"] == "n" * CUT


def test_a_trace_that_names_no_retyped_arrays_crosses_as_it_is():
    """trace_stacked()'s trace is the adapter's object, unchecked in the worker: one without
    `retyped` (a duck-typed trace) is sent in its own dtypes."""
    trace = ReferenceImpl().trace(SPEC)
    duck = SimpleNamespace(**{k: getattr(trace, k) for k in (
        "impl", "impl_version", "spec", "dtype", "settings", "steps", "params")})
    arrays: list = []
    back = trace_from(_across(outcome_doc(Outcome("r", "c", "ok", duck), arrays),
                              arrays)["trace"])
    _same_trace(back, trace)


def test_a_traces_names_are_its_own_characters():
    trace = ReferenceImpl().trace(SPEC)
    trace.impl, trace.impl_version = _Exits("ref"), _Exits("1.0")
    trace.spec, trace.dtype = _Exits("case"), _Exits("float32")
    doc = outcome_doc(Outcome("r", "c", "ok", trace), [])["trace"]
    assert [doc[k] for k in ("impl", "impl_version", "spec", "dtype")] == \
        ["ref", "1.0", "case", "float32"]
    assert all(type(doc[k]) is str for k in ("impl", "impl_version", "spec", "dtype"))


def _doc():
    """A trace of SPEC as protocol data, across the wall."""
    arrays: list = []
    return _across(outcome_doc(Outcome("r", "c", "ok", ReferenceImpl().trace(SPEC)), arrays),
                   arrays)


@pytest.mark.parametrize("change, says", [
    (lambda d: d["trace"].pop("steps"), "a trace of the wrong form"),
    (lambda d: d["trace"].pop("params"), "a trace of the wrong form"),
    (lambda d: d["trace"].__setitem__("steps", 3), "a trace of the wrong form"),
    (lambda d: d["trace"].__setitem__("steps", [[1]]), "a trace of the wrong form"),
    (lambda d: d["trace"]["steps"][1].pop("outputs"), "a trace of the wrong form"),
    (lambda d: d["trace"]["steps"][0]["layers"][1].pop("grad_bias"),
     "a trace of the wrong form"),
    (lambda d: d["trace"]["params"][1].pop("bias"), "a trace of the wrong form"),
    (lambda d: d["trace"]["params"][0].pop("weights"), "a trace of the wrong form"),
    (lambda d: d["trace"]["steps"][0].__setitem__("loss", 0.5),
     "a quantity that is not an array"),
    (lambda d: d["trace"]["steps"][1]["layers"][0].__setitem__("d", [[1.0, 2.0]]),
     "a quantity that is not an array"),
    (lambda d: d["trace"]["params"][1].__setitem__("bias", None),
     "a quantity that is not an array"),
    (lambda d: d["trace"]["steps"][0].__setitem__("outputs", "x"),
     "a quantity that is not an array"),
    (lambda d: d["trace"]["params"][0].__setitem__("weights", 1),
     "a quantity that is not an array"),
    (lambda d: d["trace"].__setitem__("impl", 3), "impl is not a string"),
    (lambda d: d["trace"].pop("impl_version"), "impl_version is not a string"),
    (lambda d: d["trace"].__setitem__("spec", None), "spec is not a string"),
    (lambda d: d["trace"].__setitem__("dtype", ["float32"]), "dtype is not a string"),
    (lambda d: d.pop("trace"), "an ok outcome without a trace"),
    (lambda d: d.__setitem__("trace", []), "an ok outcome without a trace"),
    (lambda d: d.__setitem__("status", "pass"), "an outcome of the wrong form"),
    (lambda d: d.pop("status"), "an outcome of the wrong form"),
    (lambda d: d.__setitem__("message", None), "message is not a string"),
    (lambda d: d.pop("note"), "note is not a string"),
])
def test_an_outcome_of_the_wrong_form_is_a_protocol_error(change, says):
    doc = _doc()
    change(doc)
    with pytest.raises(ProtocolError) as info:
        outcome_from(doc, "r", "c", Outcome)
    assert str(info.value) == says


@pytest.mark.parametrize("doc", [None, [], "ok", 3])
def test_an_outcome_that_is_no_dict_is_a_protocol_error(doc):
    with pytest.raises(ProtocolError, match="^an outcome of the wrong form$"):
        outcome_from(doc, "r", "c", Outcome)


@pytest.mark.parametrize("seconds, read", [(1.5, 1.5), (2, 2.0), (0, 0.0), (-1.0, 0.0),
                                           ("3", 0.0), (None, 0.0), ([1], 0.0)])
def test_an_outcomes_seconds_are_a_number_not_below_zero(seconds, read):
    doc = {"status": "error", "message": "m", "note": "", "seconds": seconds}
    o = outcome_from(doc, "r", "c", Outcome)
    assert o.seconds == read and type(o.seconds) is float


@pytest.mark.parametrize("status", ["error", "unsupported"])
def test_only_an_ok_outcome_has_a_trace(status):
    doc = _doc()
    doc["status"] = status
    o = outcome_from(doc, "r", "c", Outcome)
    assert o.trace is None and o.status == status and o.message == ""


def test_a_traces_settings_cross_as_they_are():
    doc = _doc()
    doc["trace"]["settings"] = {"mode": "x", "n": [1, 2]}
    assert trace_from(doc["trace"]).settings == {"mode": "x", "n": [1, 2]}
    del doc["trace"]["settings"]
    assert trace_from(doc["trace"]).settings is None


# --------------------------------------------- worker.py: its loop, in this process

@pytest.fixture
def served(monkeypatch):
    """worker.main() run here: tasks written to its stdin (a file), its replies read from its
    stdout; what the loop changes in this process (the wall, sys.path, the caller's folder,
    SIGINT, the memory limit) put back afterwards. Yields serve(tasks) -> (replies, after),
    `after` what the loop left on its descriptors 0 and 1 and for SIGINT."""
    monkeypatch.setitem(registry._wall, "on", True)
    monkeypatch.setattr(local_impls, "CALLER_CWD", local_impls.CALLER_CWD)
    monkeypatch.setattr(sys, "path", list(sys.path))
    limits = []
    monkeypatch.setattr(resource, "setrlimit", lambda *args: limits.append(args))

    def serve(tasks, tail: bytes = b""):
        limits.clear()
        with tempfile.TemporaryFile() as tin, tempfile.TemporaryFile() as tout:
            for task in tasks:
                tin.write(pack(*task) if isinstance(task, tuple) else pack(task))
            tin.write(tail)
            tin.seek(0)
            saved = os.dup(0), os.dup(1)
            handler = signal.getsignal(signal.SIGINT)
            try:
                os.dup2(tin.fileno(), 0)
                os.dup2(tout.fileno(), 1)
                worker.main()
                after = SimpleNamespace(stdin=os.fstat(0), stdout=os.fstat(1),
                                        sigint=signal.getsignal(signal.SIGINT), limits=limits)
            finally:
                os.dup2(saved[0], 0)
                os.dup2(saved[1], 1)
                os.close(saved[0])
                os.close(saved[1])
                signal.signal(signal.SIGINT, handler)
            tout.seek(0)
            reader, replies = Reader(tout.fileno()), []
            while True:
                try:
                    replies.append(reader.read(time.monotonic() + 5, 1 << 24))
                except Closed:
                    return replies, after
    return serve


def _load(name="reference", **extra):
    return {"op": "load", "name": name, "path": [], "memory": 0, "cwd": "/nowhere", **extra}


def _outcomes(reply, names) -> list:
    return [outcome_from(d, "x", n, Outcome) for d, n in zip(reply["outcomes"], names,
                                                             strict=True)]


def test_the_worker_serves_its_implementation_until_told_to_stop(served):
    spec2 = spec_from_dict({**SEED_NETWORK, "name": "other", "dtype": "float64"})
    replies, after = served([_load(), {"op": "run", "specs": [SPEC.to_dict()], "many": False},
                             {"op": "run", "specs": [SPEC.to_dict(), spec2.to_dict()]},
                             {"op": "describe", "name": "numeric"},
                             {"op": "unsupported", "spec": SPEC.to_dict()},
                             {"op": "stop"}, {"op": "describe", "name": "exact"}])
    assert len(replies) == 5  # nothing after the stop
    loaded, one, two, other, unsupported = replies
    assert loaded["describe"] == worker.describe(registry.get("reference"))
    assert registry._wall["on"] is False and local_impls.CALLER_CWD == "/nowhere"
    ref = ReferenceImpl()
    (o,) = _outcomes(one, [SPEC.name])
    assert o.status == "ok" and o.seconds > 0
    _same_trace(o.trace, ref.trace(SPEC))
    both = _outcomes(two, [SPEC.name, "other"])
    _same_trace(both[0].trace, ref.trace(SPEC))
    _same_trace(both[1].trace, ref.trace(spec2))
    assert other["describe"]["name"] == "numeric" and other["describe"]["declines"] is True
    assert unsupported == {"reason": None}
    # its stdin is /dev/null, its stdout the log (stderr), Ctrl-C the run's alone
    assert (after.stdin.st_rdev, after.stdin.st_ino) == (os.stat(os.devnull).st_rdev,
                                                         os.stat(os.devnull).st_ino)
    err = os.fstat(2)
    assert (after.stdout.st_dev, after.stdout.st_ino) == (err.st_dev, err.st_ino)
    assert after.sigint == signal.SIG_IGN and after.limits == []


def test_the_worker_ends_when_the_run_closes_its_pipe_or_writes_garbage(served):
    replies, _ = served([_load()])
    assert list(replies[0]) == ["describe"]
    replies, _ = served([_load()], tail=b"\xff\xff\xff\x7fgarbage")
    assert len(replies) == 1


def test_the_worker_loads_with_the_runs_path_and_memory_limit(served, tmp_path):
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    present = sys.path[-1]
    replies, after = served([_load(path=[first, present, second], memory=2**40, cwd="/there")])
    assert "describe" in replies[0]
    assert sys.path[:2] == [first, second] and sys.path.count(present) == 1
    assert after.limits == [(resource.RLIMIT_AS, (2**40, 2**40))]
    assert local_impls.CALLER_CWD == "/there"
    _, after = served([{"op": "load", "name": "reference"}])
    assert after.limits == []


def test_an_implementation_the_worker_cannot_load_is_unavailable(served, tmp_path,
                                                                   monkeypatch):
    from plugins.planted import ENTRY_POINTS
    for _ in register(tmp_path, monkeypatch, ENTRY_POINTS):
        monkeypatch.setitem(registry._wall, "on", True)
        replies, _ = served([_load("broken-import"), {"op": "describe", "name": "broken-import"},
                             {"op": "run", "specs": [SPEC.to_dict()]}])
        reason = registry.get("broken-import").reason
        assert reason and replies[:2] == [{"unavailable": reason}] * 2
        assert replies[2] == {"failed": "AttributeError: 'NoneType' object has no attribute "
                                        "'name'"}
        break


def test_a_task_that_fails_is_answered_with_why(served):
    replies, _ = served([{"op": "run", "specs": [SPEC.to_dict()]}, _load(), {"op": "run"},
                         {"op": "unknown"}, {"op": "unsupported", "spec": {"name": "x"}},
                         {"op": "stop"}])
    assert replies[0] == {"failed": "AttributeError: 'NoneType' object has no attribute "
                                    "'name'"}  # nothing loaded yet
    assert replies[2:4] == [{"failed": "KeyError: 'specs'"}, {"failed": "KeyError: 'stack'"}]
    assert replies[4]["failed"].startswith("SpecError: ")


def test_the_worker_calls_the_adapters_hook(served, tmp_path, monkeypatch):
    for _ in register(tmp_path, monkeypatch, {"hook-elu": "hooked:Hooked"}):
        monkeypatch.setitem(registry._wall, "on", True)
        inputs = {"d": -0.5}
        replies, _ = served([_load("hook-elu"), {"op": "reproducer", "function": "elu",
                                                 "part": "f", "inputs": inputs,
                                                 "dtype": "float32"}])
        from hooked import Hooked
        api, lines = answer(Hooked().reproducer("elu", "f", inputs, "float32"))
        assert replies[1] == {"api": api, "lines": lines} and api == "planted.elu"
        assert lines[1] == "d = np.float32(-0.5)"
        break


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    from plugins.hostile import ENTRY_POINTS
    yield from register(tmp_path, monkeypatch, {**ENTRY_POINTS, "array-once": "hostile:ArrayOnce"})


def test_what_gets_past_the_runners_guards_is_the_cases_error(served, hostile):
    replies, _ = served([_load("raises-interrupt"),
                         {"op": "run", "specs": [SPEC.to_dict(), SPEC.to_dict()]}])
    outs = _outcomes(replies[1], [SPEC.name] * 2)
    assert [(o.status, o.trace) for o in outs] == [("error", None)] * 2
    from plugins.hostile import RaisesInterrupt
    line = _line_of(RaisesInterrupt, "raise KeyboardInterrupt")
    assert outs[0].message == f"raised KeyboardInterrupt:  (hostile.py:{line})"


def _line_of(cls, text: str) -> int:
    """The line of `text` in a class's source."""
    import inspect
    source, start = inspect.getsourcelines(cls)
    return start + next(k for k, line in enumerate(source) if text in line)


def test_a_trace_that_cannot_be_sent_back_is_its_cases_error(served, hostile):
    """array-once's float64 traces cannot be sent: the array that fails comes after others
    of its trace, which are dropped with it; the cases before and after it keep theirs."""
    wide = spec_from_dict({**SEED_NETWORK, "name": "wide", "dtype": "float64"})
    replies, _ = served([_load("array-once"), {"op": "run", "specs": [
        SPEC.to_dict(), wide.to_dict(), wide.to_dict(), SPEC.to_dict()]}])
    outs = _outcomes(replies[1], [SPEC.name, "wide", "wide", SPEC.name])
    why = "its trace cannot be sent back from the worker: ValueError: not numbers"
    assert [(o.status, o.message, o.trace) for o in outs[1:3]] == [("error", why, None)] * 2
    from plugins.hostile import ArrayOnce
    for o in (outs[0], outs[3]):
        assert o.status == "ok"
        _same_trace(o.trace, ArrayOnce().trace(SPEC))


def test_trace_many_in_the_worker(served, hostile):
    replies, _ = served([_load("many-broken"), {"op": "run", "specs": [SPEC.to_dict()] * 2,
                                                "many": True}])
    outs = _outcomes(replies[1], [SPEC.name] * 2)
    assert [(o.status, o.message) for o in outs] == \
        [("error", "malformed trace: trace() returned object, not a Trace")] * 2
    replies, _ = served([_load("reference"), {"op": "run", "specs": [SPEC.to_dict()],
                                              "many": True}])
    assert replies[1] == {"failed": "trace_many raised AttributeError: 'ReferenceImpl' object "
                                    "has no attribute 'trace_many'"}


def test_the_worker_traces_a_stack(served):
    from harness.batched.drawing import make_stack
    from harness.wall.protocol import array_ref
    stack = make_stack([2, 3, 2], 3, 2, "tanh", "squared_error", "float64", seed=5, chunk=0,
                       first_index=4)
    arrays: list = []
    doc = {"name": stack.name, "dtype": stack.dtype, "loss": stack.loss,
           "reduction": stack.reduction, "learning_rate": stack.learning_rate,
           "steps": stack.steps, "first_index": stack.first_index,
           "inputs": array_ref(stack.inputs, arrays), "targets": array_ref(stack.targets, arrays),
           "layers": [{"weights": array_ref(layer.weights, arrays),
                       "bias": array_ref(layer.bias, arrays), "activation": layer.activation,
                       "slope": layer.slope} for layer in stack.layers]}
    replies, _ = served([_load(), ({"op": "stacked", "stack": doc}, arrays)])
    (o,) = _outcomes(replies[1], [stack.name])
    assert o.status == "ok"
    _same_trace(o.trace, ReferenceImpl().trace_stacked(stack))


# --------------------------------------------- worker.py: its functions

class _Described(ReferenceImpl):
    """An adapter with every optional part the worker describes."""

    name = "described"
    accuracy = {"float64": 2.0}
    xfails = Path("/somewhere/xfails.txt")
    shared_with_reference = ("numpy", 3)
    preconditions = ("p",)
    mode, matmul_precision, precision = "eager", None, 3
    device = SimpleNamespace(platform="gpu")

    def unsupported(self, spec):
        return None

    def trace_many(self, specs):
        return []

    def reproducer(self, function, part, inputs, dtype):
        return None


class _Bare:
    """An adapter with nothing optional: not even settings()."""

    name = "bare"

    def version(self):
        return "0.1"


def test_describe_says_what_the_run_needs_of_an_adapter_as_plain_data():
    impl = _Described()
    got = worker.describe(SimpleNamespace(impl=impl, supports={"dtypes": ["float64"]}))
    assert got == {"name": "described", "version": impl.version(), "settings": impl.settings(),
                   "problem": None, "supports": {"dtypes": ["float64"]},
                   "accuracy": {"float64": 2.0}, "xfails": "/somewhere/xfails.txt",
                   "shared_with_reference": ["numpy", "3"], "preconditions": ["p"],
                   "declines": True, "many": True, "stacked": True, "reproducer": True,
                   "module": __name__,
                   "attrs": {"mode": "eager", "matmul_precision": None, "precision": 3,
                             "device": "gpu"}}
    assert worker.describe(SimpleNamespace(impl=_Bare(), supports={})) == {
        "name": "bare", "version": "0.1", "settings": {}, "problem": None, "supports": {},
        "accuracy": None, "xfails": None, "shared_with_reference": [], "preconditions": [],
        "declines": False, "many": False, "stacked": False, "reproducer": False,
        "module": __name__, "attrs": {}}


@pytest.mark.parametrize("value, plain", [(None, None), ("x", "x"), (3, 3), (2.5, 2.5),
                                          (True, True), (SimpleNamespace(platform="tpu"), "tpu"),
                                          (Path("/a"), "/a")])
def test_a_mode_attribute_as_plain_data(value, plain):
    got = worker._plain_attr(value)
    assert got == plain and type(got) is type(plain)


class _Hooked(ReferenceImpl):
    def __init__(self, got):
        super().__init__()
        self.got = got

    def reproducer(self, function, part, inputs, dtype):
        if isinstance(self.got, BaseException):
            raise self.got
        return self.got(function, part, inputs, dtype)


TASK = {"function": "elu", "part": "f", "inputs": {"d": 0.5}, "dtype": "float32"}


@pytest.mark.parametrize("got, reply", [
    (lambda *a: ("api", "|".join(map(str, a[:2])) + "\n" + repr(a[2]) + " " + a[3]),
     {"api": "api", "lines": ["elu|f", "{'d': 0.5} float32"]}),
    (lambda *a: "only lines", {"api": None, "lines": ["only lines"]}),
    (lambda *a: None, {"lines": None}),
    (lambda *a: " \n", {"lines": None}),
    (lambda *a: {"x": 1}, {"failed": "returned dict, not lines (a str, or (api, str))"}),
    (SystemExit(3), {"failed": "called sys.exit(3) (test_wall_units.py:{line})"}),
])
def test_the_hook_is_called_in_the_worker_and_read_as_data(got, reply):
    info = SimpleNamespace(impl=_Hooked(got))
    if "failed" in reply:
        reply = {"failed": reply["failed"].format(line=_line_of(_Hooked, "raise self.got"))}
    assert worker._reproducer(info, dict(TASK)) == reply


def test_unsupported_in_the_worker_reads_the_reason_as_data():
    class Declines(ReferenceImpl):
        def unsupported(self, spec):
            return self.reason

    impl = Declines()
    info = SimpleNamespace(impl=impl, supports={}, name="d")
    for reason, read in ((None, None), (_Exits("too wide"), "too wide"), (42, "42")):
        impl.reason = reason
        got = worker._unsupported(info, {"spec": SPEC.to_dict()})
        assert got == {"reason": read} and type(got["reason"]) is type(read)
    info.supports = {"dtypes": ["float64"]}
    assert worker._unsupported(info, {"spec": SPEC.to_dict()}) == \
        {"reason": "dtype float32 not supported by d"}


def test_send_writes_one_whole_frame(tmp_path):
    r, w = os.pipe()
    try:
        worker._send(w, {"a": {"@array": 0, "dtype": "int8", "shape": [2]}},
                     [np.array([1, 2], dtype=np.int8)])
        os.close(w)
        w = None
        got = Reader(r).read(time.monotonic() + 5, 2)
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
    assert got["a"].tolist() == [1, 2]


class _Refuses:
    """A finder that refuses to import ml_dtypes, noting each time it is asked."""

    def __init__(self):
        self.asked = 0

    def find_spec(self, name, path=None, target=None):
        if name == "ml_dtypes":
            self.asked += 1
            raise ImportError("refused")
        return None


@pytest.mark.parametrize("supports, imported", [({}, True), ({"dtypes": ["bfloat16"]}, True),
                                                ({"dtypes": ["float64", "float32"]}, False),
                                                ({"losses": ["mse"]}, True)])
def test_the_worker_imports_ml_dtypes_ahead_only_where_bfloat16_may_come(monkeypatch, supports,
                                                                         imported):
    finder = _Refuses()
    monkeypatch.delitem(sys.modules, "ml_dtypes", raising=False)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    worker._warm(SimpleNamespace(supports=supports))  # a missing ml_dtypes is no failure
    assert finder.asked == int(imported)
