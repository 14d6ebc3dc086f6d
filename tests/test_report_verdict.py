"""The report's verdict sentence: its word and every count in it, for runs of known make-up
(a failure and an error both disagree; an unsupported case is not compared)."""

import pytest

from harness.conformance import RunResult
from harness.judge import Verdict
from harness.report import verdict_sentence


def run_of(*groups, pairwise=False):
    """A run holding, per (status, n), n verdicts of that status; with `pairwise`, each
    verdict against a baseline of its own, as --pairwise runs are."""
    results = [Verdict(case=f"c{i}", dtype="float64", impl="torch", status=status,
                       baseline=f"b{i}" if pairwise else "reference")
               for i, status in enumerate(s for s, n in groups for _ in range(n))]
    return RunResult(results=results, specs={}, impls={}, baseline="reference", started="",
                     wall_seconds=0.0, impl_seconds={}, tolerance_override={})


@pytest.mark.parametrize("groups, word, sentence", [
    ([("fail", 2), ("error", 1), ("pass", 4), ("unsupported", 3), ("xfail", 1)], "FAIL",
     "3 of 8 comparisons disagree with the baseline reference (1 of them an error)."),
    ([("error", 2), ("pass", 1)], "FAIL",
     "2 of 3 comparisons disagree with the baseline reference (2 of them errors)."),
    ([("fail", 1), ("pass", 5), ("xpass", 1)], "FAIL",
     "1 of 7 comparisons disagrees with the baseline reference."),
    ([("pass", 5), ("unsupported", 2)], "PASS",
     "All 5 comparisons agree with the baseline reference within tolerance."),
    ([("pass", 3), ("xfail", 2)], "PASS", "Every comparison agrees with the baseline "
     "reference within tolerance, except 2 known deviations (listed below)."),
    ([("pass", 3), ("xfail", 1)], "PASS", "Every comparison agrees with the baseline "
     "reference within tolerance, except 1 known deviation (listed below)."),
    ([("pass", 3), ("xpass", 2), ("unsupported", 1)], "PASS",
     "All 5 comparisons agree with the baseline reference within tolerance, 2 of them where a "
     "known deviation was expected (listed below)."),
], ids=["fail-error", "errors-only", "fail", "pass", "xfails", "one-xfail", "xpass"])
def test_the_verdict_sentence_counts(groups, word, sentence):
    assert verdict_sentence(run_of(*groups)) == (word, sentence)


@pytest.mark.parametrize("groups, word, sentence", [
    ([("fail", 1), ("error", 2), ("pass", 3), ("unsupported", 1)], "FAIL",
     "3 of 6 pairs compared disagree (2 of them errors)."),
    ([("fail", 2), ("pass", 1)], "FAIL", "2 of 3 pairs compared disagree."),
    ([("fail", 1), ("pass", 1)], "FAIL", "1 of 2 pairs compared disagrees."),
    ([("pass", 4), ("xfail", 3), ("unsupported", 2)], "PASS",
     "All 7 pairs compared agree within tolerance, except 3 known deviations."),
    ([("pass", 2), ("unsupported", 1)], "PASS", "All 2 pairs compared agree within tolerance."),
], ids=["fail-error", "fail", "two-baselines", "xfails", "pass"])
def test_the_pairwise_verdict_sentence_counts(groups, word, sentence):
    assert verdict_sentence(run_of(*groups, pairwise=True)) == (word, sentence)
