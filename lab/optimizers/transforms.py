"""Small blockwise transforms: init/update pairs over NamedTuple state, combined by :func:`chain`.

A transform sees one :class:`Step` (the step's context: t, params, the gradient function, the RNG and
the blockwise ``updates`` flowing through the chain) and returns it changed, with its new state::

    state = transform.init(params)                 # a NamedTuple of (*batch, m, n) arrays
    step, state = transform.update(step, state)    # pure: never modifies its arguments

``updates`` starts as the gradient g_t; :func:`lab.optimizers.chain.chain` applies the last one as
X ← X·shrink + s_i·updates_i with the step sizes s_i (η_t unless a transform sets them).  Every
hyperparameter is a typed :class:`lab.optimizers.base.Hyper` field.  Conventions: β is the weight on
the *old* estimate (Muon's 0.95), α = 1 − β the weight on the fresh gradient (Scion's "momentum").

=====================  =====================================================  =========================
transform              update (t = 1, 2, …; M_0 from ``init``)                oracle input (Nesterov)
=====================  =====================================================  =========================
:class:`NoMomentum`    M_t = g_t                                              g_t
:class:`EMAMomentum`   M_t = M_{t−1} + (1−β_t)(g_t − M_{t−1})  (lerp, torch)  g_t + β_t(M_t − g_t)
:class:`SumMomentum`   M_t = β_t M_{t−1} + g_t  (heavy ball)                   g_t + β_t M_t
:class:`AlphaMomentum` M_t = (1−α_t) M_{t−1} + α_t g_t  (Scion)               α_t g_t + (1−α_t) M_t
:class:`MVR1`          M_t = M_{t−1} + (1−β_t)(g_t − M_{t−1})                 (no Nesterov)
                             + γ_t β_t (g_t − g_{t−1})        (S2, t ≥ 2)
:class:`MVR2`          M_t = g_t + β_t (M_{t−1} − ∇f(X_{t−1}; ξ_t))  (STORM)   (no Nesterov)
=====================  =====================================================  =========================

``init="zero"`` (torch, Jordan, S2's code) starts from M_0 = 0; ``init="gradient"`` starts the
estimate at the first gradient (M_1 = g_1; for the sum form M_0 = g_1/(1−β_1), so that
(1−β)M_1 = g_1).  MVR2 always starts with M_1 = g_1 (there is no previous point); MVR1 applies its
correction from t = 2 on (there is no previous gradient at t = 1).  For constant β, EMA and sum give
proportional inputs (M_sum = M_ema/(1−β), with Nesterov too), hence identical directions under any
positively homogeneous-invariant oracle such as polar.

**MARS clip** (S2's code, off by default; not in the theory): the estimator is written
M_t = β_t M_{t−1} + (1−β_t) c_t with the corrected gradient c_t = g_t + γ_t β_t/(1−β_t)(g_t − h_t)
(h_t = g_{t−1} for MVR1; h_t = ∇f(X_{t−1}; ξ_t) and γ = 1 for MVR2), and c_t is clipped to
‖c_t‖_F ≤ 1 before the average.  Unclipped, this is exactly the table's update.

The other transforms: :class:`LearningRate` (η_t), :class:`LMO` (D = oracle(input)),
:class:`ShapeScale` and :class:`BlockMultiplier` (step sizes), :class:`DecoupledWeightDecay` and
:class:`CoupledWeightDecay`, :class:`Descent` (−updates), :class:`AdamMoments` (Adam's m̂/(√v̂ + ε))
and Gluon's adaptive step (:mod:`lab.optimizers.gluon`), Lion-K's ∇K (:mod:`lab.optimizers.lion_k`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from array_api_compat import is_writeable_array

from lab.backend import namespace
from lab.norms import frobenius_norm
from lab.optimizers.base import (
    SHAPE_SCALES,
    GradientFn,
    Hyper,
    Params,
    block_hyper_names,
    block_hypers,
    check_block_count,
    check_choice,
    check_flag,
    hyper,
    resolve_oracles,
    shape_scale,
)
from lab.schedules import batch_factor

__all__ = [
    "ESTIMATORS",
    "MOMENTUM_INITS",
    "BETA_RANGE",
    "ALPHA_RANGE",
    "Step",
    "Transform",
    "EmptyState",
    "MomentumState",
    "MVR1State",
    "MVR2State",
    "AdamState",
    "Estimator",
    "NoMomentum",
    "EMAMomentum",
    "SumMomentum",
    "AlphaMomentum",
    "MVR1",
    "MVR2",
    "LearningRate",
    "LMO",
    "ShapeScale",
    "BlockMultiplier",
    "DecoupledWeightDecay",
    "CoupledWeightDecay",
    "Descent",
    "AdamMoments",
]

ESTIMATORS = ("none", "ema", "sum", "alpha", "mvr1", "mvr2")
MOMENTUM_INITS = ("zero", "gradient")
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


class MomentumState(NamedTuple):
    momentum: tuple  # M_{t−1}, one array per block


class MVR1State(NamedTuple):
    momentum: tuple  # M_{t−1}
    prev_grad: tuple  # g_{t−1} = ∇f(X_{t−1}; ξ_{t−1})


class MVR2State(NamedTuple):
    momentum: tuple  # M_{t−1}
    prev_params: tuple  # X_{t−1}


class AdamState(NamedTuple):
    mu: tuple  # first moment m
    nu: tuple  # second moment v


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


def _axpy_owned(w, d, y):
    """y + w·d, written into ``d`` when this step allocated d (bit-identical to the expression).

    Why: each temporary of a batched momentum update is a full pass over (*batch, m, n) memory.
    IEEE products and sums commute exactly, so d *= w; d += y equals y + w·d bit for bit.  The
    in-place form is used only when it cannot change the result's shape or dtype (w a Python float
    or an array of d's dtype broadcasting into d, y of d's shape and dtype); otherwise the plain
    expression.  Callers pass only a d they computed in this step, never the caller's state.
    """
    fits = is_writeable_array(d) and tuple(y.shape) == tuple(d.shape) and y.dtype == d.dtype
    if fits and not isinstance(w, float):
        ws, ds = tuple(w.shape), tuple(d.shape)
        fits = (
            w.dtype == d.dtype
            and len(ws) <= len(ds)
            and all(a in (1, b) for a, b in zip(reversed(ws), reversed(ds), strict=False))
        )
    if not fits:
        return y + w * d
    d *= w
    d += y
    return d


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


# --------------------------------------------------------------------------------- momentum


class Estimator(Transform):
    """A gradient estimator: turns ``updates`` (g_t) into the oracle's input; records M_t and β_t."""

    name = "estimator"

    def __init__(self, init: str = "zero", nesterov: bool = False):
        self.init_mode = check_choice("momentum_init", init, MOMENTUM_INITS)
        self.nesterov = check_flag("nesterov", nesterov)

    def conventions(self):
        return {"estimator": self.name, "momentum_init": self.init_mode, "nesterov": self.nesterov}


