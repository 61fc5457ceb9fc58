"""S2 bounds: the estimator-error recursions against exact second moments of scalar processes, the
closed forms against the recursions they are derived from, and the descent lemma on hand cases."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import bounds
from bounds import symbols as S
from bounds.s2 import horizon_free_schedule

# ------------------------------------------------------------------------------------------------
# a scalar whose Muon direction never changes: f(x) = c x + (L/2) x^2, c large, bounded noise.
# Then x_t is deterministic, ∇f(x_t) - ∇f(x_{t-1}) = -L eta_{t-1}, and the momentum error is an
# affine function of the noise: its mean and its noise coefficients give E eps_t^2 exactly.
# ------------------------------------------------------------------------------------------------


def exact_error_moments(method, eta, beta, gamma, L, sigma, ms_spread=0.0, x=None):
    """Exact e_t = E eps_t^2, t = 1..T, for the fixed-direction scalar.

    muon / mvr1: additive noise g = ∇f + xi, E xi^2 = sigma^2.
    mvr2: g(x; z) = ∇f(x) + L z x + xi with E z^2 = ms_spread^2 (multiplicative part), same sample at
    both points.
    Returns (e, mean, noise coefficients).
    """
    T = len(eta)
    mean = 0.0
    w = np.zeros(T)  # coefficients of the independent unit-variance noises
    w[0] = sigma
    if method == "mvr2":  # eps_1 = xi_1 + L z_1 x_1 (M_1 = g_1)
        w = np.array([sigma, L * ms_spread * x[0]])
    e = [w @ w]
    for j in range(1, T):
        b, a = beta[j], 1 - beta[j]
        drift = -L * eta[j - 1]  # ∇f(x_t) - ∇f(x_{t-1})
        if method == "muon":
            mean = b * mean - b * drift
            w = b * w
            w[j] = a * sigma
        elif method == "mvr1":
            g = gamma[j]
            mean = b * mean - b * (1 - g) * drift
            w = b * w
            w[j - 1] -= g * b * sigma
            w[j] = (a + g * b) * sigma
        else:  # mvr2: eps_t = b eps_{t-1} + a (L z_t x_t + xi_t) + b L z_t (x_t - x_{t-1})
            mean = b * mean
            w = np.concatenate([b * w, [a * sigma, 0.0]])
            w[-1] = L * ms_spread * (a * x[j] + b * (x[j] - x[j - 1]))
        e.append(mean**2 + w @ w)
    return np.array(e)


def schedules():
    T = 400
    t = np.arange(1, T + 1.0)
    out = [("constant", np.full(T, 0.02), np.full(T, 0.9), np.full(T, 0.3))]
    for method in ("muon", "mvr2"):
        eta, beta, _ = horizon_free_schedule(method, T, 0.05, 1.0)
        out.append((f"horizon-free {method}", eta, beta, t**-0.5))
    return out


@pytest.mark.parametrize("name, eta, beta, gamma", schedules())
def test_recursions_bound_the_exact_second_moment(name, eta, beta, gamma):
    L, sigma, r = 1.5, 0.4, 1
    for method in ("muon", "mvr1"):
        exact = exact_error_moments(method, eta, beta, gamma, L, sigma)
        bound = bounds.estimator_error_bound(method, eta, beta, sigma=sigma, r=r, L=L, gamma=gamma).require()
        assert np.all(exact <= bound * (1 + 1e-12)), method
    x = 1.0 - np.concatenate([[0.0], np.cumsum(eta[:-1])])
    spread = 0.5
    exact = exact_error_moments("mvr2", eta, beta, None, L, sigma, ms_spread=spread, x=x)
    sigma_total = np.sqrt(sigma**2 + (L * spread) ** 2 * np.max(x**2))  # uniform variance bound on the path
    L_ms = L * np.sqrt(1 + spread**2)
    bound = bounds.estimator_error_bound("mvr2", eta, beta, sigma=sigma_total, r=r, L_ms=L_ms).require()
    assert np.all(exact <= bound * (1 + 1e-12))


def test_exact_moments_match_a_monte_carlo_run():
    """The closed-form moments above are right: simulate the same scalar with Rademacher noise."""
    rng = np.random.default_rng(3)
    T, L, c, sigma, paths = 60, 1.0, 30.0, 0.5, 40000
    eta, beta, gamma = np.full(T, 0.05), np.full(T, 0.8), np.arange(1, T + 1.0) ** -0.5
    for method in ("muon", "mvr1"):
        xi = sigma * rng.choice([-1.0, 1.0], size=(paths, T))
        x, M, g_prev, errs = np.zeros(paths), None, None, []
        for j in range(T):
            grad = c + L * x
            g = grad + xi[:, j]
            if j == 0:
                M = g
            elif method == "muon":
                M = beta[j] * M + (1 - beta[j]) * g
            else:
                M = beta[j] * M + (1 - beta[j]) * g + gamma[j] * beta[j] * (g - g_prev)
            assert np.all(M > 0)
            errs.append(np.mean((M - grad) ** 2))
            g_prev = g
            x = x - eta[j] * np.sign(M)
        exact = exact_error_moments(method, eta, beta, gamma, L, sigma)
        se = 4 * np.sqrt(2 / paths) * exact + 1e-12
        assert np.all(np.abs(np.array(errs) - exact) <= se), method


def test_e_muon_is_tight_in_the_drift_dominated_regime_and_its_constant_cannot_be_halved():
    T, L = 3000, 1.0
    eta, beta = np.full(T, 0.01), np.full(T, 0.95)
    exact = exact_error_moments("muon", eta, beta, None, L, 0.0)
    bound = bounds.estimator_error_bound("muon", eta, beta, sigma=0.0, r=1, L=L).require()
    assert exact[-1] / bound[-1] > 0.999
    # the one-step inequality holds for the exact e_{t-1}; with beta^2/(2a) instead of beta^2/a it fails
    thm = bounds.get("S2.E.Muon")
    step = dict(beta_t=beta[1:], e_prev=exact[:-1], L=L, r=1, eta_prev=eta[:-1], sigma=0.0, delta=0.0)
    assert np.all(exact[1:] <= thm.evaluate(**step).require() * (1 + 1e-12))
    understated = dataclasses.replace(thm, expr=thm.expr.subs(S.L, S.L / np.sqrt(2)))
    assert np.any(exact[1:] > understated.evaluate(**step).require())


def test_theorem_one_step_forms_equal_the_numeric_recursions(rng):
    T = 6
    eta, beta, gamma = rng.uniform(0.01, 0.2, T), rng.uniform(0.3, 0.95, T), rng.uniform(0, 0.5, T)
    kw = dict(r=3, sigma=0.7, delta=0.1)
    e = bounds.estimator_error_bound("muon", eta, beta, L=1.3, **kw).require()
    for j in range(1, T):
        one = bounds.get("S2.E.Muon").evaluate(
            beta_t=beta[j], e_prev=e[j - 1], L=1.3, eta_prev=eta[j - 1], **kw
        )
        assert float(one) == pytest.approx(e[j], rel=1e-13)
    e = bounds.estimator_error_bound("mvr2", eta, beta, L_ms=1.3, **kw).require()
    for j in range(1, T):
        one = bounds.get("S2.E.MVR2").evaluate(
            beta_t=beta[j], e_prev=e[j - 1], L_ms=1.3, eta_prev=eta[j - 1], **kw
        )
        assert float(one) == pytest.approx(e[j], rel=1e-13)
    e = bounds.estimator_error_bound("mvr1", eta, beta, L=1.3, gamma=gamma, **kw).require()
    u = (1 - gamma[1]) ** 2 * kw["sigma"] ** 2
    for j in range(1, T):
        args = dict(beta_t=beta[j], u_prev=u, gamma_t=gamma[j], L=1.3, eta_prev=eta[j - 1], **kw)
        assert float(bounds.get("S2.E.MVR1").evaluate(**args)) == pytest.approx(e[j], rel=1e-13)
        u = float(
            bounds.get("S2.E.MVR1.state").evaluate(**args, gamma_next=gamma[j + 1] if j + 1 < T else 0.0)
        )


def test_mvr1_with_gamma_zero_is_muon():
    eta, beta, _ = horizon_free_schedule("muon", 500, 0.1, 1.0)
    a = bounds.estimator_error_bound("muon", eta, beta, sigma=0.5, r=4, L=2.0).require()
    b = bounds.estimator_error_bound("mvr1", eta, beta, sigma=0.5, r=4, L=2.0, gamma=np.zeros(500)).require()
    assert np.allclose(a, b, rtol=1e-13)


# ------------------------------------------------------------------------------------------------
# closed forms N1, N2, P2 against the recursions
# ------------------------------------------------------------------------------------------------
def grid():
    vals = list(itertools.product((0.45, 0.7, 1.0, 2.0, 5.0), (0.01, 0.3, 1.0), (0.5, 2.0), (1, 8)))
    c_a, eta0, sigma, r = (np.array(v, dtype=float) for v in zip(*vals, strict=True))
    return c_a, eta0, sigma, r


@pytest.mark.parametrize(
    "method, K_fn, p",
    [("muon", bounds.s2.K1_muon, 0.5), ("mvr1", bounds.s2.K1_mvr1, 0.5), ("mvr2", bounds.s2.K2_mvr2, 2 / 3)],
)
def test_closed_form_constants_dominate_the_recursion(method, K_fn, p):
    c_a, eta0, sigma, r = grid()
    if method == "mvr2":
        keep = c_a > 2 ** (2 / 3) - 1
        c_a, eta0, sigma, r = c_a[keep], eta0[keep], sigma[keep], r[keep]
    T = 3000
    eta, beta, gamma = horizon_free_schedule(method, T, eta0, c_a)
    smooth = {"L_ms": 1.0} if method == "mvr2" else {"L": 1.0}
    e = bounds.estimator_error_bound(method, eta, beta, sigma=sigma, r=r, gamma=gamma, **smooth).require()
    expr = K_fn().subs({S.L: 1, S.L_ms: 1})
    K = np.array(
        [
            float(expr.subs({S.c_a: a, S.eta0: b, S.sigma: s, S.r: q}))
            for a, b, s, q in zip(c_a, eta0, sigma, r, strict=True)
        ]
    )
    t = np.arange(1, T + 1.0)
    assert np.all(e <= K[:, None] * t**-p * (1 + 1e-12))


def test_theory_constants_fail_where_the_lab_corrected_them():
    """THEORY.md's K1 (no c_a) and K2 = max(sigma^2, 2B/c_a) are exceeded by the recursion they
    should bound."""
    T, t = 20000, np.arange(1, 20001.0)
    eta, beta, _ = horizon_free_schedule("mvr2", T, 0.01, 0.1)
    e = bounds.estimator_error_bound("mvr2", eta, beta, sigma=1.0, r=1, L_ms=1.0).require()
    B = 2 * 2 ** (4 / 3) * 1e-4 + 2 * 0.1**2
    assert np.max(e * t ** (2 / 3)) > max(1.0, 2 * B / 0.1)
    eta, beta, _ = horizon_free_schedule("muon", T, 0.01, 2.0)
    e = bounds.estimator_error_bound("muon", eta, beta, sigma=1.0, r=1, L=1.0).require()
    assert np.max(e * t**0.5) > 2 * (2**1.5 * 1e-4 + 1.0)


@pytest.mark.parametrize("method, tid", [("muon", "S2.N1"), ("mvr1", "S2.N1.MVR1"), ("mvr2", "S2.N2")])
def test_closed_form_rates_dominate_the_anytime_bound(method, tid):
    thm = bounds.get(tid)
    T = 2000
    for c_a, eta0 in itertools.product((0.8, 1.0, 3.0), (0.02, 0.5)):
        eta, beta, gamma = horizon_free_schedule(method, T, eta0, c_a)
        any_T = bounds.anytime_bound(
            method, eta, beta, Delta0=2.0, L=1.0, L_ms=1.0, r=4, sigma=0.5, gamma=gamma
        ).require()
        consts = dict(Delta0=2.0, r=4, eta0=eta0, L=1.0, sigma=0.5, c_a=c_a, T=np.arange(1, T + 1.0))
        if method == "mvr2":
            consts["L_ms"] = 1.0
        closed = thm.evaluate(**consts).require()
        assert np.all(any_T <= closed * (1 + 1e-12))


@pytest.mark.parametrize("tid, p", [("S2.P2", 0.25), ("S2.P2.MVR2", 1 / 3)])
def test_last_iterate_closed_form_dominates_its_gap_recursion(tid, p):
    """phi_{t+1} = (1 - c eta_t) phi_t + 2 sqrt(r) eta_t sqrt(e_t) + (L r/2) eta_t^2 with e_t = K t^(-2(1-q)),
    iterated with equality."""
    thm = bounds.get(tid)
    K_expr = (bounds.s2.K1_muon() if tid == "S2.P2" else bounds.s2.K2_mvr2()).subs({S.L: 1, S.L_ms: 1})
    q = 0.75 if tid == "S2.P2" else 2 / 3
    T, r = 3000, 4
    t = np.arange(1, T + 1.0)
    for ceta0, Delta0, eta0 in itertools.product((p + 0.02, 0.6, 1.0), (0.0, 5.0), (0.05, 0.5)):
        mu, G = 0.5, 2 * 0.5 * eta0 / ceta0  # c eta0 = 2 mu eta0 / G
        K = float(K_expr.subs({S.c_a: 1.0, S.eta0: eta0, S.sigma: 0.5, S.r: r}))
        eta = eta0 * t**-q
        phi = np.empty(T)
        phi[0] = Delta0
        for j in range(T - 1):
            phi[j + 1] = (
                (1 - ceta0 * t[j] ** -q) * phi[j]
                + 2 * np.sqrt(r) * eta[j] * np.sqrt(K * t[j] ** -(2 * (1 - q)))
                + r / 2 * eta[j] ** 2
            )
        consts = dict(Delta0=Delta0, r=r, eta0=eta0, L=1.0, sigma=0.5, c_a=1.0, T=t, mu=mu, G=G)
        if "MVR2" in tid:
            consts["L_ms"] = 1.0
        assert np.all(phi <= thm.evaluate(**consts).require() * (1 + 1e-12))
    # c eta0 > 1 is outside the validity conditions, and the recursion does break the formula there
    eta0, ceta0 = 0.5, 3.0
    K = float(K_expr.subs({S.c_a: 1.0, S.eta0: eta0, S.sigma: 0.5, S.r: r}))
    phi2 = 2 * np.sqrt(r) * eta0 * np.sqrt(K) + r / 2 * eta0**2  # from phi_1 = 0
    H = phi2
    formula = max(0.0, H / (ceta0 - p)) * 2.0**-p
    assert phi2 > formula
    res = thm.evaluate(
        Delta0=0.0,
        r=r,
        eta0=eta0,
        L=1.0,
        sigma=0.5,
        c_a=1.0,
        T=2.0,
        mu=0.5,
        G=2 * 0.5 * eta0 / ceta0,
        **({"L_ms": 1.0} if "MVR2" in tid else {}),
    )
    assert not res.all_applicable


# ------------------------------------------------------------------------------------------------
# (D) and (star)
# ------------------------------------------------------------------------------------------------
def polar(M):
    U, _, Vt = np.linalg.svd(M, full_matrices=False)
    return U @ Vt


def test_descent_lemma_on_a_matrix_quadratic(rng):
    thm = bounds.get("S2.D")
    C = rng.standard_normal((3, 2))
    for _ in range(200):
        X, E, eta = (
            rng.standard_normal((3, 2)),
            rng.standard_normal((3, 2)) * rng.uniform(0, 2),
            rng.uniform(0, 1),
        )
        G = X - C
        change = 0.5 * np.sum((X - eta * polar(G + E) - C) ** 2) - 0.5 * np.sum(G**2)
        nuc = lambda A: np.linalg.svd(A, compute_uv=False).sum()  # noqa: E731
        assert change <= float(thm.evaluate(eta=eta, g_dual=nuc(G), eps_dual=nuc(E), L=1.0, r=2)) + 1e-12
    X = rng.standard_normal((3, 2))  # exact gradient, full rank: equality
    G = X - C
    change = 0.5 * np.sum((X - 0.3 * polar(G) - C) ** 2) - 0.5 * np.sum(G**2)
    assert change == pytest.approx(
        float(
            thm.evaluate(eta=0.3, g_dual=np.linalg.svd(G, compute_uv=False).sum(), eps_dual=0.0, L=1.0, r=2)
        ),
        rel=1e-12,
    )


def test_descent_lemma_needs_the_factor_two():
    """Scalar: gradient g > 0, estimate M = -tiny (error g + tiny): the step goes the wrong way."""
    thm = bounds.get("S2.D")
    g, tiny, eta = 1.0, 1e-9, 0.1
    change = g * eta + eta**2 / 2  # f = x^2/2 around x = g, step +eta
    bound = float(thm.evaluate(eta=eta, g_dual=g, eps_dual=g + tiny, L=1.0, r=1))
    assert change <= bound and bound - change < 1e-8
    weak = dataclasses.replace(thm, expr=thm.expr.subs(S.eps_dual, S.eps_dual / 2))
    assert change > float(weak.evaluate(eta=eta, g_dual=g, eps_dual=g + tiny, L=1.0, r=1))


def test_anytime_bound_on_the_exact_scalar_run():
    T, L, c, sigma = 300, 1.0, 40.0, 0.5
    for method in ("muon", "mvr1"):
        eta, beta, gamma = horizon_free_schedule(method, T, 0.1, 1.0)
        x = -np.concatenate([[0.0], np.cumsum(eta[:-1])])
        grad = c + L * x
        e = exact_error_moments(method, eta, beta, gamma, L, sigma)
        assert np.all(grad > 5 * np.sqrt(e) + 2 * sigma)  # keeps the direction on (essentially) all paths
        measured = np.cumsum(eta * grad) / np.cumsum(eta)
        Delta0 = c**2 / (2 * L)  # f(0) - f*
        bound = bounds.anytime_bound(
            method, eta, beta, Delta0=Delta0, L=L, r=1, sigma=sigma, gamma=gamma
        ).require()
        assert np.all(measured <= bound)


def test_batched_recursions_equal_one_by_one_and_bad_members_are_isolated():
    eta0, c_a = np.array([0.05, 0.2, 0.5]), np.array([1.0, 2.0, 0.8])
    eta, beta, gamma = horizon_free_schedule("mvr1", 200, eta0, c_a)
    batch = bounds.anytime_bound(
        "mvr1", eta, beta, Delta0=1.0, L=1.0, r=4, sigma=np.array([0.1, 0.5, 1.0]), gamma=gamma
    ).require()
    for i, s in enumerate((0.1, 0.5, 1.0)):
        one = bounds.anytime_bound(
            "mvr1", eta[i], beta[i], Delta0=1.0, L=1.0, r=4, sigma=s, gamma=gamma[i]
        ).require()
        assert np.array_equal(one, batch[i])
    beta_bad = beta.copy()
    beta_bad[1, 5] = 1.0  # a_t = 0: E-MVR1 is undefined for this member only
    res = bounds.anytime_bound("mvr1", eta, beta_bad, Delta0=1.0, L=1.0, r=4, sigma=0.5, gamma=gamma)
    assert res.applicable[:, 0].tolist() == [True, False, True]
    assert "beta_t" in res.reason[1, 0]
    assert np.all(np.isfinite(res.value[[0, 2]]))
    with pytest.raises(ValueError, match="method"):
        bounds.estimator_error_bound("adam", eta, beta, sigma=1.0, r=1, L=1.0)
    with pytest.raises(ValueError, match="L_ms is required"):
        bounds.estimator_error_bound("mvr2", eta, beta, sigma=1.0, r=1, L=1.0)
    with pytest.raises(ValueError, match="T must be"):
        horizon_free_schedule("muon", 0, 0.1, 1.0)


def test_horizon_free_schedules():
    eta, beta, gamma = horizon_free_schedule("muon", 4, 0.2, 1.5)
    t = np.arange(1, 5.0)
    assert (
        np.allclose(eta, 0.2 * t**-0.75)
        and np.allclose(1 - beta, np.minimum(1, 1.5 * t**-0.5))
        and gamma is None
    )
    eta, beta, _ = horizon_free_schedule("mvr2", 4, 0.2, 0.5)
    assert np.allclose(eta, 0.2 * t ** (-2 / 3)) and np.allclose(1 - beta, 0.5 * t ** (-2 / 3))
    assert horizon_free_schedule("mvr1", 4, [0.1, 0.2], 1.0)[2].shape == (2, 4)


def test_pl_best_iterate_bound_on_the_exact_scalar_run():
    """f = c x + (L/2) x^2 is PL with mu = L: sqrt(f - f*) = |∇f|/sqrt(2L).  Muon, horizon-free schedule."""
    thm = bounds.get("S2.P1")
    T, L, c, sigma, eta0, c_a = 400, 1.0, 40.0, 0.5, 0.1, 1.0
    eta, beta, _ = horizon_free_schedule("muon", T, eta0, c_a)
    x = -np.concatenate([[0.0], np.cumsum(eta[:-1])])
    grad = c + L * x
    assert np.all(grad > 5 * np.sqrt(exact_error_moments("muon", eta, beta, None, L, sigma)) + 2 * sigma)
    best = np.minimum.accumulate(np.abs(grad) / np.sqrt(2 * L))
    bound = thm.evaluate(
        Delta0=c**2 / (2 * L), r=1, eta0=eta0, L=L, sigma=sigma, c_a=c_a, T=np.arange(1, T + 1.0), mu=L
    ).require()
    assert np.all(best <= bound)
