"""What the forward-mode implementations (torch-forward, jax-forward) share: forward-mode AD
takes one direction per parameter and per pre-activation element (Spec.directions), so it
runs small networks only, and never stacked networks (a direction per parameter of each)."""

from __future__ import annotations


class ForwardMode:
    """Mixed in before a framework's adapter class: the mode, its size limit, no stacking."""

    mode = "forward"
    MAX_DIRECTIONS = 5_000
    trace_stacked = None  # the batched fuzzer refuses it

    def unsupported(self, spec) -> str | None:
        if spec.directions > self.MAX_DIRECTIONS:
            return f"too large for forward mode ({spec.directions:,} directions, limit " \
                   f"{self.MAX_DIRECTIONS:,})"
        return None
