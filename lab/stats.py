"""Statistics for verdicts: log-log slopes with bootstrap CIs, refined argmins, bound ratios.

Every function here works on host NumPy arrays of measured numbers (the outputs of a sweep),
resamples over *seeds* (independent runs, the rows of ``Y_seeds``), never over time steps or
grid points within a run, and is deterministic given ``rng`` (``None`` means the fixed seed
:data:`DEFAULT_SEED`: the same inputs always give the same interval).

* :func:`loglog_slope` — OLS slope of log y on log T over a stated window.
* :func:`slope_ci` — the slope of the seed-mean curve and a t-interval over seeds (nominal
  coverage at 4–20 seeds; the percentile bootstrap is kept as ``method="percentile"``).
* :func:`chance_flags` — how many statistical verdicts a correct lab flags by chance.
* :func:`argmin_with_uncertainty` — best grid point, parabola-refined minimiser, bootstrap CI.
* :func:`ratio_to_bound` — worst measured/bound ratio and where it occurs.
* :class:`Verdict` — the record every check returns (it lives in :mod:`lab.verdicts`; importable here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from scipy.special import stdtrit  # the Student-t quantile; scipy.stats costs seconds to import

# the verdict record and the old private name of its normaliser (lab.tightness, lab.commands use it)
from lab.verdicts import VERDICTS, Verdict, vacuous  # noqa: F401
from lab.verdicts import _cell_json as _jsonable  # noqa: F401

#: Seed used when ``rng`` is None, so intervals are reproducible by default.
DEFAULT_SEED = 20261122
#: "error": the experiment behind the claim raised, so nothing was measured (never a judgement).
#: Interval methods of :func:`slope_ci`.
SLOPE_METHODS = ("t", "percentile")


def _rng(rng: Any) -> np.random.Generator:
    return np.random.default_rng(DEFAULT_SEED if rng is None else rng)


def _check_level(level: float) -> float:
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise ValueError(f"level must be in the open interval (0, 1), got {level!r}")
    return float(level)


def _check_n_boot(n_boot: Any) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    return int(n_boot)


def _window_mask(T: np.ndarray, window: Any) -> np.ndarray:
    try:
        lo, hi = (float(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be a pair (lo, hi) with 0 < lo < hi, got {window!r}") from None
    if not (0.0 < lo < hi):
        raise ValueError(f"window must be a pair (lo, hi) with 0 < lo < hi, got {window!r}")
    mask = (lo <= T) & (hi >= T)
    if int(mask.sum()) < 2:
        raise ValueError(f"window {window!r} contains {int(mask.sum())} of the T values; need at least 2")
    return mask


def _as_T(T: Any) -> np.ndarray:
    T = np.asarray(T, dtype=float)
    if T.ndim != 1 or T.size < 2:
        raise ValueError(f"T must be a 1-D array of at least 2 values, got shape {T.shape}")
    if not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise ValueError("T must hold finite positive values (log-log fit)")
    return T


def _ols_slopes(logT: np.ndarray, logY: np.ndarray) -> np.ndarray:
    """OLS slopes of each row of ``logY`` (..., k) on ``logT`` (k,)."""
    x = logT - logT.mean()
    return (logY - logY.mean(axis=-1, keepdims=True)) @ x / (x @ x)


def loglog_slope(T: Any, y: Any, window: tuple[float, float]) -> float | np.ndarray:
    """OLS slope of log y on log T, using only the T values inside ``window``.

    Parameters
    ----------
    T : (k,) positive times (iterations, horizons, sizes ...).
    y : (..., k) positive measurements; leading axes give one slope each.
    window : (lo, hi), the stated fit range ``lo <= T <= hi`` (at least two points).

    Returns
    -------
    float, or an array of the leading shape of ``y``.  For ``y = C T^p`` the slope is ``p``
    exactly; it is the exponent estimate for a power law ``y ~ T^p``.
    """
    T = _as_T(T)
    y = np.asarray(y, dtype=float)
    if y.shape[-1:] != T.shape:
        raise ValueError(f"y must have last axis of length len(T) = {T.size}, got shape {y.shape}")
    mask = _window_mask(T, window)
    yw = y[..., mask]
    if not np.all(np.isfinite(yw)) or np.any(yw <= 0):
        raise ValueError("y must be finite and positive inside the window (log-log fit)")
    s = _ols_slopes(np.log(T[mask]), np.log(yw))
    return float(s) if np.ndim(s) == 0 else s


class SlopeCI(NamedTuple):
    """Slope estimate and its confidence interval ``[lo, hi]``."""

    slope: float
    lo: float
    hi: float


def _bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) resampling weights: counts of each seed in a resample, divided by n."""
    idx = rng.integers(0, n, size=(n_boot, n))
    counts = np.zeros((n_boot, n))
    np.add.at(counts, (np.arange(n_boot)[:, None], idx), 1.0)
    return counts / n


