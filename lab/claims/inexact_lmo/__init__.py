r"""Inexact LMO steps (S1): the additive error model, I1, I3, their trends and scaling.

Modules: :mod:`.lemma` (the error model), :mod:`.i1` (deterministic step, I1, trends in δ),
:mod:`.i3` (stochastic Muon-EMA, I3, momentum under the adversarial oracle), :mod:`.scaling`
(the optimal step and momentum against the horizon K); shared set-up in ``_shared``.

S1 experiments: inexact LMO methods with an additive oracle error δ.

Source: Shulgin, AlRashed, Orabona, Richtárik, *Beyond the Ideal: Analyzing the Inexact Muon Update*,
arXiv 2510.19933.  Every bound is a lab derivation (``bounds/s1.py``) evaluated on the problem's
certified constants; the experiments here only measure and pair each measurement with its bound.

Problem.  ``isotropic_quadratic`` f(X) = ½‖X − C‖_F² (L = 1), m×n, in spectral geometry: the LMO is
−polar, the dual norm is the nuclear norm and the certified constant is L_spectral = min(m, n)
(‖·‖_nuc ≤ rank·‖·‖_op).  The start is X⁰ = C + d·Z/‖Z‖_F, so Δ₀ = d²/2 (read back from f(X⁰)).
On this problem I1 is nearly tight: each singular value s of X − C falls by t(1 + δ) per step and
then oscillates in a 2-cycle of mean t/2, so (1/K)Σ‖∇f‖_* ≈ Δ₀/(tK) + Lt/2 − ‖∇f(X⁰)‖_*/(2K) at
δ = 0.  That is why a 20% understatement of L, or a doubled step, makes the measurement exceed it.

Experiments (all sweeps through :func:`lab.sweeps.run_sweep`, one stacked run per chunk):

``s1_lemma``
    Lemma (a)(b)(c) of the additive error model on random inputs G, H (spread spectra), for every
    injected-error kind × δ and for real Newton–Schulz oracles (δ = the a-priori ``ns_delta`` of the
    preset at the inputs' normalised spectral floor, kept when < 1).
``s1_i1``
    Deterministic ``lmo_step`` with an injected-error oracle (kinds × δ × t × seeds, K steps):
    running average and running minimum of ‖∇f(X^k)‖_* at every checkpoint K, paired with the I1
    bound (``bounds.get("S1.I1")``) at the same (t, δ, K) and the run's own Δ₀.
``s1_i1_ns``
    The same with real Newton–Schulz oracles (presets × steps k = 1..6 × t × seeds) and the
    measured δ_op along the trajectory.
``s1_i3``
    Stochastic Muon-EMA (Scion's α-form M ← (1 − α)M + αg, M⁰ = g⁰, no Nesterov, no shape scale)
    with Gaussian noise of exact E‖ξ‖_F² = σ², expand oracle, grid t × α × δ × ≥ 20 seeds:
    (1/K)Σ‖∇f(X^k)‖_* per seed, and the I3 bound at the same point.

Each experiment accepts ``mutation="double_step"`` (the optimizer wrapped by
:func:`lab.claims.mutations.mutate`; a separate cache entry) for the planted-bug checks.

Checks
------
S1 checks: the additive error model, I1 and I3 against measured runs.

Every bound is evaluated by ``bounds.get(id)`` on the problem's certified constants (L_spectral,
ρ, σ) and the run's own Δ₀; see :mod:`lab.claims.inexact_lmo` for the experiments.

Planted bugs (each check must report "violated" under them; ``tests/test_checks_s1.py``):

* ``understate_constant`` — the bound evaluated with 0.8·δ (lemma) or 0.8·L (I1, I3) via
  :func:`lab.claims.mutations.understate`.  It fails because the grids contain the tight cases:
  shrink/expand oracles and the reflected input for the lemma; large t on the isotropic quadratic
  for I1 (the measured average is Lt/2 + O(1/K) there); σ = 0.01, α = 1, large t for I3.
* ``double_step`` — the optimizer's step doubled (:func:`lab.claims.mutations.mutate`), the bound
  evaluated at the nominal step: the measured average doubles in the same tight regimes.
* ``wrong_exponent`` (S1-I1-trend) — the predicted optimal step t*(δ) ∝ (1 + δ)^{+1} instead of
  (1 + δ)^{-1}, compared with the measured optimum (a prediction-side bug).  The variants that only
  flipped a direction predicate on the same data are gone; the direction rows of the expand and
  shrink oracles are rescaling identities (see S1-trend-oracles for the other oracles)."""
