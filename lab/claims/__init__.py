"""Claims: each experiment beside the check(s) that judge it, one module per concept.

An experiment (``@experiment``) measures and pairs every measurement with its theoretical value; the
check (``@check``) directly below it turns the result into verdicts.  Modules are named by what they
verify, not by the paper it comes from:

``newton_schulz``
    The Newton–Schulz error recursion on singular values (S1.NS.cubic / S1.NS.quintic).
``inexact_lmo/``
    S1's additive oracle-error model: the lemma, I1 (deterministic step) and its trends in δ, I3
    (stochastic Muon-EMA), the optimal momentum under the adversarial oracle, the scaling with K.
``layerwise/``
    Gluon and layer-wise (L0, L1)-smoothness: I2, trajectory (L0, L1) estimates, I4, the
    learning-rate shift with the number of Newton–Schulz steps.
``variance_reduction/``
    S2: the descent inequality (also with an inexact oracle), the estimator recursions and rates of
    Muon / MVR1 / MVR2, PL, the γ floor, schedules, and X.MVR2.inexact.
``weight_decay/``
    S3: Muon + decoupled weight decay as the spectral-norm constraint, its Lyapunov functions, and
    the constant-step floor X.WD.
``spectral_flattening/``
    S4: step-size thresholds, GD divergence, the η² floor, the descent model, the Kronecker rate.
``conformance/``
    Building blocks (oracles, optimizers, runner, statistics, problems) against reference code.
``real_data``
    Claims on real data through the optional PyTorch adapter.
``mutations``
    The optimizer wrappers that plant the bugs the checks must catch (no claims of its own).

Private modules (``_common``, each topic's ``_shared`` / ``_reference``) hold what several modules of
one topic share; claim modules import nothing from each other.  Importing this package imports no
topic: the registries load them.
"""
