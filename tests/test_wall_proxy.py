"""The run's side of the wall (harness/wall/proxy.py, walled.py) in this process: a Worker
against small stand-in worker programs (each does one thing: answers, exits, dies, hangs,
babbles, closes its pipe), and a WalledImpl against a stand-in Worker that answers with what
a real worker would. tests/test_wall.py runs them against the real worker and hostile
adapters, through the CLI."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np
import pytest

from harness import registry
from harness.errors import Unsupported
from harness.outcome import ManyFailed, Outcome
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK
from harness.wall import hook, proxy, walled, worker
from harness.wall.hook import HookFailed
from harness.wall.messages import outcome_doc
from harness.wall.protocol import ProtocolError, Reader, pack
from harness.wall.proxy import Worker, WorkerLate, WorkerLost
from harness.wall.walled import WalledImpl
from impls.reference_impl import ReferenceImpl

# a test here takes seconds at most: a mutant that makes one hang (a worker never waited
# for, a read that never ends) fails it after a minute rather than mutmut's minutes
pytestmark = pytest.mark.timeout(60)
SPEC = spec_from_dict({**SEED_NETWORK, "dtype": "float32", "steps": 2})
SPEC64 = spec_from_dict({**SEED_NETWORK, "name": "wide", "dtype": "float64"})

# A stand-in for harness/wall/worker.py, with the standard library only: the load task's
# name says what it does.
STAND_IN = r'''
import json, os, signal, struct, subprocess, sys, time

def read():
    head = sys.stdin.buffer.read(8)
    if len(head) < 8:
        sys.exit(0)
    size, count = struct.unpack("<II", head)
    doc = json.loads(sys.stdin.buffer.read(size))
    sizes = []
    for _ in range(count):
        (n,) = struct.unpack("<Q", sys.stdin.buffer.read(8))
        sizes.append(len(sys.stdin.buffer.read(n)))
    return doc, sizes

def send(doc, data=None):
    if data is not None:
        doc["a"] = {"@array": 0, "dtype": "int8", "shape": [len(data)]}
    body = json.dumps(doc).encode()
    out = struct.pack("<II", len(body), 0 if data is None else 1) + body
    if data is not None:
        out += struct.pack("<Q", len(data)) + data
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()

def last_words(*lines):
    sys.stderr.buffer.write(b"\n".join(lines))
    sys.stderr.flush()

load, _ = read()
how = load["name"]
if how == "echo":
    send({"describe": load, "pythonpath": os.environ.get("PYTHONPATH"), "cwd": os.getcwd(),
          "mark": os.environ.get("BH_WALL_TEST"),
          "session": os.getsid(0) == os.getpid(), "argv0": sys.argv[0]})
    while True:
        task, sizes = read()
        if task.get("op") == "stop":
            sys.exit(0)
        send({"echo": task, "sizes": sizes}, b"\1" * task.get("bytes", 0))
elif how == "exits":
    last_words(b"first", b"x" * 5000, b"its last words \x1b[31m \xff", b"  ", b"")
    sys.exit(3)
elif how == "exits-long":
    last_words(b"a" * 500 + b"y" * 1000)
    sys.exit(1)
elif how == "exits-silently":
    sys.exit(0)
elif how == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
elif how == "signal-40":
    os.kill(os.getpid(), 40)
elif how == "babbles":
    sys.stdout.buffer.write(b"\xff\xff\xff\x7fgarbage")
    sys.stdout.buffer.flush()
elif how == "closes":
    os.close(1)
elif how == "deaf":
    send({"describe": {}})
    read()
elif how == "group":
    child = subprocess.Popen(["sleep", "3600"])
    send({"describe": {"child": child.pid}})
time.sleep(3600)
'''


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """proxy.ROOT a folder whose harness/wall/worker.py is STAND_IN; workers' folders made
    under tmp_path/tmp."""
    root = tmp_path / "root"
    (root / "harness" / "wall").mkdir(parents=True)
    (root / "harness" / "__init__.py").write_text("")
    (root / "harness" / "wall" / "__init__.py").write_text("")
    (root / "harness" / "wall" / "worker.py").write_text(STAND_IN)
    monkeypatch.setattr(proxy, "ROOT", str(root))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    workers = []

    def start(name, **kw):
        workers.append(Worker(name, **kw))
        return workers[-1]
    yield SimpleNamespace(root=str(root), tmp=tmp_path / "tmp", start=start)
    for w in workers:  # by hand, not by w.kill(): the code under test may be wrong
        if w.proc.poll() is None:
            os.killpg(w.proc.pid, signal.SIGKILL)
            w.proc.wait()


# --------------------------------------------- proxy.py: a worker process, bounded

def test_a_worker_starts_alone_in_its_folder_and_session_and_is_told_what_to_load(
        stand_in, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setenv("BH_WALL_TEST", "passed on")
    w = stand_in.start("echo@some-env")
    reply = w.call(None, 20, sent=True)
    assert reply["describe"] == {"op": "load", "name": "echo", "memory": proxy.MEMORY,
                                 "cwd": os.getcwd(),
                                 "path": [os.path.abspath(p) for p in sys.path if p]}
    assert reply["pythonpath"] == stand_in.root and reply["mark"] == "passed on"
    assert reply["session"] is True
    assert reply["cwd"] == w.folder and os.path.dirname(w.folder) == str(stand_in.tmp)
    assert os.path.basename(w.folder).startswith("bh-worker-")
    assert reply["argv0"] == os.path.join(stand_in.root, "harness", "wall", "worker.py")
    assert w.log_path == os.path.join(w.folder, "worker.log") and os.path.isfile(w.log_path)
    assert (w.name, w.python) == ("echo@some-env", sys.executable)
    assert os.get_blocking(w.out) is False
    assert stand_in.start("echo", memory=0).call(None, 20, sent=True)["describe"]["memory"] == 0
    assert stand_in.start("echo", memory=5).call(None, 20, sent=True)["describe"]["memory"] == 5


def test_another_python_is_told_no_path(stand_in, tmp_path):
    python = tmp_path / "python"
    python.symlink_to(sys.executable)
    w = stand_in.start("echo", python=str(python))
    assert w.call(None, 20, sent=True)["describe"]["path"] == []


def test_a_python_that_cannot_start_is_one_line_and_leaves_no_folder(stand_in):
    with pytest.raises(WorkerLost) as info:
        Worker("echo", "/nonexistent/python")
    assert str(info.value) == "cannot start /nonexistent/python: No such file or directory"
    assert list(stand_in.tmp.iterdir()) == []


def test_calls_and_their_arrays_and_bounds(stand_in):
    w = stand_in.start("echo")
    w.call(None, 20, sent=True)
    w.sent -= 100  # a load long ago: a call's bound counts from the call
    got = w.call({"op": "x", "bytes": 3}, 30, arrays=[np.zeros(2), np.zeros(3, np.int8)])
    assert got["echo"] == {"op": "x", "bytes": 3} and got["sizes"] == [16, 3]
    assert got["a"].tolist() == [1, 1, 1]
    assert w.call({"op": "y", "bytes": 1 << 20}, 30)["a"].size == 1 << 20  # the default bound
    assert w.call({"op": "z", "bytes": 5}, 30, 5)["a"].size == 5
    with pytest.raises(WorkerLost) as info:
        w.call({"op": "z", "bytes": 6}, 30, 5)
    assert str(info.value) == "its worker wrote what is not a message of the protocol " \
                              "(arrays larger than the spec's shapes allow)"
    assert w.proc.poll() is not None and not os.path.exists(w.folder)  # killed
    w = stand_in.start("echo")
    w.call(None, 20, sent=True)
    with pytest.raises(WorkerLost, match=r"\(arrays larger"):
        w.call({"op": "y", "bytes": (1 << 20) + 1}, 30)


def test_the_load_is_bounded_from_when_it_was_sent(stand_in):
    w = stand_in.start("echo")
    time.sleep(0.3)
    with pytest.raises(WorkerLate):  # its answer is there, but after its bound
        w.call(None, 0.1, sent=True)


def test_a_worker_that_hangs_is_killed_at_the_bound(stand_in):
    w = stand_in.start("deaf")
    w.call(None, 20, sent=True)
    with pytest.raises(WorkerLate) as info:
        w.call({"op": "run"}, 0.5)
    assert str(info.value) == "timed out after 0.5 s"
    assert w.proc.returncode == -signal.SIGKILL and not os.path.exists(w.folder)


@pytest.mark.parametrize("name, says", [
    ("exits", "its worker process exited with code 3; its last words: its last words "
              "\\x1b[31m \ufffd"),
    ("exits-long", "its worker process exited with code 1; its last words: " + "a" * 200
     + "y" * 100 + " [... 900 more characters cut]"),  # the log's last 1200 bytes read
    ("exits-silently", "its worker process exited with code 0"),
    ("killed", "its worker process was killed by SIGKILL"),
    ("signal-40", "its worker process was killed by signal 40"),
])
def test_a_worker_that_dies_is_said_in_one_line(stand_in, name, says):
    w = stand_in.start(name)
    with pytest.raises(WorkerLost) as info:
        w.call(None, 20, sent=True)
    assert str(info.value) == says and type(info.value) is WorkerLost
    assert not os.path.exists(w.folder) and w.proc.stdin.closed and w.proc.stdout.closed


def test_a_task_sent_to_a_worker_that_has_exited_is_answered_by_its_death(stand_in):
    w = stand_in.start("exits-silently")
    w.proc.wait(60)
    with pytest.raises(WorkerLost, match="^its worker process exited with code 0$"):
        w.call({"op": "run"}, 30)


def test_a_worker_that_babbles_is_killed(stand_in):
    w = stand_in.start("babbles")
    with pytest.raises(WorkerLost) as info:
        w.call(None, 20, sent=True)
    assert str(info.value) == "its worker wrote what is not a message of the protocol (a " \
                              "message of 2147483647 bytes (at most 8388608))"
    assert w.proc.returncode == -signal.SIGKILL


def test_a_worker_that_closes_its_pipe_and_lives_on_is_killed(stand_in):
    w = stand_in.start("closes")
    with pytest.raises(WorkerLost) as info:
        w.call(None, 20, sent=True)
    assert str(info.value) == "its worker closed its pipe"
    assert w.proc.returncode == -signal.SIGKILL and not os.path.exists(w.folder)


def test_stop_asks_then_kills_and_removes_the_folder(stand_in):
    w = stand_in.start("echo")
    w.call(None, 20, sent=True)
    w.stop()
    assert w.proc.returncode == 0 and not os.path.exists(w.folder)
    assert w.proc.stdin.closed and w.proc.stdout.closed
    assert w._last_words() == ""  # its log went with its folder
    deaf = stand_in.start("deaf")
    deaf.call(None, 20, sent=True)
    deaf.stop()
    assert deaf.proc.returncode == -signal.SIGKILL and not os.path.exists(deaf.folder)
    deaf.stop()
    deaf.kill()  # again: nothing left to stop


def _gone(pid: int) -> bool:
    """Whether a process has ended (a zombie counts: it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_kill_ends_what_the_worker_started_too(stand_in):
    w = stand_in.start("group")
    child = w.call(None, 20, sent=True)["describe"]["child"]
    assert not _gone(child)
    w.kill()
    assert w.proc.returncode == -signal.SIGKILL and not os.path.exists(w.folder)
    deadline = time.monotonic() + 60
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)


