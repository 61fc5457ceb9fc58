"""The optimizer registry: ``register(name, factory, examples=...)``, ``OPTIMIZERS`` and ``make_optimizer``.

Installed packages add optimizers through the entry-point group ``muon_lab.optimizers``: each entry
point names a module (imported, so that its ``register`` calls run) or a factory (registered under
the entry point's name).  In a plug-in's ``pyproject.toml``::

    [project.entry-points."muon_lab.optimizers"]
    my_method = "my_package.optim:my_method"

The group is loaded once, the first time the registry is read.  Every registered optimizer declares
:class:`Example` configurations; the conformance suites (``tests/test_optimizers.py``) run each of
them, so a new optimizer is tested by registering it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from importlib.metadata import entry_points
from typing import NamedTuple

from lab.optimizers.base import Example, Optimizer
from lab.optimizers.baselines import EXAMPLES as BASELINE_EXAMPLES
from lab.optimizers.baselines import adam, adamw, sgd
from lab.optimizers.gluon import EXAMPLES as LAYERWISE_EXAMPLES
from lab.optimizers.gluon import gluon, scion
from lab.optimizers.lion_k import EXAMPLES as LION_K_EXAMPLES
from lab.optimizers.lion_k import lion_k
from lab.optimizers.lmo import EXAMPLES as LMO_EXAMPLES
from lab.optimizers.lmo import lmo_step
from lab.optimizers.muon import EXAMPLES as MUON_EXAMPLES
from lab.optimizers.muon import muon
from lab.optimizers.mvr import EXAMPLES as MVR_EXAMPLES
from lab.optimizers.mvr import muon_mvr1, muon_mvr2

__all__ = ["ENTRY_POINT_GROUP", "OPTIMIZERS", "Example", "examples", "make_optimizer", "register"]

ENTRY_POINT_GROUP = "muon_lab.optimizers"


class _Entry(NamedTuple):
    factory: Callable[..., Optimizer]
    examples: tuple[Example, ...]


_ENTRIES: dict[str, _Entry] = {}
_PLUGINS = {"loaded": False}


def register(name: str, factory: Callable[..., Optimizer], *, examples=None, replace: bool = False) -> None:
    """Make ``factory`` available as ``make_optimizer(name, ...)`` and ``lab run --optimizer name``.

    Parameters
    ----------
    name : the registry name (also the optimizer's ``describe()["optimizer"]`` by convention).
    factory : keyword-callable returning an :class:`lab.optimizers.Optimizer`; its signature is the
        list of options ``make_optimizer`` accepts.
    examples : :class:`Example` configurations for the conformance suites (default: the factory's
        ``examples`` attribute); at least one is required.
    replace : allow re-registering an existing name.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for {name!r} must be callable, got {type(factory).__name__}")
    if name in _ENTRIES and not replace:
        raise ValueError(f"optimizer {name!r} is already registered (pass replace=True to override it)")
    found = tuple(getattr(factory, "examples", ()) if examples is None else examples)
    if not found or not all(isinstance(e, Example) for e in found):
        raise ValueError(
            f"optimizer {name!r}: give at least one lab.optimizers.Example (examples=...) so that the "
            f"conformance suites can run it"
        )
    _ENTRIES[name] = _Entry(factory, found)


def _load_plugins() -> None:
    """Import the ``muon_lab.optimizers`` entry points once (lazily: the CLI pays only when it reads)."""
    if _PLUGINS["loaded"]:
        return
    _PLUGINS["loaded"] = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ":" not in ep.value:
            import_module(ep.value)  # the module registers itself
            continue
        register(ep.name, ep.load())


class _Registry(Mapping):
    """Read-only name → factory view of the registry (loads the plug-ins on first read)."""

    def __getitem__(self, name: str):
        _load_plugins()
        return _ENTRIES[name].factory

    def __iter__(self) -> Iterator[str]:
        _load_plugins()
        return iter(list(_ENTRIES))

    def __len__(self) -> int:
        _load_plugins()
        return len(_ENTRIES)

    def __repr__(self) -> str:
        return f"OPTIMIZERS({list(self)})"


#: Registry: name -> factory (``make_optimizer`` and ``lab run`` use it).
OPTIMIZERS: Mapping[str, Callable[..., Optimizer]] = _Registry()


def examples(name: str) -> tuple[Example, ...]:
    """The conformance examples registered with optimizer ``name``."""
    _load_plugins()
    return _ENTRIES[name].examples


def make_optimizer(name: str, **kwargs) -> Optimizer:
    """Build a registered optimizer by name; unknown names and options raise ValueError naming them."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}, got {name!r}")
    factory = OPTIMIZERS[name]
    sig = inspect.signature(factory)
    unknown = sorted(set(kwargs) - set(sig.parameters))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for optimizer {name!r}; allowed: {list(sig.parameters)}"
        )
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in kwargs
    ]
    if missing:
        raise ValueError(f"optimizer {name!r} needs option(s) {missing}")
    return factory(**kwargs)


for _name, _factory, _examples in (
    ("lmo_step", lmo_step, LMO_EXAMPLES["lmo_step"]),
    ("muon", muon, MUON_EXAMPLES),
    ("scion", scion, LAYERWISE_EXAMPLES["scion"]),
    ("gluon", gluon, LAYERWISE_EXAMPLES["gluon"]),
    ("muon_mvr1", muon_mvr1, MVR_EXAMPLES["muon_mvr1"]),
    ("muon_mvr2", muon_mvr2, MVR_EXAMPLES["muon_mvr2"]),
    ("lion_k", lion_k, LION_K_EXAMPLES),
    ("sgd", sgd, BASELINE_EXAMPLES["sgd"]),
    ("adam", adam, BASELINE_EXAMPLES["adam"]),
    ("adamw", adamw, BASELINE_EXAMPLES["adamw"]),
):
    register(_name, _factory, examples=_examples)
