r"""Shared set-up of the S2 claims: problems, methods with their schedules, the stacked sweep, constants."""

from __future__ import annotations

import numpy as np

import problems
from bounds.s2 import horizon_free_schedule
from lab.claims._common import columns
from lab.claims.mutations import mutate, understate
from lab.claims.registry import check_options, get_experiment
from lab.optimizers import muon, muon_mvr1, muon_mvr2
from lab.random import RNG
from lab.runner import log_checkpoints, run
from lab.schedules import anytime_beta, power
from lab.stats import ratio_to_bound
from lab.sweeps import Grid, run_sweep

METHODS = ("muon", "mvr1", "mvr2")
#: predicted exponents of E‖ε_T‖_F and ‖∇f(X_T)‖_F (measured behaviour)
PREDICTED = {"muon": -0.25, "mvr1": -0.25, "mvr2": -1.0 / 3.0, "mvr2_prev": -1.0 / 3.0}
_MUTATIONS = (None, "double_step", "flip_momentum", "understate_constant", "wrong_sample")
_OPT_MUTATIONS = ("double_step", "flip_momentum")
_M, _N = 8, 6
_R = min(_M, _N)
_BOUND_METHOD = {"muon": "muon", "mvr1": "mvr1", "mvr2": "mvr2", "mvr2_prev": "mvr2", "mvr1_const": "mvr1"}


def _check_options(quick, mutation):
    check_options(quick, mutation, _MUTATIONS)


def _run_variant(mutation):
    """The optimizer wrapper the runs use ("none" for bound-side or method-swap mutations)."""
    return mutation if mutation in _OPT_MUTATIONS else "none"


def checkpoints(steps: int, dense: int) -> np.ndarray:
    """Every iterate index 0..dense, then about 20 log-spaced indices per decade up to ``steps``."""
    dense = min(int(dense), int(steps))
    return np.unique(np.concatenate([np.arange(dense + 1), log_checkpoints(steps, per_decade=20)]))


def _problem(point, sigma=None):
    if point["problem"] == "isotropic":
        p = problems.make("isotropic_quadratic", m=_M, n=_N, L=1.0, init_distance=point["dist"], seed=0)
    else:
        p = problems.make(
            "kronecker_quadratic", m=_M, n=_N, L=1.0, mu=0.1, init_distance=point["dist"], seed=0
        )
    return p if sigma is None else p.with_noise("gaussian", sigma=sigma)


def _optimizer(method, eta0, c_a, gamma):
    """The S2 method with its horizon-free schedule; eta0, c_a, gamma are arrays over the batch."""
    if method in ("muon", "mvr1", "mvr1_const"):
        lr, beta = power(eta0, 0.75), anytime_beta(c_a, 0.5)
    else:
        lr, beta = power(eta0, 2.0 / 3.0), anytime_beta(c_a, 2.0 / 3.0)
    if method == "muon":
        return muon(lr=lr, beta=beta, nesterov=False, shape_scale="none", momentum_init="gradient")
    if method == "mvr1":
        return muon_mvr1(lr=lr, beta=beta, gamma=power(1.0, 0.5), momentum_init="gradient")
    if method == "mvr1_const":
        return muon_mvr1(lr=lr, beta=beta, gamma=gamma, momentum_init="gradient")
    if method == "mvr2":
        return muon_mvr2(lr=lr, beta=beta)
    if method == "mvr2_prev":
        return muon_mvr1(lr=lr, beta=beta, gamma=1.0, momentum_init="gradient")
    raise ValueError(f"method must be one of muon, mvr1, mvr1_const, mvr2, mvr2_prev; got {method!r}")


_OUTPUTS = ("gap", "grad_fro", "grad_dual", "est_err_fro", "est_err_dual", "lr")


def _compute(points):
    """One stacked run for a chunk of points sharing (problem, method, mutation, steps, ...)."""
    p0 = points[0]
    sigma = columns(points, "sigma")
    stochastic = bool(np.all(sigma > 0))
    if not stochastic and np.any(sigma > 0):
        raise ValueError("a chunk must be all deterministic (sigma = 0) or all stochastic")
    problem = _problem(p0, sigma if stochastic else None)
    opt = _optimizer(p0["method"], columns(points, "eta0"), columns(points, "c_a"), columns(points, "gamma"))
    opt = mutate(opt, None if p0["mutation"] == "none" else p0["mutation"])
    ck = checkpoints(p0["steps"], p0["dense"])
    record = ("loss", "grad", "estimator", "step") + (("running",) if p0["running"] else ())
    res = run(
        problem,
        opt,
        steps=p0["steps"],
        seeds=RNG(np.asarray([p["key"] for p in points], dtype=np.uint64)),
        record=record,
        checkpoints=ck.tolist(),
        stochastic=stochastic,
    )
    names = _OUTPUTS + (("grad_dual_avg",) if p0["running"] else ())
    out = {k: np.ascontiguousarray(res.metrics[k].T) for k in names}
    out["checkpoints"] = np.broadcast_to(res.checkpoints, (len(points), len(res.checkpoints))).copy()
    out["diverged"] = (res.diverged_at >= 0).astype(np.float64)
    return out


