"""Experiments: functions returning ``(measured, theoretical)``; the registry is :mod:`lab.claims.registry`.

Kept so that ``lab.experiments.experiment``, ``get_experiment``, ``EXPERIMENTS`` and the section
modules of the earlier layout keep working; an experiment may be named by its old name (``s1_i1``).
"""

from lab.claims.registry import (  # noqa: F401 - re-exported
    EXPERIMENTS,
    Experiment,
    check_options,
    engine_code,
    experiment,
    get_experiment,
)
from lab.claims.registry import load_experiments as load_all  # noqa: F401 - re-exported

__all__ = [
    "Experiment", "EXPERIMENTS", "experiment", "get_experiment", "load_all", "engine_code", "check_options",
]
