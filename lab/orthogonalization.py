"""Orthogonalisation: the exact polar factor and the Newton–Schulz family.

polar(G) = U Vᵀ for the thin SVD G = U Σ Vᵀ (pseudo-inverse sense: singular values at or below
max(m, n)·eps·σ_max count as zero, so rank-deficient inputs give a partial isometry and polar(0) = 0).

Newton–Schulz with coefficients (a_t, b_t, c_t), t = 1..k (Muon's "zeropower" iteration):

    X₀ = G / (‖G‖_F + ε)                      (or σ_max(G) + ε, or no normalisation)
    if m > n: work with X₀ᵀ                   (so the Gram matrix A is the small r×r one)
    repeat: A = X Xᵀ;  X ← a_t X + (b_t A + c_t A²) X

One step applies p_t(x) = a_t x + b_t x³ + c_t x⁵ to every singular value and keeps U, V, so

    NS_k(G) = U · p_k∘…∘p_1(Σ/(‖G‖_F + ε)) · Vᵀ          (exact in exact arithmetic),

and every inexactness measure of §1.2 is a function of the normalised spectrum:
δ_op = max_i |1 − p^(k)(x_i)|, alignment = Σσ_i p^(k)(x_i)/Σσ_i, overshoot = max_i p^(k)(x_i), and the
uniform bound over all inputs with x_min ≥ ℓ is :func:`ns_delta` (computed exactly by interval
propagation, see there).

Presets (:data:`NS_PRESETS`, rows (a, b, c)):

* ``cubic``  (3/2, −1/2, 0):     1 − p(x) = ½(1 − x)²(2 + x); e⁺ = ½e²(3 − e); p([0,1]) ⊂ [0,1].
* ``quintic`` (15/8, −10/8, 3/8): 1 − p(x) = (1 − x)³(3x² + 9x + 8)/8; p([0,1]) ⊂ [0,1].
* ``jordan`` (3.4445, −4.7750, 2.0315) (K. Jordan's Muon, ``torch.optim.Muon``'s default): steep
  at 0, does not converge to 1;
  the image of [ℓ, 1] settles in the band [0.6818, 1.1344] (reaching 1.2024 during the transient),
  so the uniform error stays 0.3182 whatever the number of steps (``ns_image``/``ns_delta``).
* ``polar_express``: :func:`lab.polar_express.polar_express_coefficients` (1e-3, 8 steps,
  cushion 0.02407…, safety 1.01 after the fact) = the list printed by Amsel et al. (2505.16932)
  with its safety rescaling (rows 1–6 to 1e-13; rows 7–8, fitted on intervals of relative width
  ≤ 2.4e-3 where the coefficients are ill-determined, to 1e-8 in the coefficients and 1e-13 as
  functions on their intervals).
* ``modded_nanogpt``: modded-nanogpt's five-step schedule, = polar_express_coefficients(1e-3, 5,
  cushion=0.02, safety=1.02) (reproduced to 1e-13).  modded-nanogpt also divides the input by
  ‖G‖_F·1.02 + 1e-6; that input scaling is not part of the preset (pre-scale G to reproduce it).

Input scaling.  The default ``normalization="frobenius"`` divides by ‖G‖_F + eps; ``torch.optim.Muon``
divides by max(‖G‖_F, eps) (``normalization="frobenius_max"``).  The two differ by a relative
eps/‖G‖_F (1e-7/‖G‖_F with the default eps), so a torch-exact run names ``frobenius_max``
(oracle spec ``"ns:jordan:5:normalization=frobenius_max"``); every other default is unchanged.

Per-step schedules shorter than ``steps`` repeat their last row (for ``polar_express`` the last row
is the classical quintic, the paper's "subsequent coefficients"); longer ones are truncated.
"""

from __future__ import annotations

import functools
import math
from types import MappingProxyType

import numpy as np

from lab.backend import check_finite, check_matrix, namespace
from lab.polar_express import (
    PAPER_CUSHION,
    odd_polynomial,
    odd_polynomial_range,
    polar_express_coefficients,
)

