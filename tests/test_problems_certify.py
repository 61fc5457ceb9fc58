"""A sweep over every registered problem at its default parameters (the instances `lab problems` lists):
each stated constant is checked against probes at sampled points."""

from __future__ import annotations

import numpy as np
import pytest

import problems
from problems import probes

problems.load_plugins()  # installed and LAB_PLUGINS problems are certified like the built-in ones
NAMES = sorted(problems.REGISTRY)


def sampled_pairs(p, B=64):
    """(X, Y) pairs around the problem's start distribution, at distances from 1e-4 to 10."""
    X = p.x0(p.make_rng(range(B), "sweep-x"))
    U = probes.random_direction(p, p.make_rng(range(B), "sweep-u"))
    r = np.logspace(-4, 1, B)[:, None, None]
    return X, tuple(x + r * u for x, u in zip(X, U, strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_default_instance_constants_hold_at_sampled_points(name):
    p = problems.make(name)
    c = p.constants
    X, Y = sampled_pairs(p)
    if c.L_frobenius is not None:
        assert probes.smoothness_ratios(p, X, Y, "frobenius").max() <= c.L_frobenius * (1 + 1e-12)
    if c.L_spectral is not None:
        assert probes.smoothness_ratios(p, X, Y, "spectral").max() <= c.L_spectral * (1 + 1e-12)
    if c.mu is not None:
        gap = p.f(X) - c.f_star
        keep = gap > 1e-12
        assert np.all(probes.pl_ratios(p, X)[keep] >= c.mu * (1 - 1e-9))
    if c.G is not None:
        assert np.linalg.norm(p.grad(Y)[0], axis=(-2, -1)).max() <= c.G
    if c.X_star is not None:
        assert float(p.f(c.X_star)) == pytest.approx(c.f_star, abs=1e-12)
        assert max(float(np.linalg.norm(g)) for g in p.grad(c.X_star)) < 1e-9
    # layer-wise (L0, L1) pairs on their radius
    for i, b in enumerate(c.blocks):
        if b.L0 is None:
            continue
        U = probes.random_direction(p, p.make_rng(range(64), "sweep-l0"))[i]
        U = U / probes.block_norm(np, U, b.norm)[:, None, None]
        step = (b.radius if b.radius is not None else 10.0) * np.linspace(0.01, 1.0, 64)[:, None, None]
        Yi = tuple(x + step * U if j == i else x for j, x in enumerate(X))
        assert probes.l0l1_ratios(p, X, Yi)[i].max() <= 1.0 + 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_norm_equivalence_rho(name):
    """Σ_i ‖G_i‖_(i)* ≤ ρ‖G‖_F and ‖G_i‖_(i)* ≤ ρ_i‖G_i‖_F, with equality for equal singular values."""
    p = problems.make(name)
    c = p.constants
    G = probes.random_direction(p, p.make_rng(range(32), "rho"))
    duals = [probes.block_norm(np, g, b.norm, dual=True) for g, b in zip(G, c.blocks, strict=True)]
    fro = np.sqrt(sum(np.sum(g * g, axis=(-2, -1)) for g in G))
    assert np.all(sum(duals) <= c.rho * fro * (1 + 1e-12))
    for d, g, b in zip(duals, G, c.blocks, strict=True):
        assert np.all(d <= b.rho * np.linalg.norm(g, axis=(-2, -1)) * (1 + 1e-12))
    # attained by partial isometries G_i = polar(·): ‖G_i‖_nuc = r_i, ‖G_i‖_F = √r_i (Cauchy–Schwarz tight)
    Q = tuple(problems.polar(g[0]) for g in G)
    lhs = sum(float(probes.block_norm(np, q, b.norm, dual=True)) for q, b in zip(Q, c.blocks, strict=True))
    assert lhs == pytest.approx(c.rho * float(np.sqrt(sum(np.sum(q * q) for q in Q))), rel=1e-10)


def test_kronecker_condition_numbers_as_parameters():
    p = problems.make("kronecker_quadratic", m=5, n=4, L=2.0, kappa_A=10.0, kappa_B=3.0)
    assert p.a[0] / p.a[-1] == pytest.approx(10.0) and p.b[0] / p.b[-1] == pytest.approx(3.0)
    assert p.constants.mu == pytest.approx(2.0 / 30.0) and p.constants.L_frobenius == pytest.approx(2.0)
    with pytest.raises(ValueError, match="kappa_A"):
        problems.make("kronecker_quadratic", kappa_A=0.5)
    with pytest.raises(ValueError, match="kappa"):
        problems.make("kronecker_quadratic", kappa_A=5.0, mu=0.1)
