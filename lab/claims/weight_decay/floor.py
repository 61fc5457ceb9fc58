r"""X experiments: the weight-decay floor of Muon / Lion-K with a constant step (``X.WD.floor``/``.gap``).

Muon with decoupled weight decay, X_{t+1} = (1 − ηλ)X_t − ηs·polar(∇F(X_t)) (β = 0, deterministic,
exact polar, no Nesterov, shape scale 1), solves min F s.t. ‖X‖_op <= s/λ (S3).  When the constrained
optimum X_c has singular values strictly inside the ball, X_c is not a fixed point: a constant step
leaves a floor, of order η, in ‖X_t − X_c‖_F; a decaying step removes it.

``x_wd_floor``
    ``constrained_least_squares`` 8×6 (S3's instance family; ‖X*‖_op = 2 > s/λ = 1, the optimum's
    singular values run from 1 down into the ball), λ = 1, s = 1, X₀ inside the ball, several
    instances (seeds), constant η ∈ {8, 4, 2, 1}·10⁻³ (quick: without 10⁻³) and the decaying step
    η_t = v/(t + t₀) with t₀ = 1000, v = 8·10⁻³(1 + t₀) (η_1 = 8·10⁻³, Σ_t η_t ≈ v ln(T/t₀) ≫ 1/λ so the
    start is forgotten, η_T ≈ v/T below every constant step), 15/(η_min λ) steps, all in one batch.
    Every step: d_t = ‖X_t − X_c‖_F (X_c by FISTA,
    :meth:`problems.least_squares.ConstrainedLeastSquares.constrained_optimum`) and F(X_t) − F_c.
    Measured: the floor (mean of d_t/‖X_c‖_F over the last fifth of the steps) per (instance, η),
    min_t max(d_t, d_{t+1}) over the whole run, the final gap, and the decaying-step relative error.
    Theoretical: ``X.WD.floor`` (η λ D*/(2 + ηλ), D* from X_c's spectrum) and ``X.WD.gap`` at the
    last step (the instance's certified L).

``mutation="coupled_weight_decay"`` feeds ∇F(X) + λX to the oracle and drops the decoupled decay
(L2 regularisation: a different problem, whose solution is not X_c).

Checks
------
X-WD-floor: Muon / Lion-K with decoupled weight decay and a constant step stalls Θ(η) from X_c.

Verdicts (``x_wd_floor``; X_c the constrained optimum, computed independently by FISTA):

* ``X-WD-floor-lower`` — min_t max(d_t, d_{t+1}) >= ηλD*/(2 + ηλ) (``X.WD.floor``) for every instance
  and step: worst measured/bound ratio >= 1.
* ``X-WD-gap`` — F(X_T) − F_c <= (1 − ηλ)^T(F(X_0) − F_c) + 2Lrs²η/λ (``X.WD.gap``): worst ratio <= 1.
* ``X-WD-floor-slope`` — the log-log slope of the relative floor against η with a bootstrap interval
  over instances (:func:`lab.stats.slope_ci`): holds iff the interval contains 1 or the slope is within
  0.05 of 1 (the floor is linear in η), violated otherwise; the fitted constant floor/η is reported.
* ``X-WD-decay`` — the decaying step ends closer to X_c than the smallest constant step's floor, on
  every instance.

Planted bug: ``coupled_weight_decay`` (λX added to the gradient before the oracle instead of the
decoupled decay — a code-level change of the optimizer's configuration; the iterates then solve a
different problem and neither the η-linear floor nor the decaying-step convergence survives)."""

from __future__ import annotations

import numpy as np

import bounds
import problems
from lab.claims.registry import Experiment, check, check_options, experiment, get_experiment
from lab.optimizers import muon
from lab.random import RNG
from lab.schedules import power
from lab.stats import Verdict, slope_ci

_MUTATIONS = (None, "coupled_weight_decay")
LAM, SCALE = 1.0, 1.0
PROBLEM = dict(m=8, n=6, L=1.0, mu=0.1, radius=1.0, excess=2.0, residual=0.1, init_fraction=0.5)


