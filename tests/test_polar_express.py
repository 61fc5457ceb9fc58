"""Polar Express schedules (lab.polar_express; THEORY.md §1.1, Amsel et al. arXiv 2505.16932).

Checks: the Remez exchange returns equioscillating (hence minimax, by Chebyshev's alternation
theorem) polynomials and no sampled competitor does better; the greedy recursion has the
guaranteed error 1 − ℓ_{T+1}; the published degree-5 ℓ = 10⁻³ list and modded-nanogpt's five-step
schedule are reproduced from their documented parameters; the presets are exactly these schedules;
a polynomial that does not equioscillate fails the alternation check (mutation).
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.orthogonalization import NS_PRESETS, ns_delta, ns_image, ns_polynomial
from lab.polar_express import (
    PAPER_CUSHION,
    PUBLISHED_MODDED_NANOGPT,
    PUBLISHED_POLAR_EXPRESS,
    minimax_odd_polynomial,
    odd_polynomial,
    odd_polynomial_critical_points,
    odd_polynomial_range,
    polar_express_coefficients,
    polar_express_schedule,
)

INTERVALS = [(1e-3, 1.0), (0.0341, 1.9659), (0.4, 1.6), (0.9, 1.1), (0.999, 1.001), (0.2, 0.3)]


def alternation(coeffs, lo, hi):
    """Signed errors 1 − p at lo, the interior critical points, hi."""
    pts = [lo, *odd_polynomial_critical_points(coeffs, lo, hi), hi]
    return np.array([1 - odd_polynomial(coeffs, x) for x in pts])


def is_equioscillating(coeffs, lo, hi, rtol=1e-9):
    e = alternation(coeffs, lo, hi)
    q = len(coeffs)
    if len(e) != q + 1:
        return False
    E = np.abs(e).max()
    same_size = np.all(np.abs(np.abs(e) - E) <= rtol * E + 1e-15)
    alternating = np.all(np.sign(e[:-1]) == -np.sign(e[1:]))
    return bool(same_size and alternating)


@pytest.mark.parametrize("degree", [3, 5])
@pytest.mark.parametrize("lo,hi", INTERVALS)
def test_remez_equioscillates_and_is_minimax(degree, lo, hi):
    coeffs, err = minimax_odd_polynomial(lo, hi, degree)
    assert len(coeffs) == (degree + 1) // 2
    if (hi - lo) / hi > 1e-4:  # well-conditioned: the alternation is resolved
        assert is_equioscillating(coeffs, lo, hi)
    x = np.linspace(lo, hi, 200_001)
    grid = np.abs(1 - odd_polynomial(coeffs, x)).max()
    assert grid <= err + 1e-14 and err - grid <= 1e-9 * max(err, 1e-12)
    # no random competitor (perturbed optimum) has a smaller max error
    rng = np.random.default_rng(0)
    c = np.asarray(coeffs)
    xs = np.linspace(lo, hi, 4001)
    for _ in range(300):
        trial = c * (1 + 1e-3 * rng.standard_normal(c.shape))
        assert np.abs(1 - odd_polynomial(tuple(trial), xs)).max() >= err * (1 - 1e-9)


def test_alternation_check_catches_a_non_optimal_polynomial():
    """Mutation: perturbing one coefficient (or the classical quintic on a wide interval) breaks the
    equal-ripple property that certifies optimality."""
    coeffs, _ = minimax_odd_polynomial(0.1, 1.0, 5)
    assert is_equioscillating(coeffs, 0.1, 1.0)
    bad = (coeffs[0], coeffs[1] * (1 + 1e-3), coeffs[2])
    assert not is_equioscillating(bad, 0.1, 1.0)
    assert not is_equioscillating((15 / 8, -10 / 8, 3 / 8), 0.1, 1.0)


def test_remez_limit_for_narrow_intervals():
    """Width ≤ 5e-6: the classical polynomial rescaled to u (the l → u limit), error ≤ 1e-15."""
    coeffs, err = minimax_odd_polynomial(1.0 - 1e-7, 1.0 + 1e-7, 5)
    np.testing.assert_allclose(coeffs, np.array([15 / 8, -10 / 8, 3 / 8]) / (1 + 1e-7) ** np.array([1, 3, 5]))
    assert err < 1e-15
    c3, _ = minimax_odd_polynomial(2.0, 2.0, 3)
    np.testing.assert_allclose(c3, [1.5 / 2, -0.5 / 8])


@pytest.mark.parametrize("ell", [1e-3, 0.02, 0.3])
@pytest.mark.parametrize("degree", [3, 5])
def test_greedy_guarantee(ell, degree):
    """Without cushion and safety: each p_t maps [ℓ_t, u_t] onto [ℓ_{t+1}, 2 − ℓ_{t+1}] and the
    exact worst-case error of the T-step composition is 1 − ℓ_{T+1}."""
    sched = polar_express_schedule(ell, 8, degree, cushion=0.0)
    C, L, U = sched["coefficients"], sched["lower"], sched["upper"]
    if degree == 3:
        assert np.all(C[:, 2] == 0.0)
    for t in range(8):
        lo, hi = odd_polynomial_range(tuple(C[t]), L[t], U[t])
        np.testing.assert_allclose([lo, hi], [L[t + 1], U[t + 1]], rtol=1e-12)
        np.testing.assert_allclose(ns_delta(ell, t + 1, C), 1 - L[t + 1], atol=1e-12)
    assert sched["worst_error"] == 1 - L[-1]


@pytest.mark.parametrize("cushion", [0.0, PAPER_CUSHION, 0.1])
@pytest.mark.parametrize("safety", [1.0, 1.01, 1.05])
def test_worst_error_of_cushioned_and_safe_schedules(cushion, safety):
    """1 − ℓ_{T+1} of the recursion is the exact worst-case error of the returned schedule (ns_delta
    computes it independently, by interval propagation) when the safety enters the recursion."""
    for T in (1, 3, 6):
        sched = polar_express_schedule(1e-3, T, cushion=cushion, safety=safety)
        np.testing.assert_allclose(ns_delta(1e-3, T, sched["coefficients"]), sched["worst_error"], atol=1e-12)


def test_greedy_schedule_beats_other_schedules():
    """Optimality of the greedy composition (Amsel et al.): over [ℓ, 1], no other sampled schedule
    of T odd quintics has a smaller worst-case error (Jordan, classical quintic, perturbations)."""
    ell, T = 1e-3, 5
    C = polar_express_coefficients(ell, T, cushion=0.0)
    best = ns_delta(ell, T, C)
    assert best < ns_delta(ell, T, "jordan") and best < ns_delta(ell, T, "quintic")
    assert best < ns_delta(ell, T, NS_PRESETS["polar_express"][:T])  # cushion/safety cost a little
    rng = np.random.default_rng(1)
    for _ in range(200):
        trial = C * (1 + 1e-3 * rng.standard_normal(C.shape))
        assert ns_delta(ell, T, trial) >= best * (1 - 1e-12)


def test_reproduces_published_polar_express_list():
    """The paper's degree-5, ℓ = 1e-3 list (cushion 0.02407…, no safety in the recursion):
    rows 1–6 to 1e-13 relative; rows 7–8 (intervals of width ≤ 2.4e-3, where the coefficients are
    ill-determined while the polynomial is not) as functions, to 1e-13 on their intervals."""
    sched = polar_express_schedule(1e-3, 8, cushion=PAPER_CUSHION)
    C, L, U = sched["coefficients"], sched["lower"], sched["upper"]
    P = np.array(PUBLISHED_POLAR_EXPRESS)
    np.testing.assert_allclose(C[:6], P[:6], rtol=1e-13)
    np.testing.assert_allclose(C[6:], P[6:], rtol=1e-8)
    for t in range(8):
        x = np.linspace(L[t], U[t], 100_001)
        diff = np.abs(odd_polynomial(tuple(C[t]), x) - odd_polynomial(tuple(P[t]), x)).max()
        assert diff <= 1e-13
    # with the documented safety rescaling (a/1.01, b/1.01³, c/1.01⁵ on all rows but the last)
    safe = polar_express_coefficients(1e-3, 8, 5, PAPER_CUSHION, 1.01, safety_in_recursion=False)
    P_safe = np.vstack([P[:-1] / 1.01 ** np.array([1, 3, 5]), P[-1:]])
    np.testing.assert_allclose(safe[:6], P_safe[:6], rtol=1e-13)
    np.testing.assert_allclose(safe[6:], P_safe[6:], rtol=1e-8)
    # the lab's preset IS this computed schedule
    np.testing.assert_array_equal(NS_PRESETS["polar_express"], safe)


def test_reproduces_modded_nanogpt_schedule():
    """modded-nanogpt's five rows = polar_express_coefficients(1e-3, 5, cushion=0.02, safety=1.02)."""
    C = polar_express_coefficients(1e-3, 5, cushion=0.02, safety=1.02)
    np.testing.assert_allclose(C, np.array(PUBLISHED_MODDED_NANOGPT), rtol=1e-13)
    np.testing.assert_array_equal(NS_PRESETS["modded_nanogpt"], C)
    # the other safety convention does not reproduce it (the parameters matter)
    other = polar_express_coefficients(1e-3, 5, cushion=0.02, safety=1.02, safety_in_recursion=False)
    assert np.max(np.abs(other / np.array(PUBLISHED_MODDED_NANOGPT) - 1)) > 1e-4