# --------------------------------------------- walled.py: the adapter's stand-in in the run

class FakeWorker:
    """Stands for a worker: answers each call with the next of `answers` (an exception is
    raised), recording each call; `alive` is what proc.poll() says."""

    def __init__(self, *answers, alive=True):
        self.answers, self.calls, self.stopped, self.killed = list(answers), [], 0, 0
        self.proc = SimpleNamespace(poll=lambda: None if alive else 1)

    def call(self, doc, seconds, max_bytes=1 << 20, sent=False, arrays=()):
        self.calls.append(SimpleNamespace(doc=doc, seconds=seconds, max_bytes=max_bytes,
                                          sent=sent, arrays=list(arrays)))
        got = self.answers.pop(0)
        if isinstance(got, BaseException):
            raise got
        return got

    def stop(self):
        self.stopped += 1

    def kill(self):
        self.killed += 1


def _across(doc, arrays=()):
    with tempfile.TemporaryFile() as f:
        f.write(pack(doc, list(arrays)))
        f.seek(0)
        return Reader(f.fileno()).read(time.monotonic() + 5, 1 << 24)


def described(**changes) -> dict:
    """What a worker says of the reference adapter at load, with `changes`."""
    return {**_across(worker.describe(registry.get("reference"))), **changes}


@pytest.fixture
def workers(monkeypatch):
    """walled.Worker replaced: each Worker(name, python) is the next of `queue`, recorded."""
    made = SimpleNamespace(queue=[], started=[])

    def start(name, python):
        made.started.append((name, python))
        got = made.queue.pop(0)
        if isinstance(got, BaseException):
            raise got
        return got
    monkeypatch.setattr(walled, "Worker", start)
    monkeypatch.setattr(walled, "_starting", {})
    return made


