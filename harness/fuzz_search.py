"""The property-based search: random networks judged one by one, each distinct disagreement
shrunk to a minimum.

find_failures() draws spec documents (harness/fuzz_draw.py) with hypothesis and judges each
like a case of `run` (harness/fuzz_verdict.py). The search goes on after a disagreement,
collecting distinct ones (by signature: one root cause, one finding) up to a limit, for a
number of examples or until a time; each is shrunk to its root cause's one-neuron spec where
it reduces, else by dropping layers, samples and steps while the same signature stays.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field, replace

from impls.reference import ACTIVATIONS, LOSSES

from .errors import HarnessError
from .fuzz_draw import fuzz_name, spec_docs
from .fuzz_verdict import check, explained, signature
from .judge import Verdict
from .spec import DTYPES, Spec, spec_from_dict

UNBOUNDED = 10 ** 9  # examples when only a time bounds the search


@dataclass
class Finding:
    """One distinct disagreement: the minimal spec (the one-neuron spec of its root cause
    where it reduces, else the network shrunk), its verdict, the network it was found on."""

    spec: Spec
    verdict: Verdict
    network: Spec
    key: tuple

    def __iter__(self):  # (spec, verdict), as find_failure() has always given
        return iter((self.spec, self.verdict))


@dataclass
class Campaign:
    """A search's findings, how many networks were drawn and compared (the others were out
    of the domain), how many shrinking tried, the repeats of each known signature, the
    divergences a known deviation covers (a case entry matching the network's generated
    name, or a signature entry naming its root causes), and whether --max-time ended it."""

    findings: list = field(default_factory=list)
    drawn: int = 0
    compared: int = 0
    shrunk: int = 0
    repeats: dict = field(default_factory=dict)
    known: int = 0
    timed_out: bool = False


class _Stop(Exception):
    """Ends the search: enough findings, or out of time."""


def find_failures(impl: str, baseline: str = "reference", examples: int | None = 100,
                  seed: int = 0, dtypes=DTYPES, limit: int = 5, known=(),
                  activations=ACTIVATIONS, losses=LOSSES, max_time: float | None = None,
                  shrink: int = 100, on_finding=None, **limits) -> Campaign:
    """Search `examples` random specs for up to `limit` distinct disagreements (by
    signature(): one root cause, one finding; a repeat is counted); each is shrunk to its
    root cause's one-neuron spec where it reduces, else by dropping layers, samples and
    steps while the same disagreement stays (`shrink` tries of its own, not counted in
    `examples`). `on_finding(finding)` is called as soon as one is found. `max_time`
    (seconds from this call) bounds the search; with examples None, only it does."""
    from hypothesis.configuration import set_hypothesis_home_dir

    if examples is None and max_time is None:
        raise ValueError("examples or max_time must bound the search")
    examples = UNBOUNDED if examples is None else examples
    campaign = Campaign()
    deadline = None if max_time is None else time.monotonic() + max_time
    with tempfile.TemporaryDirectory(prefix="bh-hypothesis-") as home:
        set_hypothesis_home_dir(home)  # hypothesis keeps nothing: no .hypothesis/ left here
        try:
            _search(impl, baseline, examples, seed, dtypes, known, campaign, activations,
                    losses, limits, deadline, limit, shrink, on_finding)
        finally:
            set_hypothesis_home_dir(None)
    return campaign


def find_failure(impl: str, baseline: str = "reference", examples: int = 100, seed: int = 0,
                 dtypes=DTYPES, **limits) -> Finding | None:
    """The first disagreement find_failures() finds, shrunk, or None."""
    campaign = find_failures(impl, baseline, examples, seed, dtypes, limit=1, **limits)
    return campaign.findings[0] if campaign.findings else None


def _search(impl, baseline, examples, seed, dtypes, known, campaign, activations, losses,
            limits, deadline, limit, shrink, on_finding):
    """One hypothesis search (generation only: the shrinking is ours) that records every
    distinct disagreement as it meets it."""
    from hypothesis import HealthCheck, Phase, assume, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import Unsatisfiable

    seen = {f.key for f in campaign.findings}

    @settings(max_examples=examples, deadline=None, database=None, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(spec_docs(dtypes, activations=activations, losses=losses, **limits))
    def prop(doc):
        if deadline is not None and time.monotonic() > deadline:
            campaign.timed_out = True
            raise _Stop()
        if len(campaign.findings) >= limit:
            raise _Stop()
        spec = spec_from_dict(doc)
        campaign.drawn += 1
        result = check(spec, impl, baseline, known)
        assume(result is not None)
        campaign.compared += 1
        if result.status == "xfail":  # a case entry's: "fuzz-<activations>-..." matched
            campaign.known += 1
            return
        if result.ok:
            return
        verdict = explained(spec, impl, baseline, known)
        if verdict is None or verdict.ok:  # a known deviation by signature
            campaign.known += 1
            return
        key = signature(spec, verdict)
        if key in seen:
            campaign.repeats[key] = campaign.repeats.get(key, 0) + 1
            return
        seen.add(key)
        finding = _shrink(spec, verdict, key, impl, baseline, known, shrink, campaign, deadline)
        campaign.findings.append(finding)
        if on_finding:
            on_finding(finding)

    try:
        prop()
    except (_Stop, Unsatisfiable):  # Unsatisfiable: no draw could be compared
        pass


def _shrink(spec: Spec, verdict: Verdict, key: tuple, impl: str, baseline: str, known,
            budget: int, campaign: Campaign, deadline) -> Finding:
    """The finding at its smallest: its root cause's one-neuron spec, judged again, where
    it reduces; otherwise the network with layers, samples and steps dropped while the same
    disagreement (signature) stays, at most `budget` tries."""
    cause = verdict.root_causes[0] if verdict.root_causes else None
    if cause is not None and cause.reproduced:
        small = spec_from_dict(dict(cause.spec, name=fuzz_name([cause.spec["layers"][0][
            "activation"]], cause.spec["loss"], spec.dtype) + "-root-cause"))
        again = check(small, impl, baseline, known)
        campaign.shrunk += 1
        if again is not None and not again.ok:
            return Finding(small, replace(again, root_causes=verdict.root_causes,
                                          blame=verdict.blame,
                                          blame_reason=verdict.blame_reason), spec, key)
        return Finding(spec, verdict, spec, key)
    for candidate in _smaller(spec):
        if campaign.shrunk >= budget or (deadline is not None and time.monotonic() > deadline):
            break
        campaign.shrunk += 1
        result = explained(candidate, impl, baseline, known)
        if result is not None and not result.ok and signature(candidate, result) == key:
            smaller = _shrink(candidate, result, key, impl, baseline, known, budget, campaign,
                              deadline)
            return replace(smaller, network=spec)  # the network it was found on, not a step
    return Finding(spec, verdict, spec, key)


def _smaller(spec: Spec):
    """Specs one step smaller: a middle layer of equal widths dropped, one sample kept,
    one step fewer."""
    doc = spec.to_dict()
    names = [layer["activation"] for layer in doc["layers"]]
    for k in range(len(spec.layers)):
        if len(spec.layers) > 1 and spec.sizes[k] == spec.sizes[k + 1]:
            d = json.loads(json.dumps(doc))
            del d["layers"][k]
            d["name"] = fuzz_name(names[:k] + names[k + 1:], spec.loss, spec.dtype)
            yield from _valid(d)
    for s in range(spec.batch if spec.batch > 1 else 0):
        d = json.loads(json.dumps(doc))
        d["inputs"], d["targets"] = [d["inputs"][s]], [d["targets"][s]]
        yield from _valid(d)
    if spec.steps > 1:
        yield from _valid(dict(json.loads(json.dumps(doc)), steps=spec.steps - 1))


def _valid(doc: dict):
    try:
        yield spec_from_dict(doc)
    except HarnessError:
        return
