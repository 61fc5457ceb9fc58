r"""Conformance: the lab's building blocks against independent reference computations.

Modules: :mod:`.oracles` (Newton–Schulz presets, exact LMOs, injected-error oracles) and
:mod:`.engine` (optimizers, runner, statistics, problem constants); the references they share in
``_reference``.

Conformance experiments: the lab's building blocks against independent reference computations.

The bound checks of S1–S4 run whole optimizers and compare a measurement with a (often loose)
bound, so a small slip in an oracle, a preset or a recursion can hide under the slack.  These
experiments pin each building block to a computation that does not share its code:

* ``conformance_ns`` — every Newton–Schulz preset through the oracle against the composition of its
  published odd polynomials applied to the singular values of ‖G‖_F-normalised inputs, with the
  LMO's sign (−NS);
* ``conformance_lmo`` — the exact LMO of every norm (plain and scaled s·‖·‖) against its closed form
  from a NumPy SVD / sort (−UVᵀ, −u₁v₁ᵀ, −G/‖G‖_F, −sign G, the argmax entry, unit columns/rows);
* ``conformance_oracles`` — the injected-error oracles: E = D − lmo(G) has ‖E‖ = δ in the ball's
  norm for every kind and norm, and D equals the documented closed form for expand, shrink and
  the adversarial (worst-descent) perturbation;
* ``conformance_optimizers`` — a few steps of Muon (EMA, Nesterov, shape scale, weight decay,
  per-block multipliers), Muon-MVR1/MVR2 (with and without the MARS clip), Lion-K for every K and
  Gluon's δ-aware step, against plain NumPy transcriptions of the recursions, on a two-block
  problem whose blocks get different multipliers;
* ``conformance_runner`` — the runner's running minima / η-weighted averages against the recorded
  per-step values, different seeds giving different runs, and the step samples being independent;
* ``conformance_stats`` — the log-log slope against ``numpy.polyfit`` on noiseless power laws, its
  95% interval covering the true slope of simulated noisy data (coverage over replicates), the
  refined argmin against the vertex of an exact parabola;
* ``conformance_problems`` — certified constants attained (the spectral L of a Kronecker quadratic at
  its maximiser, the PL μ along the softest direction) and gradients against central differences.

Every quantity is a deviation from the reference (or a ratio to a certified value); the
theoretical side holds the tolerance or the certified value.  Nothing here is cached: the runs are
small and must always execute the current code.

Checks
------
Conformance checks: each building block against an independent reference computation.

The bound checks of S1–S4 compare whole runs with bounds that often have slack, so a small bug
in an oracle, a Newton–Schulz preset or an optimizer's recursion can pass them.  These checks
compare each block with a computation that shares none of its code (the experiments in
:mod:`lab.claims.conformance` say which).  A row "holds" when the deviation from the
reference is below its tolerance (or, for a certified constant, when the value the instance
attains equals it); any other outcome — a NaN included — is "violated".  ``lab mutate`` shows
which code-level bugs each one catches."""
