r"""X experiments: Muon-MVR2 with an inexact oracle (the lab's combined theorem ``X.MVR2.inexact``).

Two families of runs on S2's noise-dominated ``kronecker_quadratic`` (8×6, L = 1, μ = 0.1, Gaussian
noise with E‖ξ‖_F² = σ² exactly), MVR2 in the STORM form M_t = g_t(X_t) + β_t(M_{t−1} − g_t(X_{t−1}))
(the same sample at both points), M_1 = g_1, the oracle D(M) = lmo(M) + E:

``x_mvr_rates``
    S2's horizon-free schedule η_t = η₀t^(−2/3), 1 − β_t = min(1, c_a t^(−2/3)) with injected errors
    (``expand`` δ ∈ {0.3, 0.6}, ``random`` δ = 0.6, exact for reference) and real Newton–Schulz presets
    (5 steps of the Jordan quintic, 3 cubic steps; their measured δ_op is recorded at the checkpoints);
    quick mode: exact, expand 0.6 and the Jordan preset.
    Measured per seed: ‖∇f(X_T)‖_F and ‖M_T − ∇f(X_T)‖_F.  Theoretical: the exponent −1/3.
``x_mvr_grid``
    Constant (η, α = 1 − β) over a horizon T, a log grid of η at fixed α, δ ∈ {0, 0.3, 0.6} for the
    ``expand`` and ``random`` kinds (quick: ``expand`` only), start at distance 1:
    (1/T)Σ_{t<T}‖∇f(X_t)‖_* per seed.
    Theoretical: the ``X.MVR2.inexact`` bound at every point (certified L, L_ms, σ, r = 6 and the
    run's Δ), its optimal step η*(δ), and the degradation factor (1 + δ)^(1/3)/(1 − δ).

``mutation="wrong_sample"`` replaces MVR2 by the previous-sample variant M_t = g_t + β_t(M_{t−1} −
g_{t−1}) (:func:`lab.optimizers.muon_mvr1` with γ = 1: a wrong correction term, which removes the
variance reduction); the runs are cached separately.

Checks
------
X-MVR2-inexact: Muon-MVR2 with an inexact oracle (the lab's combined theorem).

Verdicts (claim ids):

* ``X-MVR2-inexact-rate[<oracle>]`` — the fitted exponent of E‖∇f(X_T)‖_F (bootstrap CI over seeds)
  under S2's horizon-free MVR2 schedule, for injected errors and Newton–Schulz presets: holds iff the
  CI contains −1/3 or the slope is within 0.04 of it (the rule of ``S2-slopes``: 0.04 is below half
  the gap to −1/4), violated otherwise.  Inexactness changes constants, not the exponent.
* ``X-MVR2-inexact-estimator[<oracle>]`` — the same rule for E‖M_T − ∇f(X_T)‖_F (MVR2's variance
  reduction, which a wrong correction term destroys).
* ``X-MVR2-inexact-bound[<kind>]`` — the seed mean of (1/T)Σ‖∇f(X_t)‖_* under constant (η, α) at every
  grid point and δ against the ``X.MVR2.inexact`` bound (certified constants): worst ratio <= 1.
* ``X-MVR1-inexact-bound[<kind>]`` — the same for MVR1 (γ = α/2) against ``X.MVR1.inexact``.
* ``X-MVR2-inexact-degradation[<kind>]`` — best-over-η measured value at δ over that at δ = 0 stays
  below the theorem's degradation factor (1 + δ)^(1/3)/(1 − δ).
* ``X-MVR2-inexact-shift`` — the grid-optimal step η̂(δ) (parabola-refined argmin with a bootstrap
  interval, ``expand`` kind) moves the way the theorem's η*(δ) moves: down.  Holds if η̂(δ_max) < η̂(0)
  with disjoint intervals, violated if above, else inconclusive (not allowed: the check then fails).

Planted bugs: ``wrong_sample`` (MVR2's correction evaluated with the previous sample — a wrong
correction term in the optimizer, no variance reduction: the exponent is no longer −1/3) and
``wrong_exponent`` (the predicted exponent −1/4 and the predicted shift reversed)."""

from __future__ import annotations

import numpy as np
import sympy as sp

import bounds
import problems
from bounds import symbols as S
from lab.claims._common import columns, interval_direction, point_rng
from lab.claims.registry import Experiment, check, check_options, engine_code, experiment, get_experiment
from lab.claims.variance_reduction._shared import _constants, checkpoints
from lab.optimizers import muon_mvr1, muon_mvr2
from lab.oracles import inexact_oracle, newton_schulz_oracle
from lab.runner import run
from lab.schedules import anytime_beta, power
from lab.stats import Verdict, argmin_with_uncertainty, slope_ci
from lab.sweeps import Grid, run_sweep

