"""The ledger of known deviations: version ranges, upstream links, unexpected passes."""

from importlib.metadata import version
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.judge import judge
from harness.registry import get
from harness.rootcause import RootCause
from harness.runner import run_one
from harness.spec import spec_from_dict
from harness.suite import SEED_NETWORK
from harness.xfails import cite, read_xfails, shipped
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


def test_the_list_format_line_by_line(tmp_path):
    """Comments and blank lines skipped; each entry's source is its file and line; a word with
    '=' that is not versions= or url= belongs to the reason; no reason is 'known deviation'."""
    entries = _entries(tmp_path, "# a comment\n\n  seed-* tol=1e-9 too loose  \n"
                                 "#not-an-entry x\nkinks-*-v\n")
    path = tmp_path / "xfails.txt"
    assert [(x.pattern, x.reason, x.source, x.versions, x.url) for x in entries] == [
        ("seed-*", "tol=1e-9 too loose", f"{path}:3", "", ""),
        ("kinks-*-v", "known deviation", f"{path}:5", "", "")]
    assert entries[1].cited == "known deviation" and entries[1].matches("kinks-relu", "v")


def test_an_unreadable_list_is_one_error_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"seed* caf\xe9\n")
    with pytest.raises(HarnessError, match=rf"^cannot read the xfail list {path}: .*utf-8"):
        read_xfails(path)


def test_an_implementation_ships_its_list_as_an_attribute(tmp_path):
    path = tmp_path / "xfails.txt"
    path.write_text("seed-* shipped reason\n")
    x, = shipped(type("Impl", (), {"xfails": str(path)})())
    assert (x.pattern, x.reason) == ("seed-*", "shipped reason")
    assert shipped(object()) == [] and shipped(type("Impl", (), {"xfails": None})()) == []


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
def test_jax_ships_its_elu_entry_as_a_signature_with_links_and_range():
    entries = read_xfails(get("jax").impl.xfails)
    elu = [x for x in entries if ("function", "elu") in x.signature]
    assert elu and elu[0].url.endswith("jax-ml/jax/issues/39795") and elu[0].versions
    assert elu[0].applies() and dict(elu[0].signature) == {"function": "elu", "part": "t",
                                                           "input": "-inf..-1"}
    assert all(x.signature for x in entries)  # no entry names a case


def _cause(**kw):
    fields = dict(impl="x", function="elu", part="t", dtype="float64", inputs={"d": -30.0},
                  at=-30.0, value=0.0, exact="9.3576229688401746049e-14", reproduced=True,
                  explains="step 0 v[layer 0]")
    return RootCause(**{**fields, **kw})


def test_a_signature_entry_matches_a_root_cause_by_what_it_is(tmp_path):
    x, = _entries(tmp_path, "signature function=elu part=t input=-inf..-10 dtype=float64,"
                            "float32 symptom=zero,precision url=https://example.org/3 tail\n")
    assert x.signature and not x.matches("anything") and x.url == "https://example.org/3"
    assert x.covers(_cause())  # zero at d = -30
    assert x.covers(_cause(dtype="float32", value=9.3e-14))  # lost precision
    assert not x.covers(_cause(at=-5.0, inputs={"d": -5.0}))  # outside the input range
    assert not x.covers(_cause(part="f"))
    assert not x.covers(_cause(dtype="bfloat16"))
    assert not x.covers(_cause(value=float("nan")))  # symptom NaN is not listed
    assert not x.covers(_cause(reproduced=False))  # an unreduced claim is never "known"
    sub, = _entries(tmp_path, "signature part=product region=subnormal flush\n")
    assert sub.covers(_cause(function="layer", part="product", at=5e-279,
                             operands=(1.4e-309, 1.3e30)))


@pytest.mark.parametrize("line, message", [
    ("signature a reason", "needs at least one of function="),
    ("signature input=3..-3 r", "input=3..-3: expected LO..HI"),
    ("signature symptom=odd r", "symptom=odd: expected one of nan"),
])
def test_a_bad_signature_entry_is_one_error_line(tmp_path, line, message):
    with pytest.raises(HarnessError, match=message):
        _entries(tmp_path, line + "\n")


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


def test_a_citation_names_the_file_by_its_shortest_path_whatever_its_name_holds(
        tmp_path, monkeypatch):
    """A list in a folder named "pkg:2" (a colon: the line number is after the last one)
    under two sys.path entries: relative to the deeper, "xfails.txt", is the shortest (and
    not the first in sort order, "pkg:2/xfails.txt"); its lines in order."""
    folder = tmp_path / "pkg:2"
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(folder))
    from harness.xfails import Xfail
    entries = [Xfail("c", "r", f"{folder}/xfails.txt:7"), Xfail("c", "r", f"{folder}/xfails.txt:3")]
    assert cite(entries) == "r (xfails.txt:3,7)"


@pytest.mark.parametrize("line, message", [
    ("signature a reason", "a signature entry needs at least one of function=, part=, input=, "
                           "dtype=, region=, symptom="),
    ("signature input=abc r", "input=abc: expected LO..HI with LO <= HI"),
    ("signature symptom=odd r", "symptom=odd: expected one of nan, inf, zero, precision, wrong"),
])
def test_a_bad_signature_entry_is_this_line_naming_file_and_line(tmp_path, line, message):
    with pytest.raises(HarnessError) as err:
        _entries(tmp_path, "# one comment first\n" + line + "\n")
    assert str(err.value) == f"{tmp_path / 'xfails.txt'}:2: {message}"


def test_an_input_range_holds_both_its_ends(tmp_path):
    """input=LO..HI is closed: a cause at d = -30 (_cause's) is covered by -30..-10 and by
    -40..-30, and by -30..-30."""
    for bounds in ("-30..-10", "-40..-30", "-30..-30"):
        x, = _entries(tmp_path, f"signature function=elu input={bounds} r\n")
        assert x.covers(_cause()), bounds


def test_signature_keys_in_a_case_entry_are_words_of_its_reason(tmp_path):
    x, = _entries(tmp_path, "case-1 function=relu the reason\n")
    assert (x.pattern, x.signature, x.reason) == ("case-1", (), "function=relu the reason")


def test_a_citation_of_two_files_and_of_a_file_outside_every_root(tmp_path, monkeypatch):
    """Each file once, in the order met, ", " between; a file under neither the working
    directory nor a sys.path entry is cited as given."""
    import sys
    from harness.xfails import Xfail
    (tmp_path / "one.txt").write_text("case-1 first\n")
    (tmp_path / "two.txt").write_text("\ncase-2 second\n")
    entries = read_xfails(tmp_path / "one.txt") + read_xfails(tmp_path / "two.txt")
    monkeypatch.chdir(tmp_path)
    assert cite(entries) == "first; second (one.txt:1, two.txt:2)"
    outside = tmp_path.parent / "elsewhere" / "x.txt"
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p and not outside.is_relative_to(
        Path(p).resolve())])
    assert cite([Xfail("c", "r", f"{outside}:4")]) == f"r ({outside}:4)"


def test_a_region_entry_leaves_a_cause_in_another_region_uncovered(tmp_path):
    sub, = _entries(tmp_path, "signature part=product region=subnormal flush\n")
    assert not sub.covers(_cause(function="layer", part="product", at=1.0, operands=(1.0, 1.0)))