def test_safety_options():
    base = polar_express_coefficients(0.01, 4)
    s = polar_express_coefficients(0.01, 4, safety=1.05, safety_in_recursion=False)
    np.testing.assert_allclose(s[:3], base[:3] / 1.05 ** np.array([1, 3, 5]), rtol=1e-15)
    np.testing.assert_array_equal(s[3], base[3])
    s_all = polar_express_coefficients(0.01, 4, safety=1.05, safety_last=True, safety_in_recursion=False)
    np.testing.assert_allclose(s_all, base / 1.05 ** np.array([1, 3, 5]), rtol=1e-15)
    # the safety factor keeps inputs up to 1.05 inside the band: output ≤ max of the unsafe image
    p = ns_polynomial(s_all, 4)
    assert p(np.linspace(0.01, 1.05, 10001)).max() <= ns_image(0.01, 4, base)[1] + 1e-12
    assert polar_express_coefficients(0.1, 0).shape == (0, 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="ell"):
        polar_express_coefficients(0.0, 3)
    with pytest.raises(ValueError, match="ell"):
        polar_express_coefficients(1.5, 3)
    with pytest.raises(ValueError, match="steps"):
        polar_express_coefficients(0.1, -1)
    with pytest.raises(ValueError, match="degree"):
        polar_express_coefficients(0.1, 3, degree=7)
    with pytest.raises(ValueError, match="cushion"):
        polar_express_coefficients(0.1, 3, cushion=2.0)
    with pytest.raises(ValueError, match="safety"):
        polar_express_coefficients(0.1, 3, safety=0.99)
    with pytest.raises(ValueError, match="lo"):
        minimax_odd_polynomial(0.5, 0.1)