class NoMomentum(Estimator):
    """M_t = g_t (the deterministic LMO step, or β = 0)."""

    name = "none"

    def conventions(self):
        return {"estimator": self.name}

    def update(self, step, state):
        return step._replace(estimate=step.updates), state


class _BetaEstimator(Estimator):
    """An estimator with β_t ∈ [0, 1), the weight on the old estimate."""

    def __init__(self, beta, init: str = "zero", nesterov: bool = False):
        super().__init__(init, nesterov)
        self.beta = hyper("beta", beta, **BETA_RANGE)

    def hyperparameters(self):
        return {"beta": self.beta}

    def init(self, params):
        return MomentumState(zeros_like_params(params))

    def _record(self, step, estimate, inputs):
        beta = self.beta.at(step.t, step.like)
        return step._replace(estimate=estimate, updates=inputs, beta=beta)


class EMAMomentum(_BetaEstimator):
    """EMA momentum in torch's lerp form; Nesterov input g + β(M − g) = (1−β)g + βM.

    ``lookahead="add"`` feeds g + βM instead (torch's SGD with Nesterov on an EMA buffer).
    """

    name = "ema"

    def __init__(self, beta, init: str = "zero", nesterov: bool = False, lookahead: str = "lerp"):
        super().__init__(beta, init, nesterov)
        self.lookahead = check_choice("lookahead", lookahead, ("lerp", "add"))

    def update(self, step, state):
        out_M, out_in = [], []
        for gi, Mi in zip(step.updates, state.momentum, strict=True):
            beta = self.beta.factor(step.t, gi)
            if step.t == 1 and self.init_mode == "gradient":
                Mi = gi
            M = _axpy_owned(1.0 - beta, gi - Mi, Mi)  # Mi + (1 − β)(gi − Mi)
            out_M.append(M)
            if self.lookahead == "add":
                out_in.append(gi + beta * M if self.nesterov else M)
                continue
            out_in.append(_axpy_owned(beta, M - gi, gi) if self.nesterov else M)  # gi + β(M − gi)
        M = tuple(out_M)
        return self._record(step, M, tuple(out_in)), MomentumState(M)


