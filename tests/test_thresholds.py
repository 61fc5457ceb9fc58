"""lab.thresholds: one-step descent thresholds of Muon and GD (bisection vs closed forms)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import lab.thresholds as th
from lab.oracles import newton_schulz_oracle


def _instances(B=5, m=6, n=4, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(B, m, m))
    C = rng.normal(size=(B, n, n))
    P = A @ A.transpose(0, 2, 1) / m + 0.1 * np.eye(m)
    Q = C @ C.transpose(0, 2, 1) / n + 0.1 * np.eye(n)
    return P, Q, rng.normal(size=(B, m, n)), rng.normal(size=(B, m, n))


def test_bisection_brackets_the_closed_forms_for_muon_and_gd():
    P, Q, Xs, W = _instances()
    res = th.descent_thresholds(P, Q, Xs, W)
    closed = th.quadratic_thresholds(P, Q, Xs, W)
    assert np.all(res.lo < closed * (1 + 1e-12)) and np.all(closed <= res.hi * (1 + 1e-12))
    np.testing.assert_allclose(res.lo, closed, rtol=1e-10)
    # Muon's closed form is 2‖G‖_*/⟨O, P O Q⟩ with the exact polar
    G = res.gradient
    nuc = np.linalg.svd(G, compute_uv=False).sum(-1)
    O = res.directions[0]
    np.testing.assert_allclose(closed[0], 2 * nuc / np.sum(O * (P @ O @ Q), axis=(-2, -1)), rtol=1e-12)


def test_an_inexact_polar_changes_the_muon_row_only():
    P, Q, Xs, W = _instances(seed=1)
    oracle = newton_schulz_oracle(2, "jordan")

    def ns(G):  # the oracle returns the LMO direction −NS(G); Muon steps along −D with D ≈ polar(G)
        return -oracle(G)

    res = th.descent_thresholds(P, Q, Xs, W, polar=ns)
    exact = th.descent_thresholds(P, Q, Xs, W)
    np.testing.assert_allclose(res.lo, th.quadratic_thresholds(P, Q, Xs, W, polar=ns), rtol=1e-10)
    np.testing.assert_array_equal(res.lo[1], exact.lo[1])
    assert not np.allclose(res.lo[0], exact.lo[0], rtol=1e-3)


def test_the_old_name_and_tuple_unpacking_still_work():
    P, Q, Xs, W = _instances(B=2)
    G, dirs, lo, hi = th.bisect_thresholds(P, Q, Xs, W, th.exact_polar)
    np.testing.assert_array_equal(lo, th.descent_thresholds(P, Q, Xs, W).lo)
    assert dirs.shape == (2, 2, 6, 4) and G.shape == (2, 6, 4)


def test_generic_bisection_on_a_non_quadratic_loss_and_validation():
    # f(x) = x⁴ along D = 1 from W = 1: f(1 − η) < 1 iff 0 < η < 2
    W = np.ones((1, 1))
    lo, hi = th.bisect_threshold(lambda X: np.sum(X**4, axis=(-2, -1)), W, np.ones((1, 1)))
    assert lo < 2.0 <= hi and hi - lo < 1e-12
    with pytest.raises(ValueError, match="D must have shape"):
        th.bisect_threshold(lambda X: X.sum((-2, -1)), W, np.ones((2, 3)))
    with pytest.raises(ValueError, match="start must be > 0"):
        th.bisect_threshold(lambda X: X.sum((-2, -1)), W, W, start=0.0)


def test_module_doctest():
    assert doctest.testmod(th).failed == 0
