r"""The MVR1 state recursion ``S2.E.MVR1.state`` (experiment ``s2_mvr1_state``; check
``S2-E-MVR1-state``)."""

from __future__ import annotations

import numpy as np

import bounds
from bounds.s2 import horizon_free_schedule
from lab.claims._common import columns
from lab.claims.mutations import mutate, understate
from lab.claims.registry import Experiment, check, experiment
from lab.claims.variance_reduction._shared import (
    _EPS,
    _R,
    Z_999,
    _check_extension_options,
    _extension_problem,
    _get,
    _run_variant,
)
from lab.optimizers import muon_mvr1
from lab.optimizers.base import gradient_fn
from lab.random import RNG
from lab.schedules import anytime_beta, power
from lab.stats import Verdict, ratio_to_bound
from lab.sweeps import Grid, run_sweep


def _state_configs(quick):
    """Configurations: "noise" (the S2 rates configuration) and "drift" (deterministic, drift-dominated)."""
    return {
        "noise": {
            "problem": "kronecker",
            "dist": 0.05,
            "sigma": 0.2,
            "eta0": 0.1,
            "c_a": 1.0,
            "steps": 600 if quick else 3000,
            "seeds": 48 if quick else 128,
        },
        "drift": {
            "problem": "isotropic",
            "dist": 20.0,
            "sigma": 0.0,
            "eta0": 0.02,
            "c_a": 0.3,
            "steps": 300 if quick else 2000,
            "seeds": 1,
        },
    }


def _state_compute(points):
    """MVR1 (γ_t = t^(−1/2), horizon-free schedule, M_1 = g_1) step by step, batched over the points.

    Per step t = 1..T (runner index k = t − 1): u_t = ‖ε_t − γ_{t+1}ξ_t‖_F², e_t = ‖ε_t‖_F², with
    ε_t = M_t − ∇f(X_t) and ξ_t = g_t − ∇f(X_t) (the step's sample; zero for deterministic runs).
    Random streams as in :func:`lab.runner.run` (sample at step t = rng.fold("sample").at(t)).
    """
    p0 = points[0]
    sigma = float(p0["sigma"])
    problem = _extension_problem(p0["problem"], p0["dist"], sigma)
    xp = problem.xp
    eta0, c_a = columns(points, "eta0"), columns(points, "c_a")
    opt = muon_mvr1(
        lr=power(eta0, 0.75), beta=anytime_beta(c_a, 0.5), gamma=power(1.0, 0.5), momentum_init="gradient"
    )
    opt = mutate(opt, None if p0["mutation"] == "none" else p0["mutation"])
    rng = RNG(xp.asarray(np.asarray([p["key"] for p in points], dtype=np.uint64)))
    params = problem.x0(rng)
    state = opt.init(params)
    steps = int(p0["steps"])
    stochastic = sigma > 0
    sample_rng, oracle_rng = rng.fold("sample"), rng.fold("oracle")
    u = np.empty((len(points), steps))
    e = np.empty((len(points), steps))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            t = k + 1
            grad_true = problem.grad(params)[0]
            gfn = gradient_fn(problem, sample_rng.at(t), stochastic=stochastic)
            new_params, state, info = opt.update(state, params, gfn, oracle_rng.at(t))
            eps = info.estimate[0] - grad_true
            xi = info.gradient[0] - grad_true
            w = eps - (t + 1) ** -0.5 * xi  # γ_{t+1} = (t + 1)^(−1/2)
            u[:, k] = np.asarray(xp.sum(w * w, axis=(-2, -1)))
            e[:, k] = np.asarray(xp.sum(eps * eps, axis=(-2, -1)))
            params = new_params
    return {"u": u, "e": e}


def _state_sweep(name, cfg, mutation, cache):
    variant = _run_variant(mutation)
    grid = Grid(
        problem=[cfg["problem"]],
        mutation=[variant],
        steps=[cfg["steps"]],
        dist=[float(cfg["dist"])],
        sigma=[float(cfg["sigma"])],
        eta0=[float(cfg["eta0"])],
        c_a=[float(cfg["c_a"])],
        seed=list(range(cfg["seeds"])),
    )
    return run_sweep(
        _state_compute,
        grid,
        name=name if variant == "none" else f"{name}__{variant}",
        cache=cache,
        chunk_size=100_000,
        progress=False,
        key_axes=("seed",),
        by=("problem", "mutation", "steps", "dist", "sigma", "eta0", "c_a"),
    )


