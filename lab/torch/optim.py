"""``torch.optim`` optimizers built on the lab's LMO oracles.

Update (every 2-D parameter X with gradient g_t, estimator M_t of the subclass):

    D_t = oracle(M̃_t) ≈ lmo(M̃_t) = −polar(M̃_t)           (the lab's sign: a descent direction)
    X ← (1 − η λ) X                                        (decoupled weight decay, unadjusted η)
    X ← X + η · s(shape) · D_t                             (s: the learning-rate adjustment)

Conventions, all explicit and recorded in ``optimizer.conventions``:

* momentum (``InexactMuon``): ``torch.optim.Muon``'s exponential average B_t = μB_{t−1} + (1 − μ)g_t
  (``buf.lerp_(g, 1 − μ)``); with ``nesterov=True`` the oracle sees M̃_t = (1 − μ)g_t + μB_t
  (``g.lerp(B, μ)``), otherwise M̃_t = B_t;
* ``lr_adjust``: "original" s = √max(1, A/B) (K. Jordan; torch's default), "match_rms_adamw"
  s = 0.2·√max(A, B) (Moonshot), "none" s = 1 (the theory's step), for a parameter of shape (A, B);
* weight decay multiplies by 1 − ηλ with the unadjusted η (torch);
* the oracle: a lab oracle or spec (:func:`lab.oracles.make_oracle`); ``torch.optim.Muon``'s own
  iteration is ``"ns:jordan:5:normalization=frobenius_max"`` (X₀ = G/max(‖G‖_F, 1e-7)), computed in
  the parameter's dtype (torch casts to bfloat16; this adapter does not).

Diagnostics: every ``diagnostics_every`` steps (0: never) each parameter gets one record in
``optimizer.diagnostics`` — step, layer, ``delta_op`` = ‖D + polar(M̃)‖_op (the oracle's error
against the exact polar factor), ``alignment`` = ⟨M̃, −D⟩/‖M̃‖_*, ``overshoot`` = ‖D‖_op, and
``sigma_min``/``sigma_max``, the extreme singular values of the normalised input M̃/‖M̃‖_F (the
interval [ℓ, 1] of :func:`lab.orthogonalization.ns_delta` that the oracle actually saw).
"""

from __future__ import annotations

import math

import torch

from lab.oracles import Oracle, make_oracle
from lab.torch.rng import TorchRNG

__all__ = ["LR_ADJUSTMENTS", "InexactMuon", "MuonMVR1", "MuonMVR2", "layer_diagnostics", "lr_scale"]

#: Learning-rate adjustments by parameter shape (see the module docstring).
LR_ADJUSTMENTS = ("original", "match_rms_adamw", "none")


def lr_scale(kind: str, shape) -> float:
    """The factor s(shape) of the learning-rate adjustment ``kind`` for a parameter of shape (A, B)."""
    A, B = int(shape[0]), int(shape[1])
    if kind == "original":
        return math.sqrt(max(1.0, A / B))
    if kind == "match_rms_adamw":
        return 0.2 * math.sqrt(max(A, B))
    if kind == "none":
        return 1.0
    raise ValueError(f"lr_adjust must be one of {LR_ADJUSTMENTS}, got {kind!r}")


@torch.no_grad()
def layer_diagnostics(oracle: Oracle, M: torch.Tensor, D: torch.Tensor) -> dict:
    """Inexactness of one oracle call D = oracle(M), as plain floats (see the module docstring)."""
    M64, D64 = M.detach().to(torch.float64), D.detach().to(torch.float64)
    d = oracle.diagnostics(M64, D64)
    fro = torch.linalg.matrix_norm(M64)
    s = torch.linalg.svdvals(M64 / fro) if fro > 0 else torch.zeros(min(M64.shape), dtype=torch.float64)
    return {
        "delta_op": float(d["delta"]),
        "alignment": float(d["alignment"]),
        "overshoot": float(d["overshoot"]),
        "sigma_min": float(s[-1]),
        "sigma_max": float(s[0]),
    }


