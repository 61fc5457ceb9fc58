"""Muon: momentum, then the (approximate) spectral LMO, with the code conventions as options.

Algorithm (torch.optim.Muon, K. Jordan's muon.py), per block of shape A×B:

    M_t = momentum(M_{t−1}, g_t)                  "ema" (lerp), "sum" (heavy ball) or "alpha" (Scion)
    N_t = (1 − β)g_t + βM_t  if nesterov else M_t
    D_t = oracle(N_t)                              ≈ −polar(N_t)   (exact polar, or Newton–Schulz)
    X_{t+1} = X_t (1 − η_t λ) + η_t · shape(A, B) · D_t

shape = √max(1, A/B) ("original": Jordan, torch default), 0.2·√max(A, B) ("match_rms_adamw":
Moonshot, S2's code) or 1 ("none"); the weight decay uses the unscaled η_t (torch, Jordan, S2).

References: Jordan et al., "Muon: an optimizer for hidden layers" (2024); torch.optim.Muon;
S2 (Chang, Liu, Yuan, arXiv 2509.15816) for the EMA theory (Muon-EMA without Nesterov); S3 (Chen, Li,
Liu, arXiv 2506.15054) for Muon + weight decay as Lion-K / Frank–Wolfe on the ball ‖X‖_op ≤ s/λ.
"""

from __future__ import annotations

from lab.optimizers.base import Example, check_choice, check_flag
from lab.optimizers.chain import Chain, chain
from lab.optimizers.momentum import MOMENTUM_INITS, AlphaMomentum, EMAMomentum, Estimator, SumMomentum
from lab.optimizers.transforms import (
    ALPHA_RANGE,
    BETA_RANGE,
    LMO,
    BlockMultiplier,
    DecoupledWeightDecay,
    LearningRate,
    ShapeScale,
)
from lab.oracles import inexact_oracle
from lab.schedules import as_schedule, check_schedule

__all__ = ["muon", "MOMENTUM_FORMS", "BETA_RANGE", "ALPHA_RANGE", "momentum_estimator"]

MOMENTUM_FORMS = ("ema", "sum", "alpha")


def momentum_estimator(momentum: str, beta, alpha, nesterov: bool, init: str) -> Estimator:
    """Muon's momentum transform; α defaults to 1 − β (constant β only) for the "alpha" form."""
    if momentum == "ema":
        return EMAMomentum(beta, init, nesterov)
    if momentum == "sum":
        return SumMomentum(beta, init, nesterov)
    if alpha is None:
        b = as_schedule(beta, "beta")
        check_schedule("beta", b, **BETA_RANGE)
        if not b.is_constant:
            raise ValueError("alpha: give alpha explicitly when beta is a time-varying schedule")
        alpha = 1.0 - b.value(1)
    return AlphaMomentum(alpha, init, nesterov)


def muon(
    lr,
    beta=0.95,
    *,
    momentum: str = "ema",
    nesterov: bool = True,
    alpha=None,
    oracle="exact",
    shape_scale: str = "original",
    weight_decay=0.0,
    momentum_init: str = "zero",
    block_lr=1.0,
) -> Chain:
    """Muon with every convention explicit.

    Parameters
    ----------
    lr : η_t > 0 (schedule, number, or array over the batch).
    beta : β_t ∈ [0, 1), the weight on the old momentum (Muon's 0.95).  Ignored for momentum="alpha"
        when ``alpha`` is given.
    momentum : "ema" (M ← M + (1−β)(g − M), torch/Jordan/S2), "sum" (M ← βM + g, torch's docstring),
        "alpha" (M ← (1−α)M + αg, Scion; α defaults to 1 − β).
    nesterov : feed (1−β)g + βM (ema), g + βM (sum), αg + (1−α)M (alpha) to the oracle (torch default
        True); False feeds M.
    oracle : the LMO approximation (default the exact spectral LMO −polar; "ns:jordan:5" is
        torch's 5-step Newton–Schulz), a spec for :func:`lab.oracles.make_oracle`, or one per block.
    shape_scale : "original" √max(1, A/B) (default), "match_rms_adamw" 0.2√max(A, B), "none".
    weight_decay : λ ≥ 0, decoupled: X(1 − η_t λ) with the unscaled η_t.
    momentum_init : "zero" (M_0 = 0, the codes) or "gradient" (start the estimate at g_1).
    block_lr : per-block step multipliers (a sequence, one per block) or one for all.

    Guarantees: with exact polar, EMA, no Nesterov, constant β and no decay this is S2's Muon, for
    which the source states the descent inequality (D) and the anytime rate N1 (lab derivations).
    """
    check_choice("momentum", momentum, MOMENTUM_FORMS)
    check_flag("nesterov", nesterov)
    check_choice("momentum_init", momentum_init, MOMENTUM_INITS)
    return chain(
        LearningRate(lr),
        momentum_estimator(momentum, beta, alpha, nesterov, momentum_init),
        ShapeScale(shape_scale),
        DecoupledWeightDecay(weight_decay),
        LMO(oracle),
        BlockMultiplier(block_lr),
        name="muon",
    )


#: Conformance configurations (:class:`lab.optimizers.Example`).
EXAMPLES = (
    Example("ema_nesterov_ns", lambda v: muon(v, 0.9, oracle="ns:jordan:5"), (0.02, 0.05, 0.1), 0.05),
    Example("ema_beta", lambda v: muon(0.05, v, nesterov=False), (0.0, 0.5, 0.9), 0.5),
    Example("sum", lambda v: muon(v, 0.9, momentum="sum", nesterov=False), (0.02, 0.05, 0.1), 0.05),
    Example("alpha", lambda v: muon(0.05, momentum="alpha", alpha=v), (0.1, 0.5, 1.0), 0.5),
    Example(
        "wd_rms",
        lambda v: muon(0.05, 0.9, weight_decay=v, shape_scale="match_rms_adamw", momentum_init="gradient"),
        (0.0, 0.01, 0.05),
        0.01,
    ),
    Example(
        "random_oracle",
        lambda v: muon(0.05, 0.9, oracle=inexact_oracle("spectral", v, "random")),
        (0.0, 0.2, 0.5),
        0.2,
    ),
)
