"""Matrix norms, their duals and their linear minimisation oracles (LMOs).

Conventions.  For a norm ‖·‖ on R^{m×n} with dual
‖G‖_* = sup_{‖Z‖≤1} ⟨G, Z⟩ (⟨A, B⟩ = tr(AᵀB)), the LMO over the unit ball is

    lmo(G) = argmin_{‖D‖ ≤ 1} ⟨G, D⟩,   so   ⟨G, lmo(G)⟩ = −‖G‖_*   and   ‖lmo(G)‖ = 1  (G ≠ 0).

For G = 0 every feasible D is a minimiser; the lab returns **lmo(0) = 0** (documented choice:
it keeps the update X + t·lmo(G) at rest at a stationary point and is what the closed forms
give with 0/0 read as 0).

Closed forms implemented here (all batched over leading axes ``(..., m, n)``):

==========  =======================  =========================  ====================================
name        ‖X‖                      ‖G‖_* (dual)               lmo(G)
==========  =======================  =========================  ====================================
spectral    σ_max(X)                 Σ σ_i(G) (nuclear)         −U Vᵀ  (thin SVD, −polar(G))
nuclear     Σ σ_i(X)                 σ_max(G)                   −u₁ v₁ᵀ (rank one, Frank–Wolfe)
frobenius   ‖X‖_F                    ‖G‖_F                      −G/‖G‖_F
linf        max |X_ij|               Σ |G_ij| (ℓ1)              −sign(G)
l1          Σ |X_ij|                 max |G_ij| (ℓ∞)            −sign(G_kl) e_k e_lᵀ, (k,l) = argmax |G|
col_l2      max_j ‖X_:j‖₂            Σ_j ‖G_:j‖₂                columns −G_:j/‖G_:j‖₂ (zero cols → 0)
row_l2      max_i ‖X_i:‖₂            Σ_i ‖G_i:‖₂                rows −G_i:/‖G_i:‖₂ (zero rows → 0)
==========  =======================  =========================  ====================================

Scaled norms s·‖·‖ (s > 0, :meth:`Norm.scaled`): the dual is ‖·‖_*/s and lmo is lmo/s.

Ties (equal top singular values for ``nuclear``, equal maximal entries for ``l1``) are broken
by the order the backend returns (first index): any choice is a valid minimiser.

All routines take the array namespace from their input (NumPy, CuPy, array-api-strict), never
copy between host and device, and scale before squaring so that inputs near the overflow /
underflow thresholds (entries 1e±300) give finite results.
"""

from __future__ import annotations

import math

from lab.backend import check_finite, check_matrix, namespace
from lab.orthogonalization import _polar

NORMS = ("spectral", "nuclear", "frobenius", "linf", "l1", "col_l2", "row_l2")

__all__ = ["NORMS", "Norm", "get_norm", "inner", "frobenius_norm"]


# ----------------------------------------------------------------------------- helpers


def inner(A, B):
    """Batched Frobenius inner product ⟨A, B⟩ = tr(AᵀB), an array of the batch shape."""
    xp = namespace(A, B)
    return xp.sum(A * B, axis=(-2, -1))


def _safe_divisor(xp, d):
    """``d`` with zeros replaced by ones (so that 0/0 reads as 0 in the callers)."""
    return xp.where(d > 0, d, xp.ones_like(d))


def _max_abs(X):
    """max |X_ij| over the last two axes, batch-shaped."""
    xp = namespace(X)
    return xp.max(xp.abs(X), axis=(-2, -1))


def frobenius_norm(X):
    """Overflow-safe batched Frobenius norm: ‖X‖_F = s·‖X/s‖_F with s = max |X_ij|."""
    xp = namespace(X)
    s = _max_abs(X)
    s1 = _safe_divisor(xp, s)
    Y = X / s1[..., None, None]
    return s * xp.sqrt(xp.sum(Y * Y, axis=(-2, -1)))


def _vector_norms(X, axis):
    """Overflow-safe ℓ2 norms of the columns (axis=-2) or rows (axis=-1), scaled per matrix."""
    xp = namespace(X)
    s = _safe_divisor(xp, _max_abs(X))[..., None, None]
    Y = X / s
    return xp.sqrt(xp.sum(Y * Y, axis=axis)) * s[..., 0]  # s[..., 0] has shape (..., 1)


def _svdvals(X):
    """Singular values, descending (array API guarantees the order)."""
    return namespace(X).linalg.svdvals(X)


# ----------------------------------------------------------------------------- closed forms (s = 1)
# Unvalidated, batched; each returns batch-shaped values (norm, dual) or a (..., m, n) array (lmo).


def _spectral_norm(X):
    return _svdvals(X)[..., 0]


def _nuclear_norm(X):
    return namespace(X).sum(_svdvals(X), axis=-1)


def _spectral_lmo(G):
    return -_polar(G)


def _nuclear_lmo(G):
    xp = namespace(G)
    U, S, Vh = xp.linalg.svd(G, full_matrices=False)
    nonzero = xp.astype(S[..., 0] > 0, G.dtype)[..., None, None]  # σ₁ = 0 only for G = 0
    return -(U[..., :, 0:1] @ Vh[..., 0:1, :]) * nonzero


def _frobenius_lmo(G):
    xp = namespace(G)
    Y = G / _safe_divisor(xp, _max_abs(G))[..., None, None]  # scale before squaring
    nf = _safe_divisor(xp, xp.sqrt(xp.sum(Y * Y, axis=(-2, -1))))
    return -Y / nf[..., None, None]


