r"""S1-trend-oracles: the direction of the optimal step in δ under oracles that are not a rescaled step.

S1's trend "larger δ, smaller optimal step" is read off the minimiser of the I1 / I3 bounds,
t*(δ) ∝ 1/(1 + δ), a worst case over every oracle with ‖D − lmo‖ <= δ.  Under the expand and shrink
oracles D = (1 ± δ)·lmo the run at (t, δ) is the run at (t(1 ± δ), 0), so their optimal steps move
by an identity (S1-I1-trend[direction], S1-I3-trend[t] check that identity and say so).  This check
measures the direction where no identity fixes it: the random and adversarial injected errors (I1 and,
for the adversarial oracle, I3) and real Newton–Schulz oracles (fewer steps = larger error).

Empirical (``Check.empirical``): the bound's minimiser is not a guarantee about the best grid point of
a given oracle, so each direction may come out either way and is reported.  Decision rule per row:
"holds" when the refined grid-optimal step at the largest error lies below the one at the smallest,
with disjoint 95 % bootstrap intervals over seeds; "violated" when it lies above with disjoint
intervals; "inconclusive" otherwise or when an optimum is on the grid's boundary.
"""

from __future__ import annotations

import numpy as np

from lab.checks import check
from lab.experiments import get_experiment
from lab.stats import Argmin, Verdict, argmin_with_uncertainty

SOURCE = "lab derivation consistent with S1 (claim: lower precision needs a smaller step; I1, I3)"


def _direction(small: Argmin, large: Argmin) -> str:
    """'holds' if the optimum at the larger error is significantly smaller, 'violated' if larger."""
    if small.at_boundary or large.at_boundary:
        return "inconclusive"
    if large.hi < small.lo:
        return "holds"
    if large.lo > small.hi:
        return "violated"
    return "inconclusive"


def _row(claim, problem, label_small, label_large, small, large, **details):
    return Verdict(
        claim=claim,
        source=SOURCE,
        problem=problem,
        bound=f"t_opt({label_large}) < t_opt({label_small})",
        measured=f"t_opt({label_small}) = {small.x_refined:.4g} [{small.lo:.4g}, {small.hi:.4g}], "
        f"t_opt({label_large}) = {large.x_refined:.4g} [{large.lo:.4g}, {large.hi:.4g}]",
        verdict=_direction(small, large),
        details={"boundary": [small.at_boundary, large.at_boundary], **details},
    )


@check(
    "S1-trend-oracles",
    claim="larger oracle error: smaller optimal step, measured under the random, adversarial and "
    "Newton-Schulz oracles (where no rescaling identity fixes the direction)",
    source="S1",
    # no theorem: the directions are empirical, so the ledger gives them a row of their own instead of
    # folding a measured direction into the verdict of the I1 / I3 bounds
    theorems=(),
    experiment="s1_i1",
    quick=True,
    mutations=(),
    empirical=True,
)
def s1_trend_oracles(*, quick: bool, mutation: str | None = None):
    """One direction verdict per oracle (module rule)."""
    from lab.checks.s1 import _i1_argmins, _i1_problem

    out = []
    exp = get_experiment("s1_i1")(quick=quick)
    ax = exp.meta["axes"]
    deltas = ax["delta"]
    for kind in ("random", "adversarial"):
        am = _i1_argmins(exp, ax["kind"].index(kind))
        out.append(
            _row(
                f"S1-trend-oracles[I1, {kind}]",
                _i1_problem(exp) + f", {kind} oracle",
                f"delta={deltas[0]:g}",
                f"delta={deltas[-1]:g}",
                am[0],
                am[-1],
                delta=deltas,
                t_hat=[a.x_refined for a in am],
                ci=[[a.lo, a.hi] for a in am],
            )
        )
    ns = get_experiment("s1_i1_ns")(quick=quick)
    nax = ns.meta["axes"]
    ks = nax["ns_steps"]
    for p, preset in enumerate(nax["preset"]):
        am = [argmin_with_uncertainty(nax["t"], ns.measured["avg"][p, k].T, rng=0) for k in range(len(ks))]
        out.append(
            _row(
                f"S1-trend-oracles[I1, ns:{preset}]",
                _i1_problem(exp) + f", Newton-Schulz {preset}",
                f"{ks[-1]} steps",
                f"{ks[0]} step{'s' if ks[0] != 1 else ''}",
                am[-1],
                am[0],
                ns_steps=ks,
                t_hat=[a.x_refined for a in am],
                ci=[[a.lo, a.hi] for a in am],
                max_delta_op=np.round(ns.measured["delta_op"][p].max(axis=(-1, -2)), 4).tolist(),
                note="the measured delta_op of these runs reaches 1, outside the additive model",
            )
        )
    adv = get_experiment("s1_i3_adversarial")(quick=quick)
    aax = adv.meta["axes"]
    t_opt = []
    for d in range(len(aax["delta"])):
        Y = adv.measured["avg"][d]  # (t, α, seed)
        _, j = np.unravel_index(np.argmin(Y.mean(axis=-1)), Y.shape[:2])
        t_opt.append(argmin_with_uncertainty(aax["t"], Y[:, j, :].T, rng=0))
    out.append(
        _row(
            "S1-trend-oracles[I3, adversarial]",
            f"isotropic_quadratic 8x6 + gaussian sigma=1, adversarial oracle, K={adv.meta['steps']}, "
            f"{len(aax['seed'])} seeds",
            f"delta={aax['delta'][0]:g}",
            f"delta={aax['delta'][-1]:g}",
            t_opt[0],
            t_opt[-1],
            delta=aax["delta"],
            t_hat=[a.x_refined for a in t_opt],
            ci=[[a.lo, a.hi] for a in t_opt],
        )
    )
    return out