def d_star(X_c, radius) -> float:
    """D* = (Σ_i dist(σ_i(X_c), {0, radius})²)^(1/2): how far X_c's spectrum is from {0, radius}."""
    s = np.linalg.svd(np.asarray(X_c), compute_uv=False)
    # FISTA stops at 1e-13 relative motion: boundary singular values sit at radius to ~1e-12
    return float(np.sqrt(np.sum(np.minimum(s, np.abs(radius - s)) ** 2)))


class _Coupled:
    """The planted bug: ∇F(X) + λX as the gradient (weight decay coupled into the oracle's input)."""

    def __init__(self, problem, lam):
        self.problem, self.lam = problem, lam

    def grad(self, params):
        return tuple(G + self.lam * X for G, X in zip(self.problem.grad(params), params, strict=True))


def _run(problem, lr, B, steps, X_c, mutation):
    """The iteration through the lab's optimizer; d_t and F(X_t) at every step (batch over lr)."""
    coupled = mutation == "coupled_weight_decay"
    opt = muon(
        lr,
        beta=0.0,
        nesterov=False,
        shape_scale="none",
        weight_decay=0.0 if coupled else LAM,
        momentum_init="gradient",
    )
    grad = _Coupled(problem, LAM).grad if coupled else problem.grad
    # one start per instance, shared by every step size (the problem's own x0, inside the ball)
    X = np.asarray(problem.x0(RNG.from_seeds(np.zeros(1, dtype=np.int64), "x_wd"))[0][0])
    params = (np.broadcast_to(X, (B,) + X.shape).copy(),)
    opt.validate(steps, (X.shape,))
    state = opt.init(params)
    dist = np.empty((steps + 1, B))
    f = np.empty((steps + 1, B))
    for t in range(steps + 1):
        E = params[0] - X_c
        dist[t] = np.sqrt(np.sum(E * E, axis=(-2, -1)))
        f[t] = np.asarray(problem.f(params))
        if t < steps:
            params, state, _ = opt.update(state, params, grad)
    return dist, f


def _config(quick):
    etas = [8e-3, 4e-3, 2e-3] if quick else [8e-3, 4e-3, 2e-3, 1e-3]
    return dict(
        etas=etas,
        eta0_decay=8e-3,
        offset_decay=1000.0,
        steps=int(15 / (min(etas) * LAM)),
        seeds=[0, 1] if quick else [0, 1, 2, 3],
    )


