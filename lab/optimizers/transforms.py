"""Gradient estimators (momentum transforms) shared by the LMO optimizers.

Each estimator turns the step's gradient g_t (and, for MVR2, a second evaluation of the same sample)
into the oracle's input.  Conventions: β is the weight on the *old* estimate (Muon's
0.95), α = 1 − β the weight on the fresh gradient (Scion's "momentum").

=================  =====================================================  ==========================
estimator          update (t = 1, 2, …; M_0 from ``init``)                oracle input (Nesterov)
=================  =====================================================  ==========================
``none``           M_t = g_t                                              g_t
``ema``            M_t = M_{t−1} + (1−β_t)(g_t − M_{t−1})  (lerp, torch)  g_t + β_t(M_t − g_t)
``sum``            M_t = β_t M_{t−1} + g_t  (torch's docstring)           g_t + β_t M_t
``alpha``          M_t = (1−α_t) M_{t−1} + α_t g_t  (Scion)               α_t g_t + (1−α_t) M_t
``mvr1``           M_t = M_{t−1} + (1−β_t)(g_t − M_{t−1})                 (no Nesterov)
                         + γ_t β_t (g_t − g_{t−1})        (S2, t ≥ 2)
``mvr2``           M_t = g_t + β_t (M_{t−1} − ∇f(X_{t−1}; ξ_t))  (STORM)   (no Nesterov)
=================  =====================================================  ==========================

``init="zero"`` (torch, Jordan, S2's code) starts from M_0 = 0; ``init="gradient"`` starts the
estimate at the first gradient (M_1 = g_1; for the sum form M_0 = g_1/(1−β_1), so that
(1−β)M_1 = g_1).  MVR2 always starts with M_1 = g_1 (there is no previous point); MVR1 applies its
correction from t = 2 on (there is no previous gradient at t = 1).

For constant β, EMA and sum give proportional inputs (M_sum = M_ema/(1−β), with Nesterov too), hence
identical directions under any positively homogeneous-invariant oracle such as polar.

**MARS clip** (S2's code, off by default; not in the theory): the estimator is written
M_t = β_t M_{t−1} + (1−β_t) c_t with the corrected gradient c_t = g_t + γ_t β_t/(1−β_t)(g_t − h_t)
(h_t = g_{t−1} for MVR1; h_t = ∇f(X_{t−1}; ξ_t) and γ = 1 for MVR2), and c_t is clipped to
‖c_t‖_F ≤ 1 before the average.  Unclipped, this is exactly the table's update.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from array_api_compat import is_writeable_array

from lab.backend import namespace
from lab.norms import frobenius_norm
from lab.schedules import batch_factor

__all__ = [
    "ESTIMATORS",
    "MOMENTUM_INITS",
    "Estimator",
    "NoMomentum",
    "EMAMomentum",
    "SumMomentum",
    "AlphaMomentum",
    "MVR1",
    "MVR2",
    "MomentumState",
    "MVR1State",
    "MVR2State",
    "EmptyState",
]

ESTIMATORS = ("none", "ema", "sum", "alpha", "mvr1", "mvr2")
MOMENTUM_INITS = ("zero", "gradient")


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


def _zeros(params):
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


class Estimator:
    """A momentum transform: ``init(params)``, ``update(state, g, params, gradient, t, hyper)``.

    ``hyper(name, t, like)`` returns a hyperparameter value shaped (*batch, 1, 1) (or a float);
    ``update`` returns ``(estimate, oracle_input, new_state)`` (tuples over blocks).
    """

    name = "estimator"
    needs_same_sample = False
    hyperparameters: tuple[str, ...] = ()

    def __init__(self, init: str = "zero", nesterov: bool = False):
        self.init_mode = init
        self.nesterov = nesterov

    def init(self, params) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, state, g, params, gradient, t, hyper):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:
        return {"estimator": self.name, "momentum_init": self.init_mode, "nesterov": self.nesterov}


class NoMomentum(Estimator):
    """M_t = g_t (the deterministic LMO step, or β = 0)."""

    name = "none"

    def init(self, params):
        return EmptyState()

    def update(self, state, g, params, gradient, t, hyper):
        return g, g, state

    def describe(self) -> dict:
        return {"estimator": self.name}


class EMAMomentum(Estimator):
    """EMA momentum in torch's lerp form; Nesterov input g + β(M − g) = (1−β)g + βM."""

    name = "ema"
    hyperparameters = ("beta",)

    def init(self, params):
        return MomentumState(_zeros(params))

    def update(self, state, g, params, gradient, t, hyper):
        out_M, out_in = [], []
        for gi, Mi in zip(g, state.momentum, strict=True):
            beta = hyper("beta", t, gi)
            if t == 1 and self.init_mode == "gradient":
                Mi = gi
            M = _axpy_owned(1.0 - beta, gi - Mi, Mi)  # Mi + (1 − β)(gi − Mi)
            out_M.append(M)
            out_in.append(_axpy_owned(beta, M - gi, gi) if self.nesterov else M)  # gi + β(M − gi)
        M = tuple(out_M)
        return M, tuple(out_in), MomentumState(M)


