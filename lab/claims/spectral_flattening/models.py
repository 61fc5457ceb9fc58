r"""S4 experiments — the spectral-smoothness descent model and the Kronecker convergence factor.

Nguyen et al., *Spectral Flattening Is All Muon Needs* (arXiv 2605.13079), ``bounds/s4.py``.

``s4_spectral_model``
    Guaranteed-descent thresholds under F(W + Δ) <= F(W) + <G, Δ> + (L_op/2)‖Δ‖_op² (S4.muon.spectral_model:
    2‖G‖_*/L_op; S4.gd.spectral_model: 2 srank(G)/L_op; relation '>=') against the *actual* one-step
    thresholds sup{η : F(W − ηD) < F(W)} found by batched bisection on the loss, on ``flattening``
    quadratics (certified L_op = Σ_{i<r} a_i b_i), at the designed start X⁰ (gradient U_r diag(g) V_rᵀ
    aligned with the top curvature directions, so polar(G) attains L_op: the Muon model is tight there,
    and the GD model too when the gradient spectrum is flat, spread = 1) and at random points X* + Z
    (generic, loose).  Also the actual loss at η = c·guaranteed, c ∈ :data:`FACTORS`: it must decrease.
    ``mutation="understate_constant"`` evaluates the guaranteed thresholds with L_op × 0.8.
``s4_kron_rate``
    Kronecker curvature 𝓗[Δ] = AΔB (``kronecker_quadratic``), preconditioned GD
    E ← E − η P_L A E B P_R (E = W − W*) with the best constant step η* = 2/(m_lo + m_hi) from
    ``bounds.get("S4.kron").optimal_controls``; preconditioners from the certified eigendecompositions:
    ``gd`` (P = Id, modes a_i b_j, κ = κ(A)κ(B)), ``left_sqrt`` (P_L = A^{-1/2}), ``left`` (P_L = A^{-1},
    the Muon-type whitening, κ = κ(B)), ``right`` (P_R = B^{-1}).  A long batched run from random
    starts measures the asymptotic contraction (geometric mean of ‖E_{t+1}‖/‖E_t‖ over the last
    :data:`RATE_WINDOW` steps, renormalising E every step so nothing underflows), at η* and at
    0.9η*, 1.1η* (the optimum must be the best constant step).

Checks
------
S4 checks — spectral-smoothness guaranteed descent and the Kronecker convergence factor.

the source, ``bounds/s4.py`` (S4.muon.spectral_model, S4.gd.spectral_model, S4.kron); experiments
above.  Tolerances: the bisection brackets a threshold to ~1e-16 relative
and the model is exactly tight at the designed start points, so the one-sided threshold comparison
allows rtol = 1e-9 for rounding; the measured asymptotic contraction agrees with ρ* to ~2e-15
(the subdominant modes have decayed by > 1e-30 after 3500 steps), compared two-sided with rtol 1e-9."""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy as sp

import bounds
import problems
from bounds import symbols as S
from lab.claims.mutations import understate
from lab.claims.registry import Experiment, check, check_options, experiment, get_experiment
from lab.orthogonalization import polar
from lab.stats import Verdict, ratio_to_bound
from lab.sweeps import Grid, run_sweep
from lab.thresholds import bisect_thresholds, quadratic_loss

#: fractions of the guaranteed threshold at which the actual loss must decrease
FACTORS = (0.25, 0.5, 0.9, 0.99, 0.999)
_MODEL_CURVATURE = {"isotropic": dict(L=1.0, mu=1.0), "anisotropic": dict(L=1.0, mu=0.1, split=0.5)}
_MUTATIONS = (None, "understate_constant")
KRON_CASES = ("gd", "left_sqrt", "left", "right")
RATE_WINDOW = 500
KRON_STEPS = 4000


def _check_common(quick, mutation, allowed):
    check_options(quick, mutation, allowed)


