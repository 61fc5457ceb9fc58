"""Certify the constants of the non-quadratic single-block families: quartic, logcosh, softmax regression."""

from __future__ import annotations

import numpy as np
import pytest

import problems
from lab.backend import to_numpy
from problems import probes
from problems.base import BlockConstants
from problems.smooth import quartic_l0

SMOOTH = {
    "quartic": ("quartic", dict(m=5, n=3, c=0.7, d=0.3, L1=2.0)),
    "quartic_spectral": ("quartic", dict(m=5, n=3, c=0.7, d=0.3, L1=2.0, geometry="spectral")),
    "logcosh": ("logcosh", dict(m=5, n=3)),
    "logcosh_linear": ("logcosh", dict(m=4, n=3, mode="linear", p=7, L=2.0, mu_A=0.2)),
    "softmax": ("softmax_regression", dict(k=3, d=5, N=40, l2=0.05)),
}


def build(key, **extra):
    name, params = SMOOTH[key]
    return problems.make(name, **{**params, **extra})


def host(x):
    return np.asarray(to_numpy(x), dtype=np.float64)


def points(p, seeds, scales, tag="pts", center=None):
    xp = p.xp
    center = p.constants.X_star[0] if center is None else center
    Z = probes.random_direction(p, p.make_rng(seeds, tag), "z")[0]
    return (center + xp.asarray(np.asarray(scales, dtype=np.float64), dtype=p.dtype)[:, None, None] * Z,)


@pytest.mark.parametrize("key", sorted(SMOOTH))
def test_gradient_matches_central_differences(xp, key):
    p = build(key, xp=xp)
    X = points(p, range(6), np.logspace(-1, 0.5, 6))
    err = host(probes.gradient_fd_errors(p, X, p.make_rng(range(6), "fd"), h=1e-5))
    assert err.max() < 1e-7, err


@pytest.mark.parametrize("key", sorted(SMOOTH))
def test_batched_equals_one_by_one(xp, key):
    p = build(key, xp=xp)
    X = p.x0(p.make_rng(range(4)))
    F, G = host(p.f(X)), host(p.grad(X)[0])
    for i in range(4):
        Xi = (X[0][i, ...],)
        assert float(p.f(Xi)) == F[i] and np.array_equal(host(p.grad(Xi)[0]), G[i])


# -- quartic: (L0, L1) on the stated radius, PL with μ = d ------------------------------------------
def test_quartic_l0_closed_form_matches_brute_force():
    for c, d, L1, R in [
        (0.7, 0.3, 2.0, 0.5),
        (1.0, 1.0, 1.0, 1.0),
        (2.0, 0.0, 0.5, 2.0),
        (0.0, 1.0, 1.0, 1.0),
    ]:
        s = np.linspace(0, 200, 2_000_001)
        h = 3 * c * (s + R) ** 2 + d - L1 * (c * s**3 + d * s)
        L0 = quartic_l0(c, d, L1, R)
        assert h.max() <= L0 * (1 + 1e-12)
        assert h.max() >= L0 * (1 - 1e-8)


@pytest.mark.parametrize("key", ["quartic", "quartic_spectral"])
def test_quartic_l0_l1_holds_on_the_radius(key):
    p = build(key)
    b = p.constants.blocks[0]
    B = 400
    rng = np.random.default_rng(1)
    s = np.logspace(-3, 1.5, B)
    X = points(p, range(B), s)
    # steps of length ≤ radius in the block's norm, random and radial (the worst direction)
    U = probes.random_direction(p, p.make_rng(range(B), "u"))[0]
    radial = (X[0] - p.C) / np.linalg.norm(X[0] - p.C, axis=(-2, -1), keepdims=True)
    U = np.where((np.arange(B) % 2 == 0)[:, None, None], U, -radial)
    U = U / host(probes.block_norm(np, U, b.norm))[:, None, None]
    r = b.radius * rng.uniform(0.01, 1.0, B)
    Y = (X[0] + r[:, None, None] * U,)
    assert host(probes.within_radius(p, X, Y)[0]).all()
    ratios = host(probes.l0l1_ratios(p, X, Y)[0])
    assert ratios.max() <= 1.0, ratios.max()
    # a global L-smoothness claim (L1 = 0) with the same L0 is refuted far from C
    wrong = (BlockConstants(b.shape, b.norm, L0=b.L0, L1=0.0, radius=b.radius),)
    assert host(probes.l0l1_ratios(p, X, Y, wrong)[0]).max() > 1.0


def test_quartic_pl_with_mu_d_and_tight_near_the_minimiser():
    p = build("quartic")
    X = points(p, range(200), np.logspace(-4, 1.5, 200))
    ratios = probes.pl_ratios(p, X)
    assert ratios.min() >= p.constants.mu * (1 - 1e-9)
    assert ratios.min() <= p.constants.mu * (1 + 1e-6)  # attained as X → C
    assert p.constants.f_star == 0.0 and float(p.f(p.constants.X_star)) == 0.0


def test_quartic_bad_parameters():
    with pytest.raises(ValueError, match="c"):
        problems.make("quartic", c=-1.0)
    with pytest.raises(ValueError, match="L1"):
        problems.make("quartic", L1=0.0)
    with pytest.raises(ValueError, match="c \\+ d"):
        problems.make("quartic", c=0.0, d=0.0)
    with pytest.raises(ValueError, match="geometry"):
        problems.make("quartic", geometry="nuclear")


