"""Exact identities between the optimizers, and the per-step inequalities that must hold exactly.

* EMA and heavy-ball-sum momentum give the same iterates for constant β with exact polar
  (polar is scale invariant and M_sum = M_ema/(1 − β)); a time-varying β breaks it.
* Muon-MVR1 with γ = 0 is Muon (EMA, no Nesterov), bit for bit.
* Muon-MVR2 with β = 0 is the LMO step, bit for bit (with zero noise, for every β).
* Lion-K with K = nuclear and β_p = β_n is Muon with Nesterov and decoupled weight decay.
* Muon + weight decay is the Frank–Wolfe iteration of THEORY §4 L3, and (exact polar) the iterates
  enter and stay in the ball ‖X‖_op ≤ s/λ (L1); the Jordan quintic overshoots it (the check fails).
* The descent inequality (D) of THEORY §3 holds at every step with exact polar; an expanding
  δ-inexact oracle violates it (so the check can fail).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_optimizers_problems import Quadratic

from lab.optimizers import lion_k, lmo_step, muon, muon_mvr1, muon_mvr2
from lab.oracles import inexact_oracle, newton_schulz_oracle
from lab.runner import run
from lab.schedules import anytime_beta

SEEDS = [0, 1, 2]


def _final(res):
    return [np.asarray(X) for X in res.final_params]


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("init", ["zero", "gradient"])
def test_ema_and_sum_momentum_give_the_same_iterates_for_constant_beta(nesterov, init):
    problem = Quadratic(((6, 4), (3, 5)), sigma=0.5, seed=3)
    kw = dict(nesterov=nesterov, momentum_init=init, shape_scale="original")
    ema = run(problem, muon(0.05, 0.9, momentum="ema", **kw), 40, SEEDS, record=("loss",))
    total = run(problem, muon(0.05, 0.9, momentum="sum", **kw), 40, SEEDS, record=("loss",))
    alpha = run(problem, muon(0.05, momentum="alpha", alpha=0.1, **kw), 40, SEEDS, record=("loss",))
    for a, b, c in zip(_final(ema), _final(total), _final(alpha), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-12)


def test_ema_and_sum_differ_for_a_time_varying_beta():
    problem = Quadratic(((6, 4),), sigma=0.5, seed=3)
    beta = anytime_beta(1.0, 0.5)
    ema = run(problem, muon(0.05, beta, momentum="ema", nesterov=False), 40, SEEDS, record=("loss",))
    total = run(problem, muon(0.05, beta, momentum="sum", nesterov=False), 40, SEEDS, record=("loss",))
    assert np.max(np.abs(_final(ema)[0] - _final(total)[0])) > 1e-3


def test_mvr1_with_gamma_zero_is_muon_bit_for_bit():
    problem = Quadratic(((6, 4), (3, 5)), sigma=0.5, seed=4)
    for init in ("zero", "gradient"):
        base = muon(0.05, 0.9, nesterov=False, shape_scale="none", momentum_init=init)
        mvr = muon_mvr1(0.05, 0.9, 0.0, momentum_init=init)
        a = run(problem, base, 30, SEEDS, record=("loss", "estimator"))
        b = run(problem, mvr, 30, SEEDS, record=("loss", "estimator"))
        for x, y in zip(_final(a), _final(b), strict=True):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(a["est_err_fro"], b["est_err_fro"])
    # γ ≠ 0 is a different method (the identity is not vacuous)
    c = run(problem, muon_mvr1(0.05, 0.9, 0.5), 30, SEEDS, record=("loss",))
    assert np.max(np.abs(_final(c)[0] - _final(a)[0])) > 1e-6


@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_mvr2_with_beta_zero_is_the_lmo_step(sigma):
    problem = Quadratic(((6, 4), (3, 5)), sigma=sigma, seed=5)
    a = run(problem, muon_mvr2(0.05, 0.0), 30, SEEDS, record=("loss",))
    b = run(problem, lmo_step(0.05), 30, SEEDS, record=("loss",))
    for x, y in zip(_final(a), _final(b), strict=True):
        np.testing.assert_array_equal(x, y)
    c = run(problem, muon_mvr2(0.05, 0.5), 30, SEEDS, record=("loss",))
    gap = np.max(np.abs(_final(c)[0] - _final(b)[0]))
    if sigma == 0.0:
        # without noise M_{t-1} = ∇f(X_{t-1}) inductively, so MVR2 is the LMO step for every β
        assert gap == 0.0
    else:
        assert gap > 1e-6  # with noise β matters (the identity is not vacuous)


def test_lion_k_nuclear_is_muon_with_nesterov_and_weight_decay():
    problem = Quadratic(((6, 4), (3, 5)), sigma=0.5, seed=6)
    for oracle in ("exact", newton_schulz_oracle(5, "jordan")):
        a = run(
            problem,
            lion_k(0.05, 0.9, weight_decay=0.1, scale=1.5, oracle=oracle),
            30,
            SEEDS,
            record=("loss",),
        )
        b = run(
            problem,
            muon(0.05, 0.9, nesterov=True, weight_decay=0.1, shape_scale="none", block_lr=1.5, oracle=oracle),
            30,
            SEEDS,
            record=("loss",),
        )
        for x, y in zip(_final(a), _final(b), strict=True):
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


def _polar(G):
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    return U @ Vt


def test_muon_with_weight_decay_is_frank_wolfe_and_enters_the_ball():
    """THEORY §4 L3: X_{t+1} = (1 − ηλ)X_t + ηλ S_t with S_t = −(s/λ) polar(M_t); L1 ball entry."""
    eta, lam, beta = 0.05, 0.5, 0.8
    radius = 1.0 / lam  # s = 1
    problem = Quadratic(((6, 4),), sigma=0.3, seed=7, scale=3.0)  # ‖C‖_op ≈ 10 > 1/λ: active constraint
    res = run(
        problem,
        muon(eta, beta, nesterov=False, shape_scale="none", weight_decay=lam),
        120,
        [0],
        record=("loss", "params"),
        checkpoints="all",
    )
    # the Frank–Wolfe form, transcribed with numpy from the same gradients
    rng = problem.make_rng(np.array([0]))
    X = np.asarray(problem.x0(rng)[0])[0]
    M = np.zeros_like(X)
    from lab.optimizers import gradient_fn

    for t in range(1, 121):
        g = np.asarray(gradient_fn(problem, rng.fold("sample").at(t))((X[None],))[0])[0]
        M = M + (1 - beta) * (g - M)
        S = -radius * _polar(M)
        X = (1 - eta * lam) * X + eta * lam * S
    np.testing.assert_allclose(_final(res)[0][0], X, rtol=0, atol=1e-12)
    # L1: (‖X_t‖_op − s/λ)_+ ≤ (1 − ηλ)^t (‖X_0‖_op − s/λ)_+ at every t
    xop = res["x_op_b0"][:, 0]
    t = np.arange(xop.size)
    excess0 = max(xop[0] - radius, 0.0)
    assert np.all(np.maximum(xop - radius, 0.0) <= (1 - eta * lam) ** t * excess0 + 1e-12)
    assert xop.max() <= max(xop[0], radius) + 1e-12


def test_jordan_quintic_leaves_the_ball():
    """With the overshooting Jordan quintic the invariant radius grows (THEORY §4 L1): the L1 check fails."""
    eta, lam = 0.05, 0.5
    problem = Quadratic(((6, 4),), sigma=0.0, seed=7, scale=3.0)
    res = run(
        problem,
        muon(
            eta,
            0.0,
            nesterov=False,
            shape_scale="none",
            weight_decay=lam,
            oracle=newton_schulz_oracle(5, "jordan"),
        ),
        300,
        [0],
        stochastic=False,
        record=("params",),
        checkpoints="all",
    )
    assert res["x_op_b0"][100:, 0].max() > 1.02 / lam


def _descent_slack(res, eta, L, r):
    """f_{k+1} − [f_k − η‖∇f_k‖_* + 2η‖ε_k‖_* + (L r/2) η²] for every step k (≤ 0 when (D) holds)."""
    f, a, e = res["f"][:, 0], res["grad_dual"][:, 0], res["est_err_dual"][:, 0]
    return f[1:] - (f[:-1] - eta * a[:-1] + 2 * eta * e[:-1] + 0.5 * L * r * eta**2)


@pytest.mark.parametrize("beta", [0.0, 0.9])
@pytest.mark.parametrize("sigma", [0.0, 1.0])
def test_descent_inequality_D_holds_at_every_step(beta, sigma):
    """THEORY §3 (D): f(X_{t+1}) ≤ f(X_t) − η‖∇f‖_* + 2η‖M_t − ∇f(X_t)‖_* + (L r/2)η², exact polar."""
    problem = Quadratic(((6, 4),), sigma=sigma, seed=8)
    L, r, eta = 1.0, 4, 0.05  # ½‖X − C‖²: L = 1 in Frobenius norm; r = min(m, n)
    res = run(
        problem,
        muon(eta, beta, nesterov=False, shape_scale="none"),
        300,
        [0],
        record=("loss", "grad", "estimator"),
        checkpoints="all",
        stochastic=sigma > 0,
    )
    slack = _descent_slack(res, eta, L, r)
    assert slack.size == 300
    assert np.all(slack <= 1e-12), slack.max()


def test_descent_inequality_fails_for_an_expanding_oracle():
    """D = 1.9·lmo(G) (δ = 0.9, 'expand') breaks (D) near the solution: the check can fail."""
    problem = Quadratic(((6, 4),), sigma=0.0, seed=8)
    eta = 0.05
    res = run(
        problem,
        muon(eta, 0.0, nesterov=False, shape_scale="none", oracle=inexact_oracle("spectral", 0.9, "expand")),
        300,
        [0],
        stochastic=False,
        record=("loss", "grad", "estimator"),
        checkpoints="all",
    )
    assert np.max(_descent_slack(res, eta, 1.0, 4)) > 1e-6