def _l1_norm(X):
    xp = namespace(X)
    return xp.sum(xp.abs(X), axis=(-2, -1))


def _linf_lmo(G):
    return -namespace(G).sign(G)


def _l1_lmo(G):
    """−sign(G_kl)·e_k e_lᵀ at the first (k, l) maximising |G_kl|."""
    xp = namespace(G)
    m, n = G.shape[-2], G.shape[-1]
    flat = xp.reshape(xp.abs(G), tuple(G.shape[:-2]) + (m * n,))
    idx = xp.argmax(flat, axis=-1)
    onehot = xp.reshape(xp.arange(m * n, dtype=idx.dtype) == idx[..., None], G.shape)
    return -xp.sign(G) * xp.astype(onehot, G.dtype)


def _group_norm_max(axis):
    return lambda X: namespace(X).max(_vector_norms(X, axis), axis=-1)


def _group_norm_sum(axis):
    return lambda G: namespace(G).sum(_vector_norms(G, axis), axis=-1)


def _group_lmo(axis):
    """Normalise each column (axis=-2) or row (axis=-1); zero columns/rows map to 0."""

    def lmo(G):
        xp = namespace(G)
        Y = G / _safe_divisor(xp, _max_abs(G))[..., None, None]
        v = _safe_divisor(xp, xp.sqrt(xp.sum(Y * Y, axis=axis)))
        return -Y / xp.expand_dims(v, axis=axis)

    return lmo


# name -> (norm, dual, lmo); the column (row) norms reduce over axis -2 (-1)
_IMPL = {
    "spectral": (_spectral_norm, _nuclear_norm, _spectral_lmo),
    "nuclear": (_nuclear_norm, _spectral_norm, _nuclear_lmo),
    "frobenius": (frobenius_norm, frobenius_norm, _frobenius_lmo),
    "linf": (_max_abs, _l1_norm, _linf_lmo),
    "l1": (_l1_norm, _max_abs, _l1_lmo),
    "col_l2": (_group_norm_max(-2), _group_norm_sum(-2), _group_lmo(-2)),
    "row_l2": (_group_norm_max(-1), _group_norm_sum(-1), _group_lmo(-1)),
}


# ----------------------------------------------------------------------------- the Norm object


class Norm:
    """The matrix norm s·‖·‖_name on (..., m, n) arrays, with its dual and LMO.

    Parameters
    ----------
    name : str
        One of :data:`NORMS` (closed forms in the module docstring).
    scale : float, default 1.0
        The factor s > 0 of the scaled norm s·‖·‖.

    Methods (batched; values have the batch shape, ``lmo`` the input shape)
    -----------------------------------------------------------------------
    norm(X)   : s·‖X‖.
    dual(G)   : ‖G‖_*/s = sup_{s‖Z‖≤1} ⟨G, Z⟩.
    lmo(G)    : argmin_{s‖D‖≤1} ⟨G, D⟩ = lmo_{s=1}(G)/s;  lmo(0) = 0.
    scaled(t) : the norm t·s·‖·‖.

    Every method validates its argument (a real floating array of shape (..., m, n) with m, n ≥ 1,
    else a ValueError naming ``X`` or ``G``); ``lmo`` also rejects NaN/Inf (ValueError).  Norms are
    immutable values: equal when name and scale are equal.
    """

    __slots__ = ("name", "scale", "_norm", "_dual", "_lmo_base")

    def __init__(self, name: str, scale: float = 1.0):
        if name not in _IMPL:
            raise ValueError(f"name must be one of {NORMS}, got {name!r}")
        scale = float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
        self.name = name
        self.scale = scale
        self._norm, self._dual, self._lmo_base = _IMPL[name]

    def _lmo(self, G):
        """The s = 1 LMO on validated input (used by the oracles, which scale themselves)."""
        return self._lmo_base(G)

    def norm(self, X):
        check_matrix(X, "X")
        v = self._norm(X)
        return v if self.scale == 1.0 else v * self.scale

    def dual(self, G):
        check_matrix(G, "G")
        v = self._dual(G)
        return v if self.scale == 1.0 else v / self.scale

    def lmo(self, G):
        check_matrix(G, "G")
        check_finite(G, "G")
        D = self._lmo_base(G)
        return D if self.scale == 1.0 else D / self.scale

    def scaled(self, s: float) -> Norm:
        """The norm s·‖·‖ of this one (scales compose multiplicatively)."""
        s = float(s)
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"s must be a finite number > 0, got {s!r}")
        return Norm(self.name, self.scale * s)

    def describe(self) -> dict:
        return {"norm": self.name, "scale": self.scale}

    def __eq__(self, other):
        return isinstance(other, Norm) and (self.name, self.scale) == (other.name, other.scale)

    def __hash__(self):
        return hash((self.name, self.scale))

    def __repr__(self):
        return f"Norm({self.name!r}, scale={self.scale!r})"


def get_norm(name, scale: float = 1.0) -> Norm:
    """The norm ``scale·‖·‖_name``; ``name`` may also be a :class:`Norm` (then scaled by ``scale``).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`NORMS` (the message lists them) or ``scale`` is not > 0.
    """
    if isinstance(name, Norm):
        return name if scale == 1.0 else name.scaled(scale)
    if name not in _IMPL:
        raise ValueError(f"name must be one of {NORMS}, got {name!r}")
    return Norm(name, scale)
