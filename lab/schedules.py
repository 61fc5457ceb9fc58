"""Step-size and momentum schedules, evaluated per step and broadcast over the batch.

A schedule maps the **1-based step number** t = 1, 2, … (the step that moves X_{t−1} to X_t in the
runner's 0-based iterate count; S2's X_t → X_{t+1}) to a value: a Python float, or an array over the
batch (one value per run).  Every hyperparameter of :mod:`lab.optimizers` is a schedule; a plain
number or array given instead is wrapped in :func:`constant`.

Schedules (§3):

=====================  ==========================  ==========================================
name                   value at step t             use
=====================  ==========================  ==========================================
``constant(v)``        v                           tuned fixed values
``horizon(v, T, a)``   v · T^(−a) (every step)     horizon-dependent η ∝ T^−a
``power(v, a, s)``     v · (t + s)^(−a)            anytime η_t = η₀ t^−a
``anytime_beta(c, b)`` 1 − min(1, c · t^(−b))      anytime 1 − β_t = min(1, c t^−b)
``from_callable(fn)``  fn(t)                       theory-optimal values, e.g. t*(δ), α*(δ)
=====================  ==========================  ==========================================

Parameters (v, a, c, b, …) may themselves be arrays over the batch: a sweep over η₀ or over the
exponent is one batched run.  Values are returned in the namespace and dtype of the parameters they
are applied to: :meth:`Schedule.value` converts array parameters once per (backend, dtype) and caches
them, so a run performs no host→device copy per step.  Pass arrays of the run's own namespace to avoid
even that one explicit conversion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lab.backend import backend_name, namespace, to_numpy
from lab.serialize import jsonable

__all__ = [
    "Schedule",
    "Constant",
    "Horizon",
    "Power",
    "AnytimeBeta",
    "FromCallable",
    "constant",
    "horizon",
    "power",
    "anytime_beta",
    "from_callable",
    "as_schedule",
    "check_schedule",
    "batch_factor",
    "SCHEDULES",
]


def _is_array(v) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, (float, int))


def _check_param(name: str, v):
    """A finite real number or a finite real array (host-checked once, at construction)."""
    if isinstance(v, bool):
        raise TypeError(f"{name} must be a real number or an array over the batch, got {v!r}")
    if isinstance(v, (int, float, np.integer, np.floating)):
        if not math.isfinite(float(v)):
            raise ValueError(f"{name} must be finite, got {v!r}")
        return float(v)
    if isinstance(v, (list, tuple)):
        v = np.asarray(v, dtype=np.float64)
    if not _is_array(v):
        raise TypeError(f"{name} must be a real number or an array over the batch, got {type(v).__name__}")
    host = np.asarray(to_numpy(v), dtype=np.float64)
    if not np.all(np.isfinite(host)):
        raise ValueError(f"{name} must be finite, got {host.tolist()}")
    return v


def _convert(v, xp, dtype):
    """``v`` in namespace ``xp`` with ``dtype`` (Python floats stay Python floats: they broadcast)."""
    if isinstance(v, float) or xp is None:
        return v
    if _is_array(v) and namespace(v) is xp:
        return v if v.dtype == dtype else xp.astype(v, dtype)
    # An explicit conversion (host array into another backend), done once per cache entry.
    return xp.asarray(to_numpy(v), dtype=dtype)


def _minimum(a, b):
    """min(a, b) for Python floats and arrays alike."""
    if isinstance(a, float) and isinstance(b, float):
        return min(a, b)
    arr = a if not isinstance(a, float) else b
    xp = namespace(arr)
    a = a if not isinstance(a, float) else xp.full_like(arr, a)
    b = b if not isinstance(b, float) else xp.full_like(arr, b)
    return xp.minimum(a, b)


class Schedule:
    """A value per step: ``schedule(t)`` for the 1-based step t (float or batch array).

    Subclasses implement ``_at(t, params)`` from the converted parameters ``params`` (a dict) and
    list their parameter names in ``_fields``.
    """

    kind = "schedule"
    _fields: tuple[str, ...] = ()

    def __init__(self, **params):
        self._params = {k: _check_param(k, v) for k, v in params.items()}
        self._cache: dict[tuple[str, str], dict[str, Any]] = {}

    def _converted(self, xp, dtype) -> dict[str, Any]:
        if xp is None:
            return self._params
        key = (backend_name(xp), str(dtype))
        if key not in self._cache:
            self._cache[key] = {k: _convert(v, xp, dtype) for k, v in self._params.items()}
        return self._cache[key]

    def value(self, t: int, xp=None, dtype=None):
        """The value at step ``t`` (≥ 1), arrays in ``xp`` with ``dtype`` (as given when xp is None)."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
            raise ValueError(f"t must be a step number >= 1, got {t!r}")
        return self._at(int(t), self._converted(xp, dtype))

    __call__ = value

    def _at(self, t: int, p: dict):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def is_constant(self) -> bool:
        """True when the value does not depend on t."""
        return False

    def describe(self) -> dict:
        return {"kind": self.kind, **jsonable(self._params)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """v at every step."""

    kind = "constant"

    def __init__(self, value):
        super().__init__(value=value)

    def _at(self, t, p):
        return p["value"]

    @property
    def is_constant(self) -> bool:
        return True


class Horizon(Schedule):
    """v · T^(−a): a constant chosen from the horizon T (e.g. t* ∝ K^{−3/4} of S1's I3)."""

    kind = "horizon"

    def __init__(self, value, horizon: int, exponent):
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon must be an integer >= 1 (the number of steps T), got {horizon!r}")
        super().__init__(value=value, exponent=exponent)
        self.horizon = int(horizon)

    def _at(self, t, p):
        return p["value"] * float(self.horizon) ** (-p["exponent"])

    def describe(self) -> dict:
        return {**super().describe(), "horizon": self.horizon}

    @property
    def is_constant(self) -> bool:
        return True


class Power(Schedule):
    """v · (t + s)^(−a): the anytime step size η_t = η₀ t^(−a) (s = 0; S1's I3 uses s = 0 with t ≥ 1)."""

    kind = "power"

    def __init__(self, value, exponent, offset: float = 0.0):
        super().__init__(value=value, exponent=exponent, offset=offset)
        if float(np.min(np.asarray(to_numpy(self._params["offset"])))) <= -1.0:
            raise ValueError(f"offset must be > -1 so that t + offset > 0 for t >= 1, got {offset!r}")

    def _at(self, t, p):
        return p["value"] * (float(t) + p["offset"]) ** (-p["exponent"])


class AnytimeBeta(Schedule):
    """β_t = 1 − min(1, c · t^(−b)): anytime momentum (S2: b = 1/2 Muon/MVR1, b = 2/3 MVR2)."""

    kind = "anytime_beta"

    def __init__(self, c, exponent):
        super().__init__(c=c, exponent=exponent)
        if np.any(np.asarray(to_numpy(self._params["c"])) <= 0):
            raise ValueError(f"c must be > 0 (1 - beta_t = min(1, c t^-b)), got {c!r}")

    def _at(self, t, p):
        one_minus = _minimum(p["c"] * float(t) ** (-p["exponent"]), 1.0)
        return 1.0 - one_minus


class FromCallable(Schedule):
    """fn(t): the hook for theory-supplied values (e.g. t*(δ), α*(δ) from :mod:`bounds`).

    ``fn`` receives the 1-based step t and returns a float or an array over the batch; arrays are
    converted to the run's namespace and dtype at every call (return arrays of the run's namespace to
    keep the hot path free of copies).
    """

    kind = "callable"

    def __init__(self, fn: Callable[[int], Any], name: str | None = None):
        if not callable(fn):
            raise TypeError(f"fn must be callable (t -> value), got {type(fn).__name__}")
        super().__init__()
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "callable")

    def _at(self, t, p):
        raise AssertionError("unreachable")  # pragma: no cover

    def value(self, t: int, xp=None, dtype=None):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
            raise ValueError(f"t must be a step number >= 1, got {t!r}")
        v = self.fn(int(t))
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return float(v)
        return _convert(v, xp, dtype)

    __call__ = value

    def describe(self) -> dict:
        return {"kind": self.kind, "fn": self.name}

    def __repr__(self) -> str:
        return f"FromCallable({self.name})"


