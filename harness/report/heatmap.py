"""report.html's heat map: a row per case x implementation, a column per quantity and layer,
each cell coloured by the worst error / tolerance over the steps."""

from __future__ import annotations

from bisect import bisect_left

from .. import svg
from ..compare import TensorDiff, quantities
from ..conformance import RunResult
from ..judge import Verdict
from .markup import E, _anchor, _status_span
from .tables import _cases_in_order, _num, _rank, special

PASS_COLORS = ("#ffffff", "#e5f5e0", "#c7e9c0", "#a1d99b", "#d9ef8b", "#fee08b")
FAIL_COLORS = ("#fc8d59", "#e34a33", "#b30000", "#67000d")
KNOWN_COLORS = ("#dadaeb", "#bcbddc", "#9e9ac8", "#6a51a3")
BIN_EDGES = (1e-6, 1e-4, 1e-2, 1e-1, 1.0, 10.0, 1e3, 1e6)
BIN_LABELS = ("identical", "≤ 10⁻⁶", "≤ 10⁻⁴", "≤ 10⁻²", "≤ 0.1", "≤ 1", "≤ 10", "≤ 10³",
              "≤ 10⁶", "> 10⁶", "NaN / Inf")


def _bin(t: TensorDiff, failed: bool) -> int:
    """The heat-map colour of a worst ratio: 0 identical, 1-5 within tolerance by decades,
    6-9 out of tolerance, 10 NaN/Inf."""
    if special(t):
        return 10
    if t.worst_ratio == 0:
        return 0
    b = 1 + bisect_left(BIN_EDGES, t.worst_ratio)
    return max(b, 6) if failed else min(b, 5)


def _color(b: int, known: bool) -> str:
    if b == 10:
        return "#3f007d" if known else "#000000"
    if b < 6:
        return PASS_COLORS[b]
    return (KNOWN_COLORS if known else FAIL_COLORS)[b - 6]


def _heat_columns(run: RunResult) -> list[tuple[str, int | None]]:
    depth = max((len(s.layers) for s in run.specs.values()), default=0)
    return [(q, layer) for _, q, layer in quantities(depth, 1)]


def heatmap_html(run: RunResult) -> str:
    """Rows: case x implementation (cases with divergences first, else in suite order; those
    not supported left out and counted below); columns: quantity and layer in computation
    order; colour: worst error / tolerance over the steps, by decades. The origin's cell is
    outlined, consequences striped, known deviations purple."""
    cols = _heat_columns(run)
    depth = max((len(s.layers) for s in run.specs.values()), default=0)
    groups = [("forward", 2 * depth), ("out", 2), ("backward", 3 * depth),
              ("updated", 2 * depth)]
    starts, i = set(), 0
    for _, n in groups:
        starts.add(i)
        i += n
    head1 = "".join(f'<th class="g" colspan="{n}">{name}</th>' for name, n in groups if n)
    head2 = "".join(f'<th{" class=gs" if k in starts else ""}>{svg.SHORT[q]}</th>'
                    for k, (q, _) in enumerate(cols))
    head3 = "".join(f'<th{" class=gs" if k in starts else ""}>{"" if layer is None else layer}'
                    f'</th>' for k, (_, layer) in enumerate(cols))
    rows = []
    baselines = {r.baseline for r in run.results}
    for case in _cases_in_order(run):
        rs = [r for r in run.results if r.case == case and r.status != "unsupported"]
        for j, r in enumerate(rs):
            label = (f'<td class="lab" rowspan="{len(rs)}"><a href="#{_anchor(case)}">'
                     f'{E(case)}</a></td>') if j == 0 else ""
            who = r.impl if len(baselines) == 1 else f"{r.impl} vs {r.baseline}"
            cells = [label, f'<td class="lab">{E(who)} {_status_span(r)}</td>']
            if not r.tensors:
                cells.append(f'<td class="msg gs" colspan="{len(cols)}" title="{E(r.message)}">'
                             f'{E(r.message)}</td>')
            else:
                cells += _heat_cells(r, cols, starts)
            rows.append(f'<tr{" class=top" if j == 0 else ""}>{"".join(cells)}</tr>')
    hidden = [r for r in run.results if r.status == "unsupported"]
    note = ""
    if hidden:
        per = {}
        for r in hidden:
            per[r.impl] = per.get(r.impl, 0) + 1
        note = ("<p class='notes'>Not shown: comparisons an implementation does not support ("
                + ", ".join(f"{E(k)}: {v}" for k, v in per.items()) + ").</p>")
    if not rows:
        return "<p>No comparison ran.</p>" + note
    return (_legend() + '<div class="hmwrap"><table class="hm"><thead>'
            f'<tr><th colspan="2" rowspan="3" style="text-align:left;padding-left:4px;'
            f'font-size:11px">case · implementation</th>{head1}</tr><tr>{head2}</tr>'
            f'<tr>{head3}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>' + note)