# ------------------------------------------------------------------------------ spectral model
def _model_compute(points):
    """Batched bisection of the actual thresholds and the loss below the guaranteed ones."""
    inst, W = [], []
    for q in points:
        p = problems.make(
            "flattening",
            m=8,
            n=6,
            sigma1=1.0,
            spread=q["spread"],
            seed=q["seed"],
            **_MODEL_CURVATURE[q["curvature"]],
        )
        inst.append(p)
        if q["point"] == "x0":
            W.append(p.X0_host)
        else:  # a generic point: X* + Z, Z Gaussian from the sweep point's key
            Z = np.random.default_rng(int(q["key"])).standard_normal(p.X0_host.shape)
            W.append(p.X_star_host + Z / np.linalg.norm(Z))
    P = np.stack([p.P_host for p in inst])
    Q = np.stack([p.Q_host for p in inst])
    Xs = np.stack([p.X_star_host for p in inst])
    W = np.stack(W)
    L_op = np.array([p.constants.L_op for p in inst])

    G, dirs, lo, hi = bisect_thresholds(P, Q, Xs, W, polar)
    f0 = quadratic_loss(W, P, Q, Xs)
    sv = np.linalg.svd(G, compute_uv=False)
    g_nuc, srank = sv.sum(-1), np.sum(sv**2, -1) / sv[:, 0] ** 2
    L_seen = understate(L_op, points[0]["mutation"])
    guar = np.stack(
        [
            bounds.get("S4.muon.spectral_model").evaluate(g_nuc=g_nuc, L_op=L_seen).require(),
            bounds.get("S4.gd.spectral_model").evaluate(srank=srank, L_op=L_seen).require(),
        ]
    )
    c = np.asarray(FACTORS)
    steps = (c[:, None, None] * guar[None])[..., None, None] * dirs[None]
    f_below = quadratic_loss(W[None, None] - steps, P, Q, Xs)  # (c, 2, B)
    return {
        "muon_bisect": lo[0],
        "gd_bisect": lo[1],
        "muon_guaranteed": guar[0],
        "gd_guaranteed": guar[1],
        "f0": f0,
        "muon_f_below": f_below[:, 0].T,
        "gd_f_below": f_below[:, 1].T,
        "g_nuc": g_nuc,
        "srank": srank,
        "L_op": L_op,
    }


@experiment("S4.spectral_model")
def s4_spectral_model(
    *, quick: bool = True, cache=True, mutation: str | None = None, **options
) -> Experiment:
    """Actual one-step thresholds (bisection) vs the spectral-smoothness guaranteed ones (module docstring).

    measured: ``muon_bisect``, ``gd_bisect`` per row; ``muon_f_below``, ``gd_f_below`` (rows, len(FACTORS))
    the loss at η = c·guaranteed; ``f0`` the loss at W.  theoretical: ``muon_guaranteed`` 2‖G‖_*/L_op,
    ``gd_guaranteed`` 2 srank/L_op (``Theorem.evaluate``; L_op × 0.8 under "understate_constant").
    """
    if options:
        raise ValueError(f"unknown options {sorted(options)}; s4_spectral_model takes quick, cache, mutation")
    _check_common(quick, mutation, _MUTATIONS)
    grid = Grid(
        mutation=[mutation],
        curvature=list(_MODEL_CURVATURE),
        spread=[1.0, 8.0, 64.0] if quick else [1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0],
        point=["x0", "random"],
        seed=[0, 1] if quick else list(range(6)),
    )
    sw = run_sweep(
        _model_compute,
        grid,
        name="s4_spectral_model",
        cache=cache,
        chunk_size=512,
        progress=False,
        by=("mutation",),
    )
    col = {k: sw.array(k) for k in sw.outputs}
    return Experiment(
        "s4_spectral_model",
        measured={k: col[k] for k in ("muon_bisect", "gd_bisect", "muon_f_below", "gd_f_below", "f0")},
        theoretical={
            "muon_guaranteed": col["muon_guaranteed"],
            "gd_guaranteed": col["gd_guaranteed"],
            "L_op": col["L_op"],
            "factors": FACTORS,
        },
        meta={
            "rows": sw.rows,
            "curvature": sw.column("curvature"),
            "spread": sw.column("spread").astype(float),
            "point": sw.column("point"),
            "seed": sw.column("seed"),
            "problem": "flattening m=8 n=6 sigma1=1 (isotropic; anisotropic mu=0.1 split=0.5)",
            "mutation": mutation,
        },
    )


