"""The runner (harness/runner.py): --jobs workers, trace_many() batches and threads, retries."""

from dataclasses import replace

import numpy as np
import pytest

from harness.suite import default_suite


@pytest.mark.slow
def test_jobs_send_trace_many_one_batch_per_worker(plugins):
    """With --jobs 2, an implementation with trace_many() gets its cases first as two batches
    (every other case), one call per worker, each case charged its share of the call."""
    from harness.runner import run_tasks
    specs = default_suite("float64", "seed*") + default_suite("float64", "kinks-*")
    tasks = [(name, s) for s in specs for name in ("many", "reference")]
    outcomes = run_tasks(tasks, jobs=2, timeout=60)
    assert [(o.impl, o.case, o.status) for o in outcomes] == [(n, s.name, "ok") for n, s in tasks]
    calls = {}
    for k, o in enumerate(o for o in outcomes if o.impl == "many"):
        calls.setdefault(k % 2, set()).add(tuple(map(tuple, o.trace.settings["many_calls"])))
        assert o.seconds >= 0.2 / len(specs)
    halves = (len(specs) + 1) // 2, len(specs) // 2
    assert calls == {k: {(("MainThread", n),)} for k, n in enumerate(halves)}


@pytest.mark.slow
def test_jobs_retry_a_batch_case_by_case_when_its_worker_dies(plugins):
    """trace_many() aborts its worker: the cases run again one by one and pass."""
    from harness.runner import run_tasks
    specs = [replace(s, name=s.name + "-many-aborts") for s in default_suite("float64", "seed*")]
    tasks = [(name, s) for s in specs for name in ("many", "reference")]
    outcomes = run_tasks(tasks, jobs=2, timeout=60)
    assert [(o.impl, o.status) for o in outcomes] == [(n, "ok") for n, _ in tasks]
    assert all(o.trace.settings["many_calls"] == [] for o in outcomes if o.impl == "many")


@pytest.fixture
def in_process(plugins):
    """Adapters loaded in this process (--in-process) for the test, behind the wall after."""
    from harness import registry
    registry.set_wall(False)
    yield
    registry.set_wall(True)


@pytest.mark.parametrize("raises", [False, True])
def test_trace_many_runs_on_a_thread_of_the_runner_and_its_outcomes_come_last(in_process,
                                                                              raises):
    """In one process (--in-process) an implementation with trace_many() gets all its specs in one call, on
    a thread the runner starts; the other tasks run meanwhile and its outcomes come after
    theirs, each case charged a share of the call's 0.2 s. A call that raises is replaced by
    one trace() per case, with the same numbers."""
    from harness.registry import get
    from harness.runner import run_tasks
    many = type(get("many").impl)  # the class the entry point loaded
    many.calls.clear()
    specs = default_suite("float64", "seed*") + default_suite("float64", "kinks-*")
    if raises:
        specs = [replace(s, name=s.name + "-many-raises") for s in specs]
    tasks = [(name, s) for s in specs for name in ("many", "reference")]
    done = []
    outcomes = run_tasks(tasks, on_done=lambda o: done.append(o.impl))
    assert many.calls == [("trace-many-many", [s.name for s in specs])]
    assert done == ["reference"] * len(specs) + ["many"] * len(specs)
    assert [(o.impl, o.case) for o in outcomes] == [(n, s.name) for n, s in tasks]
    assert all(o.status == "ok" for o in outcomes)
    if not raises:
        assert sum(o.seconds for o in outcomes if o.impl == "many") >= 0.2
    for o in outcomes:  # the same numbers as the reference: a correct engine
        if o.impl == "many":
            ref = next(r for r in outcomes if r.case == o.case and r.impl == "reference")
            np.testing.assert_array_equal(o.trace.steps[0].layers[0].v,
                                          ref.trace.steps[0].layers[0].v)

