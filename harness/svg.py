"""report.html's charts: matplotlib figures written as SVG text that the page inlines, so that
the report stays one self-contained file that opens offline.

matplotlib is optional (the `plots` extra): `available()` says whether it can be imported, and
report_html.py writes a note in place of the charts where it cannot. matplotlib is imported here
only when a chart is drawn, never at import time.

Every chart plots error / tolerance (the worst over a tensor's elements) on a log axis against
the position of each traced tensor in computation order: per step, forward layer by layer, u,
e, then backward from the last layer to the first; after the last step, the updated
parameters. A consequence at step 1 therefore stands to the right of an origin at step 0.
"""

from __future__ import annotations

import io
import math
import re
from typing import Sequence

from .compare import TensorDiff

__all__ = ["available", "MISSING", "error_chart", "overlay_chart", "SHORT", "tensor_tick",
           "decade"]

MISSING = "Charts need matplotlib: pip install 'backprop-harness[plots]'."
SHORT = {"d": "d", "h": "h", "outputs": "u", "loss": "e", "v": "v", "grad_weights": "∂W",
         "grad_bias": "∂b", "weights": "W", "bias": "b"}
PHASE_COLOR = {"forward": "#1f77b4", "backward": "#e6740b", "update": "#2ca02c"}
PHASE_NAME = {"forward": "forward: d, h per layer, u, e",
              "backward": "backward: v, ∂W, ∂b per layer", "update": "updated W, b"}
IMPL_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f",
               "#bcbd22", "#e6740b")
EM = 0.62 * 8 / 72  # inches: a generous average width of a DejaVu Sans character at 8 pt
HUGE = 1e300  # a worst ratio at or above this comes from a NaN, an Inf or a zero tolerance
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_RC = {"svg.fonttype": "none", "font.size": 8, "axes.linewidth": 0.6,
       "xtick.major.width": 0.6, "ytick.major.width": 0.6, "xtick.major.size": 2.5,
       "ytick.major.size": 2.5, "axes.edgecolor": "#555555", "legend.fontsize": 8}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        return False
    return True


def decade(e: int) -> str:
    """10^e as text: 1, 10, 10², 10⁻³."""
    return {0: "1", 1: "10"}.get(e, f"10{str(e).translate(_SUP)}")


def tensor_tick(t: TensorDiff) -> str:
    """A tensor's short name: d₀, u, e, ∂W₁, W₀."""
    return SHORT[t.quantity] + ("" if t.layer is None else str(t.layer).translate(_SUB))


def _non_finite(t: TensorDiff) -> bool:
    return bool(t.nan_mismatch or t.inf_mismatch) or not t.worst_ratio < HUGE


def _limits(values: Sequence[float]) -> tuple[int, int]:
    """The decades the y axis spans: every finite positive ratio, and 0.1 to 10 at least."""
    finite = [v for v in values if 0 < v < HUGE]
    lo = math.floor(math.log10(min(finite + [0.1])))
    hi = math.ceil(math.log10(max(finite + [10.0])))
    return max(lo, -40), min(hi, 300)


def _decade_ticks(lo: int, hi: int, most: int = 6) -> list[int]:
    """At most `most` decade labels, always including 1 (the tolerance)."""
    step = max(1, math.ceil((hi - lo) / (most - 1)))
    ticks = [e for e in range(lo, hi + 1) if e % step == 0]
    return sorted(set(ticks) | {0})


def _axis_positions(tensors: Sequence[TensorDiff]) -> tuple[list[float], list[tuple]]:
    """x of each tensor (a gap between steps) and the (start, end, label) of each step."""
    xs, spans, x, current, start = [], [], 0.0, object(), 0.0
    for t in tensors:
        if t.step != current:
            if xs:
                spans.append((start, xs[-1], _step_label(current)))
                x += 1.0
            current, start = t.step, x
        xs.append(x)
        x += 1.0
    if xs:
        spans.append((start, xs[-1], _step_label(current)))
    return xs, spans


def _step_label(step) -> str:
    return "updated parameters" if step is None else f"step {step}"


