"""Tiny inline SVG charts for report.html: self-contained, no plotting library, no network."""

from __future__ import annotations

import html
import math

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _log(v: float, lo: float) -> float:
    return math.log10(max(v, lo))


def log_chart(series: dict[str, list[float]], labels: list[str], title: str, kind: str = "bar",
              threshold: float | None = 1.0, width: int = 520, height: int = 200) -> str:
    """Grouped bars (kind="bar") or lines (kind="line") on a log10 axis; one series per name.

    Values are error/tolerance ratios: the dashed line at `threshold` is the tolerance.
    Zeros and non-finite values are clamped to the axis ends.
    """
    finite = [v for vs in series.values() for v in vs if 0 < v < math.inf]
    lo = 10 ** math.floor(math.log10(min(finite + [1e-3])))
    hi = 10 ** math.ceil(math.log10(max(finite + [threshold or 1.0, 10.0])))
    left, bottom, top = 50, 30, 20
    plot_w, plot_h = width - left - 10, height - bottom - top
    n = max(len(labels), 1)

    def y(v: float) -> float:
        v = hi if not math.isfinite(v) else v
        frac = (_log(v, lo) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return top + plot_h * (1 - frac)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="10">',
             f'<text x="{left}" y="12" font-size="11">{html.escape(title)}</text>']
    for e in range(int(math.log10(lo)), int(math.log10(hi)) + 1):
        yy = y(10.0 ** e)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{yy:.1f}" y2="{yy:.1f}" '
                     f'stroke="#eee"/><text x="{left - 4}" y="{yy + 3:.1f}" '
                     f'text-anchor="end">1e{e}</text>')
    slot = plot_w / n
    for i, label in enumerate(labels):
        parts.append(f'<text x="{left + slot * (i + 0.5):.1f}" y="{height - 12}" '
                     f'text-anchor="middle">{html.escape(label)}</text>')
    bar_w = slot * 0.8 / max(len(series), 1)
    for s, (name, values) in enumerate(series.items()):
        color = COLORS[s % len(COLORS)]
        if kind == "bar":
            for i, v in enumerate(values):
                x0 = left + slot * i + slot * 0.1 + bar_w * s
                parts.append(f'<rect x="{x0:.1f}" y="{y(v):.1f}" width="{bar_w:.1f}" '
                             f'height="{top + plot_h - y(v):.1f}" fill="{color}">'
                             f'<title>{html.escape(name)} {labels[i]}: {v:.3g}</title></rect>')
        else:
            pts = " ".join(f"{left + slot * (i + 0.5):.1f},{y(v):.1f}"
                           for i, v in enumerate(values))
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" '
                         f'stroke-width="1.5"/>')
        parts.append(f'<text x="{width - 12}" y="{top + 12 * (s + 1)}" text-anchor="end" '
                     f'fill="{color}">{html.escape(name)}</text>')
    if threshold:
        ty = y(threshold)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'stroke="#d62728" stroke-dasharray="4 3"/>')
    parts.append("</svg>")
    return "".join(parts)
