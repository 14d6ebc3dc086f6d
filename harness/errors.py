"""The one error type users see: bad input, named by where it is."""

from __future__ import annotations


class HarnessError(Exception):
    """A problem with the user's input or environment, reported as one line (exit 2)."""


class SpecError(HarnessError):
    """A spec or suite file that is malformed; the message names the file and the field."""

    def __init__(self, field: str, message: str, source: str | None = None):
        self.field = field
        self.source = source
        where = f"{source}: " if source else ""
        at = f"{field}: " if field else ""
        super().__init__(f"{where}{at}{message}")


class Unsupported(Exception):
    """Raised by an implementation for a spec it cannot run (reported as 'not supported');
    adapters import it from harness.registry."""


class Unavailable(Exception):
    """Raised by an adapter's constructor when it cannot run on this machine (no GPU): the
    implementation is listed as unavailable with this reason."""
