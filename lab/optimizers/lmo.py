"""The LMO optimizer family and the deterministic normalised steepest-descent step.

One step of every method in this family, for each block i:

    g_t   = gradient(X_t)                          (this step's sample)
    M_t   = estimator(g_t, …)                      (none / EMA / sum / Scion α / MVR1 / MVR2)
    D_i   = oracle_i(input_i)   ≈ lmo_i(input_i)  (e.g. −polar(M) for the spectral norm)
    X_i  ← X_i (1 − η_t λ_t) + s_i D_i            (decoupled weight decay with the *unscaled* η_t)

with the step size s_i = η_t · shape_i · b_i (shape scale of the A×B block and a per-block
multiplier b_i) or an adaptive rule (:mod:`lab.optimizers.gluon`).  Since lmo = −polar for the
spectral norm, Muon's X ← X − η·polar(M) is X ← X + η·oracle(M).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lab.optimizers.base import (
    SHAPE_SCALES,
    Optimizer,
    StepInfo,
    check_choice,
    check_params,
    resolve_oracles,
    shape_scale,
)
from lab.optimizers.transforms import Estimator, NoMomentum, hyper_getter
from lab.schedules import batch_factor

__all__ = ["LMOState", "LMOOptimizer", "lmo_step"]


class LMOState(NamedTuple):
    count: int  # steps taken
    estimator: Any  # the estimator's state (NamedTuple of per-block tuples)


def _per_block(value, name: str):
    """A tuple for per-block settings: a list/tuple is one entry per block, anything else is shared."""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            raise ValueError(f"{name} must not be an empty sequence")
        return tuple(value)
    return (value,)


class LMOOptimizer(Optimizer):
    """X ← X(1 − ηλ) + s·oracle(estimator(g)) blockwise (see the module docstring).

    Parameters
    ----------
    name : str
    lr : schedule, > 0
        The unscaled step size η_t.
    oracle : Oracle, spec, or a sequence (one per block)
    estimator : Estimator
    estimator_hypers : dict name -> (value, range kwargs) registered as hyperparameters.
    shape_scale : "original" | "match_rms_adamw" | "none"
    block_lr : positive schedule or sequence of schedules (one per block); multiplies the step size.
    weight_decay : schedule, ≥ 0 (decoupled, X(1 − η_t λ_t) with the unscaled η_t).
    """

    def __init__(
        self,
        name: str,
        *,
        lr,
        oracle,
        estimator: Estimator | None = None,
        estimator_hypers: dict | None = None,
        shape_scale: str = "none",
        block_lr=1.0,
        weight_decay=0.0,
    ):
        super().__init__()
        self.name = name
        self._hyper("lr", lr, low=0.0, low_open=True)
        check_choice("shape_scale", shape_scale, SHAPE_SCALES)
        self.shape_scale = shape_scale
        self.estimator = estimator or NoMomentum()
        for hname, (value, ranges) in (estimator_hypers or {}).items():
            self._hyper(hname, value, **ranges)
        self._hyper("weight_decay", weight_decay, low=0.0)
        blocks = _per_block(block_lr, "block_lr")
        for i, b in enumerate(blocks):
            self._hyper(f"block_lr[{i}]" if len(blocks) > 1 else "block_lr", b, low=0.0, low_open=True)
        self._n_block_lr = len(blocks)
        self.oracles = resolve_oracles(oracle)
        self._oracle_shared = not isinstance(oracle, (list, tuple))
        self._oracle_option = "oracle"
        self.needs_same_sample = self.estimator.needs_same_sample
        self._estimator_hyper = hyper_getter(self)
        self._conventions.update(
            self.estimator.describe(),
            shape_scale=shape_scale,
            weight_decay="decoupled: X(1 - lr*weight_decay) with the unscaled lr, then X + step*D",
            update="X + step_size * D, D = oracle(input) ~ lmo(input) (= -polar for the spectral norm)",
        )

    # -- blocks ------------------------------------------------------------------------------------
    def _check_blocks(self, block_shapes) -> None:
        p = len(block_shapes)
        if not self._oracle_shared and len(self.oracles) != p:
            raise ValueError(
                f"{self._oracle_option}: got {len(self.oracles)} for {p} blocks {list(block_shapes)}; every "
                f"block needs its own entry (or pass a single one, not a sequence, to share it)"
            )
        if self._n_block_lr not in (1, p):
            raise ValueError(
                f"block_lr: got {self._n_block_lr} values for {p} blocks; give one per block or one"
            )

    def block_oracles(self, num_blocks: int):
        return self.oracles if not self._oracle_shared else self.oracles * num_blocks

    def dual_norms(self, num_blocks: int):
        return tuple(o.norm for o in self.block_oracles(num_blocks))

    def _block_lr(self, i: int, t: int, like):
        name = "block_lr" if self._n_block_lr == 1 else f"block_lr[{i}]"
        return self._value(name, t, like)

    # -- the step ------------------------------------------------------------------------------------
    def init(self, params):
        params = check_params(params)
        self._check_blocks(tuple(tuple(x.shape[-2:]) for x in params))
        return LMOState(0, self.estimator.init(params))

    def _step_sizes(self, t, lr, params, inputs, directions):
        """s_i = η_t · shape_i · b_i (floats or batch-shaped arrays)."""
        out = []
        for i, X in enumerate(params):
            s = lr * shape_scale(self.shape_scale, X.shape)
            out.append(s * self._block_lr(i, t, X))
        return tuple(out)

    def update(self, state, params, gradient, rng=None):
        t = state.count + 1
        like = params[0]
        g = tuple(gradient(params))
        estimate, inputs, est_state = self.estimator.update(
            state.estimator, g, params, gradient, t, self._estimator_hyper
        )
        oracles = self.block_oracles(len(params))
        D = tuple(
            o(x, rng=None if rng is None else rng.fold("oracle", i))
            for i, (o, x) in enumerate(zip(oracles, inputs, strict=True))
        )
        lr = self._value("lr", t, like)
        sizes = self._step_sizes(t, lr, params, inputs, D)
        decay = not self._is_zero("weight_decay")
        wd = self._value("weight_decay", t, like) if decay else 0.0
        shrink = 1.0 - batch_factor(lr * wd) if decay else None
        new_params = []
        for X, s, Di in zip(params, sizes, D, strict=True):
            Xd = X * shrink if decay else X
            new_params.append(Xd + batch_factor(s) * Di)
        beta = self._beta(t, like)
        info = StepInfo(lr, sizes, g, estimate, inputs, D, wd, beta)
        return tuple(new_params), LMOState(t, est_state), info

    def _beta(self, t, like):
        if "beta" in self._hypers:
            return self._value("beta", t, like)
        if "alpha" in self._hypers:
            return 1.0 - self._value("alpha", t, like)
        return None

    def describe(self) -> dict:
        d = super().describe()
        d["oracles"] = [o.describe() for o in self.oracles]
        return d


def lmo_step(lr, *, oracle="exact") -> LMOOptimizer:
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
    return LMOOptimizer("lmo_step", lr=lr, oracle=oracle, estimator=NoMomentum(), shape_scale="none")