def slope_ci(
    T: Any,
    Y_seeds: Any,
    window: tuple[float, float],
    n_boot: int = 2000,
    level: float = 0.95,
    rng: Any = None,
    statistic: str = "mean",
    method: str = "t",
) -> SlopeCI:
    """Log-log slope of the seed-averaged curve with an interval over seeds.

    Parameters
    ----------
    T : (k,) positive times.
    Y_seeds : (n_seeds, k) one curve per independent seed (n_seeds >= 2).
    window : (lo, hi) fit range, as in :func:`loglog_slope`.
    n_boot : bootstrap resamples (>= 100; used by ``method="percentile"`` only).
    level : confidence level in (0, 1).
    rng : None (fixed default seed), an int seed or a ``np.random.Generator`` (percentile only).
    statistic : "mean" — slope of log(mean_s Y) (the exponent of an expectation such as
        E‖∇f‖, which the bounds are about); "geomean" — slope of mean_s log Y (= the mean of
        the per-seed slopes).
    method : "t" (default) — a Student-t interval with n_seeds − 1 degrees of freedom:
        for "geomean" on the per-seed slopes (mean ± t·sd/√n, exact when the per-seed slopes
        are normal), for "mean" with the leave-one-seed-out jackknife standard error of the
        slope; it reaches its nominal coverage at the seed counts the checks use (4–20; see
        ``tests/test_stats.py``).  "percentile" — the percentile bootstrap over seeds, which
        undercovers at few seeds (about 71 % / 82 % / 91 % at 4 / 8 / 20 seeds for a nominal
        95 %): kept for comparison only.

    Returns
    -------
    SlopeCI(slope, lo, hi): the slope of the full-sample statistic and its interval.
    """
    level = _check_level(level)
    n_boot = _check_n_boot(n_boot)
    if statistic not in ("mean", "geomean"):
        raise ValueError(f"statistic must be 'mean' or 'geomean', got {statistic!r}")
    if method not in SLOPE_METHODS:
        raise ValueError(f"method must be one of {SLOPE_METHODS}, got {method!r}")
    T = _as_T(T)
    Y = np.asarray(Y_seeds, dtype=float)
    if Y.ndim != 2 or Y.shape[1] != T.size or Y.shape[0] < 2:
        raise ValueError(f"Y_seeds must have shape (n_seeds >= 2, len(T) = {T.size}), got {Y.shape}")
    mask = _window_mask(T, window)
    Yw = Y[:, mask]
    if not np.all(np.isfinite(Yw)) or np.any(Yw <= 0):
        raise ValueError("Y_seeds must be finite and positive inside the window (log-log fit)")
    logT = np.log(T[mask])
    n = Y.shape[0]
    full = np.log(Yw.mean(axis=0)) if statistic == "mean" else np.log(Yw).mean(axis=0)
    slope = float(_ols_slopes(logT, full))
    if method == "t":
        if statistic == "geomean":
            per_seed = _ols_slopes(logT, np.log(Yw))
            se = float(np.std(per_seed, ddof=1)) / math.sqrt(n)
        else:
            # leave-one-seed-out means: (n·mean − Y_i)/(n − 1), one row per left-out seed
            loo = (Yw.sum(axis=0)[None, :] - Yw) / (n - 1)
            jack = _ols_slopes(logT, np.log(loo))
            se = math.sqrt((n - 1) / n * float(np.sum((jack - jack.mean()) ** 2)))
        half = float(stdtrit(n - 1, 0.5 + level / 2.0)) * se
        return SlopeCI(slope, slope - half, slope + half)
    W = _bootstrap_weights(n, n_boot, _rng(rng))
    boot = np.log(W @ Yw) if statistic == "mean" else W @ np.log(Yw)
    slopes = _ols_slopes(logT, boot)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(slopes, [alpha, 1.0 - alpha])
    return SlopeCI(slope, float(lo), float(hi))


