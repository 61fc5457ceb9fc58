"""S1 bounds against small hand-computable runs (scalars and 2x2 / 3x2 matrices written out in numpy).

Each check is one the bound could fail: the runs are built so that the inequality is tight (or
nearly), and an understated variant of the bound is shown to be violated on the same run.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import bounds
from bounds import symbols as S

RTOL = 1e-12


def lmo_spectral(G):
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    return -U @ Vt


def nuc(G):
    return np.linalg.svd(G, compute_uv=False).sum()


def op(G):
    return np.linalg.svd(G, compute_uv=False).max()


def random_error(rng, shape, delta):
    E = rng.standard_normal(shape)
    return delta * E / op(E)


# ------------------------------------------------------------------------------------------------
# lemma (a), (b), (c)
# ------------------------------------------------------------------------------------------------
def test_lemmas_hold_on_random_inputs_and_are_tight_for_shrink_and_expand(rng):
    a, b, c = bounds.get("S1.lemma_a"), bounds.get("S1.lemma_b"), bounds.get("S1.lemma_c")
    for _ in range(200):
        delta = rng.uniform(0, 0.95)
        G, H = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
        D = lmo_spectral(G) + random_error(rng, (3, 2), delta)
        DH = lmo_spectral(H) + random_error(rng, (3, 2), delta)
        assert np.sum(G * D) <= float(a.evaluate(delta=delta, g_dual=nuc(G))) + 1e-12
        assert op(D) <= float(b.evaluate(delta=delta)) + 1e-12
        assert np.sum(G * DH) <= float(c.evaluate(delta=delta, g_dual=nuc(G), gh_dual=nuc(G - H))) + 1e-12
    G, delta = rng.standard_normal((3, 2)), 0.3
    shrink, expand = (1 - delta) * lmo_spectral(G), (1 + delta) * lmo_spectral(G)
    assert np.sum(G * shrink) == pytest.approx(float(a.evaluate(delta=delta, g_dual=nuc(G))), rel=RTOL)
    assert op(expand) == pytest.approx(float(b.evaluate(delta=delta)), rel=RTOL)


def test_lemma_c_constant_two_is_needed():
    """Scalar G = g > 0, H = -eps, expand oracle: <G, D(H)> = (1 + delta) g, the bound -> (1 + delta) g."""
    c = bounds.get("S1.lemma_c")
    g, eps, delta = 1.0, 1e-6, 0.3
    inner = g * (1 + delta) * 1.0  # D(H) = (1 + delta) lmo(H) = (1 + delta) * (+1)
    bound = float(c.evaluate(delta=delta, g_dual=g, gh_dual=g + eps))
    assert inner <= bound and bound - inner < 3 * eps
    weaker = dataclasses.replace(c, expr=c.expr.subs(S.gh_dual, S.gh_dual / 2))  # constant 1 instead of 2
    assert inner > float(weaker.evaluate(delta=delta, g_dual=g, gh_dual=g + eps))


# ------------------------------------------------------------------------------------------------
# Newton-Schulz error recursions
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "family, step",
    [
        ("cubic", lambda X: 1.5 * X - 0.5 * X @ X.T @ X),
        ("quintic", lambda X: (15 * X - 10 * X @ X.T @ X + 3 * X @ X.T @ X @ X.T @ X) / 8),
    ],
)
def test_ns_error_recursion_matches_the_matrix_iteration(family, step, rng):
    thm = bounds.get(f"S1.NS.{family}")
    U, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    x = np.array([0.9, 0.05])
    X = U[:, :2] @ np.diag(x) @ V.T
    for _ in range(4):
        predicted = np.sort(1 - thm.evaluate(e=1 - x).require())[::-1]
        X = step(X)
        x = np.linalg.svd(X, compute_uv=False)
        assert np.allclose(x, predicted, rtol=1e-12, atol=1e-14)
    grid = np.linspace(0.02, 1.0, 400)
    for k in range(5):
        direct = grid.copy()
        for _ in range(k):
            direct = 1 - thm.evaluate(e=1 - direct).require()
        assert bounds.ns_uniform_error(family, 0.02, k) == pytest.approx(
            np.max(np.abs(1 - direct)), rel=1e-12
        )
    with pytest.raises(ValueError, match="family"):
        bounds.ns_uniform_error("jordan", 0.1, 2)


# ------------------------------------------------------------------------------------------------
# I1
# ------------------------------------------------------------------------------------------------
def test_i1_step_on_scalar_and_matrix_quadratics(rng):
    thm = bounds.get("S1.I1.step")
    # scalar 1/2 (x - c)^2, L = 1; exact oracle: the one-step inequality is an equality
    x, c, t = 2.0, 0.5, 0.3
    f = lambda z: 0.5 * (z - c) ** 2  # noqa: E731
    g = x - c
    assert f(x - t * np.sign(g)) - f(x) == pytest.approx(
        float(thm.evaluate(L=1.0, t=t, delta=0.0, g_dual=abs(g)))
    )
    # 1/2 ||X - C||_F^2 in spectral geometry: L = min(m, n) = 2; random inexact oracles
    C = rng.standard_normal((3, 2))
    for _ in range(100):
        X, delta, t = rng.standard_normal((3, 2)), rng.uniform(0, 0.9), rng.uniform(0.01, 1)
        G = X - C
        D = lmo_spectral(G) + random_error(rng, (3, 2), delta)
        change = 0.5 * np.sum((X + t * D - C) ** 2) - 0.5 * np.sum(G**2)
        assert change <= float(thm.evaluate(L=2.0, t=t, delta=delta, g_dual=nuc(G))) + 1e-12


def run_scalar_lmo(x0, c, t, K, delta, kind):
    """K steps x <- x + t D on 1/2 (x - c)^2 with D = (1 -/+ delta) * (-sign(g)); returns |g_k|, k < K."""
    scale = {"exact": 1.0, "shrink": 1 - delta, "expand": 1 + delta}[kind]
    x, grads = x0, []
    for _ in range(K):
        g = x - c
        grads.append(abs(g))
        x = x - t * scale * np.sign(g)
    return np.array(grads)


def test_i1_is_tight_at_delta_zero_and_nearly_tight_with_shrink():
    thm = bounds.get("S1.I1")
    c, t, K = 0.0, 0.01, 200
    grads = run_scalar_lmo(c + K * t, c, t, K, 0.0, "exact")  # lands exactly on c after K steps
    bound = float(thm.evaluate(L=1.0, t=t, Delta0=0.5 * (K * t) ** 2, K=K, delta=0.0))
    assert grads.mean() == pytest.approx(bound, rel=RTOL)
    for delta, tightness in ((0.1, 0.99), (0.5, 0.95), (0.8, 0.7)):
        x0 = c + K * t * (1 - delta)
        grads = run_scalar_lmo(x0, c, t, K, delta, "shrink")
        bound = float(thm.evaluate(L=1.0, t=t, Delta0=0.5 * (x0 - c) ** 2, K=K, delta=delta))
        assert grads.mean() <= bound
        assert grads.mean() / bound > tightness  # tight up to the (1 + delta)^2 / (1 - delta) curvature term
        halved = dataclasses.replace(thm, expr=thm.expr / 2)  # mutation: constant understated
        assert grads.mean() > float(halved.evaluate(L=1.0, t=t, Delta0=0.5 * (x0 - c) ** 2, K=K, delta=delta))


def test_i1_holds_for_every_oracle_on_a_step_grid():
    thm = bounds.get("S1.I1")
    c, K, x0 = 0.0, 50, 1.7
    for delta, kind, t in itertools.product((0.0, 0.3, 0.7), ("shrink", "expand"), np.geomspace(1e-3, 1, 13)):
        grads = run_scalar_lmo(x0, c, t, K, delta, kind)
        assert grads.mean() <= float(thm.evaluate(L=1.0, t=t, Delta0=0.5 * x0**2, K=K, delta=delta)) * (
            1 + 1e-12
        )


def test_i1_step_optimum_by_grid_and_a_doubled_t_star_is_caught():
    thm = bounds.get("S1.I1")
    consts = dict(L=2.0, Delta0=3.0, K=400.0, delta=0.4)
    t_star = float(thm.optimal_controls(**consts)["t"])
    grid = np.geomspace(t_star / 10, t_star * 10, 4001)
    values = thm.evaluate(t=grid, **consts).require()
    assert grid[np.argmin(values)] == pytest.approx(t_star, rel=2e-3)
    doubled = dataclasses.replace(thm, claims={**thm.claims, "t_opt": 2 * thm.claims["t_opt"]})
    assert any(": t_opt:" in p for p in doubled.verify())
    t_claimed = 2 * t_star
    assert float(thm.evaluate(t=t_claimed, **consts)) > 1.2 * values.min()


# ------------------------------------------------------------------------------------------------
# I2: (L0, L1) adaptive step
# ------------------------------------------------------------------------------------------------
L0_COSH, L1_COSH = (
    2 * np.cosh(1.0),
    np.e,
)  # f(x) = 2 cosh x: f'' = 2cosh(z) <= 2cosh(1) + e|f'(x)| for |z - x| <= 1


def test_i2_step_on_cosh_with_every_oracle(rng):
    step = bounds.get("S1.I2.step")
    descent = bounds.get("S1.I2.descent")
    n = 300
    x, delta = rng.uniform(-4, 4, n), rng.uniform(0, 0.9, n)
    a = np.abs(2 * np.sinh(x))
    layer = dict(a_i=a[:, None], L0_i=L0_COSH, L1_i=L1_COSH, delta_i=delta[:, None])  # one layer per draw
    t = descent.optimal_controls(**layer)["t_i"].require()[:, 0]
    assert np.all(t * (1 + delta) <= 1)  # the step stays within the (L0, L1) radius
    bound = step.evaluate(**layer).require()
    for err in (-delta, delta, rng.uniform(-1, 1, n) * delta):  # shrink, expand, random error
        D = -np.sign(x) * (1 + err)
        change = 2 * np.cosh(x + t * D) - 2 * np.cosh(x)
        assert np.all(change <= bound + 1e-12)


def test_i2_step_is_tight_on_a_quadratic_and_an_overstated_decrease_is_caught():
    step = bounds.get("S1.I2.step")
    L, x = 3.0, 1.7  # f = L/2 x^2 is (L0, L1) = (L, 0); the exact step a/L decreases f by a^2/(2L)
    a = L * x
    change = 0.5 * L * (x - a / L) ** 2 - 0.5 * L * x**2
    bound = float(step.evaluate(a_i=a, L0_i=L, L1_i=0.0, delta_i=0.0))
    assert change == pytest.approx(bound, rel=RTOL)
    doubled = dataclasses.replace(step, per_layer=2 * step.per_layer)  # claims twice the decrease
    assert change > float(doubled.evaluate(a_i=a, L0_i=L, L1_i=0.0, delta_i=0.0))


def test_i2_sum_bound_on_a_cosh_run():
    total_bound = bounds.get("S1.I2.sum")
    descent = bounds.get("S1.I2.descent")
    combos = list(itertools.product((0.0, 0.3, 0.6), ("shrink", "expand")))
    delta = np.array([d for d, _ in combos])
    scale = np.array([1 - d if kind == "shrink" else 1 + d for d, kind in combos])
    x, acc = np.full(len(combos), 3.0), np.zeros(len(combos))  # all runs batched
    for _ in range(200):
        a = np.abs(2 * np.sinh(x))
        acc += a**2 / (L0_COSH + L1_COSH * a)
        t = descent.optimal_controls(a_i=a[:, None], L0_i=L0_COSH, L1_i=L1_COSH, delta_i=delta[:, None])[
            "t_i"
        ]
        x = x - t.require()[:, 0] * scale * np.sign(x)
    assert np.all(acc <= total_bound.evaluate(Delta0=2 * np.cosh(3.0) - 2, delta=delta).require())


# ------------------------------------------------------------------------------------------------
# I3 / I4: a scalar whose step direction never changes, so every expectation is exact
# ------------------------------------------------------------------------------------------------
def drifting_scalar(K, t, alpha, delta, L, c, x0):
    """f(x) = c x + (L/2) x^2 with c large: the EMA momentum stays positive, D = -(1 + delta) (expand)."""
    x = x0 - t * (1 + delta) * np.arange(K + 1)
    return x, c + L * x


def momentum_errors_exact(K, t, alpha, delta, L, sigma):
    """E|M^k - ∇f(X^k)| for Rademacher noise (+-sigma), by enumerating all 2^(K+1) sign paths."""
    beta = 1 - alpha
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=K + 1)))  # (paths, K+1)
    drift = L * t * (1 + delta)  # ∇f(x^{k-1}) - ∇f(x^k)
    eps = sigma * signs[:, 0]
    out = [np.mean(np.abs(eps))]
    for k in range(1, K + 1):
        eps = beta * eps + beta * drift + alpha * sigma * signs[:, k]
        out.append(np.mean(np.abs(eps)))
    return np.array(out), drift * beta / alpha + sigma  # worst |eps| over all paths and steps


def test_i3_momentum_error_is_exactly_bounded_and_tight_without_noise():
    thm = bounds.get("S1.I3.error")
    K, t, alpha, delta, L, sigma = 10, 0.05, 0.3, 0.4, 2.0, 0.7
    errs, _ = momentum_errors_exact(K, t, alpha, delta, L, sigma)
    bound = thm.evaluate(
        alpha=alpha, k=np.arange(K + 1), rho=1.0, sigma=sigma, L=L, t=t, delta=delta
    ).require()
    assert np.all(errs <= bound)
    # sigma = 0: eps^k = L t (1 + delta) beta (1 - beta^k)/alpha -> the drift term exactly
    beta, k = 1 - alpha, 200
    eps = L * t * (1 + delta) * beta * (1 - beta**k) / alpha
    b0 = float(thm.evaluate(alpha=alpha, k=k, rho=1.0, sigma=0.0, L=L, t=t, delta=delta))
    assert eps <= b0 and eps / b0 > 1 - 1e-12
    halved = dataclasses.replace(thm, expr=thm.expr.subs(S.L, S.L / 2))  # drift constant understated
    assert eps > float(halved.evaluate(alpha=alpha, k=k, rho=1.0, sigma=0.0, L=L, t=t, delta=delta))


def test_i3_average_gradient_bound_on_the_exact_scalar_run():
    thm = bounds.get("S1.I3")
    K, L, c, sigma = 12, 1.0, 50.0, 1.0
    for t, alpha, delta in itertools.product((0.05, 0.5), (0.1, 0.5, 1.0), (0.0, 0.5)):
        x, grad = drifting_scalar(K, t, alpha, delta, L, c, x0=0.0)
        _, worst = momentum_errors_exact(K, t, alpha, delta, L, sigma)
        assert np.all(grad[:K] > worst)  # the direction is -sign(M) = -1 on every noise path
        Delta0 = c * x[0] + L / 2 * x[0] ** 2 - (-(c**2) / (2 * L))
        bound = float(
            thm.evaluate(L=L, t=t, alpha=alpha, Delta0=Delta0, K=K, rho=1.0, sigma=sigma, delta=delta)
        )
        assert np.mean(np.abs(grad[:K])) <= bound


def test_i4_matches_i4_opt_at_the_step_cap():
    i4, opt = bounds.get("S1.I4"), bounds.get("S1.I4.opt")
    rho, sig, L1 = np.array([1.0, 2.0, 1.5]), np.array([0.3, 0.1, 0.2]), np.array([1.0, 4.0, 0.5])
    for alpha, delta in itertools.product((0.01, 0.3, 1.0), (0.0, 0.5)):
        cap = (1 - delta) * alpha / (4 * L1 * (1 + delta))
        weighted = float(
            i4.evaluate(
                alpha=alpha,
                K=100,
                Delta0=2.0,
                delta=delta,
                t_i=cap,
                rho_i=rho,
                sigma_i=sig,
                L0_i=0.0,
                L1_i=L1,
            )
        )
        over_l1 = float(opt.evaluate(alpha=alpha, K=100, Delta0=2.0, delta=delta, S=np.sum(rho * sig / L1)))
        assert weighted == pytest.approx(alpha * (1 - delta) / (4 * (1 + delta)) * over_l1, rel=1e-12)
    ti = opt.optimal_controls(K=100, Delta0=2.0, delta=0.2, S=1.0, L1_i=L1)["t_i"].require()
    assert ti.shape == (3,) and np.allclose(ti * L1, ti[0] * L1[0])


def test_i4_on_a_two_layer_exact_scalar_run():
    """Two separable layers f_i(x) = c_i x + (L_i/2) x^2: (L0, L1) = (L_i, any L1 > 0); steps at the cap."""
    thm = bounds.get("S1.I4")
    K, c, Lq, L1, sigma = 12, np.array([40.0, 60.0]), np.array([1.0, 2.0]), np.array([1.0, 0.5]), 0.5
    for alpha, delta in itertools.product((0.2, 0.8), (0.0, 0.4)):
        t = (1 - delta) * alpha / (4 * L1 * (1 + delta))
        x = -t[None, :] * (1 + delta) * np.arange(K + 1)[:, None]
        grad = c + Lq * x
        worst = Lq * t * (1 + delta) * (1 - alpha) / alpha + sigma
        assert np.all(grad > worst)
        Delta0 = float(np.sum(c**2 / (2 * Lq)))  # f(0) - min f per layer
        lhs = np.mean(np.sum(t * grad[:K], axis=1))
        bound = float(
            thm.evaluate(
                alpha=alpha,
                K=K,
                Delta0=Delta0,
                delta=delta,
                t_i=t,
                rho_i=1.0,
                sigma_i=sigma,
                L0_i=Lq,
                L1_i=L1,
            )
        )
        assert lhs <= bound