class _Chart:
    """One figure: a log y axis of error / tolerance, tensors in computation order on x."""

    def __init__(self, tensors: Sequence[TensorDiff], values: Sequence[float], title: str,
                 salt: str, legend: Sequence[str]):
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.ticker import FixedLocator, NullLocator

        self.matplotlib = matplotlib
        self.salt = salt
        self.xs, self.spans = _axis_positions(tensors)
        self.lo, self.hi = _limits(values)
        n = len(self.xs)
        self.labelled = n <= 48  # every tensor named on the x axis; else only the steps
        # laid out by hand (one draw, not two as bbox_inches="tight" takes), from generous
        # estimates of the text's width in DejaVu Sans, the font the page asks for
        self.rotated = 33 < n <= 48  # tensor names turned upright to fit
        left, right, top = 0.78, 0.35 + EM * max(map(len, legend)), 0.52
        bottom = 0.5 if self.rotated else 0.32
        per = 0.21 if n <= 33 else (0.15 if self.labelled else 0.045)
        plot_w = min(7.0, max(3.4, per * n))
        width = max(left + plot_w + right, 0.15 + EM * 9 / 8 * len(title))
        height = 2.6 + (bottom - 0.32)
        with matplotlib.rc_context(_RC):
            self.fig = Figure(figsize=(width, height))
            self.ax = self.fig.add_axes([left / width, bottom / height,
                                         (width - left - right) / width,
                                         (height - bottom - top) / height])
        ax = self.ax
        ax.set_yscale("log")
        # 0 (identical) one decade below the lowest figure, NaN/Inf one above the highest
        self.floor, self.ceil = 10.0 ** (self.lo - 1), 10.0 ** (self.hi + 1)
        ax.set_ylim(self.floor / 2.5, self.ceil * 2.5)
        ticks = _decade_ticks(self.lo, self.hi)
        ax.yaxis.set_major_locator(FixedLocator([self.floor] + [10.0 ** e for e in ticks] +
                                                [self.ceil]))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_yticklabels(["0"] + [decade(e) for e in ticks] + ["NaN/Inf"])
        for y in (self.floor, self.ceil):
            ax.axhline(y, color="#dddddd", lw=0.6, zorder=0)
        ax.set_ylabel("error / tolerance")
        ax.set_xlim(-0.8, (self.xs[-1] if self.xs else 0) + 0.8)
        ax.xaxis.set_minor_locator(NullLocator())
        if self.labelled:
            ax.set_xticks(self.xs)
            ax.set_xticklabels([tensor_tick(t) for t in tensors], fontsize=7,
                               rotation=90 if self.rotated else 0)
        else:
            ax.set_xticks([(a + b) / 2 for a, b, _ in self.spans])
            ax.set_xticklabels([label.replace("updated parameters", "updated")
                                for *_, label in self.spans], fontsize=7)
            ax.tick_params(axis="x", length=0)
        for a, b, label in self.spans:  # steps as bands, named above the plot
            if self.labelled or len(self.spans) <= 4:
                ax.text((a + b) / 2, 1.015, label, transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=7, color="#555555")
            if a > 0:
                ax.axvline(a - 1.0, color="#bbbbbb", lw=0.6, ls=":")
        ax.axhspan(1.0, self.ceil / 3, color="#d62728", alpha=0.05, lw=0)
        ax.axhline(1.0, color="#d62728", lw=0.9, ls="--", label="tolerance (1)")
        ax.set_title(title, fontsize=9, loc="left", pad=14)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    def y(self, v: float) -> float:
        """A ratio's height: 0 on the floor, NaN/Inf and absurd ratios on the ceiling."""
        if not v < HUGE:
            return self.ceil
        return self.floor if v <= 0 else min(max(v, 10.0 ** self.lo), 10.0 ** self.hi)

    def svg(self) -> str:
        out = io.StringIO()
        with self.matplotlib.rc_context({**_RC, "svg.hashsalt": self.salt}):
            self.ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                           borderaxespad=0.0, handlelength=1.6)
            self.fig.savefig(out, format="svg", metadata={"Date": None})
        return _inline(out.getvalue())


ERROR_LEGEND = ("tolerance (1)", *PHASE_NAME.values(), "NaN or Inf on one side", "identical (0)",
                "origin (first out of tolerance)", "after the origin: consequences")