@experiment("X.WD.floor")
def x_wd_floor(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Constant-step floor and decaying-step convergence of Muon + weight decay (module docstring).

    Returns measured {"floor" (inst, η), "pair_min" (inst, η), "gap_last" (inst, η), "decay" (inst,)}
    and theoretical {"floor_lower" (inst, η) (X.WD.floor as a relative distance), "gap_bound" (inst, η)
    (X.WD.gap at T), "D_star" (inst,)}.  ``cache`` is accepted for the common signature; the runs
    are cheap and deterministic and are not cached.
    """
    check_options(quick, mutation, _MUTATIONS)
    cfg = _config(quick)
    etas = np.asarray(cfg["etas"])
    T = cfg["steps"]
    tail = slice(T - T // 5, T + 1)
    # constant steps (exponent 0) and the decaying step (exponent 1) as one batched schedule
    t0 = cfg["offset_decay"]
    n = len(etas)
    sched = power(
        np.append(etas, cfg["eta0_decay"] * (1 + t0)),
        np.append(np.zeros(n), 1.0),
        np.append(np.zeros(n), t0),
    )
    floor, pair_min, gap_last, decay, lower, gap_b, dst, xnorm = [], [], [], [], [], [], [], []
    for seed in cfg["seeds"]:
        p = problems.make("constrained_least_squares", seed=seed, **PROBLEM)
        radius = SCALE / LAM
        X_c, F_c, _ = p.constrained_optimum(radius)
        X_c = np.asarray(X_c)
        nrm = float(np.linalg.norm(X_c))
        D = d_star(X_c, radius)
        dist, f = _run(p, sched, n + 1, T, X_c, mutation)
        decay.append(float(dist[-1, n] / nrm))
        dist, f = dist[:, :n], f[:, :n]
        floor.append(dist[tail].mean(axis=0) / nrm)
        pair_min.append(np.minimum.reduce(np.maximum(dist[:-1], dist[1:]), axis=0))
        gap_last.append(f[-1] - F_c)
        lower.append(bounds.get("X.WD.floor").evaluate(eta=etas, lam=LAM, D_star=D).require())
        gap_b.append(
            bounds.get("X.WD.gap")
            .evaluate(
                eta=etas,
                lam=LAM,
                T=T,
                F_gap0=float(f[0, 0] - F_c),
                L=float(p.constants.L_frobenius),
                r=min(PROBLEM["m"], PROBLEM["n"]),
                s=SCALE,
            )
            .require()
        )
        dst.append(D)
        xnorm.append(nrm)
    return Experiment(
        "x_wd_floor",
        {
            "floor": np.asarray(floor),
            "pair_min": np.asarray(pair_min),
            "gap_last": np.asarray(gap_last),
            "decay": np.asarray(decay),
        },
        {"pair_lower": np.asarray(lower), "gap_bound": np.asarray(gap_b), "D_star": np.asarray(dst)},
        {
            "eta": etas.tolist(),
            "steps": T,
            "seeds": cfg["seeds"],
            "decay": f"eta_t = {cfg['eta0_decay'] * (1 + t0):g}/(t + {t0:g})",
            "X_c_norm": xnorm,
            "mutation": mutation,
            "quick": quick,
        },
    )


SOURCE = "lab derivation X.WD.floor / X.WD.gap (S3's Muon + decoupled weight decay, constant step)"
SLOPE_TOL = 0.05


@check(
    "X.WD.floor",
    claim="with a constant step, Muon + decoupled weight decay stays Theta(eta) away from the constrained "
    "optimum when it has singular values inside the ball (floor linear in eta); a decaying step converges",
    source="S3",
    theorems=("X.WD.floor", "X.WD.gap"),
    experiment="X.WD.floor",
    mutations=("coupled_weight_decay",),
)
def x_wd_floor_check(*, quick: bool, mutation: str | None = None):
    """Four verdicts (module docstring)."""
    ex = get_experiment("X.WD.floor")(quick=quick, mutation=mutation)
    m, th = ex.measured, ex.theoretical
    eta = np.asarray(ex.meta["eta"])
    problem = (
        f"constrained_least_squares 8x6, lam = s = 1, beta = 0, exact polar, "
        f"{len(ex.meta['seeds'])} instances, "
        f"T = {ex.meta['steps']}"
    )
    out = []
    low = float(np.min(m["pair_min"] / th["pair_lower"]))
    out.append(
        Verdict(
            claim="X-WD-floor-lower",
            source=SOURCE,
            problem=problem,
            bound=1.0,
            measured=low,
            verdict="holds" if low >= 1.0 else "violated",
            details={"rule": "min over instances, eta of min_t max(d_t, d_t+1) / (eta lam D*/(2 + eta lam))"},
        )
    )
    worst = float(np.max(m["gap_last"] / th["gap_bound"]))
    out.append(
        Verdict(
            claim="X-WD-gap",
            source=SOURCE,
            problem=problem,
            bound=1.0,
            measured=worst,
            verdict="holds" if worst <= 1.0 else "violated",
        )
    )
    floor = m["floor"]  # (instance, eta)
    window = (float(eta.min()), float(eta.max()))
    ci = slope_ci(eta, floor, window)
    ok = (ci.lo <= 1.0 <= ci.hi) or abs(ci.slope - 1.0) <= SLOPE_TOL
    out.append(
        Verdict(
            claim="X-WD-floor-slope",
            source=SOURCE,
            problem=problem,
            bound=1.0,
            measured=ci.slope,
            verdict="holds" if ok else "violated",
            slope=ci.slope,
            ci=(ci.lo, ci.hi),
            details={
                "eta": eta.tolist(),
                "relative_floor": floor.mean(axis=0).tolist(),
                "floor_over_eta": (floor / eta).mean(axis=0).tolist(),
                "tolerance": SLOPE_TOL,
            },
        )
    )
    smallest = floor.min(axis=1)
    ok = bool(np.all(m["decay"] < smallest))
    out.append(
        Verdict(
            claim="X-WD-decay",
            source=SOURCE,
            problem=problem,
            bound=float(smallest.min()),
            measured=float(m["decay"].max()),
            verdict="holds" if ok else "violated",
            details={"decay": ex.meta["decay"], "relative_error": m["decay"].tolist()},
        )
    )
    return out
