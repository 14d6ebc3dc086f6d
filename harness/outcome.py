"""What one implementation did with one spec, wherever it traced (this process or a worker)."""

from __future__ import annotations

from dataclasses import dataclass

from .trace import Trace


@dataclass
class Outcome:
    """What one implementation did with one spec."""

    impl: str
    case: str
    status: str  # "ok" | "error" | "unsupported"
    trace: Trace | None = None
    message: str = ""
    seconds: float = 0.0  # the trace's (a share of trace_many's, for a case traced there)
    note: str = ""  # how it was traced, where that is worth a reader's word (a fallback)


class ManyFailed(Exception):
    """trace_many() gave no usable answer; the message says why (its cases are then traced
    one by one)."""
