r"""S2 extensions: one Muon step with an inexact oracle, and the MVR1 state recursion.

Source: Chang, Liu, Yuan, *On the Convergence of Muon and Beyond*, arXiv 2509.15816, combined with S1's
δ-inexact oracle model (Shulgin et al., arXiv 2510.19933).  The bounds are lab derivations
(``bounds/s2.py``: ``S2.D.inexact``, ``S2.E.MVR1.state``) evaluated on the problems' certified constants.

``s2_descent_inexact``
    (D) with a δ-inexact oracle, per step, deterministic gradients:
    f(X_{t+1}) <= f(X_t) − η(1 − δ)‖∇f(X_t)‖_* + 2η‖ε_t‖_* + (Lr/2)(1 + δ)²η²,  ε_t = M_t − ∇f(X_t).
    Muon (EMA, no Nesterov, M_1 = g_1, constant η and β, shape scale 1) with (i) the injected-error
    oracles of :func:`lab.oracles.inexact_oracle` (expand / shrink / random / adversarial, nominal δ
    grid: ‖D − lmo(M)‖_op <= δ holds by construction) and (ii) five-step Newton–Schulz presets, whose
    error δ_t = ‖NS(M_t) − polar(M_t)‖_op is *measured* at every step (the theorem applies where
    δ_t < 1).  Problems: ``isotropic_quadratic`` 8×6 (L = 1, start 3 from X*: with ε = 0 and the
    shrink oracle the smoothness step is an equality, so the quadratic term is attained) and the
    κ = 10 ``kronecker_quadratic`` (start 1).  Constant η: the iterates reach the O(η) neighbourhood
    of X* where the η² term dominates, which is where planted bugs show.
``s2_mvr1_state``
    The state recursion of the MVR1 error bound, u_t = E‖ε_t − γ_{t+1}ξ_t‖_F² (ξ_t = g_t − ∇f(X_t),
    the step's gradient noise), one step at a time on the measured quantities.  A step loop (the
    runner does not expose ξ_t) batched over seeds, with the runner's random streams.

Every experiment takes ``mutation``: "double_step" / "flip_momentum" wrap the optimizer
(:func:`lab.checks.mutations.mutate`, separate cache entries); "understate_constant" multiplies the
certified L (and σ) by 0.8 in the bounds (the runs are the unmutated ones).
"""

from __future__ import annotations

import numpy as np

from lab.experiments import Experiment, check_options, experiment

__all__ = ["s2_descent_inexact", "s2_mvr1_state", "KINDS", "NS_PRESETS"]

KINDS = ("expand", "shrink", "random", "adversarial")
NS_PRESETS = ("jordan", "quintic", "cubic", "polar_express")
NS_STEPS = 5
_M, _N = 8, 6
_R = min(_M, _N)
_MUTATIONS = (None, "double_step", "flip_momentum", "understate_constant")
_OPT_MUTATIONS = ("double_step", "flip_momentum")
#: start distances ‖X₀ − X*‖_F of the (D) runs per problem
_DESCENT_DIST = {"isotropic": 3.0, "kronecker": 1.0}


def _check_options(quick, mutation, options, name):
    check_options(quick, mutation, _MUTATIONS, options=options, name=name)


def _variant(mutation):
    return mutation if mutation in _OPT_MUTATIONS else "none"


def _problem(kind, dist, sigma=0.0):
    import problems

    if kind == "isotropic":
        p = problems.make("isotropic_quadratic", m=_M, n=_N, L=1.0, init_distance=dist, seed=0)
    else:
        p = problems.make("kronecker_quadratic", m=_M, n=_N, L=1.0, mu=0.1, init_distance=dist, seed=0)
    return p.with_noise("gaussian", sigma=sigma) if sigma > 0 else p


def _col(points, name):
    return np.asarray([p[name] for p in points], dtype=np.float64)


# ------------------------------------------------------------------------------------------ (D), inexact


def _descent_config(quick):
    return {
        "steps": 200 if quick else 800,
        "seeds": [0] if quick else [0, 1],
        "delta": [0.0, 0.05, 0.3, 0.6] if quick else [0.0, 0.02, 0.05, 0.1, 0.3, 0.6, 0.9],
        "beta": [0.0, 0.9] if quick else [0.0, 0.5, 0.9],
        "lr": [0.02, 0.1] if quick else [0.01, 0.03, 0.1],
        "problems": dict(_DESCENT_DIST),
        "ns": NS_PRESETS[:2] if quick else NS_PRESETS,
    }


