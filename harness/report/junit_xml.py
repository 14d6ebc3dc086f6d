"""junit.xml: a testcase per comparison, for CI (a known deviation or an unsupported case is
a skip)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..conformance import RunResult


def junit(run: RunResult) -> bytes:
    counts = run.counts()
    suite = ET.Element("testsuite", name="backprop-harness", tests=str(len(run.results)),
                       failures=str(counts["fail"]), errors=str(counts["error"]),
                       skipped=str(counts["unsupported"] + counts["xfail"]),
                       time=f"{run.wall_seconds:.3f}")
    for r in run.results:
        tc = ET.SubElement(suite, "testcase", classname=f"backprop_harness.{r.impl}",
                           name=f"{r.case}[vs {r.baseline}]", time=f"{r.seconds:.3f}")
        if r.status == "fail":  # (a strict XPASS fails without an origin)
            ET.SubElement(tc, "failure", message=r.message).text = \
                f"origin: {r.origin.label}; {r.consequences} consequences; {r.closer}" \
                if r.origin else r.message
        elif r.status == "error":
            ET.SubElement(tc, "error", message=r.message)
        elif r.status == "unsupported":
            ET.SubElement(tc, "skipped", message=r.message)
        elif r.status == "xfail":
            ET.SubElement(tc, "skipped", type="xfail",
                          message=f"known deviation: {r.known}; {r.message}")
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
