"""Layer-wise LMO methods: Scion (constant per-block steps) and Gluon (adaptive (L0, L1) steps).

Every block i has its own norm ‖·‖_(i) (its oracle) and step size t_i:

    X_i ← X_i + t_i · D_i,    D_i = oracle_i(M_i) ≈ lmo_(i)(M_i)

* **Scion** (Pethick et al., arXiv 2502.07529): t_i = η_t · b_i with per-block multipliers b_i (the
  radii), momentum in Scion's form M ← (1−α)M + αg.
* **Gluon** (Riabinin et al., arXiv 2505.13416): for layer-wise (L0, L1)-smooth f,
  ‖∇_i f(X) − ∇_i f(Y)‖_(i)* ≤ (L_i⁰ + L_i¹ a_i(X)) ‖X_i − Y_i‖_(i), a_i = ‖∇_i f(X)‖_(i)*, the
  **δ-aware** adaptive step

      t_i = (1 − δ_i) a_i / ((1 + δ_i)² (L_i⁰ + L_i¹ a_i))

  guarantees f(X^{k+1}) ≤ f(X^k) − Σ_i (1−δ_i)²/(2(1+δ_i)²) · a_i²/(L_i⁰ + L_i¹ a_i) for a δ_i-inexact
  oracle (lab derivation consistent with S1: the exact method's iteration count times
  ((1+δ)/(1−δ))²).  The **δ-agnostic** step t_i = a_i/(L_i⁰ + L_i¹ a_i) is the exact method's choice;
  under large δ it loses monotone descent (the source checks).  a_i is measured on the oracle's input
  (the gradient when β = 0): ``dual="exact"`` computes ‖M_i‖_(i)* (an SVD for the spectral norm),
  ``dual="inner"`` uses −⟨M_i, D_i⟩ (free; equals ‖M_i‖_* for the exact LMO).
"""

from __future__ import annotations

import numpy as np

from lab.backend import namespace, to_numpy
from lab.norms import inner
from lab.optimizers.base import (
    Example,
    Hyper,
    block_hyper_names,
    block_hypers,
    check_choice,
    check_flag,
)
from lab.optimizers.chain import Chain, chain
from lab.optimizers.momentum import EMAMomentum, NoMomentum
from lab.optimizers.muon import momentum_estimator
from lab.optimizers.transforms import (
    LMO,
    BlockMultiplier,
    DecoupledWeightDecay,
    LearningRate,
    ShapeScale,
    Transform,
)
from lab.oracles import exact_lmo
from lab.schedules import as_schedule

__all__ = ["scion", "gluon", "AdaptiveStep", "GluonOptimizer", "STEP_RULES"]

STEP_RULES = ("delta_aware", "delta_agnostic")
DUAL_ESTIMATES = ("exact", "inner")


def _layer_oracles(norms, oracles):
    """Oracles from exactly one of ``norms`` (exact LMOs) and ``oracles``; names the missing option."""
    if norms is not None and oracles is not None:
        raise ValueError(
            "norms and oracles: give one of them (norms builds exact LMOs; oracles injects your own)"
        )
    if norms is None and oracles is None:
        raise ValueError(
            "norms: every block needs a norm, e.g. norms=('spectral', 'linf') (or pass oracles=...)"
        )
    if oracles is not None:
        return oracles, "oracles"
    if isinstance(norms, (list, tuple)):
        out = []
        for i, n in enumerate(norms):
            try:
                out.append(exact_lmo(n))
            except ValueError as exc:
                raise ValueError(f"norms[{i}]: {exc}") from None
        return out, "norms"
    try:
        return exact_lmo(norms), "norms"
    except ValueError as exc:
        raise ValueError(f"norms: {exc}") from None


def _layer_lmo(norms, oracles) -> LMO:
    oracle, option = _layer_oracles(norms, oracles)
    return LMO(oracle, option=option)


