"""The hypothesis fuzzer (harness/fuzz.py): random networks, a disagreement shrunk to a minimum."""

import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

from conftest import needs
from harness.fuzz_search import find_failure, find_failures
from harness.registry import get
from harness.xfails import shipped

pytestmark = needs("hypothesis")


@pytest.mark.slow
@needs("hypothesis", "torch")
def test_fuzzing_torch_finds_nothing_its_ledger_does_not_name():
    """Every activation and loss, its ledger applied as `fuzz` applies it: F.hardsigmoid's
    float64 backward (1.0f / 6.0f) is named by its signature entry wherever the draws reach
    it, also under an upstream that cancels (the probe's te = 1), and nothing else differs."""
    assert find_failure("torch", examples=60, seed=3, known=shipped(get("torch").impl)) is None


@pytest.mark.slow
@needs("hypothesis", "jax")
def test_fuzzing_jax_finds_nothing_its_ledger_does_not_name():
    """JAX's elu, selu and celu lose precision far below 0 (the expm1 rule; celu's probe keeps
    its alpha) and softsign's quotient rule beyond sqrt(max): the ledger names each by its
    signature; elsewhere the fuzzer finds nothing."""
    assert find_failure("jax", examples=60, seed=4, known=shipped(get("jax").impl)) is None


@pytest.mark.slow
def test_fuzzing_a_planted_bug_shrinks_to_a_minimal_network(plugins, tmp_path):
    found = find_failure("bug-bias", examples=60, seed=1)
    assert found is not None
    spec, result = found
    # a bias gradient needs one layer with one neuron and one sample to go wrong
    assert len(spec.layers) == 1 and spec.sizes == [1, 1] and spec.batch == 1 and spec.steps == 1
    assert result.origin.quantity == "grad_bias"


