"""The other half of clash_a.py's pair:
importing this module where clash_a is already imported kills the process with SIGSEGV."""

from __future__ import annotations

import os
import signal
import sys

from impls.reference_impl import ReferenceImpl

if "clash_a" in sys.modules:
    os.kill(os.getpid(), signal.SIGSEGV)


class ClashB(ReferenceImpl):
    name = "clash-b"

    def version(self):
        return "b-2.0"
