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

from lab.norms import inner
from lab.optimizers.base import check_choice, check_flag
from lab.optimizers.lmo import LMOOptimizer
from lab.optimizers.muon import ALPHA_RANGE, BETA_RANGE
from lab.optimizers.transforms import MOMENTUM_INITS, AlphaMomentum, EMAMomentum, NoMomentum
from lab.schedules import as_schedule

__all__ = ["scion", "gluon", "GluonOptimizer", "STEP_RULES"]

STEP_RULES = ("delta_aware", "delta_agnostic")
DUAL_ESTIMATES = ("exact", "inner")


def _layer_oracles(norms, oracles):
    """Oracles from exactly one of ``norms`` (exact LMOs) and ``oracles``; names the missing option."""
    from lab.oracles import exact_lmo

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
) -> LMOOptimizer:
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
    check_choice("momentum_init", momentum_init, MOMENTUM_INITS)
    oracle, option = _layer_oracles(norms, oracles)
    opt = LMOOptimizer(
        "scion",
        lr=lr,
        oracle=oracle,
        estimator=AlphaMomentum(momentum_init, nesterov),
        estimator_hypers={"alpha": (alpha, ALPHA_RANGE)},
        shape_scale="none",
        block_lr=block_lr,
        weight_decay=weight_decay,
    )
    opt._oracle_option = option
    return opt


class GluonOptimizer(LMOOptimizer):
    """Gluon's adaptive per-block step (module docstring); ``lr`` multiplies it (1 = the theory)."""

    def __init__(self, *, L0, L1, delta, rule, dual, **kw):
        super().__init__("gluon", **kw)
        check_choice("step_rule", rule, STEP_RULES)
        check_choice("dual", dual, DUAL_ESTIMATES)
        self.rule = rule
        self.dual = dual
        self._blockwise = {}
        for name, value, ranges in (
            ("L0", L0, {"low": 0.0}),
            ("L1", L1, {"low": 0.0}),
            ("delta", delta, {"low": 0.0, "high": 1.0, "high_open": True}),
        ):
            values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            if not values:
                raise ValueError(f"{name} must not be an empty sequence")
            for i, v in enumerate(values):
                self._hyper(f"{name}[{i}]" if len(values) > 1 else name, v, **ranges)
            self._blockwise[name] = len(values)
        for i in range(max(self._blockwise["L0"], self._blockwise["L1"])):
            l0 = self._hypers[self._hname("L0", i)].schedule
            l1 = self._hypers[self._hname("L1", i)].schedule
            if l0.is_constant and l1.is_constant:
                import numpy as np

                from lab.backend import to_numpy

                both = (np.asarray(to_numpy(l0.value(1))) == 0) & (np.asarray(to_numpy(l1.value(1))) == 0)
                if np.any(both):
                    raise ValueError(
                        f"L0 and L1 must not both be 0 (block {i}): the adaptive step would be undefined"
                    )
        self._conventions.update(
            step_rule=rule,
            dual=dual,
            step="t_i = lr*(1-d)a/((1+d)^2(L0+L1 a))" if rule == "delta_aware" else "t_i = lr*a/(L0+L1 a)",
        )

    def _hname(self, name, i):
        return name if self._blockwise[name] == 1 else f"{name}[{i}]"

    def _check_blocks(self, block_shapes) -> None:
        super()._check_blocks(block_shapes)
        p = len(block_shapes)
        for name, n in self._blockwise.items():
            if n not in (1, p):
                raise ValueError(f"{name}: got {n} values for {p} blocks; give one per block or one for all")

    def _step_sizes(self, t, lr, params, inputs, directions):
        oracles = self.block_oracles(len(params))
        out = []
        for i, (M, D, o) in enumerate(zip(inputs, directions, oracles, strict=True)):
            xp = _ns(M)
            a = o.norm.dual(M) if self.dual == "exact" else -inner(M, D)
            L0 = self._value(self._hname("L0", i), t, M)
            L1 = self._value(self._hname("L1", i), t, M)
            den = L0 + L1 * a
            safe = xp.where(den > 0, den, xp.ones_like(a))
            ratio = xp.where(den > 0, a / safe, xp.zeros_like(a))
            if self.rule == "delta_aware":
                d = self._value(self._hname("delta", i), t, M)
                ratio = ratio * ((1.0 - d) / ((1.0 + d) * (1.0 + d)))
            out.append(lr * ratio)
        return tuple(out)


def _ns(x):
    from lab.backend import namespace

    return namespace(x)


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
) -> GluonOptimizer:
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
    check_choice("momentum_init", momentum_init, MOMENTUM_INITS)
    oracle, option = _layer_oracles(norms, oracles)
    b = as_schedule(beta, "beta")
    if b.is_constant and isinstance(b.value(1), float) and b.value(1) == 0.0:
        estimator, hypers = NoMomentum(), {}
    else:
        estimator, hypers = EMAMomentum(momentum_init, False), {"beta": (beta, BETA_RANGE)}
    opt = GluonOptimizer(
        L0=L0,
        L1=L1,
        delta=delta,
        rule=step_rule,
        dual=dual,
        lr=lr,
        oracle=oracle,
        estimator=estimator,
        estimator_hypers=hypers,
        shape_scale="none",
    )
    opt._oracle_option = option
    return opt