# -- logcosh and softmax: L in Frobenius and spectral geometry ----------------------------------------
@pytest.mark.parametrize("key", ["logcosh", "logcosh_linear", "softmax"])
def test_smoothness_constants_are_never_exceeded(key):
    p = build(key)
    c = p.constants
    B = 200
    X = points(p, range(B), np.logspace(-3, 1.5, B), "x")
    Y = points(p, range(B), np.logspace(1.5, -3, B), "y")
    assert probes.smoothness_ratios(p, X, Y, "frobenius").max() <= c.L_frobenius * (1 + 1e-12)
    assert probes.smoothness_ratios(p, X, Y, "spectral").max() <= c.L_spectral * (1 + 1e-12)
    near = points(p, range(B), np.logspace(-6, -3, B), "near")
    assert probes.smoothness_ratios(p, X, near, "spectral").max() <= c.L_spectral * (1 + 1e-12)
    D = probes.random_direction(p, p.make_rng(range(B), "d"))[0] * np.logspace(-3, 1, B)[:, None, None]
    gap = p.f((X[0] + D,)) - p.f(X) - np.sum(p.grad(X)[0] * D, axis=(-2, -1))
    assert np.all(gap <= 0.5 * c.L_op * np.linalg.norm(D, 2, axis=(-2, -1)) ** 2 * (1 + 1e-9) + 1e-14)
    top = probes.hessian_top_eigenvalue(p, (X[0][:16],), p.make_rng(range(16)), iters=100)
    assert top.max() <= c.L_frobenius * (1 + 1e-6)
    adv = probes.spectral_adversarial(p, (X[0][:8],), p.make_rng(range(8)), iters=40)
    assert adv.max() <= c.L_spectral * (1 + 1e-6)


@pytest.mark.parametrize("key", ["logcosh", "logcosh_linear"])
def test_logcosh_constants_are_attained_at_the_minimiser(key):
    """sech²(0) = 1: the Hessian at X* is AᵀA ⊗ I, whose constants are the stated ones."""
    p = build(key)
    Xs = (np.broadcast_to(p.constants.X_star[0], (8,) + p.block_shapes[0]),)
    top = probes.hessian_top_eigenvalue(p, Xs, p.make_rng(range(8)), iters=300, eps=1e-5)
    assert top.max() >= p.constants.L_frobenius * (1 - 1e-6)
    adv = probes.spectral_adversarial(p, Xs, p.make_rng(range(8)), iters=60, eps=1e-5)
    assert adv.max() >= 0.97 * p.constants.L_spectral
    # and an understated spectral constant (·0.8) is refuted there
    assert adv.max() > 0.8 * p.constants.L_spectral


def test_logcosh_gradient_bound_G():
    p = build("logcosh_linear")
    X = points(p, range(100), np.logspace(0, 4, 100))
    g = np.linalg.norm(p.grad(X)[0], axis=(-2, -1))
    assert g.max() <= p.constants.G


def test_logcosh_f_star_matches_scipy():
    from scipy.optimize import minimize

    p = build("logcosh_linear")
    shape = p.block_shapes[0]
    res = minimize(
        lambda z: float(p.f((z.reshape(shape),))),
        np.zeros(np.prod(shape)),
        jac=lambda z: p.grad((z.reshape(shape),))[0].ravel(),
        method="BFGS",
        options={"gtol": 1e-12},
    )
    assert abs(res.fun - p.constants.f_star) <= 1e-12
    assert np.allclose(res.x.reshape(shape), p.X_star_host, atol=1e-6)


def test_softmax_pl_and_optimum_match_scipy():
    from scipy.optimize import minimize

    p = build("softmax")
    X = points(p, range(200), np.logspace(-3, 1.5, 200))
    assert probes.pl_ratios(p, X).min() >= p.constants.mu * (1 - 1e-9)
    shape = p.block_shapes[0]
    res = minimize(
        lambda z: float(p.f((z.reshape(shape),))),
        np.zeros(np.prod(shape)),
        jac=lambda z: p.grad((z.reshape(shape),))[0].ravel(),
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 10_000},
    )
    assert abs(res.fun - p.constants.f_star) <= 1e-11
    assert np.allclose(res.x.reshape(shape), p.W_star_host, atol=1e-7)
    assert np.linalg.norm(p.grad(p.constants.X_star)[0]) <= 1e-11


def test_softmax_without_regularisation_states_no_optimum():
    p = problems.make("softmax_regression", l2=0.0)
    assert p.constants.f_star is None and p.constants.mu is None
    with pytest.raises(ValueError, match="f_star"):
        p.delta0(p.x0(p.make_rng([0])))


def test_smooth_bad_parameters():
    with pytest.raises(ValueError, match="k"):
        problems.make("softmax_regression", k=1)
    with pytest.raises(ValueError, match="l2"):
        problems.make("softmax_regression", l2=-0.1)
    with pytest.raises(ValueError, match="mode"):
        problems.make("logcosh", mode="quadratic")
    with pytest.raises(ValueError, match="mu_A"):
        problems.make("logcosh", mode="linear", L=1.0, mu_A=2.0)