def slope_difference_ci(
    T: Any, Y_a: Any, Y_b: Any, window: tuple[float, float], level: float = 0.95
) -> SlopeCI:
    """Slope of mean(Y_a) minus slope of mean(Y_b), with a t-interval over paired seeds.

    Row s of ``Y_a`` and ``Y_b`` come from the same seed (common random numbers), so the
    leave-one-seed-out jackknife is taken on the difference; t quantile with n_seeds − 1 degrees of
    freedom, as :func:`slope_ci` (method "t", statistic "mean").
    """
    level = _check_level(level)
    T = _as_T(T)
    A, B = np.asarray(Y_a, dtype=float), np.asarray(Y_b, dtype=float)
    if A.shape != B.shape or A.ndim != 2 or A.shape[1] != T.size or A.shape[0] < 2:
        raise ValueError(
            f"Y_a, Y_b must have the same shape (n_seeds >= 2, {T.size}), got {A.shape}, {B.shape}"
        )
    mask = _window_mask(T, window)
    A, B = A[:, mask], B[:, mask]
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B)) and np.all(A > 0) and np.all(B > 0)):
        raise ValueError("Y_a and Y_b must be finite and positive inside the window (log-log fit)")
    logT = np.log(T[mask])
    n = A.shape[0]

    def diff(a_mean, b_mean):
        return _ols_slopes(logT, np.log(a_mean)) - _ols_slopes(logT, np.log(b_mean))

    full = float(diff(A.mean(axis=0), B.mean(axis=0)))
    jack = diff((A.sum(axis=0) - A) / (n - 1), (B.sum(axis=0) - B) / (n - 1))
    se = math.sqrt((n - 1) / n * float(np.sum((jack - jack.mean()) ** 2)))
    half = float(stdtrit(n - 1, 0.5 + level / 2.0)) * se
    return SlopeCI(full, full - half, full + half)


def chance_flags(verdicts: Sequence[Verdict], default_level: float = 0.95) -> tuple[int, float]:
    """How many of ``verdicts`` are statistical, and how many a correct lab flags by chance.

    A verdict is statistical when it is judged on a confidence interval (``ci`` set) or on a
    one-sided confidence limit (``details["level"]``, e.g. the 99.9 % lower limit of a seed mean).
    A correct lab (every claim true, the intervals at their nominal coverage) flags each with
    probability at most 1 − level, so the expected count is at most Σ(1 − level).

    Returns
    -------
    (n, expected): the number of statistical verdicts and the expected number of chance flags.
    """
    n, expected = 0, 0.0
    for v in verdicts:
        level = v.details.get("level") if isinstance(v.details, Mapping) else None
        if v.ci is None and level is None:
            continue
        n += 1
        expected += 1.0 - float(default_level if level is None else level)
    return n, expected


@dataclass(frozen=True)
class Argmin:
    """Result of :func:`argmin_with_uncertainty`.

    index : grid index of the smallest mean value.
    x_best : the grid point ``x_grid[index]``.
    x_refined : minimiser of the parabola through the minimum and its two neighbours
        (in log x when ``log_x``), clipped to the neighbours' interval; ``x_best`` at a
        boundary or when the neighbours are not finite.
    lo, hi : percentile-bootstrap interval (over seeds) of ``x_refined``.
    at_boundary : the minimum lies on the first or last grid point — the grid does not
        bracket the optimum and the refinement and interval are not meaningful.
    """

    index: int
    x_best: float
    x_refined: float
    lo: float
    hi: float
    at_boundary: bool


