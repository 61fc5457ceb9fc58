r"""S1 checks: the additive error model, I1 and I3 against measured runs.

Every bound is evaluated by ``bounds.get(id)`` on the problem's certified constants (L_spectral,
ρ, σ) and the run's own Δ₀; see :mod:`lab.experiments.s1` for the experiments.

Planted bugs (each check must report "violated" under them; ``tests/test_checks_s1.py``):

* ``understate_constant`` — the bound evaluated with 0.8·δ (lemma) or 0.8·L (I1, I3) via
  :func:`lab.checks.mutations.understate`.  It fails because the grids contain the tight cases:
  shrink/expand oracles and the reflected input for the lemma; large t on the isotropic quadratic
  for I1 (the measured average is Lt/2 + O(1/K) there); σ = 0.01, α = 1, large t for I3.
* ``double_step`` — the optimizer's step doubled (:func:`lab.checks.mutations.mutate`), the bound
  evaluated at the nominal step: the measured average doubles in the same tight regimes.
* ``wrong_exponent`` (S1-I1-trend) — the predicted optimal step t*(δ) ∝ (1 + δ)^{+1} instead of
  (1 + δ)^{-1}, compared with the measured optimum (a prediction-side bug).  The variants that only
  flipped a direction predicate on the same data are gone; the direction rows of the expand and
  shrink oracles are rescaling identities (see S1-trend-oracles for the other oracles).
"""

from __future__ import annotations

import numpy as np

from lab.checks import check
from lab.checks.mutations import understate
from lab.stats import Verdict, argmin_with_uncertainty, ratio_to_bound

SOURCE = "lab derivation consistent with S1 (Shulgin et al., arXiv 2510.19933)"
#: Floating-point slack for the lemma, whose shrink/expand/reflected cases are equalities in exact
#: arithmetic (relative rounding of a few ulps on 8x6 SVDs); not a statistical tolerance.
LEMMA_RTOL = 1e-9
#: |log| tolerance of the rescaling identities of the expand/shrink trend rows: the three-point parabola
#: refinement on the shifted grid reproduces t_hat(0) to about 0.2 % on these grids; 2 % leaves room
#: and still sees a 10 % error in the injected size at delta = 0.4 (log 1.44/1.4 = 0.028).
IDENTITY_TOL = 0.02


def _exp(name, quick, **kw):
    from lab.experiments import get_experiment

    return get_experiment(name)(quick=quick, **kw)


def _opt_mutation(mutation):
    return "double_step" if mutation == "double_step" else None


# ------------------------------------------------------------------------------------------ lemma


@check(
    "S1-lemma",
    claim="a delta-inexact LMO satisfies (a) <G,D(G)> <= -(1-delta)||G||_*, (b) ||D|| <= 1+delta, "
    "(c) <G,D(H)> <= -(1-delta)||G||_* + 2||G-H||_*",
    source="S1",
    theorems=("S1.lemma_a", "S1.lemma_b", "S1.lemma_c"),
    experiment="s1_lemma",
    quick=True,
    mutations=("understate_constant",),
)
def s1_lemma_check(*, quick: bool, mutation: str | None = None):
    """Worst measured/bound ratio of each lemma part over all oracles, δ, inputs (excess form).

    (a): (⟨G,D⟩ + ‖G‖_*)/(δ'‖G‖_*); (b): ‖D‖/(1 + δ'); (c): (⟨G,D(H)⟩ + (1−δ')‖G‖_*)/(2‖G−H‖_*),
    with δ' = δ (or 0.8δ under ``understate_constant``).  Bounds from ``bounds.get("S1.lemma_*")``.
    """
    import bounds

    exp = _exp("s1_lemma", quick)
    out = []
    for part, tid in (("a", "S1.lemma_a"), ("b", "S1.lemma_b"), ("c", "S1.lemma_c")):
        meas, bnd, pts = [], [], []
        for tag in ("kind", "ns"):
            m = exp.measured[tag]
            ok = (m["delta"] < 1) & (m["delta"] > 0)  # δ = 0 makes the (a) excess bound 0/0
            d = np.where(ok, understate(m["delta"], mutation), 0.5)
            g, gh = m["g_dual"], m["gh_dual"]
            thm = bounds.get(tid)
            if part == "a":
                b = thm.evaluate(delta=d, g_dual=g).require()
                x, y = m["inner_a"] + g, b + g
            elif part == "b":
                x, y = m["norm_b"], thm.evaluate(delta=d).require()
            else:
                base = -(1 - d) * g
                x, y = m["inner_c"] - base, thm.evaluate(delta=d, g_dual=g, gh_dual=gh).require() - base
            rows = exp.meta["rows"][tag]
            for i in range(x.shape[0]):
                keep = ok[i]
                if np.any(keep):
                    meas.append(np.max(x[i][keep] / y[i][keep]))
                    bnd.append(1.0)
                    pts.append(rows[i])
        ratio = ratio_to_bound(np.asarray(meas), np.asarray(bnd), points=pts, rtol=LEMMA_RTOL)
        out.append(
            Verdict.from_ratio(
                f"S1-lemma[{part}]",
                SOURCE,
                exp.meta["problem"],
                f"{tid} (excess form, ratio <= 1)",
                f"worst ratio {ratio.worst:.6g}",
                ratio,
                rtol=LEMMA_RTOL,
                mutation=mutation,
                n_configurations=len(meas),
            )
        )
    return out


