"""X-WD-floor: Muon / Lion-K with decoupled weight decay and a constant step stalls Θ(η) from X_c.

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
different problem and neither the η-linear floor nor the decaying-step convergence survives).
"""

from __future__ import annotations

import numpy as np

from lab.checks import check
from lab.experiments import get_experiment
from lab.stats import Verdict, slope_ci

SOURCE = "lab derivation X.WD.floor / X.WD.gap (S3's Muon + decoupled weight decay, constant step)"
SLOPE_TOL = 0.05


@check(
    "X-WD-floor",
    claim="with a constant step, Muon + decoupled weight decay stays Theta(eta) away from the constrained "
    "optimum when it has singular values inside the ball (floor linear in eta); a decaying step converges",
    source="S3",
    theorems=("X.WD.floor", "X.WD.gap"),
    experiment="x_wd_floor",
    mutations=("coupled_weight_decay",),
)
def x_wd_floor(*, quick: bool, mutation: str | None = None):
    """Four verdicts (module docstring)."""
    ex = get_experiment("x_wd_floor")(quick=quick, mutation=mutation)
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
