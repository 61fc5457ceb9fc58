"""polar, newton_schulz, ns_polynomial, ns_delta (lab.orthogonalization; THEORY.md §1.1–§1.2).

The central check is the spectral identity NS_k(G) = U p^(k)(Σ/‖G‖) Vᵀ on matrices with prescribed
spectra, for every preset; the scalar theory (error recursions, the Jordan band and floor, the
uniform bound ns_delta) is checked against closed forms and dense grids; mutated coefficients are
shown to fail the same checks.
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.backend import namespace, to_numpy
from lab.orthogonalization import (
    NS_PRESETS,
    newton_schulz,
    ns_delta,
    ns_image,
    ns_polynomial,
    polar,
    resolve_coefficients,
)

PRESETS = tuple(NS_PRESETS)
JORDAN = (3.4445, -4.7750, 2.0315)


def as_xp(xp, a, dtype="float64"):
    return xp.asarray(np.asarray(a), dtype=getattr(xp, dtype))


def haar(rng, n):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def prescribed(rng, m, n, sigma, batch=()):
    """G = U diag(σ) Vᵀ with Haar U (m×r), V (n×r); returns G, U, σ, V (r = len σ ≤ min(m, n))."""
    r = len(sigma)
    U = np.stack([haar(rng, m)[:, :r] for _ in range(int(np.prod(batch)) or 1)]).reshape(batch + (m, r))
    V = np.stack([haar(rng, n)[:, :r] for _ in range(int(np.prod(batch)) or 1)]).reshape(batch + (n, r))
    G = (U * np.asarray(sigma)) @ np.swapaxes(V, -1, -2)
    return G, U, np.asarray(sigma, dtype=np.float64), V


SPECTRA = {
    "spread": np.geomspace(1.0, 1e-3, 6),
    "clustered": np.array([1.0, 0.99, 0.98, 0.5, 0.49]),
    "rank1": np.array([2.0]),
    "one_small": np.array([1.0, 1.0, 1.0, 1e-4]),
}


def identity_error(G, U, sigma, V, steps, coefficients, normalization="frobenius", transpose=True):
    """max |NS_k(G) − U p^(k)(σ/‖G‖) Vᵀ| with eps = 0 (the predicted matrix from the scalar map)."""
    D = newton_schulz(G, steps, coefficients, eps=0.0, normalization=normalization, transpose=transpose)
    scale = np.linalg.norm(sigma) if normalization == "frobenius" else sigma.max()
    p = ns_polynomial(coefficients, steps)
    pred = (U * p(sigma / scale)) @ np.swapaxes(V, -1, -2)
    return float(np.max(np.abs(to_numpy(D) - pred)))


# ----------------------------------------------------------------------------- polar


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(3, 6, 4), (2, 4, 7), (1, 1, 5), (2, 5, 1)])
def test_polar_is_UVt(xp, dtype, shape, rng):
    G = as_xp(xp, rng.standard_normal(shape), dtype)
    P = polar(G)
    assert namespace(P) is namespace(G) and P.dtype == G.dtype and tuple(P.shape) == shape
    Gq = to_numpy(G).astype(np.float64)
    U, _, Vh = np.linalg.svd(Gq, full_matrices=False)
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(to_numpy(P), U @ Vh, atol=tol)
    # invariance polar(cG) = polar(G), c > 0
    np.testing.assert_allclose(to_numpy(polar(G * 37.0)), to_numpy(P), atol=tol)


def test_polar_rank_deficient_zero_and_batch(rng):
    G, U, s, V = prescribed(rng, 7, 5, [3.0, 1.0, 0.5])
    P = polar(G)
    np.testing.assert_allclose(P, U @ V.T, atol=1e-12)  # partial isometry on the range
    np.testing.assert_allclose(np.linalg.svd(P, compute_uv=False), [1, 1, 1, 0, 0], atol=1e-12)
    assert np.all(polar(np.zeros((2, 3, 4))) == 0)
    B = rng.standard_normal((4, 3, 5))
    B[2] = 0.0
    PB = polar(B)
    for i in range(4):
        np.testing.assert_allclose(polar(B[i]), PB[i], atol=1e-14)


# ----------------------------------------------------------------------------- spectral identity


@pytest.mark.parametrize("coefficients", PRESETS)
@pytest.mark.parametrize("spectrum", list(SPECTRA))
@pytest.mark.parametrize("mn", [(8, 6), (6, 8), (7, 7)])
def test_spectral_identity_every_preset(coefficients, spectrum, mn, rng):
    """NS_k(G) = U p^(k)(Σ/‖G‖_F) Vᵀ to 1e-10 (float64, eps = 0), tall/wide/square, batched."""
    G, U, s, V = prescribed(rng, *mn, SPECTRA[spectrum], batch=(2,))
    for steps in (1, 3, 5, 8):
        assert identity_error(G, U, s, V, steps, coefficients) < 1e-10


@pytest.mark.parametrize("coefficients", ["jordan", "polar_express"])
def test_spectral_identity_other_normalizations_and_no_transpose(coefficients, rng):
    G, U, s, V = prescribed(rng, 9, 4, SPECTRA["spread"][:4])
    assert identity_error(G, U, s, V, 5, coefficients, normalization="spectral") < 1e-10
    assert identity_error(G, U, s, V, 5, coefficients, transpose=False) < 1e-10
    # "none": the caller's scaling is used as is
    D = newton_schulz(G / np.linalg.norm(G), 5, coefficients, normalization="none")
    np.testing.assert_allclose(D, newton_schulz(G, 5, coefficients, eps=0.0), atol=1e-12)


def test_eps_enters_as_documented(rng):
    """X₀ = G/(‖G‖_F + eps): the identity holds with x = σ/(‖σ‖ + eps)."""
    G, U, s, V = prescribed(rng, 6, 5, SPECTRA["spread"][:5])
    eps = 0.3
    D = newton_schulz(G, 4, "cubic", eps=eps)
    pred = (U * ns_polynomial("cubic", 4)(s / (np.linalg.norm(s) + eps))) @ V.T
    np.testing.assert_allclose(D, pred, atol=1e-12)


def test_spectral_identity_xp_float32(xp, rng):
    G, U, s, V = prescribed(rng, 6, 4, SPECTRA["clustered"][:4], batch=(3,))
    Gx = as_xp(xp, G, "float32")
    D = newton_schulz(Gx, 5, "jordan", eps=0.0)
    assert namespace(D) is namespace(Gx) and D.dtype == Gx.dtype
    pred = (U * ns_polynomial("jordan", 5)(s / np.linalg.norm(s))) @ np.swapaxes(V, -1, -2)
    np.testing.assert_allclose(to_numpy(D), pred, atol=2e-5)
    D64 = newton_schulz(as_xp(xp, G), 5, "jordan", eps=0.0)
    np.testing.assert_allclose(to_numpy(D64), pred, atol=1e-10)


# ----------------------------------------------------------------------------- scalar theory


def test_cubic_error_recursion():
    """Cubic: e⁺ = ½e²(3 − e) with e = 1 − x; the matrix δ_op follows the iterated recursion."""
    x = np.linspace(0, 1, 10001)
    e = 1 - x
    np.testing.assert_allclose(1 - ns_polynomial("cubic", 1)(x), 0.5 * e**2 * (3 - e), atol=1e-15)
    # iterate on a prescribed spectrum
    rng = np.random.default_rng(3)
    G, U, s, V = prescribed(rng, 6, 6, SPECTRA["spread"])
    for steps in range(1, 9):
        err = 1 - s / np.linalg.norm(s)
        for _ in range(steps):
            err = 0.5 * err**2 * (3 - err)
        _, d = newton_schulz(G, steps, "cubic", eps=0.0, return_diagnostics=True)
        np.testing.assert_allclose(d["delta_op"], err.max(), rtol=1e-10)
    assert ns_polynomial("cubic", 7)(x).max() <= 1.0 + 4 * np.finfo(float).eps  # never above 1 on [0, 1]


def test_classical_quintic_error_formula():
    x = np.linspace(0, 1, 10001)
    np.testing.assert_allclose(
        1 - ns_polynomial("quintic", 1)(x), (1 - x) ** 3 * (3 * x**2 + 9 * x + 8) / 8, atol=1e-15
    )
    assert ns_polynomial("quintic", 6)(x).max() <= 1.0 + 4 * np.finfo(float).eps  # rounding only


def test_jordan_floor_and_band():
    """Jordan's quintic: δ never below ~0.3 (uniform bound and measured, spread spectra), and the
    image settles in ~[0.68, 1.13] after a transient that reaches ~1.2."""
    for ell in (1e-3, 1e-2, 0.1):
        for k in range(1, 41):
            assert ns_delta(ell, k, "jordan") >= 0.3
        lo, hi = ns_image(ell, 12, "jordan")
        assert 0.68 <= lo <= 0.69 and 1.13 <= hi <= 1.14
    assert 1.19 <= ns_image(1e-3, 3, "jordan")[1] <= 1.21  # the transient overshoot
    rng = np.random.default_rng(5)
    G = rng.standard_normal((4, 40, 40))  # Gaussian: spread spectra (σ_min/‖G‖_F ~ 1e-4)
    for k in (6, 10, 30):
        D, d = newton_schulz(G, k, "jordan", eps=0.0, return_diagnostics=True)
        assert d["delta_op"].min() >= 0.3
        if k >= 10:  # past the transient for σ_min/‖G‖_F ≳ 1e-6
            sv = np.linalg.svd(D, compute_uv=False)
            assert sv.min() >= 0.68 and sv.max() <= 1.135


def test_ns_delta_against_dense_grid():
    """ns_delta (interval propagation) = max over a 2·10⁶-point grid (+ log grid near ℓ), to 1e-9."""
    for coefficients, steps, ell in [
        ("jordan", 5, 1e-3),
        ("polar_express", 5, 1e-3),
        ("cubic", 6, 0.05),
        ("quintic", 4, 0.01),
        ("modded_nanogpt", 5, 2e-3),
        ("jordan", 9, 0.2),
    ]:
        x = np.concatenate([np.linspace(ell, 1, 2_000_001), np.geomspace(ell, 1, 200_001)])
        grid = np.max(np.abs(1 - ns_polynomial(coefficients, steps)(x)))
        exact = ns_delta(ell, steps, coefficients)
        assert exact >= grid - 1e-12  # never below a sampled value
        assert exact - grid <= 1e-9  # and the grid approaches it
    # ns_delta bounds the measured δ_op of any matrix whose normalised spectrum lies in [ℓ, 1]
    rng = np.random.default_rng(11)
    G, U, s, V = prescribed(rng, 9, 7, np.geomspace(1, 1e-2, 7))
    ell = s.min() / np.linalg.norm(s)
    for c in PRESETS:
        _, d = newton_schulz(G, 5, c, eps=0.0, return_diagnostics=True)
        assert d["delta_op"] <= ns_delta(ell, 5, c) + 1e-12


def test_diagnostics_match_spectral_formulas(rng):
    G, U, s, V = prescribed(rng, 8, 6, SPECTRA["spread"], batch=(3,))
    p = ns_polynomial("polar_express", 4)(s / np.linalg.norm(s))
    D, d = newton_schulz(G, 4, "polar_express", eps=0.0, return_diagnostics=True)
    assert set(d) == {"delta_op", "delta_F", "alignment", "overshoot"}
    assert all(v.shape == (3,) for v in d.values())
    np.testing.assert_allclose(d["delta_op"], np.abs(1 - p).max(), rtol=1e-10)
    np.testing.assert_allclose(d["delta_F"], np.sqrt(np.mean((1 - p) ** 2)), rtol=1e-10)
    np.testing.assert_allclose(d["alignment"], (s * p).sum() / s.sum(), rtol=1e-12)
    np.testing.assert_allclose(d["overshoot"], p.max(), rtol=1e-10)
    assert not isinstance(newton_schulz(G, 4), tuple)  # nothing extra unless asked


# ----------------------------------------------------------------------------- mutation


@pytest.mark.parametrize("flip", [0, 1, 2])
def test_mutated_jordan_fails_the_checks(flip, rng):
    """Jordan with one sign flipped: the spectral identity against the true Jordan polynomial fails,
    and so do the band / bounded-output properties."""
    wrong = list(JORDAN)
    wrong[flip] = -wrong[flip]
    G, U, s, V = prescribed(rng, 7, 6, SPECTRA["spread"])
    with np.errstate(over="ignore", invalid="ignore"):  # some mutants diverge: that also fails
        D = newton_schulz(G, 5, wrong, eps=0.0)
        lo, hi = ns_image(0.1, 12, wrong)
    pred = (U * ns_polynomial("jordan", 5)(s / np.linalg.norm(s))) @ V.T
    assert not np.max(np.abs(D - pred)) <= 1e-2
    assert not (0.68 <= lo and hi <= 1.14)


def test_mutated_cubic_fails_recursion():
    x = np.linspace(0, 1, 1001)
    e = 1 - x
    p = ns_polynomial([1.5, -0.49, 0.0], 1)
    assert np.max(np.abs(1 - p(x) - 0.5 * e**2 * (3 - e))) > 1e-3


# ----------------------------------------------------------------------------- degenerate inputs


@pytest.mark.parametrize("coefficients", PRESETS)
def test_degenerate_inputs(coefficients, rng):
    # zero → 0, no NaN (with eps = 0 too)
    for eps in (0.0, 1e-7):
        assert np.all(newton_schulz(np.zeros((2, 4, 3)), 5, coefficients, eps=eps) == 0)
    # rank one: σ/‖G‖_F = 1, so the output is p^(k)(1)·u vᵀ
    u, v = rng.standard_normal(6), rng.standard_normal(4)
    R1 = np.outer(u, v)
    D = newton_schulz(R1, 5, coefficients, eps=0.0)
    pk1 = ns_polynomial(coefficients, 5)(1.0)
    np.testing.assert_allclose(D, pk1 * np.outer(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)), atol=1e-12)
    # rank deficient: zero singular values stay zero
    G, U, s, V = prescribed(rng, 8, 6, [1.0, 0.3, 0.1])
    sv = np.linalg.svd(newton_schulz(G, 5, coefficients), compute_uv=False)
    assert np.all(sv[3:] < 1e-12)
    # extreme scales: the same result as unscaled (eps = 0), finite, no overflow
    B = rng.standard_normal((2, 5, 3))
    ref = newton_schulz(B, 5, coefficients, eps=0.0)
    for factor in (1e-300, 1e300):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = newton_schulz(B * factor, 5, coefficients, eps=0.0)
        np.testing.assert_allclose(out, ref, atol=1e-12)
    # 1×n and n×1
    for shape in [(1, 6), (6, 1)]:
        g = rng.standard_normal(shape)
        np.testing.assert_allclose(
            newton_schulz(g, 5, coefficients, eps=0.0), pk1 * g / np.linalg.norm(g), atol=1e-12
        )


def test_float32_overflow_and_batch_with_extreme_members(xp, rng):
    """float32 entries of 1e30 (‖G‖_F² overflows) and a zero member in one batch: finite, and equal
    to the members computed one by one."""
    B = rng.standard_normal((4, 5, 3))
    B[1] *= 1e30
    B[2] = 0.0
    B[3] *= 1e-30
    G = as_xp(xp, B, "float32")
    D = newton_schulz(G, 5, "jordan")
    assert np.all(np.isfinite(to_numpy(D)))
    for i in range(4):
        np.testing.assert_array_equal(to_numpy(newton_schulz(G[i, ...], 5, "jordan")), to_numpy(D)[i])
    # the 1e30 member equals the same matrix at unit scale (scale invariance, no overflow)
    unit = to_numpy(newton_schulz(as_xp(xp, B[1] / 1e30, "float32"), 5, "jordan"))
    np.testing.assert_allclose(to_numpy(D)[1], unit, atol=1e-5)


@pytest.mark.parametrize(
    "coefficients", ["jordan", "polar_express", [[1.5, -0.5, 0], [15 / 8, -10 / 8, 3 / 8]]]
)
def test_batched_equals_one_by_one(xp, coefficients, rng):
    G = as_xp(xp, rng.standard_normal((2, 3, 6, 4)))
    D = to_numpy(newton_schulz(G, 5, coefficients))
    P = to_numpy(polar(G))
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(
                to_numpy(newton_schulz(G[i, j, ...], 5, coefficients)), D[i, j], rtol=0, atol=1e-12
            )
            np.testing.assert_allclose(to_numpy(polar(G[i, j, ...])), P[i, j], rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- coefficients and errors


def test_resolve_coefficients_schedules():
    two = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    np.testing.assert_array_equal(resolve_coefficients(two, 4), [two[0], two[1], two[1], two[1]])
    np.testing.assert_array_equal(resolve_coefficients(two, 1), [two[0]])
    np.testing.assert_array_equal(resolve_coefficients((1, 2, 3), 2), [[1, 2, 3], [1, 2, 3]])
    assert resolve_coefficients("jordan", 0).shape == (0, 3)
    np.testing.assert_array_equal(resolve_coefficients("jordan", 3), [JORDAN] * 3)
    pe = NS_PRESETS["polar_express"]
    np.testing.assert_array_equal(resolve_coefficients("polar_express", 10)[8:], [pe[-1], pe[-1]])
    assert NS_PRESETS["modded_nanogpt"].shape == (5, 3)
    with pytest.raises(ValueError):
        NS_PRESETS["jordan"][0, 0] = 1.0  # presets are read-only
    # zero steps returns the normalised input
    G = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(newton_schulz(G, 0, eps=0.0), G / np.linalg.norm(G))


def test_bad_arguments_name_the_parameter():
    G = np.ones((3, 2))
    with pytest.raises(ValueError, match="steps"):
        newton_schulz(G, -1)
    with pytest.raises(ValueError, match="steps"):
        newton_schulz(G, 2.5)
    with pytest.raises(ValueError, match=r"coefficients must be one of .*jordan.*polar_express"):
        newton_schulz(G, 3, "bogus")
    for bad in ([1.0, 2.0], [[1.0, 2.0]], np.zeros((0, 3)), np.zeros((2, 3, 3)), [np.nan, 0, 0], "x" * 0):
        with pytest.raises(ValueError, match="coefficients"):
            newton_schulz(G, 3, bad)
    with pytest.raises(ValueError, match="normalization"):
        newton_schulz(G, 3, normalization="nuclear")
    with pytest.raises(ValueError, match="eps"):
        newton_schulz(G, 3, eps=-1.0)
    with pytest.raises(ValueError, match="G must be a matrix"):
        newton_schulz(np.ones(4))
    with pytest.raises(ValueError, match="G must be a matrix"):
        polar(np.ones(4))
    with pytest.raises(ValueError, match="G must be a real floating"):
        newton_schulz(np.ones((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="ell"):
        ns_delta(1.5, 3)
    with pytest.raises(ValueError, match="steps"):
        ns_polynomial("jordan", -2)


@pytest.mark.parametrize("normalization", ["frobenius", "spectral", "none"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(xp, normalization, bad):
    G = np.ones((2, 3, 2))
    G[1, 0, 1] = bad
    Gx = as_xp(xp, G)
    with pytest.raises(ValueError, match="G contains NaN or Inf"):
        newton_schulz(Gx, 5, normalization=normalization)
    with pytest.raises(ValueError, match="G contains NaN or Inf"):
        polar(Gx)
