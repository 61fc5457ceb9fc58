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
from pathlib import Path

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


def parameters(name: str) -> dict:
    """The constructor parameters of a registered problem and their defaults."""
    cls = _lookup(name)
    return {
        k: (None if p.default is inspect.Parameter.empty else p.default)
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if k != "self"
    }


def _lookup(name):
    if name not in REGISTRY:
        raise ValueError(f"name must be one of the registered problems {sorted(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


def make(name: str, noise=None, **params):
    """The registered problem ``name`` built with ``params``; ``noise`` (name, dict or model) is attached."""
    cls = _lookup(name)
    allowed = parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for problem {name!r}; allowed: {sorted(allowed)}")
    problem = cls(**params)
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
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise ImportError("from_toml needs Python >= 3.11 (tomllib) or the tomli package") from exc

    if isinstance(source, Path) or (
        isinstance(source, str) and source.endswith(".toml") and "\n" not in source
    ):
        text = Path(source).read_text()
    else:
        text = source
    return from_config(tomllib.loads(text))
