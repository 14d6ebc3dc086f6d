"""Hostile implementations, registered by tests/test_trust.py: each tries to make a run pass
that it did not, hang it, crash it, or run code through a report. They trace the reference's
numbers where they trace at all, so that anything but their trick would pass."""

from __future__ import annotations

import os
import sys
import time

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


ENTRY_POINTS = {
    "exit-zero": "hostile:ExitsZero", "exit-three": "hostile:ExitsThree",
    "os-exit": "hostile:OsExit", "version-raises": "hostile:VersionRaises",
    "version-number": "hostile:VersionNumber", "settings-object": "hostile:SettingsObject",
    "settings-set": "hostile:SettingsSet", "settings-list": "hostile:SettingsList",
    "settings-nested": "hostile:SettingsNested", "retry-forever": "hostile:RetriesForever",
    "many-hangs": "hostile:ManyHangs", "many-broken": "hostile:ManyBroken",
    "many-exits": "hostile:ManyExits", "bad-supports": "hostile:BadSupports",
    "exit-on-load": "hostile:ExitsOnLoad",
    "h-$(touch${IFS}/tmp/bh-pwned)": "hostile:Named", "h`id`": "hostile:Named",
    "h;ls": "hostile:Named", "h<x": "hostile:Named", "h/x": "hostile:Named",
}