def _sweep(name, cfg, methods, mutation, cache, seeds, *, eta0=None, c_a=None, gamma=None):
    """Run ``methods`` × seeds × c_a × η₀ × γ as one stacked run per method.

    Returns {method: {output: array (seeds, len(c_a), len(eta0), len(gamma), ...)}}; η₀, c_a default
    to the single values of ``cfg``, γ to 1 (used by ``mvr1_const`` only).
    """
    variant = _run_variant(mutation)
    eta0 = [float(cfg["eta0"])] if eta0 is None else [float(v) for v in eta0]
    c_a = [float(cfg["c_a"])] if c_a is None else [float(v) for v in c_a]
    gamma = [1.0] if gamma is None else [float(v) for v in gamma]
    axes = dict(
        problem=[cfg["problem"]],
        method=list(methods),
        mutation=[variant],
        steps=[cfg["steps"]],
        dense=[cfg["dense"]],
        running=[bool(cfg.get("running", False))],
        dist=[float(cfg["dist"])],
        sigma=[float(cfg["sigma"])],
        seed=list(range(seeds)),
        c_a=c_a,
        eta0=eta0,
        gamma=gamma,
    )
    grid = Grid(**axes)
    full = name if variant == "none" else f"{name}__{variant}"
    res = run_sweep(
        _compute,
        grid,
        name=full,
        cache=cache,
        chunk_size=100_000,
        progress=False,
        key_axes=("seed",),
        by=("problem", "method", "mutation", "steps", "dense", "running"),
    )
    shape = (seeds, len(c_a), len(eta0), len(gamma))
    out = {}
    for m in methods:
        sel = res.select(method=m)
        out[m] = {k: sel.array(k).reshape(shape + sel.array(k).shape[1:]) for k in sel.arrays}
        out[m]["diverged"] = sel.array("diverged").reshape(shape)
    return out


def _single(data):
    """Drop the (c_a, η₀, γ) axes of a family run at one configuration."""
    return {m: {k: v[:, 0, 0, 0] for k, v in d.items()} for m, d in data.items()}


def _constants(problem_kind, sigma, mutation):
    """Certified constants of the problem (L, L_ms, σ, μ), understated by 20% under that mutation."""
    p = _problem({"problem": problem_kind, "dist": 1.0}, sigma if sigma > 0 else None)
    c = p.constants
    return {
        "L": understate(float(c.L_frobenius), mutation),
        "L_ms": understate(float(c.L_ms), mutation),
        "sigma": understate(float(np.sqrt(c.sigma2)), mutation),
        "mu": float(c.mu),
        "r": _R,
    }


def _schedule(method, T, eta0, c_a):
    return horizon_free_schedule(_BOUND_METHOD[method], T, eta0, c_a)


_EXTENSION_MUTATIONS = (None, "double_step", "flip_momentum", "understate_constant")


def _check_extension_options(quick, mutation, options, name):
    check_options(quick, mutation, _EXTENSION_MUTATIONS, options=options, name=name)


def _extension_problem(kind, dist, sigma=0.0):
    if kind == "isotropic":
        p = problems.make("isotropic_quadratic", m=_M, n=_N, L=1.0, init_distance=dist, seed=0)
    else:
        p = problems.make("kronecker_quadratic", m=_M, n=_N, L=1.0, mu=0.1, init_distance=dist, seed=0)
    return p.with_noise("gaussian", sigma=sigma) if sigma > 0 else p


SRC = "lab derivation consistent with S2 (Chang, Liu, Yuan, arXiv 2509.15816)"
RTOL = 1e-9
Z_999 = 3.09  # one-sided 99.9 % normal quantile
SLOPE_TOL = 0.04
#: S2-slopes: an interval wider than this cannot confirm an exponent (it can still exclude one).
SLOPE_MAX_WIDTH = 0.03
#: S2-slopes: candidate fit windows [T_max/10^D, T_max], longest first (:func:`fit_window`).
WINDOW_DECADES = (2.5, 2.0, 1.5, 1.0)
_RATES_PROBLEM = "kronecker_quadratic 8x6 (L=1, mu=0.1), Gaussian sigma=0.2, start 0.05 from X*"
_TIGHT_PROBLEM = "isotropic_quadratic 8x6 (L=1), deterministic"
_PL_PROBLEM = "isotropic_quadratic 8x6 (mu=L=1), Gaussian sigma=0.05, start 0.05 from X*"
_NAMES = {"muon": "Muon", "mvr1": "MVR1", "mvr2": "MVR2", "mvr2_prev": "MVR2 (previous sample)"}


def _get(name, quick, mutation):
    return get_experiment(name)(quick=quick, mutation=mutation)


def _ratio_with_zeros(measured, bound, rtol=RTOL):
    """ratio_to_bound where a zero bound is allowed: entries with bound 0 must measure <= 1e-24.

    A NaN measurement is never a pass: it is an infinite ratio wherever it occurs (also at a
    zero-bound entry, where ``NaN > 1e-24`` is False and the old rule read it as 0).
    """
    m = np.asarray(measured, dtype=float)
    b = np.asarray(bound, dtype=float)
    m, b = np.broadcast_arrays(m, b)
    zero = b <= 0
    exceeded = zero & ~(m <= 1e-24)  # NaN compares False, so it counts as exceeded
    b = np.where(zero, np.where(exceeded, 1e-300, 1.0), b)  # an exceeded zero bound: infinite ratio
    m = np.where(zero & ~exceeded, 0.0, np.where(np.isnan(m), np.nan, m))
    return ratio_to_bound(m, b, rtol=rtol)


_EPS = float(np.finfo(float).eps)