def constant(value) -> Constant:
    return Constant(value)


def horizon(value, horizon: int, exponent) -> Horizon:
    return Horizon(value, horizon, exponent)


def power(value, exponent, offset: float = 0.0) -> Power:
    return Power(value, exponent, offset)


def anytime_beta(c, exponent) -> AnytimeBeta:
    return AnytimeBeta(c, exponent)


def from_callable(fn: Callable[[int], Any], name: str | None = None) -> FromCallable:
    return FromCallable(fn, name)


SCHEDULES = {
    "constant": Constant,
    "horizon": Horizon,
    "power": Power,
    "anytime_beta": AnytimeBeta,
}


def as_schedule(value, name: str = "value") -> Schedule:
    """A schedule from a schedule, a number, an array over the batch, a callable or a spec dict.

    A dict ``{"kind": <name in SCHEDULES>, **parameters}`` builds that schedule (the form used by
    TOML configurations of ``lab run``).
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, dict):
        spec = dict(value)
        kind = spec.pop("kind", None)
        if kind not in SCHEDULES:
            raise ValueError(f"{name}: schedule kind must be one of {tuple(SCHEDULES)}, got {kind!r}")
        try:
            return SCHEDULES[kind](**spec)
        except TypeError as exc:
            raise ValueError(f"{name}: bad parameters for schedule {kind!r}: {exc}") from None
    if callable(value) and not _is_array(value):
        return FromCallable(value)
    try:
        return Constant(value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None


def _probe_steps(steps: int | None) -> list[int]:
    if steps is None:
        return [1, 2, 10, 100, 1000]
    pts = {1, 2, int(steps)} | {int(v) for v in np.unique(np.geomspace(1, max(steps, 1), 24).astype(int))}
    return sorted(p for p in pts if 1 <= p <= max(steps, 1))


def check_schedule(
    name: str,
    schedule: Schedule,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    steps: int | None = None,
) -> None:
    """Raise ValueError naming ``name`` if the schedule leaves the allowed interval.

    Evaluated (on the host) at steps 1, 2, the horizon and log-spaced steps in between — every step
    for a constant schedule, since its value does not change.
    """
    probes = [1] if schedule.is_constant else _probe_steps(steps)
    lo_txt = "(" if low_open or low is None else "["
    hi_txt = ")" if high_open or high is None else "]"
    interval = f"{lo_txt}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_txt}"
    for t in probes:
        v = np.asarray(to_numpy(schedule.value(t)), dtype=np.float64)
        bad = ~np.isfinite(v)
        if low is not None:
            bad |= (v <= low) if low_open else (v < low)
        if high is not None:
            bad |= (v >= high) if high_open else (v > high)
        if np.any(bad):
            where = "" if schedule.is_constant else f" at step t={t}"
            raise ValueError(f"{name} must lie in {interval}{where}, got {v.tolist()}")


def batch_factor(v):
    """A schedule value shaped to multiply (*batch, m, n) blocks: floats as is, arrays as (*shape, 1, 1)."""
    if isinstance(v, float):
        return v
    return v[..., None, None]