@pytest.mark.slow
def test_the_fuzz_command_writes_the_minimal_spec_and_the_command_that_reruns_it(plugins,
                                                                                   tmp_path):
    out = subprocess.run([sys.executable, "-m", "harness", "fuzz", "--impl", "bug-bias",
                          "--examples", "60", "--seed", "1", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 1, out.stderr
    written = json.loads((tmp_path / "minimal-bug-bias-vs-reference.json").read_text())
    assert len(written["layers"]) == 1
    cmd = shlex.split(out.stdout.split("reproduce: ")[1].splitlines()[0])
    again = subprocess.run([*cmd, "--out", str(tmp_path / "r")], capture_output=True,
                           text=True, timeout=300, cwd=tmp_path)  # from any directory
    assert again.returncode == 1



@pytest.mark.slow
def test_a_planted_elu_bug_is_one_finding_blamed_and_reduced(plugins, tmp_path):
    """exp(d) - 1 for elu: many drawn networks fail, in every dtype and at many d; one
    finding per root-cause signature, whose d ranges split the cause in two at most (d in
    (-0.001, 0) and in (-1, -0.001], which the dictionary's 10^-k around 0 both reach), the
    rest counted as repeats; each shrunk to one neuron, blamed."""
    campaign = find_failures("bug-elu-exp", examples=200, seed=0, limit=5,
                             activations=["elu"])
    assert 1 <= len(campaign.findings) <= 2 and sum(campaign.repeats.values()) >= 1
    for spec, verdict in campaign.findings:
        assert spec.sizes == [1, 1] and spec.batch == 1 and verdict.blame == "b-wrong"
        cause = verdict.root_causes[0]
        assert (cause.function, cause.part) == ("elu", "f") and -1 < cause.inputs["d"] < 0


@pytest.mark.slow
def test_max_time_is_honoured_and_a_killed_run_keeps_its_findings(plugins, tmp_path):
    import time
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "harness", "fuzz", "--impl", "many",
                          "--examples", "100000", "--max-time", "1", "--out", str(tmp_path / "a")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "stopped at --max-time 1 s" in out.stdout, out.stderr
    assert time.monotonic() - t0 < 1 + 60  # the search itself stops at 1 s; imports aside
    findings = tmp_path / "b" / "findings.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "fuzz", "--impl", "bug-elu-exp",
                             "--activation", "elu", "--examples", "100000", "--out",
                             str(tmp_path / "b")], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (findings.exists() and findings.read_text()):
            time.sleep(0.5)
    finally:
        proc.kill()
        proc.communicate()
    lines = [json.loads(x) for x in findings.read_text().splitlines()]
    assert lines and lines[0]["impl"] == "bug-elu-exp" and lines[0]["blame"] == "b-wrong"
    assert lines[0]["root_causes"][0]["function"] == "elu"
    assert "elu's f" in lines[0]["signature"] and lines[0]["reproduce"]


def test_the_fuzzer_draws_16_bit_dtypes_where_supported():
    from harness.fuzz import supported_dtypes
    assert supported_dtypes("reference", "reference") == ("float64", "float32", "bfloat16",
                                                           "float16")


# ---------------------------------------------------------------- draws from the domain model

@pytest.mark.parametrize("impl, function", [("bug-elu-exp", "elu"),
                                            ("bug-softplus-naive", "softplus")])
def test_the_dictionary_finds_point_defects_within_the_time(plugins, tmp_path, impl, function):
    """elu as exp(d) - 1 and softplus as log(1 + exp(d)) are wrong only near special points
    (0; below log(eps) + 2); random draws from [-2, 2] miss them (the issue: 0 findings in
    100 networks), the dictionary of points finds each: exit 1, the function named, within
    --max-time 60 of search (it stops at the first finding)."""
    out = subprocess.run([sys.executable, "-m", "harness", "fuzz", "--impl", impl,
                          "--max-time", "60", "--max-findings", "1", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 1, out.stdout + out.stderr
    finding = next(line for line in out.stdout.splitlines() if "FINDING" in line)
    assert f"{function}'s" in finding, finding
    record = json.loads((tmp_path / "findings.jsonl").read_text().splitlines()[0])
    assert record["root_causes"][0]["function"] == function


def test_special_values_are_the_points_their_neighbours_and_around():
    from harness.fuzz_draw import special_values
    values = special_values("softplus", "float64")
    assert 20.0 in values and float(np.nextafter(20.0, 21.0)) in values
    assert 20.0 + 20.0 * 1e-7 in values and -(2.0 ** -1022) in values
    low = special_values("sigmoid", "float16")
    assert all(float(np.float16(v)) == v for v in low)  # numbers of the dtype


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_dictionary_of_relu_is_0_its_neighbours_and_10_to_the_minus_k_around(dtype):
    """relu's one point is 0: the dictionary is 0, the smallest normal numbers to either side
    (coverage's neighbours of 0), then -10^-k and 10^-k for k = 1 to 16 (0's scale is 1),
    each rounded to the dtype; identity has no point, so no dictionary."""
    from harness.fuzz_draw import special_values
    dt = np.dtype(dtype)
    tiny = float(np.finfo(dt).tiny)
    around = [float(dt.type(s * 10.0 ** -k)) for k in range(1, 17) for s in (-1, 1)]
    assert special_values("relu", dtype) == [-tiny, 0.0, tiny] + around
    assert special_values("identity", dtype) == []


def test_each_drawn_field_is_of_its_documented_kind():
    """Over 300 draws (seed 2) of float64 and bfloat16 networks: the name is fuzz-<activations>-
    <loss>-<dtype>; a leaky_relu layer has a slope of its accepted classes or 0.01 or 0.1 and a
    celu layer an alpha of 0.5, 1 or 2, no other layer either; about half the neurons whose
    activation has points (DICTIONARY) are at one of its dictionary's values (weights 0, bias
    from special_values(); hypothesis favours small draws, so more than half); inputs and
    weights are float32 numbers in [-2, 2] (of both signs) or spec_docs' own picks; some
    bfloat16 networks, none in float64, have a first layer 256 inputs wider, x = 1 or 0.5 and
    w = 1.0625 or -0.75 there (0 for a dictionary neuron); targets of binary cross-entropy
    are in [0, 1], of hinge -1 or 1, of poisson and kl >= 0, of squared error a float32
    number in [-2, 2] or of TARGETS;
    depth 1 to 3, widths 1 to 5, batch 1 to 4, steps 1 to 3, a learning rate of its classes or
    0.01, each seen. (Which values hypothesis draws varies with what ran before in the
    process: the rarer sets are only bounded.)"""
    from hypothesis import HealthCheck, given, seed, settings
    from harness.fuzz_draw import TARGETS, _classes, fuzz_name, spec_docs, special_values
    slopes, alphas = set(_classes("slope") + [0.01, 0.1]), {0.5, 1.0, 2.0}
    rates = set(_classes("learning_rate") + [0.01])
    picked = (0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 20.0, -30.0, 1e-6, -1e-12, 1e-20)  # spec_docs' own
    seen = {k: set() for k in ("slope", "alpha", "rate", "depth", "width", "batch", "steps",
                               "x", "w", "plain", "picked")}
    count = {"neurons": 0, "dictionary": 0, "bfloat16": 0, "wide": 0}

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @seed(2)
    @given(spec_docs(("float64", "bfloat16")))
    def draw(doc):
        dtype, layers, y = doc["dtype"], doc["layers"], np.array(doc["targets"])
        assert doc["name"] == fuzz_name([lay["activation"] for lay in layers], doc["loss"], dtype)
        width = len(layers[0]["weights"][0])
        wide = dtype == "bfloat16" and width > 5
        count["bfloat16"] += dtype == "bfloat16"
        count["wide"] += wide
        assert all(len(row) == width for row in doc["inputs"])
        numbers = [v for rows in [doc["inputs"]] + [lay["weights"] for lay in layers]
                   for row in rows for v in row]
        assert all(v in picked or (-2 <= v <= 2 and float(np.float32(v)) == v) for v in numbers)
        seen["plain"].update(v for v in numbers if v not in picked)
        seen["picked"].update(v for v in numbers if v in picked[6:])  # not float32 in [-2, 2]
        if wide:
            seen["x"].update(row[-1] for row in doc["inputs"])
            seen["w"].update(row[-1] for row in layers[0]["weights"])
        seen["depth"].add(len(layers))
        seen["width"].update(len(lay["bias"]) for lay in layers)
        seen["width"].add(width - 256 if wide else width)
        seen["batch"].add(len(doc["inputs"]))
        seen["steps"].add(doc["steps"])
        seen["rate"].add(doc["learning_rate"])
        for lay in layers:
            act = lay["activation"]
            assert ("slope" in lay) == (act == "leaky_relu") and ("alpha" in lay) == (act == "celu")
            seen["slope"].add(lay.get("slope", 0.0))
            seen["alpha"].add(lay.get("alpha", 1.0))
            specials = special_values(act, dtype)
            for row, b in zip(lay["weights"], lay["bias"]):
                count["neurons"] += bool(specials)
                count["dictionary"] += bool(specials) and not any(row) and b in specials
        if doc["loss"] == "binary_cross_entropy":
            assert ((0 <= y) & (y <= 1)).all()
        elif doc["loss"] == "hinge":
            assert set(y.ravel().tolist()) <= {-1.0, 1.0}
        elif doc["loss"] in ("poisson", "kl_divergence"):
            assert (y >= 0).all()
        elif doc["loss"] == "squared_error":
            values = y.ravel().tolist()
            assert all(v in TARGETS or (-2 <= v <= 2 and float(np.float32(v)) == v)
                       for v in values)

    draw()
    assert seen["slope"] <= slopes | {0.0} and seen["alpha"] <= alphas
    assert seen["rate"] == rates and seen["steps"] == {1, 2, 3} and seen["batch"] == {1, 2, 3, 4}
    assert seen["depth"] == {1, 2, 3} and seen["width"] == {1, 2, 3, 4, 5}
    assert seen["x"] <= {1.0, 0.5} and seen["w"] <= {1.0625, -0.75, 0.0} and seen["w"]
    assert min(seen["plain"]) < -1 and max(seen["plain"]) > 1 and seen["picked"]
    assert 0.5 < count["dictionary"] / count["neurons"] < 0.8  # hypothesis favours 0 in [0, 1]
    assert 0 < count["wide"] < count["bfloat16"]


def test_drawn_specs_are_valid_and_reach_every_pair_and_class():
    """Every drawn document is a valid spec; over a thousand draws every output activation of
    the format's pairs and every accepted class of reduction and learning rate appears (each
    pair itself: about 190 with the wider surface, more than a thousand hypothesis draws
    reach, binary cross-entropy's one pair among them; the suite's pair cases hold each), and
    every class of slope over draws of leaky_relu networks (among all activations, leaky_relu
    is too rare for 1,000 draws to reach each of its slope's classes every time)."""
    from hypothesis import HealthCheck, given, seed, settings
    from harness.fuzz_draw import spec_docs
    from harness.spec import spec_from_dict
    from impls.reference.domain import REFUSED, fields, pairs
    seen = {"pairs": set(), "slope": set(), "reduction": set(), "learning_rate": set()}

    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @seed(0)
    @given(spec_docs(("float64", "float32")))
    def draw(doc):
        spec = spec_from_dict(doc)
        seen["pairs"].add((spec.layers[-1].activation, spec.loss))
        seen["reduction"].add(spec.reduction)
        seen["learning_rate"].add(spec.learning_rate)
        seen["slope"].update(layer.slope for layer in spec.layers
                             if layer.activation == "leaky_relu")

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @seed(1)
    @given(spec_docs(("float64", "float32"), activations=("leaky_relu",)))
    def draw_slopes(doc):  # the slope's classes where every layer has one
        seen["slope"].update(layer.slope for layer in spec_from_dict(doc).layers)

    draw()
    draw_slopes()
    assert seen["pairs"] <= set(pairs())
    assert {a for a, _ in seen["pairs"]} == {a for a, _ in pairs()}
    for fld in fields():
        if fld.name in ("slope", "reduction", "learning_rate"):
            accepted = [c for c in fld.classes if (fld.name, c.name) not in REFUSED]
            assert all(any(c.holds(v) for v in seen[fld.name]) for c in accepted), fld.name


def test_max_time_bounds_each_implementation_not_the_run(plugins, tmp_path):
    """--max-time is a search time per implementation, from its own start, and without
    --examples the search goes on until it: two clean implementations each search 2 s and
    each draws networks (a shared deadline would leave the second none; a deadline read as
    a clock reading, none at all)."""
    import time
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "harness", "fuzz", "--impl", "bug-relu-kink",
                          "many", "--activation", "identity", "--loss", "mse", "--dtype",
                          "float64", "--max-time", "2", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    done = [line for line in out.stdout.splitlines() if "random networks drawn" in line]
    assert [line.split(":")[0] for line in done] == ["bug-relu-kink", "many"]
    assert all(int(line.split(": ")[1].split()[0]) > 0 for line in done)
    assert out.stdout.count("stopped at --max-time 2 s") == 2
    assert time.monotonic() - t0 >= 2 * 2


def test_the_exit_status_is_1_if_any_implementation_has_a_finding(plugins, tmp_path, capsys):
    """The first implementation has findings, the last none: the exit status is still 1.
    (In this process: mutation testing sees run_fuzz's calls.)"""
    from harness.cli import main
    code = main(["fuzz", "--impl", "bug-bias", "bug-relu-kink", "--activation", "identity",
                 "--examples", "30", "--max-findings", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FINDING bug-bias" in out and "FINDING bug-relu-kink" not in out
    assert re.search(r"bug-relu-kink: \d+ random networks drawn, 30 compared", out)


def test_an_implementation_that_fails_every_draw_is_a_finding_not_skipped(plugins, tmp_path):
    campaign = find_failures("fault-raise", examples=10, seed=0, limit=1)
    assert campaign.compared >= 1 and len(campaign.findings) == 1
    assert campaign.findings[0].verdict.status == "error"


@needs("autograd")
def test_nothing_compared_is_a_failure_not_a_pass(tmp_path, capsys):
    """An implementation that supports none of the drawn networks (autograd: not float16)
    ends with a line saying so and exit 1, not hypothesis's Unsatisfiable traceback."""
    from harness.cli import main
    code = main(["fuzz", "--impl", "autograd", "--dtype", "float16", "--examples", "5",
                 "--out", str(tmp_path)])
    assert code == 1 and "autograd: NOTHING COMPARED" in capsys.readouterr().out


def test_shrinking_keeps_only_candidates_with_the_same_signature(monkeypatch):
    """A smaller candidate that fails for another reason is not taken: the minimum keeps the
    finding's signature. Here a candidate with one sample fails otherwise, one with fewer
    steps the same way: the result has both samples and one step."""
    from types import SimpleNamespace
    from harness import fuzz_search
    from conftest import random_spec
    spec = random_spec((2, 2), "tanh", batch=2, steps=2)
    failing = SimpleNamespace(ok=False, root_causes=())
    monkeypatch.setattr(fuzz_search, "explained", lambda s, *a, **k: failing)
    monkeypatch.setattr(fuzz_search, "signature",
                        lambda s, v: "other" if s.batch == 1 else "key")
    found = fuzz_search._shrink(spec, failing, "key", "x", "reference", (), 100,
                                fuzz_search.Campaign(), None)
    assert found.spec.batch == 2 and found.spec.steps == 1
