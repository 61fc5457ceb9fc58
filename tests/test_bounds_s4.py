"""S4 thresholds found by bisection on small quadratics, and Kronecker convergence factors measured by
iterating the error map, against the closed forms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import bounds
from bounds import symbols as S


def polar(G):
    """U V^T over the nonzero singular values (pseudo-inverse sense, the lab's convention)."""
    U, sv, Vt = np.linalg.svd(G, full_matrices=False)
    keep = sv > 1e-12 * sv[0]
    return U[:, keep] @ Vt[keep]


def random_spd(rng, n, cond=10.0):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Q @ np.diag(np.geomspace(1.0, cond, n)) @ Q.T


def quadratic(H, Wstar):
    m, n = Wstar.shape
    F = lambda W: 0.5 * (W - Wstar).reshape(-1) @ H @ (W - Wstar).reshape(-1)  # noqa: E731
    grad = lambda W: (H @ (W - Wstar).reshape(-1)).reshape(m, n)  # noqa: E731
    return F, grad


def bisect_threshold(F, W, D, hi=1e3):
    """sup{eta : F(W - eta D) < F(W)} for a quadratic along D (descent holds on (0, eta*))."""
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if F(W - mid * D) < F(W):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def test_muon_and_gd_thresholds_match_bisection(rng):
    muon, gd = bounds.get("S4.muon.threshold"), bounds.get("S4.gd.threshold")
    for _ in range(10):
        H = random_spd(rng, 6, cond=50.0)
        Wstar, W = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
        F, grad = quadratic(H, Wstar)
        G = grad(W)
        O = polar(G)
        qO = O.reshape(-1) @ H @ O.reshape(-1)
        qG = G.reshape(-1) @ H @ G.reshape(-1)
        eta_muon = float(muon.evaluate(g_nuc=np.linalg.svd(G, compute_uv=False).sum(), q_O=qO))
        eta_gd = float(gd.evaluate(g_fro2=np.sum(G**2), q_G=qG))
        assert bisect_threshold(F, W, O) == pytest.approx(eta_muon, rel=1e-9)
        assert bisect_threshold(F, W, G) == pytest.approx(eta_gd, rel=1e-9)
    halved = dataclasses.replace(muon, expr=muon.expr / 2)  # a threshold missing its factor 2
    assert bisect_threshold(F, W, O) > 1.5 * float(
        halved.evaluate(g_nuc=np.linalg.svd(G, compute_uv=False).sum(), q_O=qO)
    )


def test_isotropic_muon_threshold_is_twice_the_mean_singular_value_over_L(rng):
    thm = bounds.get("S4.muon.isotropic")
    L = 3.0
    for rank in (1, 2):
        Wstar = np.zeros((2, 3))
        W = (
            rng.standard_normal((2, 1)) @ rng.standard_normal((1, 3))
            if rank == 1
            else rng.standard_normal((2, 3))
        )
        F, grad = quadratic(L * np.eye(6), Wstar)
        G = grad(W)
        sv = np.linalg.svd(G, compute_uv=False)
        sv = sv[sv > 1e-10 * sv[0]]
        assert len(sv) == rank
        found = bisect_threshold(F, W, polar(G))
        assert found == pytest.approx(float(thm.evaluate(sigma_bar=sv.mean(), L=L)), rel=1e-9)


def test_thresholds_track_the_mean_singular_value_with_sigma_max_fixed(rng):
    """sigma_1 fixed, spread varied: Muon's threshold moves with the mean, GD's does not move."""
    L = 2.0
    F, grad = quadratic(L * np.eye(4), np.zeros((2, 2)))
    U, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    muon_eta, gd_eta = [], []
    for s2 in (0.01, 0.3, 1.0):
        W = U @ np.diag([1.0, s2]) / L
        muon_eta.append(bisect_threshold(F, W, polar(grad(W))))
        gd_eta.append(bisect_threshold(F, W, grad(W)))
    assert np.allclose(muon_eta, [2 * np.mean([1.0, s2]) / L for s2 in (0.01, 0.3, 1.0)], rtol=1e-9)
    assert np.allclose(gd_eta, 2 / L, rtol=1e-9)


def test_gd_stability_threshold(rng):
    thm = bounds.get("S4.gd.stability")
    H = random_spd(rng, 4, cond=20.0)
    lam_max = np.linalg.eigvalsh(H).max()
    eta_star = float(thm.evaluate(lam_max=lam_max))
    F, grad = quadratic(H, np.zeros((2, 2)))
    for factor, grows in ((0.98, False), (1.02, True)):
        W = rng.standard_normal((2, 2))
        for _ in range(2000):
            W = W - factor * eta_star * grad(W)
        assert (np.linalg.norm(W) > 1.0) == grows


def test_spectral_model_thresholds_are_lower_bounds(rng):
    muon, gd = bounds.get("S4.muon.spectral_model"), bounds.get("S4.gd.spectral_model")
    L, m, n = 1.5, 3, 2
    F, grad = quadratic(L * np.eye(m * n), np.zeros((m, n)))
    L_op = L * min(m, n)  # <D, L D> = L ||D||_F^2 <= L r ||D||_op^2
    for _ in range(20):
        W = rng.standard_normal((m, n)) * rng.uniform(0.1, 3, n)
        G = grad(W)
        sv = np.linalg.svd(G, compute_uv=False)
        assert bisect_threshold(F, W, polar(G)) >= float(muon.evaluate(g_nuc=sv.sum(), L_op=L_op)) * (
            1 - 1e-9
        )
        assert bisect_threshold(F, W, G) >= float(
            gd.evaluate(srank=np.sum(sv**2) / sv[0] ** 2, L_op=L_op)
        ) * (1 - 1e-9)
    W = np.eye(m, n)  # flat spectrum: the model is exact for Muon
    G = grad(W)
    assert bisect_threshold(F, W, polar(G)) == pytest.approx(
        float(muon.evaluate(g_nuc=np.linalg.svd(G, compute_uv=False).sum(), L_op=L_op)), rel=1e-9
    )


def spectral_radius_of_error_map(A, B, PL, PR, eta):
    """E <- E - eta PL A E B PR, as a matrix on vec(E) (row-major: vec(X E Y) = (X kron Y^T) vec(E))."""
    m, n = A.shape[0], B.shape[0]
    M = np.eye(m * n) - eta * np.kron(PL @ A, (B @ PR).T)
    return np.max(np.abs(np.linalg.eigvals(M)))


def test_kronecker_convergence_factor(rng):
    thm = bounds.get("S4.kron")
    A, B = random_spd(rng, 3, cond=30.0), random_spd(rng, 2, cond=8.0)
    mu, nu = np.linalg.eigvalsh(A), np.linalg.eigvalsh(B)
    cases = {"gd": (np.eye(3), np.eye(2), mu, nu), "left": (np.linalg.inv(A), np.eye(2), np.ones(3), nu)}
    for PL, PR, m_eigs, n_eigs in cases.values():
        lo, hi = m_eigs.min() * n_eigs.min(), m_eigs.max() * n_eigs.max()
        eta = float(thm.optimal_controls(m_lo=lo, m_hi=hi)["eta"])
        rho = float(thm.evaluate(m_lo=lo, m_hi=hi))
        assert spectral_radius_of_error_map(A, B, PL, PR, eta) == pytest.approx(rho, rel=1e-10)
        for off in (0.98, 1.02):  # eta* is the best constant step
            assert spectral_radius_of_error_map(A, B, PL, PR, off * eta) > rho
        assert bounds.kron_convergence_factor(m_eigs, n_eigs) == pytest.approx(rho, rel=1e-12)
        E = rng.standard_normal((3, 2))  # measured contraction of the iteration itself
        norms = []
        for _ in range(400):
            E = E - eta * PL @ A @ E @ B @ PR
            norms.append(np.linalg.norm(E))
        assert (norms[-1] / norms[-101]) ** (1 / 100) == pytest.approx(rho, rel=1e-3)
    kappa_gd = (mu.max() * nu.max()) / (mu.min() * nu.min())
    wrong = (kappa_gd - 1) / kappa_gd  # a plausible but wrong factor
    assert float(thm.evaluate(m_lo=mu.min() * nu.min(), m_hi=mu.max() * nu.max())) < wrong
    assert thm.check_stationary() and thm.check_second_order() is None
    with pytest.raises(ValueError, match="positive"):
        bounds.kron_convergence_factor([0.0, 1.0], [1.0])
    assert not thm.evaluate(m_lo=2.0, m_hi=1.0).all_applicable
    understated = dataclasses.replace(thm, claims={**thm.claims, "eta_opt": 1 / (S.m_lo + S.m_hi)})
    assert any(": eta_opt:" in p for p in understated.verify())


def test_muon_level_bounds_constant_step_muon_at_every_step():
    """S4.muon.level: lmo_step (exact polar, beta = 0) on a PL Kronecker quadratic never exceeds
    max(F_0 - F*, L_op^2 eta^2/(8 mu) + L_op eta^2/2) (certified L_op, mu), at small and large steps."""
    import problems
    from lab.optimizers import lmo_step
    from lab.runner import run

    thm = bounds.get("S4.muon.level")
    assert float(thm.evaluate(Delta0=0.0, L_op=2.0, mu=0.2, eta=0.1)) == pytest.approx(
        2.0**2 * 0.01 / 1.6 + 2.0 * 0.01 / 2, rel=1e-14
    )
    p = problems.make("kronecker_quadratic", m=6, n=4, L=1.0, mu=0.1, split=0.5, seed=0)
    eta = np.array([0.003, 0.03, 0.3, 3.0])
    seeds = np.arange(32).reshape(4, 8)  # one row of seeds per step size
    res = run(
        p, lmo_step(lr=eta[:, None]), 200, seeds=seeds, stochastic=False, record=("loss",), checkpoints="all"
    )
    gap = np.moveaxis(np.asarray(res.metrics["gap"]), 0, -1)  # (eta, seed, T+1)
    bound = thm.evaluate(Delta0=gap[..., 0], L_op=p.constants.L_op, mu=p.constants.mu, eta=eta[:, None])
    assert np.all(gap.max(axis=-1) <= bound.require() * (1 + 1e-12))
    assert np.any(gap[-1].max(axis=-1) > gap[-1, :, 0])  # the large step does leave F_0's level ...
    assert np.all(gap[-1].max(axis=-1) > 0.01 * bound.value[-1])  # ... so B(eta) is what bounds it