# ------------------------------------------------------------------------------ Kronecker rate
def _kron_problem(kappa, seed):
    return problems.make(
        "kronecker_quadratic", m=8, n=6, L=1.0, mu=1.0 / kappa, split=0.5, spectrum="geometric", seed=seed
    )


def _factors(p, case):
    """(P_L, P_R, μ, ν): preconditioners and the eigenvalues of P_L A and B P_R (certified spectra)."""
    U, a, V, b = p.U_host, p.a, p.V_host, p.b
    m, n = len(a), len(b)
    pl = {"gd": np.ones(m), "left_sqrt": a**-0.5, "left": 1 / a, "right": np.ones(m)}[case]
    pr = {"gd": np.ones(n), "left_sqrt": np.ones(n), "left": np.ones(n), "right": 1 / b}[case]
    return (U * pl) @ U.T, (V * pr) @ V.T, a * pl, b * pr


def _kron_compute(points):
    """E ← E − η P_L A E B P_R for all points of one (kappa, case) at once; per-step contraction."""
    q0 = points[0]
    thm = bounds.get("S4.kron")
    PLs, PRs, etas, rho, E = [], [], [], [], []
    for q in points:
        p = _kron_problem(q0["kappa"], q["seed"])
        PL, PR, mu, nu = _factors(p, q0["case"])
        lo, hi = mu.min() * nu.min(), mu.max() * nu.max()
        etas.append(float(thm.optimal_controls(m_lo=lo, m_hi=hi)["eta"].require()) * q["eta_factor"])
        rho.append(bounds.kron_convergence_factor(mu, nu))
        PLs.append(PL @ p.P_host)
        PRs.append(p.Q_host @ PR)
        E.append(np.random.default_rng(int(q["key"])).standard_normal(p.X_star_host.shape))
    PA, BP, eta, E = np.stack(PLs), np.stack(PRs), np.array(etas)[:, None, None], np.stack(E)
    E = E / np.linalg.norm(E, axis=(-2, -1), keepdims=True)
    log_c = np.empty((len(points), q0["steps"]))
    for t in range(q0["steps"]):
        E = E - eta * (PA @ E @ BP)
        nrm = np.linalg.norm(E, axis=(-2, -1))
        log_c[:, t] = np.log(nrm)
        E = E / nrm[:, None, None]
    return {
        "rate": np.exp(log_c[:, -RATE_WINDOW:].mean(axis=1)),
        "worst_step": np.exp(log_c[:, -RATE_WINDOW:].max(axis=1)),
        "eta": eta[:, 0, 0],
        "rho_eigs": np.array(rho),
    }


