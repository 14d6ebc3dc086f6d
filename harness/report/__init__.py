"""Reports: a RunResult as tidy pandas tables and documents, written whole to reports/<run>/
or not at all.

Files: report.html (for a person: the verdict, a heat map of error / tolerance per quantity
and layer, the divergences, then the details per case with charts; self-contained, charts
inline as SVG), summary.md (the same in Markdown), summary.csv (case x impl x step x layer x
quantity), mismatches.csv (out-of-tolerance elements, capped), run.json (every verdict, its
origin and each quantity's worst figures; per-tensor figures with full=True), junit.xml, and,
when a comparison failed or was a known deviation, failing/<case>.json with the command that
reproduces it. NaN and Inf on either side of any quantity are reported as such, never as a
crash or an absurd number.

One module per format, named after its file: tables (summary.csv, mismatches.csv and the
figures as text every format shares), run_json, summary_md, report_html (with heatmap and
markup), junit_xml; writing builds the directory under a hidden name and renames it into
place.
"""

from .heatmap import heatmap_html
from .junit_xml import junit
from .report_html import html_report
from .run_json import run_document, strict_json
from .summary_md import markdown
from .tables import (NOTES, case_table, closer_text, count, figures, mismatch_table, special,
                     summary_table, verdict_sentence, worst_of)
from .writing import check_out_dir, default_out_dir, repro_command, write_report

__all__ = ["NOTES", "case_table", "check_out_dir", "closer_text", "count", "default_out_dir",
           "figures", "heatmap_html", "html_report", "junit", "markdown", "mismatch_table",
           "repro_command", "run_document", "special", "strict_json", "summary_table",
           "verdict_sentence", "worst_of", "write_report"]
