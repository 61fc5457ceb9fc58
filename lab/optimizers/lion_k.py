"""Lion-K with spectral K (S3: Chen, Li, Liu, "Muon Optimizes Under Spectral Norm Constraints", 2506.15054).

Lion-K (Chen, Liu et al.), with β_p the momentum decay and β_n the Nesterov mix:

    M_{t+1} = β_p M_t − (1 − β_p) ∇F(X_t)
    M̃      = β_n M_{t+1} − (1 − β_n) ∇F(X_t)
    X_{t+1} = X_t + η (∇K(M̃) − λ X_t)            computed as X_t(1 − ηλ) + η·∇K(M̃)

M is kept in Lion's sign convention (M = −(EMA of gradients)).  Spectral K(M) = Σ_i g(σ_i(M)) give
∇K(M) = U h(Σ) Vᵀ; the implied problem is min F(X) + Σ_i g*(λσ_i(X)):

=============  ====================  ===============================  =================================
K              K(M)                  ∇K(M)                            implied constraint / penalty
=============  ====================  ===============================  =================================
nuclear        s‖M‖_*                s·polar(M) = s·oracle(−M)         ‖X‖_op ≤ s/λ
frobenius      (s/2)‖M‖_F²           s·M                              L2 penalty (momentum SGD)
schatten_p     s‖M‖_{S_p}, 1<p<∞     s·U diag(σ^{p−1}/‖σ‖_p^{p−1}) Vᵀ  ‖X‖_{S_q} ≤ s/λ, 1/p + 1/q = 1
ky_fan_k       s·Σ_{i≤k} σ_i         s·U_k V_kᵀ                        ‖X‖_op ≤ s/λ and ‖X‖_* ≤ ks/λ
soft           s·Σ_i √(σ_i² + ε²)    s·U diag(σ/√(σ²+ε²)) Vᵀ           spectral ball plus a barrier
=============  ====================  ===============================  =================================

With K = nuclear and β_p = β_n = β this is exactly Muon with Nesterov (EMA), shape scale s and
decoupled weight decay λ; the nuclear gradient goes through the injected oracle (exact polar or
Newton–Schulz), the other K through one SVD per step (no oracle).  Guarantees (lab derivations
consistent with S3): L1 (entering the ball ‖X‖_op ≤ s/λ at rate (1 − ηλ)^t when ‖∇K‖_op ≤ s), the
stationarity measure S(X) = ‖∇F‖_* + (λ/s)⟨∇F, X⟩, the discrete Lyapunov check and L3 (Frank–Wolfe
form X_{t+1} = (1 − ηλ)X_t + ηλ·(−(s/λ)polar(·))).
"""

from __future__ import annotations

from lab.backend import namespace
from lab.optimizers.base import Example, check_choice, hyper, resolve_oracles
from lab.optimizers.chain import Chain, chain
from lab.optimizers.momentum import MomentumState
from lab.optimizers.transforms import (
    BETA_RANGE,
    DecoupledWeightDecay,
    LearningRate,
    Transform,
    zeros_like_params,
)
from lab.schedules import batch_factor

__all__ = ["lion_k", "LionMomentum", "SpectralGradient", "K_FUNCTIONS"]

K_FUNCTIONS = ("nuclear", "frobenius", "schatten_p", "ky_fan_k", "soft")


def _spectral_map(M, h):
    """U h(Σ) Vᵀ for the thin SVD M = UΣVᵀ, batched."""
    xp = namespace(M)
    U, S, Vh = xp.linalg.svd(M, full_matrices=False)
    return (U * h(S)[..., None, :]) @ Vh


class LionMomentum(Transform):
    """M_{t+1} = β_p M_t − (1 − β_p) g and the look-ahead M̃ = β_n M_{t+1} − (1 − β_n) g (Lion's sign)."""

    def __init__(self, beta, beta_n):
        self.beta = hyper("beta", beta, **BETA_RANGE)
        self.beta_n = hyper("beta_n", beta if beta_n is None else beta_n, **BETA_RANGE)

    def hyperparameters(self):
        return {"beta": self.beta, "beta_n": self.beta_n}

    def conventions(self):
        return {"momentum": "M_{t+1} = beta M_t - (1-beta) g; M~ = beta_n M_{t+1} - (1-beta_n) g (Lion sign)"}

    def init(self, params):
        return MomentumState(zeros_like_params(params))

    def update(self, step, state):
        beta = self.beta.at(step.t, step.like)
        bp, bn = batch_factor(beta), batch_factor(self.beta_n.at(step.t, step.like))
        new_M, look, est = [], [], []
        for gi, Mi in zip(step.updates, state.momentum, strict=True):
            M = bp * Mi - (1.0 - bp) * gi
            Mt = bn * M - (1.0 - bn) * gi
            new_M.append(M)
            look.append(Mt)
            est.append(-M)
        step = step._replace(updates=tuple(look), estimate=tuple(est), beta=beta)
        return step, MomentumState(tuple(new_M))


