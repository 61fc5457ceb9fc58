r"""Spectral flattening (S4): Muon's stable step follows the mean singular value, GD's the largest.

Modules: :mod:`.thresholds` (one-step thresholds, GD divergence, the η² floor) and :mod:`.models`
(the spectral-smoothness descent model, the Kronecker convergence factor)."""
