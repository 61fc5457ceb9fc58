r"""S3.L2.sharp check: the discrete Lyapunov function with exact cancellation, one step at a time.

Experiment: :func:`lab.experiments.s3_sharp.s3_sharp` (its docstring derives the identity).  Theorem:
``bounds.get("S3.L2.sharp")`` (lab derivation consistent with S3, Chen, Li, Liu, arXiv 2506.15054),
evaluated with the problems' certified L.

Rounding allowance: every verdict compares differences of O(1) quantities; the allowance is
64·ε_mach times the sum of the absolute values of the terms entering the compared expression
(``measured["scale"]``), the rounding error of that sum with room for the SVDs (backward stable, error
O(ε_mach) relative to ‖B‖).  Three verdicts:

1. [identity] |H_{t+1} − H_t + η(1 + ηλβ/(1 − β))Φ_{t+1} − R_F − cR_K| <= allowance at every step of every
   run: the exact cancellation of the proof; any change to the optimizer's step or momentum breaks it.
2. [remainders] R_F <= (L/2)η²Q + allowance (L-smoothness) and R_K <= allowance (convexity of ‖·‖_*).
3. [inequality] the theorem: H_{t+1} − H_t + η(1 + ηλβ/(1 − β))Φ_{t+1} <= (L/2)η²Q + allowance
   (attained up to rounding on the isotropic quadratic whenever the polar factor does not turn).

Mutations: "double_step" and "flip_momentum" wrap the optimizer; both must give "violated".
"""

from __future__ import annotations

import numpy as np

from lab.checks import check
from lab.stats import Verdict, ratio_to_bound

_SRC = "lab derivation consistent with S3 (Chen, Li, Liu, arXiv 2506.15054)"
_EPS = float(np.finfo(float).eps)
_PROBS = (
    "constrained_least_squares (lab.experiments.s3.PROBLEM) and isotropic_quadratic 8x6 L=1 ||C||_F=3; "
    "Muon EMA, no Nesterov, exact polar, weight decay, shape scale s"
)


@check(
    "S3-L2-sharp",
    claim="H_t = F(X_t) + eta beta/(1-beta) (s||B_t||_* + lam<B_t, X_t>): one step "
    "H_{t+1} - H_t <= -eta(1 + eta lam beta/(1-beta)) Phi(B_{t+1}, X_t) "
    "+ (L/2) eta^2 ||s polar(B_{t+1}) + lam X_t||^2, "
    "with the proof's exact cancellation holding to rounding",
    source="S3",
    theorems=("S3.L2.sharp",),
    experiment="s3_sharp",
    mutations=("double_step", "flip_momentum"),
)
def s3_l2_sharp(*, quick: bool, mutation: str | None = None):
    """Identity, remainder signs and the theorem's inequality at every step of every (β, η, λ, s, start)."""
    from lab.experiments import get_experiment

    exp = get_experiment("s3_sharp")(quick=quick, mutation=mutation)
    m, th = exp
    allow = 64 * _EPS * m["scale"]
    rows = exp.meta["rows"]
    n_runs, n_steps = m["lhs"].shape
    common = dict(runs=int(n_runs), steps=int(n_steps), mutation=mutation)
    ident = ratio_to_bound(np.abs(m["residual"]), allow, points=rows)
    rem = ratio_to_bound(np.maximum(m["R_F"] / (th["bound"] + allow), m["R_K"] / allow), 1.0, points=rows)
    ineq = ratio_to_bound(m["lhs"], th["bound"] + allow, points=rows)
    inside = m["x_op"] <= (exp.meta["s"] / exp.meta["wd"])[:, None] * (1 + 1e-12)
    return [
        Verdict.from_ratio(
            "S3-L2-sharp[identity]",
            _SRC,
            _PROBS,
            "64 eps * (sum of |terms|)",
            "|dH + eta(1 + eta lam beta/(1-beta)) Phi_next - R_F - c R_K|",
            ident,
            **common,
        ),
        Verdict.from_ratio(
            "S3-L2-sharp[remainders]",
            _SRC,
            _PROBS,
            "R_F <= (L/2) eta^2 Q + allowance and R_K <= allowance",
            "max(R_F/((L/2) eta^2 Q + allowance), R_K/allowance)",
            rem,
            max_R_K=float(np.max(m["R_K"])),
            **common,
        ),
        Verdict.from_ratio(
            "S3-L2-sharp[inequality]",
            _SRC,
            _PROBS,
            "(L/2) eta^2 ||s polar(B_{t+1}) + lam X_t||_F^2 + allowance (S3.L2.sharp)",
            "H_{t+1} - H_t + eta(1 + eta lam beta/(1-beta)) Phi(B_{t+1}, X_t)",
            ineq,
            inside_fraction=float(np.mean(inside)),
            **common,
        ),
    ]