# ------------------------------------------------------------------------------------------ I1


def _i1_problem(exp):
    p = exp.meta["problem"]
    shape = f"{p['params']['m']}x{p['params']['n']}"
    return f"{p['name']} {shape}, L_spectral={exp.theoretical['L']:g}, K={exp.meta['steps']}"


@check(
    "S1-I1",
    claim="deterministic inexact LMO with constant step t: min_k and (1/K)sum_k ||grad f(X^k)||_* "
    "<= Delta0/((1-delta)tK) + Lt(1+delta)^2/(2(1-delta)) for every t, delta, oracle kind and K",
    source="S1",
    theorems=("S1.I1", "S1.I1.step"),
    experiment="s1_i1",
    quick=True,
    mutations=("double_step", "understate_constant"),
)
def s1_i1_check(*, quick: bool, mutation: str | None = None):
    """I1 at every grid point (kind × δ × t × seed) and every checkpoint K, for the average and the min."""
    from lab.experiments.s1 import i1_bound

    exp = _exp("s1_i1", quick, mutation=_opt_mutation(mutation))
    ax = exp.meta["axes"]
    L = understate(exp.theoretical["L"], mutation)
    bound = i1_bound(
        L,
        np.asarray(ax["t"])[None, None, :, None, None],
        exp.measured["delta0"][..., None],
        exp.meta["K"],
        np.asarray(ax["delta"])[None, :, None, None, None],
    )
    out = []
    for what in ("avg", "min"):
        ratio = ratio_to_bound(exp.measured[what], bound)
        k, d, t, s, c = ratio.index
        where = {
            "kind": ax["kind"][k],
            "delta": ax["delta"][d],
            "t": ax["t"][t],
            "seed": ax["seed"][s],
            "K": int(exp.meta["K"][c]),
        }
        out.append(
            Verdict.from_ratio(
                f"S1-I1[{what}]",
                SOURCE,
                _i1_problem(exp),
                "S1.I1 bound (certified L_spectral, run's Delta0)",
                f"{'(1/K)sum' if what == 'avg' else 'min'}_k ||grad f||_*",
                ratio,
                where=where,
                mutation=mutation,
                n_points=int(ratio.ratios.size),
            )
        )
    return out


def _i1_argmins(exp, kind_index=0):
    """Refined grid-optimal t per δ (from the average at K) with bootstrap intervals over seeds."""
    ax = exp.meta["axes"]
    avg = exp.measured["avg"][kind_index, ..., -1]  # (δ, t, seed)
    return [argmin_with_uncertainty(ax["t"], avg[i].T, rng=0) for i in range(len(ax["delta"]))]


