"""The problem registry: build problems by name, from a dict, or from a TOML configuration.

Examples
--------
>>> import problems
>>> p = problems.make("kronecker_quadratic", m=8, n=6, mu=0.01, noise={"name": "gaussian", "sigma": 0.1})
>>> q = problems.from_config({"name": "quadratic", "m": 4, "n": 3, "noise": "none"})
>>> r = problems.from_toml('[problem]\\nname = "quartic"\\nc = 2.0\\n[noise]\\nname = "none"')
"""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

from lab import plugins
from problems.base import Problem, constructor_parameters
from problems.layers import DeepLinear, TeacherStudent
from problems.least_squares import ConstrainedLeastSquares, OverparamLeastSquares, Quadratic
from problems.quadratic import Flattening, IsotropicQuadratic, KroneckerQuadratic
from problems.smooth import LogCosh, Quartic, SoftmaxRegression

REGISTRY = {
    cls.name: cls
    for cls in (
        Quadratic,
        KroneckerQuadratic,
        IsotropicQuadratic,
        OverparamLeastSquares,
        Quartic,
        LogCosh,
        SoftmaxRegression,
        DeepLinear,
        TeacherStudent,
        Flattening,
        ConstrainedLeastSquares,
    )
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def register(name, factory=None, *, replace: bool = False):
    """Register a problem class or factory so that :func:`make`, :func:`from_config` and ``lab run``
    know it.

    Parameters
    ----------
    name : str, or the class itself
        The registry name (letters, digits, ``_ . -``).  Given a class instead, its ``name``
        attribute is used: ``@problems.register`` above ``class Mine(ProblemBase): name = "mine"``.
    factory : class or callable, optional
        Called with the problem's parameters, returns a :class:`~problems.base.Problem`.  Its
        signature is where the parameters are stated: :func:`parameters` and the check of unknown
        parameters in :func:`make` read it.  Omitted: ``register(name)`` returns a decorator.
    replace : bool
        Allow replacing a different object already registered under ``name``.  A new definition of
        the same class or function (same module and qualified name: a reloaded module, a notebook
        cell run again) replaces the old one without it.

    Returns
    -------
    The factory (so the decorator leaves the class as it is), or the decorator.

    A class without a ``name`` of its own takes the registered name, so that its instances (their
    random streams, ``describe()`` and the run tables) carry it.
    """
    if not isinstance(name, str):
        if factory is not None or not isinstance(getattr(name, "name", None), str):
            raise TypeError(
                "register(name, factory), @register(name) or @register on a class with a str `name`"
            )
        return register(name.name, name, replace=replace)
    if not _NAME.fullmatch(name):
        raise ValueError(f"a problem name must be letters, digits and _ . - (not first), got {name!r}")
    if factory is None:
        return lambda obj: register(name, obj, replace=replace)
    if not callable(factory):
        raise TypeError(f"problem {name!r}: the factory must be a class or a callable, got {factory!r}")
    current = REGISTRY.get(name)
    if current is not None and not replace and _qualname(current) != _qualname(factory):
        raise ValueError(
            f"problem {name!r} is already registered ({_qualname(current)}); "
            f"pass replace=True to replace it with {_qualname(factory)}"
        )
    if inspect.isclass(factory) and "name" not in vars(factory):
        factory.name = name
    REGISTRY[name] = factory
    return factory


def load_plugins(modules=()) -> None:
    """Import the plug-in modules (``modules``, then ``LAB_PLUGINS``) and register the installed
    entry points of the group ``muon_lab.problems`` (see :mod:`lab.plugins`).

    Raises :class:`lab.plugins.PluginError` naming a plug-in that fails to load or to register.
    """
    plugins.import_plugins(modules)
    for name, obj in plugins.load_entry_points(plugins.PROBLEM_GROUP).items():
        if inspect.ismodule(obj) or REGISTRY.get(name) is obj:
            continue  # a module registers what it defines when it is imported
        try:
            register(name, obj)
        except (TypeError, ValueError) as exc:
            raise plugins.PluginError(f"plug-in {name!r} (group {plugins.PROBLEM_GROUP!r}): {exc}") from exc


def parameters(name: str) -> dict:
    """The constructor parameters of a registered problem and their defaults."""
    return constructor_parameters(_lookup(name))


def _lookup(name):
    if name not in REGISTRY:
        load_plugins()  # a plug-in may define it: read the registry once they are all in
    if name not in REGISTRY:
        raise ValueError(f"name must be one of the registered problems {sorted(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


def _qualname(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _takes_any_keyword(factory) -> bool:
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(factory).parameters.values()
    )


def make(name: str, noise=None, **params):
    """The registered problem ``name`` built with ``params``; ``noise`` (name, dict or model) is attached."""
    factory = _lookup(name)
    allowed = parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown and not _takes_any_keyword(factory):
        raise ValueError(f"unknown parameter(s) {unknown} for problem {name!r}; allowed: {sorted(allowed)}")
    problem = factory(**params)
    if not isinstance(problem, Problem):
        raise TypeError(
            f"problem {name!r}: {_qualname(factory)} returned {type(problem).__name__}, which does not "
            "implement problems.Problem (name, block_shapes, constants, f, grad, sample, "
            "stochastic_grad, x0, describe)"
        )
    return problem if noise is None else problem.with_noise(noise)


def from_config(config: dict):
    """Build a problem from a dict: ``{"name": ..., <params>, "noise": name | {"name": ..., ...}}``.

    The nested form ``{"problem": {"name": ..., ...}, "noise": {...}}`` (a TOML file with
    [problem] and [noise] tables) is accepted too.
    """
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    cfg = dict(config)
    if isinstance(cfg.get("problem"), dict):
        inner = dict(cfg.pop("problem"))
        if "noise" in cfg and "noise" in inner:
            raise ValueError("noise is given both in [problem] and at the top level")
        inner.setdefault("noise", cfg.pop("noise", None))
        if cfg:
            raise ValueError(f"unknown top-level key(s) {sorted(cfg)} next to [problem]")
        cfg = inner
    if "name" not in cfg:
        raise ValueError("config must name the problem: {'name': <one of problems.REGISTRY>, ...}")
    name = cfg.pop("name")
    return make(name, **cfg)


def from_toml(source):
    """Build a problem from TOML text or a path to a .toml file (see :func:`from_config`)."""
    if isinstance(source, Path) or (
        isinstance(source, str) and source.endswith(".toml") and "\n" not in source
    ):
        text = Path(source).read_text()
    else:
        text = source
    return from_config(tomllib.loads(text))
