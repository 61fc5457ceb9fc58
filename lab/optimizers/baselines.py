"""Baselines: SGD with momentum, Adam and AdamW (torch.optim conventions), batched.

* ``sgd``:   M ← βM + g (heavy ball, torch SGD without dampening) or M ← M + (1−β)(g − M) ("ema");
             direction g + βM with Nesterov; X ← X(1 − ηλ) − η·direction (decoupled decay; torch's SGD
             adds λX to g instead — ``weight_decay_mode="coupled"``).
* ``adam``:  m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ),
             X ← X − η m̂/(√v̂ + ε); weight decay coupled (g ← g + λX), as torch.optim.Adam.
* ``adamw``: as adam with decoupled decay X ← X(1 − ηλ) first (torch.optim.AdamW).

Reference: Kingma & Ba, arXiv 1412.6980; Loshchilov & Hutter, arXiv 1711.05101.
"""

from __future__ import annotations

from typing import NamedTuple

from lab.backend import namespace
from lab.optimizers.base import Optimizer, StepInfo, check_choice, check_flag, check_params
from lab.optimizers.muon import BETA_RANGE
from lab.schedules import batch_factor

__all__ = ["sgd", "adam", "adamw", "SGD", "Adam", "SGDState", "AdamState"]


class SGDState(NamedTuple):
    count: int
    momentum: tuple


class AdamState(NamedTuple):
    count: int
    mu: tuple  # first moment m
    nu: tuple  # second moment v


class SGD(Optimizer):
    name = "sgd"

    def __init__(self, lr, beta, momentum, nesterov, weight_decay, weight_decay_mode):
        super().__init__()
        self._hyper("lr", lr, low=0.0, low_open=True)
        self._hyper("beta", beta, **BETA_RANGE)
        self._hyper("weight_decay", weight_decay, low=0.0)
        self.momentum = check_choice("momentum", momentum, ("sum", "ema"))
        self.nesterov = check_flag("nesterov", nesterov)
        self.wd_mode = check_choice("weight_decay_mode", weight_decay_mode, ("decoupled", "coupled"))
        self._conventions.update(
            momentum=momentum, nesterov=nesterov, weight_decay=weight_decay_mode, momentum_init="zero"
        )

    def init(self, params):
        params = check_params(params)
        return SGDState(0, tuple(namespace(x).zeros_like(x) for x in params))

    def update(self, state, params, gradient, rng=None):
        t = state.count + 1
        like = params[0]
        g = tuple(gradient(params))
        lr = self._value("lr", t, like)
        beta = self._value("beta", t, like)
        decay = not self._is_zero("weight_decay")
        wd = self._value("weight_decay", t, like) if decay else 0.0
        b, eta = batch_factor(beta), batch_factor(lr)
        new_X, new_M, est, dirs = [], [], [], []
        for X, gi, Mi in zip(params, g, state.momentum, strict=True):
            gd = gi + batch_factor(wd) * X if decay and self.wd_mode == "coupled" else gi
            if self.momentum == "sum":
                M = b * Mi + gd
                est.append((1.0 - b) * M)
            else:
                M = Mi + (1.0 - b) * (gd - Mi)
                est.append(M)
            d = gd + b * M if self.nesterov else M
            Xd = X * (1.0 - batch_factor(lr * wd)) if decay and self.wd_mode == "decoupled" else X
            new_X.append(Xd - eta * d)
            new_M.append(M)
            dirs.append(-d)
        info = StepInfo(lr, (lr,) * len(params), g, tuple(est), None, tuple(dirs), wd, beta)
        return tuple(new_X), SGDState(t, tuple(new_M)), info


class Adam(Optimizer):
    def __init__(self, name, lr, beta1, beta2, eps, weight_decay, decoupled):
        super().__init__()
        self.name = name
        self._hyper("lr", lr, low=0.0, low_open=True)
        self._hyper("beta1", beta1, **BETA_RANGE)
        self._hyper("beta2", beta2, **BETA_RANGE)
        self._hyper("eps", eps, low=0.0, low_open=True)
        self._hyper("weight_decay", weight_decay, low=0.0)
        self.decoupled = decoupled
        self._conventions.update(
            bias_correction=True,
            eps="added to sqrt(v_hat)",
            weight_decay="decoupled X(1 - lr*wd)" if decoupled else "coupled g + wd*X",
        )

    def init(self, params):
        params = check_params(params)
        zeros = tuple(namespace(x).zeros_like(x) for x in params)
        return AdamState(0, zeros, zeros)

    def update(self, state, params, gradient, rng=None):
        t = state.count + 1
        like = params[0]
        xp = namespace(like)
        g = tuple(gradient(params))
        lr = self._value("lr", t, like)
        b1 = self._value("beta1", t, like)
        b2 = self._value("beta2", t, like)
        eps = batch_factor(self._value("eps", t, like))
        decay = not self._is_zero("weight_decay")
        wd = self._value("weight_decay", t, like) if decay else 0.0
        # bias corrections 1 − β^t (exact for constant β; for scheduled β the product form is not used)
        c1 = batch_factor(1.0 - b1**t)
        c2 = batch_factor(1.0 - b2**t)
        B1, B2, eta = batch_factor(b1), batch_factor(b2), batch_factor(lr)
        new_X, new_m, new_v, est, dirs = [], [], [], [], []
        for X, gi, mi, vi in zip(params, g, state.mu, state.nu, strict=True):
            gd = gi + batch_factor(wd) * X if decay and not self.decoupled else gi
            m = B1 * mi + (1.0 - B1) * gd
            v = B2 * vi + (1.0 - B2) * (gd * gd)
            d = (m / c1) / (xp.sqrt(v / c2) + eps)
            Xd = X * (1.0 - batch_factor(lr * wd)) if decay and self.decoupled else X
            new_X.append(Xd - eta * d)
            new_m.append(m)
            new_v.append(v)
            est.append(m / c1)
            dirs.append(-d)
        info = StepInfo(lr, (lr,) * len(params), g, tuple(est), None, tuple(dirs), wd, b1)
        return tuple(new_X), AdamState(t, tuple(new_m), tuple(new_v)), info


def sgd(
    lr,
    beta=0.0,
    *,
    momentum: str = "sum",
    nesterov: bool = False,
    weight_decay=0.0,
    weight_decay_mode: str = "decoupled",
) -> SGD:
    """SGD with heavy-ball ("sum", torch) or EMA momentum; β ∈ [0, 1) is the weight on the old momentum."""
    return SGD(lr, beta, momentum, nesterov, weight_decay, weight_decay_mode)


def adam(lr, beta1=0.9, beta2=0.999, *, eps=1e-8, weight_decay=0.0) -> Adam:
    """Adam with bias correction; weight decay coupled to the gradient (torch.optim.Adam)."""
    return Adam("adam", lr, beta1, beta2, eps, weight_decay, decoupled=False)


def adamw(lr, beta1=0.9, beta2=0.999, *, eps=1e-8, weight_decay=0.01) -> Adam:
    """AdamW: Adam with decoupled weight decay X(1 − ηλ) (torch.optim.AdamW)."""
    return Adam("adamw", lr, beta1, beta2, eps, weight_decay, decoupled=True)
