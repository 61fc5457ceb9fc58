"""Small blockwise transforms: init/update pairs over NamedTuple state, combined by :func:`chain`.

A transform sees one :class:`Step` (the step's context: t, params, the gradient function, the RNG and
the blockwise ``updates`` flowing through the chain) and returns it changed, with its new state::

    state = transform.init(params)                 # a NamedTuple of (*batch, m, n) arrays
    step, state = transform.update(step, state)    # pure: never modifies its arguments

``updates`` starts as the gradient g_t; :func:`lab.optimizers.chain.chain` applies the last one as
X ← X·shrink + s_i·updates_i with the step sizes s_i (η_t unless a transform sets them).  Every
hyperparameter is a typed :class:`lab.optimizers.base.Hyper` field.

Here: :class:`LearningRate` (η_t), :class:`LMO` (D = oracle(input)), :class:`ShapeScale` and
:class:`BlockMultiplier` (step sizes), :class:`DecoupledWeightDecay` and :class:`CoupledWeightDecay`,
:class:`Descent` (−updates).  The gradient estimators (momentum, MVR, Adam's moments) are in
:mod:`lab.optimizers.momentum`, Gluon's adaptive step in :mod:`lab.optimizers.gluon` and Lion-K's ∇K
in :mod:`lab.optimizers.lion_k`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lab.backend import namespace
from lab.optimizers.base import (
    SHAPE_SCALES,
    GradientFn,
    Hyper,
    Params,
    block_hyper_names,
    block_hypers,
    check_block_count,
    check_choice,
    hyper,
    resolve_oracles,
    shape_scale,
)
from lab.schedules import batch_factor

__all__ = [
    "BETA_RANGE",
    "ALPHA_RANGE",
    "Step",
    "Transform",
    "EmptyState",
    "zeros_like_params",
    "LearningRate",
    "LMO",
    "ShapeScale",
    "BlockMultiplier",
    "DecoupledWeightDecay",
    "CoupledWeightDecay",
    "Descent",
]

BETA_RANGE = {"low": 0.0, "high": 1.0, "high_open": True}  # β ∈ [0, 1)
ALPHA_RANGE = {"low": 0.0, "high": 1.0, "low_open": True}  # α = 1 − β ∈ (0, 1]


class Step(NamedTuple):
    """One step's context, threaded through the chain (the StepInfo fields are gathered from it).

    t : the 1-based step number.  params : X_t.  gradient : this step's sample at any point.
    rng : the step's RNG (or None).  grad : g_t = gradient(X_t).  updates : what flows (g_t at first).
    lr : η_t.  step_sizes : per block, the size that multiplies the last updates (None: η_t).
    estimate, oracle_input, direction, weight_decay, beta : as in :class:`lab.optimizers.StepInfo`.
    shrink : the factor 1 − η_t λ_t of decoupled weight decay, or None.
    """

    t: int
    params: Params
    gradient: GradientFn
    rng: Any
    grad: Params
    updates: Params
    lr: Any = None
    step_sizes: tuple | None = None
    estimate: Params | None = None
    oracle_input: Params | None = None
    direction: Params | None = None
    weight_decay: Any = 0.0
    shrink: Any = None
    beta: Any = None

    @property
    def like(self):
        """The array whose namespace and dtype scalar hyperparameters take (block 0)."""
        return self.params[0]

    def sizes(self) -> tuple:
        """The current step sizes (η_t for every block until a transform sets them)."""
        return self.step_sizes if self.step_sizes is not None else (self.lr,) * len(self.params)


class EmptyState(NamedTuple):
    pass


class Transform:
    """Base: a stateless identity.  Subclasses override what they need.

    ``needs_same_sample`` marks transforms that evaluate the step's sample at a second point (MVR2).
    """

    needs_same_sample = False
    oracles: tuple | None = None  # the oracles as configured (one shared, or one per block)

    def init(self, params: Params):
        return EmptyState()

    def update(self, step: Step, state):
        return step, state

    def hyperparameters(self) -> dict[str, Hyper]:
        return {}

    def conventions(self) -> dict[str, Any]:
        return {}

    def check_blocks(self, block_shapes) -> None:
        """Raise ValueError when a per-block setting does not fit the blocks."""

    def block_oracles(self, num_blocks: int):
        """The per-block oracles of a transform that calls one, else None."""
        return None


def zeros_like_params(params):
    return tuple(namespace(x).zeros_like(x) for x in params)


# --------------------------------------------------------------------------------- the step size


class LearningRate(Transform):
    """η_t from its schedule (> 0); weight decay and the step sizes read it."""

    def __init__(self, lr):
        self.lr = hyper("lr", lr, low=0.0, low_open=True)

    def hyperparameters(self):
        return {"lr": self.lr}

    def update(self, step, state):
        return step._replace(lr=self.lr.at(step.t, step.like)), state


class ShapeScale(Transform):
    """s_i = η_t · shape(A_i, B_i): √max(1, A/B), 0.2·√max(A, B) or 1 (:func:`shape_scale`)."""

    def __init__(self, kind: str):
        self.kind = check_choice("shape_scale", kind, SHAPE_SCALES)

    def conventions(self):
        return {"shape_scale": self.kind}

    def update(self, step, state):
        blocks = zip(step.sizes(), step.params, strict=True)
        sizes = tuple(s * shape_scale(self.kind, X.shape) for s, X in blocks)
        return step._replace(step_sizes=sizes), state


class BlockMultiplier(Transform):
    """s_i ← s_i · b_i, one positive multiplier per block or one for all (Scion's radii)."""

    def __init__(self, block_lr):
        self.block_lr = block_hypers("block_lr", block_lr, low=0.0, low_open=True)

    def hyperparameters(self):
        return block_hyper_names("block_lr", self.block_lr)

    def check_blocks(self, block_shapes):
        check_block_count("block_lr", len(self.block_lr), len(block_shapes))

    def update(self, step, state):
        sizes = []
        for i, (s, X) in enumerate(zip(step.sizes(), step.params, strict=True)):
            b = self.block_lr[i if len(self.block_lr) > 1 else 0]
            sizes.append(s * b.at(step.t, X))
        return step._replace(step_sizes=tuple(sizes)), state


# --------------------------------------------------------------------------------- weight decay


_DECOUPLED = "decoupled: X(1 - lr*weight_decay) with the unscaled lr, then X + step*D"
_LMO_UPDATE = "X + step_size * D, D = oracle(input) ~ lmo(input) (= -polar for the spectral norm)"


class DecoupledWeightDecay(Transform):
    """X ← X(1 − η_t λ_t) before the step, with the *unscaled* η_t (torch, Jordan, S2); λ ≥ 0."""

    def __init__(self, weight_decay, description: str | None = None):
        self.weight_decay = hyper("weight_decay", weight_decay, low=0.0)
        self.description = description or _DECOUPLED

    def hyperparameters(self):
        return {"weight_decay": self.weight_decay}

    def conventions(self):
        return {"weight_decay": self.description}

    def update(self, step, state):
        decay = not self.weight_decay.is_zero
        wd = self.weight_decay.at(step.t, step.like) if decay else 0.0
        shrink = 1.0 - batch_factor(step.lr * wd) if decay else None
        return step._replace(weight_decay=wd, shrink=shrink), state


class CoupledWeightDecay(Transform):
    """g ← g + λ_t X (L2 regularisation through the gradient, torch.optim.Adam/SGD); λ ≥ 0."""

    def __init__(self, weight_decay):
        self.weight_decay = hyper("weight_decay", weight_decay, low=0.0)

    def hyperparameters(self):
        return {"weight_decay": self.weight_decay}

    def update(self, step, state):
        if self.weight_decay.is_zero:
            return step._replace(weight_decay=0.0), state
        wd = self.weight_decay.at(step.t, step.like)
        updates = tuple(u + batch_factor(wd) * X for u, X in zip(step.updates, step.params, strict=True))
        return step._replace(updates=updates, weight_decay=wd), state


class Descent(Transform):
    """updates ← −updates (a method that steps against its estimate); the result is the direction."""

    def update(self, step, state):
        d = tuple(-u for u in step.updates)
        return step._replace(updates=d, direction=d), state


# --------------------------------------------------------------------------------- the oracle


class LMO(Transform):
    """D_i = oracle_i(input_i) ≈ lmo_i(input_i) (−polar for the spectral norm); sets the direction.

    ``oracle``: an Oracle, a spec for :func:`lab.oracles.make_oracle`, or a sequence (one per block;
    a single non-sequence value is shared).  ``option`` names the user's option in block errors.
    """

    def __init__(self, oracle, option: str = "oracle"):
        self.oracles = resolve_oracles(oracle)
        self.shared = not isinstance(oracle, (list, tuple))
        self.option = option

    def conventions(self):
        return {"update": _LMO_UPDATE}

    def check_blocks(self, block_shapes):
        p = len(block_shapes)
        if not self.shared and len(self.oracles) != p:
            raise ValueError(
                f"{self.option}: got {len(self.oracles)} for {p} blocks {list(block_shapes)}; every "
                f"block needs its own entry (or pass a single one, not a sequence, to share it)"
            )

    def block_oracles(self, num_blocks: int):
        return self.oracles if not self.shared else self.oracles * num_blocks

    def update(self, step, state):
        rng = step.rng
        oracles = self.block_oracles(len(step.params))
        D = tuple(
            o(x, rng=None if rng is None else rng.fold("oracle", i))
            for i, (o, x) in enumerate(zip(oracles, step.updates, strict=True))
        )
        return step._replace(oracle_input=step.updates, direction=D, updates=D), state