def _impl(doc=None, *answers, name="ref"):
    w = FakeWorker(*answers)
    return WalledImpl(name, "/py", described() if doc is None else doc, w), w


def test_load_reads_the_description_and_keeps_the_worker(workers):
    w = FakeWorker({"describe": described()})
    workers.queue.append(w)
    impl, why = walled.load("ref@env", "/py", timeout=500)
    assert why == "" and impl.worker is w and workers.started == [("ref@env", "/py")]
    assert (w.calls[0].doc, w.calls[0].seconds, w.calls[0].sent) == (None, 500, True)
    ref = ReferenceImpl()
    assert (impl.name, impl.python, impl.version(), impl.settings()) == \
        ("ref@env", "/py", ref.version(), ref.settings())
    assert impl.walled is True and impl.adapter_module == "impls.reference_impl"
    w = FakeWorker({"describe": described()})
    workers.queue.append(w)
    walled.load("ref", "/py")
    assert w.calls[0].seconds == walled.LOAD_TIMEOUT


def test_a_worker_started_early_is_the_one_loaded(workers):
    early = FakeWorker({"describe": described()})
    workers.queue += [early, FakeWorker()]
    walled.start("ref", "/py")
    walled.start("ref", "/py")  # once
    assert workers.started == [("ref", "/py")] and walled._starting == {("ref", "/py"): early}
    impl, _ = walled.load("ref", "/py")
    assert impl.worker is early and walled._starting == {}
    workers.queue[:] = [WorkerLost("no python"), FakeWorker(), FakeWorker()]
    walled.start("a", "/py")  # it says why at load
    assert walled._starting == {}
    walled.start("b", "/py")
    walled.start("c", "/py")
    b, c = walled._starting[("b", "/py")], walled._starting[("c", "/py")]
    walled.drop_started()
    assert walled._starting == {} and (b.killed, c.killed) == (1, 1)


