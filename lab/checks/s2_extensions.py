r"""S2 extension checks: inexact-oracle descent (S2.D.inexact) and the MVR1 state recursion (S2.E.MVR1.state).

Experiments: :mod:`lab.experiments.s2_extensions`.  Bounds: ``bounds/s2.py`` (lab derivations consistent
with S2, Chang, Liu, Yuan, arXiv 2509.15816, and S1's δ-inexact oracle model), evaluated on the
problems' certified constants.

Decision rules
--------------
* **S2-D-inexact** (deterministic, every step of every run): the one-step inequality is written in
  remainder form, excess_t = f(X_{t+1}) − f(X_t) + η(1 − δ)‖∇f‖_* − 2η‖ε‖_* <= (Lr/2)(1 + δ)²η²; holds
  iff excess/((Lr/2)(1 + δ)²η² + allowance) <= 1 at every step where the theorem applies (δ < 1),
  allowance = 64·ε_mach·(|f_t| + |f_{t+1}| + η‖∇f‖_* + 2η‖ε‖_*), the rounding error of the left side.
  Injected-error oracles use their nominal (certified) δ; Newton–Schulz the a-priori δ_t =
  ns_delta(ℓ_t, k, preset), the uniform error bound of the preset's polynomial on [ℓ_t, 1] with ℓ_t the
  floor of the input's normalised spectrum (never the measured ‖D − lmo‖, which would make the row a
  triangle inequality that no Newton–Schulz bug can break).
* **S2-E-MVR1-state** (an expectation): the theorem bounds E[u_t − β_t u_{t−1}] by the drift + noise
  terms.  The per-seed paired differences d_t = u_t − β_t u_{t−1} have a seed mean with standard
  error se_t; a violation must be significant, so the verdict uses the one-sided 99.9 % lower
  confidence limit mean − 3.09·se_t (CLT over seeds, as in :mod:`lab.checks.s2`) and holds iff it is
  <= rhs_t + 64·ε_mach·mean(|u_t| + β_t|u_{t−1}|) at every t >= 2.  The deterministic drift-dominated
  configuration has one seed (se = 0): there it is an exact per-step inequality, nearly attained.

Mutations (each run and each fails; ``tests/test_checks_s2_extensions.py``): "double_step",
"understate_constant" (L ×0.8; σ too for the state recursion) and "flip_momentum" (state recursion).
"""

from __future__ import annotations

import numpy as np

from lab.checks import check
from lab.stats import Verdict, ratio_to_bound

SRC_D = "lab extension combining S1's error model with S2's descent (Chang, Liu, Yuan, arXiv 2509.15816)"
SRC_E = "lab derivation consistent with S2 (Chang, Liu, Yuan, arXiv 2509.15816)"
Z_999 = 3.09  # one-sided 99.9 % normal quantile
_EPS = float(np.finfo(float).eps)
_D_PROBLEMS = "isotropic_quadratic 8x6 (L=1, start 3 from X*) and kronecker_quadratic 8x6 (kappa=10, start 1)"


def _get(name, quick, mutation):
    from lab.experiments import get_experiment

    return get_experiment(name)(quick=quick, mutation=mutation)


