r"""Shared set-up of the layer-wise claims: the separable quartic with certified per-block constants."""

from __future__ import annotations

import numpy as np

import problems
from lab.claims._common import interval_direction
from lab.claims.mutations import mutate
from lab.claims.registry import check_options
from lab.stats import BoundRatio
from problems.base import Constants, ProblemBase

#: The two blocks of :class:`LayerwiseQuartic` (``problems.Quartic`` parameters).
BLOCKS = (
    dict(m=6, n=4, c=0.01, d=1.0, L1=1.0, init_distance=2.0, geometry="spectral", seed=1),
    dict(m=5, n=3, c=1.0, d=1.0, L1=4.0, init_distance=2.0, geometry="frobenius", seed=2),
)
KINDS = ("expand", "adversarial", "random")
RULES = ("delta_aware", "delta_agnostic")
#: steps with f(X^k) <= REL_FLOOR·f(X^0) are not judged: f* = 0 is reached to rounding there
REL_FLOOR = 1e-12
NS_PRESETS = ("cubic", "quintic", "jordan", "polar_express")
_MUTATIONS = (None, "double_step", "understate_constant")


class LayerwiseQuartic(ProblemBase):
    """layerwise_quartic: f(X_1, …, X_p) = Σ_i q_i(X_i), q_i a ``problems.Quartic`` (module docstring).

    Constants: block i carries q_i's certified (norm, L0, L1, radius, ρ); f* = 0, X* = (C_i);
    Δ₀ = f(X⁰).  Separability makes the layer-wise (L0, L1) pair of block i that of q_i exactly.
    """

    name = "layerwise_quartic"

    def __init__(self, blocks=BLOCKS, backend=None, xp=None, dtype=None):
        if not blocks:
            raise ValueError("blocks must name at least one quartic block")
        self._init_backend(backend, xp, dtype)
        self.parts = [
            problems.make("quartic", backend=backend, xp=self.xp, dtype=self.dtype, **b) for b in blocks
        ]
        self.block_shapes = tuple(p.block_shapes[0] for p in self.parts)
        self.params = {"blocks": [dict(b) for b in blocks]}
        self.constants = Constants(
            blocks=tuple(p.constants.blocks[0] for p in self.parts),
            sigma2=0.0,
            f_star=0.0,
            X_star=tuple(p.C for p in self.parts),
            extra={"separable": True},
        )

    def _f(self, X):
        total = self.parts[0]._f((X[0],))
        for p, x in zip(self.parts[1:], X[1:], strict=True):
            total = total + p._f((x,))
        return total

    def _grad(self, X):
        return tuple(p._grad((x,))[0] for p, x in zip(self.parts, X, strict=True))

    def x0(self, rng):
        return tuple(p.x0(rng.fold("block", i))[0] for i, p in enumerate(self.parts))


def layerwise_problem(sigma2: float | None = None):
    """The certified two-block problem, with Gaussian gradient noise E‖ξ‖_F² = σ² when given."""
    p = LayerwiseQuartic()
    return p if sigma2 is None else p.with_noise("gaussian", sigma2=float(sigma2))


def block_constants(problem):
    """(norms, L0, L1, ρ, σ²) per block as tuples (host floats)."""
    bl = problem.constants.blocks
    return (
        tuple(b.norm for b in bl),
        tuple(float(b.L0) for b in bl),
        tuple(float(b.L1) for b in bl),
        tuple(float(b.rho) for b in bl),
        tuple(float(b.sigma2 or 0.0) for b in bl),
    )


def _check(quick, mutation, allowed=_MUTATIONS):
    check_options(quick, mutation, allowed)


def _run_mutation(mutation):
    """The optimizer mutation a sweep runs ("understate_constant" reuses the nominal runs)."""
    return "double_step" if mutation == "double_step" else "none"


def _mutate(opt, mutation):
    return mutate(opt, None if mutation == "none" else mutation)


_SRC = "lab derivation consistent with S1 (claim: {})"
_PROBLEM = "layerwise_quartic (6x4 spectral quartic c=0.01 + 5x3 Frobenius quartic c=d=1, L1=4)"


def _direction(lo_a, hi_a, lo_b, hi_b, expected: int) -> str:
    """Verdict for "b > a" (expected = +1) or "b < a" (−1) from two intervals."""
    moved = interval_direction(lo_a, hi_a, lo_b, hi_b)
    if moved is None:
        return "inconclusive"
    return "holds" if (moved == "up") == (expected > 0) else "violated"


def _ratio(measured, bound, points=None) -> BoundRatio:
    """Worst measured/bound with a non-positive bound counted as +inf (no guaranteed quantity left)."""
    m, b = np.broadcast_arrays(np.asarray(measured, float), np.asarray(bound, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(b > 0, m / np.where(b > 0, b, 1.0), np.where(m > 0, np.inf, 0.0))
    r = np.where(np.isnan(m), np.inf, r)
    flat = int(np.argmax(r))
    index = tuple(int(k) for k in np.unravel_index(flat, r.shape))
    worst = float(r.flat[flat])
    return BoundRatio(worst, index, None if points is None else points[index[0]], worst <= 1.0, r)