@pytest.mark.parametrize("reply, why, stopped", [
    ({"unavailable": "needs torch"}, "needs torch", 1),
    ({"failed": "ImportError: x"}, "its worker failed to load it: ImportError: x", 1),
    ({}, "its worker failed to load it: None", 1),
    ({"describe": described(supports=["float64"])},
     "its worker described it wrongly: supports is list, expected a dict", 1),
    ({"describe": {"settings": {}}}, "its worker described it wrongly: 'version'", 1),
    ({"describe": described(version=None, problem=None, supports=None)}, "", 0),
])
def test_a_load_that_gives_no_implementation_says_why(workers, reply, why, stopped):
    w = FakeWorker(reply)
    workers.queue.append(w)
    impl, said = walled.load("ref", "/py")
    assert said == why and (impl is None) == bool(why) and w.stopped == stopped


@pytest.mark.parametrize("lost", [WorkerLost("its worker process exited with code 1"),
                                  WorkerLate("timed out after 60 s")])
def test_a_worker_lost_while_loading_is_one_line(workers, lost):
    workers.queue.append(FakeWorker(lost))
    assert walled.load("ref", "/py") == (None, f"its worker did not load it: {lost}")
    workers.queue.append(lost)
    assert walled.load("ref", "/py") == (None, f"its worker did not load it: {lost}")


