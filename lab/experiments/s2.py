r"""S2 experiments: variance-reduced Muon, measured against the lab's S2 bounds.

Source: Chang, Liu, Yuan, *On the Convergence of Muon and Beyond*, arXiv 2509.15816.  Every bound
is a lab derivation (``bounds/s2.py``) evaluated on the problem's certified constants (L_frobenius,
L_ms, σ² of the attached Gaussian noise, μ); the experiments only measure and pair each measurement
with its bound or predicted exponent.

Methods (exact polar oracle, EMA form, no Nesterov, no shape scale, M_1 = g_1), horizon-free
schedules of the source with t the 1-based step (:mod:`lab.schedules`):

* ``muon``  η_t = η₀t^(−3/4), 1 − β_t = min(1, c_a t^(−1/2));
* ``mvr1``  the same with γ_t = t^(−1/2);  ``mvr1_const``: constant γ (the γ-floor experiment);
* ``mvr2``  η_t = η₀t^(−2/3), 1 − β_t = min(1, c_a t^(−2/3)), the same sample at X_t and X_{t−1};
* ``mvr2_prev`` MVR2's recursion with the *previous* sample, M_t = g_t + β_t(M_{t−1} − g_{t−1}),
  which is :func:`lab.optimizers.muon_mvr1` with γ = 1 on MVR2's schedule.  With M_1 = g_1 it
  reduces exactly to M_t = g_t (M_t − g_t = β_t(M_{t−1} − g_{t−1}) = 0): no variance reduction.

Index map: the runner's iterate k (0-based) is S2's X_{k+1}; the step metrics recorded at
checkpoint k (estimator error, η) belong to S2's step t = k + 1.

Experiments (sweeps through :func:`lab.sweeps.run_sweep`, one stacked run per method; seeds give
common random numbers across methods):

``s2_descent``
    Deterministic runs (``isotropic_quadratic`` far from X*, where (D) is tight, and the κ = 10
    ``kronecker_quadratic``), every step recorded: lhs = f(X_{t+1}) − f* + η_t‖∇f(X_t)‖_* and
    rhs = f(X_t) − f* + 2η_t‖ε_t‖_* + (L r/2)η_t², i.e. (D) written with positive sides.
``s2_rates``
    The noise-dominated configuration: ``kronecker_quadratic`` 8×6, L = 1, μ = 0.1, start at
    distance 0.05 from X*, Gaussian noise σ = 0.2, η₀ = 0.1, c_a = 1; Muon, MVR1, MVR2, MVR2 with
    the previous sample.  Measured at every step up to ``dense`` and at log-spaced T beyond:
    ‖ε_t‖_F per seed, the η-weighted average of ‖∇f‖_* (anytime (★)), ‖∇f(X_T)‖_F, f − f*.
    Theoretical: the E-recursion bounds along the run's own schedule, the anytime bound
    (:func:`bounds.s2.anytime_bound`), the closed forms N1/N2, the exponents −1/4, −1/3.
``s2_tight``
    Two deterministic ``isotropic_quadratic`` configurations where the S2 bounds are nearly tight,
    so planted bugs show: "sum" (σ = 0, c_a = 1000 so β_t = 0: (★) is an identity up to
    f(X_{T+1}) − f* >= 0) and "drift" (start far, c_a = 0.3: the E-Muon/E-MVR1 drift term is
    attained in the drift-dominated steady state).
``s2_pl``
    ``isotropic_quadratic`` (PL with μ = L = 1) in the noise-dominated regime; best iterate
    min_t E√(f − f*) (P1) and last iterate E f(X_T) − f* (P2).  G = the largest ‖∇f(X_t)‖_F over
    every step of every seed (the assumption of P2 holds on the sampled paths by construction);
    η₀ is chosen so that 2μη₀/G lies in (1/3, 1].
``s2_gamma_floor``
    MVR1 with constant γ ∈ {0.2, 0.4, 0.8} (and γ_t = t^(−1/2) as reference) on the ``s2_rates``
    problem: the late-time RMS estimator error against γσ.

``mutation`` (an option of every experiment): "double_step" / "flip_momentum" wrap the optimizer
(:func:`lab.checks.mutations.mutate`, separate cache entries); "understate_constant" multiplies the
certified L, L_ms and σ by 0.8 in the bounds (the runs are the unmutated ones); "wrong_sample"
replaces MVR2 by ``mvr2_prev`` where MVR2's behaviour is claimed.
"""

