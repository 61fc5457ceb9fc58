"""Certify the constants of the quadratic family (numpy and array-api-strict).

Each stated constant is probed: random pairs never exceed L; adversarial directions (power
iteration, alternating maximisation over spectral balls, aligned top eigen-directions) attain it;
the PL inequality holds at sampled points and is tight along the bottom eigen-direction; f* and X*
match an independent least-squares solve; a deliberately understated constant is caught.
"""

from __future__ import annotations

import numpy as np
import pytest

import problems
from lab.backend import to_numpy
from problems import probes

QUADRATICS = {
    "kronecker_aniso": ("kronecker_quadratic", dict(m=6, n=4, L=2.0, mu=0.02, split=0.6)),
    "kronecker_iso": ("kronecker_quadratic", dict(m=5, n=5, L=3.0, mu=3.0)),
    "quadratic_tall": ("quadratic", dict(m=5, n=4, p=7, q=6, L=2.0, mu=0.05, split=0.5, residual=0.3)),
    "quadratic_wide": ("quadratic", dict(m=6, n=3, p=4, q=3, L=1.0, mu=0.1, residual=0.2)),
    "isotropic": ("isotropic_quadratic", dict(m=5, n=3, L=2.5)),
    "overparam": ("overparam_least_squares", dict(p=3, m=7, n=4, L=1.5, mu=0.2)),
    "constrained": ("constrained_least_squares", dict(m=4, n=3, L=1.0, mu=0.1)),
    "flattening": ("flattening", dict(m=5, n=4, L=2.0, mu=0.5, spread=8.0)),
}
IDS = sorted(QUADRATICS)


def build(key, xp=None, **extra):
    name, params = QUADRATICS[key]
    return problems.make(name, xp=xp, **{**params, **extra})


