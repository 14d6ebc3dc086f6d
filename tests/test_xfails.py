"""The ledger of known deviations: version ranges, upstream links, unexpected passes."""

from importlib.metadata import version

import pytest

from harness.errors import HarnessError
from harness.judge import judge
from harness.registry import get
from harness.runner import run_one
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK
from harness.xfails import cite, read_xfails
from conftest import needs


def _entries(tmp_path, text):
    path = tmp_path / "xfails.txt"
    path.write_text(text)
    return read_xfails(path)


def test_an_entry_carries_its_link_and_version_range(tmp_path):
    x, = _entries(tmp_path, "seed* versions=numpy>=1.0 url=https://example.org/1 a reason\n")
    assert (x.pattern, x.versions, x.url, x.reason) == ("seed*", "numpy>=1.0",
                                                       "https://example.org/1", "a reason")
    assert x.applies() and x.matches("seed-2-2-2") and "https://example.org/1" in x.cited


def test_an_entry_whose_range_excludes_the_installed_version_does_not_apply(tmp_path):
    installed = version("numpy")
    x, y = _entries(tmp_path, f"seed* versions=numpy<{installed} fixed long ago\n"
                              f"seed* versions=no-such-package-xyz>=1 not installed\n")
    assert not x.applies() and not x.matches("seed-2-2-2")
    assert not y.applies()
    spec = spec_from_dict(SEED_NETWORK)
    base = run_one("reference", spec)
    broken = run_one("reference", spec_from_dict({**SEED_NETWORK, "learning_rate": 0.6}))
    verdict = judge(spec, base, broken.__class__(**{**broken.__dict__, "impl": "other"}),
                    known=[x, y])
    assert verdict.status == "fail"  # neither entry covers it here


def test_a_bad_version_range_is_one_error_line(tmp_path):
    with pytest.raises(HarnessError, match=r"xfails.txt:1: versions=jax<<1"):
        _entries(tmp_path, "seed* versions=jax<<1 reason\n")


def test_a_known_deviation_that_conforms_is_an_unexpected_pass(tmp_path):
    """XPASS: the report asks whether it was fixed upstream; strict mode fails on it."""
    x, = _entries(tmp_path, "seed* url=https://example.org/2 expected to fail\n")
    spec = spec_from_dict(SEED_NETWORK)
    base = run_one("reference", spec)
    other = base.__class__(**{**base.__dict__, "impl": "other"})
    loose, strict = (judge(spec, base, other, known=[x], strict=s) for s in (False, True))
    assert loose.status == "xpass" and loose.ok and "fixed upstream?" in loose.message
    assert strict.status == "fail" and not strict.ok


@needs("jax")
def test_jax_ships_its_elu_entry_with_links_and_range():
    entries = read_xfails(get("jax").impl.xfails)
    elu = [x for x in entries if x.pattern.startswith("regions-elu-*")]
    assert elu and elu[0].url.endswith("jax-ml/jax/issues/39795") and elu[0].versions
    assert elu[0].applies()


def test_a_citation_names_each_reason_once_and_each_file_once_relative(tmp_path, monkeypatch):
    """Three lines of one deviation read as one reason with its link, then the file once,
    relative to the working directory, with its line numbers in order (the judge finds the
    entries in the order of the quantity groups, not of the lines)."""
    (tmp_path / "impls").mkdir()
    path = tmp_path / "impls" / "xfails.txt"
    path.write_text("# a comment\n"
                    "case-v url=https://example.org/9 the reason\n"
                    "case-grad_* url=https://example.org/9 the reason\n"
                    "case-params url=https://example.org/9 the reason\n"
                    "other another reason\n")
    v, grad, params, other = read_xfails(path)
    monkeypatch.chdir(tmp_path)
    assert cite([params, v, grad]) == \
        "the reason [https://example.org/9] (impls/xfails.txt:2,3,4)"
    assert cite([other, v]) == \
        "another reason; the reason [https://example.org/9] (impls/xfails.txt:2,5)"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # outside the working directory: a sys.path root
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cite([v]).endswith("(impls/xfails.txt:2)")