@check(
    "S2-D-inexact",
    claim="One Muon step with a delta-inexact oracle obeys f(X+) <= f(X) - eta(1-delta)||grad||_* "
    "+ 2 eta||eps||_* + (L r/2)(1+delta)^2 eta^2 (deterministic, every step; injected errors and "
    "Newton-Schulz with its a-priori delta)",
    source="S2",
    theorems=("S2.D.inexact",),
    experiment="s2_descent_inexact",
    mutations=("double_step", "understate_constant"),
)
def s2_d_inexact(*, quick: bool, mutation: str | None = None):
    """One verdict per oracle (4 injected kinds, NS presets), over both problems, every β, η, δ and step."""
    ex = _get("s2_descent_inexact", quick, mutation)
    out = []
    for family in ("injected", "newton_schulz"):
        m, t, meta = ex.measured[family], ex.theoretical[family], ex.meta[family]
        bound = t["quad"] + 64 * _EPS * m["scale"]
        excess = np.where(m["applicable"], m["excess"], -np.inf)
        for oracle in sorted(set(meta["oracle"].tolist())):
            sel = meta["oracle"] == oracle
            rows = [r for r, k in zip(meta["rows"], sel, strict=True) if k]
            ratio = ratio_to_bound(excess[sel], bound[sel], points=rows)
            by_delta = {}
            if family == "injected":
                for d in sorted(set(meta["delta"][sel].tolist())):
                    k = sel & (meta["delta"] == d)
                    by_delta[d] = float(np.max(excess[k] / bound[k]))
            out.append(
                Verdict.from_ratio(
                    "S2-D-inexact",
                    SRC_D,
                    f"{_D_PROBLEMS}; Muon EMA (no Nesterov), oracle {oracle}",
                    "(L r/2)(1 + delta)^2 eta^2 + 64 eps (|f_t| + |f_t+1| + eta||g||_* + 2 eta||eps||_*)",
                    "f(X_t+1) - f(X_t) + eta(1 - delta)||grad f(X_t)||_* - 2 eta||eps_t||_*",
                    ratio,
                    delta="nominal (certified)"
                    if family == "injected"
                    else "a priori per step: ns_delta(ell_t)",
                    delta_range=[float(np.min(m["delta"][sel])), float(np.max(m["delta"][sel]))],
                    not_applicable_steps=int(np.sum(~m["applicable"][sel])),
                    worst_ratio_by_delta=by_delta,
                    steps=int(excess.shape[1]),
                    runs=int(np.sum(sel)),
                    mutation=mutation,
                )
            )
    return out


@check(
    "S2-E-MVR1-state",
    claim="The MVR1 state u_t = E||eps_t - gamma_{t+1} xi_t||_F^2 obeys u_t <= beta_t u_{t-1} + "
    "(beta_t^2/a_t)(1-gamma_t)^2 L^2 r eta_{t-1}^2 + (a_t + gamma_t beta_t - gamma_{t+1})^2 sigma^2 "
    "at every t",
    source="S2",
    theorems=("S2.E.MVR1.state",),
    experiment="s2_mvr1_state",
    mutations=("understate_constant", "flip_momentum", "double_step"),
)
def s2_e_mvr1_state(*, quick: bool, mutation: str | None = None):
    """One step of the state recursion on the measured seed means (module rules), two configurations."""
    ex = _get("s2_mvr1_state", quick, mutation)
    names = {
        "noise": "kronecker_quadratic 8x6 (L=1, mu=0.1), Gaussian sigma=0.2, start 0.05 from X*, "
        "eta0=0.1, c_a=1",
        "drift": "isotropic_quadratic 8x6 (L=1), deterministic, start 20 from X*, eta0=0.02, c_a=0.3",
    }
    out = []
    for label, m in ex.measured.items():
        t = ex.theoretical[label]
        d, u = m["d"], m["u"]
        S = d.shape[0]
        mean = d.mean(axis=0)
        se = d.std(axis=0, ddof=1) / np.sqrt(S) if S > 1 else np.zeros_like(mean)
        allow = 64 * _EPS * np.mean(np.abs(u[:, 1:]) + t["beta"] * np.abs(u[:, :-1]), axis=0)
        ratio = ratio_to_bound(mean - Z_999 * se, t["rhs"] + allow)
        raw = ratio_to_bound(mean, t["rhs"] + allow)
        out.append(
            Verdict.from_ratio(
                "S2-E-MVR1-state",
                SRC_E,
                f"{names[label]}; MVR1 gamma_t = t^-1/2, exact polar",
                "(beta^2/a)(1-gamma)^2 L^2 r eta_prev^2 + (a + gamma beta - gamma_next)^2 sigma^2",
                "seed mean of u_t - beta_t u_{t-1} minus 3.09 standard errors"
                if S > 1
                else "u_t - beta_t u_{t-1} (deterministic)",
                ratio,
                worst_t=int(m["t"][ratio.index[0]]),
                raw_worst_ratio=raw.worst,
                raw_worst_t=int(m["t"][raw.index[0]]),
                seeds=int(S),
                steps=int(u.shape[1]),
                **({"level": 1 - 0.001} if S > 1 else {}),
                L=float(t["L"]),
                sigma=float(t["sigma"]),
                mutation=mutation,
            )
        )
    return out