def _a_priori_ns(steps, preset):
    """Muon's Newton–Schulz oracle whose reported δ is a priori, not measured.

    ``diagnostics`` reports δ_t = ``ns_delta(ℓ_t, steps, preset)`` (through ``ns_delta_upper``, its
    value at a grid point just below ℓ_t, an upper bound): the uniform bound of |1 − p(x)|
    over x ∈ [ℓ_t, 1] computed from the preset's coefficients alone, where ℓ_t = σ_min(M_t)/(‖M_t‖_F
    + eps) is the floor of the normalised spectrum of the oracle's input (rounded down by 1e-12).
    The measured ‖D − lmo(M_t)‖ would make S2.D.inexact a triangle inequality, true for any bug in
    the iteration; the a-priori δ is not computed from the output, so such a bug shows.
    """
    from lab.oracles import NewtonSchulzOracle
    from lab.orthogonalization import ns_delta_upper

    class APrioriNS(NewtonSchulzOracle):
        def diagnostics(self, G, D):
            out = dict(super().diagnostics(G, D))
            sv = np.linalg.svd(np.asarray(G), compute_uv=False)
            fro = np.sqrt(np.sum(sv * sv, axis=-1))
            ell = sv[..., -1] / (fro + self._eps) * (1 - 1e-12)
            out["delta"] = ns_delta_upper(ell, steps, preset)
            return out

    return APrioriNS(steps, preset, 1.0, {})


def _descent_compute(points):
    """One stacked run per chunk (one problem, oracle, mutation): every step recorded."""
    from lab.checks.mutations import mutate
    from lab.optimizers import muon
    from lab.oracles import exact_lmo, inexact_oracle
    from lab.random import RNG
    from lab.runner import run

    p0 = points[0]
    problem = _problem(p0["problem"], _DESCENT_DIST[p0["problem"]])
    if p0["oracle"].startswith("ns:"):
        _, preset, k = p0["oracle"].split(":")
        oracle = _a_priori_ns(int(k), preset)
    else:
        oracle = inexact_oracle(exact_lmo("spectral"), _col(points, "delta"), p0["oracle"])
    opt = muon(
        lr=_col(points, "lr"),
        beta=_col(points, "beta"),
        nesterov=False,
        oracle=oracle,
        shape_scale="none",
        momentum_init="gradient",
    )
    opt = mutate(opt, None if p0["mutation"] == "none" else p0["mutation"])
    res = run(
        problem,
        opt,
        steps=p0["steps"],
        seeds=RNG(np.asarray([p["key"] for p in points], dtype=np.uint64)),
        record=("loss", "grad", "estimator", "step", "oracle"),
        checkpoints="all",
        stochastic=False,
    )
    m = res.metrics
    return {
        "f": m["f"].T,  # (B, T+1)
        "grad_dual": m["grad_dual"].T[:, :-1],  # (B, T): step metrics of the step from X_k
        "est_err_dual": m["est_err_dual"].T[:, :-1],
        "lr": m["lr"].T[:, :-1],
        # injected errors: the measured ‖D − lmo‖; Newton–Schulz: the a-priori δ (_a_priori_ns)
        "delta_measured": m["oracle_delta_b0"].T[:, :-1],
    }


def _descent_sweep(name, cfg, oracles, deltas, mutation, cache):
    from lab.sweeps import Grid, run_sweep

    grid = Grid(
        problem=list(cfg["problems"]),
        oracle=list(oracles),
        mutation=[_variant(mutation)],
        steps=[cfg["steps"]],
        seed=list(cfg["seeds"]),
        beta=list(cfg["beta"]),
        lr=list(cfg["lr"]),
        delta=list(deltas),
    )
    variant = _variant(mutation)
    return run_sweep(
        _descent_compute,
        grid,
        name=name if variant == "none" else f"{name}__{variant}",
        cache=cache,
        chunk_size=100_000,
        progress=False,
        key_axes=("seed",),
        by=("problem", "oracle", "mutation", "steps"),
    )


