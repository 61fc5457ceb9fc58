"""Variance-reduced Muon (S2: Chang, Liu, Yuan, "On the Convergence of Muon and Beyond", arXiv 2509.15816).

Both methods take X_{t+1} = X_t − η_t·polar(M_t) (here X_t + η_t·oracle(M_t)) with, for g_t = ∇f(X_t; ξ_t):

* **Muon-MVR1** (one gradient per step; stores g_{t−1}):
  M_t = β_t M_{t−1} + (1 − β_t) g_t + γ_t β_t (g_t − g_{t−1}).
  γ = 0 is Muon (EMA, no Nesterov); the theory uses γ_t = t^{−1/2}; a constant γ (S2's code default
  0.025) leaves an error floor ≈ γσ.
* **Muon-MVR2** (two gradients per step on the SAME sample; stores X_{t−1}):
  M_t = g_t + β_t (M_{t−1} − ∇f(X_{t−1}; ξ_t))   (STORM); M_1 = g_1.

Guarantees (lab derivations consistent with S2): descent (D) with exact polar; estimator
recursions (E-Muon), (E-MVR2); anytime rates N1 (Õ(T^{−1/4}), MVR1) and N2 (Õ(T^{−1/3}), MVR2) with
η_t = η₀ t^{−3/4}, 1 − β_t = min(1, c t^{−1/2}) (MVR1) and η_t = η₀ t^{−2/3}, 1 − β_t = min(1, c t^{−2/3})
(MVR2) — see :mod:`lab.schedules`.

Options of the authors' code that are not in the theory, all off by default: the MARS clip of the
corrected gradient to Frobenius norm ≤ 1 (:mod:`lab.optimizers.transforms`), the 0.2·√max(A, B)
learning-rate scale (``shape_scale="match_rms_adamw"``) and decoupled weight decay.
"""

from __future__ import annotations

from lab.optimizers.base import check_choice, check_flag
from lab.optimizers.lmo import LMOOptimizer
from lab.optimizers.muon import BETA_RANGE
from lab.optimizers.transforms import MOMENTUM_INITS, MVR1, MVR2

__all__ = ["muon_mvr1", "muon_mvr2"]


def muon_mvr1(
    lr,
    beta=0.9,
    gamma=0.025,
    *,
    oracle="exact",
    mars_clip: bool = False,
    shape_scale: str = "none",
    weight_decay=0.0,
    momentum_init: str = "zero",
) -> LMOOptimizer:
    """Muon-MVR1: M_t = β_t M_{t−1} + (1−β_t) g_t + γ_t β_t (g_t − g_{t−1}) (correction from t = 2).

    Parameters
    ----------
    lr : η_t > 0.  beta : β_t ∈ [0, 1).  gamma : γ_t ≥ 0 (constant, e.g. 0.025, or a schedule such as
        ``power(1.0, 0.5)`` for t^{−1/2}).
    oracle : LMO approximation (default exact −polar), spec, or one per block.
    mars_clip : clip c_t = g_t + γβ/(1−β)(g_t − g_{t−1}) to ‖c_t‖_F ≤ 1 before the average (S2's code).
    shape_scale : "none" (theory, default), "match_rms_adamw" (S2's code), "original".
    weight_decay : λ ≥ 0, decoupled with the unscaled η_t (S2's code; 0 in the theory).
    momentum_init : "zero" (M_0 = 0) or "gradient" (M_1 = g_1).
    """
    check_flag("mars_clip", mars_clip)
    check_choice("momentum_init", momentum_init, MOMENTUM_INITS)
    hypers = {"beta": (beta, BETA_RANGE), "gamma": (gamma, {"low": 0.0})}
    return LMOOptimizer(
        "muon_mvr1",
        lr=lr,
        oracle=oracle,
        estimator=MVR1(momentum_init, mars_clip),
        estimator_hypers=hypers,
        shape_scale=shape_scale,
        weight_decay=weight_decay,
    )


def muon_mvr2(
    lr,
    beta=0.9,
    *,
    oracle="exact",
    mars_clip: bool = False,
    shape_scale: str = "none",
    weight_decay=0.0,
) -> LMOOptimizer:
    """Muon-MVR2 (STORM): M_t = g_t + β_t (M_{t−1} − ∇f(X_{t−1}; ξ_t)), M_1 = g_1.

    The step evaluates the step's sample twice (at X_t and at the stored X_{t−1}), so the problem
    must offer ``sample``/``stochastic_grad`` for stochastic runs (the runner checks this).

    Parameters as :func:`muon_mvr1` (no γ: MVR2 is the γ = 1 correction with the same sample).
    """
    check_flag("mars_clip", mars_clip)
    return LMOOptimizer(
        "muon_mvr2",
        lr=lr,
        oracle=oracle,
        estimator=MVR2(mars_clip),
        estimator_hypers={"beta": (beta, BETA_RANGE)},
        shape_scale=shape_scale,
        weight_decay=weight_decay,
    )
