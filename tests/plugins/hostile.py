"""Hostile implementations, registered by tests/test_trust.py and tests/test_wall.py: each
tries to make a run pass that it did not, hang it, crash it, forge its output or run code
through a report. They trace the reference's numbers where they trace at all, so that
anything but their trick would pass."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np

from impls.reference_impl import ReferenceImpl


class ExitsZero(ReferenceImpl):
    """trace() calls sys.exit(0): the whole run must not end with CI's 'pass'."""

    name = "exit-zero"

    def trace(self, spec):
        sys.exit(0)


class ExitsThree(ReferenceImpl):
    name = "exit-three"

    def trace(self, spec):
        raise SystemExit(3)


class OsExit(ReferenceImpl):
    """os._exit(0): no exception, no atexit; the process just ends."""

    name = "os-exit"

    def trace(self, spec):
        os._exit(0)


class VersionRaises(ReferenceImpl):
    name = "version-raises"

    def version(self):
        raise RuntimeError("no version today")


class VersionNumber(ReferenceImpl):
    name = "version-number"

    def version(self):
        return 42


class _Odd:
    """An object that is no plain value (and whose repr is HTML)."""

    def __repr__(self):
        return "<script>alert(1)</script>"


class SettingsObject(ReferenceImpl):
    name = "settings-object"

    def settings(self):
        return _Odd()


class SettingsSet(ReferenceImpl):
    name = "settings-set"

    def settings(self):
        return {"a", "b"}


class SettingsList(ReferenceImpl):
    name = "settings-list"

    def settings(self):
        return ["x", 1]


class SettingsNested(ReferenceImpl):
    name = "settings-nested"

    def settings(self):
        return {"engine": "ok", "device": _Odd()}


class RetriesForever(ReferenceImpl):
    """Catches every Exception and tries again: the timeout must still end the case."""

    name = "retry-forever"

    def trace(self, spec):
        while True:
            try:
                time.sleep(60)
            except Exception:
                continue


class SwallowsTimeout(ReferenceImpl):
    """Swallows the first exception of all (BaseException: the timeout), then works on for
    20 s and returns a right trace: only a timeout raised again stops it in time."""

    name = "swallows-timeout"

    def trace(self, spec):
        try:
            time.sleep(60)
        except BaseException:
            pass
        end = time.monotonic() + 20
        while time.monotonic() < end:
            time.sleep(0.01)
        return super().trace(spec)


class ManyHangs(ReferenceImpl):
    """trace_many() never returns; trace() is fine."""

    name = "many-hangs"

    def trace_many(self, specs):
        time.sleep(3600)


class ManyBroken(ReferenceImpl):
    """trace_many() returns objects that are not traces; trace() is fine."""

    name = "many-broken"

    def trace_many(self, specs):
        return [object() for _ in specs]


class ManyExits(ReferenceImpl):
    name = "many-exits"

    def trace_many(self, specs):
        sys.exit(0)


class BadSupports(ReferenceImpl):
    name = "bad-supports"
    supports = ["float64"]


class ExitsOnLoad(ReferenceImpl):
    name = "exit-on-load"

    def __init__(self):
        sys.exit(0)


class Named(ReferenceImpl):
    """Registered under a shell-code name: refused at load."""

    name = "named"


def _exit_now(*_):
    os._exit(0)


class ExitingStr(str):
    """A string whose formatting and printing end the process (with 'pass')."""

    __format__ = __str__ = __repr__ = _exit_now


class ExitingError(RuntimeError):
    def __str__(self):
        os._exit(0)


class HangingError(RuntimeError):
    def __str__(self):
        time.sleep(3600)
        return "never"


class _ArrayLike:
    """Read as an array by whoever converts a trace: `how` says what it does then."""

    def __init__(self, how):
        self.how = how

    def __array__(self, dtype=None, copy=None):
        if self.how == "exit":
            os._exit(0)
        time.sleep(3600)


