r"""Variance-reduced Muon (S2) and its combination with an inexact oracle (X.MVR2).

Modules: :mod:`.descent` (D), :mod:`.rates` (E, N1, N2, slopes, same sample), :mod:`.pl` (P1, P2),
:mod:`.gamma_floor` (MVR1 with constant γ), :mod:`.inexact_descent` (D with S1's oracle error),
:mod:`.mvr1_state` (the MVR1 state recursion), :mod:`.schedules` (horizon-free schedules, rank
scaling), :mod:`.inexact_mvr` (X.MVR2.inexact); shared set-up in ``_shared``.

S2 experiments: variance-reduced Muon, measured against the lab's S2 bounds.

Source: Chang, Liu, Yuan, *On the Convergence of Muon and Beyond*, arXiv 2509.15816.  Every bound
is a lab derivation (``bounds/s2.py``) evaluated on the problem's certified constants (L_frobenius,
L_ms, σ² of the attached Gaussian noise, μ); the experiments only measure and pair each measurement
with its bound or predicted exponent.

Methods (exact polar oracle, EMA form, no Nesterov, no shape scale, M_1 = g_1), horizon-free
schedules of the source with t the 1-based step (:mod:`lab.schedules`):

* ``muon``  η_t = η₀t^(−3/4), 1 − β_t = min(1, c_a t^(−1/2));
* ``mvr1``  the same with γ_t = t^(−1/2);  ``mvr1_const``: constant γ (the γ-floor experiment);
* ``mvr2``  η_t = η₀t^(−2/3), 1 − β_t = min(1, c_a t^(−2/3)), the same sample at X_t and X_{t−1};
* ``mvr2_prev`` MVR2's recursion with the *previous* sample, M_t = g_t + β_t(M_{t−1} − g_{t−1}),
  which is :func:`lab.optimizers.muon_mvr1` with γ = 1 on MVR2's schedule.  With M_1 = g_1 it
  reduces exactly to M_t = g_t (M_t − g_t = β_t(M_{t−1} − g_{t−1}) = 0): no variance reduction.

Index map: the runner's iterate k (0-based) is S2's X_{k+1}; the step metrics recorded at
checkpoint k (estimator error, η) belong to S2's step t = k + 1.

Experiments (sweeps through :func:`lab.sweeps.run_sweep`, one stacked run per method; seeds give
common random numbers across methods):

``s2_descent``
    Deterministic runs (``isotropic_quadratic`` far from X*, where (D) is tight, and the κ = 10
    ``kronecker_quadratic``), every step recorded: lhs = f(X_{t+1}) − f* + η_t‖∇f(X_t)‖_* and
    rhs = f(X_t) − f* + 2η_t‖ε_t‖_* + (L r/2)η_t², i.e. (D) written with positive sides.
``s2_rates``
    The noise-dominated configuration: ``kronecker_quadratic`` 8×6, L = 1, μ = 0.1, start at
    distance 0.05 from X*, Gaussian noise σ = 0.2, η₀ = 0.1, c_a = 1; Muon, MVR1, MVR2, MVR2 with
    the previous sample.  Measured at every step up to ``dense`` and at log-spaced T beyond:
    ‖ε_t‖_F per seed, the η-weighted average of ‖∇f‖_* (anytime (★)), ‖∇f(X_T)‖_F, f − f*.
    Theoretical: the E-recursion bounds along the run's own schedule, the anytime bound
    (:func:`bounds.s2.anytime_bound`), the closed forms N1/N2, the exponents −1/4, −1/3.
``s2_tight``
    Two deterministic ``isotropic_quadratic`` configurations where the S2 bounds are nearly tight,
    so planted bugs show: "sum" (σ = 0, c_a = 1000 so β_t = 0: (★) is an identity up to
    f(X_{T+1}) − f* >= 0) and "drift" (start far, c_a = 0.3: the E-Muon/E-MVR1 drift term is
    attained in the drift-dominated steady state).
``s2_pl``
    ``isotropic_quadratic`` (PL with μ = L = 1) in the noise-dominated regime; best iterate
    min_t E√(f − f*) (P1) and last iterate E f(X_T) − f* (P2).  G = the largest ‖∇f(X_t)‖_F over
    every step of every seed (the assumption of P2 holds on the sampled paths by construction);
    η₀ is chosen so that 2μη₀/G lies in (1/3, 1].
``s2_gamma_floor``
    MVR1 with constant γ ∈ {0.2, 0.4, 0.8} (and γ_t = t^(−1/2) as reference) on the ``s2_rates``
    problem: the late-time RMS estimator error against γσ.

``mutation`` (an option of every experiment): "double_step" / "flip_momentum" wrap the optimizer
(:func:`lab.claims.mutations.mutate`, separate cache entries); "understate_constant" multiplies the
certified L, L_ms and σ by 0.8 in the bounds (the runs are the unmutated ones); "wrong_sample"
replaces MVR2 by ``mvr2_prev`` where MVR2's behaviour is claimed.

Checks
------
S2 checks: variance-reduced Muon (Chang, Liu, Yuan, arXiv 2509.15816).

Every check runs an experiment of :mod:`lab.claims.variance_reduction` and judges it against the lab's S2
bounds (``bounds/s2.py``, lab derivations consistent with S2) evaluated on the problems' certified
constants, or against the predicted exponents.

Decision rules (stated once, used below)
----------------------------------------
* **Deterministic ratios** ((D), the tight configurations): holds iff measured/bound <= 1 + 1e-9
  everywhere (1e-9: float64 rounding of an inequality that is an identity on the isotropic quadratic).
* **Estimator error e_t = E‖ε_t‖_F²** (stochastic): the seed mean ê_t is an estimate, and at t = 1 the
  bound e_1 = σ² is attained exactly (M_1 = g_1).  A violation must therefore be significant: the
  verdict uses the one-sided 99.9 % lower confidence limit ê_t − 3.09·se_t (CLT over seeds); holds iff
  it is <= the bound at every t.  The raw worst ratio ê_t/bound_t is reported too.
* **Anytime bounds** (η-weighted average of E‖∇f‖_* for every T; closed forms N1/N2, P1, P2): the seed
  means against the bound; these bounds are loose by factors 5–50 in the noise-dominated runs, so no
  sampling allowance is needed (none is used).
* **Slopes** (S2-slopes): log-log OLS fit of the seed-mean curve over a window read from the data
  (:func:`fit_window`) with a 95 % t-interval over seeds (:func:`lab.stats.slope_ci`); judged on the
  interval alone (see :func:`s2_slopes`).  S2-same-sample keeps its stated tolerance ``SLOPE_TOL``.

Mutations (each was run and fails; see ``tests/test_checks_s2.py``): "double_step" and
"understate_constant" (L, L_ms, σ — and the path-wise G of P2 — ×0.8 in the bound) for the ratio
checks, through the nearly tight configurations of ``s2_tight`` / ``s2_descent``; "wrong_exponent" and
"wrong_sample" (MVR2 with the previous sample) for the rate checks."""