__all__ = [
    "NS_PRESETS",
    "NORMALIZATIONS",
    "polar",
    "newton_schulz",
    "ns_polynomial",
    "ns_delta",
    "ns_delta_upper",
    "ns_image",
    "resolve_coefficients",
    "spectral_diagnostics",
]

#: "frobenius_max" is torch.optim.Muon's X₀ = G/max(‖G‖_F, eps) (the others add eps to the norm).
NORMALIZATIONS = ("frobenius", "spectral", "none", "frobenius_max")


def _frozen(rows) -> np.ndarray:
    a = np.array(rows, dtype=np.float64).reshape(-1, 3)
    a.setflags(write=False)
    return a


#: Named coefficient schedules, read-only (k, 3) float64 arrays of rows (a, b, c).
NS_PRESETS = MappingProxyType(
    {
        "cubic": _frozen([(1.5, -0.5, 0.0)]),
        "quintic": _frozen([(15 / 8, -10 / 8, 3 / 8)]),
        "jordan": _frozen([(3.4445, -4.7750, 2.0315)]),
        "polar_express": _frozen(
            polar_express_coefficients(1e-3, 8, 5, PAPER_CUSHION, 1.01, safety_in_recursion=False)
        ),
        "modded_nanogpt": _frozen(polar_express_coefficients(1e-3, 5, 5, 0.02, 1.02)),
    }
)


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    return int(steps)


@functools.lru_cache(maxsize=256)
def _preset_table(name: str, steps: int) -> np.ndarray:
    table = NS_PRESETS[name]
    out = np.array(table[np.minimum(np.arange(steps), table.shape[0] - 1)], dtype=np.float64).reshape(
        steps, 3
    )
    out.setflags(write=False)
    return out


def resolve_coefficients(coefficients="jordan", steps: int = 5) -> np.ndarray:
    """The (steps, 3) float64 schedule for a preset name or an array of shape (3,) or (k, 3).

    A (3,) triple is used at every step; a (k, 3) schedule with k < steps repeats its last row,
    with k > steps it is truncated.  Host-side (NumPy) because the coefficients are Python scalars
    in the iteration.

    Raises
    ------
    ValueError
        ``steps`` not an integer ≥ 0; unknown preset (the message lists :data:`NS_PRESETS`);
        ``coefficients`` of another shape, empty, or not finite.
    """
    steps = _check_steps(steps)
    if isinstance(coefficients, str):
        if coefficients not in NS_PRESETS:
            raise ValueError(
                f"coefficients must be one of {tuple(NS_PRESETS)} or an array, got {coefficients!r}"
            )
        return _preset_table(coefficients, steps).copy()
    return _custom_table(coefficients, steps)


def _resolve(coefficients, steps) -> np.ndarray:
    """resolve_coefficients without the defensive copy (cached, read-only for presets)."""
    if isinstance(coefficients, str) and coefficients in NS_PRESETS:
        return _preset_table(coefficients, _check_steps(steps))
    return resolve_coefficients(coefficients, steps)


def _custom_table(coefficients, steps: int) -> np.ndarray:
    try:
        table = np.asarray(coefficients, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"coefficients must be a preset name or numeric array, got {coefficients!r}"
        ) from exc
    if table.ndim == 1 and table.shape == (3,):
        table = table[None, :]
    if table.ndim != 2 or table.shape[1] != 3 or table.shape[0] < 1:
        raise ValueError(f"coefficients must have shape (3,) or (k, 3) with k >= 1, got shape {table.shape}")
    if not np.all(np.isfinite(table)):
        raise ValueError("coefficients must be finite")
    idx = np.minimum(np.arange(steps), table.shape[0] - 1)
    return np.array(table[idx], dtype=np.float64).reshape(steps, 3)


# ----------------------------------------------------------------------------- polar factor


def _polar_from_svd(U, S, Vh, shape):
    """U·1[σ > tol]·Vh with tol = max(m, n)·eps·σ_max (the numerical-rank cut of numpy's pinv/rank)."""
    xp = namespace(U)
    eps = xp.finfo(S.dtype).eps
    smax = S[..., 0:1]
    # compare σ_i/σ_max with the relative tolerance (no underflow for tiny inputs; σ_max = 0 keeps none)
    ratio = S / xp.where(smax > 0, smax, xp.ones_like(smax))
    keep = xp.astype(ratio > max(shape[-2], shape[-1]) * eps, U.dtype)
    return (U * keep[..., None, :]) @ Vh, keep


