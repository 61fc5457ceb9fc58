r"""S2's one-step descent inequality (D) on deterministic runs (experiment ``s2_descent``; check ``S2-D``)."""

from __future__ import annotations

import numpy as np

from lab.claims.registry import Experiment, check, experiment
from lab.claims.variance_reduction._shared import (
    _NAMES,
    _R,
    METHODS,
    RTOL,
    SRC,
    _check_options,
    _constants,
    _get,
    _sweep,
)
from lab.stats import Verdict, ratio_to_bound


def _descent_config(quick):
    return {
        "steps": 300 if quick else 1000,
        "seeds": 2 if quick else 4,
        "eta0": [0.03, 0.1],
        "c_a": [0.5, 2.0],
        "configs": {"isotropic": 3.0, "kronecker": 1.0},
    }


@experiment("S2.D")
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


@check(
    "S2.D",
    claim="One Muon step with exact polar obeys f(X+) <= f(X) - eta||grad||_* + 2 eta||eps||_* "
    "+ (L r/2) eta^2 (deterministic, every step)",
    source="S2",
    theorems=("S2.D",),
    experiment="S2.D",
    mutations=("double_step", "understate_constant"),
)
def s2_d(*, quick: bool, mutation: str | None = None):
    """(D) per step, written with positive sides.

    f(X_{t+1}) − f* + η‖∇f‖_* <= f(X_t) − f* + 2η‖ε‖_* + (Lr/2)η².
    """
    ex = _get("s2_descent", quick, mutation)
    out = []
    for kind, per in ex.measured["lhs"].items():
        for method, lhs in per.items():
            ratio = ratio_to_bound(lhs, ex.theoretical["rhs"][kind][method], rtol=RTOL)
            out.append(
                Verdict.from_ratio(
                    "S2-D",
                    SRC,
                    f"{kind} quadratic 8x6, deterministic, {_NAMES[method]}",
                    "f(X_t) - f* + 2 eta_t ||eps_t||_* + (L r/2) eta_t^2",
                    "f(X_{t+1}) - f* + eta_t ||grad f(X_t)||_*",
                    ratio,
                    axes="(c_a, eta0, seed, t)",
                    rtol=RTOL,
                )
            )
    return out