def test_what_the_worker_says_is_checked_again():
    impl, _ = _impl(described(version=3))
    assert impl.metadata == ("", {}, "version is int, expected a string")
    impl, _ = _impl(described(problem="its version() raised", version="1"))
    assert impl.metadata == ("", {}, "its version() raised")
    impl, _ = _impl(described(settings={"a": object}))
    assert impl.metadata[:2] == ("", {}) and "not plain data" in impl.metadata[2]
    impl, _ = _impl(described(accuracy={"float32": 4.0}, xfails="/x.txt", attrs={"mode": "m"},
                              shared_with_reference=["a", 3, "b"], module="pkg.mod"))
    assert (impl.accuracy, impl.xfails, impl.attrs, impl.shared_with_reference,
            impl.adapter_module) == ({"float32": 4.0}, "/x.txt", {"mode": "m"}, ("a", "b"),
                                     "pkg.mod")
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    impl, _ = _impl(described(accuracy=deep, xfails=3, attrs=deep))
    assert (impl.accuracy, impl.xfails, impl.attrs) == (None, None, {})
    doc = described(accuracy=[1], attrs=["mode"])
    for key in ("shared_with_reference", "module", "preconditions"):
        del doc[key]
    impl, _ = _impl(doc)
    assert (impl.accuracy, impl.attrs, impl.shared_with_reference, impl.adapter_module,
            impl.preconditions) == (None, {}, (), "", ())
    p = {"loss": "softmax_cross_entropy", "targets": "one-hot"}
    assert _impl(described(preconditions=[p]))[0].preconditions == (p,)
    with pytest.raises(ProtocolError, match="expected the keys loss, targets and url"):
        _impl(described(preconditions=[{"loss": "x"}]))


def test_the_adapters_optional_methods_are_there_when_it_has_them():
    optional = ("unsupported", "trace_many", "trace_stacked", "reproducer")
    bare, _ = _impl(described(declines=False, many=False, stacked=False, reproducer=False))
    assert [hasattr(bare, m) for m in optional] == [False] * 4
    full, _ = _impl(described(declines=1, many=True, stacked=True, reproducer=True))
    assert [getattr(full, m).__self__ is full for m in optional] == [True] * 4
    twin = full.copy()
    assert twin.worker is None and twin.lock is not full.lock and twin.name == full.name
    assert [getattr(twin, m).__self__ is twin for m in optional] == [True] * 4
    assert (twin.metadata, twin.supports) == (full.metadata, full.supports)
    assert full.worker is not None


def test_close_stops_the_worker_once():
    impl, w = _impl()
    impl.close()
    impl.close()
    assert w.stopped == 1 and impl.worker is None


def test_describe_asks_this_worker_for_another_mode():
    impl, w = _impl(None, {"describe": described(name="numeric")},
                    {"unavailable": "no such mode"}, WorkerLost("its worker process exited"))
    other, why = impl.describe("numeric@env")
    assert why == "" and other.worker is None and other.python == "/py"
    assert other.name == "numeric@env" and w.stopped == 0
    assert (w.calls[0].doc, w.calls[0].seconds, w.calls[0].max_bytes) == \
        ({"op": "describe", "name": "numeric"}, walled.LOAD_TIMEOUT, 0)
    assert impl.describe("x") == (None, "no such mode")
    assert w.calls[1].doc == {"op": "describe", "name": "x"}
    assert impl.describe("y") == (None, "its worker did not load it: its worker process exited")


def _outcome_reply(*specs, trace=None):
    arrays: list = []
    docs = [outcome_doc(Outcome("r", s.name, "ok", trace or ReferenceImpl().trace(s),
                                seconds=0.5), arrays) for s in specs]
    return _across({"outcomes": docs}, arrays)