from __future__ import annotations

import math

import numpy as np

from lab.experiments import Experiment, check_options, experiment

__all__ = [
    "METHODS",
    "PREDICTED",
    "s2_descent",
    "s2_rates",
    "s2_tight",
    "s2_pl",
    "s2_gamma_floor",
    "checkpoints",
]

METHODS = ("muon", "mvr1", "mvr2")
#: predicted exponents of E‖ε_T‖_F and ‖∇f(X_T)‖_F (measured behaviour)
PREDICTED = {"muon": -0.25, "mvr1": -0.25, "mvr2": -1.0 / 3.0, "mvr2_prev": -1.0 / 3.0}
_MUTATIONS = (None, "double_step", "flip_momentum", "understate_constant", "wrong_sample")
_OPT_MUTATIONS = ("double_step", "flip_momentum")
_M, _N = 8, 6
_R = min(_M, _N)
_BOUND_METHOD = {"muon": "muon", "mvr1": "mvr1", "mvr2": "mvr2", "mvr2_prev": "mvr2", "mvr1_const": "mvr1"}


# ------------------------------------------------------------------------------------------ helpers


def _check_options(quick, mutation):
    check_options(quick, mutation, _MUTATIONS)


def _run_variant(mutation):
    """The optimizer wrapper the runs use ("none" for bound-side or method-swap mutations)."""
    return mutation if mutation in _OPT_MUTATIONS else "none"


def checkpoints(steps: int, dense: int) -> np.ndarray:
    """Every iterate index 0..dense, then about 20 log-spaced indices per decade up to ``steps``."""
    from lab.runner import log_checkpoints

    dense = min(int(dense), int(steps))
    return np.unique(np.concatenate([np.arange(dense + 1), log_checkpoints(steps, per_decade=20)]))


def _problem(point, sigma=None):
    import problems

    if point["problem"] == "isotropic":
        p = problems.make("isotropic_quadratic", m=_M, n=_N, L=1.0, init_distance=point["dist"], seed=0)
    else:
        p = problems.make(
            "kronecker_quadratic", m=_M, n=_N, L=1.0, mu=0.1, init_distance=point["dist"], seed=0
        )
    return p if sigma is None else p.with_noise("gaussian", sigma=sigma)


def _col(points, name):
    return np.asarray([p[name] for p in points], dtype=np.float64)


def _optimizer(method, eta0, c_a, gamma):
    """The S2 method with its horizon-free schedule; eta0, c_a, gamma are arrays over the batch."""
    from lab.optimizers import muon, muon_mvr1, muon_mvr2
    from lab.schedules import anytime_beta, power

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
    from lab.checks.mutations import mutate
    from lab.random import RNG
    from lab.runner import run

    p0 = points[0]
    sigma = _col(points, "sigma")
    stochastic = bool(np.all(sigma > 0))
    if not stochastic and np.any(sigma > 0):
        raise ValueError("a chunk must be all deterministic (sigma = 0) or all stochastic")
    problem = _problem(p0, sigma if stochastic else None)
    opt = _optimizer(p0["method"], _col(points, "eta0"), _col(points, "c_a"), _col(points, "gamma"))
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
    from lab.sweeps import Grid, run_sweep

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
    from lab.checks.mutations import understate

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
    from bounds.s2 import horizon_free_schedule

    return horizon_free_schedule(_BOUND_METHOD[method], T, eta0, c_a)


