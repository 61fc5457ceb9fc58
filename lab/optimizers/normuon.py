"""NorMuon: Muon's orthogonalised update with per-neuron second-moment normalisation.

Algorithm (Li et al., "NorMuon: Making Muon more efficient and scalable", arXiv 2510.05491), per
block of shape m×n (rows = neurons), after Muon's momentum and oracle O_t ≈ −polar(N_t):

    v_t = β₂ v_{t−1} + (1 − β₂) mean_j (O_t ⊙ O_t)_{·j}      (one second moment per row, v_0 = 0)
    Ô_t = O_t / (√v_t + ε)                                    (row-wise)
    X_{t+1} = X_t (1 − η_t λ) + η_t · shape(m, n) · (‖O_t‖_F / ‖Ô_t‖_F) · Ô_t

The rescale restores the orthogonalised update's Frobenius norm; with the default
``shape_scale="match_rms_adamw"`` (0.2·√max(m, n)) and an exact polar factor this is the paper's
step 0.2·η·√(mn)·Ô/‖Ô‖_F.  ``StepInfo.direction`` stays the oracle's output (so the runner's oracle
diagnostics measure the oracle); the applied update is the normalised one.

Guarantee: none proved in this lab.  No theorem of :mod:`bounds` covers the row normalisation (it
makes the step a non-LMO direction), so no check judges NorMuon against a bound; the conformance
suites test only the interface (purity, batching, determinism, divergence isolation, convergence on
a quadratic).  It is registered with one :func:`lab.optimizers.register` call.
"""

from __future__ import annotations

from typing import NamedTuple

from lab.backend import namespace
from lab.norms import frobenius_norm
from lab.optimizers.base import Example, hyper
from lab.optimizers.chain import Chain, chain
from lab.optimizers.muon import momentum_estimator
from lab.optimizers.registry import register
from lab.optimizers.transforms import (
    BETA_RANGE,
    LMO,
    BlockMultiplier,
    DecoupledWeightDecay,
    LearningRate,
    ShapeScale,
    Transform,
)

__all__ = ["normuon", "RowNormalize", "RowMoments"]


class RowMoments(NamedTuple):
    nu: tuple  # v_t, one (*batch, m, 1) array per block


class RowNormalize(Transform):
    """Ô = O/(√v + ε) row-wise, v the EMA of the rows' mean of O², rescaled to ‖O‖_F (NorMuon)."""

    def __init__(self, beta2, eps):
        self.beta2, self.eps = hyper("beta2", beta2, **BETA_RANGE), hyper("eps", eps, low=0.0, low_open=True)

    def hyperparameters(self):
        return {"beta2": self.beta2, "eps": self.eps}

    def init(self, params):
        return RowMoments(tuple(namespace(X).zeros_like(X[..., :1]) for X in params))

    def update(self, step, state):
        out, nu = [], []
        for O, v in zip(step.updates, state.nu, strict=True):
            xp, b = namespace(O), self.beta2.factor(step.t, O)
            v = b * v + (1.0 - b) * xp.mean(O * O, axis=-1, keepdims=True)
            N = O / (xp.sqrt(v) + self.eps.factor(step.t, O))
            n_O, n_N = frobenius_norm(O), frobenius_norm(N)
            ratio = xp.where(n_N > 0, n_O / xp.where(n_N > 0, n_N, xp.ones_like(n_N)), xp.zeros_like(n_N))
            out.append(N * ratio[..., None, None])
            nu.append(v)
        return step._replace(updates=tuple(out)), RowMoments(tuple(nu))


def normuon(
    lr, beta=0.95, beta2=0.95, *, eps=1e-8, nesterov: bool = True, oracle="exact",
    shape_scale: str = "match_rms_adamw", weight_decay=0.0,
) -> Chain:
    """NorMuon (module docstring): Muon (EMA momentum, ``oracle``) + :class:`RowNormalize` (β₂, ε)."""
    return chain(
        LearningRate(lr), momentum_estimator("ema", beta, None, nesterov, "zero"), ShapeScale(shape_scale),
        DecoupledWeightDecay(weight_decay), LMO(oracle), RowNormalize(beta2, eps), BlockMultiplier(1.0),
        name="normuon",
    )


register(
    "normuon",
    normuon,
    examples=(
        Example("lr", lambda v: normuon(v, 0.9), (0.02, 0.05, 0.1), 0.05),
        Example("beta2_ns", lambda v: normuon(0.05, 0.9, v, oracle="ns:jordan:5"), (0.5, 0.9, 0.99), 0.9),
    ),
)
