r"""Independent reference computations shared by the conformance claims."""

from __future__ import annotations

import math

import numpy as np

from lab.stats import Verdict

#: The published coefficient rows (a, b, c) of p(x) = a x + b x³ + c x⁵, written out here so that a
#: slip in the lab's preset table is measured against an independent copy.
JORDAN = (3.4445, -4.7750, 2.0315)
CUBIC = (1.5, -0.5, 0.0)
QUINTIC = (15 / 8, -10 / 8, 3 / 8)


def _random_matrix(gen, m, n, spread=30.0):
    """A matrix with singular values log-spaced over ``spread`` and random singular vectors."""
    U, _ = np.linalg.qr(gen.standard_normal((m, m)))
    V, _ = np.linalg.qr(gen.standard_normal((n, n)))
    r = min(m, n)
    s = np.geomspace(1.0, 1.0 / spread, r) * gen.uniform(0.5, 2.0)
    return (U[:, :r] * s) @ V[:, :r].T


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _planted(mutation, D):
    # the declared planted bug of these comparisons: the implementation's result doubled
    return 2.0 * D if mutation == "double_step" else D


def _rows(claim: str, source: str, exp, problem: str) -> list[Verdict]:
    measured, theoretical = exp
    out = []
    for key, value in measured.items():
        target = theoretical[key]
        value = float(value)
        if isinstance(target, tuple):  # an equality within a relative band
            lo, hi = target
            ok = math.isfinite(value) and lo <= value <= hi
            bound, ratio = f"in [{lo:.10g}, {hi:.10g}]", value
        else:
            ok = math.isfinite(value) and value <= target
            bound, ratio = f"<= {target:.3g}", value / target if target > 0 else value
        out.append(
            Verdict(
                claim=f"{claim}[{key}]",
                source=source,
                problem=problem,
                bound=bound,
                measured=value,
                verdict="holds" if ok else "violated",
                worst_ratio=ratio if math.isfinite(ratio) else None,
                details={"reference": exp.name},
            )
        )
    return out
