"""The lab's own theorems (bounds/x.py): sympy derivations, and the weight-decay floor on direct
iterations (the inequality holds for every partial-isometry direction, is nearly attained on a
2-cycle, and fails with a doubled constant)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

import bounds
from bounds import symbols as S


@pytest.mark.parametrize("tid", ["X.MVR2.inexact", "X.MVR1.inexact", "X.WD.floor", "X.WD.gap"])
def test_registered_and_claims_verified(tid):
    thm = bounds.get(tid)
    assert thm.reference == "lab derivation" and thm.proof_sketch
    assert thm.verify() == []


def test_mvr2_inexact_derivations():
    thm = bounds.get("X.MVR2.inexact")
    d = S.delta
    assert thm.rate == sp.Rational(-1, 3)
    assert thm.same(thm.degradation, (1 + d) ** sp.Rational(1, 3) / (1 - d))
    eta, alpha = thm.optimum[S.eta], thm.optimum[S.alpha]
    # the shift with δ: η* ∝ (1 + δ)^(-1/3), α* ∝ (1 + δ)^(2/3)
    assert thm.same(eta / eta.subs(d, 0), (1 + d) ** sp.Rational(-1, 3))
    assert thm.same(alpha / alpha.subs(d, 0), (1 + d) ** sp.Rational(2, 3))
    assert thm.derived_trends["beta_opt"] == "decreasing in delta"
    assert thm.check_stationary() and thm.check_second_order()


def test_mvr1_inexact_matches_muon_exponents():
    thm = bounds.get("X.MVR1.inexact")
    assert thm.rate == sp.Rational(-1, 4)
    assert thm.same(thm.degradation, (1 + S.delta) ** sp.Rational(1, 4) / (1 - S.delta))


def test_a_mistyped_claim_is_caught():
    thm = bounds.get("X.MVR2.inexact")
    wrong = dict(thm.claims, degradation=(1 + S.delta) ** sp.Rational(1, 4) / (1 - S.delta))
    assert dataclasses.replace(thm, claims=wrong).verify()


def test_mvr2_bound_at_delta0_is_the_exact_oracle_bound():
    thm = bounds.get("X.MVR2.inexact")
    v0 = thm.evaluate(eta=0.01, alpha=0.1, Delta0=1.0, T=1000, r=6, L_ms=1.0, L=1.0, sigma=0.2, delta=0.0)
    v1 = thm.evaluate(eta=0.01, alpha=0.1, Delta0=1.0, T=1000, r=6, L_ms=1.0, L=1.0, sigma=0.2, delta=0.3)
    assert float(v1) > float(v0) > 0
    assert thm.evaluate(
        eta=0.01, alpha=1.5, Delta0=1.0, T=1000, r=6, L_ms=1.0, L=1.0, sigma=0.2, delta=0.0
    ).reasons


def _polar(G):
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    return U @ Vt


def _floor_iterates(X_c, eta, lam, steps, rng):
    """X_{t+1} = (1 − ηλ)X_t − η·O_t with O_t = polar of a random perturbation of X_t − X_c (a
    partial isometry, not the gradient): the floor theorem holds for any such directions."""
    X = X_c + 0.3 * rng.normal(size=X_c.shape)
    d = []
    for _ in range(steps):
        d.append(np.linalg.norm(X - X_c))
        O = _polar((X - X_c) + 0.05 * rng.normal(size=X.shape) - lam * X_c)
        X = (1 - eta * lam) * X - eta * O
    return np.asarray(d)


def test_weight_decay_floor_holds_for_any_partial_isometry_and_not_with_twice_the_constant():
    thm = bounds.get("X.WD.floor")
    rng = np.random.default_rng(0)
    X_c = np.diag([1.0, 0.5, 0.2])  # radius s/λ = 1: two singular values strictly inside
    D = float(np.sqrt(0.5**2 + 0.2**2))
    for eta in (0.02, 0.005):
        d = _floor_iterates(X_c, eta, 1.0, 3000, rng)
        pair = np.maximum(d[:-1], d[1:])
        bound = float(thm.evaluate(eta=eta, lam=1.0, D_star=D))
        assert pair.min() >= bound
    # near-tightness on F = ½‖X − X_c‖²: exact polar of the gradient; the floor is within a factor 2
    # of the bound, so the bound with its constant doubled (a typo) is violated by the iterates
    eta = 0.01
    X = np.zeros((3, 3))
    d = []
    for _ in range(20_000):
        d.append(np.linalg.norm(X - X_c))
        X = (1 - eta) * X - eta * _polar(X - X_c)
    pair = np.maximum(np.asarray(d[:-1]), np.asarray(d[1:]))[-2000:]
    bound = float(thm.evaluate(eta=eta, lam=1.0, D_star=D))
    assert bound <= pair.min() < 2 * bound