EXPONENT = -1.0 / 3.0
#: (oracle, δ): injected kinds with their nominal δ, Newton–Schulz presets "ns:<preset>:<steps>"
RATE_ORACLES = (
    ("exact", 0.0),
    ("expand", 0.3),
    ("expand", 0.6),
    ("random", 0.6),
    ("ns:jordan:5", 0.0),
    ("ns:cubic:3", 0.0),
)
#: quick mode runs the first three (exact, expand 0.6, Jordan NS)
QUICK_RATE_ORACLES = (("exact", 0.0), ("expand", 0.6), ("ns:jordan:5", 0.0))
GRID_KINDS = ("expand", "random")
_MUTATIONS = (None, "wrong_sample")
_SIGMA = 0.2


def _oracle(name, delta):
    if name == "exact":
        return "exact"
    if name.startswith("ns:"):
        _, preset, k = name.split(":")
        return newton_schulz_oracle(int(k), preset)
    return inexact_oracle("spectral", delta, name)


def _optimizer(method, lr, beta, oracle):
    if method == "mvr2":
        return muon_mvr2(lr=lr, beta=beta, oracle=oracle)
    if method == "mvr1":  # X.MVR1.inexact: constant gamma in [0, alpha]; alpha/2 here
        return muon_mvr1(lr=lr, beta=beta, gamma=(1.0 - beta) / 2, momentum_init="gradient", oracle=oracle)
    # the planted bug: MVR2's correction with the previous sample (γ = 1 MVR1)
    return muon_mvr1(lr=lr, beta=beta, gamma=1.0, momentum_init="gradient", oracle=oracle)


def _problem(dist):
    p = problems.make("kronecker_quadratic", m=8, n=6, L=1.0, mu=0.1, init_distance=dist, seed=0)
    return p.with_noise("gaussian", sigma=_SIGMA)


def _rates_compute(points):
    """One stacked run (one oracle, one method) over seeds."""
    p0 = points[0]
    delta = columns(points, "delta")
    oracle = _oracle(p0["oracle"], delta)
    lr, beta = power(columns(points, "eta0"), 2.0 / 3.0), anytime_beta(columns(points, "c_a"), 2.0 / 3.0)
    opt = _optimizer(p0["method"], lr, beta, oracle)
    ck = checkpoints(p0["steps"], p0["dense"])
    record = ("grad", "estimator") + (("oracle",) if p0["oracle"].startswith("ns:") else ())
    res = run(
        _problem(p0["dist"]),
        opt,
        p0["steps"],
        seeds=point_rng(points),
        record=record,
        checkpoints=ck.tolist(),
    )
    out = {k: np.ascontiguousarray(res.metrics[k].T) for k in ("grad_fro", "est_err_fro")}
    if "oracle_delta_b0" in res.metrics:
        out["delta_op"] = np.ascontiguousarray(res.metrics["oracle_delta_b0"].T)
    else:
        out["delta_op"] = np.broadcast_to(delta[:, None], out["grad_fro"].shape).copy()
    out["checkpoints"] = np.broadcast_to(res.checkpoints, (len(points), len(res.checkpoints))).copy()
    return out


def _rates_config(quick):
    return dict(
        dist=0.05,
        eta0=0.1,
        c_a=1.0,
        steps=1000 if quick else 4000,
        dense=0,
        seeds=12 if quick else 24,
        window=(30.0, 1000.0) if quick else (100.0, 4000.0),
    )


def _method(mutation):
    return "mvr2_prev" if mutation == "wrong_sample" else "mvr2"


