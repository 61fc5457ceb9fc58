"""S4 checks — spectral-smoothness guaranteed descent and the Kronecker convergence factor.

the source, ``bounds/s4.py`` (S4.muon.spectral_model, S4.gd.spectral_model, S4.kron); experiments in
:mod:`lab.experiments.s4_models`.  Tolerances: the bisection brackets a threshold to ~1e-16 relative
and the model is exactly tight at the designed start points, so the one-sided threshold comparison
allows rtol = 1e-9 for rounding; the measured asymptotic contraction agrees with ρ* to ~2e-15
(the subdominant modes have decayed by > 1e-30 after 3500 steps), compared two-sided with rtol 1e-9.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy as sp

import bounds
from bounds import symbols as S
from lab.checks import check
from lab.checks.mutations import understate
from lab.experiments import get_experiment
from lab.stats import Verdict, ratio_to_bound

_SRC = "lab formalisation consistent with S4 (Nguyen et al., arXiv 2605.13079)"
_RTOL = 1e-9


def _rows(exp, mask):
    return [exp.meta["rows"][i] for i in np.flatnonzero(mask)]


@check(
    "S4-spectral-model",
    claim="under spectral-norm smoothness with certified L_op, Muon descends for every eta < 2||G||_*/L_op "
    "and GD for every eta < 2 srank(G)/L_op: the actual one-step thresholds are at least these "
    "(tight for Muon when polar(G) spans the top curvature directions)",
    source="S4",
    theorems=("S4.muon.spectral_model", "S4.gd.spectral_model"),
    experiment="s4_spectral_model",
    mutations=("understate_constant",),
)
def s4_spectral_model(*, quick: bool, mutation: str | None = None):
    """Four verdicts: guaranteed/actual threshold <= 1 (Muon, GD) and F(W − c·η_guar D)/F(W) <= 1 for
    c ∈ FACTORS (Muon, GD).  "understate_constant" evaluates the model with L_op × 0.8: at the designed
    (tight) start the guaranteed step then exceeds the actual threshold by 25 %."""
    exp = get_experiment("s4_spectral_model")(quick=quick, mutation=mutation)
    m, th = exp
    every = np.ones(len(exp.meta["rows"]), bool)
    out = []
    for name, thm in (("muon", "S4.muon.spectral_model"), ("gd", "S4.gd.spectral_model")):
        r = ratio_to_bound(
            th[f"{name}_guaranteed"], m[f"{name}_bisect"], points=_rows(exp, every), rtol=_RTOL
        )
        tight = th[f"{name}_guaranteed"] / m[f"{name}_bisect"]
        out.append(
            Verdict.from_ratio(
                f"S4-spectral-model[{name} threshold]",
                _SRC,
                exp.meta["problem"],
                f"{thm}: actual threshold >= {bounds.get(thm).expr} (rtol 1e-9)",
                "worst guaranteed / bisected threshold",
                r,
                tightest_at_random_points=float(np.max(tight[exp.meta["point"] == "random"])),
                mutation=mutation,
            )
        )
    for name in ("muon", "gd"):
        r = ratio_to_bound(m[f"{name}_f_below"], m["f0"][:, None], points=_rows(exp, every))
        out.append(
            Verdict.from_ratio(
                f"S4-spectral-model[{name} descends below the guaranteed step]",
                _SRC,
                exp.meta["problem"],
                "F(W - c eta_guar D) < F(W), c in " + str(list(th["factors"])),
                "worst F(W - c eta_guar D) / F(W)",
                r,
                mutation=mutation,
            )
        )
    return out


def kron_theorem_as_checked(mutation: str | None):
    """S4.kron, or the planted wrong variant "wrong_exponent": κ^{1/2} for κ (the accelerated factor
    (√κ − 1)/(√κ + 1), a plausible but wrong exponent)."""
    thm = bounds.get("S4.kron")
    if mutation == "wrong_exponent":
        lo, hi = sp.sqrt(S.m_lo), sp.sqrt(S.m_hi)
        return dataclasses.replace(thm, expr=(hi - lo) / (hi + lo))
    return thm


@check(
    "S4-kron-rate",
    claim="under Kronecker curvature H[D] = A D B, preconditioned GD W - eta P_L G P_R with the best "
    "constant step contracts at exactly rho* = (k - 1)/(k + 1), k = kappa_mu kappa_nu "
    "(plain GD: kappa(A) kappa(B); left whitening: kappa(B)), and any other constant step is slower",
    source="S4",
    theorems=("S4.kron",),
    experiment="s4_kron_rate",
    mutations=("understate_constant", "wrong_exponent"),
)
def s4_kron_rate(*, quick: bool, mutation: str | None = None):
    """Three verdicts: |rate/ρ* − 1| <= 1e-9 at η* (two-sided), the worst single-step contraction over the
    window <= ρ*(1 + 1e-9), and ρ*/rate <= 1 at 0.9η*, 1.1η* (η* is the best constant step).
    "understate_constant": m_hi (hence κ) understated by 20 %; "wrong_exponent": κ^{1/2} for κ."""
    exp = get_experiment("s4_kron_rate")(quick=quick)
    m, th = exp
    thm = kron_theorem_as_checked(mutation)
    rho = thm.evaluate(m_lo=th["m_lo"], m_hi=understate(th["m_hi"], mutation)).require()
    at_opt = exp.meta["eta_factor"] == 1.0
    prob = exp.meta["problem"]
    cases = sorted({str(c) for c in exp.meta["case"]})
    dev = np.abs(m["rate"][at_opt] / rho[at_opt] - 1.0)
    v1 = Verdict.from_ratio(
        "S4-kron-rate[rate at the optimal step]",
        _SRC,
        prob,
        f"S4.kron: rho* = {thm.expr} (two-sided, rtol 1e-9)",
        f"max |measured rate / rho* - 1| / 1e-9 (last {exp.meta['window']} of {exp.meta['steps']} steps)",
        ratio_to_bound(dev, _RTOL, points=_rows(exp, at_opt)),
        cases=cases,
        rho_by_case={str(c): float(np.max(rho[at_opt & (exp.meta["case"] == c)])) for c in cases},
        eigen_array_factor_max_rel_diff=float(np.max(np.abs(th["rho_eigs"] / rho - 1.0))),
        mutation=mutation,
    )
    v2 = Verdict.from_ratio(
        "S4-kron-rate[per-step contraction]",
        _SRC,
        prob,
        "||E_{t+1}||/||E_t|| <= rho* (asymptotically, rtol 1e-9)",
        "worst per-step contraction / rho* at eta*",
        ratio_to_bound(m["worst_step"][at_opt], rho[at_opt], points=_rows(exp, at_opt), rtol=_RTOL),
        mutation=mutation,
    )
    off = ~at_opt
    v3 = Verdict.from_ratio(
        "S4-kron-rate[best constant step]",
        _SRC,
        prob,
        "rate(eta) >= rho* for eta = 0.9 eta*, 1.1 eta*",
        "worst rho* / measured rate off the optimum",
        ratio_to_bound(rho[off], m["rate"][off], points=_rows(exp, off)),
        mutation=mutation,
    )
    return [v1, v2, v3]