@experiment("S4.kron")
def s4_kron_rate(*, quick: bool = True, cache=True, **options) -> Experiment:
    """Asymptotic contraction of (preconditioned) GD under Kronecker curvature vs ρ* (module docstring).

    measured: ``rate`` (geometric mean of ‖E_{t+1}‖/‖E_t‖ over the last RATE_WINDOW steps) and
    ``worst_step`` (their max) per row; rows = kappa × case × eta_factor × seed.  theoretical:
    ``m_lo``, ``m_hi`` (mode curvature extremes) per row, for the check to evaluate S4.kron on, and
    ``rho_eigs`` = bounds.kron_convergence_factor(μ, ν) (the same factor from the eigenvalue arrays).
    """
    if options:
        raise ValueError(f"unknown options {sorted(options)}; s4_kron_rate takes quick, cache")
    _check_common(quick, None, (None,))
    grid = Grid(
        kappa=[10.0, 100.0],
        case=list(KRON_CASES),
        steps=[KRON_STEPS],
        eta_factor=[0.9, 1.0, 1.1],
        seed=[0, 1] if quick else list(range(6)),
    )
    sw = run_sweep(
        _kron_compute,
        grid,
        name="s4_kron_rate",
        cache=cache,
        chunk_size=512,
        progress=False,
        by=("kappa", "case", "steps"),
    )
    m_lo, m_hi = [], []
    for q in sw.rows:  # the mode curvature extremes from the certified spectra
        _, _, mu, nu = _factors(_kron_problem(q["kappa"], q["seed"]), q["case"])
        m_lo.append(mu.min() * nu.min())
        m_hi.append(mu.max() * nu.max())
    return Experiment(
        "s4_kron_rate",
        measured={"rate": sw.array("rate"), "worst_step": sw.array("worst_step"), "eta": sw.array("eta")},
        theoretical={"m_lo": np.array(m_lo), "m_hi": np.array(m_hi), "rho_eigs": sw.array("rho_eigs")},
        meta={
            "rows": sw.rows,
            "kappa": sw.column("kappa").astype(float),
            "case": sw.column("case"),
            "eta_factor": sw.column("eta_factor").astype(float),
            "seed": sw.column("seed"),
            "problem": "kronecker_quadratic m=8 n=6 L=1 split=0.5 geometric",
            "steps": KRON_STEPS,
            "window": RATE_WINDOW,
        },
    )


_SRC = "lab formalisation consistent with S4 (Nguyen et al., arXiv 2605.13079)"
_RTOL = 1e-9


def _rows(exp, mask):
    return [exp.meta["rows"][i] for i in np.flatnonzero(mask)]


@check(
    "S4.spectral_model",
    claim="under spectral-norm smoothness with certified L_op, Muon descends for every eta < 2||G||_*/L_op "
    "and GD for every eta < 2 srank(G)/L_op: the actual one-step thresholds are at least these "
    "(tight for Muon when polar(G) spans the top curvature directions)",
    source="S4",
    theorems=("S4.muon.spectral_model", "S4.gd.spectral_model"),
    experiment="S4.spectral_model",
    mutations=("understate_constant",),
)
def s4_spectral_model_check(*, quick: bool, mutation: str | None = None):
    """Four verdicts: guaranteed/actual threshold <= 1 (Muon, GD) and F(W − c·η_guar D)/F(W) <= 1 for
    c ∈ FACTORS (Muon, GD).  "understate_constant" evaluates the model with L_op × 0.8: at the designed
    (tight) start the guaranteed step then exceeds the actual threshold by 25 %."""
    exp = get_experiment("S4.spectral_model")(quick=quick, mutation=mutation)
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
    "S4.kron",
    claim="under Kronecker curvature H[D] = A D B, preconditioned GD W - eta P_L G P_R with the best "
    "constant step contracts at exactly rho* = (k - 1)/(k + 1), k = kappa_mu kappa_nu "
    "(plain GD: kappa(A) kappa(B); left whitening: kappa(B)), and any other constant step is slower",
    source="S4",
    theorems=("S4.kron",),
    experiment="S4.kron",
    mutations=("understate_constant", "wrong_exponent"),
)
def s4_kron_rate_check(*, quick: bool, mutation: str | None = None):
    """Three verdicts: |rate/ρ* − 1| <= 1e-9 at η* (two-sided), the worst single-step contraction over the
    window <= ρ*(1 + 1e-9), and ρ*/rate <= 1 at 0.9η*, 1.1η* (η* is the best constant step).
    "understate_constant": m_hi (hence κ) understated by 20 %; "wrong_exponent": κ^{1/2} for κ."""
    exp = get_experiment("S4.kron")(quick=quick)
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