@experiment("X.MVR2.inexact")
def x_mvr_rates(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """MVR2's T^(−1/3) with inexact oracles (module docstring).

    Returns measured[label] = {"checkpoints" (K,), "grad_fro" (seeds, K), "est_err" (seeds, K),
    "delta_op" (seeds, K)} for each oracle label ("exact", "expand:0.3", ..., "ns:jordan:5"), and
    theoretical = {"exponent": −1/3, "window": fit range}.
    """
    check_options(quick, mutation, _MUTATIONS)
    cfg = _rates_config(quick)
    measured = {}
    method = _method(mutation)
    for name, delta in QUICK_RATE_ORACLES if quick else RATE_ORACLES:
        grid = Grid(
            oracle=[name],
            method=[method],
            steps=[cfg["steps"]],
            dense=[cfg["dense"]],
            dist=[cfg["dist"]],
            eta0=[cfg["eta0"]],
            c_a=[cfg["c_a"]],
            delta=[delta],
            seed=list(range(cfg["seeds"])),
        )
        res = run_sweep(
            _rates_compute,
            grid,
            name="x_mvr_rates" if mutation is None else f"x_mvr_rates__{mutation}",
            cache=cache,
            chunk_size=100_000,
            progress=False,
            key_axes=("seed",),
            by=("oracle", "method"),
            code=engine_code(),
        )
        label = name if name == "exact" or name.startswith("ns:") else f"{name}:{delta:g}"
        measured[label] = {
            "checkpoints": res.array("checkpoints")[0].astype(int),
            "grad_fro": res.array("grad_fro"),
            "est_err": res.array("est_err_fro"),
            "delta_op": res.array("delta_op"),
        }
    return Experiment(
        "x_mvr_rates",
        measured,
        {"exponent": EXPONENT, "window": cfg["window"]},
        {"config": cfg, "method": method, "mutation": mutation, "quick": quick, "sigma": _SIGMA},
    )


def _grid_compute(points):
    """One stacked constant-(η, α) run (one kind, one method) over δ × η × seeds."""
    p0 = points[0]
    delta = columns(points, "delta")
    oracle = _oracle(p0["kind"], delta)
    opt = _optimizer(p0["method"], columns(points, "eta"), 1.0 - columns(points, "alpha"), oracle)
    T = p0["steps"]
    res = run(
        _problem(p0["dist"]), opt, T, seeds=point_rng(points), record=("loss", "running"), checkpoints=[0, T]
    )
    return {"avg": res.metrics["grad_dual_avg"][-1], "delta0": res.metrics["gap"][0]}


def _grid_config(quick):
    return dict(
        dist=1.0,
        alpha=0.1,
        steps=300 if quick else 1000,
        seeds=6 if quick else 16,
        eta=[float(f"{v:.4g}") for v in np.geomspace(4e-3, 0.064, 5 if quick else 9)],
        deltas=[0.0, 0.3, 0.6],
    )


@experiment("X.MVR2.inexact.bound")
def x_mvr_grid(*, quick: bool = True, cache=True, mutation: str | None = None) -> Experiment:
    """Constant-(η, α) MVR2 with injected errors: the X.MVR2.inexact bound, degradation and step shift.

    Returns measured["avg"] (method, kind, δ, η, seed) = (1/T)Σ_{t<T}‖∇f(X_t)‖_* with methods (MVR2,
    MVR1 with γ = α/2); theoretical["bound"] (method, kind, δ, η) (X.MVR2.inexact, X.MVR1.inexact at
    the point), ["eta_opt"], ["alpha_opt"] and ["degradation"] (δ,) of X.MVR2.inexact.
    """
    check_options(quick, mutation, _MUTATIONS)
    cfg = _grid_config(quick)
    axes = dict(
        method=[_method(mutation), "mvr1"],
        kind=list(GRID_KINDS[:1] if quick else GRID_KINDS),
        delta=cfg["deltas"],
        eta=cfg["eta"],
        seed=list(range(cfg["seeds"])),
    )
    grid = Grid(
        steps=[cfg["steps"]],
        dist=[cfg["dist"]],
        alpha=[cfg["alpha"]],
        **axes,
    )
    res = run_sweep(
        _grid_compute,
        grid,
        name="x_mvr_grid" if mutation is None else f"x_mvr_grid__{mutation}",
        cache=cache,
        chunk_size=100_000,
        progress=False,
        key_axes=("seed",),
        by=("kind", "method"),
        code=engine_code(),
    )
    shape = tuple(len(v) for v in axes.values())
    avg = res.array("avg").reshape(shape)
    Delta = float(res.array("delta0").mean())
    const = _constants("kronecker", _SIGMA, None)
    thm = bounds.get("X.MVR2.inexact")
    d = np.asarray(cfg["deltas"])
    kw = dict(
        Delta0=Delta, T=cfg["steps"], r=const["r"], L_ms=const["L_ms"], L=const["L"], sigma=const["sigma"]
    )
    bound = thm.evaluate(
        eta=np.asarray(cfg["eta"])[None, None, :], alpha=cfg["alpha"], delta=d[None, :, None], **kw
    ).require()
    bound = np.broadcast_to(bound, shape[:-1]).copy()
    opt = thm.optimal_controls(delta=d, **kw)
    degr = sp.lambdify(S.delta, thm.degradation, "numpy")(d)  # sympy's (1 + δ)^(1/3)/(1 − δ)
    return Experiment(
        "x_mvr_grid",
        {"avg": avg, "Delta0": Delta},
        {
            "bound": bound,
            "eta_opt": np.asarray(opt["eta"].value, dtype=float),
            "alpha_opt": np.asarray(opt["alpha"].value, dtype=float),
            "degradation": np.asarray(degr, dtype=float),
        },
        {"axes": axes, "config": cfg, "constants": const, "mutation": mutation, "quick": quick},
    )


SOURCE = "lab derivation X.MVR2.inexact (S1's inexact oracle through S2's MVR2)"
SLOPE_TOL = 0.04


def _slope_verdict(claim, problem, quantity, T, Y, window, predicted, details):
    keep = (T >= window[0]) & (T <= window[1])
    ci = slope_ci(T[keep], Y[:, keep], window)
    ok = (ci.lo <= predicted <= ci.hi) or abs(ci.slope - predicted) <= SLOPE_TOL
    return Verdict(
        claim=claim,
        source=SOURCE,
        problem=problem,
        bound=predicted,
        measured=ci.slope,
        verdict="holds" if ok else "violated",
        slope=ci.slope,
        ci=(ci.lo, ci.hi),
        details={"quantity": quantity, "window": list(window), "tolerance": SLOPE_TOL, **details},
    )


def _rate_verdicts(ex, predicted):
    window = tuple(ex.theoretical["window"])
    out = []
    for label, m in ex.measured.items():
        problem = (
            f"kronecker_quadratic 8x6 + gaussian sigma={ex.meta['sigma']}, {ex.meta['method']}, "
            f"horizon-free schedule, {m['grad_fro'].shape[0]} seeds"
        )
        T = m["checkpoints"].astype(float) + 1.0  # S2's step index t = k + 1
        d_op = m["delta_op"][:, :-1]  # the step metrics of the last iterate are undefined
        details = {"delta_op_max": float(np.nanmax(d_op)), "method": ex.meta["method"]}
        out.append(
            _slope_verdict(
                f"X-MVR2-inexact-rate[{label}]",
                problem,
                "E||grad f(X_T)||_F",
                T,
                m["grad_fro"],
                window,
                predicted,
                details,
            )
        )
        # the estimator error (step metrics: checkpoints before the last) carries MVR2's variance
        # reduction; it is what a wrong correction term destroys
        out.append(
            _slope_verdict(
                f"X-MVR2-inexact-estimator[{label}]",
                problem,
                "E||M_T - grad f(X_T)||_F",
                T[:-1],
                m["est_err"][:, :-1],
                window,
                predicted,
                details,
            )
        )
    return out


@check(
    "X.MVR2.inexact",
    claim="Muon-MVR2 with a delta-inexact oracle keeps the T^-1/3 rate; its constant-(eta, alpha) bound "
    "holds, degrades at most by (1 + delta)^(1/3)/(1 - delta), and the optimal step shrinks with delta",
    source="S2",
    theorems=("X.MVR2.inexact", "X.MVR1.inexact"),
    experiment="X.MVR2.inexact",
    mutations=("wrong_sample", "wrong_exponent"),
)
def x_mvr2_inexact(*, quick: bool, mutation: str | None = None):
    """Rate per oracle, bound and degradation per kind, step shift (module docstring)."""
    run_mut = "wrong_sample" if mutation == "wrong_sample" else None
    rates = get_experiment("X.MVR2.inexact")(quick=quick, mutation=run_mut)
    predicted = -0.25 if mutation == "wrong_exponent" else rates.theoretical["exponent"]
    out = _rate_verdicts(rates, predicted)

    ex = get_experiment("X.MVR2.inexact.bound")(quick=quick, mutation=run_mut)
    out += _mvr1_bound_rows(ex)
    problem = _grid_problem(ex)
    out += _mvr2_grid_rows(ex, problem)
    out.append(_step_shift_row(ex, problem, mutation))
    return out


def _mvr1_bound_rows(ex):
    """X-MVR1-inexact-bound[kind]: the seed-mean average of MVR1 (γ = α/2) against its bound."""
    ax = ex.meta["axes"]
    # (method, kind, δ, η, seed), (method, kind, δ, η); method 0 = MVR2 (or its mutant), 1 = MVR1
    avg, bound = ex.measured["avg"], ex.theoretical["bound"]
    mean = avg.mean(axis=-1)
    out = []
    for k, kind in enumerate(ax["kind"]):
        worst = float(np.max(mean[1, k] / bound[1, k]))
        out.append(
            Verdict(
                claim=f"X-MVR1-inexact-bound[{kind}]",
                source=SOURCE.replace("MVR2", "MVR1"),
                problem=f"MVR1 gamma = alpha/2, constant eta grid, alpha={ex.meta['config']['alpha']}, "
                f"T={ex.meta['config']['steps']}, {len(ax['seed'])} seeds",
                bound=1.0,
                measured=worst,
                verdict="holds" if worst <= 1.0 else "violated",
                details={"ratio_by_delta": (mean[1, k] / bound[1, k]).max(axis=-1).tolist()},
            )
        )
    return out


def _grid_problem(ex):
    """The problem line of the constant-η grid verdicts."""
    ax = ex.meta["axes"]
    return (
        f"kronecker_quadratic 8x6 + gaussian, constant eta grid, alpha={ex.meta['config']['alpha']}, "
        f"T={ex.meta['config']['steps']}, {len(ax['seed'])} seeds"
    )


def _mvr2_grid_rows(ex, problem):
    """X-MVR2-inexact-bound[kind] and -degradation[kind]: MVR2 against its bound, best-over-η degradation."""
    ax = ex.meta["axes"]
    # (method, kind, δ, η, seed), (method, kind, δ, η); method 0 = MVR2 (or its mutant), 1 = MVR1
    avg, bound = ex.measured["avg"], ex.theoretical["bound"]
    mean = avg.mean(axis=-1)[0]
    bound = bound[0]
    out = []
    for k, kind in enumerate(ax["kind"]):
        ratio = mean[k] / bound[k]
        worst = float(np.max(ratio))
        out.append(
            Verdict(
                claim=f"X-MVR2-inexact-bound[{kind}]",
                source=SOURCE,
                problem=problem,
                bound=1.0,
                measured=worst,
                verdict="holds" if worst <= 1.0 else "violated",
                details={"ratio_by_delta": ratio.max(axis=-1).tolist(), "delta": ax["delta"]},
            )
        )
        best = mean[k].min(axis=-1)
        measured_degr = best / best[0]
        predicted_degr = ex.theoretical["degradation"]
        ok = bool(np.all(measured_degr <= predicted_degr * (1 + 1e-9)))
        out.append(
            Verdict(
                claim=f"X-MVR2-inexact-degradation[{kind}]",
                source=SOURCE,
                problem=problem,
                bound=float(predicted_degr[-1]),
                measured=float(measured_degr[-1]),
                verdict="holds" if ok else "violated",
                details={
                    "delta": ax["delta"],
                    "measured": measured_degr.tolist(),
                    "predicted": np.asarray(predicted_degr).tolist(),
                },
            )
        )
    return out


def _step_shift_row(ex, problem, mutation):
    """X-MVR2-inexact-shift: the direction of the optimal η in δ under the expand oracle."""
    ax = ex.meta["axes"]
    avg = ex.measured["avg"][0]  # MVR2 (or its mutant): (kind, δ, η, seed)
    k = ax["kind"].index("expand")
    opt = [argmin_with_uncertainty(ax["eta"], avg[k, j].T, rng=0) for j in range(len(ax["delta"]))]
    first, last = opt[0], opt[-1]
    direction = interval_direction(first.lo, first.hi, last.lo, last.hi)
    theory = ex.theoretical["eta_opt"]
    predicted_dir = "down" if theory[-1] < theory[0] else "up"
    if mutation == "wrong_exponent":
        predicted_dir = {"down": "up", "up": "down"}[predicted_dir]
    verdict = "inconclusive" if direction is None else ("holds" if direction == predicted_dir else "violated")
    return Verdict(
        claim="X-MVR2-inexact-shift",
        source=SOURCE,
        problem=problem + ", expand oracle",
        bound=f"eta_opt {predicted_dir} in delta (theory: {theory[0]:.3g} -> {theory[-1]:.3g})",
        measured=", ".join(
            f"delta={d:g}: eta {o.x_refined:.3g} [{o.lo:.3g}, {o.hi:.3g}]"
            for d, o in zip(ax["delta"], opt, strict=True)
        ),
        verdict=verdict,
        details={
            "eta_hat": [o.x_refined for o in opt],
            "ci": [[o.lo, o.hi] for o in opt],
            "eta_opt_theory": np.asarray(theory).tolist(),
            "alpha_opt_theory": np.asarray(ex.theoretical["alpha_opt"]).tolist(),
        },
    )
