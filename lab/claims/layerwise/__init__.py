r"""Layer-wise claims (S1 with Gluon's layer-wise (L0, L1)-smoothness).

Modules: :mod:`.gluon_step` (I2), :mod:`.l0l1` (trajectory estimates of (L0, L1)), :mod:`.i4` (I4
and its trend), :mod:`.lr_shift` (the NS-step learning-rate shift); the problem with certified
per-block constants in ``_shared``.

S1 layer-wise experiments: Gluon's adaptive steps with an inexact oracle, trajectory (L0, L1)
estimates, the stochastic layer-wise bound I4, and the NS-step learning-rate shift.

Source: Shulgin, AlRashed, Orabona, Richtárik, *Beyond the Ideal: Analyzing the Inexact Muon Update*,
arXiv 2510.19933 (claims I2, I4 and the NanoGPT learning-rate shift); layer-wise (L0, L1)-smoothness and
the adaptive step from Riabinin et al., *Gluon*, arXiv 2505.13416.  Every bound is a lab derivation
(``bounds/s1.py``: S1.I2.step, S1.I2.sum, S1.I4, S1.I4.opt), evaluated on certified constants.

Problem with certified per-layer constants (:class:`LayerwiseQuartic`).  A separable two-block sum
f(X_1, X_2) = q_1(X_1) + q_2(X_2) of the library's quartics q(X) = (c/4)‖X − C‖_F⁴ + (d/2)‖X − C‖_F²
(``problems.Quartic``).  Since ∇_i f depends on X_i only, the layer-wise (L0, L1) condition of block i
is exactly the (L0, L1) condition of q_i, whose constants ``problems.Quartic`` derives in closed form
and ``tests/test_problems_smooth.py`` certifies.  Block 1 (6×4) lives in spectral geometry (Muon's
‖·‖_op / ‖·‖_nuc; c = 0.01, so it is nearly the quadratic on which the spectral constant r·d is
attained by flat-spectrum steps), block 2 (5×3) in Frobenius geometry with a genuine L1 term
(c = d = 1, L1 = 4).  Both pairs hold on steps up to their radius, and every Gluon step
t_i(1 + δ) ≤ (1 − δ)/((1 + δ)L1_i) stays inside it.  f* = 0, X* = (C_1, C_2).

Experiments (sweeps through :func:`lab.sweeps.run_sweep`, one stacked run per chunk):

``s1_i2``
    Deterministic Gluon, δ-aware and δ-agnostic step, injected-error oracles (expand / adversarial /
    random) × δ × seeds: f(X^k) and a_i^k = ‖∇_i f(X^k)‖_(i)* at every step, paired with the I2
    per-step decrease (S1.I2.step) and the sum bound (S1.I2.sum).
``s1_l0l1_estimate``
    Gluon trajectories (exact and δ = 0.5 expand oracles): secant curvatures
    L̂_i[k] = ‖∇_i f(X^{k+1}) − ∇_i f(X^k)‖_* / ‖X_i^{k+1} − X_i^k‖ against a_i = ‖∇_i f(X^{k+1})‖_*,
    the fits of :func:`problems.estimate.estimate_l0_l1` (envelope LP and expectile κ = 10) and the
    certified lines L0_i + L1_i a.
``s1_i4``
    Stochastic layer-wise LMO method with EMA momentum (Scion's α-form, M⁰ = g⁰) and constant
    per-block steps t_i = φ·(1 − δ)α/(4L1_i(1 + δ)) (φ = 1: the cap, φ = 1/2 below it), Gaussian noise,
    expand oracle, grid δ × α × φ × ≥ 20 seeds: (1/K)Σ_kΣ_i t_i a_i^k against S1.I4, and the measured
    α*(δ), t_i*(δ) (argmin over α of (1/K)Σ_kΣ_i a_i^k/L1_i, the S1.I4.opt metric).
``s1_ns_lr_shift``
    Muon (EMA β = 0.95, Nesterov, Newton–Schulz oracle) on the two-layer ``teacher_student`` network
    with minibatch gradients: final loss against the learning rate for NS presets × steps k ×
    seeds, and the measured optimal learning rate per (preset, k) (:func:`lab.stats.argmin_with_uncertainty`).

Mutations: ``mutation="double_step"`` wraps the optimizer (:func:`lab.claims.mutations.mutate`, which
works with Gluon and Scion: it doubles X^{k+1} − X^k after the inner step); ``"understate_constant"``
reruns nothing and evaluates the bounds with L0_i, L1_i (I2) or σ_i (I4) ×0.8.

Checks
------
S1 layer-wise checks: I2 (Gluon's δ-aware step), trajectory (L0, L1), I4 and the NS learning-rate shift.

Experiments in :mod:`lab.claims.layerwise`; bounds ``bounds.get("S1.I2.step" | "S1.I2.sum" |
"S1.I4" | "S1.I4.opt")`` (lab derivations consistent with S1, arXiv 2510.19933) on the certified
constants of the separable quartic problem.  Directions (trends) are judged with bootstrap intervals:
"holds" when the intervals separate in the predicted direction, "violated" when they separate the
other way, "inconclusive" when they overlap."""
