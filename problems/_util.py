"""Host-side helpers used at construction time: parameter checks, spectra, random factors.

Everything here runs once per instance, in NumPy float64, before the data are moved to the
problem's namespace.  Nothing here is called inside a run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lab.random import derive_key

SPECTRUM_KINDS = ("geometric", "linear")


# -- parameter checks (each names the parameter and the allowed range) -------------------------
def check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_float(
    name: str, value: Any, *, low: float | None = None, inclusive: bool = False, high: float | None = None
) -> float:
    """A finite float with ``value > low`` (``value >= low`` when ``inclusive``) and ``value <= high``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low if inclusive else v <= low):
        raise ValueError(f"{name} must be {'>=' if inclusive else '>'} {low}, got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return v


def check_choice(name: str, value: Any, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_spectrum(name: str, values, size: int | None = None) -> np.ndarray:
    """A 1-D array of positive finite eigenvalues, returned sorted in decreasing order."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of eigenvalues, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} must have {size} entries, got {arr.size}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must hold positive finite values (a positive spectrum), got {arr.tolist()}")
    return np.sort(arr)[::-1].copy()


# -- spectra and random factors -------------------------------------------------------------------
def spectrum(size: int, top: float, kappa: float, kind: str = "geometric") -> np.ndarray:
    """``size`` values from ``top`` down to ``top / kappa`` (decreasing), geometric or linear spacing."""
    if size == 1:
        return np.array([top])
    if kind == "geometric":
        return top * kappa ** (-np.arange(size) / (size - 1))
    return top * (1.0 - (1.0 - 1.0 / kappa) * np.arange(size) / (size - 1))


def random_orthogonal(gen: np.random.Generator, n: int) -> np.ndarray:
    """Haar-distributed orthogonal n×n matrix (QR of a Gaussian with the sign fix)."""
    q, r = np.linalg.qr(gen.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def matrix_with_singular_values(gen: np.random.Generator, rows: int, cols: int, s) -> np.ndarray:
    """A rows×cols matrix U diag(s) Vᵀ with random orthogonal U, V and min(rows, cols) values ``s``."""
    k = min(rows, cols)
    s = np.asarray(s, dtype=np.float64)
    u = random_orthogonal(gen, rows)[:, :k]
    v = random_orthogonal(gen, cols)[:, :k]
    return (u * s) @ v.T


def kronecker_spectral_constant(p_eigs, q_eigs, r: int) -> float:
    """Σ_{i<r} λ_i(P) λ_i(Q) (both sorted decreasingly, padded with zeros).

    For PSD P (m×m), Q (n×n) and r = min(m, n) this equals both

      sup_{‖Δ‖_op ≤ 1} ‖PΔQ‖_nuc     and     sup_{‖Δ‖_op ≤ 1} ⟨Δ, PΔQ⟩.

    Upper bound: the singular values of a product are weakly (log-)majorised by the products
    of the factors' singular values, Σ_{i≤k} σ_i(PΔQ) ≤ Σ_{i≤k} σ_i(P)σ_i(Δ)σ_i(Q), and PΔQ has
    rank ≤ r; for the quadratic form, von Neumann's trace inequality gives ⟨PΔ, ΔQ⟩ ≤
    Σ_i σ_i(PΔ)σ_i(ΔQ) ≤ Σ_{i≤r} λ_i(P)λ_i(Q).  Attained by Δ = Σ_{i≤r} u_i v_iᵀ (top eigenvectors
    of P and Q paired in order), where PΔQ = Σ λ_i(P)λ_i(Q) u_i v_iᵀ.
    """
    p = np.sort(np.clip(np.asarray(p_eigs, dtype=np.float64), 0, None))[::-1]
    q = np.sort(np.clip(np.asarray(q_eigs, dtype=np.float64), 0, None))[::-1]
    k = min(r, p.size, q.size)
    return float(np.sum(p[:k] * q[:k]))


def smallest_positive(eigs, rel_tol: float = 1e-10) -> float:
    """Smallest eigenvalue above ``rel_tol`` times the largest (the λ_min⁺ of a PSD spectrum)."""
    eigs = np.asarray(eigs, dtype=np.float64)
    top = float(np.max(eigs))
    pos = eigs[eigs > rel_tol * top]
    return float(np.min(pos))


def host_rng(seed: Any, *labels: Any) -> np.random.Generator:
    """A construction-time NumPy generator from an integer seed and labels (family name, role)."""
    seed = check_int("seed", seed, low=0)
    return np.random.default_rng(np.random.SeedSequence([seed, derive_key(*labels)]))