def test_run_one_sends_the_spec_and_reads_its_trace(workers):
    impl, w = _impl(described(supports={"dtypes": ["float64"]}), _outcome_reply(SPEC64),
                    _outcome_reply(SPEC64))
    o = impl.run_one(SPEC64)
    assert (o.impl, o.case, o.status, o.seconds) == ("ref", "wide", "ok", 0.5)
    np.testing.assert_array_equal(o.trace.steps[0].outputs,
                                  ReferenceImpl().trace(SPEC64).steps[0].outputs)
    call = w.calls[0]
    assert call.doc == {"op": "run", "specs": [SPEC64.to_dict()], "many": False}
    assert (call.seconds, call.max_bytes) == (walled.DEFAULT_TIMEOUT, walled.trace_bytes(SPEC64))
    assert impl.run_one(SPEC64, timeout=7).status == "ok" and w.calls[1].seconds == 7
    o = impl.run_one(SPEC)  # float32: outside its supports, decided here
    assert (o.impl, o.case, o.status, o.message) == \
        ("ref", SPEC.name, "unsupported", "dtype float32 not supported by ref")
    assert len(w.calls) == 2


def test_run_many_sends_only_what_its_supports_allow_in_order(workers):
    reply = _outcome_reply(SPEC64, SPEC64)
    impl, w = _impl(described(supports={"dtypes": ["float64"]}), reply)
    other = spec_from_dict({**SEED_NETWORK, "name": "other", "dtype": "float64"})
    outs = impl.run_many([SPEC, SPEC64, SPEC, other], timeout=9)
    assert [(o.case, o.status) for o in outs] == [
        (SPEC.name, "unsupported"), ("wide", "ok"), (SPEC.name, "unsupported"), ("other", "ok")]
    call = w.calls[0]
    assert call.doc == {"op": "run", "specs": [SPEC64.to_dict(), other.to_dict()], "many": True}
    assert (call.seconds, call.max_bytes) == (9, 2 * walled.trace_bytes(SPEC64))
    impl, w = _impl(None, reply)
    impl.run_many([SPEC64, other])
    assert w.calls[0].seconds == walled.DEFAULT_TIMEOUT


def test_a_trace_that_does_not_fit_the_spec_is_its_cases_error():
    wrong = ReferenceImpl().trace(SPEC64)
    wrong.steps[0].layers[0].v = wrong.steps[0].layers[0].v[:, :1]
    impl, _ = _impl(None, _outcome_reply(SPEC64, trace=wrong))
    o = impl.run_one(SPEC64)
    assert (o.impl, o.case, o.status, o.trace, o.seconds) == ("ref", "wide", "error", None, 0.5)
    assert o.message == "malformed trace: step 0 v[layer 0]: shape (1, 1), expected (1, 2)"