def error_chart(tensors: Sequence[TensorDiff], origin: TensorDiff | None, title: str,
                salt: str, known: bool = False) -> str:
    """One comparison: each tensor's error / tolerance, coloured by phase; the origin ringed,
    everything after it shaded as consequences; NaN/Inf drawn on the top edge, exact (0) on
    the bottom edge."""
    c = _Chart(tensors, [t.worst_ratio for t in tensors], title, salt, ERROR_LEGEND)
    ax = c.ax
    ax.plot(c.xs, [c.y(t.worst_ratio) for t in tensors], color="#cccccc", lw=0.7, zorder=1)
    for phase, color in PHASE_COLOR.items():
        pts = [(x, c.y(t.worst_ratio)) for x, t in zip(c.xs, tensors)
               if t.phase == phase and not _non_finite(t) and t.worst_ratio > 0]
        if pts:
            ax.scatter(*zip(*pts), s=14, color=color, zorder=3, label=PHASE_NAME[phase],
                       edgecolors="none")
    special = [(x, t) for x, t in zip(c.xs, tensors) if _non_finite(t)]
    if special:
        ax.scatter([x for x, _ in special], [c.ceil] * len(special), marker="^", s=30,
                   color="black", zorder=4, label="NaN or Inf on one side")
    exact = [x for x, t in zip(c.xs, tensors) if t.worst_ratio == 0]
    if exact:
        ax.scatter(exact, [c.floor] * len(exact), marker="o", s=12, facecolors="none",
                   edgecolors="#777777", zorder=3, label="identical (0)")
    if origin is not None:
        i = next(i for i, t in enumerate(tensors) if t is origin)
        x, yv = c.xs[i], c.y(origin.worst_ratio)
        ax.scatter([x], [yv], s=130, facecolors="none", edgecolors="black", linewidths=1.4,
                   zorder=5, label="origin (first out of tolerance)")
        if i + 1 < len(tensors):
            ax.axvspan(x + 0.5, c.xs[-1] + 0.8, color="#9467bd" if known else "#d62728",
                       alpha=0.12, lw=0, label="after the origin: consequences")
    return c.svg()


def overlay_chart(series: dict[str, Sequence[TensorDiff]], title: str, salt: str) -> str:
    """Several comparisons of one case (all within tolerance): one line per implementation."""
    first = next(iter(series.values()))
    values = [t.worst_ratio for ts in series.values() for t in ts]
    c = _Chart(first, values, title, salt, ["tolerance (1)", *series])
    for k, (name, tensors) in enumerate(series.items()):
        ys = [c.y(t.worst_ratio) for t in tensors]
        c.ax.plot(c.xs[:len(ys)], ys, marker="o" if len(ys) <= 24 else None, ms=2.6, lw=0.9,
                  color=IMPL_COLORS[k % len(IMPL_COLORS)], label=name, zorder=3)
    return c.svg()


_DROP = re.compile(r'<\?xml[^>]*>\s*|<!DOCTYPE[^>]*>\s*|<metadata>.*?</metadata>\s*', re.S)
_FONT = re.compile(r"font-family: [^;\"]*(; )?")
_DECIMALS = re.compile(r"(\d\.\d)\d+")
_ROTATE0 = re.compile(r"\s*rotate\(-?0 [^)]*\)")
_NS = "{http://www.w3.org/2000/svg}"
_XLINK = "{http://www.w3.org/1999/xlink}href"
_GEOMETRY = ("d", "x", "y", "width", "height", "viewBox", "transform", "x1", "x2", "y1", "y2",
             "points", "style")


def _inline(svg: str) -> str:
    """matplotlib's SVG document as an element for the page: no XML prologue, no metadata
    (its links to purl.org and creativecommons.org), no font list (the page's CSS sets the
    font), coordinates to 0.1 pt, no groups without attributes, and only the ids something
    refers to (matplotlib's salted ids of markers and clip paths, unique per chart; its
    other ids repeat in every chart)."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", _NS[1:-1])
    ET.register_namespace("xlink", _XLINK[1:_XLINK.index("}")])
    root = ET.fromstring(_DROP.sub("", svg))
    used = set()
    for el in root.iter():
        href = el.get(_XLINK)
        if href:
            used.add(href[1:])
        used.update(re.findall(r"url\(#([^)]+)\)", el.get("clip-path", "")))
    for el in root.iter():
        if el.get("id") and el.get("id") not in used:
            del el.attrib["id"]
        for key in _GEOMETRY:
            value = el.get(key)
            if value is not None:
                value = _DECIMALS.sub(r"\1", " ".join(value.split()))
                if key == "style":
                    value = _FONT.sub("", value).strip("; ")
                elif key == "transform":
                    value = _ROTATE0.sub("", value)
                if value:
                    el.set(key, value)
                else:
                    del el.attrib[key]
        if el.text is not None and not el.text.strip():
            el.text = None
        el.tail = None
    _unwrap(root)
    root.set("class", "chart")
    return ET.tostring(root, encoding="unicode")


def _unwrap(parent) -> None:
    """Replace every <g> without attributes by its children."""
    children = []
    for child in list(parent):
        _unwrap(child)
        if child.tag == _NS + "g" and not child.attrib:
            children.extend(list(child))
        else:
            children.append(child)
    parent[:] = children