@check(
    "S1-I1-trend",
    claim="the grid-optimal step decreases with delta and tracks t*(delta) = sqrt(2 Delta0/(LK))/(1+delta) "
    "(expand oracle); the best-over-t error grows by at most (1+delta)/(1-delta)",
    source="S1",
    theorems=("S1.I1",),
    experiment="s1_i1",
    quick=True,
    mutations=("wrong_exponent",),
    report_only=("S1-I1-trend[ns_steps]",),
)
def s1_i1_trend_check(*, quick: bool, mutation: str | None = None):
    """Grid-optimal t (expand) vs the predicted t*(δ); best-over-t degradation; NS steps direction.

    Tracking holds when |log(t̂/t*)| <= half the log-spacing of the t grid at every δ (the refined
    argmin of a response smooth in log t is finer than that; the planted ``wrong_exponent``
    t*(δ) ∝ (1 + δ) misses by log(1 + δ)², far more).  The direction verdict asks t̂ to decrease
    strictly from δ = 0 to the largest δ.  Newton–Schulz: grid-optimal t per number of steps k,
    reported in the details (measured direction; no worst-case prediction applies).
    """
    exp = _exp("s1_i1", quick)
    ax = exp.meta["axes"]
    deltas = np.asarray(ax["delta"])
    am = _i1_argmins(exp, ax["kind"].index("expand"))
    t_hat = np.asarray([a.x_refined for a in am])
    ts = np.asarray(exp.theoretical["t_star"])
    if mutation == "wrong_exponent":
        ts = ts[0] * (1 + deltas)
    half = 0.5 * float(np.mean(np.diff(np.log(ax["t"]))))
    err = np.abs(np.log(t_hat / ts))
    problem = _i1_problem(exp)
    tracking = Verdict(
        claim="S1-I1-trend[t*(delta)]",
        source=SOURCE,
        problem=problem,
        bound=f"|log(t_hat/t*)| <= {half:.4g} (half the grid's log spacing)",
        measured=f"max |log(t_hat/t*)| = {err.max():.4g}",
        verdict="holds" if bool(np.all(err <= half)) and not any(a.at_boundary for a in am) else "violated",
        worst_ratio=float(err.max() / half),
        details={
            "delta": deltas.tolist(),
            "t_hat": t_hat.tolist(),
            "t_star": ts.tolist(),
            "ci": [[a.lo, a.hi] for a in am],
            "mutation": mutation,
        },
    )
    # Direction, expand and shrink oracles: an identity, not a test of the theory.  With D = (1 ± δ)·lmo
    # the run at (t, δ) equals the run at (t(1 ± δ), 0) (same seeds), so t_hat(δ)(1 ± δ) = t_hat(0) up
    # to the parabola refinement; any trend follows.  The rows check that identity (a wrong injected
    # error size breaks it); the direction under the random, adversarial and Newton–Schulz oracles,
    # which the rescaling does not fix, is judged by S1-trend-oracles.
    identity_rows = []
    for kind, sign in (("expand", 1.0), ("shrink", -1.0)):
        th = np.asarray([a.x_refined for a in _i1_argmins(exp, ax["kind"].index(kind))])
        dev = np.abs(np.log(th * (1 + sign * deltas) / th[0]))
        identity_rows.append(
            Verdict(
                claim="S1-I1-trend[direction]" if kind == "expand" else f"S1-I1-trend[direction, {kind}]",
                source=SOURCE,
                problem=problem + f", {kind} oracle",
                bound=f"identity: t_hat(delta)(1{'+' if sign > 0 else '-'}delta) = t_hat(0) "
                f"(|log| <= {IDENTITY_TOL:g}; the {kind} run at (t, delta) is the run at "
                f"(t(1{'+' if sign > 0 else '-'}delta), 0))",
                measured=f"t_hat {th[0]:.4g} (delta={deltas[0]:g}) -> {th[-1]:.4g} (delta={deltas[-1]:g}); "
                f"max |log| = {dev.max():.3g}",
                verdict="holds" if bool(np.all(dev <= IDENTITY_TOL)) else "violated",
                worst_ratio=float(dev.max() / IDENTITY_TOL),
                details={
                    "t_hat": th.tolist(),
                    "identity": True,
                    "note": "reported as an identity: the direction of t_opt under this oracle follows "
                    "from rescaling the step and says nothing about the theory",
                },
            )
        )
    # degradation of the best-over-t error, every kind, relative to δ = 0 of the same kind
    best = exp.measured["avg"][..., -1].mean(axis=-1).min(axis=-1)  # (kind, δ)
    rel = (best / best[:, :1])[:, 1:]  # δ = 0 is the reference itself
    allowed = ((1 + deltas) / (1 - deltas))[1:]
    ratio = ratio_to_bound(rel, np.broadcast_to(allowed, rel.shape))
    degr = Verdict.from_ratio(
        "S1-I1-trend[degradation]",
        SOURCE,
        problem,
        "(1+delta)/(1-delta)",
        "best-over-t average at K relative to delta = 0",
        ratio,
        where={"kind": ax["kind"][ratio.index[0]], "delta": float(deltas[1 + ratio.index[1]])},
        relative=np.round(rel, 4).tolist(),
    )
    ns = _exp("s1_i1_ns", quick)
    nax = ns.meta["axes"]
    ns_info = {}
    for p, preset in enumerate(nax["preset"]):
        xs = [
            argmin_with_uncertainty(nax["t"], ns.measured["avg"][p, k].T, rng=0)
            for k in range(len(nax["ns_steps"]))
        ]
        th = [a.x_refined for a in xs]
        ns_info[preset] = {
            "ns_steps": nax["ns_steps"],
            "t_hat": th,
            "ci": [[a.lo, a.hi] for a in xs],
            "max_delta_op": np.round(ns.measured["delta_op"][p].max(axis=(-1, -2)), 4).tolist(),
            "direction": "t_opt decreases with more NS steps"
            if th[-1] < th[0]
            else "t_opt increases with more NS steps"
            if th[-1] > th[0]
            else "flat",
        }
    direction_ns = Verdict(
        claim="S1-I1-trend[ns_steps]",
        source=SOURCE,
        problem=problem,
        bound="measured, no prediction",
        measured={k: v["direction"] for k, v in ns_info.items()},
        verdict="inconclusive",
        details={
            "t_star_exact": ns.theoretical["t_star"],
            **ns_info,
            "note": "reported only: a real NS oracle is not an additive-error oracle with delta < 1 "
            "along these runs (measured delta_op reaches 1 near the optimum)",
        },
    )
    return [tracking, *identity_rows, degr, direction_ns]