def _heat_cells(r: Verdict, cols, starts) -> list[str]:
    """One row's cells: per (quantity, layer) the worst over the steps; the layers this
    case's network lacks as grey runs."""
    cells: dict[tuple, list] = {}
    for t in r.tensors:
        c = cells.setdefault((t.quantity, t.layer), [t, False, False])
        if _rank(t) > _rank(c[0]):
            c[0] = t
        c[1] = c[1] or not t.passed
        c[2] = c[2] or t is r.origin
    out, blank, blank_starts = [], 0, False
    known = r.status == "xfail"
    steps = 1 + max((t.step for t in r.tensors if t.step is not None), default=0)

    def flush():
        if blank:
            out.append(f'<td class="x{" gs" if blank_starts else ""}" colspan="{blank}"></td>')

    for k, key in enumerate(cols):
        if key not in cells:
            if blank and k in starts:
                flush()
                blank = 0
            blank_starts = blank_starts if blank else k in starts
            blank += 1
            continue
        flush()
        blank = 0
        t, failed, origin = cells[key]
        b = _bin(t, failed)
        cls = [f"{'k' if known and b >= 6 else 'b'}{b}"] + (["gs"] if k in starts else [])
        what = special(t) or _num(t.worst_ratio, 2)
        if t.step is not None and steps > 1:
            what += f", step {t.step}"
        if origin:
            cls.append("o")
            what += ", origin"
        elif failed:
            cls.append("c")
            what += ", consequence"
        out.append(f'<td class="{" ".join(cls)}" title="{E(what)}"></td>')
    flush()
    return out


def _bin_css() -> str:
    """The heat map's colours as classes: b0-b10 by worst ratio, k6-k10 for known deviations."""
    rules = [f"table.hm td.b{b}{{background-color:{_color(b, False)}}}" for b in range(11)]
    rules += [f"table.hm td.k{b}{{background-color:{_color(b, True)}}}" for b in range(6, 11)]
    return "".join(rules)


def _legend() -> str:
    sw = [f'<span><span class="sw" style="background:{_color(b, False)}"></span>{E(lab)}</span>'
          for b, lab in enumerate(BIN_LABELS)]
    return ('<div class="legend"><b>worst error / tolerance over the steps:</b>'
            + "".join(sw) + '<span><span class="sw" style="background:'
            f'{KNOWN_COLORS[1]}"></span>out, known deviation</span>'
            '<span><span class="sw" style="outline:2px solid #000;outline-offset:-2px;'
            'box-shadow:inset 0 0 0 3px #fff;background:#fc8d59"></span>origin: first out '
            'of tolerance</span>'
            '<span><span class="sw" style="background:#e34a33;background-image:'
            'repeating-linear-gradient(135deg,rgba(255,255,255,.6) 0 2px,transparent 2px 5px)">'
            '</span>consequence (out after the origin)</span>'
            '<span><span class="sw" style="background:#f2f2f2"></span>no such layer</span>'
            '</div><p class="notes">Columns in computation order: d, h per layer, u, e, then '
            'v, ∂W, ∂b from the last layer to the first, then the updated W, b; the number '
            'under each is the layer. Rows: cases with divergences first. Hover a cell for its '
            'figure; a case name leads to its details.</p>')