@pytest.mark.parametrize("answer, says", [
    ({"failed": "trace_many raised X"}, "trace_many raised X"),
    ({"outcomes": []}, "the wrong number of outcomes"),
    ({"outcomes": {"a": 1}}, "the wrong number of outcomes"),
    ({}, "the wrong number of outcomes"),
    (WorkerLost("its worker process exited with code 1"),
     "its worker process exited with code 1"),
    (WorkerLate("timed out after 300 s"), "timed out after 300 s"),
    (ProtocolError("an outcome of the wrong form"), "an outcome of the wrong form"),
])
def test_run_one_never_raises(answer, says, monkeypatch):
    clock = iter([10.0, 12.5])
    monkeypatch.setattr(walled, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    impl, _ = _impl(None, answer)
    o = impl.run_one(SPEC64)
    assert (o.impl, o.case, o.status, o.message, o.trace, o.seconds) == \
        ("ref", "wide", "error", says, None, 2.5)


@pytest.mark.parametrize("answer, says", [
    ({"failed": "trace_many raised X"}, "trace_many raised X"),
    (WorkerLate("timed out after 9 s"), "trace_many did not return within 9 s"),
    (WorkerLost("its worker process exited with code 1"),
     "trace_many its worker process exited with code 1"),
    ({"outcomes": []}, "trace_many: the wrong number of outcomes"),
])
def test_run_many_fails_in_one_line(answer, says):
    impl, _ = _impl(None, answer)
    with pytest.raises(ManyFailed) as info:
        impl.run_many([SPEC64], timeout=9)
    assert str(info.value) == says
    impl, _ = _impl(None, WorkerLate("x"))
    with pytest.raises(ManyFailed, match="^trace_many did not return within 300 s$"):
        impl.run_many([SPEC64])


def test_a_lost_worker_is_started_again_at_the_next_call(workers):
    impl, w = _impl(None, WorkerLost("its worker process exited with code 1"))
    assert impl.run_one(SPEC64).status == "error" and impl.worker is None and w.stopped == 0
    fresh = FakeWorker({"describe": described()}, _outcome_reply(SPEC64))
    workers.queue.append(fresh)
    assert impl.run_one(SPEC64, timeout=5).status == "ok" and impl.worker is fresh
    assert workers.started == [("ref", "/py")]
    assert [(c.doc, c.seconds, c.sent) for c in fresh.calls] == \
        [(None, walled.LOAD_TIMEOUT, True), (fresh.calls[1].doc, 5, False)]
    impl.worker = dead = FakeWorker(alive=False)
    workers.queue.append(FakeWorker({"describe": described()}, _outcome_reply(SPEC64)))
    assert impl.run_one(SPEC64, timeout=500).status == "ok"
    assert dead.stopped == 1 and impl.worker.calls[0].seconds == 500
    impl.worker = FakeWorker(alive=False)
    refused = FakeWorker({"unavailable": "gone"})
    workers.queue.append(refused)
    o = impl.run_one(SPEC64)
    assert (o.status, o.message) == ("error", "its worker did not load it again")
    assert refused.stopped == 1 and impl.worker is None


def test_trace_gives_the_trace_or_raises_with_the_workers_line(workers):
    impl, _ = _impl(None, _outcome_reply(SPEC64), WorkerLost("its worker closed its pipe"))
    workers.queue.append(FakeWorker({"describe": described()}, _across(
        {"outcomes": [{"status": "unsupported", "message": "no f16", "note": ""}]})))
    np.testing.assert_array_equal(impl.trace(SPEC64).params[1]["bias"],
                                  ReferenceImpl().trace(SPEC64).params[1]["bias"])
    with pytest.raises(RuntimeError, match="^its worker closed its pipe$"):
        impl.trace(SPEC64)
    with pytest.raises(Unsupported, match="^no f16$"):
        impl.trace(SPEC64)


def test_trace_many_through_the_worker():
    impl, _ = _impl(described(many=True), _outcome_reply(SPEC64, SPEC64),
                    _across({"outcomes": [{"status": "error", "message": "bad", "note": ""}]}))
    traces = impl.trace_many([SPEC64, SPEC64])
    assert len(traces) == 2 and traces[1].spec == "wide"
    with pytest.raises(RuntimeError, match="^bad$"):
        impl.trace_many([SPEC64])


@pytest.mark.parametrize("answer, says", [
    ({"reason": "too wide"}, "too wide"),
    ({"reason": None}, None),
    ({"reason": 3, "failed": "TypeError: x"}, "its unsupported() failed: TypeError: x"),
    (WorkerLost("its worker process exited with code 0"),
     "its unsupported() failed: its worker process exited with code 0"),
    (ProtocolError("garbage"), "its unsupported() failed: garbage"),
])
def test_unsupported_through_the_worker(answer, says):
    impl, w = _impl(described(declines=True), answer)
    assert impl.unsupported(SPEC) == says
    assert (w.calls[0].doc, w.calls[0].seconds, w.calls[0].max_bytes) == \
        ({"op": "unsupported", "spec": SPEC.to_dict()}, walled.LOAD_TIMEOUT, 0)


@pytest.mark.parametrize("answer, made", [
    ({"api": "planted.elu `x`", "lines": ["a", "b"]}, ("planted.elu 'x'", ["a", "b"])),
    ({"lines": None}, None),
    ({"api": None, "lines": [" "]}, None),
])
def test_the_reproducer_hook_through_the_worker(answer, made):
    impl, w = _impl(described(reproducer=True), answer)
    assert impl.reproducer("elu", "f", {"d": 0.5}, "float32") == made
    assert (w.calls[0].doc, w.calls[0].seconds, w.calls[0].max_bytes) == (
        {"op": "reproducer", "function": "elu", "part": "f", "inputs": {"d": 0.5},
         "dtype": "float32"}, hook.TIMEOUT, 0)


@pytest.mark.parametrize("answer, says", [
    ({"failed": "timed out after 10 s"}, "timed out after 10 s"),
    ({"api": None, "lines": "x"}, "answered what is not lines of text"),
    (WorkerLate("timed out after 10 s"), "timed out after 10 s"),
    (ProtocolError("garbage"), "garbage"),
])
def test_a_hook_that_fails_through_the_worker_is_one_line(answer, says):
    impl, _ = _impl(described(reproducer=True), answer)
    with pytest.raises(HookFailed) as info:
        impl.reproducer("elu", "f", {"d": 0.5}, "float32")
    assert str(info.value) == says


def _stack():
    from harness.batched.drawing import make_stack
    return make_stack([2, 3, 2], 3, 2, "tanh", "squared_error", "float64", seed=5, chunk=0,
                      first_index=4)


def test_a_stack_crosses_to_the_worker_and_its_trace_back():
    stack = _stack()
    trace = ReferenceImpl().trace_stacked(stack)
    arrays: list = []
    reply = _across({"outcomes": [outcome_doc(Outcome("r", stack.name, "ok", trace), arrays)]},
                    arrays)
    impl, w = _impl(described(stacked=True), reply, {"failed": "ValueError: no"},
                    WorkerLost("its worker process exited with code 1"))
    got = impl.trace_stacked(stack)
    np.testing.assert_array_equal(got.steps[0].layers[1].grad_weights,
                                  trace.steps[0].layers[1].grad_weights)
    call = w.calls[0]
    assert (call.doc["op"], call.seconds, call.max_bytes) == \
        ("stacked", walled.DEFAULT_TIMEOUT, 3 * walled.trace_bytes(stack.spec(0)))
    sent = _across({"op": "stacked", "stack": call.doc["stack"]}, call.arrays)["stack"]
    assert {k: sent[k] for k in ("name", "dtype", "loss", "reduction", "learning_rate",
                                 "steps", "first_index")} == \
        {"name": stack.name, "dtype": "float64", "loss": "squared_error", "reduction": "sum",
         "learning_rate": stack.learning_rate, "steps": stack.steps, "first_index": 4}
    np.testing.assert_array_equal(sent["inputs"], stack.inputs)
    np.testing.assert_array_equal(sent["targets"], stack.targets)
    for layer, want in zip(sent["layers"], stack.layers, strict=True):
        np.testing.assert_array_equal(layer["weights"], want.weights)
        np.testing.assert_array_equal(layer["bias"], want.bias)
        assert (layer["activation"], layer["slope"]) == (want.activation, want.slope)
    with pytest.raises(RuntimeError, match="^ValueError: no$"):
        impl.trace_stacked(stack)
    with pytest.raises(RuntimeError, match="^its worker process exited with code 1$"):
        impl.trace_stacked(stack)


def test_a_stack_of_one_network_is_bounded_by_it():
    from harness.batched.drawing import make_stack
    stack = make_stack([2, 2], 1, 3, "tanh", "squared_error", "float64", seed=1, chunk=0,
                       first_index=0)
    trace = ReferenceImpl().trace_stacked(stack)
    arrays: list = []
    reply = _across({"outcomes": [outcome_doc(Outcome("r", stack.name, "ok", trace), arrays)]},
                    arrays)
    impl, w = _impl(described(stacked=True), reply)
    assert impl.trace_stacked(stack).spec == stack.name
    assert w.calls[0].max_bytes == walled.trace_bytes(stack.spec(0))


def test_trace_bytes_is_eight_bytes_for_every_number_of_a_trace():
    for spec in (SPEC, SPEC64, _stack().spec(1)):
        numbers = sum(np.size(a) for a in _numbers(ReferenceImpl().trace(spec)))
        assert walled.trace_bytes(spec) == 8 * numbers


def _numbers(trace) -> list:
    out = []
    for s in trace.steps:
        out += [s.loss, s.outputs] + [getattr(layer, q) for layer in s.layers
                                      for q in ("d", "h", "v", "grad_weights", "grad_bias")]
    return out + [p[q] for p in trace.params for q in ("weights", "bias")]


def test_a_walled_adapter_reads_its_own_metadata():
    impl, _ = _impl()
    from harness.metadata import read
    assert read(impl) == impl.metadata == (ReferenceImpl().version(),
                                           ReferenceImpl().settings(), None)
    assert json.dumps(impl.supports) == json.dumps(registry.get("reference").supports)
