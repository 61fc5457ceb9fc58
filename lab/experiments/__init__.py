"""Experiments: functions that return ``(measured, theoretical)`` (PEPit's contract).

An experiment runs the lab's batched optimizers on a problem with certified constants and
returns an :class:`Experiment`: what was measured (arrays, one entry per grid point / step /
seed) and what the theory predicts for exactly the same configurations (bound values from
``bounds/`` evaluated on the problem's constants, predicted exponents or optima).  Checks
(:mod:`lab.checks`) and figures (``figures/``) consume the same functions, so a figure never
shows numbers a test has not seen.  Sweeps go through :func:`lab.sweeps.run_sweep`, so results
are cached on disk (keyed by configuration and code version) and interrupted runs resume.

Contract
--------
::

    @experiment("s1_i1_deterministic")
    def s1_i1_deterministic(*, quick: bool = True, cache=True, **options) -> Experiment: ...

    measured, theoretical = get_experiment("s1_i1_deterministic")(quick=True)

``quick=True`` is the CI-sized configuration (seconds); ``quick=False`` the full one used by
``lab check`` and ``make figures``.  Options are validated before any work starts.
Experiments live in the section modules ``lab/experiments/s1.py`` … ``s4.py``; they are found
by :func:`load_all`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.claims._legacy_load import import_claim_modules
from lab.results import record
from lab.sweeps import PROJECT_PACKAGES

__all__ = [
    "Experiment",
    "EXPERIMENTS",
    "experiment",
    "get_experiment",
    "load_all",
    "engine_code",
    "check_options",
]


@dataclass(frozen=True)
class Experiment:
    """The result of an experiment.

    Attributes
    ----------
    name : the registered experiment name.
    measured : dict of measured quantities (NumPy arrays or floats).
    theoretical : dict of the matching predictions (bound values, exponents, optima).
    meta : configuration, problem description, grid axes, seeds and provenance.

    Unpacks as ``measured, theoretical = result``.
    """

    name: str
    measured: Mapping[str, Any]
    theoretical: Mapping[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        # figures and `lab check --export` collect the data behind what they show
        record(self)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        yield self.measured
        yield self.theoretical


#: name -> experiment function
EXPERIMENTS: dict[str, Callable[..., Experiment]] = {}


def experiment(name: str) -> Callable[[Callable[..., Experiment]], Callable[..., Experiment]]:
    """Register an experiment function under ``name`` (unique)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"experiment name must be an identifier string, got {name!r}")

    def register(fn: Callable[..., Experiment]) -> Callable[..., Experiment]:
        if name in EXPERIMENTS and EXPERIMENTS[name] is not fn:
            raise ValueError(f"experiment {name!r} is already registered")
        EXPERIMENTS[name] = fn
        fn.experiment_name = name
        return fn

    return register


def load_all() -> dict[str, Callable[..., Experiment]]:
    """Import every section module of this package (registering its experiments)."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    import_claim_modules()
    return EXPERIMENTS


def get_experiment(name: str) -> Callable[..., Experiment]:
    """The experiment registered as ``name``; ValueError listing the known names otherwise."""
    load_all()
    if name not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {sorted(EXPERIMENTS)}, got {name!r}")
    return EXPERIMENTS[name]


def engine_code() -> tuple:
    """The code every sweep's cache key covers: the project packages (``lab``, ``problems``, ``bounds``).

    Kept for callers that pass it as ``run_sweep(code=...)``; :func:`lab.sweeps.run_sweep` now
    hashes these packages itself (:func:`lab.sweeps.default_code`), so no experiment lists the
    modules its runs depend on by hand.
    """
    return PROJECT_PACKAGES


def check_options(quick, mutation=None, allowed=(None,), *, options=None, name="this experiment"):
    """Validate an experiment's common options before any work (ValueError naming the option).

    ``quick`` must be a bool, ``mutation`` one of ``allowed`` (None = the unmutated run), and
    ``options`` (the ``**options`` an experiment received) empty.
    """
    if options:
        raise ValueError(f"unknown options {sorted(options)} for {name}; it takes quick, cache, mutation")
    if not isinstance(quick, bool):
        raise ValueError(f"quick must be True or False, got {quick!r}")
    if mutation not in allowed:
        raise ValueError(f"mutation must be one of {tuple(allowed)}, got {mutation!r}")