def scion(
    lr,
    alpha=0.1,
    *,
    norms=None,
    oracles=None,
    block_lr=1.0,
    nesterov: bool = False,
    momentum_init: str = "zero",
    weight_decay=0.0,
) -> Chain:
    """Scion: X_i ← X_i(1 − ηλ) + η b_i oracle_i(M_i), M ← (1−α)M + αg.

    Parameters
    ----------
    lr : η_t > 0.  alpha : α ∈ (0, 1], the weight on the fresh gradient (β = 1 − α).
    norms : one norm name (or Norm) per block — exact LMOs; or ``oracles`` : one oracle per block.
        A single (non-sequence) norm/oracle is shared by all blocks; a sequence must match the blocks.
    block_lr : per-block multipliers b_i (the radii), a sequence or one for all.
    nesterov, momentum_init, weight_decay : as in :func:`lab.optimizers.muon`.
    """
    check_flag("nesterov", nesterov)
    direction = _layer_lmo(norms, oracles)
    return chain(
        LearningRate(lr),
        momentum_estimator("alpha", None, alpha, nesterov, momentum_init),
        ShapeScale("none"),
        DecoupledWeightDecay(weight_decay),
        direction,
        BlockMultiplier(block_lr),
        name="scion",
    )


class AdaptiveStep(Transform):
    """Gluon's per-block step s_i ← s_i · ratio_i (module docstring); s_i = lr (1 = the theory).

    ratio_i = (1 − δ_i) a_i / ((1 + δ_i)² (L_i⁰ + L_i¹ a_i)) (δ-aware) or a_i/(L_i⁰ + L_i¹ a_i)
    (δ-agnostic), a_i the dual norm of the oracle's input (``dual="exact"``) or −⟨M_i, D_i⟩.
    ``direction`` is the chain's :class:`LMO` transform (its oracles' norms measure a_i).
    """

    def __init__(self, L0, L1, delta, rule: str, dual: str, direction: LMO):
        self.rule = check_choice("step_rule", rule, STEP_RULES)
        self.dual = check_choice("dual", dual, DUAL_ESTIMATES)
        self.direction = direction
        self.L0 = block_hypers("L0", L0, low=0.0)
        self.L1 = block_hypers("L1", L1, low=0.0)
        self.delta = block_hypers("delta", delta, low=0.0, high=1.0, high_open=True)
        for i in range(max(len(self.L0), len(self.L1))):
            l0, l1 = self._block(self.L0, i).schedule, self._block(self.L1, i).schedule
            if l0.is_constant and l1.is_constant:
                both = (np.asarray(to_numpy(l0.value(1))) == 0) & (np.asarray(to_numpy(l1.value(1))) == 0)
                if np.any(both):
                    raise ValueError(
                        f"L0 and L1 must not both be 0 (block {i}): the adaptive step would be undefined"
                    )

    @staticmethod
    def _block(hypers: tuple[Hyper, ...], i: int) -> Hyper:
        return hypers[i] if len(hypers) > 1 else hypers[0]

    def hyperparameters(self):
        return {
            **block_hyper_names("L0", self.L0),
            **block_hyper_names("L1", self.L1),
            **block_hyper_names("delta", self.delta),
        }

    def conventions(self):
        step = "t_i = lr*(1-d)a/((1+d)^2(L0+L1 a))" if self.rule == "delta_aware" else "t_i = lr*a/(L0+L1 a)"
        return {"step_rule": self.rule, "dual": self.dual, "step": step}

    def check_blocks(self, block_shapes):
        for name in ("L0", "L1", "delta"):
            n, p = len(getattr(self, name)), len(block_shapes)
            if n not in (1, p):
                raise ValueError(f"{name}: got {n} values for {p} blocks; give one per block or one for all")

    def ratio(self, i: int, t: int, M, D, oracle):
        """The factor of block i's step size at step t, for input M and direction D."""
        xp = namespace(M)
        a = oracle.norm.dual(M) if self.dual == "exact" else -inner(M, D)
        L0 = self._block(self.L0, i).at(t, M)
        L1 = self._block(self.L1, i).at(t, M)
        den = L0 + L1 * a
        safe = xp.where(den > 0, den, xp.ones_like(a))
        ratio = xp.where(den > 0, a / safe, xp.zeros_like(a))
        if self.rule == "delta_aware":
            d = self._block(self.delta, i).at(t, M)
            ratio = ratio * ((1.0 - d) / ((1.0 + d) * (1.0 + d)))
        return ratio

    def update(self, step, state):
        oracles = self.direction.block_oracles(len(step.params))
        blocks = zip(step.sizes(), step.oracle_input, step.direction, oracles, strict=True)
        sizes = tuple(s * self.ratio(i, step.t, M, D, o) for i, (s, M, D, o) in enumerate(blocks))
        return step._replace(step_sizes=sizes), state


