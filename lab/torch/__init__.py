"""PyTorch adapter: the lab's oracles inside a ``torch.optim`` training loop (optional extra ``[torch]``).

* :class:`InexactMuon` — Muon with any lab oracle (Newton–Schulz presets and schedules, Polar Express,
  the exact polar factor, injected δ of every kind), ``torch.optim.Muon``'s conventions by default;
* :class:`MuonMVR1`, :class:`MuonMVR2` — S2's variance-reduced estimators (MVR2 takes a closure that
  re-evaluates the step's own sample at the previous iterate);
* :class:`TorchRNG` — the counter-based generator of :mod:`lab.random` with draws delivered as torch
  tensors (the uint64 mixing runs on the host, where shifts of unsigned 64-bit integers exist);
* per-layer diagnostics every ``diagnostics_every`` steps (``optimizer.diagnostics``).

Importing this package imports torch.
"""

from lab.torch.optim import LR_ADJUSTMENTS, InexactMuon, MuonMVR1, MuonMVR2, layer_diagnostics
from lab.torch.rng import TorchRNG

__all__ = ["InexactMuon", "MuonMVR1", "MuonMVR2", "TorchRNG", "layer_diagnostics", "LR_ADJUSTMENTS"]
