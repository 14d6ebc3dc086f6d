"""Test-only third-party adapters with a reproducer() hook (docs/adapters.md), registered by
tests/test_reproducer_hook.py (as hooked:Hooked, ...): planted.py's elu through exp(d) - 1, with a hook that writes
its framework-only lines, and hooks that hang, exit or answer garbage."""

from __future__ import annotations

import os
import time

from planted import EluExpMinusOne


class Hooked(EluExpMinusOne):
    """Its hook computes elu's f the way the adapter does, with NumPy as the framework."""

    name = "hook-elu"

    def reproducer(self, function, part, inputs, dtype):
        if (function, part) != ("elu", "f"):
            return None
        return ("planted.elu", f"# written by process {os.getpid()}\n"
                               f"d = np.{dtype}({inputs['d']!r})\n"
                               f"return float(np.exp(d) - 1)  # the adapter's elu")


class HookHangs(EluExpMinusOne):
    name = "hook-hangs"

    def reproducer(self, function, part, inputs, dtype):
        time.sleep(3600)


class HookExits(EluExpMinusOne):
    name = "hook-exits"

    def reproducer(self, function, part, inputs, dtype):
        os._exit(0)


class HookGarbage(EluExpMinusOne):
    name = "hook-garbage"

    def reproducer(self, function, part, inputs, dtype):
        return {"lines": object()}