# ------------------------------------------------------------------------------------------ (D)


def _descent_config(quick):
    return {
        "steps": 300 if quick else 1000,
        "seeds": 2 if quick else 4,
        "eta0": [0.03, 0.1],
        "c_a": [0.5, 2.0],
        "configs": {"isotropic": 3.0, "kronecker": 1.0},
    }


@experiment("s2_descent")
def s2_descent(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """(D) per step, deterministic, exact polar (``bounds.get("S2.D")``).

    Claim: f(X_{t+1}) <= f(X_t) − η_t‖∇f(X_t)‖_* + 2η_t‖ε_t‖_* + (L r/2)η_t² for every step and any
    estimator M_t (ε_t = M_t − ∇f(X_t)), L the Frobenius smoothness, r = min(m, n).

    Runs: Muon, MVR1, MVR2 (deterministic gradients, their horizon-free schedules, η₀ ∈ {0.03, 0.1},
    c_a ∈ {0.5, 2}) on ``isotropic_quadratic`` (distance 3; (D) holds with equality when ε = 0 and
    ∇f has full rank) and on the κ = 10 ``kronecker_quadratic`` (distance 1), every step recorded.

    Returns measured["lhs"][config][method] = f(X_{t+1}) − f* + η_t‖∇f(X_t)‖_* and
    theoretical["rhs"][config][method] = f(X_t) − f* + 2η_t‖ε_t‖_* + (L r/2)η_t² (arrays
    (c_a, eta0, seeds, T)), both positive, so (D) is lhs/rhs <= 1.
    """
    _check_options(quick, mutation)
    cfg = _descent_config(quick)
    lhs, rhs = {}, {}
    for kind, dist in cfg["configs"].items():
        lhs[kind], rhs[kind] = {}, {}
        const = _constants(kind, 0.0, mutation)
        base = {
            "problem": kind,
            "steps": cfg["steps"],
            "dense": cfg["steps"],
            "dist": dist,
            "sigma": 0.0,
            "eta0": None,
            "c_a": None,
        }
        data = _sweep(
            "s2_descent", base, METHODS, mutation, cache, cfg["seeds"], eta0=cfg["eta0"], c_a=cfg["c_a"]
        )
        for method in METHODS:
            d = {k: np.moveaxis(v[:, :, :, 0], 0, 2) for k, v in data[method].items() if v.ndim == 5}
            gap, gd, ed, lr = d["gap"], d["grad_dual"], d["est_err_dual"], d["lr"]  # (c_a, eta0, seeds, K)
            lhs[kind][method] = gap[..., 1:] + lr[..., :-1] * gd[..., :-1]
            rhs[kind][method] = (
                gap[..., :-1] + 2 * lr[..., :-1] * ed[..., :-1] + const["L"] * _R / 2 * lr[..., :-1] ** 2
            )
    meta = {"config": cfg, "mutation": mutation, "axes": ("c_a", "eta0", "seed", "t")}
    return Experiment("s2_descent", {"lhs": lhs}, {"rhs": rhs}, meta)


# ------------------------------------------------------------------------------------------ rates


def _rates_config(quick):
    return {
        "problem": "kronecker",
        "dist": 0.05,
        "sigma": 0.2,
        "eta0": 0.1,
        "c_a": 1.0,
        "steps": 1000 if quick else 10_000,
        "dense": 300 if quick else 1000,
        "seeds": 12 if quick else 32,
        "running": True,
        "window": (30.0, 1000.0) if quick else (100.0, 10_000.0),
    }


def _n_bound(method, T, *, Delta0, eta0, c_a, const):
    import bounds

    tid = {"muon": "S2.N1", "mvr1": "S2.N1.MVR1", "mvr2": "S2.N2", "mvr2_prev": "S2.N2"}[method]
    kw = {"L_ms": const["L_ms"]} if tid == "S2.N2" else {}
    return bounds.get(tid).evaluate(
        Delta0=Delta0,
        r=const["r"],
        eta0=eta0,
        L=const["L"],
        sigma=const["sigma"],
        c_a=c_a,
        T=np.asarray(T, dtype=float),
        **kw,
    )


def _rate_bounds(data, cfg, const, methods):
    """E-recursion, anytime and closed-form bounds for each method of a run family."""
    from bounds.s2 import anytime_bound, estimator_error_bound

    out = {}
    for m in methods:
        d = data[m]
        ck = d["checkpoints"][0].astype(int)
        T = int(ck[-1])
        eta, beta, gamma = _schedule(m, T + 1, cfg["eta0"], cfg["c_a"])
        bm = _BOUND_METHOD[m]
        kw = dict(sigma=const["sigma"], r=const["r"], L=const["L"], L_ms=const["L_ms"], gamma=gamma)
        e_b = estimator_error_bound(bm, eta, beta, **kw)
        Delta0 = float(np.mean(d["gap"][:, 0]))
        any_b = anytime_bound(bm, eta, beta, Delta0=Delta0, **kw)
        k = ck[ck < T]  # step metrics exist for the steps from X_k, k < T
        Tn = ck[ck >= 1]  # η-weighted averages over T = k iterates
        out[m] = {
            "e_steps": k,
            "e_bound": e_b.value[k],
            "avg_T": Tn,
            "anytime_bound": any_b.value[Tn - 1],
            "n_bound": _n_bound(m, Tn, Delta0=Delta0, eta0=cfg["eta0"], c_a=cfg["c_a"], const=const).value,
            "Delta0": Delta0,
        }
    return out


def _rate_measures(data, methods):
    out = {}
    for m in methods:
        d = data[m]
        ck = d["checkpoints"][0].astype(int)
        T = int(ck[-1])
        keep = ck < T
        err2 = d["est_err_fro"][:, keep] ** 2  # (seeds, K')
        S = err2.shape[0]
        res = {
            "checkpoints": ck,
            "e_steps": ck[keep],
            "e_mean": err2.mean(axis=0),
            "e_se": err2.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(err2.shape[1]),
            "est_err": d["est_err_fro"][:, keep],  # (seeds, K')
            "grad_fro": d["grad_fro"],  # (seeds, K)
            "gap": d["gap"],
            "diverged": float(np.sum(d["diverged"])),
        }
        if "grad_dual_avg" in d:
            Tn = ck >= 1
            res["avg_T"] = ck[Tn]
            res["grad_dual_avg"] = d["grad_dual_avg"][:, Tn].mean(axis=0)
            res["grad_dual_min"] = np.minimum.accumulate(d["grad_dual"].mean(axis=0))[Tn]
        out[m] = res
    return out


@experiment("s2_rates")
def s2_rates(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Muon vs MVR1 vs MVR2 (and MVR2 with the previous sample) in the noise-dominated regime.

    Problem: ``kronecker_quadratic`` 8×6 (L = 1, μ = 0.1), start at distance 0.05 from X*,
    Gaussian noise with E‖ξ‖_F² = σ² = 0.04 exactly; η₀ = 0.1, c_a = 1; 32 seeds × 10⁴ steps
    (quick: 12 × 10³).  See the module docstring for the methods and the index map.

    Returns
    -------
    measured[method]: ``e_mean``/``e_se`` (seed mean and standard error of ‖ε_t‖_F² at the steps
    ``e_steps``: every t up to ``dense``, log-spaced beyond), ``est_err`` and ``grad_fro`` per seed,
    ``grad_dual_avg`` (seed mean of Σ_{t<=T}η_t‖∇f(X_t)‖_*/Ση_t at ``avg_T``), ``grad_dual_min``
    (running min over T of the seed mean of ‖∇f‖_*), ``gap``.
    theoretical[method]: ``e_bound`` (E recursion), ``anytime_bound`` ((★) with the recursion),
    ``n_bound`` (N1 / N1-MVR1 / N2 closed form), ``exponent`` (−1/4 or −1/3), ``window``.
    Under "wrong_sample" the entry "mvr2" holds the previous-sample runs (the claim's MVR2 is swapped).
    """
    _check_options(quick, mutation)
    cfg = _rates_config(quick)
    methods = ("muon", "mvr1", "mvr2", "mvr2_prev")
    data = _single(_sweep("s2_rates", cfg, methods, mutation, cache, cfg["seeds"]))
    const = _constants(cfg["problem"], cfg["sigma"], mutation)
    measured = _rate_measures(data, methods)
    theoretical = _rate_bounds(data, cfg, const, methods)
    for m in methods:
        theoretical[m]["exponent"] = PREDICTED[m]
        theoretical[m]["window"] = cfg["window"]
    if mutation == "wrong_sample":
        measured["mvr2"] = measured["mvr2_prev"]
    return Experiment(
        "s2_rates", measured, theoretical, {"config": cfg, "constants": const, "mutation": mutation}
    )


# ------------------------------------------------------------------------------------------ tight


def _tight_configs(quick):
    T = 400 if quick else 2000
    return {
        "sum": {
            "problem": "isotropic",
            "dist": 0.01,
            "sigma": 0.0,
            "eta0": 0.05,
            "c_a": 1000.0,
            "steps": T,
            "dense": T,
            "running": True,
        },
        "drift": {
            "problem": "isotropic",
            "dist": 20.0,
            "sigma": 0.0,
            "eta0": 0.02,
            "c_a": 0.3,
            "steps": T,
            "dense": T,
            "running": False,
        },
    }


@experiment("s2_tight")
def s2_tight(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Deterministic configurations on ``isotropic_quadratic`` where the S2 bounds are nearly tight.

    "sum": σ = 0, c_a = 1000 (β_t = 0 for t < 10⁶: M_t = ∇f(X_t), ε = 0), start at distance 0.01,
    η₀ = 0.05.  On f = ½‖X − C‖_F² with a full-rank gradient, f(X − ηO) = f(X) − η‖∇f‖_* + (r/2)η²,
    so Σ η_t‖∇f(X_t)‖_* = Δ − (f(X_{T+1}) − f*) + (L r/2)Σ η_t²: (★) with e_t = 0 (which the
    recursions give) holds with slack f(X_{T+1}) − f* only.
    "drift": start at distance 20, c_a = 0.3, η₀ = 0.02: the gradient direction is constant for
    many steps, ‖∇f(X_t) − ∇f(X_{t−1})‖_F = Lη_{t−1}√r, and the E-Muon / E-MVR1 drift term is
    attained up to the recursion's β vs β² (the source tightness remark).

    Returns measured/theoretical per config and method as :func:`s2_rates` (e_mean, e_bound,
    grad_dual_avg, anytime_bound, n_bound).
    """
    _check_options(quick, mutation)
    cfgs = _tight_configs(quick)
    measured, theoretical = {}, {}
    for name, cfg in cfgs.items():
        methods = METHODS if name == "sum" else ("muon", "mvr1")
        data = _single(_sweep(f"s2_tight_{name}", cfg, methods, mutation, cache, 1))
        const = _constants(cfg["problem"], 0.0, mutation)
        measured[name] = _rate_measures(data, methods)
        theoretical[name] = _rate_bounds(data, cfg, const, methods)
    return Experiment("s2_tight", measured, theoretical, {"configs": cfgs, "mutation": mutation})


# ------------------------------------------------------------------------------------------ PL


def _pl_config(quick):
    T = 500 if quick else 3000
    return {
        "problem": "isotropic",
        "dist": 0.05,
        "sigma": 0.05,
        "eta0": 0.25,
        "c_a": 2.0,
        "steps": T,
        "dense": T,
        "seeds": 8 if quick else 24,
        "running": False,
    }


@experiment("s2_pl")
def s2_pl(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """P1 (best iterate of E√(f − f*)) and P2 (last iterate of E f − f*) under PL.

    Problem: ``isotropic_quadratic`` 8×6 (PL and L with μ = L = 1), start at distance 0.05, Gaussian
    noise σ = 0.05, η₀ = 0.25, c_a = 2; every step recorded.  G is the largest ‖∇f(X_t)‖_F over every
    step and seed (so ‖∇f(X_t)‖_F <= G holds on the sampled paths, which is P2's assumption there);
    P2 applies when 2μη₀/G lies in (p, 1] (p = 1/4 Muon/MVR1, 1/3 MVR2), recorded as applicable.

    Returns measured[method]: ``best_sqrt_gap`` (min over t <= T of the seed mean of √(f − f*)),
    ``last_gap`` (seed mean of f(X_T) − f*), ``T``, ``G``; theoretical[method]: ``p1`` and ``p2``
    (BoundValues' values; NaN where not applicable), ``c_eta0`` = 2μη₀/G.
    """
    import bounds

    _check_options(quick, mutation)
    cfg = _pl_config(quick)
    data = _single(_sweep("s2_pl", cfg, METHODS, mutation, cache, cfg["seeds"]))
    const = _constants(cfg["problem"], cfg["sigma"], mutation)
    measured, theoretical = {}, {}
    for m in METHODS:
        d = data[m]
        ck = d["checkpoints"][0].astype(int)
        gap = np.maximum(d["gap"], 0.0)  # (seeds, K); rounding can give -1e-17 at the optimum
        G = float(np.max(d["grad_fro"]))
        Tn = ck + 1  # runner iterate k is S2's X_{k+1}
        Delta0 = float(np.mean(gap[:, 0]))
        G_b = understate_G(G, mutation)
        kw = dict(
            Delta0=Delta0,
            r=const["r"],
            eta0=cfg["eta0"],
            L=const["L"],
            sigma=const["sigma"],
            c_a=cfg["c_a"],
            T=Tn.astype(float),
            mu=const["mu"],
        )
        ms = {"L_ms": const["L_ms"]} if m == "mvr2" else {}
        p1 = bounds.get({"muon": "S2.P1", "mvr1": "S2.P1.MVR1", "mvr2": "S2.P1.MVR2"}[m]).evaluate(**kw, **ms)
        p2 = bounds.get({"muon": "S2.P2", "mvr1": "S2.P2.MVR1", "mvr2": "S2.P2.MVR2"}[m]).evaluate(
            **kw, G=G_b, **ms
        )
        measured[m] = {
            "T": Tn,
            "best_sqrt_gap": np.minimum.accumulate(np.sqrt(gap).mean(axis=0)),
            "last_gap": gap.mean(axis=0),
            "G": G,
            "Delta0": Delta0,
            "diverged": float(np.sum(d["diverged"])),
        }
        theoretical[m] = {
            "p1": p1.value,
            "p2": p2.value,
            "p2_applicable": bool(np.all(p2.applicable)),
            "p2_reason": p2.reasons,
            "c_eta0": 2 * const["mu"] * cfg["eta0"] / G_b,
            "G": G_b,
        }
    return Experiment(
        "s2_pl", measured, theoretical, {"config": cfg, "constants": const, "mutation": mutation}
    )


def understate_G(G, mutation):
    """The path-wise gradient bound G as the P2 bound sees it (×0.8 under "understate_constant")."""
    from lab.checks.mutations import understate

    return understate(G, mutation)


# ------------------------------------------------------------------------------------------ γ floor


def _floor_config(quick):
    return {
        "problem": "kronecker",
        "dist": 0.05,
        "sigma": 0.2,
        "eta0": 0.1,
        "c_a": 1.0,
        "steps": 2000 if quick else 10_000,
        "dense": 0,
        "seeds": 8 if quick else 24,
        "running": False,
        "gammas": [0.2, 0.4, 0.8],
        "plateau": (0.3, 1.0),
    }


@experiment("s2_gamma_floor")
def s2_gamma_floor(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """MVR1 with a constant γ leaves an estimator-error floor ≈ γσ.

    Derivation (the floor): with constant γ and a_t → 0 the correction terms γβ(ξ_t − ξ_{t−1})
    telescope under the EMA, ε_t = γξ_t + O(√a_t) (stochastic part) + drift, so E‖ε_t‖_F² →
    γ²σ²: the RMS error ‖ε‖ plateaus at γσ while the γ_t = t^(−1/2) method keeps falling.

    Stationary value at fixed a = 1 − β (drift neglected): ε_t = (a + γβ)ξ_t + Σ_{k>=1} β^k a ξ_{t−k}, so
    E‖ε‖² = σ²[(a + γβ)² + aβ²/(1 + β)] → γ²σ² as a → 0.

    Runs: the ``s2_rates`` problem and schedule, MVR1 with γ ∈ {0.2, 0.4, 0.8} (one stacked run) and
    with γ_t = t^(−1/2).  Measured: ``plateau`` = RMS of ‖ε_t‖_F over seeds and the checkpoints in
    the last half-decade (T·10^(−0.5) <= t <= T) per γ, per seed (``plateau_seeds``); the reference's
    RMS error over the same window.  Theoretical: ``floor`` = γσ, ``exponent`` = 1 (floor ∝ γ),
    ``transient`` + (γσ)²``beta2`` = the quasi-stationary E‖ε‖² averaged over the window.
    """
    _check_options(quick, mutation)
    cfg = _floor_config(quick)
    const = _constants(cfg["problem"], cfg["sigma"], mutation)
    data = _sweep("s2_gamma_floor", cfg, ("mvr1_const",), mutation, cache, cfg["seeds"], gamma=cfg["gammas"])
    ref = _single(_sweep("s2_gamma_floor", cfg, ("mvr1",), mutation, cache, cfg["seeds"]))
    d = {k: v[:, 0, 0] for k, v in data["mvr1_const"].items()}  # (seeds, gamma, ...)
    ck = d["checkpoints"][0, 0].astype(int)
    T = int(ck[-1])
    keep = (ck >= T * 10**-0.5) & (ck < T)
    err2 = d["est_err_fro"][..., keep] ** 2  # (seeds, gamma, K')
    plateau_seeds = np.sqrt(err2.mean(axis=-1))  # (seeds, gamma)
    plateau = np.sqrt(err2.mean(axis=(0, -1)))
    ref_err = np.sqrt((ref["mvr1"]["est_err_fro"][:, keep] ** 2).mean())
    measured = {
        "gamma": np.asarray(cfg["gammas"]),
        "plateau": plateau,
        "plateau_seeds": plateau_seeds,
        "reference_rms": ref_err,
        "window": (int(ck[keep][0]), int(ck[keep][-1])),
    }
    # quasi-stationary E‖ε‖² at the window's a_t = 1 − β_t: σ²[(a + γβ)² + aβ²/(1 + β)], split as
    # transient(γ) + (γσ)²·β² so that a check can swap the floor's γ-exponent
    _, beta, _ = _schedule("mvr1_const", T, cfg["eta0"], cfg["c_a"])
    b = np.ravel(beta)[ck[keep]]  # β at the steps t = k + 1 of the window checkpoints
    a = 1.0 - b
    g = np.asarray(cfg["gammas"])[:, None]
    s2 = const["sigma"] ** 2
    transient = (s2 * (a**2 + 2 * a * g * b + a * b**2 / (1 + b))).mean(axis=-1)
    theoretical = {
        "floor": np.asarray(cfg["gammas"]) * const["sigma"],
        "exponent": 1.0,
        "sigma": const["sigma"],
        "transient": transient,
        "beta2": float((b**2).mean()),
    }
    return Experiment(
        "s2_gamma_floor", measured, theoretical, {"config": cfg, "constants": const, "mutation": mutation}
    )
