"""Floating-point operation counts used for the GFLOP/s columns.

Convention: a product (p×q)@(q×s) counts ``2·p·q·s`` flops (one multiply and one add per
term, the BLAS convention), whatever kernel the backend picks.  NumPy evaluates ``X @ X.T``
with a symmetric rank-k update (about half the work), so the *nominal* rate of a Gram
product can exceed the GEMM rate; the count stays nominal so that rates are comparable
across backends.

Newton–Schulz, one step on X of shape (r, c), r <= c (the lab transposes a tall input so
that the Gram matrix is the small one; r = min(m, n), c = max(m, n)):

====================================  ==============  =================================
operation                             shape            flops
====================================  ==============  =================================
A = X Xᵀ  (Gram)                      (r×c)(c×r)       2 r² c
A² = A A                              (r×r)(r×r)       2 r³
(bA + cA²) X                          (r×r)(r×c)       2 r² c
B = bA + cA²  (two scalings, one sum) r×r              3 r²
X ← aX + BX   (one scaling, one sum)  r×c              2 r c
====================================  ==============  =================================

so a step costs 4r²c + 2r³ (matmuls) + 3r² + 2rc (elementwise), and the Frobenius
normalisation X₀ = G/(‖G‖_F + ε) costs 3rc (square, sum, divide).  The transposes are
views and cost nothing.
"""

from __future__ import annotations


def _rc(m: int, n: int) -> tuple[int, int]:
    if m < 1 or n < 1:
        raise ValueError(f"matrix shape must have m, n >= 1, got ({m}, {n})")
    return min(m, n), max(m, n)


def matmul_flops(p: int, q: int, s: int) -> int:
    """Flops of a (p×q)@(q×s) product: 2pqs."""
    return 2 * p * q * s


def newton_schulz_matmul_flops(m: int, n: int, steps: int = 5) -> int:
    """Flops in the matrix products of ``steps`` Newton–Schulz steps on an m×n input."""
    r, c = _rc(m, n)
    return steps * (4 * r * r * c + 2 * r**3)


def newton_schulz_flops(m: int, n: int, steps: int = 5) -> int:
    """All flops of ``steps`` Newton–Schulz steps on an m×n input, normalisation included.

    ``steps·(4r²c + 2r³ + 3r² + 2rc) + 3rc`` with r = min(m, n), c = max(m, n) (see the table
    in the module docstring).
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    r, c = _rc(m, n)
    return steps * (4 * r * r * c + 2 * r**3 + 3 * r * r + 2 * r * c) + 3 * r * c


def svd_polar_flops(m: int, n: int) -> int:
    """Nominal flops of polar(G) = UVᵀ by a thin SVD: 14cr² + 8r³ + 2cr².

    The SVD term is Golub–Van Loan's operation count for the Golub–Reinsch SVD computing
    Σ, the thin U and V (Matrix Computations, 4th ed., §8.6); LAPACK's divide-and-conquer
    driver does a different, data-dependent amount of work, so this rate is *nominal*: a
    yardstick for comparing polar with Newton–Schulz, not a hardware rate.  The last term
    is the product U Vᵀ.
    """
    r, c = _rc(m, n)
    return 14 * c * r * r + 8 * r**3 + 2 * c * r * r