def host(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


def random_points(p, seeds, scales, tag="pts"):
    """X* + scale·Z (unit-norm Z) with one scale per member."""
    xp = p.xp
    rng = p.make_rng(seeds, tag)
    Z = probes.random_direction(p, rng, "z")
    s = xp.asarray(np.asarray(scales, dtype=np.float64), dtype=p.dtype)[:, None, None]
    return (p.constants.X_star[0] + s * Z[0],)


def aligned_direction(p):
    """Δ = Σ_{i<r} u_i v_iᵀ, top eigenvectors of P and Q paired in order (the maximiser of ‖PΔQ‖_nuc)."""
    wP, UP = np.linalg.eigh(p.P_host)
    wQ, UQ = np.linalg.eigh(p.Q_host)
    UP, UQ = UP[:, ::-1], UQ[:, ::-1]
    r = min(p.block_shapes[0])
    return UP[:, :r] @ UQ[:, :r].T


@pytest.mark.parametrize("key", IDS)
def test_gradient_matches_central_differences(xp, key):
    p = build(key, xp=xp)
    X = random_points(p, range(6), np.logspace(-1, 1, 6))
    err = host(probes.gradient_fd_errors(p, X, p.make_rng(range(6), "fd"), h=1e-5))
    assert err.max() < 1e-7, err


@pytest.mark.parametrize("key", IDS)
def test_frobenius_L_is_never_exceeded_and_is_attained(xp, key):
    p = build(key, xp=xp)
    L = p.constants.L_frobenius
    B = 64
    X = random_points(p, range(B), np.logspace(-3, 2, B), "x")
    Y = random_points(p, range(B), np.logspace(2, -3, B), "y")
    ratios = host(probes.smoothness_ratios(p, X, Y, "frobenius"))
    assert ratios.max() <= L * (1 + 1e-12), (ratios.max(), L)
    Xs = (xp.broadcast_to(p.constants.X_star[0], (4,) + p.block_shapes[0]),)
    top = host(probes.hessian_top_eigenvalue(p, Xs, p.make_rng(range(4)), iters=300))
    assert top.max() <= L * (1 + 1e-10)
    assert top.min() >= L * (1 - 1e-6), (top, L)  # tight: the top eigen-direction attains L


@pytest.mark.parametrize("key", IDS)
def test_spectral_L_is_never_exceeded_and_is_attained(xp, key):
    p = build(key, xp=xp)
    L = p.constants.L_spectral
    B = 64
    X = random_points(p, range(B), np.logspace(-3, 2, B), "x")
    Y = random_points(p, range(B), np.logspace(2, -3, B), "y")
    ratios = host(probes.smoothness_ratios(p, X, Y, "spectral"))
    assert ratios.max() <= L * (1 + 1e-12)
    Xs = (xp.broadcast_to(p.constants.X_star[0], (8,) + p.block_shapes[0]),)
    adv = host(probes.spectral_adversarial(p, Xs, p.make_rng(range(8)), iters=60))
    assert adv.max() <= L * (1 + 1e-10)
    assert adv.max() >= 0.97 * L, (adv, L)
    # exact attainment along the aligned top eigen-directions (the proof's maximiser)
    D = xp.asarray(aligned_direction(p), dtype=p.dtype)
    ratio = host(
        probes.smoothness_ratios(p, (p.constants.X_star[0] + D,), (p.constants.X_star[0],), "spectral")
    )
    assert abs(float(ratio) - L) <= 1e-10 * L


@pytest.mark.parametrize("key", IDS)
def test_L_op_upper_model_holds_and_is_tight(xp, key):
    p = build(key, xp=xp)
    Lop = p.constants.L_op
    B = 48
    X = random_points(p, range(B), np.logspace(-2, 1, B), "x")
    D = (
        probes.random_direction(p, p.make_rng(range(B), "d"))[0]
        * xp.asarray(np.logspace(-3, 1, B), dtype=p.dtype)[:, None, None]
    )
    gap = p.f((X[0] + D,)) - p.f(X) - xp.sum(p.grad(X)[0] * D, axis=(-2, -1))
    bound = 0.5 * Lop * xp.linalg.matrix_norm(D, ord=2) ** 2
    assert np.all(host(gap) <= host(bound) * (1 + 1e-9) + 1e-14)
    Da = xp.asarray(aligned_direction(p), dtype=p.dtype)
    Xs = p.constants.X_star
    tight = float(p.f((Xs[0] + Da,)) - p.f(Xs)) / (0.5 * float(xp.linalg.matrix_norm(Da, ord=2)) ** 2)
    assert abs(tight - Lop) <= 1e-9 * Lop


@pytest.mark.parametrize("key", IDS)
def test_pl_inequality_holds_and_is_tight(xp, key):
    p = build(key, xp=xp)
    mu = p.constants.mu
    B = 64
    X = random_points(p, range(B), np.logspace(-2, 2, B))
    ratios = host(probes.pl_ratios(p, X))
    assert ratios.min() >= mu * (1 - 1e-9), (ratios.min(), mu)
    # tight along the bottom positive eigen-direction u vᵀ of P ⊗ Q
    wP, UP = np.linalg.eigh(p.P_host)
    wQ, UQ = np.linalg.eigh(p.Q_host)
    iP = int(np.argmax(wP > 1e-10 * wP.max()))
    iQ = int(np.argmax(wQ > 1e-10 * wQ.max()))
    D = xp.asarray(np.outer(UP[:, iP], UQ[:, iQ]), dtype=p.dtype)
    r = float(probes.pl_ratios(p, (p.constants.X_star[0] + D,)))
    assert abs(r - mu) <= 1e-8 * mu


def test_understated_constants_are_caught():
    """Deliberately wrong constants (L·0.8, L_spectral·0.8, μ·1.25) are refuted by the same probes."""
    p = build("kronecker_aniso")
    Xs = (np.broadcast_to(p.constants.X_star[0], (8,) + p.block_shapes[0]),)
    top = probes.hessian_top_eigenvalue(p, Xs, p.make_rng(range(8)), iters=300)
    assert top.max() > 0.8 * p.constants.L_frobenius
    adv = probes.spectral_adversarial(p, Xs, p.make_rng(range(8)), iters=60)
    assert adv.max() > 0.8 * p.constants.L_spectral
    X = random_points(p, range(256), np.logspace(-2, 2, 256))
    assert probes.pl_ratios(p, X).min() >= p.constants.mu * (1 - 1e-9)
    wP, UP = np.linalg.eigh(p.P_host)
    wQ, UQ = np.linalg.eigh(p.Q_host)
    D = np.outer(UP[:, 0], UQ[:, 0])
    assert probes.pl_ratios(p, (p.constants.X_star[0] + D,)) < 1.25 * p.constants.mu
    # and an understated L in the block constants is caught by the (L0, L1) probe
    blocks = (
        p.constants.blocks[0].__class__(
            p.block_shapes[0], "spectral", L0=0.8 * p.constants.L_spectral, L1=0.0
        ),
    )
    Da = aligned_direction(p)
    r = probes.l0l1_ratios(p, (p.constants.X_star[0] + Da,), p.constants.X_star, blocks)[0]
    assert float(r) > 1.0


@pytest.mark.parametrize("key", ["quadratic_tall", "quadratic_wide", "overparam", "constrained"])
def test_f_star_and_X_star_match_an_independent_lstsq(key):
    p = build(key)
    A, C = p.A_host, p.C_host
    m, n = p.block_shapes[0]
    Bm = np.eye(n) if p.B_host is None else p.B_host
    K = np.kron(A, Bm.T)  # row-major vec: vec(A X B) = (A ⊗ Bᵀ) vec(X)
    x, *_ = np.linalg.lstsq(K, C.ravel(), rcond=None)  # minimum-norm least-squares solution
    assert np.allclose(x.reshape(m, n), p.X_star_host, atol=1e-10, rtol=0)
    f_lstsq = 0.5 * float(np.sum((K @ x - C.ravel()) ** 2))
    assert abs(f_lstsq - p.constants.f_star) <= 1e-12 * max(1.0, f_lstsq)
    assert abs(float(p.f(p.constants.X_star)) - p.constants.f_star) <= 1e-12


def test_kronecker_f_star_matches_scipy_minimize():
    from scipy.optimize import minimize

    p = build("kronecker_aniso", f_star=0.7)
    shape = p.block_shapes[0]
    res = minimize(
        lambda z: float(p.f((z.reshape(shape),))),
        np.zeros(shape).ravel(),
        jac=lambda z: p.grad((z.reshape(shape),))[0].ravel(),
        method="BFGS",
        options={"gtol": 1e-12, "maxiter": 10_000},
    )
    assert abs(res.fun - p.constants.f_star) <= 1e-12
    assert np.allclose(res.x.reshape(shape), p.X_star_host, atol=1e-6)


def test_overparam_is_pl_but_not_strongly_convex():
    p = build("overparam")
    assert p.P_eigs.min() <= 1e-12 * p.P_eigs.max()  # AᵀA has a null space: not strongly convex
    assert p.constants.mu == pytest.approx(0.2, rel=1e-10)  # λ_min(AAᵀ)
    assert p.constants.f_star == 0.0
    # moving along the null space of A keeps f at f* = 0: minimisers are not unique
    w, V = np.linalg.eigh(p.P_host)
    null = np.outer(V[:, 0], np.ones(p.block_shapes[0][1]))
    assert float(p.f((p.constants.X_star[0] + 3.0 * null,))) <= 1e-20


@pytest.mark.parametrize("key", IDS)
def test_batched_equals_one_by_one(xp, key):
    p = build(key, xp=xp)
    rng = p.make_rng(np.arange(6).reshape(3, 2))
    X = p.x0(rng)
    F, G = host(p.f(X)), host(p.grad(X)[0])
    assert F.shape == (3, 2) and G.shape == (3, 2) + p.block_shapes[0]
    for i in range(3):
        for j in range(2):
            Xi = (X[0][i, j, ...],)
            assert float(p.f(Xi)) == F[i, j]
            assert np.array_equal(host(p.grad(Xi)[0]), G[i, j])
    one = p.x0(p.make_rng([int(np.arange(6).reshape(3, 2)[1, 0])]))
    assert np.array_equal(host(one[0][0, ...]), host(X[0][1, 0, ...]))


@pytest.mark.parametrize("key", IDS)
def test_same_seed_same_instance(key):
    a, b, c = build(key), build(key), build(key, seed=1)
    assert np.array_equal(a.P_host, b.P_host) and np.array_equal(a.X_star_host, b.X_star_host)
    assert not np.array_equal(a.X_star_host, c.X_star_host)


def test_flattening_designs_the_gradient_spectrum_and_threshold():
    for spread in (1.0, 4.0, 30.0):
        p = problems.make("flattening", m=6, n=4, L=2.0, sigma1=1.5, spread=spread)
        X0 = p.x0(p.make_rng([0]))
        G = p.grad(X0)[0][0]
        s = np.linalg.svd(G, compute_uv=False)
        assert np.allclose(s, p.gradient_singular_values, rtol=1e-10)
        assert s[0] == pytest.approx(1.5, rel=1e-12) and s[0] / s[-1] == pytest.approx(spread, rel=1e-10)
        eta = float(p.muon_threshold(X0)[0])
        assert eta == pytest.approx(2.0 * p.mean_singular_value / 2.0, rel=1e-10)  # 2σ̄/L (isotropic)
        # the one-step threshold by bisection matches the formula
        O = problems.polar(G)
        f0 = float(p.f((G * 0 + X0[0][0],)))
        lo, hi = 0.0, 10.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            (lo, hi) = (mid, hi) if float(p.f((X0[0][0] - mid * O,))) < f0 else (lo, mid)
        assert lo == pytest.approx(eta, rel=1e-8)
        assert p.gd_stability_threshold == pytest.approx(1.0)


def test_constrained_optimum_matches_scipy_slsqp():
    from scipy.optimize import minimize

    p = build("constrained")
    A, B, r = p.A_host, p.C_host, p.radius
    assert np.linalg.norm(p.X_star_host, 2) > r
    Xc, fc, gap = p.constrained_optimum()
    Xc = host(Xc)
    assert np.linalg.norm(Xc, 2) <= r * (1 + 1e-12)
    assert abs(gap) <= 1e-10  # Frank–Wolfe gap: zero exactly at the constrained optimum
    m, n = p.block_shapes[0]
    iu = np.triu_indices(n)

    def split(z):
        return z[: m * n].reshape(m, n), z[m * n :].reshape(n, n)

    def fun(z):
        return 0.5 * float(np.sum((A @ split(z)[0] - B) ** 2))

    def jac(z):
        g = np.zeros_like(z)
        g[: m * n] = (A.T @ (A @ split(z)[0] - B)).ravel()
        return g

    def cons(z):  # r²I − XᵀX = SᵀS  ⇔  ‖X‖_op ≤ r (smooth lifted form)
        X, S = split(z)
        return (r * r * np.eye(n) - X.T @ X - S.T @ S)[iu]

    z0 = np.concatenate([np.zeros(m * n), (r * np.eye(n)).ravel()])
    res = minimize(
        fun,
        z0,
        jac=jac,
        constraints=[{"type": "eq", "fun": cons}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    assert res.success
    assert abs(res.fun - fc) <= 1e-9 * max(1.0, fc)
    assert np.allclose(split(res.x)[0], Xc, atol=1e-6)
    assert fc > p.constants.f_star  # the constraint is active


def test_delta0_and_x0_distance():
    p = build("kronecker_aniso", init_distance=2.0)
    X0 = p.x0(p.make_rng(range(5)))
    assert np.allclose(np.linalg.norm(X0[0] - p.X_star_host, axis=(-2, -1)), 2.0)
    assert np.allclose(p.delta0(X0), p.f(X0) - p.constants.f_star)
    assert np.allclose(problems.delta0(p, X0), p.f(X0) - p.constants.f_star)


def test_float32_data_and_outputs():
    p = build("kronecker_aniso", dtype="float32")
    X = p.x0(p.make_rng(range(3)))
    assert X[0].dtype == np.float32 and p.grad(X)[0].dtype == np.float32 and p.f(X).dtype == np.float32


@pytest.mark.parametrize(
    "name, params, word",
    [
        ("kronecker_quadratic", dict(L=1.0, mu=2.0), "mu"),
        ("kronecker_quadratic", dict(mu=-1.0), "mu"),
        ("kronecker_quadratic", dict(eigs_A=[1.0, -1.0, 2.0], m=3), "eigs_A"),
        ("kronecker_quadratic", dict(eigs_A=[1.0, 2.0], m=3), "eigs_A"),
        ("kronecker_quadratic", dict(m=0), "m"),
        ("kronecker_quadratic", dict(split=1.5), "split"),
        ("quadratic", dict(L=-1.0), "L"),
        ("quadratic", dict(spectrum="cubic"), "spectrum"),
        ("isotropic_quadratic", dict(L=0.0), "L"),
        ("overparam_least_squares", dict(p=8, m=8), "p"),
        ("constrained_least_squares", dict(excess=0.5), "excess"),
        ("constrained_least_squares", dict(radius=-1.0), "radius"),
        ("flattening", dict(spread=0.5), "spread"),
        ("flattening", dict(grad_rank=9, m=4, n=3), "grad_rank"),
        ("quadratic", dict(bogus=1), "bogus"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(name, params, word):
    with pytest.raises(ValueError, match=word):
        problems.make(name, **params)


def test_bad_params_input_is_rejected():
    p = build("isotropic")
    with pytest.raises(TypeError, match="tuple"):
        p.f(np.zeros(p.block_shapes[0]))
    with pytest.raises(ValueError, match="shape"):
        p.grad((np.zeros((3, 3)),))