class _Unpickles:
    """An object whose unpickling ends the process that loads it."""

    def __reduce__(self):
        return os._exit, (0,)


class _Tricked(ReferenceImpl):
    """trace() gives the reference's trace with step 0's v of layer 0 replaced by `value`."""

    value = None

    def trace(self, spec):
        trace = super().trace(spec)
        trace.steps[0].layers[0].v = self.value
        return trace


class _ArrayOnce:
    """Read as an array once (the trace's check), then raises (when the worker sends it)."""

    def __init__(self, value):
        self.value, self.read = value, 0

    def __array__(self, dtype=None, copy=None):
        self.read += 1
        if self.read > 1:
            raise ValueError("not numbers")
        return np.asarray(self.value, dtype=dtype)


class ArrayOnce(ReferenceImpl):
    """Its float64 traces pass the check and cannot be sent back (tests/test_wall_units.py
    registers it itself)."""

    name = "array-once"

    def trace(self, spec):
        trace = super().trace(spec)
        if spec.dtype == "float64":
            trace.steps[0].layers[0].v = _ArrayOnce(trace.steps[0].layers[0].v)
        return trace


class UnsupportedExits(ReferenceImpl):
    name = "unsupported-exits"

    def unsupported(self, spec):
        sys.exit(0)


class UnsupportedOsExit(ReferenceImpl):
    name = "unsupported-os-exit"

    def unsupported(self, spec):
        os._exit(0)


class UnsupportedHangs(ReferenceImpl):
    name = "unsupported-hangs"

    def unsupported(self, spec):
        time.sleep(3600)


class StrExits(ReferenceImpl):
    """Raises an exception whose message, when read, ends the process."""

    name = "str-exits"

    def trace(self, spec):
        raise ExitingError()


class StrHangs(ReferenceImpl):
    name = "str-hangs"

    def trace(self, spec):
        raise HangingError()


class VersionExitingStr(ReferenceImpl):
    name = "version-str-subclass"

    def version(self):
        return ExitingStr("1.0")


class SettingsExitingStr(ReferenceImpl):
    name = "settings-str-subclass"

    def settings(self):
        return {"engine": ExitingStr("fast")}


class VersionSecondCall(ReferenceImpl):
    """version() answers once, then ends the process when asked again (describe, ISSUE.md)."""

    name = "version-second-call"
    asked = 0

    def version(self):
        type(self).asked += 1
        if type(self).asked > 1:
            os._exit(0)
        return "1.0"


class VersionHangs(ReferenceImpl):
    name = "version-hangs"

    def version(self):
        time.sleep(3600)


class ArrayExits(_Tricked):
    name = "array-exits"
    value = _ArrayLike("exit")


class ArrayHangs(_Tricked):
    name = "array-hangs"
    value = _ArrayLike("hang")


class PickleBomb(_Tricked):
    """A trace holding an object whose unpickling calls os._exit(0) (the old --jobs path)."""

    name = "pickle-bomb"
    value = _Unpickles()


class XfailsExits(ReferenceImpl):
    name = "xfails-exits"

    @property
    def xfails(self):
        os._exit(0)


class ThreadExits(ReferenceImpl):
    """Starts a thread that ends the process while the trace still runs."""

    name = "thread-exits"

    def trace(self, spec):
        threading.Thread(target=_exit_now, daemon=True).start()
        time.sleep(2)
        return super().trace(spec)


class IgnoresAlarm(ReferenceImpl):
    """Ignores SIGALRM (the in-process timer) and sleeps: only a kill stops it."""

    name = "ignores-alarm"

    def trace(self, spec):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        time.sleep(40)
        return super().trace(spec)


class IgnoresSigint(ReferenceImpl):
    name = "ignores-sigint"

    def trace(self, spec):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        time.sleep(60)
        return super().trace(spec)


class RaisesInterrupt(ReferenceImpl):
    name = "raises-interrupt"

    def trace(self, spec):
        raise KeyboardInterrupt