class SumMomentum(_BetaEstimator):
    """Heavy-ball sum M_t = β M_{t−1} + g_t; estimate (1−β)M_t; Nesterov input g + βM."""

    name = "sum"

    def update(self, step, state):
        est, out_M, out_in = [], [], []
        for gi, Mi in zip(step.updates, state.momentum, strict=True):
            beta = self.beta.factor(step.t, gi)
            if step.t == 1 and self.init_mode == "gradient":
                Mi = gi / (1.0 - beta)
            M = beta * Mi + gi
            out_M.append(M)
            est.append((1.0 - beta) * M)
            out_in.append(gi + beta * M if self.nesterov else M)
        M = tuple(out_M)
        return self._record(step, tuple(est), tuple(out_in)), MomentumState(M)


class AlphaMomentum(Estimator):
    """Scion's form M_t = (1−α)M_{t−1} + α g_t (α = 1 − β the weight on the fresh gradient)."""

    name = "alpha"

    def __init__(self, alpha, init: str = "zero", nesterov: bool = False):
        super().__init__(init, nesterov)
        self.alpha = hyper("alpha", alpha, **ALPHA_RANGE)

    def hyperparameters(self):
        return {"alpha": self.alpha}

    def init(self, params):
        return MomentumState(zeros_like_params(params))

    def update(self, step, state):
        out_M, out_in = [], []
        for gi, Mi in zip(step.updates, state.momentum, strict=True):
            alpha = self.alpha.factor(step.t, gi)
            if step.t == 1 and self.init_mode == "gradient":
                Mi = gi
            M = (1.0 - alpha) * Mi + alpha * gi
            out_M.append(M)
            out_in.append(alpha * gi + (1.0 - alpha) * M if self.nesterov else M)
        M = tuple(out_M)
        beta = 1.0 - self.alpha.at(step.t, step.like)
        return step._replace(estimate=M, updates=tuple(out_in), beta=beta), MomentumState(M)


def _clip_frobenius(C):
    """C / max(1, ‖C‖_F), per batch member (MARS)."""
    xp = namespace(C)
    n = frobenius_norm(C)
    return C / xp.where(n > 1.0, n, xp.ones_like(n))[..., None, None]