class _LMOTorch(torch.optim.Optimizer):
    """Shared machinery: oracle, learning-rate adjustment, weight decay, RNG and diagnostics."""

    method = "lmo"

    def __init__(
        self,
        params,
        defaults: dict,
        *,
        oracle,
        lr_adjust: str,
        seed: int,
        diagnostics_every: int,
    ):
        if lr_adjust not in LR_ADJUSTMENTS:
            raise ValueError(f"lr_adjust must be one of {LR_ADJUSTMENTS}, got {lr_adjust!r}")
        if not (isinstance(diagnostics_every, int) and diagnostics_every >= 0):
            raise ValueError(f"diagnostics_every must be an integer >= 0, got {diagnostics_every!r}")
        if not defaults["lr"] >= 0:
            raise ValueError(f"lr must be >= 0, got {defaults['lr']!r}")
        if not defaults["weight_decay"] >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {defaults['weight_decay']!r}")
        super().__init__(params, {**defaults, "lr_adjust": lr_adjust})
        self.oracle = make_oracle(oracle)
        self.seed = int(seed)
        self.diagnostics_every = diagnostics_every
        self.diagnostics: list[dict] = []
        self.steps = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"{type(self).__name__} takes 2-D parameters only, got shape {tuple(p.shape)}"
                    )
        self.conventions = {
            "method": self.method,
            "oracle": self.oracle.describe(),
            "lr_adjust": lr_adjust,
            "weight_decay": "decoupled, X <- (1 - lr*wd) X with the unadjusted lr",
            "sign": "X <- X + lr*s(shape)*oracle(M) (oracle ~ -polar)",
        }

    def _layers(self):
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                yield i, group, p
                i += 1

    def _apply(self, i, group, p, M):
        """D = oracle(M), the decay and the step; records diagnostics when due."""
        rng = None
        if self.oracle.needs_rng:
            rng = TorchRNG.from_seeds(self.seed, "lab.torch", i, device=str(M.device)).at(self.steps)
        D = self.oracle(M, rng=rng)
        if self.diagnostics_every and self.steps % self.diagnostics_every == 0:
            self.diagnostics.append({"step": self.steps, "layer": i, **layer_diagnostics(self.oracle, M, D)})
        lr = group["lr"]
        if group["weight_decay"]:
            p.mul_(1 - lr * group["weight_decay"])
        p.add_(D, alpha=lr * lr_scale(group["lr_adjust"], p.shape))

    def _gradients(self, closure):
        """The loss (or None) and this step's gradient of every layer that has one, by layer index."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        return loss, {i: p.grad for i, _, p in self._layers() if p.grad is not None}

    def _estimate(self, i, group, p, g):  # pragma: no cover - abstract
        """The oracle's input M̃ for layer i from its gradient g (updating the layer's state)."""
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        loss, grads = self._gradients(closure)
        self.steps += 1
        for i, group, p in self._layers():
            if i in grads:
                self._apply(i, group, p, self._estimate(i, group, p, grads[i]))
        return loss


class InexactMuon(_LMOTorch):
    """Muon with a lab oracle, ``torch.optim.Muon``'s momentum conventions (module docstring).

    Parameters
    ----------
    params : iterable of 2-D tensors or parameter groups.
    lr : η ≥ 0.  momentum : μ ∈ [0, 1).  nesterov : bool.  weight_decay : λ ≥ 0.
    oracle : lab oracle or spec (default ``"ns:jordan:5:normalization=frobenius_max"``, torch's).
    lr_adjust : "original" (default, torch's) | "match_rms_adamw" | "none".
    seed : seeds the ``random`` injected-error kind (one stream per layer and step).
    diagnostics_every : record per-layer diagnostics every k steps (0: never).
    """

    method = "muon"

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.95,
        nesterov: bool = True,
        weight_decay: float = 0.0,
        *,
        oracle="ns:jordan:5:normalization=frobenius_max",
        lr_adjust: str = "original",
        seed: int = 0,
        diagnostics_every: int = 0,
    ):
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        super().__init__(
            params,
            {"lr": lr, "momentum": momentum, "nesterov": bool(nesterov), "weight_decay": weight_decay},
            oracle=oracle,
            lr_adjust=lr_adjust,
            seed=seed,
            diagnostics_every=diagnostics_every,
        )
        self.conventions["momentum"] = "B = mu B + (1 - mu) g (torch's lerp); nesterov: (1 - mu) g + mu B"

    def _estimate(self, i, group, p, g):
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(g)
        buf = state["momentum_buffer"]
        mu = group["momentum"]
        buf.lerp_(g, 1 - mu)
        return g.lerp(buf, mu) if group["nesterov"] else buf


class MuonMVR1(_LMOTorch):
    """S2's Muon-MVR1: M_t = βM_{t−1} + (1 − β)g_t + γβ(g_t − g_{t−1}) (correction from t = 2), M_0 = 0.

    γ = 0 is Muon with an exponential average and no Nesterov.  Other parameters as :class:`InexactMuon`
    (default ``lr_adjust="none"``, the theory's step).
    """

    method = "muon_mvr1"

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        beta: float = 0.9,
        gamma: float = 0.025,
        weight_decay: float = 0.0,
        *,
        oracle="exact",
        lr_adjust: str = "none",
        seed: int = 0,
        diagnostics_every: int = 0,
    ):
        if not 0 <= beta < 1:
            raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma!r}")
        super().__init__(
            params,
            {"lr": lr, "beta": beta, "gamma": gamma, "weight_decay": weight_decay},
            oracle=oracle,
            lr_adjust=lr_adjust,
            seed=seed,
            diagnostics_every=diagnostics_every,
        )
        self.conventions["momentum"] = "M = beta M + (1 - beta) g + gamma beta (g - g_prev), M_0 = 0"

    def _estimate(self, i, group, p, g):
        state = self.state[p]
        beta, gamma = group["beta"], group["gamma"]
        if "M" not in state:
            state["M"] = (1 - beta) * g
        else:
            state["M"].mul_(beta).add_(g, alpha=1 - beta).add_(g - state["g_prev"], alpha=gamma * beta)
        state["g_prev"] = g.clone()
        return state["M"]


class MuonMVR2(_LMOTorch):
    """S2's Muon-MVR2 (STORM): M_t = g_t + β(M_{t−1} − ∇f(X_{t−1}; ξ_t)), M_1 = g_1.

    ``step(closure)`` needs the closure: it must zero the gradients, evaluate the loss on the step's
    sample ξ_t at the current parameters, call ``backward`` and return the loss — and evaluate the
    *same* sample when called again (the optimizer calls it a second time with the parameters set to
    X_{t−1}, then restores X_t).  Other parameters as :class:`MuonMVR1`.
    """

    method = "muon_mvr2"

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        beta: float = 0.9,
        weight_decay: float = 0.0,
        *,
        oracle="exact",
        lr_adjust: str = "none",
        seed: int = 0,
        diagnostics_every: int = 0,
    ):
        if not 0 <= beta < 1:
            raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
        super().__init__(
            params,
            {"lr": lr, "beta": beta, "weight_decay": weight_decay},
            oracle=oracle,
            lr_adjust=lr_adjust,
            seed=seed,
            diagnostics_every=diagnostics_every,
        )
        self.conventions["momentum"] = "M = g + beta (M - grad f(X_prev; same sample)), M_1 = g_1"
        self._prev_grads: dict = {}

    def _gradients(self, closure):
        """g_t, and ∇f(X_{t−1}; ξ_t) from a second closure call at the stored X_{t−1} (then X_t back)."""
        if closure is None:
            raise ValueError("MuonMVR2.step needs a closure (it evaluates the step's sample twice)")
        with torch.enable_grad():
            loss = closure()
        layers = [(i, group, p) for i, group, p in self._layers() if p.grad is not None]
        grads = {i: p.grad.clone() for i, _, p in layers}
        self._prev_grads = {}
        if self.steps > 0:
            current = {i: p.detach().clone() for i, _, p in layers}
            for _, _, p in layers:
                p.copy_(self.state[p]["X_prev"])
            with torch.enable_grad():
                closure()
            self._prev_grads = {i: p.grad.clone() for i, _, p in layers}
            for i, _, p in layers:
                p.copy_(current[i])
        return loss, grads

    def _estimate(self, i, group, p, g):
        state = self.state[p]
        if "M" not in state:
            state["M"] = g.clone()
        else:
            state["M"].sub_(self._prev_grads[i]).mul_(group["beta"]).add_(g)
        state["X_prev"] = p.detach().clone()
        p.grad.copy_(g)
        return state["M"]
