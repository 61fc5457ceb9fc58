"""Norms, duals and LMOs (lab.norms) against independent closed forms (THEORY.md §0).

Every check compares the batched array-API implementation with a per-matrix NumPy reference
written from the definitions (np.linalg.svd / np.linalg.norm / explicit argmax), in float64 and
float32, on NumPy and array-api-strict.  The "dual is the sup" check samples feasible points and
is shown to catch a wrong dual (test_sup_check_detects_a_wrong_dual).
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.backend import namespace, to_numpy
from lab.norms import NORMS, Norm, get_norm, inner

TOL = {"float64": 1e-12, "float32": 3e-5}
SHAPES = [(3, 5, 4), (2, 4, 6)]


def as_xp(xp, a, dtype="float64"):
    return xp.asarray(np.asarray(a), dtype=getattr(xp, dtype))


# ----------------------------------------------------------------------------- references


def ref_norm(name, X):
    """‖X‖ from the definition (one matrix, float64 NumPy)."""
    return {
        "spectral": lambda: np.linalg.norm(X, 2),
        "nuclear": lambda: np.linalg.norm(X, "nuc"),
        "frobenius": lambda: np.linalg.norm(X, "fro"),
        "linf": lambda: np.abs(X).max(),
        "l1": lambda: np.abs(X).sum(),
        "col_l2": lambda: np.linalg.norm(X, axis=0).max(),
        "row_l2": lambda: np.linalg.norm(X, axis=1).max(),
    }[name]()


def ref_dual(name, G):
    """‖G‖_* from the known dual pairs."""
    return {
        "spectral": lambda: np.linalg.norm(G, "nuc"),
        "nuclear": lambda: np.linalg.norm(G, 2),
        "frobenius": lambda: np.linalg.norm(G, "fro"),
        "linf": lambda: np.abs(G).sum(),
        "l1": lambda: np.abs(G).max(),
        "col_l2": lambda: np.linalg.norm(G, axis=0).sum(),
        "row_l2": lambda: np.linalg.norm(G, axis=1).sum(),
    }[name]()


def ref_lmo(name, G):
    """argmin_{‖D‖≤1} ⟨G, D⟩ in closed form (generic G: distinct singular values / entries)."""
    if name == "spectral":
        U, _, Vh = np.linalg.svd(G, full_matrices=False)
        return -U @ Vh
    if name == "nuclear":
        U, _, Vh = np.linalg.svd(G, full_matrices=False)
        return -np.outer(U[:, 0], Vh[0])
    if name == "frobenius":
        return -G / np.linalg.norm(G)
    if name == "linf":
        return -np.sign(G)
    if name == "l1":
        k, l = np.unravel_index(np.argmax(np.abs(G)), G.shape)
        D = np.zeros_like(G)
        D[k, l] = -np.sign(G[k, l])
        return D
    if name == "col_l2":
        return -G / np.linalg.norm(G, axis=0, keepdims=True)
    if name == "row_l2":
        return -G / np.linalg.norm(G, axis=1, keepdims=True)
    raise AssertionError(name)


# ----------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("shape", SHAPES)
def test_closed_forms_match_reference(xp, name, dtype, shape, rng):
    G64 = rng.standard_normal(shape)
    X64 = rng.standard_normal(shape)
    G, X = as_xp(xp, G64, dtype), as_xp(xp, X64, dtype)
    N = get_norm(name)
    tol = TOL[dtype]
    D = N.lmo(G)
    assert namespace(D) is namespace(G) and D.dtype == G.dtype and tuple(D.shape) == shape
    assert tuple(N.norm(X).shape) == shape[:-2] and tuple(N.dual(G).shape) == shape[:-2]
    Gq = to_numpy(G).astype(np.float64)  # the rounded input, so float32 is compared fairly
    Xq = to_numpy(X).astype(np.float64)
    for b in range(shape[0]):
        np.testing.assert_allclose(to_numpy(N.norm(X))[b], ref_norm(name, Xq[b]), rtol=tol)
        np.testing.assert_allclose(to_numpy(N.dual(G))[b], ref_dual(name, Gq[b]), rtol=tol)
        np.testing.assert_allclose(to_numpy(D)[b], ref_lmo(name, Gq[b]), atol=10 * tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("scale", [1.0, 0.25, 3.0])
def test_lmo_identities(xp, name, dtype, scale, rng):
    """⟨G, lmo(G)⟩ = −‖G‖_* and ‖lmo(G)‖ = 1, also for the scaled norm s·‖·‖."""
    G = as_xp(xp, rng.standard_normal((4, 5, 3)) * 7.0, dtype)
    N = get_norm(name, scale)
    D = N.lmo(G)
    dual = to_numpy(N.dual(G))
    np.testing.assert_allclose(to_numpy(inner(G, D)), -dual, rtol=TOL[dtype])
    np.testing.assert_allclose(to_numpy(N.norm(D)), 1.0, rtol=TOL[dtype])


def _sup_violation(N, G, Z, dual):
    """max over sampled feasible D = Z/‖Z‖ of ⟨G, lmo⟩ − ⟨G, D⟩ violations: ⟨G, D⟩ < −dual."""
    D = Z / N.norm(Z)[..., None, None]
    return float(np.max(-to_numpy(inner(G, D)) - dual))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NORMS)
def test_dual_is_the_sup(xp, name, dtype, rng):
    """No feasible D (random directions, sparse and sign patterns) beats lmo(G): ⟨G, D⟩ ≥ −‖G‖_*."""
    m, n, k = 4, 6, 600
    G1 = rng.standard_normal((m, n))
    Z = np.concatenate(
        [
            rng.standard_normal((k, m, n)),
            np.sign(rng.standard_normal((k, m, n))),
            rng.standard_normal((k, m, n)) * (rng.random((k, m, n)) < 0.2),
            # perturbations of the optimum: the sup is approached from nearby points
            ref_lmo(name, G1)[None] + 0.05 * rng.standard_normal((k, m, n)),
        ]
    )
    Z = Z[np.abs(Z).sum(axis=(1, 2)) > 0]
    N = get_norm(name, 1.7)
    G = as_xp(xp, np.broadcast_to(G1, Z.shape), dtype)
    Zx = as_xp(xp, Z, dtype)
    dual = float(to_numpy(N.dual(G))[0])
    assert _sup_violation(N, G, Zx, dual) <= 10 * TOL[dtype] * dual
    # Hölder: |⟨G, X⟩| ≤ ‖X‖·‖G‖_*
    hold = np.abs(to_numpy(inner(G, Zx))) - to_numpy(N.norm(Zx)) * dual
    assert hold.max() <= 10 * TOL[dtype] * dual * np.abs(Z).max()


@pytest.mark.parametrize("name", NORMS)
def test_sup_check_detects_a_wrong_dual(name, rng):
    """Mutation: claiming the primal norm (or 0.9·dual) as the dual must fail the sup check."""
    m, n, k = 4, 6, 600
    G1 = rng.standard_normal((m, n))
    Z = np.concatenate([rng.standard_normal((k, m, n)), ref_lmo(name, G1)[None]])
    N = get_norm(name)
    G = np.broadcast_to(G1, Z.shape)
    wrong = min(float(N.norm(G1[None])[0]), 0.9 * float(N.dual(G1[None])[0]))
    assert _sup_violation(N, G, Z, wrong) > 1e-3


# ----------------------------------------------------------------------------- scaling, zero, batch


@pytest.mark.parametrize("name", NORMS)
def test_scaled_norm_relations(name, rng):
    G = rng.standard_normal((3, 4, 5))
    base, s = get_norm(name), 2.5
    S = base.scaled(s)
    assert isinstance(S, Norm) and S.name == name and S.scale == s
    np.testing.assert_allclose(S.norm(G), s * base.norm(G), rtol=1e-14)
    np.testing.assert_allclose(S.dual(G), base.dual(G) / s, rtol=1e-14)
    np.testing.assert_allclose(S.lmo(G), base.lmo(G) / s, rtol=1e-14)
    assert S.scaled(2.0).scale == 5.0 and get_norm(name, s) == S
    assert get_norm(S) is S and get_norm(S, 2.0).scale == 5.0


@pytest.mark.parametrize("name", NORMS)
def test_zero_input(xp, name):
    """lmo(0) = 0 (documented), ‖0‖ = ‖0‖_* = 0, no NaN."""
    Z = xp.zeros((2, 3, 4), dtype=xp.float64)
    N = get_norm(name, 2.0)
    assert np.all(to_numpy(N.lmo(Z)) == 0)
    assert np.all(to_numpy(N.norm(Z)) == 0) and np.all(to_numpy(N.dual(Z)) == 0)


@pytest.mark.parametrize("name", NORMS)
def test_batched_equals_one_by_one(xp, name, rng):
    G = as_xp(xp, rng.standard_normal((2, 3, 4, 5)))
    N = get_norm(name)
    D, v, d = to_numpy(N.lmo(G)), to_numpy(N.norm(G)), to_numpy(N.dual(G))
    for i in range(2):
        for j in range(3):
            g = G[i, j, ...]
            np.testing.assert_allclose(to_numpy(N.lmo(g)), D[i, j], rtol=0, atol=1e-12)
            np.testing.assert_allclose(to_numpy(N.norm(g)), v[i, j], rtol=1e-12)
            np.testing.assert_allclose(to_numpy(N.dual(g)), d[i, j], rtol=1e-12)


@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("factor", [1e-300, 1e300])
def test_extreme_scales_stay_finite_and_scale_correctly(name, factor, rng):
    G = rng.standard_normal((2, 4, 3))
    N = get_norm(name)
    with np.errstate(all="raise"):  # no overflow/underflow warnings on the way
        D = N.lmo(G * factor)
        v = N.norm(G * factor)
    np.testing.assert_allclose(D, N.lmo(G), atol=1e-12)
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(v / factor, N.norm(G), rtol=1e-12)


def test_rank_deficient_and_degenerate_shapes(rng):
    """Spectral lmo of a rank-2 matrix is −U₂V₂ᵀ; row/column vectors; zero columns map to 0."""
    A = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 5))
    N = get_norm("spectral")
    D = N.lmo(A[None])[0]
    U, S, Vh = np.linalg.svd(A)
    np.testing.assert_allclose(D, -U[:, :2] @ Vh[:2], atol=1e-12)
    np.testing.assert_allclose(N.norm(D[None]), 1.0, rtol=1e-12)
    np.testing.assert_allclose(inner(A, D), -S.sum(), rtol=1e-12)
    row = rng.standard_normal((1, 7))
    for name in NORMS:
        Dn = get_norm(name).lmo(row)
        np.testing.assert_allclose(inner(row, Dn), -get_norm(name).dual(row), rtol=1e-12)
    G = rng.standard_normal((4, 3))
    G[:, 1] = 0.0
    Dc = get_norm("col_l2").lmo(G)
    assert np.all(Dc[:, 1] == 0) and np.all(np.isfinite(Dc))


# ----------------------------------------------------------------------------- errors


def test_unknown_name_lists_allowed():
    with pytest.raises(ValueError, match=r"name.*spectral.*row_l2.*'bogus'"):
        get_norm("bogus")


@pytest.mark.parametrize("name", NORMS)
def test_bad_inputs_raise(name):
    N = get_norm(name)
    with pytest.raises(ValueError, match="X must be a matrix"):
        N.norm(np.ones(3))
    with pytest.raises(ValueError, match="G must be a matrix"):
        N.dual(np.ones(3))
    with pytest.raises(ValueError, match="G must be a matrix"):
        N.lmo(np.ones(3))
    with pytest.raises(ValueError, match="G contains NaN or Inf"):
        N.lmo(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="G contains NaN or Inf"):
        N.lmo(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="scale"):
        get_norm(name, 0.0)
    with pytest.raises(ValueError, match="s must be"):
        N.scaled(-1.0)
