"""Half of a pair of frameworks that cannot share a process (as tensorflow and paddle):
importing this module where clash_b is already imported kills the process with SIGSEGV."""

from __future__ import annotations

import os
import signal
import sys

from impls.reference_impl import ReferenceImpl

if "clash_b" in sys.modules:
    os.kill(os.getpid(), signal.SIGSEGV)


class ClashA(ReferenceImpl):
    name = "clash-a"

    def version(self):
        return "a-1.0"
