"""The LMO optimizer family and the deterministic normalised steepest-descent step.

One step of every method in this family, for each block i:

    g_t   = gradient(X_t)                          (this step's sample)
    M_t   = estimator(g_t, …)                      (none / EMA / sum / Scion α / MVR1 / MVR2)
    D_i   = oracle_i(input_i)   ≈ lmo_i(input_i)  (e.g. −polar(M) for the spectral norm)
    X_i  ← X_i (1 − η_t λ_t) + s_i D_i            (decoupled weight decay with the *unscaled* η_t)

with the step size s_i = η_t · shape_i · b_i (shape scale of the A×B block and a per-block
multiplier b_i) or an adaptive rule (:mod:`lab.optimizers.gluon`).  Since lmo = −polar for the
spectral norm, Muon's X ← X − η·polar(M) is X ← X + η·oracle(M).  As a chain::

    chain(LearningRate(lr), estimator, ShapeScale(kind), DecoupledWeightDecay(λ), LMO(oracle),
          BlockMultiplier(block_lr))
"""

from __future__ import annotations

from lab.optimizers.base import Example
from lab.optimizers.chain import Chain, chain
from lab.optimizers.momentum import NoMomentum
from lab.optimizers.transforms import LMO, BlockMultiplier, DecoupledWeightDecay, LearningRate, ShapeScale
from lab.oracles import newton_schulz_oracle

__all__ = ["LMOOptimizer", "lmo_step", "EXAMPLES"]

#: The LMO methods are chains; the name stays for ``isinstance`` and imports.
LMOOptimizer = Chain


def lmo_step(lr, *, oracle="exact") -> Chain:
    """Deterministic normalised steepest descent in any norm: X ← X + t·D, D = oracle(∇f(X)).

    With the exact LMO of a norm ‖·‖ this is steepest descent with ‖X_{k+1} − X_k‖ = t.
    Guarantee (I1, lab derivation consistent with S1): for f L-smooth in (‖·‖, ‖·‖_*)
    and a δ-inexact oracle, f(X_{k+1}) ≤ f(X_k) − t(1−δ)‖∇f(X_k)‖_* + (L/2)t²(1+δ)², hence
    min_k ‖∇f(X_k)‖_* ≤ Δ₀/((1−δ)tK) + Lt(1+δ)²/(2(1−δ)).

    Parameters
    ----------
    lr : step size t > 0 (a schedule, number or batch array).
    oracle : Oracle, spec (e.g. "exact", "exact:linf", "ns:jordan:5", "expand:0.2"), or one per block.
    """
    return chain(
        LearningRate(lr),
        NoMomentum(),
        ShapeScale("none"),
        DecoupledWeightDecay(0.0),
        LMO(oracle),
        BlockMultiplier(1.0),
        name="lmo_step",
    )


#: Conformance configurations (:class:`lab.optimizers.Example`), by registry name.
EXAMPLES = {
    "lmo_step": (
        Example("exact", lambda v: lmo_step(v), (0.02, 0.05, 0.1), 0.05),
        Example(
            "ns", lambda v: lmo_step(v, oracle=newton_schulz_oracle(5, "quintic")), (0.02, 0.05, 0.1), 0.05
        ),
    ),
}