# ------------------------------------------------------------------------------------------ I3


@check(
    "S1-I3",
    claim="stochastic inexact LMO with EMA momentum: (1/K)sum_k E||grad f(X^k)||_* <= "
    "1/(1-delta)[Delta0/(tK) + 2 rho sigma/(alpha K) + 2Lt(1+delta)beta/alpha + 2 rho sigma sqrt(alpha) "
    "+ Lt(1+delta)^2/2] on a (t, alpha) grid",
    source="S1",
    theorems=("S1.I3", "S1.I3.error"),
    experiment="s1_i3",
    quick=True,
    mutations=("double_step", "understate_constant"),
)
def s1_i3_check(*, quick: bool, mutation: str | None = None):
    """Seed-mean (≥ 20 seeds) of (1/K)Σ‖∇f‖_* against the I3 bound at every (σ, δ, t, α)."""
    from lab.experiments.s1 import i3_bound

    exp = _exp("s1_i3", quick, mutation=_opt_mutation(mutation))
    ax = exp.meta["axes"]
    th = exp.theoretical
    L = understate(th["L"], mutation)
    bound = i3_bound(
        L,
        np.asarray(ax["t"])[None, None, :, None],
        np.asarray(ax["alpha"])[None, None, None, :],
        exp.measured["delta0"].mean(axis=-1),
        exp.meta["steps"],
        th["rho"],
        np.asarray(th["sigma"])[:, None, None, None],
        np.asarray(ax["delta"])[None, :, None, None],
    )
    mean = exp.measured["avg"].mean(axis=-1)
    ratio = ratio_to_bound(mean, bound)
    s, d, t, a = ratio.index
    where = {"sigma": ax["sigma"][s], "delta": ax["delta"][d], "t": ax["t"][t], "alpha": ax["alpha"][a]}
    p = exp.meta["problem"]
    problem = (
        f"{p['name']} {p['params']['m']}x{p['params']['n']} + gaussian noise, L_spectral={th['L']:g}, "
        f"rho={th['rho']:.4g}, K={exp.meta['steps']}, {len(ax['seed'])} seeds"
    )
    return Verdict.from_ratio(
        "S1-I3",
        SOURCE,
        problem,
        "S1.I3 bound (certified L, rho, sigma)",
        "seed mean of (1/K)sum_k ||grad f||_*",
        ratio,
        where=where,
        mutation=mutation,
        n_points=int(ratio.ratios.size),
    )


def _i3_optima(exp, sigma_index):
    """Per δ: the (t, α) cell with the smallest seed mean, refined along t and along α with intervals."""
    ax = exp.meta["axes"]
    out = []
    for d in range(len(ax["delta"])):
        Y = exp.measured["avg"][sigma_index, d]  # (t, α, seed)
        i, j = np.unravel_index(np.argmin(Y.mean(axis=-1)), Y.shape[:2])
        at = argmin_with_uncertainty(ax["t"], Y[:, j, :].T, rng=0)
        aa = argmin_with_uncertainty(ax["alpha"], Y[i, :, :].T, rng=0)
        out.append((at, aa))
    return out


