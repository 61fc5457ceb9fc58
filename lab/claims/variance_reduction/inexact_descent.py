r"""S2's descent inequality with S1's δ-inexact oracle (``S2.D.inexact``; experiment
``s2_descent_inexact``, check ``S2-D-inexact``).

S2 extensions: one Muon step with an inexact oracle, and the MVR1 state recursion.

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
(:func:`lab.claims.mutations.mutate`, separate cache entries); "understate_constant" multiplies the
certified L (and σ) by 0.8 in the bounds (the runs are the unmutated ones).

Checks
------
S2 extension checks: inexact-oracle descent (S2.D.inexact) and the MVR1 state recursion (S2.E.MVR1.state).

Experiments: ``s2_descent_inexact`` above, ``s2_mvr1_state`` in
:mod:`lab.claims.variance_reduction.mvr1_state`.  Bounds: ``bounds/s2.py`` (lab derivations consistent
with S2, Chang, Liu, Yuan, arXiv 2509.15816, and S1's δ-inexact oracle model), evaluated on the
problems' certified constants.

Decision rules
--------------
* **S2-D-inexact** (deterministic, every step of every run): the one-step inequality is written in
  remainder form, excess_t = f(X_{t+1}) − f(X_t) + η(1 − δ)‖∇f‖_* − 2η‖ε‖_* <= (Lr/2)(1 + δ)²η²; holds
  iff excess/((Lr/2)(1 + δ)²η² + allowance) <= 1 at every step where the theorem applies (δ < 1),
  allowance = 64·ε_mach·(|f_t| + |f_{t+1}| + η‖∇f‖_* + 2η‖ε‖_*), the rounding error of the left side.
  Injected-error oracles use their nominal (certified) δ; Newton–Schulz the a-priori δ_t =
  ns_delta(ℓ_t, k, preset), the uniform error bound of the preset's polynomial on [ℓ_t, 1] with ℓ_t the
  floor of the input's normalised spectrum (never the measured ‖D − lmo‖, which would make the row a
  triangle inequality that no Newton–Schulz bug can break).
* **S2-E-MVR1-state** (an expectation): the theorem bounds E[u_t − β_t u_{t−1}] by the drift + noise
  terms.  The per-seed paired differences d_t = u_t − β_t u_{t−1} have a seed mean with standard
  error se_t; a violation must be significant, so the verdict uses the one-sided 99.9 % lower
  confidence limit mean − 3.09·se_t (CLT over seeds, as in
  :mod:`lab.claims.variance_reduction.rates`) and holds iff it is
  <= rhs_t + 64·ε_mach·mean(|u_t| + β_t|u_{t−1}|) at every t >= 2.  The deterministic drift-dominated
  configuration has one seed (se = 0): there it is an exact per-step inequality, nearly attained.

Mutations (each run and each fails; ``tests/test_checks_s2_extensions.py``): "double_step",
"understate_constant" (L ×0.8; σ too for the state recursion) and "flip_momentum" (state recursion)."""

from __future__ import annotations

import numpy as np

import bounds
from lab.claims._common import columns
from lab.claims.mutations import mutate, understate
from lab.claims.registry import Experiment, check, experiment
from lab.claims.variance_reduction._shared import (
    _EPS,
    _R,
    _check_extension_options,
    _extension_problem,
    _get,
    _run_variant,
)
from lab.optimizers import muon
from lab.oracles import NewtonSchulzOracle, exact_lmo, inexact_oracle
from lab.orthogonalization import ns_delta_upper
from lab.random import RNG
from lab.runner import run
from lab.stats import Verdict, ratio_to_bound
from lab.sweeps import Grid, run_sweep