def polar(G):
    """Exact polar factor U Vᵀ of G = U Σ Vᵀ (thin SVD), batched over leading axes.

    Singular values σ_i ≤ max(m, n)·eps·σ_max are treated as zero (pseudo-inverse sense):
    polar(G) = U_r V_rᵀ on the numerical rank r, polar(0) = 0.  polar(cG) = polar(G) for c > 0.

    Raises ValueError if G is not a real floating (..., m, n) array or holds NaN/Inf.
    """
    check_matrix(G, "G")
    check_finite(G, "G")
    return _polar(G)


def _polar(G):
    """polar on validated input."""
    xp = namespace(G)
    U, S, Vh = xp.linalg.svd(G, full_matrices=False)
    return _polar_from_svd(U, S, Vh, G.shape)[0]


# ----------------------------------------------------------------------------- Newton–Schulz


def _normalise(G, normalization: str, eps: float, check: bool):
    """X₀ = G/(‖G‖ + eps), batched, with the finiteness check folded in.

    Frobenius fast path: n² = Σ G_ij² in one pass; when every member's n² is finite and at least
    tiny/eps (no overflow, no underflow that costs accuracy), X₀ = G·(1/(√n² + eps)), and G is
    finite for sure (a NaN/Inf entry makes n² non-finite).  Otherwise (a zero, tiny or huge member,
    or NaN/Inf) G is checked for NaN/Inf and the failing members are normalised as
    (G/s)/(‖G/s‖ + eps/s) with s = max |G_ij|, so squares never overflow or underflow; members on
    the fast path keep the fast-path value, so a batch equals its members computed one by one.
    With ``check=False`` a non-finite member gives NaN in that member only.
    """
    xp = namespace(G)
    if normalization == "none":
        if check:
            check_finite(G, "G")
        return G
    if normalization == "frobenius_max":
        if check:
            check_finite(G, "G")
        # torch divides by the clamped norm (not by the norm plus eps): same operation here, so
        # the iterate matches torch.optim.Muon's to rounding
        n = xp.linalg.matrix_norm(G, keepdims=True)
        return G / xp.where(n > eps, n, xp.full_like(n, eps) if eps > 0 else xp.ones_like(n))
    if normalization == "spectral":
        if check:
            check_finite(G, "G")
        n = xp.linalg.svdvals(G)[..., 0][..., None, None]  # LAPACK rescales internally
        den = n + eps
        return G * (1.0 / xp.where(den > 0, den, xp.ones_like(den)))
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected below, not warned
        n2 = xp.sum(G * G, axis=(-2, -1), keepdims=True)
    fi = xp.finfo(G.dtype)
    ok = xp.isfinite(n2) & (n2 >= fi.smallest_normal / fi.eps)
    fast = G * (1.0 / (xp.sqrt(xp.where(ok, n2, xp.ones_like(n2))) + eps))
    if bool(xp.all(ok)):
        return fast
    if check:
        check_finite(G, "G")
    s = xp.max(xp.abs(G), axis=(-2, -1), keepdims=True)
    s = xp.where(s > 0, s, xp.ones_like(s))  # G = 0 stays 0
    Y = G / s
    den = xp.sqrt(xp.sum(Y * Y, axis=(-2, -1), keepdims=True)) + eps / s
    slow = Y / xp.where(den > 0, den, xp.ones_like(den))
    return xp.where(ok, fast, slow)


