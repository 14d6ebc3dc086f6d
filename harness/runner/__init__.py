"""Run specs through implementations: each adapter behind the process wall (harness/wall/),
the shipped pure NumPy/mpmath ones in this process (inprocess.py), all tasks of a run at
once (tasks.py). Every (case, implementation) pair yields an Outcome (outcome.py)."""

from .inprocess import DEFAULT_TIMEOUT, bound_all, run_many, run_one, traces_many, walled
from ..outcome import ManyFailed, Outcome
from .tasks import progress, run_tasks

__all__ = ["DEFAULT_TIMEOUT", "ManyFailed", "Outcome", "bound_all", "progress", "run_many",
           "run_one", "run_tasks", "traces_many", "walled"]