class SumMomentum(Estimator):
    """Heavy-ball sum M_t = β M_{t−1} + g_t; estimate (1−β)M_t; Nesterov input g + βM."""

    name = "sum"
    hyperparameters = ("beta",)

    def init(self, params):
        return MomentumState(_zeros(params))

    def update(self, state, g, params, gradient, t, hyper):
        est, out_M, out_in = [], [], []
        for gi, Mi in zip(g, state.momentum, strict=True):
            beta = hyper("beta", t, gi)
            if t == 1 and self.init_mode == "gradient":
                Mi = gi / (1.0 - beta)
            M = beta * Mi + gi
            out_M.append(M)
            est.append((1.0 - beta) * M)
            out_in.append(gi + beta * M if self.nesterov else M)
        M = tuple(out_M)
        return tuple(est), tuple(out_in), MomentumState(M)


class AlphaMomentum(Estimator):
    """Scion's form M_t = (1−α)M_{t−1} + α g_t (α = 1 − β the weight on the fresh gradient)."""

    name = "alpha"
    hyperparameters = ("alpha",)

    def init(self, params):
        return MomentumState(_zeros(params))

    def update(self, state, g, params, gradient, t, hyper):
        out_M, out_in = [], []
        for gi, Mi in zip(g, state.momentum, strict=True):
            alpha = hyper("alpha", t, gi)
            if t == 1 and self.init_mode == "gradient":
                Mi = gi
            M = (1.0 - alpha) * Mi + alpha * gi
            out_M.append(M)
            out_in.append(alpha * gi + (1.0 - alpha) * M if self.nesterov else M)
        M = tuple(out_M)
        return M, tuple(out_in), MomentumState(M)


def _clip_frobenius(C):
    """C / max(1, ‖C‖_F), per batch member (MARS)."""
    xp = namespace(C)
    n = frobenius_norm(C)
    return C / xp.where(n > 1.0, n, xp.ones_like(n))[..., None, None]


class MVR1(Estimator):
    """Muon-MVR1 (S2): EMA plus the correction γ_t β_t (g_t − g_{t−1}) with the stored previous gradient."""

    name = "mvr1"
    hyperparameters = ("beta", "gamma")

    def __init__(self, init: str = "zero", mars_clip: bool = False):
        super().__init__(init, nesterov=False)
        self.mars_clip = mars_clip

    def init(self, params):
        return MVR1State(_zeros(params), _zeros(params))

    def update(self, state, g, params, gradient, t, hyper):
        out_M = []
        for gi, Mi, hi in zip(g, state.momentum, state.prev_grad, strict=True):
            beta = hyper("beta", t, gi)
            if t == 1 and self.init_mode == "gradient":
                Mi = gi
            if self.mars_clip:
                c = gi
                if t > 1:
                    c = gi + (hyper("gamma", t, gi) * beta / (1.0 - beta)) * (gi - hi)
                c = _clip_frobenius(c)
                M = beta * Mi + (1.0 - beta) * c
            else:
                M = Mi + (1.0 - beta) * (gi - Mi)
                if t > 1:
                    M = M + (hyper("gamma", t, gi) * beta) * (gi - hi)
            out_M.append(M)
        M = tuple(out_M)
        return M, M, MVR1State(M, tuple(g))

    def describe(self) -> dict:
        return {**super().describe(), "mars_clip": self.mars_clip}


class MVR2(Estimator):
    """Muon-MVR2 / STORM (S2): M_t = g_t + β_t(M_{t−1} − ∇f(X_{t−1}; ξ_t)), two gradients per step."""

    name = "mvr2"
    needs_same_sample = True
    hyperparameters = ("beta",)

    def __init__(self, mars_clip: bool = False):
        super().__init__("gradient", nesterov=False)
        self.mars_clip = mars_clip

    def init(self, params):
        return MVR2State(_zeros(params), _zeros(params))

    def update(self, state, g, params, gradient, t, hyper):
        if t == 1:
            M = tuple(g)
        else:
            h = tuple(gradient(state.prev_params))  # the same sample ξ_t at X_{t−1}
            out = []
            for gi, Mi, hi in zip(g, state.momentum, h, strict=True):
                beta = hyper("beta", t, gi)
                if self.mars_clip:
                    c = _clip_frobenius(gi + (beta / (1.0 - beta)) * (gi - hi))
                    out.append(beta * Mi + (1.0 - beta) * c)
                else:
                    out.append(_axpy_owned(beta, Mi - hi, gi))  # gi + β(Mi − hi)
            M = tuple(out)
        return M, M, MVR2State(M, tuple(params))

    def describe(self) -> dict:
        return {"estimator": self.name, "momentum_init": "M_1 = g_1", "mars_clip": self.mars_clip}


def hyper_getter(optimizer):
    """``hyper(name, t, like)`` for an estimator: the optimizer's schedule value as a block factor."""

    def hyper(name, t, like):
        return batch_factor(optimizer._value(name, t, like))

    return hyper