def newton_schulz(
    G,
    steps: int = 5,
    coefficients="jordan",
    *,
    normalization: str = "frobenius",
    eps: float = 1e-7,
    transpose: bool = True,
    return_diagnostics: bool = False,
):
    """Newton–Schulz orthogonalisation NS_k(G) ≈ polar(G) (positive sign: the LMO is −NS_k(G)).

    Parameters
    ----------
    G : array (..., m, n), float64 or float32, any array-API namespace (batched over leading axes).
    steps : int ≥ 0
        Number of iterations k (0 returns the normalised X₀).
    coefficients : str or array
        A preset name from :data:`NS_PRESETS`, a triple (a, b, c), or a per-step (k', 3) schedule
        (shorter than ``steps``: the last row repeats; longer: truncated).
    normalization : "frobenius" (default, all common codes), "spectral" (exact σ_max), "none", or
        "frobenius_max" (X₀ = G/max(‖G‖_F, eps), torch.optim.Muon's scaling).
    eps : float ≥ 0
        Added to the norm: X₀ = G/(‖G‖ + eps) (a floor with "frobenius_max").  Use eps=0 for the
        exact spectral identity.
    transpose : bool
        Iterate on Gᵀ when m > n (the Gram matrix XXᵀ is then min(m, n)²); the result is the same
        in exact arithmetic.
    return_diagnostics : bool
        Also return the inexactness measures of the source (costs one SVD of G and the singular
        values of D − polar(G) and of D; nothing extra is computed when False).

    Returns
    -------
    D : array like G, ≈ polar(G) = U p^(k)(Σ/(‖G‖+eps)) Vᵀ.
    diagnostics : dict of batch-shaped arrays (only with ``return_diagnostics=True``):
        ``delta_op`` = ‖D − polar(G)‖_op, ``delta_F`` = ‖D − polar(G)‖_F/√rank (rank ≥ 1),
        ``alignment`` = ⟨G, D⟩/‖G‖_* (1 for G = 0), ``overshoot`` = ‖D‖_op.

    Raises
    ------
    ValueError (before any work), naming the argument: ``steps`` < 0 or not an integer; unknown
    preset or badly shaped ``coefficients``; unknown ``normalization``; ``eps`` < 0; ``G`` not a
    real floating (..., m, n) array or holding NaN/Inf.

    Notes
    -----
    Squares are only formed when they cannot overflow or underflow (see ``_normalise``), so inputs
    scaled by 1e±300 give the same result as unscaled ones; with "frobenius" and "none" the
    normalised iterate has ‖X₀‖_op ≤ 1 and no intermediate quantity can overflow for the presets.
    """
    table = _resolve(coefficients, steps)
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    eps = float(eps)
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    check_matrix(G, "G")
    X = _newton_schulz(G, table, normalization, eps, bool(transpose), check=True)
    if not return_diagnostics:
        return X
    return X, spectral_diagnostics(G, X)


#: Working-set budget of one block of a NumPy batch (two iterates and two Gram buffers): small
#: enough to stay in a per-core L2 cache over the whole iteration (see ``_ns_steps_numpy``).
_CHUNK_BYTES = 1 << 20


def _newton_schulz(G, table, normalization, eps, transpose, check=True, negate=False):
    """The iteration on validated arguments (``table`` a (k, 3) host array).

    ``negate=True`` returns −NS_k(G) (the LMO's sign, :mod:`lab.oracles`) at no extra pass: the last
    step runs with (−a, −b, −c), which negates every rounded operation exactly (round-to-nearest is
    symmetric), so the result is bit-identical to ``-_newton_schulz(...)``.

    NumPy arrays take :func:`_ns_steps_numpy` (same operations in the same order, written into
    preallocated buffers); other namespaces (CuPy, array-api-strict, which has no ``out=``) take the
    plain array-API loop :func:`_ns_steps`.  Both give bit-identical results on NumPy.
    """
    xp = namespace(G)
    X = _normalise(G, normalization, eps, check)
    owned = X is not G  # normalisation made a fresh array: the loop may overwrite it
    flip = transpose and G.shape[-2] > G.shape[-1]
    if flip:
        X = xp.matrix_transpose(X)
    rows = table.tolist()
    if rows and isinstance(X, np.ndarray):
        X = _ns_steps_numpy(X, rows, owned, negate)
    else:
        X = _ns_steps(xp, X, rows)
        if negate:
            X = -X
    if flip:
        X = xp.matrix_transpose(X)
    return X


