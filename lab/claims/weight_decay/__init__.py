r"""Muon with decoupled weight decay as a spectral-norm constraint (S3) and its constant-step floor (X.WD).

Modules: :mod:`.constraint` (entry into the ball, the constrained optimum), :mod:`.lyapunov`
(Frank–Wolfe gap, Lyapunov function), :mod:`.sharp_lyapunov` (the discrete Lyapunov identity),
:mod:`.floor` (the Θ(η) floor of a constant step); shared set-up in ``_shared``."""