class MVR1(_BetaEstimator):
    """Muon-MVR1 (S2): EMA plus the correction γ_t β_t (g_t − g_{t−1}) with the stored previous gradient."""

    name = "mvr1"

    def __init__(self, beta, gamma, init: str = "zero", mars_clip: bool = False):
        super().__init__(beta, init, nesterov=False)
        self.gamma = hyper("gamma", gamma, low=0.0)
        self.mars_clip = check_flag("mars_clip", mars_clip)

    def hyperparameters(self):
        return {"beta": self.beta, "gamma": self.gamma}

    def conventions(self):
        return {**super().conventions(), "mars_clip": self.mars_clip}

    def init(self, params):
        return MVR1State(zeros_like_params(params), zeros_like_params(params))

    def update(self, step, state):
        t, g = step.t, step.updates
        out_M = []
        for gi, Mi, hi in zip(g, state.momentum, state.prev_grad, strict=True):
            beta = self.beta.factor(t, gi)
            if t == 1 and self.init_mode == "gradient":
                Mi = gi
            if self.mars_clip:
                c = gi
                if t > 1:
                    c = gi + (self.gamma.factor(t, gi) * beta / (1.0 - beta)) * (gi - hi)
                c = _clip_frobenius(c)
                M = beta * Mi + (1.0 - beta) * c
            else:
                M = Mi + (1.0 - beta) * (gi - Mi)
                if t > 1:
                    M = M + (self.gamma.factor(t, gi) * beta) * (gi - hi)
            out_M.append(M)
        M = tuple(out_M)
        return self._record(step, M, M), MVR1State(M, tuple(g))


class MVR2(_BetaEstimator):
    """Muon-MVR2 / STORM (S2): M_t = g_t + β_t(M_{t−1} − ∇f(X_{t−1}; ξ_t)), two gradients per step."""

    name = "mvr2"
    needs_same_sample = True

    def __init__(self, beta, mars_clip: bool = False):
        super().__init__(beta, "gradient", nesterov=False)
        self.mars_clip = check_flag("mars_clip", mars_clip)

    def conventions(self):
        return {"estimator": self.name, "momentum_init": "M_1 = g_1", "mars_clip": self.mars_clip}

    def init(self, params):
        return MVR2State(zeros_like_params(params), zeros_like_params(params))

    def update(self, step, state):
        if step.t == 1:
            M = tuple(step.updates)
        else:
            h = tuple(step.gradient(state.prev_params))  # the same sample ξ_t at X_{t−1}
            out = []
            for gi, Mi, hi in zip(step.updates, state.momentum, h, strict=True):
                beta = self.beta.factor(step.t, gi)
                if self.mars_clip:
                    c = _clip_frobenius(gi + (beta / (1.0 - beta)) * (gi - hi))
                    out.append(beta * Mi + (1.0 - beta) * c)
                else:
                    out.append(_axpy_owned(beta, Mi - hi, gi))  # gi + β(Mi − hi)
            M = tuple(out)
        return self._record(step, M, M), MVR2State(M, tuple(step.params))


# --------------------------------------------------------------------------------- Adam


class AdamMoments(Transform):
    """Adam's direction m̂/(√v̂ + ε) with bias correction 1 − β^t (Kingma & Ba); estimate m̂."""

    def __init__(self, beta1, beta2, eps):
        self.beta1 = hyper("beta1", beta1, **BETA_RANGE)
        self.beta2 = hyper("beta2", beta2, **BETA_RANGE)
        self.eps = hyper("eps", eps, low=0.0, low_open=True)

    def hyperparameters(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def init(self, params):
        zeros = zeros_like_params(params)
        return AdamState(zeros, zeros)

    def update(self, step, state):
        t, like = step.t, step.like
        xp = namespace(like)
        b1, b2 = self.beta1.at(t, like), self.beta2.at(t, like)
        eps = self.eps.factor(t, like)
        # bias corrections 1 − β^t (exact for constant β; for scheduled β the product form is not used)
        c1 = batch_factor(1.0 - b1**t)
        c2 = batch_factor(1.0 - b2**t)
        B1, B2 = batch_factor(b1), batch_factor(b2)
        new_m, new_v, est, dirs = [], [], [], []
        for gd, mi, vi in zip(step.updates, state.mu, state.nu, strict=True):
            m = B1 * mi + (1.0 - B1) * gd
            v = B2 * vi + (1.0 - B2) * (gd * gd)
            dirs.append((m / c1) / (xp.sqrt(v / c2) + eps))
            new_m.append(m)
            new_v.append(v)
            est.append(m / c1)
        step = step._replace(updates=tuple(dirs), estimate=tuple(est), beta=b1)
        return step, AdamState(tuple(new_m), tuple(new_v))
