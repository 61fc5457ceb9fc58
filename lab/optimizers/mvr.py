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

from lab.optimizers.base import Example
from lab.optimizers.chain import Chain, chain
from lab.optimizers.momentum import MVR1, MVR2
from lab.optimizers.transforms import LMO, BlockMultiplier, DecoupledWeightDecay, LearningRate, ShapeScale

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
) -> Chain:
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
    return chain(
        LearningRate(lr),
        MVR1(beta, gamma, momentum_init, mars_clip),
        ShapeScale(shape_scale),
        DecoupledWeightDecay(weight_decay),
        LMO(oracle),
        BlockMultiplier(1.0),
        name="muon_mvr1",
    )


def muon_mvr2(
    lr,
    beta=0.9,
    *,
    oracle="exact",
    mars_clip: bool = False,
    shape_scale: str = "none",
    weight_decay=0.0,
) -> Chain:
    """Muon-MVR2 (STORM): M_t = g_t + β_t (M_{t−1} − ∇f(X_{t−1}; ξ_t)), M_1 = g_1.

    The step evaluates the step's sample twice (at X_t and at the stored X_{t−1}), so the problem
    must offer ``sample``/``stochastic_grad`` for stochastic runs (the runner checks this).

    Parameters as :func:`muon_mvr1` (no γ: MVR2 is the γ = 1 correction with the same sample).
    """
    return chain(
        LearningRate(lr),
        MVR2(beta, mars_clip),
        ShapeScale(shape_scale),
        DecoupledWeightDecay(weight_decay),
        LMO(oracle),
        BlockMultiplier(1.0),
        name="muon_mvr2",
    )


#: Conformance configurations (:class:`lab.optimizers.Example`), by registry name.
EXAMPLES = {
    "muon_mvr1": (
        Example("gamma", lambda v: muon_mvr1(0.05, 0.9, v), (0.0, 0.1, 0.5), 0.1),
        Example(
            "clip",
            lambda v: muon_mvr1(v, 0.9, 0.1, mars_clip=True, shape_scale="match_rms_adamw"),
            (0.01, 0.02, 0.04),
            0.04,
        ),
    ),
    "muon_mvr2": (
        Example("beta", lambda v: muon_mvr2(0.05, v), (0.0, 0.5, 0.9), 0.5),
        Example("clip", lambda v: muon_mvr2(0.05, v, mars_clip=True), (0.0, 0.5, 0.9), 0.5),
    ),
}