@experiment("s2_descent_inexact")
def s2_descent_inexact(
    *, quick: bool = True, cache=True, mutation: str | None = None, **options
) -> Experiment:
    """S2.D.inexact per step, deterministic, for injected-error and Newton–Schulz oracles.

    Claim (``bounds.get("S2.D.inexact")``, lab extension): if ‖D(M_t) − lmo(M_t)‖_op <= δ < 1, one step
    X_{t+1} = X_t + η D(M_t) satisfies
    f(X_{t+1}) <= f(X_t) − η(1 − δ)‖∇f(X_t)‖_* + 2η‖ε_t‖_* + (Lr/2)(1 + δ)²η².

    Returns, per row of the sweep (``meta["rows"]``) and step t:
    measured ``excess`` = f(X_{t+1}) − f(X_t) + η(1 − δ)‖∇f‖_* − 2η‖ε‖_* (what the η² term must
    dominate), ``scale`` = |f(X_t)| + |f(X_{t+1})| + η‖∇f‖_* + 2η‖ε‖_* (the magnitude of the terms,
    for the rounding allowance), ``delta`` the δ the bound uses (nominal for injected errors, the
    a-priori δ_t = ns_delta(ℓ_t) of the preset at the input's normalised spectral floor for NS;
    see :func:`_a_priori_ns`), ``applicable`` δ < 1; theoretical ``quad`` = (Lr/2)(1 + δ)²η² and
    ``bound`` = the
    theorem's full right-hand side minus f(X_t), both from the bounds catalog with the certified L
    (×0.8 under "understate_constant").
    """
    _check_options(quick, mutation, options, "s2_descent_inexact")
    import bounds
    from lab.checks.mutations import understate

    cfg = _descent_config(quick)
    inj = _descent_sweep("s2_descent_inexact", cfg, KINDS, cfg["delta"], mutation, cache)
    ns = _descent_sweep(
        "s2_descent_inexact_ns", cfg, [f"ns:{n}:{NS_STEPS}" for n in cfg["ns"]], [0.0], mutation, cache
    )
    out = {"measured": {}, "theoretical": {}, "meta": {}}
    for label, sw in (("injected", inj), ("newton_schulz", ns)):
        f, gd, ed, lr = sw.array("f"), sw.array("grad_dual"), sw.array("est_err_dual"), sw.array("lr")
        probs = sw.column("problem")
        L = np.array([float(_problem(k, 1.0).constants.L_frobenius) for k in probs])[:, None]
        L = understate(L, mutation)
        delta = sw.array("delta_measured") if label == "newton_schulz" else sw.column("delta")[:, None]
        delta = np.broadcast_to(np.asarray(delta, dtype=float), lr.shape)
        applicable = delta < 1.0
        d_eval = np.where(applicable, delta, 0.0)
        thm = bounds.get("S2.D.inexact")
        full = thm.evaluate(eta=lr, g_dual=gd, eps_dual=ed, L=L, r=_R, delta=d_eval).value
        quad = thm.evaluate(eta=lr, g_dual=0.0 * gd, eps_dual=0.0 * ed, L=L, r=_R, delta=d_eval).value
        df = f[:, 1:] - f[:, :-1]
        out["measured"][label] = {
            "excess": df - (full - quad),
            "change": df,
            "scale": np.abs(f[:, 1:]) + np.abs(f[:, :-1]) + lr * gd + 2 * lr * ed,
            "delta": delta,
            "applicable": applicable,
        }
        out["theoretical"][label] = {"quad": quad, "bound": full, "L": L[:, 0]}
        out["meta"][label] = {
            "rows": sw.rows,
            "oracle": sw.column("oracle"),
            "problem": probs,
            "beta": sw.column("beta"),
            "lr": sw.column("lr"),
            "delta": sw.column("delta"),
        }
    meta = {"config": cfg, "mutation": mutation, "r": _R, **out["meta"], "axes": ("row", "t")}
    return Experiment("s2_descent_inexact", out["measured"], out["theoretical"], meta)


# ------------------------------------------------------------------------------------------ MVR1 state


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
    from lab.checks.mutations import mutate
    from lab.optimizers import muon_mvr1
    from lab.optimizers.base import gradient_fn
    from lab.random import RNG
    from lab.schedules import anytime_beta, power

    p0 = points[0]
    sigma = float(p0["sigma"])
    problem = _problem(p0["problem"], p0["dist"], sigma)
    xp = problem.xp
    eta0, c_a = _col(points, "eta0"), _col(points, "c_a")
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
    from lab.sweeps import Grid, run_sweep

    variant = _variant(mutation)
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


@experiment("s2_mvr1_state")
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
    _check_options(quick, mutation, options, "s2_mvr1_state")
    import bounds
    from bounds.s2 import horizon_free_schedule
    from lab.checks.mutations import understate

    measured, theoretical = {}, {}
    cfgs = _state_configs(quick)
    for label, cfg in cfgs.items():
        sw = _state_sweep(f"s2_mvr1_state_{label}", cfg, mutation, cache)
        u, e = sw.array("u"), sw.array("e")
        T = u.shape[1]
        eta, beta, gamma = (
            np.ravel(a) for a in horizon_free_schedule("mvr1", T + 1, cfg["eta0"], cfg["c_a"])
        )
        c = _problem(cfg["problem"], 1.0, cfg["sigma"]).constants
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
