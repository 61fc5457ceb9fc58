"""S3 bounds on hand-computable Muon + weight-decay runs (2x2 / 3x2 matrices, exact polar via SVD)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import bounds
from bounds import symbols as S
from lab.backend import to_numpy


def polar(G):
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    return U @ Vt


def op(X):
    return np.linalg.svd(X, compute_uv=False).max()


def nuc(X):
    return np.linalg.svd(X, compute_uv=False).sum()


def test_entering_the_ball_is_exact_for_an_outward_push_and_a_faster_rate_is_caught():
    thm = bounds.get("S3.L1")
    eta, lam, s, omega, K = 0.1, 0.5, 1.0, 1.0, 40
    X = np.diag([6.0, 0.5])
    X0 = op(X)
    excess = []
    for _ in range(K + 1):
        excess.append(max(op(X) - omega * s / lam, 0.0))
        X = (1 - eta * lam) * X + eta * s * omega * polar(X)  # direction pointing outward: worst case
    k = np.arange(K + 1)
    bound = thm.evaluate(k=k, eta=eta, lam=lam, s=s, omega=omega, X0_op=X0).require()
    assert np.allclose(excess, bound, rtol=1e-12, atol=1e-14)
    faster = dataclasses.replace(thm, expr=thm.expr.subs(S.k, S.k + 1))
    assert np.any(
        np.array(excess) > faster.evaluate(k=k, eta=eta, lam=lam, s=s, omega=omega, X0_op=X0).require()
    )


def test_invariant_radius_with_exact_and_overshooting_oracles(rng):
    radius = bounds.get("S3.L1.radius")
    eta, lam, s, K = 0.2, 0.8, 1.0, 60
    for omega in (1.0, 1.2):
        X = 5 * rng.standard_normal((3, 2))
        X0, norms = op(X), []
        for _ in range(K + 1):
            norms.append(op(X))
            G = rng.standard_normal((3, 2)) - 3 * X  # pushes outward most of the time
            X = (1 - eta * lam) * X - eta * s * omega * polar(G)
        bound = radius.evaluate(k=np.arange(K + 1), eta=eta, lam=lam, s=s, omega=omega, X0_op=X0).require()
        assert np.all(np.array(norms) <= bound * (1 + 1e-12))
        if omega > 1:  # the overshooting oracle leaves the exact-polar ball s/lam
            assert norms[-1] > s / lam * 1.05
            exact_claim = radius.evaluate(k=K, eta=eta, lam=lam, s=s, omega=1.0, X0_op=X0).require()
            assert norms[-1] > exact_claim


def test_stationarity_is_nonnegative_on_the_ball_and_equals_lambda_times_the_frank_wolfe_gap(rng, xp):
    lam, s = 0.5, 1.5
    G = xp.asarray(rng.standard_normal((50, 3, 2)))
    Xr = rng.standard_normal((50, 3, 2))
    Xr = (
        Xr
        / np.linalg.svd(Xr, compute_uv=False).max(-1)[:, None, None]
        * rng.uniform(0, s / lam, 50)[:, None, None]
    )
    X = xp.asarray(Xr)
    S_val = to_numpy(bounds.stationarity_measure(G, X, lam, s))
    assert np.all(S_val >= float(bounds.get("S3.S").evaluate(X_op=op(Xr[0]), s=s, lam=lam)) - 1e-12)
    Z = to_numpy(bounds.frank_wolfe_vertex(G, lam, s))
    Gn = to_numpy(G)
    gap = np.sum(Gn * (Xr - Z), axis=(-2, -1))
    assert np.allclose(S_val, lam * gap, rtol=1e-12, atol=1e-12)
    for _ in range(20):  # Z is the minimiser of <G, .> over the ball
        W = rng.standard_normal((3, 2))
        W = W / op(W) * s / lam
        assert np.all(np.sum(Gn * Z, axis=(-2, -1)) <= np.sum(Gn * W, axis=(-2, -1)) + 1e-12)
    res = bounds.get("S3.S").evaluate(X_op=[1.0, 4.0], s=s, lam=lam)  # outside the ball: not applicable
    assert res.applicable.tolist() == [True, False]


def test_muon_with_weight_decay_is_a_frank_wolfe_step(rng):
    G, X, eta, lam, s = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), 0.1, 0.7, 1.3
    muon = (1 - eta * lam) * X - eta * s * polar(G)
    fw = (1 - eta * lam) * X + eta * lam * bounds.frank_wolfe_vertex(G, lam, s)
    assert np.allclose(muon, fw, rtol=1e-14, atol=1e-14)


def test_frank_wolfe_step_is_an_equality_on_an_isotropic_quadratic(rng):
    thm = bounds.get("S3.L3.step")
    L, lam, s = 2.0, 0.5, 1.0
    C = rng.standard_normal((3, 2))
    F = lambda X: L / 2 * np.sum((X - C) ** 2)  # noqa: E731
    for _ in range(30):
        X, eta = rng.standard_normal((3, 2)), rng.uniform(0.01, 1 / lam)
        G = L * (X - C)
        Z = bounds.frank_wolfe_vertex(G, lam, s)
        X1 = (1 - eta * lam) * X + eta * lam * Z
        bound = float(
            thm.evaluate(
                eta=eta,
                S_t=float(bounds.stationarity_measure(G, X, lam, s)),
                L=L,
                lam=lam,
                D_fw=np.sqrt(np.sum((Z - X) ** 2)),
            )
        )
        assert F(X1) - F(X) == pytest.approx(bound, rel=1e-10, abs=1e-12)


def test_frank_wolfe_rate_on_a_least_squares_run(rng):
    thm = bounds.get("S3.L3")
    A, B = rng.standard_normal((4, 3)), rng.standard_normal((2, 2))
    C = 3 * rng.standard_normal((4, 2))
    L = np.linalg.norm(A, 2) ** 2 * np.linalg.norm(B, 2) ** 2
    F = lambda X: 0.5 * np.sum((A @ X @ B - C) ** 2)  # noqa: E731
    grad = lambda X: A.T @ (A @ X @ B - C) @ B.T  # noqa: E731
    lam, s, T = 0.5, 1.0, 200
    F_inf = 0.0  # <= min over the ball: a valid (looser) F(X0) - F_inf
    for eta in (0.01, 0.05, 0.2):
        X = np.zeros((3, 2))
        stat = []
        for _ in range(T):
            G = grad(X)
            stat.append(float(bounds.stationarity_measure(G, X, lam, s)))
            X = (1 - eta * lam) * X - eta * s * polar(G)
        bound = float(
            thm.evaluate(F_gap0=F(np.zeros((3, 2))) - F_inf, eta=eta, T=T, L=L, s=s, r=2, lam=lam, X0_op=0.0)
        )
        assert min(stat) <= bound


def run_muon_wd(F, grad, X0, eta, beta, lam, s, T):
    """Muon + decoupled weight decay (no Nesterov): buffer B, X <- (1 - eta lam) X - eta s polar(B)."""
    X, B = X0.copy(), np.zeros_like(X0)
    out = []
    for _ in range(T):
        G = grad(X)
        B_new = beta * B + (1 - beta) * G
        X_new = (1 - eta * lam) * X - eta * s * polar(B_new)
        out.append((F(X), B, X, B_new, F(X_new), X_new))
        X, B = X_new, B_new
    return out


def test_lyapunov_functions_are_equalities_for_linear_objectives_with_aligned_momentum(rng):
    """F linear (L-smooth for every L > 0; take L tiny), buffer started at 0 so it stays parallel to C:
    the convexity step of the proof is tight and both one-step forms hold with equality."""
    theory, sharp = bounds.get("S3.L2"), bounds.get("S3.L2.sharp")
    C = rng.standard_normal((3, 2))
    eta, beta, lam, s, L = 0.05, 0.9, 0.5, 1.0, 1e-12
    steps = run_muon_wd(
        lambda X: np.sum(C * X), lambda X: C, 0.5 * rng.standard_normal((3, 2)), eta, beta, lam, s, 30
    )
    for F0, B, X, B1, F1, X1 in steps[1:]:
        kw = dict(
            eta=eta,
            lam=lam,
            beta=beta,
            L=L,
            Phi_next=float(bounds.lyapunov_phi(B1, X, lam, s)),
            Phi_prev=float(bounds.lyapunov_phi(B, X, lam, s)),
            Q_step=float(bounds.muon_wd_direction_sq(B1, X, lam, s)),
        )
        for thm, is_sharp in ((theory, False), (sharp, True)):
            dH = float(
                bounds.lyapunov_value(F1, B1, X1, eta, beta, lam, s, sharp=is_sharp)
                - bounds.lyapunov_value(F0, B, X, eta, beta, lam, s, sharp=is_sharp)
            )
            args = {k: v for k, v in kw.items() if k in thm.symbols}
            assert dH == pytest.approx(float(thm.evaluate(**args)), rel=1e-9, abs=1e-12)
            stronger = dataclasses.replace(
                thm, expr=thm.expr.subs(S.Phi_next, 2 * S.Phi_next)
            )  # 2x dissipation
            assert dH > float(stronger.evaluate(**args))


def test_lyapunov_functions_on_a_quadratic_run_inside_the_ball(rng):
    ball = bounds.get("S3.L2.ball")
    theory, sharp = bounds.get("S3.L2"), bounds.get("S3.L2.sharp")
    A = rng.standard_normal((3, 3))
    C = 4 * rng.standard_normal((3, 2))
    L = np.linalg.norm(A, 2) ** 2
    F = lambda X: 0.5 * np.sum((A @ X - C) ** 2)  # noqa: E731
    grad = lambda X: A.T @ (A @ X - C)  # noqa: E731
    eta, beta, lam, s = 0.02, 0.9, 1.0, 1.0
    for F0, B, X, B1, F1, X1 in run_muon_wd(F, grad, np.zeros((3, 2)), eta, beta, lam, s, 150):
        assert op(X) <= s / lam + 1e-12
        common = dict(
            eta=eta,
            lam=lam,
            beta=beta,
            L=L,
            Q_step=float(bounds.muon_wd_direction_sq(B1, X, lam, s)),
            Phi_next=float(bounds.lyapunov_phi(B1, X, lam, s)),
        )
        for thm, is_sharp in ((theory, False), (sharp, True)):
            dH = float(
                bounds.lyapunov_value(F1, B1, X1, eta, beta, lam, s, sharp=is_sharp)
                - bounds.lyapunov_value(F0, B, X, eta, beta, lam, s, sharp=is_sharp)
            )
            kw = {**common, "Phi_prev": float(bounds.lyapunov_phi(B, X, lam, s))}
            assert dH <= float(thm.evaluate(**{k: v for k, v in kw.items() if k in thm.symbols})) + 1e-12
            assert dH <= float(ball.evaluate(eta=eta, lam=lam, beta=beta, L=L, s=s, r=2, X_op=op(X))) + 1e-12
