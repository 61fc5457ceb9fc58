"""Gradient estimators: momentum, variance reduction and Adam's moments, as chain transforms.

Each turns ``updates`` (the gradient g_t) into the oracle's input and records the estimate M_t and
β_t for :class:`lab.optimizers.StepInfo`.  Conventions: β is the weight on the *old* estimate
(Muon's 0.95), α = 1 − β the weight on the fresh gradient (Scion's "momentum").

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
"""

from __future__ import annotations

from typing import NamedTuple

from array_api_compat import is_writeable_array

from lab.backend import namespace
from lab.norms import frobenius_norm
from lab.optimizers.base import check_choice, check_flag, hyper
from lab.optimizers.transforms import ALPHA_RANGE, BETA_RANGE, Transform, zeros_like_params
from lab.schedules import batch_factor

__all__ = [
    "ESTIMATORS",
    "MOMENTUM_INITS",
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
    "AdamMoments",
]

ESTIMATORS = ("none", "ema", "sum", "alpha", "mvr1", "mvr2")
MOMENTUM_INITS = ("zero", "gradient")


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
