"""report.html, for a person: the verdict, the heat map, the divergences, the
implementations, then the details per case with charts (inline SVG, placed by _Charts) and
the run's details; self-contained, its CSS inline."""

from __future__ import annotations

from .. import svg
from ..conformance import RunResult, environment
from ..judge import Verdict
from ..tolerance import BACKWARD_K, FORWARD_K, LOW_PRECISION_K, default_tolerances
from .heatmap import _bin_css, heatmap_html
from .markup import E, _anchor, _status_span, _table, _td
from .tables import (DIVERGENT, DOCS, _case_rank, _cases_in_order, _diff_at_worst, _divergent,
                     _num, _per_impl, _spec_line, _status, _value, closer_text, count, figures,
                     verdict_sentence, worst_of)

FAILING_TENSOR_ROWS = 12  # per divergent comparison in report.html; summary.csv has them all
MAX_DIVERGENT_CHARTS = 40  # charts in report.html: the first divergent comparisons,
PASSING_CHARTS = 3  # and the passing cases closest to their tolerance
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:1.2em 2em;color:#222;font-size:14px;max-width:1500px}
h1{font-size:18px;margin:0 0 .3em;font-weight:600;color:#555}
h2{font-size:16px;margin:1.4em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:2px}
h3{font-size:14px;margin:1em 0 .3em}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.verdict{font-size:20px;margin:.2em 0}
.badge{display:inline-block;padding:1px 10px;border-radius:4px;color:#fff;font-weight:700;
 margin-right:.4em}
.badge.PASS{background:#2ca02c}.badge.FAIL{background:#d62728}
.sub{color:#555;margin:.2em 0}
table.t{border-collapse:collapse;font-size:12.5px;margin:.3em 0}
table.t td,table.t th{border:1px solid #d5d5d5;padding:2px 6px;text-align:left;vertical-align:top}
table.t th{background:#f4f4f4;font-weight:600}
table.t td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st-pass{color:#2a7a2a}.st-FAIL,.st-ERROR{color:#c00;font-weight:700}
.st-known{color:#6a51a3;font-weight:700}.st-skip{color:#888}.st-xpass{color:#b35900}
td.base{color:#555;font-style:italic}
tr.more td{border-top:none;color:#444;font-size:12px;padding-bottom:5px}
code.cmd{display:block;white-space:pre;overflow-x:auto;width:0;min-width:100%;padding:1px 0}
.notes{font-size:12px;color:#555;margin:.2em 0 .8em}
.hmwrap{border:1px solid #ccc}
table.hm{border-collapse:separate;border-spacing:0;font-size:11px;width:100%}
table.hm th{background:#f4f4f4;font-weight:500;padding:0;position:sticky;z-index:1;
 text-align:center;white-space:nowrap;line-height:14px;font-size:9.5px;letter-spacing:-.3px}
table.hm thead tr:nth-child(1) th{top:0;height:15px}
table.hm thead tr:nth-child(2) th{top:15px;height:14px}
table.hm thead tr:nth-child(3) th{top:29px;height:14px;border-bottom:1px solid #999;color:#666}
table.hm th.g{border-left:1px solid #999;font-size:10px;color:#444}
table.hm td{min-width:12px;height:17px;padding:0;border-right:1px solid #e4e4e4;
 border-bottom:1px solid #e4e4e4}
table.hm td.lab{width:1%;padding:0 6px 0 3px;white-space:nowrap;background:#fff;
 border-bottom:1px solid #eee;font-size:11.5px;text-align:left}
table.hm td.lab a{color:#222;text-decoration:none}
table.hm td.gs,table.hm th.gs{border-left:1px solid #999}
table.hm tr.top td{border-top:1px solid #bbb}
table.hm td.x{background:#f2f2f2}
table.hm td.o{outline:2px solid #000;outline-offset:-2px;box-shadow:inset 0 0 0 3px #fff}
table.hm td.c{background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.6) 0 2px,
 transparent 2px 5px)}
table.hm td.msg{width:auto;font-size:11px;color:#c00;padding:0 4px;white-space:nowrap;
 overflow:hidden;max-width:600px;text-overflow:ellipsis}
.legend{font-size:11.5px;margin:.3em 0;display:flex;flex-wrap:wrap;gap:3px 10px;
 align-items:center}
.legend span.sw{display:inline-block;width:14px;height:12px;border:1px solid #bbb;
 vertical-align:middle;margin-right:3px}
details{margin:.25em 0;border:1px solid #e2e2e2;border-radius:3px;padding:2px 8px}
details[open]{padding-bottom:8px}
summary{cursor:pointer;font-size:13.5px;padding:2px 0}
summary .tag{font-size:12px;margin-left:.6em}
.msg{font-size:12.5px;color:#333;margin:.3em 0}
svg.chart{display:block;max-width:100%;height:auto;margin:6px 0}
svg.chart text{font-family:"DejaVu Sans",Verdana,sans-serif}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:1px 14px;font-size:12.5px}
dl.kv dt{color:#555}dl.kv dd{margin:0}
.nochart{color:#8a5a00;font-size:12.5px}
"""


def divergences_html(run: RunResult, repros: dict) -> str:
    failing = _divergent(run)
    if not failing:
        return "<p>None: every implementation is within tolerance on every case it runs.</p>"
    head = ["case", "implementation", "verdict", "origin (first out of tolerance)",
            "why (root cause at one neuron)", "values there", "|diff| vs tolerance", "error / tolerance", "out after it",
            "oracle's view"]
    rows, notes = [], set()
    for r in failing:
        cells = [f'<td><a href="#{_anchor(r.case)}">{E(r.case)}</a></td>',
                 _td(f"{r.impl} vs {r.baseline}"), f"<td>{_status_span(r)}</td>"]
        o = r.origin
        if o is not None:
            f = figures([o])
            notes |= f["notes"]
            where = f" at {o.where()}" if o.worst_index else ""
            cells += [f"<td><b>{E(o.label)}</b>{E(where)}</td>", f"<td>{_why_html(r)}</td>",
                      _td(f"{r.impl} {_value(o.worst_value, r.dtype)}, "
                          f"{r.baseline} {_value(o.worst_baseline, r.dtype)}"),
                      _td(f"{_diff_at_worst(o)} vs {_num(o.worst_tol)}", True),
                      _td(f["ratio"], True),
                      _td(f"{r.consequences} tensor{'s' if r.consequences != 1 else ''}"
                          if r.consequences else "none", True),
                      f"<td>{_oracle_html(r)}</td>"]
        else:
            cells.append(f'<td colspan="7">{E(r.message)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
        more = _notes_html(r, repros)
        if more:
            rows.append(f'<tr class="more"><td></td><td colspan="{len(head) - 1}">'
                        f'{"<br>".join(more)}</td></tr>')
    return _table(head, rows, notes)


def _notes_html(r: Verdict, repros: dict) -> list[str]:
    """What follows a divergence, in the summary table and in the case's details: who is
    wrong and why, the known deviation, the command that reproduces it."""
    notes = []
    if r.blame_reason:
        notes.append(f"who is wrong: {E(r.blame_reason)}")
    if r.known:
        notes.append(f"known deviation: {E(r.known)}")
    repro = repros.get((r.case, r.impl, r.baseline))
    if repro:
        notes.append(f"reproduce: <code class='cmd'>{E(repro)}</code>")
    return notes


def _why_html(r: Verdict) -> str:
    """The root causes (rootcause.RootCause), the origin's first; "" when none was sought."""
    return "<br>".join(("" if k == 0 else "and, independent: ") + E(c.text)
                       for k, c in enumerate(r.root_causes))


def _oracle_html(r: Verdict) -> str:
    """Who is wrong at the origin (Verdict.who, where the judge says) and which side the
    oracle's value is closer to (Verdict.closer)."""
    who = r.who if r.blame else ""
    closer = closer_text(r.closer)
    if not who:
        return E(closer or "no oracle ran")
    return f"<b>{E(who)}</b>" + (f"<br>{E(closer)}" if closer else "")


def implementations_html(run: RunResult) -> str:
    statuses = list(run.counts())
    head = ["implementation", "version", "available", *map(_status, statuses), "seconds",
            "numerical settings"]
    rows = []
    compared = {r.impl for r in run.results}
    baselines = {r.baseline for r in run.results}
    for name, d in run.impls.items():
        avail = "yes" if d["available"] else f"no: {d['reason']}"
        cells = [f"<td><b>{E(name)}</b></td>", _td(d["version"]), _td(avail)]
        if name in compared:
            mine = [r for r in run.results if r.impl == name]
            cells += [_td(str(sum(r.status == s for r in mine)), True) for s in statuses]
        elif name in baselines:
            cells.append(f'<td class="base" colspan="{len(statuses)}">the baseline: every '
                         f'other implementation is compared with it</td>')
        else:
            cells.append(f'<td class="base" colspan="{len(statuses)}">not run</td>')
        secs = f"{run.impl_seconds[name]:.2f}" if name in run.impl_seconds else ""
        settings = ", ".join(f"{k}={v}" for k, v in d["settings"].items())
        cells += [_td(secs, True), f'<td style="font-size:11.5px">{E(settings)}</td>']
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return _table(head, rows, set())


class _Charts:
    """Draws the charts, or says why there are none: the first MAX_DIVERGENT_CHARTS divergent
    comparisons, and the PASSING_CHARTS cases whose passing comparisons came closest to their
    tolerance (a chart costs ~0.1 s and ~20 kB; the heat map covers every comparison)."""

    def __init__(self, run: RunResult, enabled: bool):
        self.enabled = enabled and svg.available()
        divergent = [r for r in _divergent(run) if r.tensors and r.status in DIVERGENT]
        self.divergent_ids = {id(r) for r in divergent[:MAX_DIVERGENT_CHARTS]}
        self.divergent_left = len(divergent) - len(self.divergent_ids)
        closest: dict[str, float] = {}
        for r in run.results:
            if r.status == "pass" and r.tensors:
                closest[r.case] = max(closest.get(r.case, 0.0), worst_of(r.tensors).worst_ratio)
        ranked = sorted(closest, key=lambda c: -closest[c])
        self.passing_cases = set(ranked[:PASSING_CHARTS])
        self.passing_left = len(ranked) - len(self.passing_cases)

    def note(self) -> str:
        """What the page says about its charts: missing matplotlib, or which were drawn."""
        if not self.enabled:
            return f"<p class='nochart'>{E(svg.MISSING)}</p>"
        left = []
        if self.divergent_left:
            left.append(f"the divergent comparisons after the first {MAX_DIVERGENT_CHARTS} "
                        f"({self.divergent_left}; each case's reproduce command gives a "
                        f"report of its own)")
        if self.passing_left:
            left.append(f"{count(self.passing_left, 'passing case')} (charts are drawn for the "
                        f"{PASSING_CHARTS} passing cases that came closest to tolerance)")
        return (f"<p class='notes'>Without a chart, to keep this page small: "
                f"{'; '.join(left)}. The heat map shows every comparison.</p>") if left else ""

    def divergent(self, r: Verdict) -> str:
        if not self.enabled or id(r) not in self.divergent_ids:
            return ""
        return svg.error_chart(r.tensors, r.origin, f"{r.case}: {r.impl} vs {r.baseline}",
                               f"{r.case}/{r.impl}/{r.baseline}", known=r.status == "xfail")

    def passing(self, case: str, rs: list[Verdict]) -> str:
        rs = [r for r in rs if r.tensors]
        if not self.enabled or not rs or case not in self.passing_cases:
            return ""
        baselines = {r.baseline for r in rs}
        names = {(r.impl if len(baselines) == 1 else f"{r.impl} vs {r.baseline}"): r.tensors
                 for r in rs}
        title = f"{case}: " + (f"vs {rs[0].baseline}, all within tolerance"
                               if len(baselines) == 1 else "every pair, all within tolerance")
        return svg.overlay_chart(names, title, f"{case}/passing")


def cases_html(run: RunResult, repros: dict, charts: _Charts) -> str:
    """Per case: the spec, a row per comparison, and for a divergent one its failing tensors
    and its chart; failing and known-deviation cases first and open, the others closed."""
    by_case = {case: [r for r in run.results if r.case == case] for case in run.specs}
    out = []
    for case in _cases_in_order(run):
        rs = by_case[case]
        if not rs:
            continue
        is_open = _case_rank({r.status for r in rs}) < 2
        tags = " ".join(f'<span class="tag">{E(r.impl)}: {_status_span(r)}</span>' for r in rs)
        body = [f"<p class='msg'>{E(_spec_line(run.specs[case]))}</p>"]
        head = ["implementation", "verdict", "worst error / tolerance", "worst at",
                "|diff| there", "largest relative error", "largest ULP distance",
                "elements out of tolerance", "origin", "seconds"]
        rows, notes = [], set()
        for r in rs:
            cells = [_td(f"{r.impl} vs {r.baseline}"), f"<td>{_status_span(r)}</td>"]
            if r.tensors:
                f = figures(r.tensors)
                notes |= f["notes"]
                cells += [_td(f["ratio"], True), _td(f["at"]), _td(f["abs"], True),
                          _td(f["rel"], True), _td(f["ulp"], True),
                          _td(f"{f['n_bad']} of {f['n']}", True),
                          _td(r.origin.label if r.origin else "")]
            else:
                cells.append(f'<td colspan="7">{E(r.message)}</td>')
            cells.append(_td(f"{r.seconds:.3f}", True))
            rows.append(f"<tr>{''.join(cells)}</tr>")
        body.append(_table(head, rows, notes))
        for r in rs:
            if r.status in DIVERGENT:
                body.append(_divergent_detail(r, repros, charts))
            elif r.status not in ("pass", "unsupported"):
                body.append(f"<h3>{E(r.impl)} vs {E(r.baseline)}: {_status_span(r)}</h3>"
                            f"<p class='msg'>{E(r.message)}</p>")
        passing = [r for r in rs if r.status == "pass"]
        body.append(charts.passing(case, passing))
        out.append(f'<details id="{_anchor(case)}"{" open" if is_open else ""}><summary>'
                   f'<b>{E(case)}</b> {tags}</summary>{"".join(body)}</details>')
    return "".join(out)


def _divergent_detail(r: Verdict, repros: dict, charts: _Charts) -> str:
    parts = [f"<h3>{E(r.impl)} vs {E(r.baseline)}: {_status_span(r)}</h3>",
             f"<p class='msg'>{E(r.message)}</p>"]
    if r.closer:
        parts.append(f"<p class='msg'>Oracle: {E(closer_text(r.closer))}.</p>")
    if r.root_causes:
        parts.append(f"<p class='msg'>Why: {_why_html(r)}</p>")
    parts += [f"<p class='msg'>{note}</p>" for note in _notes_html(r, repros)]
    bad = [t for t in r.tensors if not t.passed]
    if bad:
        rows, notes = [], set()
        for t in bad[:FAILING_TENSOR_ROWS]:
            f = figures([t])
            notes |= f["notes"]
            role = "origin" if t is r.origin else "another root cause" if t.label in {
                c.explains for c in r.root_causes[1:]} else "consequence"
            rows.append("<tr>" + "".join([
                _td(t.label), _td(role), _td(t.where() if t.worst_index else ""),
                _td(f"{_value(t.worst_value, r.dtype)} vs {_value(t.worst_baseline, r.dtype)}"),
                _td(_diff_at_worst(t), True), _td(_num(t.worst_tol), True),
                _td(f["ratio"], True),
                _td(f["rel"], True), _td(f["ulp"], True),
                _td(f"{t.n_bad} of {f['n']}", True)]) + "</tr>")
        if len(bad) > FAILING_TENSOR_ROWS:
            rows.append(f'<tr><td colspan="10">… and {len(bad) - FAILING_TENSOR_ROWS} more '
                        f'out of tolerance (summary.csv lists them all)</td></tr>')
        parts.append(_table(["tensor out of tolerance", "role", "worst element",
                             f"{r.impl} vs {r.baseline} there", "|diff| there", "tolerance",
                             "error / tolerance", "relative error", "ULP distance",
                             "elements out"], rows, notes))
    if r.tensors:
        parts.append(charts.divergent(r))
    return "".join(parts)


def run_details_html(run: RunResult) -> str:
    env = environment()
    items = [("started", run.started), ("took", f"{run.wall_seconds:.1f} seconds"),
             ("baseline", run.baseline), ("cases", str(len(run.specs))),
             ("comparisons", str(len(run.results)))]
    items += [(k, str(v)) for k, v in env.items()]
    dl = "".join(f"<dt>{E(k)}</dt><dd>{E(v)}</dd>" for k, v in items)
    tol_rows = []
    for dt in ("float64", "float32"):
        for phase, t in default_tolerances(dt).items():
            tol_rows.append(f"<tr>{_td(dt)}{_td(phase)}{_td(_num(t.rtol), True)}"
                            f"{_td(_num(t.atol), True)}</tr>")
    override = run.tolerance_override
    over = ("<p>Overridden for this run: " + E(", ".join(
        f"{p}: " + ", ".join(f"{k}={v:g}" for k, v in vals.items())
        for p, vals in override.items())) + ".</p>") if override else ""
    return (f'<dl class="kv">{dl}</dl><h3>Tolerances</h3><p>An element passes when '
            f'|a − b| ≤ atol + rtol · M, M being the magnitude from the running error analysis '
            f'(<code>{DOCS["tolerances"]}</code> in backprop-harness\'s repository); '
            f'rtol = {FORWARD_K:g} eps forward and {BACKWARD_K:g} eps backward and for the '
            f'update ({LOW_PRECISION_K:g} eps in bfloat16 and float16). Defaults:</p>'
            + _table(["dtype", "phase", "rtol", "atol"], tol_rows, set()) + over +
            "<h3>Files of this report</h3><p>summary.md (this page in Markdown), summary.csv "
            "(one row per traced tensor), mismatches.csv (out-of-tolerance elements), "
            "run.json, junit.xml, failing/ (the spec of each divergent case and "
            f"reproduce.sh), described in <code>{DOCS['files']}</code>.</p>")


def html_report(run: RunResult, repros: dict, charts: bool = True) -> str:
    from ..waivers import summary_lines
    word, sentence = verdict_sentence(run)
    counts = run.counts()
    drawer = _Charts(run, charts)
    body = [
        "<h1>backprop-harness</h1>",
        f'<p class="verdict"><span class="badge {word}">{word}</span>{E(sentence)}</p>',
        f"<p class='sub'>{count(len(run.specs), 'case')}; {E('; '.join(_per_impl(run)))}. "
        f"{counts['pass']} pass, {counts['fail']} fail, {count(counts['error'], 'error')}, "
        f"{count(counts['xfail'], 'known deviation')}, {counts['unsupported']} not supported"
        f"{', ' + count(counts['xpass'], 'unexpected pass') if counts.get('xpass') else ''}; "
        f"{run.wall_seconds:.1f} s, started {E(run.started)}.</p>",
        "".join(f"<p class='sub'>Note: {E(n)}</p>" for n in run.notes),
        "".join(f"<p class='sub'>{E(line)}</p>" for line in summary_lines(run)),
        f"<p class='sub'>On this page: the heat map, <a href='#divergences'>divergences "
        f"({len(_divergent(run))})</a>, <a href='#implementations'>implementations</a>, "
        f"<a href='#cases'>cases</a>, <a href='#details'>run details</a>.</p>",
        "<h2>Where they differ: worst error / tolerance per quantity and layer</h2>",
        heatmap_html(run),
        f"<h2 id='divergences'>Divergences ({len(_divergent(run))})</h2>",
        divergences_html(run, repros),
        "<h2 id='implementations'>Implementations</h2>", implementations_html(run),
        "<h2 id='cases'>Cases</h2>", drawer.note() if charts else "",
        "<p class='notes'>Each chart: every traced tensor in computation order (per step: d, "
        "h per layer, u, e, then v, ∂W, ∂b from the last layer; then the updated parameters), "
        "its worst error / tolerance on a log scale; above the dashed line is out of "
        "tolerance.</p>",
        cases_html(run, repros, drawer),
        "<h2 id='details'>Run details</h2>", run_details_html(run)]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>backprop-harness {word}</title><style>{STYLE}{_bin_css()}</style></head>"
            f"<body>{''.join(body)}</body></html>")
