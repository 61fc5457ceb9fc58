"""One-step descent thresholds of Muon and gradient descent.

For a loss F, a point W and a direction D, the *one-step threshold* is

    η*(W, D) = sup{η > 0 : F(W − ηD) < F(W)},

the largest step that still decreases the loss.  For Muon D = polar(∇F(W)) = UVᵀ (thin SVD of the
gradient), for GD D = ∇F(W).  On a Kronecker-factored quadratic F(X) = ½⟨X − X*, P(X − X*)Q⟩ (P, Q
symmetric positive definite, Hessian 𝓗 = Q ⊗ P) the loss along the ray is a parabola, so the
threshold has a closed form:

    Muon:  η* = 2⟨G, O⟩/⟨O, 𝓗O⟩ = 2‖G‖_*/⟨O, P O Q⟩,   O = polar(G),
    GD:    η* = 2‖G‖_F²/⟨G, P G Q⟩,

with G = P(W − X*)Q.  ‖G‖_* = Σσ_i(G) is r times the *average* singular value, which is why Muon's
threshold scales with the average singular value of the gradient and GD's (through ⟨G, 𝓗G⟩ ≤ λ_max‖G‖_F²)
with the largest curvature.  :func:`bisect_threshold` finds η* on the loss itself (any batched F),
:func:`descent_thresholds` does it for Muon and GD on stacked quadratic instances, and
:func:`quadratic_thresholds` evaluates the closed forms; the S4 experiments compare the two.

>>> import numpy as np
>>> P, Q = np.diag([2.0, 1.0]), np.eye(2)
>>> W, Xs = np.eye(2), np.zeros((2, 2))
>>> res = descent_thresholds(P[None], Q[None], Xs[None], W[None])
>>> closed = quadratic_thresholds(P[None], Q[None], Xs[None], W[None])
>>> bool(np.allclose(res.lo, closed, rtol=1e-12))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from problems.quadratic import polar as exact_polar

__all__ = [
    "Thresholds",
    "bisect_threshold",
    "bisect_thresholds",
    "descent_thresholds",
    "quadratic_loss",
    "quadratic_thresholds",
]


def quadratic_loss(X, P, Q, Xs):
    """F(X) = ½⟨X − X*, P (X − X*) Q⟩, batched over leading axes that broadcast with the instances.

    Parameters
    ----------
    X : (..., B, m, n) points; P : (B, m, m); Q : (B, n, n); Xs : (B, m, n) the minimisers X*.
    """
    E = X - Xs
    return 0.5 * np.sum(E * (P @ E @ Q), axis=(-2, -1))


def bisect_threshold(
    f: Callable[[np.ndarray], np.ndarray],
    W: np.ndarray,
    D: np.ndarray,
    *,
    start: float = 1e-3,
    doublings: int = 80,
    iterations: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Bracket of the one-step threshold sup{η : f(W − ηD) < f(W)} for a batch of directions.

    Parameters
    ----------
    f : batched loss; ``f(X)`` for X of shape (..., *W.shape) returns shape (..., *W.shape[:-2]).
    W : (*batch, m, n) points; D : (k, *batch, m, n) directions (k directions per point, e.g. Muon
        and GD) or (*batch, m, n).
    start : first trial step; it is doubled (at most ``doublings`` times) while the loss still
        decreases, then ``iterations`` bisection steps shrink the bracket.

    Returns
    -------
    (lo, hi) of shape D.shape[:-2] with f(W − lo·D) < f(W) <= f(W − hi·D) (the threshold lies in
    (lo, hi]); where even ``start`` does not decrease the loss (D is not a descent direction, or the
    threshold is below ``start``), lo = start/2 is not certified: check ``f(W − lo D) < f(W)``.

    The loss along a ray may decrease again beyond the first crossing on a non-convex F; the bracket
    is then around *a* crossing found by doubling, as for the quadratics used here (one crossing).
    """
    W = np.asarray(W, dtype=float)
    D = np.asarray(D, dtype=float)
    if D.shape[-W.ndim :] != W.shape:
        raise ValueError(f"D must have shape (k, *W.shape) or W.shape, got {D.shape} for W {W.shape}")
    if not (start > 0) or doublings < 0 or iterations < 1:
        raise ValueError("start must be > 0, doublings >= 0 and iterations >= 1")
    f0 = f(W)

    def decreases(eta):
        return f(W - eta[..., None, None] * D) < f0

    hi = np.full(D.shape[:-2], float(start))
    for _ in range(doublings):  # double until the loss no longer decreases
        hi = np.where(decreases(hi), 2 * hi, hi)
    lo = hi / 2
    for _ in range(iterations):  # bisection: F(W − lo D) < F(W) <= F(W − hi D)
        mid = 0.5 * (lo + hi)
        ok = decreases(mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return lo, hi


class Thresholds(NamedTuple):
    """Result of :func:`descent_thresholds` (unpacks as ``G, dirs, lo, hi``).

    gradient : (B, m, n) G = P(W − X*)Q; directions : (2, B, m, n) [polar(G), G];
    lo, hi : (2, B) brackets (row 0 Muon, row 1 GD) with lo < η* <= hi.
    """

    gradient: np.ndarray
    directions: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def descent_thresholds(P, Q, Xs, W, polar: Callable | None = None) -> Thresholds:
    """Batched one-step thresholds of Muon and GD on F(X) = ½⟨X − X*, P (X − X*) Q⟩, by bisection.

    Parameters
    ----------
    P : (B, m, m), Q : (B, n, n) symmetric positive definite; Xs : (B, m, n); W : (B, m, n).
    polar : the orthogonaliser of Muon's direction (default: the exact U Vᵀ of the thin SVD; pass a
        Newton–Schulz oracle to measure an inexact Muon step).

    Returns
    -------
    :class:`Thresholds` (row 0 Muon with D = polar(G), row 1 GD with D = G).
    """
    polar = exact_polar if polar is None else polar
    P, Q, Xs, W = (np.asarray(a, dtype=float) for a in (P, Q, Xs, W))
    G = P @ (W - Xs) @ Q
    dirs = np.stack([np.asarray(polar(G), dtype=float), G])
    lo, hi = bisect_threshold(lambda X: quadratic_loss(X, P, Q, Xs), W, dirs)
    return Thresholds(G, dirs, lo, hi)


def bisect_thresholds(P, Q, Xs, W, polar: Callable | None = None) -> Thresholds:
    """The former name of :func:`descent_thresholds` (kept for old callers)."""
    return descent_thresholds(P, Q, Xs, W, polar)


def quadratic_thresholds(P, Q, Xs, W, polar: Callable | None = None) -> np.ndarray:
    """Closed-form one-step thresholds (2, B): [2‖G‖_*/⟨O, P O Q⟩ (Muon), 2‖G‖_F²/⟨G, P G Q⟩ (GD)].

    With an inexact ``polar`` the Muon row is 2⟨G, O⟩/⟨O, P O Q⟩ for the direction it returns (the
    same parabola argument), which equals 2‖G‖_*/⟨O, P O Q⟩ for the exact polar.
    """
    polar = exact_polar if polar is None else polar
    P, Q, Xs, W = (np.asarray(a, dtype=float) for a in (P, Q, Xs, W))
    G = P @ (W - Xs) @ Q
    O = np.asarray(polar(G), dtype=float)
    muon = 2 * np.sum(G * O, axis=(-2, -1)) / np.sum(O * (P @ O @ Q), axis=(-2, -1))
    gd = 2 * np.sum(G * G, axis=(-2, -1)) / np.sum(G * (P @ G @ Q), axis=(-2, -1))
    return np.stack([muon, gd])