KINDS = ("expand", "shrink", "random", "adversarial")
NS_PRESETS = ("jordan", "quintic", "cubic", "polar_express")
NS_STEPS = 5
#: start distances ‖X₀ − X*‖_F of the (D) runs per problem
_DESCENT_DIST = {"isotropic": 3.0, "kronecker": 1.0}


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
    p0 = points[0]
    problem = _extension_problem(p0["problem"], _DESCENT_DIST[p0["problem"]])
    if p0["oracle"].startswith("ns:"):
        _, preset, k = p0["oracle"].split(":")
        oracle = _a_priori_ns(int(k), preset)
    else:
        oracle = inexact_oracle(exact_lmo("spectral"), columns(points, "delta"), p0["oracle"])
    opt = muon(
        lr=columns(points, "lr"),
        beta=columns(points, "beta"),
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
    grid = Grid(
        problem=list(cfg["problems"]),
        oracle=list(oracles),
        mutation=[_run_variant(mutation)],
        steps=[cfg["steps"]],
        seed=list(cfg["seeds"]),
        beta=list(cfg["beta"]),
        lr=list(cfg["lr"]),
        delta=list(deltas),
    )
    variant = _run_variant(mutation)
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


@experiment("S2.D.inexact")
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
    _check_extension_options(quick, mutation, options, "s2_descent_inexact")
    cfg = _descent_config(quick)
    inj = _descent_sweep("s2_descent_inexact", cfg, KINDS, cfg["delta"], mutation, cache)
    ns = _descent_sweep(
        "s2_descent_inexact_ns", cfg, [f"ns:{n}:{NS_STEPS}" for n in cfg["ns"]], [0.0], mutation, cache
    )
    out = {"measured": {}, "theoretical": {}, "meta": {}}
    for label, sw in (("injected", inj), ("newton_schulz", ns)):
        f, gd, ed, lr = sw.array("f"), sw.array("grad_dual"), sw.array("est_err_dual"), sw.array("lr")
        probs = sw.column("problem")
        L = np.array([float(_extension_problem(k, 1.0).constants.L_frobenius) for k in probs])[:, None]
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


SRC_D = "lab extension combining S1's error model with S2's descent (Chang, Liu, Yuan, arXiv 2509.15816)"
_D_PROBLEMS = "isotropic_quadratic 8x6 (L=1, start 3 from X*) and kronecker_quadratic 8x6 (kappa=10, start 1)"


@check(
    "S2.D.inexact",
    claim="One Muon step with a delta-inexact oracle obeys f(X+) <= f(X) - eta(1-delta)||grad||_* "
    "+ 2 eta||eps||_* + (L r/2)(1+delta)^2 eta^2 (deterministic, every step; injected errors and "
    "Newton-Schulz with its a-priori delta)",
    source="S2",
    theorems=("S2.D.inexact",),
    experiment="S2.D.inexact",
    mutations=("double_step", "understate_constant"),
)
def s2_d_inexact(*, quick: bool, mutation: str | None = None):
    """One verdict per oracle (4 injected kinds, NS presets), over both problems, every β, η, δ and step."""
    ex = _get("s2_descent_inexact", quick, mutation)
    out = []
    for family in ("injected", "newton_schulz"):
        m, t, meta = ex.measured[family], ex.theoretical[family], ex.meta[family]
        bound = t["quad"] + 64 * _EPS * m["scale"]
        excess = np.where(m["applicable"], m["excess"], -np.inf)
        for oracle in sorted(set(meta["oracle"].tolist())):
            sel = meta["oracle"] == oracle
            rows = [r for r, k in zip(meta["rows"], sel, strict=True) if k]
            ratio = ratio_to_bound(excess[sel], bound[sel], points=rows)
            by_delta = {}
            if family == "injected":
                for d in sorted(set(meta["delta"][sel].tolist())):
                    k = sel & (meta["delta"] == d)
                    by_delta[d] = float(np.max(excess[k] / bound[k]))
            out.append(
                Verdict.from_ratio(
                    "S2-D-inexact",
                    SRC_D,
                    f"{_D_PROBLEMS}; Muon EMA (no Nesterov), oracle {oracle}",
                    "(L r/2)(1 + delta)^2 eta^2 + 64 eps (|f_t| + |f_t+1| + eta||g||_* + 2 eta||eps||_*)",
                    "f(X_t+1) - f(X_t) + eta(1 - delta)||grad f(X_t)||_* - 2 eta||eps_t||_*",
                    ratio,
                    delta="nominal (certified)"
                    if family == "injected"
                    else "a priori per step: ns_delta(ell_t)",
                    delta_range=[float(np.min(m["delta"][sel])), float(np.max(m["delta"][sel]))],
                    not_applicable_steps=int(np.sum(~m["applicable"][sel])),
                    worst_ratio_by_delta=by_delta,
                    steps=int(excess.shape[1]),
                    runs=int(np.sum(sel)),
                    mutation=mutation,
                )
            )
    return out