def _ns_steps(xp, X, rows):
    """The reference loop (any array-API namespace): A = XXᵀ; X ← aX + (bA + cA²)X."""
    for a, b, c in rows:
        if b == 0.0 and c == 0.0:
            X = a * X
            continue
        A = X @ xp.matrix_transpose(X)
        B = b * A + c * (A @ A) if c != 0.0 else b * A
        X = a * X + B @ X
    return X


def _ns_steps_numpy(X, rows, owned, negate):
    """:func:`_ns_steps` for NumPy (optionally negated), bit-identical, without temporaries.

    Why: the reference loop allocates eight arrays per step (A, A², bA, cA², B, BX, aX, X_new);
    for large matrices their first-touch page faults and extra memory passes cost 30–40 % of the
    time, and for a large batch of small matrices every elementwise pass streams the whole batch
    through memory.  Here the products write into two iterate and two Gram buffers
    (``matmul(out=)``) and the coefficient updates run in place; a batch whose buffers exceed
    :data:`_CHUNK_BYTES` is done in blocks of members that stay in cache for all the steps.

    Exactness: the same IEEE operations with the same operands (bA + cA² and aX + BX as in-place
    sums, which commute exactly), the products on the same operand layouts and every output
    C-contiguous (an F-ordered ``out`` would make NumPy compute the transposed product), and each
    member's products are separate BLAS calls in both loops, so blocks change nothing.
    """
    *batch, r, c = X.shape
    members = math.prod(batch)
    per_member = 2 * (r * c + r * r) * X.dtype.itemsize
    k = max(1, _CHUNK_BYTES // per_member)
    if not batch or k >= members or k < 2:
        return _ns_block(X, rows, owned, negate, _ns_buffers(X.shape, X.dtype))
    Xf = np.reshape(X, (members, r, c))
    out = np.empty((members, r, c), dtype=X.dtype)
    buffers = _ns_buffers((k, r, c), X.dtype)
    for s in range(0, members, k):
        e = min(s + k, members)
        out[s:e] = _ns_block(Xf[s:e], rows, owned, negate, tuple(b[: e - s] for b in buffers))
    return np.reshape(out, X.shape)


def _ns_buffers(shape, dtype):
    """Two (…, r, c) iterate buffers and two (…, r, r) Gram buffers, C-contiguous."""
    *batch, r, _ = shape
    gram = (*batch, r, r)
    return np.empty(shape, dtype), np.empty(shape, dtype), np.empty(gram, dtype), np.empty(gram, dtype)


def _ns_block(X, rows, owned, negate, buffers):
    """The steps on one block; X is overwritten when ``owned``; returns one of the buffers."""
    P, Q, A, A2 = buffers
    last = len(rows) - 1
    for t, (a, b, c) in enumerate(rows):
        if negate and t == last:
            a, b, c = -a, -b, -c
        Y = P if t % 2 == 0 else Q
        if b == 0.0 and c == 0.0:
            np.multiply(X, a, out=Y)
        else:
            np.matmul(X, np.swapaxes(X, -1, -2), out=A)
            if c != 0.0:
                np.matmul(A, A, out=A2)
                A2 *= c
                A *= b
                A2 += A  # = bA + cA²
                B = A2
            else:
                A *= b
                B = A
            np.matmul(B, X, out=Y)
            if owned:
                X *= a
                Y += X  # = aX + BX
            else:  # X is the caller's G: never written
                Y += a * X
        X, owned = Y, True
    return X


def spectral_diagnostics(G, D) -> dict:
    """Inexactness of D as an approximation of polar(G), batch-shaped arrays.

    delta_op = ‖D − polar(G)‖_op; delta_F = ‖D − polar(G)‖_F/√max(rank, 1);
    alignment = ⟨G, D⟩/‖G‖_* (defined as 1 when G = 0); overshoot = ‖D‖_op.
    """
    xp = namespace(G, D)
    U, S, Vh = xp.linalg.svd(G, full_matrices=False)
    P, keep = _polar_from_svd(U, S, Vh, G.shape)
    R = D - P
    rank = xp.sum(keep, axis=-1)
    nuc = xp.sum(S, axis=-1)
    ip = xp.sum(G * D, axis=(-2, -1))
    ones = xp.ones_like(nuc)
    return {
        "delta_op": xp.linalg.svdvals(R)[..., 0],
        "delta_F": xp.sqrt(xp.sum(R * R, axis=(-2, -1)) / xp.where(rank > 0, rank, ones)),
        "alignment": xp.where(nuc > 0, ip / xp.where(nuc > 0, nuc, ones), ones),
        "overshoot": xp.linalg.svdvals(D)[..., 0],
    }


# ----------------------------------------------------------------------------- scalar theory


def ns_polynomial(coefficients="jordan", steps: int = 5):
    """The composed odd polynomial p^(k) = p_k∘…∘p_1 as a callable on scalars or arrays.

    ``ns_polynomial(c, k)(x)`` is what :func:`newton_schulz` applies to each normalised singular
    value x (Horner form y·(a + y²(b + c·y²)) per step).
    """
    table = resolve_coefficients(coefficients, steps)
    rows = [tuple(r) for r in table.tolist()]

    def p(x):
        y = x
        for row in rows:
            y = odd_polynomial(row, y)
        return y

    p.coefficients = table
    return p


def ns_image(ell: float, steps: int, coefficients="jordan") -> tuple[float, float]:
    """The exact image interval p^(k)([ell, 1]) = [min, max] (interval propagation, see ns_delta)."""
    ell = float(ell)
    if not (0 <= ell <= 1):
        raise ValueError(f"ell must lie in [0, 1], got {ell!r}")
    lo, hi = ell, 1.0
    for row in resolve_coefficients(coefficients, steps).tolist():
        lo, hi = odd_polynomial_range(tuple(row), lo, hi)
    return lo, hi


def ns_delta(ell: float, steps: int, coefficients="jordan") -> float:
    """Uniform bound δ_k(ℓ) = max_{x∈[ℓ,1]} |1 − p^(k)(x)|, computed exactly.

    Method: a continuous function maps an interval onto an interval, so
    p^(k)([ℓ, 1]) = p_k(p_{k−1}(…p_1([ℓ, 1]))) is obtained by propagating the interval [lo, hi]
    through each p_t, using the range of an odd polynomial on an interval (endpoints and the real
    roots of p_t′ inside it, a quadratic in x²).  Then δ = max(|1 − lo|, |hi − 1|).  No grid: the
    only error is rounding in evaluating the polynomials (tested against a dense grid).

    Raises ValueError for ell outside [0, 1], bad steps or coefficients.
    """
    lo, hi = ns_image(ell, steps, coefficients)
    return max(abs(1.0 - lo), abs(hi - 1.0))


#: ℓ grid of :func:`ns_delta_upper`: 0, then 40 points per decade from 1e-12 to 1.
_ELL_GRID = np.concatenate([[0.0], np.logspace(-12, 0, 481)])


@functools.lru_cache(maxsize=64)
def _ns_delta_table(steps: int, preset: str) -> np.ndarray:
    table = np.array([ns_delta(float(e), steps, preset) for e in _ELL_GRID])
    table.setflags(write=False)
    return table


def ns_delta_upper(ell, steps: int, preset: str = "jordan") -> np.ndarray:
    """Vectorised a-priori bound: ``ns_delta`` at the largest grid point <= ℓ, for arrays of ℓ.

    δ_k(ℓ) = max_{x∈[ℓ,1]} |1 − p^(k)(x)| is non-increasing in ℓ, so its value at a grid point
    ℓ_j <= ℓ bounds δ_k(ℓ) from above (exact at the grid points; the grid has 40 points per decade
    from 1e-12 to 1, plus 0).  The table is computed once per (steps, preset) by :func:`ns_delta`;
    an array of ℓ then costs one search, where per-entry calls cost about a millisecond each.
    """
    if preset not in NS_PRESETS:
        raise ValueError(f"preset must be one of {tuple(NS_PRESETS)}, got {preset!r}")
    ell = np.asarray(ell, dtype=np.float64)
    if np.any(~np.isfinite(ell)) or np.any(ell < 0) or np.any(ell > 1):
        raise ValueError("ell must lie in [0, 1]")
    idx = np.searchsorted(_ELL_GRID, ell, side="right") - 1
    return _ns_delta_table(_check_steps(steps), preset)[idx]