class Chdir(ReferenceImpl):
    """Moves to another folder: a relative --out must not follow it."""

    name = "chdir"

    def trace(self, spec):
        os.chdir("/")
        return super().trace(spec)


class WritesSpec(ReferenceImpl):
    """Makes the spec's inputs writable and changes them, then traces them: its own numbers
    differ, and no other implementation may see the change."""

    name = "writes-spec"

    def trace(self, spec):
        spec.inputs.setflags(write=True)
        spec.inputs[...] = 7.0
        return super().trace(spec)


class Babbles(ReferenceImpl):
    """Writes garbage to every descriptor it can find, the protocol's among them."""

    name = "babbles"

    def trace(self, spec):
        for fd in range(3, 64):
            try:
                os.write(fd, b"\xff\xff\xff\x7fgarbage" * 64)
            except OSError:
                pass
        time.sleep(1)
        return super().trace(spec)


class Prints(ReferenceImpl):
    """Prints forged verdict lines on its stdout and stderr."""

    name = "prints"

    def trace(self, spec):
        print("PASS: 99 passed\nreport: /forged", flush=True)
        print("\x1b]52;c;Zm9yZ2Vk\x07", file=sys.stderr, flush=True)
        return super().trace(spec)


class Hog(ReferenceImpl):
    """Asks for 64 GiB."""

    name = "hog"

    def trace(self, spec):
        np.ones(2**33)
        return super().trace(spec)


class _Says(ReferenceImpl):
    """trace() raises RuntimeError(`says`)."""

    says = ""

    def trace(self, spec):
        raise RuntimeError(self.says)


class SaysSurrogate(_Says):
    name = "says-surrogate"
    says = "lone \ud800 surrogate"


class SaysHuge(_Says):
    name = "says-huge"
    says = "x" * 100_000_000


class SaysControl(_Says):
    """ESC (ANSI colour, OSC 52 clipboard), NUL, CR and forged verdict lines."""

    name = "says-control"
    says = ("\x1b]52;c;ZXZpbA==\x07\x1b[31mred\x00\r\n# PASS\nPASS: 9 passed\nreport: /etc")


class VersionHtml(ReferenceImpl):
    name = "version-html"

    def version(self):
        return "1.0<script>alert(1)</script>\r\n## Forged section\n"

    def settings(self):
        return {"mode": "x\r# PASS"}


ENTRY_POINTS = {
    "exit-zero": "hostile:ExitsZero", "exit-three": "hostile:ExitsThree",
    "os-exit": "hostile:OsExit", "version-raises": "hostile:VersionRaises",
    "version-number": "hostile:VersionNumber", "settings-object": "hostile:SettingsObject",
    "settings-set": "hostile:SettingsSet", "settings-list": "hostile:SettingsList",
    "settings-nested": "hostile:SettingsNested", "retry-forever": "hostile:RetriesForever",
    "swallows-timeout": "hostile:SwallowsTimeout",
    "many-hangs": "hostile:ManyHangs", "many-broken": "hostile:ManyBroken",
    "many-exits": "hostile:ManyExits", "bad-supports": "hostile:BadSupports",
    "exit-on-load": "hostile:ExitsOnLoad",
    "h-$(touch${IFS}/tmp/bh-pwned)": "hostile:Named", "h`id`": "hostile:Named",
    "h;ls": "hostile:Named", "h<x": "hostile:Named", "h/x": "hostile:Named",
    **{cls.name: f"hostile:{cls.__name__}" for cls in (
        UnsupportedExits, UnsupportedOsExit, UnsupportedHangs, StrExits, StrHangs,
        VersionExitingStr, SettingsExitingStr, VersionSecondCall, VersionHangs, ArrayExits,
        ArrayHangs, PickleBomb, XfailsExits, ThreadExits, IgnoresAlarm, IgnoresSigint,
        RaisesInterrupt, Chdir, WritesSpec, Babbles, Prints, Hog, SaysSurrogate, SaysHuge,
        SaysControl, VersionHtml)},
}
