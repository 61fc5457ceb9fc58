"""Parity of :class:`lab.torch.InexactMuon` with the real ``torch.optim.Muon``.

``torch.optim.Muon`` casts the Newton–Schulz input to bfloat16 (``grad.bfloat16()``), so no float64
comparison is possible as shipped.  :func:`float64_muon_newton_schulz` is torch's own function with that
cast replaced by a copy (``grad.clone()``) — a copy, not the identity: without nesterov the input is the
momentum buffer itself, and torch's in-place ``div_`` would then rescale the buffer.  Everything else is
torch's code, read from the installed torch.
"""

from __future__ import annotations

import inspect
import textwrap
from contextlib import contextmanager

import numpy as np
import torch
import torch.optim._muon as _torch_muon

from lab.torch.optim import InexactMuon

__all__ = ["PARITY_CONFIGS", "float64_muon_newton_schulz", "full_precision_torch_muon", "parity_run"]

#: (nesterov, weight_decay, adjust_lr_fn) grid of the parity test and figure.
PARITY_CONFIGS = tuple(
    {"nesterov": n, "weight_decay": wd, "adjust_lr_fn": adj}
    for n in (True, False)
    for wd in (0.0, 0.1)
    for adj in ("original", "match_rms_adamw")
)

TORCH_ORACLE = "ns:jordan:5:normalization=frobenius_max"
"""torch.optim.Muon's iteration as a lab oracle spec (its eps 1e-7 is the lab's default)."""


def _patched_source() -> str:
    src = textwrap.dedent(inspect.getsource(_torch_muon._zeropower_via_newtonschulz))
    if src.count("grad.bfloat16()") != 1:
        raise RuntimeError("torch.optim._muon changed: the bfloat16 cast to neutralise was not found")
    return src.replace("grad.bfloat16()", "grad.clone()")


def float64_muon_newton_schulz():
    """torch's ``_zeropower_via_newtonschulz`` with the bfloat16 cast replaced by a copy."""
    namespace = dict(vars(_torch_muon))
    exec(compile(_patched_source(), _torch_muon.__file__, "exec"), namespace)  # noqa: S102 - torch's own code
    return namespace["_zeropower_via_newtonschulz"]


@contextmanager
def full_precision_torch_muon():
    """Within the block, ``torch.optim.Muon`` runs its Newton–Schulz in the input's dtype."""
    original = _torch_muon._zeropower_via_newtonschulz
    _torch_muon._zeropower_via_newtonschulz = float64_muon_newton_schulz()
    try:
        yield
    finally:
        _torch_muon._zeropower_via_newtonschulz = original


def _loss(params, batch):
    """A two-layer regression with tanh: its gradients change direction along the run."""
    X, Y = batch
    W1, W2 = params
    return ((torch.tanh(X @ W1) @ W2 - Y) ** 2).mean()


def parity_run(
    nesterov: bool,
    weight_decay: float,
    adjust_lr_fn: str,
    *,
    steps: int = 50,
    lr: float = 0.02,
    momentum: float = 0.9,
    seed: int = 0,
    oracle: str = TORCH_ORACLE,
) -> np.ndarray:
    """Max over parameters of ‖X_lab − X_torch‖_F/‖X_torch‖_F after each of ``steps`` steps (float64).

    Both optimizers see the same data (a fresh batch every step) and start from the same parameters:
    a tall 12×7 and a wide 7×3 matrix, so both orientations of the iteration are exercised.
    """
    gen = torch.Generator().manual_seed(seed)
    init = [
        torch.randn(12, 7, generator=gen, dtype=torch.float64),
        torch.randn(7, 3, generator=gen, dtype=torch.float64),
    ]
    batches = [
        (
            torch.randn(32, 12, generator=gen, dtype=torch.float64),
            torch.randn(32, 3, generator=gen, dtype=torch.float64),
        )
        for _ in range(steps)
    ]
    ours = [torch.nn.Parameter(w.clone()) for w in init]
    ref = [torch.nn.Parameter(w.clone()) for w in init]
    opt_ours = InexactMuon(
        ours,
        lr=lr,
        momentum=momentum,
        nesterov=nesterov,
        weight_decay=weight_decay,
        oracle=oracle,
        lr_adjust=adjust_lr_fn,
    )
    opt_ref = torch.optim.Muon(
        ref, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, adjust_lr_fn=adjust_lr_fn
    )
    out = np.empty(steps)
    with full_precision_torch_muon():
        for t, batch in enumerate(batches):
            for params, opt in ((ours, opt_ours), (ref, opt_ref)):
                opt.zero_grad()
                _loss(params, batch).backward()
                opt.step()
            out[t] = max(
                float(
                    torch.linalg.matrix_norm(a.detach() - b.detach()) / torch.linalg.matrix_norm(b.detach())
                )
                for a, b in zip(ours, ref, strict=True)
            )
    return out