@experiment("S2.E.MVR1.state")
def s2_mvr1_state(*, quick: bool = True, cache=True, mutation: str | None = None, **options) -> Experiment:
    """S2.E.MVR1.state one step at a time on the measured seed-mean quantities.

    Claim (``bounds.get("S2.E.MVR1.state")``, lab derivation): with u_t = E‖ε_t − γ_{t+1}ξ_t‖_F²,
    u_t <= β_t u_{t−1} + (β_t²/a_t)(1 − γ_t)²L²r(1 + δ)²η_{t−1}² + (a_t + γ_tβ_t − γ_{t+1})²σ²  (t >= 2),
    exact polar (δ = 0), MVR1 with γ_t = t^(−1/2), η_t = η₀t^(−3/4), a_t = min(1, c_a t^(−1/2)).

    Returns, per configuration ("noise", "drift"; :func:`_state_configs`):
    measured ``d`` (seeds, T−1) = u_t − β_t u_{t−1} per seed for t = 2..T (the paired difference whose
    expectation the theorem bounds; pairing within a seed removes most of the sampling noise of u),
    ``u`` (seeds, T), ``e`` (seeds, T), ``t`` = 2..T; theoretical ``rhs`` (T−1,) = the theorem's value
    with u_prev = 0 (drift + noise terms), from the bounds catalog with the certified L and σ
    (×0.8 under "understate_constant"), and ``beta`` β_t.
    """
    _check_extension_options(quick, mutation, options, "s2_mvr1_state")
    measured, theoretical = {}, {}
    cfgs = _state_configs(quick)
    for label, cfg in cfgs.items():
        sw = _state_sweep(f"s2_mvr1_state_{label}", cfg, mutation, cache)
        u, e = sw.array("u"), sw.array("e")
        T = u.shape[1]
        eta, beta, gamma = (
            np.ravel(a) for a in horizon_free_schedule("mvr1", T + 1, cfg["eta0"], cfg["c_a"])
        )
        c = _extension_problem(cfg["problem"], 1.0, cfg["sigma"]).constants
        L = understate(float(c.L_frobenius), mutation)
        sigma = understate(float(np.sqrt(c.sigma2)), mutation)
        j = np.arange(1, T)  # index of S2's step t = j + 1 >= 2
        rhs = (
            bounds.get("S2.E.MVR1.state")
            .evaluate(
                beta_t=beta[j],
                u_prev=0.0,
                gamma_t=gamma[j],
                gamma_next=gamma[j + 1],
                L=L,
                r=_R,
                eta_prev=eta[j - 1],
                sigma=sigma,
                delta=0.0,
            )
            .value
        )
        measured[label] = {"d": u[:, 1:] - beta[j] * u[:, :-1], "u": u, "e": e, "t": j + 1}
        theoretical[label] = {"rhs": np.asarray(rhs, dtype=float), "beta": beta[j], "L": L, "sigma": sigma}
    meta = {"configs": cfgs, "mutation": mutation, "r": _R}
    return Experiment("s2_mvr1_state", measured, theoretical, meta)


SRC_E = "lab derivation consistent with S2 (Chang, Liu, Yuan, arXiv 2509.15816)"


@check(
    "S2.E.MVR1.state",
    claim="The MVR1 state u_t = E||eps_t - gamma_{t+1} xi_t||_F^2 obeys u_t <= beta_t u_{t-1} + "
    "(beta_t^2/a_t)(1-gamma_t)^2 L^2 r eta_{t-1}^2 + (a_t + gamma_t beta_t - gamma_{t+1})^2 sigma^2 "
    "at every t",
    source="S2",
    theorems=("S2.E.MVR1.state",),
    experiment="S2.E.MVR1.state",
    mutations=("understate_constant", "flip_momentum", "double_step"),
)
def s2_e_mvr1_state(*, quick: bool, mutation: str | None = None):
    """One step of the state recursion on the measured seed means (module rules), two configurations."""
    ex = _get("s2_mvr1_state", quick, mutation)
    names = {
        "noise": "kronecker_quadratic 8x6 (L=1, mu=0.1), Gaussian sigma=0.2, start 0.05 from X*, "
        "eta0=0.1, c_a=1",
        "drift": "isotropic_quadratic 8x6 (L=1), deterministic, start 20 from X*, eta0=0.02, c_a=0.3",
    }
    out = []
    for label, m in ex.measured.items():
        t = ex.theoretical[label]
        d, u = m["d"], m["u"]
        S = d.shape[0]
        mean = d.mean(axis=0)
        se = d.std(axis=0, ddof=1) / np.sqrt(S) if S > 1 else np.zeros_like(mean)
        allow = 64 * _EPS * np.mean(np.abs(u[:, 1:]) + t["beta"] * np.abs(u[:, :-1]), axis=0)
        ratio = ratio_to_bound(mean - Z_999 * se, t["rhs"] + allow)
        raw = ratio_to_bound(mean, t["rhs"] + allow)
        out.append(
            Verdict.from_ratio(
                "S2-E-MVR1-state",
                SRC_E,
                f"{names[label]}; MVR1 gamma_t = t^-1/2, exact polar",
                "(beta^2/a)(1-gamma)^2 L^2 r eta_prev^2 + (a + gamma beta - gamma_next)^2 sigma^2",
                "seed mean of u_t - beta_t u_{t-1} minus 3.09 standard errors"
                if S > 1
                else "u_t - beta_t u_{t-1} (deterministic)",
                ratio,
                worst_t=int(m["t"][ratio.index[0]]),
                raw_worst_ratio=raw.worst,
                raw_worst_t=int(m["t"][raw.index[0]]),
                seeds=int(S),
                steps=int(u.shape[1]),
                **({"level": 1 - 0.001} if S > 1 else {}),
                L=float(t["L"]),
                sigma=float(t["sigma"]),
                mutation=mutation,
            )
        )
    return out
