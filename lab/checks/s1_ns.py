"""S1 §1.1 check — the Newton–Schulz error recursion (``S1.NS.cubic``, ``S1.NS.quintic``).

The theorems are identities (relation '=='), so the comparison is two-sided with a stated absolute
tolerance of 1e-12 on errors in [0, 1]: one NS step rounds every entry of an n×n Gram product to
O(n·eps) ≈ 1e-15 here (measured discrepancy ≤ 2e-15), three orders of magnitude below the tolerance,
while any wrong constant or exponent moves the prediction by ≥ 1e-4 at the large errors the spectra
contain (e₀ up to 0.999).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy as sp

import bounds
from bounds import symbols as S
from lab.checks import check
from lab.experiments import get_experiment
from lab.stats import Verdict, ratio_to_bound

_SRC = "lab derivation (exact identity), S1 inexact-oracle setting"
_TOL = 1e-12


def theorem_as_checked(tid: str, mutation: str | None):
    """The theorem the check evaluates: the catalog's, or a planted wrong variant of it.

    "understate_constant": the bound ×0.8; "wrong_exponent": the contraction order raised by one
    (e.g. e²(3 − e)/2 -> e³(3 − e)/2 for the cubic).
    """
    thm = bounds.get(tid)
    if mutation == "understate_constant":
        return dataclasses.replace(thm, expr=thm.expr * sp.Rational(4, 5))
    if mutation == "wrong_exponent":
        return dataclasses.replace(thm, expr=thm.expr * S.err)
    if mutation is not None:
        raise ValueError(
            f"mutation must be None, 'understate_constant' or 'wrong_exponent', got {mutation!r}"
        )
    return thm


def _two_sided(measured, predicted):
    """|measured − predicted| / tol, NaN padding (rows with smaller rank) mapped to 0."""
    d = np.abs(np.asarray(measured) - np.asarray(predicted))
    return np.where(np.isnan(measured), 0.0, d)


@check(
    "S1-NS-recursion",
    claim="one cubic (classical quintic) Newton-Schulz step maps the error e = 1 - x of every normalised "
    "singular value to e^2(3 - e)/2 (e^3(20 - 15e + 3e^2)/8), hence k steps give the k-fold map and the "
    "spectral error is the k-fold map of 1 - x_min",
    source="S1",
    theorems=("S1.NS.cubic", "S1.NS.quintic"),
    experiment="s1_ns_recursion",
    mutations=("understate_constant", "wrong_exponent"),
)
def s1_ns_recursion(*, quick: bool, mutation: str | None = None):
    """Per family three verdicts, worst |measured − theorem| / 1e-12 over rows, steps and singular values:
    one step (theorem at the measured e_{k−1}), k-fold map (theorem iterated from e₀), and the spectral
    error ‖NS_k(G) − polar(G)‖_op against the k-fold map of max_i e₀,i (the map is increasing on [0, 1])."""
    exp = get_experiment("s1_ns_recursion")(quick=quick)
    m, th = exp
    e, dop = m["e"], m["delta_op"]
    steps = th["steps"]
    out = []
    for fam in ("cubic", "quintic"):
        rows = exp.meta["family"] == fam
        tid = f"S1.NS.{fam}"
        thm = theorem_as_checked(tid, mutation)
        pts = [exp.meta["rows"][i] for i in np.flatnonzero(rows)]
        ef = e[rows]
        # the theorem's domain is e ∈ [0, 1]; rounding puts converged errors at ±1e-16, so the point of
        # evaluation is clipped (the comparison itself uses the unclipped measurement)
        prev = np.clip(np.nan_to_num(ef[:, :-1], nan=0.0), 0.0, 1.0)
        one = thm.evaluate(e=prev).require()
        composed = [np.clip(np.nan_to_num(ef[:, 0], nan=0.0), 0.0, 1.0)]
        top = [np.nanmax(ef[:, 0], axis=-1)]
        for _ in range(steps):
            composed.append(thm.evaluate(e=composed[-1]).require())
            top.append(thm.evaluate(e=top[-1]).require())
        composed = np.stack(composed, axis=1)[:, 1:]
        top = np.stack(top, axis=1)[:, 1:]
        cases = (
            ("one step", "e_k vs theorem(e_{k-1})", _two_sided(ef[:, 1:], one)),
            ("k steps", "e_k vs theorem^k(e_0)", _two_sided(ef[:, 1:], composed)),
            ("spectral error", "||NS_k - polar||_op vs theorem^k(max e_0)", np.abs(dop[rows][:, 1:] - top)),
        )
        for name, what, diff in cases:
            out.append(
                Verdict.from_ratio(
                    f"S1-NS-recursion[{fam} {name}]",
                    _SRC,
                    exp.meta["problem"],
                    f"{tid}: {thm.expr} (two-sided, abs. tol 1e-12)",
                    f"max |{what}| / 1e-12 over k = 1..{steps}",
                    ratio_to_bound(diff, _TOL, points=pts),
                    max_abs_diff=float(np.max(diff)),
                    max_e0=float(np.nanmax(ef[:, 0])),
                    mutation=mutation,
                )
            )
    return out
