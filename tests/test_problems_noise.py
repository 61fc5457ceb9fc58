"""Noise models: exact variance σ² (within the Monte-Carlo standard error), unbiasedness, mean-squared
smoothness L_ms, same-sample evaluation at two points, seeds and stream independence, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest

import problems
from lab.backend import to_numpy
from problems import probes

B = 20_000  # Monte-Carlo members: relative standard errors of about 1e-2 or below


def host(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


def within_se(values, target, k=4.0):
    """|mean − target| ≤ k standard errors of the mean (the test of every 'exact σ²' claim)."""
    values = np.asarray(values, dtype=np.float64)
    se = values.std(ddof=1) / np.sqrt(values.size)
    return abs(values.mean() - target) <= k * se, (values.mean(), target, se)


def noise_sq(p, X, members, counter=0, tag="noise"):
    """‖g(X; ξ) − ∇f(X)‖_F² for ``members`` independent samples at the same point X."""
    xp = p.xp
    Xb = tuple(xp.broadcast_to(x, (members,) + tuple(x.shape)) for x in X)
    s = p.sample(p.make_rng(range(members), tag).at(counter))
    g, G = p.stochastic_grad(Xb, s), p.grad(Xb)
    return host(sum(xp.sum((a - b) ** 2, axis=(-2, -1)) for a, b in zip(g, G, strict=True))), g, G


def point(p, scale=0.7, seed=123):
    rng = p.make_rng([seed], "point")
    Z = probes.random_direction(p, rng)
    if p.constants.X_star is not None:
        return tuple(xs + scale * z[0, ...] for xs, z in zip(p.constants.X_star, Z, strict=True))
    return tuple(x[0, ...] for x in p.x0(rng))


# -- additive noise ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, params",
    [
        ("gaussian", dict(sigma=0.3)),
        ("student_t", dict(sigma=0.3, nu=8)),
        ("student_t", dict(sigma2=0.09, nu=5, mode="entrywise")),
    ],
)
def test_additive_noise_has_exact_variance(model, params):
    p = problems.make("deep_linear", d=4, k=3, widths=(3,), N=16).with_noise(model, **params)
    assert p.constants.sigma2 == pytest.approx(0.09)
    blocks = [b.sigma2 for b in p.constants.blocks]
    assert sum(blocks) == pytest.approx(0.09) and blocks[0] / blocks[1] == pytest.approx(12 / 9)  # by entries
    sq, g, G = noise_sq(p, point(p), B)
    ok, info = within_se(sq, p.constants.sigma2)
    assert ok, info
    wrong_ok, _ = within_se(sq, 1.05 * p.constants.sigma2)  # a 5% overstatement is detected
    assert not wrong_ok
    per_block = host(np.sum((g[0] - G[0]) ** 2, axis=(-2, -1)))
    assert within_se(per_block, blocks[0])[0]
    for gi, Gi in zip(g, G, strict=True):  # unbiased: every entry's mean within 5 standard errors
        z = (gi.mean(axis=0) - Gi[0]) / (gi.std(axis=0, ddof=1) / np.sqrt(B))
        assert np.abs(z).max() < 5.0
    assert np.allclose(host(p.variance(point(p))), 0.09)


def test_student_t_is_heavy_tailed():
    p = problems.make("isotropic_quadratic", m=4, n=3)
    entries = {}
    for name, params in [("gaussian", dict(sigma=1.0)), ("student_t", dict(sigma=1.0, nu=8))]:
        q = p.with_noise(name, **params)
        _, g, G = noise_sq(q, point(q), B)
        entries[name] = (g[0] - G[0]).ravel()
    kurt = {k: np.mean(v**4) / np.mean(v**2) ** 2 - 3.0 for k, v in entries.items()}
    assert abs(kurt["gaussian"]) < 0.1 and kurt["student_t"] > 0.8  # t_8 excess kurtosis 6/(ν−4) = 1.5


def test_per_member_noise_levels_broadcast_over_the_batch():
    sig = np.array([0.1, 1.0, 3.0])
    p = problems.make("kronecker_quadratic", m=4, n=3).with_noise("gaussian", sigma=sig)
    assert np.allclose(p.constants.sigma2, sig**2)
    X = (np.broadcast_to(point(p)[0], (4000, 3, 4, 3)),)
    s = p.sample(p.make_rng(np.arange(12000).reshape(4000, 3)))
    sq = np.sum((p.stochastic_grad(X, s)[0] - p.grad(X)[0]) ** 2, axis=(-2, -1))
    for j in range(3):
        assert within_se(sq[:, j], sig[j] ** 2)[0]


def test_noise_works_on_array_api_strict(xp):
    p = problems.make("kronecker_quadratic", m=4, n=3, xp=xp)
    for model, params in [
        ("gaussian", dict(sigma=0.5)),
        ("student_t", dict(sigma=0.5, nu=6)),
        ("hessian", dict(scale=0.2)),
        ("minibatch", {}),
    ]:
        if model == "minibatch":
            q = problems.make("quadratic", m=4, n=3, xp=xp).with_noise(model, batch_size=2)
        else:
            q = p.with_noise(model, **params)
        X = point(q)
        sq, _, _ = noise_sq(q, X, 4000)
        assert within_se(sq, float(q.variance(X)))[0], model


# -- finite sums --------------------------------------------------------------------------------------------
SMALL_FINITE_SUMS = [  # small instances (fast Monte Carlo); the least squares first (their σ² is a sup)
    ("quadratic", dict(m=4, n=3, p=9, q=5, residual=0.5)),
    ("overparam_least_squares", dict(p=4, m=7, n=3)),
    ("constrained_least_squares", dict(m=4, n=3)),
    ("logcosh", dict(m=4, n=3, mode="linear", p=9)),
    ("softmax_regression", dict(k=3, d=4, N=30)),
    ("deep_linear", dict(d=4, k=3, widths=(3, 3), N=20)),
    ("teacher_student", dict(d=4, h=6, k=2, N=20)),
]
problems.load_plugins()  # installed and LAB_PLUGINS problems are registered problems too
# Every other registered problem that is a finite sum at its defaults is tested at its defaults.
FINITE_SUMS = SMALL_FINITE_SUMS + [
    (name, {})
    for name in sorted(set(problems.REGISTRY) - {n for n, _ in SMALL_FINITE_SUMS})
    if hasattr(problems.make(name), "finite_sum_grad")
]


@pytest.mark.parametrize("name, params", FINITE_SUMS, ids=[f[0] for f in FINITE_SUMS])
def test_minibatch_variance_is_exact_and_unbiased(name, params):
    p = problems.make(name, **params).with_noise("minibatch", batch_size=3)
    X = point(p)
    sq, g, G = noise_sq(p, X, B)
    ok, info = within_se(sq, float(p.variance(X)))
    assert ok, info
    for gi, Gi in zip(g, G, strict=True):  # unbiased: every entry's mean within 5 standard errors
        z = (gi.mean(axis=0) - Gi[0]) / (gi.std(axis=0, ddof=1) / np.sqrt(B) + 1e-300)
        assert np.abs(z).max() < 5.0
    if p.constants.sigma2 is not None:
        assert float(p.variance(X)) <= p.constants.sigma2


@pytest.mark.parametrize("name, params", FINITE_SUMS[:4], ids=[f[0] for f in FINITE_SUMS[:4]])
def test_minibatch_sigma2_holds_on_its_ball_and_L_ms_is_not_exceeded(name, params):
    p = problems.make(name, **params).with_noise("minibatch", batch_size=2)
    c = p.constants
    R = c.extra["noise_sigma2_radius"]
    if R is not None:  # least squares: σ² is the sup of the exact variance over ‖X − X*‖_F ≤ R
        X = tuple(p.constants.X_star[0] + R * d for d in probes.random_direction(p, p.make_rng(range(500))))
        assert host(p.variance(X)).max() <= c.sigma2 * (1 + 1e-12)
    X, Y = point(p, 0.5, 1), point(p, 0.9, 2)
    xp = p.xp
    s = p.sample(p.make_rng(range(B), "lms"))
    d = (
        p.stochastic_grad((xp.broadcast_to(X[0], (B,) + X[0].shape),), s)[0]
        - p.stochastic_grad((xp.broadcast_to(Y[0], (B,) + Y[0].shape),), s)[0]
    )
    ms = np.sum(d**2, axis=(-2, -1)) / np.sum((X[0] - Y[0]) ** 2)
    assert ms.mean() <= c.L_ms**2 + 4 * ms.std() / np.sqrt(B)


def test_least_squares_minibatch_constants_are_attained_under_interpolation():
    """For f* = 0 the variance sup and L_ms are exact: attained at D = R·u vᵀ (top eigenvectors)."""
    p = problems.make("overparam_least_squares", p=4, m=7, n=3).with_noise(
        "minibatch", batch_size=2, radius=1.5
    )
    A, N, b = p.A_host, p.n_samples, 2
    P = A.T @ A
    M = N * (A.T * np.sum(A * A, axis=1)) @ A - P @ P
    u = np.linalg.eigh(M)[1][:, -1]
    X = (p.constants.X_star[0] + 1.5 * np.outer(u, np.eye(3)[0]),)
    assert float(p.variance(X)) == pytest.approx(p.constants.sigma2, rel=1e-10)
    w = np.linalg.eigh(P @ P + M / b)[1][:, -1]
    D = np.outer(w, np.eye(3)[0])
    s = p.sample(p.make_rng(range(B), "att"))
    Xs = np.broadcast_to(p.constants.X_star[0], (B, 7, 3))
    d = p.stochastic_grad((Xs + D,), s)[0] - p.stochastic_grad((Xs,), s)[0]
    ok, info = within_se(np.sum(d**2, axis=(-2, -1)), p.constants.L_ms**2)
    assert ok, info


# -- Hessian noise -----------------------------------------------------------------------
def test_hessian_noise_variance_and_L_ms_are_exact():
    p = problems.make("kronecker_quadratic", m=5, n=3, L=2.0, mu=0.1, split=0.5).with_noise(
        "hessian", scale=0.3
    )
    c = p.constants
    X = point(p, 1.0)  # on the sphere ‖X − X*‖_F = 1 = radius (init_distance)
    sq, g, G = noise_sq(p, X, B)
    assert within_se(sq, float(p.variance(X)))[0]
    assert float(p.variance(X)) <= c.sigma2 * (1 + 1e-12)
    z = (g[0].mean(axis=0) - G[0][0]) / (g[0].std(axis=0, ddof=1) / np.sqrt(B))
    assert np.abs(z).max() < 5.0
    # σ² attained at D = u_Q-aligned direction, L_ms attained along the top eigenvectors of P and Q
    UP, UQ = np.linalg.eigh(p.P_host)[1][:, -1], np.linalg.eigh(p.Q_host)[1][:, -1]
    D = np.outer(UP, UQ)
    assert float(p.variance((p.constants.X_star[0] + D,))) == pytest.approx(c.sigma2, rel=1e-10)
    s = p.sample(p.make_rng(range(B), "lms"))
    Xs = np.broadcast_to(p.constants.X_star[0], (B, 5, 3))
    d = p.stochastic_grad((Xs + D,), s)[0] - p.stochastic_grad((Xs,), s)[0]
    ok, info = within_se(np.sum(d**2, axis=(-2, -1)), c.L_ms**2)
    assert ok, info
    assert c.L_ms > c.L_frobenius  # a sample-dependent Hessian makes L_ms non-trivial


# -- samples, seeds, streams -------------------------------------------------------------
@pytest.mark.parametrize(
    "model, params",
    [
        ("gaussian", dict(sigma=1.0)),
        ("student_t", dict(sigma=1.0, nu=5)),
        ("minibatch", dict(batch_size=2)),
        ("hessian", dict(scale=0.5)),
    ],
)
def test_same_sample_at_two_points_and_seeded_streams(model, params):
    p = problems.make("quadratic", m=4, n=3, p=6).with_noise(model, **params)
    X, Y = point(p, 0.3, 1), point(p, 0.8, 2)
    rng = p.make_rng([3, 7, 11])
    s = p.sample(rng.at(5))
    gX = p.stochastic_grad((np.broadcast_to(X[0], (3, 4, 3)),), s)[0]
    gY = p.stochastic_grad((np.broadcast_to(Y[0], (3, 4, 3)),), s)[0]
    if model in ("gaussian", "student_t"):  # additive: the same ξ cancels exactly
        assert np.allclose(gX - gY, p.grad(X)[0] - p.grad(Y)[0], atol=1e-14)
    # same seed and counter → same sample; batched == one by one
    s_again = p.sample(p.make_rng([3, 7, 11]).at(5))
    assert np.array_equal(p.stochastic_grad((np.broadcast_to(X[0], (3, 4, 3)),), s_again)[0], gX)
    for j, seed in enumerate([3, 7, 11]):
        one = p.sample(p.make_rng([seed]).at(5))
        assert np.array_equal(p.stochastic_grad((X[0][None],), one)[0][0], gX[j])
    # another counter → another sample; members differ from each other
    other = p.stochastic_grad((np.broadcast_to(X[0], (3, 4, 3)),), p.sample(rng.at(6)))[0]
    assert not np.array_equal(other, gX)
    assert not np.array_equal(gX[0], gX[1])


def test_member_streams_are_independent():
    p = problems.make("isotropic_quadratic", m=4, n=3).with_noise("gaussian", sigma=1.0)
    X = (np.broadcast_to(point(p)[0], (2, 4, 3)),)
    draws = np.stack(
        [p.stochastic_grad(X, p.sample(p.make_rng([0, 1]).at(t)))[0] - p.grad(X)[0] for t in range(2000)]
    )  # (T, 2, 4, 3)
    a, b = draws[:, 0].ravel(), draws[:, 1].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 4.0 / np.sqrt(a.size)
    lag = np.corrcoef(draws[1:, 0].ravel(), draws[:-1, 0].ravel())[0, 1]  # successive counters
    assert abs(lag) < 4.0 / np.sqrt(a.size)


def test_noise_free_problem_hands_out_exact_gradients():
    p = problems.make("quadratic", m=4, n=3)
    assert p.constants.sigma2 == 0.0 and p.constants.L_ms == p.constants.L_frobenius
    X = p.x0(p.make_rng(range(3)))
    assert np.array_equal(p.stochastic_grad(X, p.sample(p.make_rng(range(3))))[0], p.grad(X)[0])
    q = p.with_noise("gaussian", sigma=1.0).with_noise("none")
    assert q.constants.sigma2 == 0.0 and q.describe()["noise"]["name"] == "none"


@pytest.mark.parametrize(
    "name, model, params, word",
    [
        ("quadratic", "gaussian", dict(sigma=-0.1), "sigma"),
        ("quadratic", "gaussian", dict(sigma=0.1, sigma2=0.01), "exactly one"),
        ("quadratic", "gaussian", dict(sigma=[0.1, -1.0]), "sigma"),
        ("quadratic", "student_t", dict(sigma=0.1, nu=2), "nu"),
        ("quadratic", "student_t", dict(sigma=0.1, nu=3.5), "nu"),
        ("quadratic", "student_t", dict(sigma=0.1, mode="per-block"), "mode"),
        ("quadratic", "minibatch", dict(batch_size=0), "batch_size"),
        ("quartic", "minibatch", dict(batch_size=2), "finite-sum"),
        ("quartic", "hessian", dict(scale=0.1), "quadratic"),
        ("quadratic", "hessian", dict(scale=-1.0), "scale"),
        ("quadratic", "poisson", {}, "noise"),
    ],
)
def test_bad_noise_parameters(name, model, params, word):
    with pytest.raises(ValueError, match=word):
        problems.make(name).with_noise(model, **params)