class SpectralGradient(Transform):
    """D = ∇K(M̃) for a spectral K (module table); step size η_t·s.  Nuclear K goes through the oracle."""

    def __init__(self, K, scale, oracle, p, k, eps):
        self.K = check_choice("K", K, K_FUNCTIONS)
        self.scale = hyper("scale", scale, low=0.0, low_open=True)
        self.p, self.k, self.eps = p, k, eps
        if K == "schatten_p":
            if p is None or not (1.0 < float(p) < float("inf")):
                raise ValueError(f"p must be a number in (1, inf) for K='schatten_p', got {p!r}")
            self.p = float(p)
        if K == "ky_fan_k":
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ValueError(f"k must be an integer >= 1 for K='ky_fan_k', got {k!r}")
        if K == "soft":
            if eps is None or not (float(eps) > 0):
                raise ValueError(f"eps must be a number > 0 for K='soft', got {eps!r}")
            self.eps = float(eps)
        self.oracles = resolve_oracles(oracle) if K == "nuclear" else None

    def hyperparameters(self):
        return {"scale": self.scale}

    def conventions(self):
        return {"K": self.K, "p": self.p, "k": self.k, "eps": self.eps}

    def check_blocks(self, block_shapes) -> None:
        if self.oracles is not None and len(self.oracles) != 1:
            raise ValueError("oracle: lion_k takes one oracle for all blocks")
        if self.K == "ky_fan_k":
            for shape in block_shapes:
                if self.k > min(shape):
                    raise ValueError(
                        f"k must be <= min(m, n) = {min(shape)} for block {tuple(shape)}, got {self.k}"
                    )

    def block_oracles(self, num_blocks: int):
        return None if self.oracles is None else self.oracles * num_blocks

    def _grad_K(self, Mt, rng, i):
        """∇K(M̃) without the scale s; for nuclear also the oracle's input −M̃."""
        xp = namespace(Mt)
        if self.K == "nuclear":
            inp = -Mt
            return self.oracles[0](inp, rng=None if rng is None else rng.fold("oracle", i)), inp
        if self.K == "frobenius":
            return Mt, None
        if self.K == "schatten_p":
            p = self.p

            def h(S):
                top = xp.max(S, axis=-1, keepdims=True)
                top = xp.where(top > 0, top, xp.ones_like(top))
                r = S / top  # scale-free: σ^{p−1}/‖σ‖_p^{p−1} is homogeneous of degree 0
                norm_p = xp.sum(r**p, axis=-1, keepdims=True) ** (1.0 / p)
                return r ** (p - 1.0) / norm_p ** (p - 1.0)

            return _spectral_map(Mt, h), None
        if self.K == "ky_fan_k":
            k = self.k

            def h(S):
                keep = xp.arange(S.shape[-1]) < k
                return xp.where(keep & (S > 0), xp.ones_like(S), xp.zeros_like(S))

            return _spectral_map(Mt, h), None
        eps = self.eps
        return _spectral_map(Mt, lambda S: S / xp.sqrt(S * S + eps * eps)), None

    def update(self, step, state):
        D, inputs = [], []
        for i, Mt in enumerate(step.updates):
            Di, inp = self._grad_K(Mt, step.rng, i)
            D.append(Di)
            inputs.append(inp)
        size = step.lr * self.scale.at(step.t, step.like)
        D = tuple(D)
        step = step._replace(
            updates=D,
            direction=D,
            oracle_input=tuple(inputs) if self.K == "nuclear" else None,
            step_sizes=(size,) * len(D),
        )
        return step, state


def lion_k(
    lr,
    beta=0.95,
    *,
    beta_n=None,
    weight_decay=0.0,
    K: str = "nuclear",
    scale=1.0,
    oracle="exact",
    p=None,
    k=None,
    eps=None,
) -> Chain:
    """Lion-K with spectral K (module docstring).

    Parameters
    ----------
    lr : η > 0.  beta : β_p ∈ [0, 1) (momentum decay).  beta_n : β_n ∈ [0, 1), Nesterov mix (default β_p:
        then K = nuclear is Muon with Nesterov).
    weight_decay : λ ≥ 0.  scale : s > 0 (K = s·K₁; the constraint radius is s/λ).
    K : "nuclear" (default, through ``oracle``), "frobenius", "schatten_p" (needs p in (1, ∞)),
        "ky_fan_k" (needs integer k ≥ 1), "soft" (needs eps > 0).
    oracle : used for K = nuclear only: ∇K(M̃) = polar(M̃) = oracle(−M̃) for an odd oracle.
    """
    check_choice("K", K, K_FUNCTIONS)
    transforms = (
        LearningRate(lr),
        LionMomentum(beta, beta_n),
        DecoupledWeightDecay(weight_decay, "decoupled: X(1 - lr*weight_decay) + lr*scale*gradK(M~)"),
        SpectralGradient(K, scale, oracle, p, k, eps),
    )
    # Lion-K's record names K first (its defining choice), then the momentum and the decay.
    lr_t, momentum, decay, grad_k = transforms
    conventions = {**grad_k.conventions(), **momentum.conventions(), **decay.conventions()}
    return chain(*transforms, name="lion_k", conventions=conventions)


#: Conformance configurations (:class:`lab.optimizers.Example`).
EXAMPLES = (
    Example("nuclear", lambda v: lion_k(0.05, 0.9, weight_decay=v), (0.0, 0.05, 0.1), 0.05),
    Example("frobenius", lambda v: lion_k(v, 0.9, K="frobenius"), (0.05, 0.1, 0.2), 0.1),
    Example("schatten", lambda v: lion_k(v, 0.9, K="schatten_p", p=3.0), (0.02, 0.05, 0.1), 0.05),
    Example("kyfan", lambda v: lion_k(v, 0.9, K="ky_fan_k", k=2), (0.02, 0.05, 0.1), 0.05),
    Example("soft", lambda v: lion_k(v, 0.9, K="soft", eps=0.1), (0.02, 0.05, 0.1), 0.05),
)