@check(
    "S1-I3-trend",
    claim="larger delta: smaller optimal step t and larger alpha = 1 - beta (smaller Muon beta)",
    source="S1",
    theorems=("S1.I3",),
    experiment="s1_i3",
    quick=True,
    mutations=(),
    report_only=("S1-I3-trend[alpha]",),
)
def s1_i3_trend_check(*, quick: bool, mutation: str | None = None):
    """Grid-optimal (t, α) vs δ at σ = 1 (noise-dominated), in both parametrisations.

    t: the expand oracle's rescaling identity t̂(δ)(1 + δ) = t̂(0) (within :data:`IDENTITY_TOL`),
    reported as an identity (the direction it implies is not evidence for the theory).
    α: "holds" when α̂ increases with non-overlapping bootstrap intervals, "violated" when it
    decreases with non-overlapping intervals, else "inconclusive".  For the expand oracle the run
    at (t, α, δ) equals the run at (t(1 + δ), α, 0) exactly (common random numbers), so the
    measured α̂ cannot depend on δ beyond grid effects: the bound's α*(δ) ∝ (1 + δ)^{1/2} is a
    property of the worst case, and the lab reports what it measures.
    """
    exp = _exp("s1_i3", quick)
    ax = exp.meta["axes"]
    s = ax["sigma"].index(max(ax["sigma"]))
    opt = _i3_optima(exp, s)
    deltas = ax["delta"]
    t_hat = [o[0].x_refined for o in opt]
    a_hat = [o[1].x_refined for o in opt]
    problem = (
        f"isotropic_quadratic 8x6 + gaussian sigma={ax['sigma'][s]:g}, "
        f"K={exp.meta['steps']}, {len(ax['seed'])} seeds"
    )
    # expand oracle: the run at (t, α, δ) is the run at (t(1 + δ), α, 0), so the direction of t_opt is an
    # identity; the row checks it (a wrong injected error size breaks it) and says so.  The direction
    # under the adversarial oracle is judged by S1-trend-oracles.
    dev = np.abs(np.log(np.asarray(t_hat) * (1 + np.asarray(deltas)) / t_hat[0]))
    t_verdict = Verdict(
        claim="S1-I3-trend[t]",
        source=SOURCE,
        problem=problem + ", expand oracle",
        bound=f"identity: t_hat(delta)(1+delta) = t_hat(0) (|log| <= {IDENTITY_TOL:g}; the expand run at "
        "(t, alpha, delta) is the run at (t(1+delta), alpha, 0))",
        measured=f"t_hat {t_hat[0]:.4g} (delta={deltas[0]:g}) -> {t_hat[-1]:.4g} (delta={deltas[-1]:g}); "
        f"max |log| = {dev.max():.3g}",
        verdict="holds" if bool(np.all(dev <= IDENTITY_TOL)) else "violated",
        worst_ratio=float(dev.max() / IDENTITY_TOL),
        details={
            "delta": deltas,
            "t_hat": t_hat,
            "ci": [[o[0].lo, o[0].hi] for o in opt],
            "t_opt_bound": np.asarray(exp.theoretical["t_opt"])[s].tolist(),
            "identity": True,
            "note": "reported as an identity: under the expand oracle t_opt falls like 1/(1+delta) "
            "whatever the theory says",
        },
    )
    lo0, hi0 = opt[0][1].lo, opt[0][1].hi
    lo1, hi1 = opt[-1][1].lo, opt[-1][1].hi
    if lo1 > hi0:
        av = "holds"
    elif hi1 < lo0:
        av = "violated"
    else:
        av = "inconclusive"
    a_verdict = Verdict(
        claim="S1-I3-trend[alpha]",
        source=SOURCE,
        problem=problem,
        bound="alpha_opt increasing in delta (beta_opt = 1 - alpha_opt decreasing)",
        measured=(
            f"alpha_hat {a_hat[0]:.4g} -> {a_hat[-1]:.4g} (beta {1 - a_hat[0]:.4g} -> {1 - a_hat[-1]:.4g})"
        ),
        verdict=av,
        details={
            "delta": deltas,
            "alpha_hat": a_hat,
            "beta_hat": [1 - a for a in a_hat],
            "ci_alpha": [[o[1].lo, o[1].hi] for o in opt],
            "alpha_at_boundary": [o[1].at_boundary for o in opt],
            "alpha_opt_bound": np.asarray(exp.theoretical["alpha_opt"])[s].tolist(),
            "note": "expand oracle = rescaled step, so alpha_opt is delta-independent up to grid effects",
        },
    )
    return [t_verdict, a_verdict]