def _refine(u: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Batched three-point parabola refinement of argmin over rows of ``y`` (..., k).

    Returns (argmin index, refined abscissa in u, whether it was refined, at boundary).
    """
    yy = np.where(np.isfinite(y), y, np.inf)
    i = np.argmin(yy, axis=-1)
    k = y.shape[-1]
    boundary = (i == 0) | (i == k - 1)
    j = np.clip(i, 1, k - 2)
    u0, u1, u2 = u[j - 1], u[j], u[j + 1]
    take = lambda jj: np.take_along_axis(yy, jj[..., None], axis=-1)[..., 0]  # noqa: E731
    y0, y1, y2 = take(j - 1), take(j), take(j + 1)
    finite = np.isfinite(y0) & np.isfinite(y1) & np.isfinite(y2)
    # Vertex of the interpolating parabola (divided differences; valid for uneven spacing).
    with np.errstate(invalid="ignore", divide="ignore"):
        d01 = (y1 - y0) / (u1 - u0)
        d12 = (y2 - y1) / (u2 - u1)
        curv = (d12 - d01) / (u2 - u0)
        vertex = 0.5 * (u0 + u1) - d01 / (2.0 * curv)
    ok = ~boundary & finite & (curv > 0)
    refined = np.clip(np.where(ok, vertex, u1), u0, u2)
    return i, refined, ok, boundary


def argmin_with_uncertainty(
    x_grid: Any,
    Y_seeds: Any,
    log_x: bool = True,
    n_boot: int = 2000,
    level: float = 0.95,
    rng: Any = None,
) -> Argmin:
    """Minimiser of a seed-averaged response over a 1-D grid, refined and with a CI.

    Parameters
    ----------
    x_grid : (k,) strictly increasing grid (positive when ``log_x``), k >= 3.
    Y_seeds : (n_seeds, k) responses (e.g. final loss per seed and step size); non-finite
        entries (diverged runs) count as +inf, so a grid point where any seed diverged
        cannot be the minimiser.
    log_x : fit the parabola in log x (step sizes, momenta on a log grid).
    n_boot, level, rng : bootstrap over seeds, as in :func:`slope_ci`.

    Returns
    -------
    Argmin.  The refinement is the vertex of the parabola through (u_{i-1}, u_i, u_{i+1}),
    u = log x, which is exact for a response quadratic in u near its minimum; the interval
    is the percentile interval of the refined minimiser over seed resamples.
    """
    level = _check_level(level)
    n_boot = _check_n_boot(n_boot)
    x = np.asarray(x_grid, dtype=float)
    if x.ndim != 1 or x.size < 3:
        raise ValueError(f"x_grid must be 1-D with at least 3 points, got shape {x.shape}")
    if not np.all(np.diff(x) > 0):
        raise ValueError("x_grid must be strictly increasing")
    if log_x and np.any(x <= 0):
        raise ValueError("x_grid must be positive when log_x=True")
    Y = np.asarray(Y_seeds, dtype=float)
    if Y.ndim != 2 or Y.shape[1] != x.size or Y.shape[0] < 2:
        raise ValueError(f"Y_seeds must have shape (n_seeds >= 2, len(x_grid) = {x.size}), got {Y.shape}")
    Y = np.where(np.isfinite(Y), Y, np.inf)
    u = np.log(x) if log_x else x

    def minimiser(y):
        i, ref, ok, boundary = _refine(u, y)
        # Unrefined minimisers are reported as the exact grid value (no exp(log x) round trip).
        return i, np.where(ok, np.exp(ref) if log_x else ref, x[i]), boundary

    with np.errstate(invalid="ignore"):  # inf - inf in the parabola through diverged columns
        i, x_ref, boundary = minimiser(Y.mean(axis=0))
        W = _bootstrap_weights(Y.shape[0], n_boot, _rng(rng))
        finite_cols = np.all(np.isfinite(Y), axis=0)
        boot_mean = np.where(finite_cols, W @ np.where(np.isfinite(Y), Y, 0.0), np.inf)
        _, boot_ref, _ = minimiser(boot_mean)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot_ref, [alpha, 1.0 - alpha])
    return Argmin(
        index=int(i),
        x_best=float(x[int(i)]),
        x_refined=float(x_ref),
        lo=float(lo),
        hi=float(hi),
        at_boundary=bool(boundary),
    )


@dataclass(frozen=True)
class BoundRatio:
    """Result of :func:`ratio_to_bound`.

    worst : the largest measured/bound ratio (+inf if any measurement is NaN).
    index : where it occurs (a tuple index into the broadcast shape).
    point : ``points[index[0]]`` when ``points`` was given (e.g. the sweep row), else None.
    holds : ``worst <= 1 + rtol``.
    ratios : all ratios (NaN measurements reported as +inf).
    """

    worst: float
    index: tuple[int, ...]
    point: Any
    holds: bool
    ratios: np.ndarray = field(repr=False)


def ratio_to_bound(
    measured: Any, bound: Any, *, points: Sequence[Any] | None = None, rtol: float = 0.0
) -> BoundRatio:
    """Worst ratio measured/bound over all entries, and where it occurs.

    Parameters
    ----------
    measured : array of measured quantities the bound should dominate.
    bound : array (broadcastable to ``measured``) of strictly positive bound values.
    points : optional labels of the leading axis (e.g. ``result.rows``).
    rtol : float >= 0, slack for floating-point rounding in ``holds`` (default 0: none).

    Notes
    -----
    A NaN measurement (e.g. a diverged run) counts as an infinite ratio: it can never make a
    bound look satisfied.  ``holds = worst <= 1 + rtol``.
    """
    m = np.asarray(measured, dtype=float)
    b = np.asarray(bound, dtype=float)
    try:
        m, b = np.broadcast_arrays(m, b)
    except ValueError:
        raise ValueError(f"bound of shape {b.shape} does not broadcast to measured {m.shape}") from None
    if m.size == 0:
        raise ValueError("measured is empty")
    if not np.all(b > 0) or not np.all(np.isfinite(b)):
        raise ValueError("bound must be finite and strictly positive everywhere")
    if not (isinstance(rtol, (int, float)) and rtol >= 0):
        raise ValueError(f"rtol must be a float >= 0, got {rtol!r}")
    ratios = np.where(np.isnan(m), np.inf, m / b)
    flat = int(np.argmax(ratios))
    index = tuple(int(k) for k in np.unravel_index(flat, ratios.shape)) if ratios.ndim else ()
    point = None
    if points is not None:
        if ratios.ndim == 0 or len(points) != ratios.shape[0]:
            raise ValueError(f"points must label the leading axis: {ratios.shape[:1]} entries")
        point = points[index[0]]
    worst = float(ratios.flat[flat])
    return BoundRatio(worst=worst, index=index, point=point, holds=bool(worst <= 1.0 + rtol), ratios=ratios)
