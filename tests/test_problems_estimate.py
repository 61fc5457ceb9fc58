"""Trajectory estimates of layer-wise (L0, L1) (Gluon's procedure), consistent with certified pairs."""

from __future__ import annotations

import numpy as np
import pytest

import problems
from problems import estimate_l0_l1, polar, trajectory_norms


def test_envelope_recovers_a_known_line_and_covers_every_point():
    rng = np.random.default_rng(0)
    a = np.linspace(0.0, 10.0, 60)
    y = 2.0 + 0.5 * a - rng.uniform(0.0, 1.0, a.size)
    y[[0, -1]] = 2.0 + 0.5 * a[[0, -1]]  # the line is touched at both ends
    ((L0, L1),) = estimate_l0_l1(y, np.ones_like(a), a)
    assert L0 == pytest.approx(2.0, abs=1e-9) and L1 == pytest.approx(0.5, abs=1e-9)
    assert np.all(L0 + L1 * a >= y)


def test_penalty_controls_underestimation():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 5, 200)
    y = 1.0 + 2.0 * a + rng.normal(0, 0.5, a.size).clip(-2, 2)
    under = {}
    for penalty in (1.0 + 1e-12, 1000.0, "envelope"):
        ((L0, L1),) = estimate_l0_l1(y, np.ones_like(a), a, penalty=penalty)
        under[penalty] = np.mean(L0 + L1 * a < y - 1e-12)
    assert under["envelope"] == 0.0
    assert under[1.0 + 1e-12] > 0.3  # plain least squares underestimates about half the pairs
    assert under[1000.0] < 0.05  # a heavy penalty nearly covers them


def test_quartic_trajectory_respects_the_certified_pair():
    """Along a Gluon-type run on the quartic the certified (L0, L1) covers every secant, and the
    estimated envelope is no larger on average than the certified line."""
    p = problems.make("quartic", m=5, n=3, c=1.0, d=0.2, L1=1.0, init_distance=4.0)
    b = p.constants.blocks[0]
    X = p.x0(p.make_rng(range(4)))
    its = [X]
    for _ in range(40):
        G = p.grad(X)[0]
        a = np.linalg.norm(G, axis=(-2, -1), keepdims=True)
        t = a / (b.L0 + b.L1 * a)  # step length ≤ 1/L1 = radius
        X = (X[0] - t * G / a,)
        its.append(X)
    dg, dx, gn = trajectory_norms(p, its, norm="frobenius")
    assert dg.shape == dx.shape == gn.shape == (160, 1)
    assert dx.max() <= b.radius
    secant = dg[:, 0] / dx[:, 0]
    assert np.all(secant <= b.L0 + b.L1 * gn[:, 0])
    ((L0, L1),) = estimate_l0_l1(dg, dx, gn)
    assert np.all(secant <= L0 + L1 * gn[:, 0] + 1e-12)
    assert np.mean(L0 + L1 * gn[:, 0]) <= np.mean(b.L0 + b.L1 * gn[:, 0])


def test_layerwise_estimate_on_a_deep_linear_muon_run():
    p = problems.make("deep_linear", d=5, k=3, widths=(4,), N=24)
    X = p.x0(p.make_rng(range(3)))
    its = [X]
    for k in range(30):
        X = tuple(x - 0.05 / (k + 1) ** 0.5 * polar(g) for x, g in zip(X, p.grad(X), strict=True))
        its.append(X)
    dg, dx, gn = trajectory_norms(p, its, norm="spectral")
    assert dg.shape == (90, 2)
    est = estimate_l0_l1(dg, dx, gn)
    assert len(est) == 2
    for i, (L0, L1) in enumerate(est):
        assert L0 >= 0 and L1 >= 0
        assert np.all(dg[:, i] / dx[:, i] <= L0 + L1 * gn[:, i] + 1e-12)


def test_zero_steps_are_skipped_and_bad_input_is_rejected():
    ((L0, L1),) = estimate_l0_l1([1.0, 0.0, 3.0], [1.0, 0.0, 1.0], [0.0, 5.0, 2.0])
    assert L0 + L1 * 2.0 >= 3.0 and L0 >= 1.0
    with pytest.raises(ValueError, match="penalty"):
        estimate_l0_l1([1.0], [1.0], [1.0], penalty=0.5)
    with pytest.raises(ValueError, match="penalty"):
        estimate_l0_l1([1.0], [1.0], [1.0], penalty="median")
    with pytest.raises(ValueError, match="same shape"):
        estimate_l0_l1([1.0, 2.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        estimate_l0_l1([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="norm"):
        trajectory_norms(problems.make("quartic"), [], norm="nuclear")
