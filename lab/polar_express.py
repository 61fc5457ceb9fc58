"""Polar Express schedules: greedy compositions of minimax odd polynomials (host-side scalars).

Reference: N. Amsel, D. Persson, C. Musco, R. M. Gower, *The Polar Express: Optimal Matrix Sign
Methods and Their Application to the Muon Algorithm*, arXiv 2505.16932.

The matrix iteration X ← aX + (bXXᵀ + c(XXᵀ)²)X applies the odd polynomial p(x) = ax + bx³ + cx⁵
to every singular value.  If the normalised singular values lie in [ℓ, u], a step maps them into
p([ℓ, u]), so the best *single* step is the odd polynomial that minimises
max_{x∈[ℓ,u]} |1 − p(x)|.  Polar Express composes these greedily:

    ℓ₁ = ℓ, u₁ = 1;   p_t = argmin_{p odd, deg ≤ d} max_{x∈[ℓ_t,u_t]} |1 − p(x)|;
    ℓ_{t+1} = p_t(ℓ_t),   u_{t+1} = 2 − ℓ_{t+1}

(the optimal p_t equioscillates, so p_t([ℓ_t, u_t]) = [ℓ_{t+1}, 2 − ℓ_{t+1}] exactly and the worst
error after T steps is 1 − ℓ_{T+1}).  The paper's practical variants, all parameters here:

* **cushion** c: p_t is fitted on [max(ℓ_t, c·u_t), u_t] instead (for tiny ℓ_t the optimal
  polynomial becomes very steep, which is fragile in low precision), then **recentred**:
  multiplied by 2/(min p_t + max p_t) over [ℓ_t, u_t], so that the image is symmetric about 1
  again (for degree 5 the extremes are p_t(ℓ_t) and p_t(u_t): the paper's 2/(p(ℓ) + p(u)));
* **safety** s ≥ 1: each polynomial is replaced by x ↦ p_t(x/s), i.e. (a/s, b/s³, c/s⁵), so that
  singular values up to s·u_t (round-off, or a Frobenius normalisation that is slightly off) are
  still mapped into the intended band.  The last polynomial of the schedule is left unscaled by
  default (its output is not fed to another step; ``safety_last=True`` scales it too), and the ℓ
  recursion uses the scaled polynomials (``safety_in_recursion=False``: the unscaled ones, the
  convention of the list printed in the paper).

The minimax polynomial on [lo, hi] (0 < lo < hi) is computed by the **Remez exchange** implemented
here: an optimal odd polynomial of degree d = 2q − 1 has q free coefficients and equioscillates at
q + 1 points, namely lo, the q − 1 interior critical points of p, and hi.  Given a reference
lo = x₀ < … < x_q = hi, solve the linear system p(x_j) + (−1)^j E = 1 (q coefficients and the
levelled error E), move the interior points to the critical points of the new p (the positive roots
of p′, a polynomial in z = x²), and repeat until the true maximum error over [lo, hi] equals |E|
to rounding.  For a relative width (hi − lo)/hi below 5·10⁻⁶ the minimax error is below float64
resolution (it shrinks like the width to the power q) and the linear system is singular to
working precision; there the limit l → u is used: the polynomial with p(u) = 1 and q − 1 vanishing
derivatives at u, i.e. the classical Newton–Schulz polynomial rescaled to u ((3/2, −1/2) for
d = 3; (15/8, −10/8, 3/8) for d = 5).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "PAPER_CUSHION",
    "PUBLISHED_POLAR_EXPRESS",
    "PUBLISHED_MODDED_NANOGPT",
    "odd_polynomial",
    "odd_polynomial_critical_points",
    "odd_polynomial_range",
    "minimax_odd_polynomial",
    "polar_express_coefficients",
    "polar_express_schedule",
]

#: Cushion used for the published schedule (the paper's default, 0.02407327424182761).
PAPER_CUSHION = 0.02407327424182761

#: The published degree-5, ℓ = 10⁻³ list (Amsel et al. 2505.16932, Algorithm "Polar Express" and
#: its appendix code), *before* the safety rescaling: eight steps, the last one the classical
#: quintic "(subsequent coefficients equal this numerically)".  The implementations in use apply the
#: safety factor 1.01 as (a/1.01, b/1.01³, c/1.01⁵) to all rows but the last.  Kept only to *test*
#: :func:`polar_express_coefficients` against; the lab's preset is computed, not copied.
PUBLISHED_POLAR_EXPRESS = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)

#: modded-nanogpt's five-step schedule (KellerJordan/modded-nanogpt train_gpt.py, ``polar_express_coeffs``,
#: commented "computed for num_iters=5, safety_factor=2e-2, cushion=2"; the iteration there divides the
#: input by ‖G‖_F·(1 + 2·10⁻²) + 10⁻⁶).  Reproduced by ``polar_express_coefficients(1e-3, 5,
#: cushion=0.02, safety=1.02)``; kept only to test that.
PUBLISHED_MODDED_NANOGPT = (
    (8.156554524902461, -22.48329292557795, 15.878769915207462),
    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323),
)

_DEGREES = (3, 5)
_LIMIT_RELATIVE_WIDTH = 5e-6
_CLASSICAL = {3: (1.5, -0.5), 5: (15 / 8, -10 / 8, 3 / 8)}


# ----------------------------------------------------------------------------- odd polynomials


def odd_polynomial(coeffs, x):
    """p(x) = Σ_k coeffs[k]·x^(2k+1), evaluated in Horner form in x² (scalars or arrays)."""
    x2 = x * x
    acc = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = c + x2 * acc
    return x * acc


def _derivative_in_z(coeffs):
    """Coefficients (highest power first, for np.roots) of p′ as a polynomial in z = x²."""
    # p′(x) = Σ_k (2k+1)·coeffs[k]·z^k
    return [(2 * k + 1) * c for k, c in reversed(list(enumerate(coeffs)))]


def odd_polynomial_critical_points(coeffs, lo: float, hi: float) -> list[float]:
    """Critical points of the odd polynomial in the open interval (lo, hi), sorted.

    p′ is a polynomial of degree q − 1 in z = x²; its real roots z ≥ 0 give x = ±√z.  The roots
    are refined by two Newton steps on p′ so that they are accurate to rounding.
    """
    dz = np.trim_zeros(np.asarray(_derivative_in_z(coeffs), dtype=np.float64), "f")
    if dz.size <= 1:
        return []
    out = []
    for z in np.roots(dz):
        if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)) or z.real < 0:
            continue
        for x in (math.sqrt(z.real), -math.sqrt(z.real)):
            x = _newton_critical(coeffs, x)
            if lo < x < hi:
                out.append(x)
    return sorted(set(out))


def _newton_critical(coeffs, x: float, iters: int = 2) -> float:
    d1 = [(2 * k + 1) * c for k, c in enumerate(coeffs)]  # p′ = Σ d1[k] x^{2k}
    for _ in range(iters):
        x2 = x * x
        f = sum(c * x2**k for k, c in enumerate(d1))
        df = sum(2 * k * c * x ** (2 * k - 1) for k, c in enumerate(d1) if k > 0)
        if df == 0:
            break
        x = x - f / df
    return x


def odd_polynomial_range(coeffs, lo: float, hi: float) -> tuple[float, float]:
    """Exact range [min p, max p] of an odd polynomial over [lo, hi] (endpoints + critical points)."""
    pts = [lo, hi] + odd_polynomial_critical_points(coeffs, lo, hi)
    vals = [odd_polynomial(coeffs, x) for x in pts]
    return min(vals), max(vals)


# ----------------------------------------------------------------------------- Remez


def _check_degree(degree):
    if degree not in _DEGREES:
        raise ValueError(f"degree must be one of {_DEGREES}, got {degree!r}")


def minimax_odd_polynomial(lo: float, hi: float, degree: int = 5, *, tol: float = 1e-14, max_iter: int = 50):
    """Odd polynomial p of the given degree minimising max_{x∈[lo,hi]} |1 − p(x)| (Remez exchange).

    Parameters
    ----------
    lo, hi : floats with 0 < lo ≤ hi.
    degree : 3 or 5.
    tol : absolute stopping tolerance on (max error over [lo, hi]) − (levelled error |E|).  The
        default is ~50 ulp of 1: 1 − p(x) with p(x) ≈ 1 cannot be resolved better, and the
        exchange then cycles at rounding level.
    max_iter : exchange iterations before a RuntimeError.

    Returns
    -------
    (coeffs, error) : tuple of the q = (degree+1)/2 coefficients (a, b[, c]) of x, x³[, x⁵] and the
        minimax error max |1 − p| over [lo, hi].

    Notes
    -----
    The reference starts at the extrema of the Chebyshev polynomial T_q mapped to [lo, hi]
    (lo, …, hi); each iteration solves the (q+1)×(q+1) levelled system and exchanges the interior
    points for the critical points of the new p (which, for the optimum, are exactly the interior
    alternation points).  Convergence is quadratic once the critical points are close.
    """
    _check_degree(degree)
    lo, hi = float(lo), float(hi)
    if not (0 < lo <= hi and math.isfinite(hi)):
        raise ValueError(f"need 0 < lo <= hi < inf, got lo={lo!r}, hi={hi!r}")
    q = (degree + 1) // 2
    if (hi - lo) <= _LIMIT_RELATIVE_WIDTH * hi:
        coeffs = tuple(c / hi ** (2 * k + 1) for k, c in enumerate(_CLASSICAL[degree]))
        return coeffs, _max_error(coeffs, lo, hi)
    j = np.arange(q + 1)
    ref = lo + (hi - lo) * (1 - np.cos(np.pi * j / q)) / 2  # Chebyshev extrema, ends at lo and hi
    signs = (-1.0) ** j
    for _ in range(max_iter):
        A = np.column_stack([ref ** (2 * k + 1) for k in range(q)] + [signs])
        sol = np.linalg.solve(A, np.ones(q + 1))
        coeffs, E = tuple(float(v) for v in sol[:q]), abs(float(sol[q]))
        crit = odd_polynomial_critical_points(coeffs, lo, hi)
        if len(crit) != q - 1:
            raise RuntimeError(
                f"Remez exchange lost alternation on [{lo}, {hi}] (critical points {crit}); "
                "the interval is outside the regime the exchange supports"
            )
        ref = np.array([lo, *crit, hi])
        err = _max_error(coeffs, lo, hi)
        if err - E <= tol:
            return coeffs, err
    raise RuntimeError(f"Remez exchange did not converge in {max_iter} iterations on [{lo}, {hi}]")


def _max_error(coeffs, lo, hi):
    pts = [lo, hi] + odd_polynomial_critical_points(coeffs, lo, hi)
    return max(abs(1.0 - odd_polynomial(coeffs, x)) for x in pts)


# ----------------------------------------------------------------------------- schedules


def polar_express_schedule(
    ell: float,
    steps: int,
    degree: int = 5,
    cushion: float = PAPER_CUSHION,
    safety: float = 1.0,
    *,
    safety_last: bool = False,
    safety_in_recursion: bool = True,
) -> dict:
    """The greedy Polar Express schedule with its interval trace.

    Returns a dict with ``coefficients`` ((steps, 3) float64 array, zeros in the x⁵ column for
    degree 3), ``lower``/``upper`` (the bounds ℓ_t, u_t = 2 − ℓ_t, t = 1..steps+1, of the recursion)
    and ``worst_error`` = 1 − ℓ_{steps+1}: the exact worst-case error max_{x∈[ℓ,1]} |1 − p^(T)(x)|
    of the returned schedule (= ``ns_delta(ell, steps, coefficients)``, tested), except with
    ``safety_in_recursion=False`` where it is that of the schedule before the safety rescaling.
    See :func:`polar_express_coefficients`.
    """
    _check_degree(degree)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    ell, cushion, safety = float(ell), float(cushion), float(safety)
    if not (0 < ell <= 1):
        raise ValueError(f"ell must lie in (0, 1], got {ell!r}")
    if not (0 <= cushion <= 1):
        raise ValueError(f"cushion must lie in [0, 1], got {cushion!r}")
    if not (math.isfinite(safety) and safety >= 1):
        raise ValueError(f"safety must be a finite number >= 1, got {safety!r}")
    lo, hi = ell, 1.0
    rows, lows, highs = [], [lo], [hi]
    for t in range(int(steps)):
        coeffs, _ = minimax_odd_polynomial(max(lo, cushion * hi), hi, degree)
        # recentre: after cushioning p is levelled on [max(ℓ, c·u), u], not on [ℓ, u]; rescale so
        # that p([ℓ, u]) is symmetric about 1 (for d = 5 this is 2/(p(ℓ) + p(u)), the paper's form)
        img_lo, img_hi = odd_polynomial_range(coeffs, lo, hi)
        coeffs = tuple(c * (2.0 / (img_lo + img_hi)) for c in coeffs)
        used = coeffs
        if safety != 1.0 and (safety_last or t < steps - 1):
            used = tuple(c / safety ** (2 * k + 1) for k, c in enumerate(coeffs))
        # ℓ_{t+1} = min p_t over [ℓ_t, u_t] (≤ 1 exactly; the clamp removes rounding once converged)
        lo = min(odd_polynomial_range(used if safety_in_recursion else coeffs, lo, hi)[0], 1.0)
        hi = 2.0 - lo
        lows.append(lo)
        highs.append(hi)
        rows.append(tuple(used) + (0.0,) * (3 - len(used)))
    return {
        "coefficients": np.asarray(rows, dtype=np.float64).reshape(int(steps), 3),
        "lower": np.asarray(lows),
        "upper": np.asarray(highs),
        "worst_error": 1.0 - lows[-1],
    }


def polar_express_coefficients(
    ell: float,
    steps: int,
    degree: int = 5,
    cushion: float = PAPER_CUSHION,
    safety: float = 1.0,
    *,
    safety_last: bool = False,
    safety_in_recursion: bool = True,
) -> np.ndarray:
    """Greedy minimax (Polar Express) coefficient schedule, shape (steps, 3).

    Parameters
    ----------
    ell : float in (0, 1]
        Lower bound ℓ on the normalised singular values (σ_min/‖G‖_F); the upper bound is u₁ = 1.
    steps : int ≥ 0
        Number of polynomials T.
    degree : 3 or 5
        Degree of each odd polynomial (degree 3 rows are (a, b, 0)).
    cushion : float in [0, 1], default the paper's 0.02407327424182761
        Fit p_t on [max(ℓ_t, cushion·u_t), u_t], then recentre so that p_t([ℓ_t, u_t]) is symmetric about 1.
        ``cushion=0`` is the pure greedy minimax composition.
    safety : float ≥ 1, default 1 (none)
        Replace p_t(x) by p_t(x/safety) (the paper's practical choice is 1.01), on every step except
        the last unless ``safety_last``.
    safety_last : bool, default False
    safety_in_recursion : bool, default True
        Whether ℓ_{t+1} is computed with the safety-scaled polynomial actually used (True: the
        authors' current reference code and modded-nanogpt's schedule) or with the unscaled one
        (False: the list printed in the paper, where the safety factor was applied afterwards).

    Returns
    -------
    np.ndarray (steps, 3), float64: row t is (a_t, b_t, c_t) of p_t(x) = a_t x + b_t x³ + c_t x⁵.

    Guarantee
    ---------
    Without safety and cushion, max_{x∈[ℓ,1]} |1 − p_T∘…∘p_1(x)| = 1 − ℓ_{T+1}, the optimum over all
    compositions of T such polynomials (Amsel et al., §4).  With cushion (and safety in the
    recursion) the worst-case error is still 1 − ℓ_{T+1} of the recursion
    (``polar_express_schedule(...)["worst_error"]``); in every case
    :func:`lab.orthogonalization.ns_delta` computes it from the coefficients alone.

    Reproductions (tests/test_polar_express.py):

    * ``polar_express_coefficients(1e-3, 8, safety=1.01, safety_in_recursion=False)`` is the
      published list :data:`PUBLISHED_POLAR_EXPRESS` with its safety rescaling (the ``polar_express``
      preset);
    * ``polar_express_coefficients(1e-3, 5, cushion=0.02, safety=1.02)`` is modded-nanogpt's
      :data:`PUBLISHED_MODDED_NANOGPT` (the ``modded_nanogpt`` preset; their comment's
      "cushion=2" is 2·10⁻²).
    """
    return polar_express_schedule(
        ell, steps, degree, cushion, safety, safety_last=safety_last, safety_in_recursion=safety_in_recursion
    )["coefficients"]
