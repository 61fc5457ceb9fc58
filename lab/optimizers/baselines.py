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

from lab.optimizers.base import Example, check_choice, check_flag
from lab.optimizers.chain import Chain, chain
from lab.optimizers.momentum import AdamMoments, EMAMomentum, SumMomentum
from lab.optimizers.transforms import CoupledWeightDecay, DecoupledWeightDecay, Descent, LearningRate

__all__ = ["sgd", "adam", "adamw"]


def sgd(
    lr,
    beta=0.0,
    *,
    momentum: str = "sum",
    nesterov: bool = False,
    weight_decay=0.0,
    weight_decay_mode: str = "decoupled",
) -> Chain:
    """SGD with heavy-ball ("sum", torch) or EMA momentum; β ∈ [0, 1) is the weight on the old momentum."""
    check_choice("momentum", momentum, ("sum", "ema"))
    check_flag("nesterov", nesterov)
    coupled = check_choice("weight_decay_mode", weight_decay_mode, ("decoupled", "coupled")) == "coupled"
    decay = CoupledWeightDecay(weight_decay) if coupled else DecoupledWeightDecay(weight_decay)
    if momentum == "sum":
        estimator = SumMomentum(beta, "zero", nesterov)
    else:  # torch's SGD looks ahead with g + βM on either buffer
        estimator = EMAMomentum(beta, "zero", nesterov, lookahead="add")
    conventions = dict(
        momentum=momentum, nesterov=nesterov, weight_decay=weight_decay_mode, momentum_init="zero"
    )
    transforms = (decay, estimator) if coupled else (estimator, decay)
    order = ("lr", "beta", "weight_decay")
    return chain(LearningRate(lr), *transforms, Descent(), name="sgd", conventions=conventions, order=order)


def _adam(name: str, lr, beta1, beta2, eps, weight_decay, decoupled: bool) -> Chain:
    conventions = dict(
        bias_correction=True,
        eps="added to sqrt(v_hat)",
        weight_decay="decoupled X(1 - lr*wd)" if decoupled else "coupled g + wd*X",
    )
    moments = AdamMoments(beta1, beta2, eps)
    if decoupled:
        transforms = (moments, DecoupledWeightDecay(weight_decay))
    else:
        transforms = (CoupledWeightDecay(weight_decay), moments)
    order = ("lr", "beta1", "beta2", "eps", "weight_decay")
    return chain(LearningRate(lr), *transforms, Descent(), name=name, conventions=conventions, order=order)


def adam(lr, beta1=0.9, beta2=0.999, *, eps=1e-8, weight_decay=0.0) -> Chain:
    """Adam with bias correction; weight decay coupled to the gradient (torch.optim.Adam)."""
    return _adam("adam", lr, beta1, beta2, eps, weight_decay, decoupled=False)


def adamw(lr, beta1=0.9, beta2=0.999, *, eps=1e-8, weight_decay=0.01) -> Chain:
    """AdamW: Adam with decoupled weight decay X(1 − ηλ) (torch.optim.AdamW)."""
    return _adam("adamw", lr, beta1, beta2, eps, weight_decay, decoupled=True)


#: Conformance configurations (:class:`lab.optimizers.Example`), by registry name.
EXAMPLES = {
    "sgd": (
        Example("heavy_ball", lambda v: sgd(v, 0.9), (0.02, 0.05, 0.1), 0.05),
        Example(
            "nesterov_ema",
            lambda v: sgd(0.1, v, momentum="ema", nesterov=True, weight_decay=0.01),
            (0.0, 0.5, 0.9),
            0.5,
        ),
    ),
    "adam": (Example("lr", lambda v: adam(v), (0.01, 0.05, 0.1), 0.05),),
    "adamw": (Example("lr", lambda v: adamw(v, weight_decay=0.01), (0.01, 0.05, 0.1), 0.05),),
}