#: Gluon is a chain ending in :class:`AdaptiveStep`; the name stays for imports.
GluonOptimizer = Chain


def gluon(
    L0,
    L1,
    *,
    norms=None,
    oracles=None,
    delta=0.0,
    step_rule: str = "delta_aware",
    dual: str = "exact",
    beta=0.0,
    lr=1.0,
    momentum_init: str = "zero",
) -> Chain:
    """Gluon with the δ-aware (default) or δ-agnostic adaptive step of S1's I2.

    Parameters
    ----------
    L0, L1 : per-block (L0, L1)-smoothness constants ≥ 0 (a sequence, one per block, or one for
        all; entries may be arrays over the batch), e.g. from ``problem.constants.blocks[i]``.
    norms / oracles : one norm (exact LMO) or oracle per block, as in :func:`scion`.
    delta : δ_i ∈ [0, 1) assumed by the δ-aware step (per block or shared; arrays over the batch).
    step_rule : "delta_aware" or "delta_agnostic".
    dual : "exact" (a_i = ‖M_i‖_*) or "inner" (a_i = −⟨M_i, D_i⟩).
    beta : β ∈ [0, 1) EMA momentum on the gradient (0 = the deterministic method of the theory).
    lr : multiplier of the adaptive step (1 = the theory).
    """
    check_choice("momentum_init", momentum_init, ("zero", "gradient"))
    direction = _layer_lmo(norms, oracles)
    b = as_schedule(beta, "beta")
    no_momentum = b.is_constant and isinstance(b.value(1), float) and b.value(1) == 0.0
    return chain(
        LearningRate(lr),
        NoMomentum() if no_momentum else EMAMomentum(beta, momentum_init, False),
        ShapeScale("none"),
        DecoupledWeightDecay(0.0),
        direction,
        BlockMultiplier(1.0),
        AdaptiveStep(L0, L1, delta, step_rule, dual, direction),
        name="gluon",
    )


#: (L0)_i of ½‖X_i − C_i‖² on the suites' blocks (6, 4) and (3, 5): min(m, n) (spectral), m·n (linf).
_SUITE_L0 = (4.0, 15.0)

#: Conformance configurations (:class:`lab.optimizers.Example`), by registry name.
EXAMPLES = {
    "scion": (
        Example(
            "spectral_linf",
            lambda v: scion(v, 0.5, norms=("spectral", "linf"), block_lr=(1.0, 0.5)),
            (0.02, 0.05, 0.1),
            0.05,
        ),
    ),
    "gluon": (
        Example(
            "delta_aware",
            lambda v: gluon(_SUITE_L0, 0.0, norms=("spectral", "linf"), delta=v),
            (0.0, 0.2, 0.5),
            0.2,
        ),
        Example(
            "agnostic_momentum",
            lambda v: gluon(
                _SUITE_L0,
                0.0,
                norms=("spectral", "frobenius"),
                step_rule="delta_agnostic",
                beta=v,
                lr=0.5,
                dual="inner",
            ),
            (0.0, 0.3, 0.6),
            0.3,
        ),
    ),
}
