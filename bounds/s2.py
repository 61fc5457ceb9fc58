"""S2 — variance-reduced Muon (Chang, Liu, Yuan, arXiv 2509.15816): lab derivations.

Algorithms, with g_t = ∇f(X_t; ξ_t), O_t = polar(M_t), X_{t+1} = X_t − η_t O_t:

* Muon (EMA):  M_t = β_t M_{t−1} + (1 − β_t) g_t;
* MVR1:        M_t = β_t M_{t−1} + (1 − β_t) g_t + γ_t β_t (g_t − g_{t−1})   (g_{t−1}: previous sample,
  previous iterate);
* MVR2 (STORM): M_t = g_t + β_t (M_{t−1} − ∇f(X_{t−1}; ξ_t))   (the SAME sample at both points).

All start from M_1 = g_1 (so e_1 <= σ²).  Assumptions: f bounded below, L-smooth in the Frobenius
norm, unbiased gradients with E‖g − ∇f‖_F² <= σ² (conditionally on the past), MVR2 also mean-squared
smoothness L_ms; r = min(m, n); a_t = 1 − β_t; ε_t = M_t − ∇f(X_t); e_t = E‖ε_t‖_F²; Δ = f(X_1) − f*.

The papers' bodies were not available: every bound is a lab derivation consistent with S2's claims
(anytime Õ(T^(−1/4)) for Muon/MVR1, Õ(T^(−1/3)) for MVR2; PL best-iterate and last-iterate rates).
Two constants are derived here with their dependence on c_a (see :func:`n1` and :func:`n2`): a K₁
free of c_a holds only for c_a = 1, and the simpler K₂ = max(σ², 2B/c_a) needs c_a >= 2(2^(2/3) − 1).

The *preferred* bound iterates the scalar recursions with the run's own η_t, β_t (and γ_t) and
evaluates (★)/Σ η_t for every T (:func:`anytime_bound`); the closed forms N1, N2, P1, P2 are the
horizon-free special cases.
"""

from __future__ import annotations

import inspect

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.core import BoundValue, Theorem, _add_reason
from lab.backend import to_numpy

_REF = "Chang, Liu, Yuan, On the Convergence of Muon and Beyond, arXiv 2509.15816 (code: MaeChd/MUON-MVR)"
_SRC = "lab derivation consistent with S2 (claim: {claim})"
_POLAR = "X_{t+1} = X_t - eta_t polar(M_t)"
_PAR = {
    "norm": "Frobenius smoothness L; nuclear-norm progress; r = min(m, n)",
    "momentum": "EMA form, beta_t weight on the old momentum, a_t = 1 - beta_t",
    "initialisation": "M_1 = g_1 (e_1 <= sigma^2)",
}
_d = S.delta
METHODS = ("muon", "mvr1", "mvr2")


def _doc(fn) -> str:
    return inspect.getdoc(fn)


# ----------------------------------------------------------------------------------------------------
# one-step statements
# ----------------------------------------------------------------------------------------------------
def descent() -> Theorem:
    """(D) f(X_{t+1}) <= f(X_t) − η_t‖∇f(X_t)‖_* + 2η_t‖ε_t‖_* + (Lr/2)η_t², exact polar.

    Proof. L-smoothness (Frobenius): f(X − ηO) <= f(X) − η<∇f, O> + (L/2)η²‖O‖_F² with ‖O‖_F² = rank(M) <= r.
    <∇f, O> = <M, O> − <ε, O> = ‖M‖_* − <ε, O> >= ‖∇f‖_* − ‖ε‖_* − ‖ε‖_*‖O‖_op = ‖∇f‖_* − 2‖ε‖_*.
    Tight: ε = 0, f = (L/2)‖X − C‖_F² and full-rank ∇f give equality.
    """
    eta = S.eta
    return Theorem(
        id="S2.D",
        title="Descent of one Muon step with an estimated gradient (exact polar)",
        source=_SRC.format(claim="descent lemma behind all S2 rates"),
        algorithm=_POLAR,
        parametrisation=_PAR,
        assumptions=(eta, S.g_dual, S.eps_dual, S.L, S.r),
        conditions=(),
        metric="one_step_change",
        expr=-eta * S.g_dual + 2 * eta * S.eps_dual + S.L * S.r / 2 * eta**2,
        reference=_REF,
        proof_sketch=_doc(descent),
        example=dict(eta=0.1, g_dual=2.0, eps_dual=0.1, L=1.0, r=4),
    )


def descent_inexact() -> Theorem:
    """(D) with a δ-inexact oracle (lab extension):
    f(X_{t+1}) <= f(X_t) − η(1 − δ)‖∇f‖_* + 2η‖ε‖_* + (Lr/2)(1 + δ)²η².

    Proof. As (D), with X_{t+1} = X_t − η D, D = −(lmo(M) + E), ‖E‖_op <= δ: lemma (c) of S1 with
    H = M gives <∇f, D> >= (1 − δ)‖∇f‖_* − 2‖ε‖_*, and ‖D‖_F² <= r‖D‖_op² <= r(1 + δ)².
    """
    eta = S.eta
    return Theorem(
        id="S2.D.inexact",
        title="Descent of one Muon step with an inexact oracle (lab extension)",
        source="lab extension combining S1's error model with S2's descent",
        algorithm="X_{t+1} = X_t - eta_t D(M_t)",
        parametrisation={**_PAR, "oracle": "||D(M) - polar(M)||_op <= delta"},
        assumptions=(eta, S.g_dual, S.eps_dual, S.L, S.r, _d),
        conditions=(sp.Lt(_d, 1),),
        metric="one_step_change",
        expr=-eta * (1 - _d) * S.g_dual + 2 * eta * S.eps_dual + S.L * S.r / 2 * (1 + _d) ** 2 * eta**2,
        reference=_REF,
        proof_sketch=_doc(descent_inexact),
        claims={"delta0": -eta * S.g_dual + 2 * eta * S.eps_dual + S.L * S.r / 2 * eta**2},
        example=dict(eta=0.1, g_dual=2.0, eps_dual=0.1, L=1.0, r=4, delta=0.2),
    )


def star() -> Theorem:
    """(★) Σ_{t<=T} η_t E‖∇f(X_t)‖_* / Σ η_t
    <= [Δ + 2√r Σ η_t √e_t + (Lr/2)(1 + δ)² Σ η_t²] / ((1 − δ) Σ η_t).

    Proof. Sum (D) (or its inexact form) over t <= T, take expectations, use f(X_{T+1}) >= f* and
    E‖ε_t‖_* <= √r E‖ε_t‖_F <= √r √e_t (Jensen).  W = Σ η_t √e_t, Q = Σ η_t², E = Σ η_t.
    The left side bounds min_t E‖∇f(X_t)‖_* >= min_t E‖∇f(X_t)‖_F.
    """
    expr = (S.Delta0 + 2 * sp.sqrt(S.r) * S.W_sum + S.L * S.r / 2 * (1 + _d) ** 2 * S.Q_sum) / (
        (1 - _d) * S.E_sum
    )
    return Theorem(
        id="S2.star",
        title="Step-weighted average gradient from the estimator errors",
        source=_SRC.format(claim="anytime guarantees from the estimator error"),
        algorithm=_POLAR,
        parametrisation={**_PAR, "weights": "eta_t"},
        assumptions=(S.Delta0, S.r, S.W_sum, S.L, S.Q_sum, S.E_sum, _d),
        conditions=(sp.Lt(_d, 1),),
        metric="weighted_avg_grad",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(star),
        claims={"delta0": (S.Delta0 + 2 * sp.sqrt(S.r) * S.W_sum + S.L * S.r / 2 * S.Q_sum) / S.E_sum},
        example=dict(Delta0=2.0, r=4, W=1.0, L=1.0, Q=0.5, E=10.0, delta=0.2),
    )


def e_muon() -> Theorem:
    """(E-Muon) e_t <= β_t e_{t−1} + (β_t²/a_t) L² r (1 + δ)² η_{t−1}² + a_t² σ².

    Proof. ε_t = β_t ε_{t−1} + β_t S_t + a_t ξ_t with S_t = ∇f(X_{t−1}) − ∇f(X_t), ξ_t = g_t − ∇f(X_t).
    ξ_t is conditionally mean-zero given the past, which determines ε_{t−1} and S_t (X_t is fixed by
    M_{t−1}), so e_t = β_t² E‖ε_{t−1} + S_t‖² + a_t² E‖ξ_t‖².  Young with weight a_t/β_t:
    β_t²‖ε + S‖² <= β_t‖ε‖² + (β_t²/a_t)‖S‖², and ‖S_t‖_F <= L η_{t−1}‖O_{t−1}‖_F <= L η_{t−1}√r (1 + δ).
    Tight in the drift-dominated steady state: a scalar with a deterministic step direction has
    e = (β L η/a)² + a σ²/(1 + β) against the recursion's fixed point (βLη/a)² + aσ².
    """
    b, a = S.beta_t, 1 - S.beta_t
    expr = b * S.e_prev + b**2 / a * S.L**2 * S.r * (1 + _d) ** 2 * S.eta_prev**2 + a**2 * S.sigma**2
    return Theorem(
        id="S2.E.Muon",
        title="Estimator-error recursion of Muon (EMA momentum)",
        source=_SRC.format(claim="Muon's Õ(T^-1/4) from the EMA error recursion"),
        algorithm="M_t = beta_t M_{t-1} + (1 - beta_t) g_t; " + _POLAR,
        parametrisation=_PAR,
        assumptions=(S.beta_t, S.e_prev, S.L, S.r, S.eta_prev, S.sigma, _d),
        conditions=(sp.Lt(S.beta_t, 1), sp.Lt(_d, 1)),
        metric="estimator_error_sq",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(e_muon),
        claims={"delta0": b * S.e_prev + b**2 / a * S.L**2 * S.r * S.eta_prev**2 + a**2 * S.sigma**2},
        example=dict(beta_t=0.9, e_prev=1.0, L=1.0, r=4, eta_prev=0.1, sigma=1.0, delta=0.0),
    )


def e_mvr2() -> Theorem:
    """(E-MVR2) e_t <= β_t² e_{t−1} + 2β_t² L_ms² r (1 + δ)² η_{t−1}² + 2a_t² σ².

    Proof. ε_t = β_t ε_{t−1} + Z_t with Z_t = a_t(g_t(X_t) − ∇f(X_t)) + β_t[(g_t(X_t) − g_t(X_{t−1}))
    − (∇f(X_t) − ∇f(X_{t−1}))] (same sample ξ_t at both points), conditionally mean-zero, so
    e_t = β_t² e_{t−1} + E‖Z_t‖² <= β_t² e_{t−1} + 2a_t²σ² + 2β_t² E‖g_t(X_t) − g_t(X_{t−1})‖²
    (variance <= second moment), and mean-squared smoothness bounds the last term by
    L_ms² ‖X_t − X_{t−1}‖_F² <= L_ms² r (1 + δ)² η_{t−1}².
    """
    b, a = S.beta_t, 1 - S.beta_t
    expr = (
        b**2 * S.e_prev + 2 * b**2 * S.L_ms**2 * S.r * (1 + _d) ** 2 * S.eta_prev**2 + 2 * a**2 * S.sigma**2
    )
    return Theorem(
        id="S2.E.MVR2",
        title="Estimator-error recursion of Muon-MVR2 (STORM, same sample)",
        source=_SRC.format(claim="variance reduction gives the optimal Õ(T^-1/3)"),
        algorithm="M_t = g_t(X_t) + beta_t (M_{t-1} - g_t(X_{t-1})); " + _POLAR,
        parametrisation={**_PAR, "smoothness": "mean-squared smoothness L_ms (>= L)"},
        assumptions=(S.beta_t, S.e_prev, S.L_ms, S.r, S.eta_prev, S.sigma, _d),
        conditions=(sp.Le(S.beta_t, 1), sp.Lt(_d, 1)),
        metric="estimator_error_sq",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(e_mvr2),
        claims={
            "delta0": b**2 * S.e_prev + 2 * b**2 * S.L_ms**2 * S.r * S.eta_prev**2 + 2 * a**2 * S.sigma**2
        },
        example=dict(beta_t=0.9, e_prev=1.0, L_ms=1.0, r=4, eta_prev=0.1, sigma=1.0, delta=0.0),
    )


_MVR1_DOC = """
    Derivation (lab; S2 states no E-MVR1).  With ξ_t = g_t − ∇f(X_t) and S'_t = ∇f(X_t) − ∇f(X_{t−1}),
    ε_t = β_t ε_{t−1} − β_t(1 − γ_t) S'_t + c_t ξ_t − γ_t β_t ξ_{t−1},   c_t = a_t + γ_t β_t.
    The stale noise ξ_{t−1} is correlated with ε_{t−1}, so Young's inequality on it directly leaves a
    non-vanishing γ_t²σ²/a_t term.  Instead split ε_t = A_t + c_t ξ_t with A_t predictable (determined
    by the past: X_t is fixed by M_{t−1}); then A_t = β_t(ε_{t−1} − γ_t ξ_{t−1}) − β_t(1 − γ_t) S'_t and
    ε_{t−1} − γ_t ξ_{t−1} = A_{t−1} + (c_{t−1} − γ_t) ξ_{t−1} with orthogonal parts.  With
    u_{t−1} := E‖ε_{t−1} − γ_t ξ_{t−1}‖² and Young (weight a_t/β_t) on A_t:
      q_t := E‖A_t‖² <= β_t u_{t−1} + (β_t²/a_t)(1 − γ_t)² L² r (1 + δ)² η_{t−1}²,
      e_t = q_t + c_t² E‖ξ_t‖² <= q_t + c_t² σ²,
      u_t = q_t + (c_t − γ_{t+1})² E‖ξ_t‖² <= q_t + (c_t − γ_{t+1})² σ².
    Start (M_1 = g_1): ε_1 = ξ_1, u_1 = (1 − γ_2)² σ².  γ_t = 0 gives back E-Muon (u = e).
"""


def e_mvr1() -> Theorem:
    """(E-MVR1) e_t <= β_t u_{t−1} + (β_t²/a_t)(1 − γ_t)² L² r (1 + δ)² η_{t−1}² + (a_t + γ_t β_t)² σ²."""
    b, a, g = S.beta_t, 1 - S.beta_t, S.gamma_t
    q = b * S.u_prev + b**2 / a * (1 - g) ** 2 * S.L**2 * S.r * (1 + _d) ** 2 * S.eta_prev**2
    return Theorem(
        id="S2.E.MVR1",
        title="Estimator-error recursion of Muon-MVR1 (one gradient per step)",
        source=_SRC.format(claim="MVR1 keeps Muon's Õ(T^-1/4) with one gradient per step")
        + "; recursion derived here",
        algorithm="M_t = beta_t M_{t-1} + (1 - beta_t) g_t + gamma_t beta_t (g_t - g_{t-1}); " + _POLAR,
        parametrisation=_PAR,
        assumptions=(S.beta_t, S.u_prev, S.gamma_t, S.L, S.r, S.eta_prev, S.sigma, _d),
        conditions=(sp.Lt(S.beta_t, 1), sp.Lt(_d, 1)),
        metric="estimator_error_sq",
        expr=q + (a + g * b) ** 2 * S.sigma**2,
        reference=_REF,
        proof_sketch=_doc(e_mvr1) + "\n\n" + inspect.cleandoc(_MVR1_DOC),
        example=dict(beta_t=0.9, u_prev=1.0, gamma_t=0.3, L=1.0, r=4, eta_prev=0.1, sigma=1.0, delta=0.0),
    )


def e_mvr1_state() -> Theorem:
    """(E-MVR1 state)
    u_t <= β_t u_{t−1} + (β_t²/a_t)(1 − γ_t)² L² r (1 + δ)² η_{t−1}² + (a_t + γ_t β_t − γ_{t+1})² σ²."""
    b, a, g = S.beta_t, 1 - S.beta_t, S.gamma_t
    q = b * S.u_prev + b**2 / a * (1 - g) ** 2 * S.L**2 * S.r * (1 + _d) ** 2 * S.eta_prev**2
    return Theorem(
        id="S2.E.MVR1.state",
        title="State recursion of the MVR1 error bound",
        source="lab derivation (auxiliary to S2.E.MVR1)",
        algorithm="M_t = beta_t M_{t-1} + (1 - beta_t) g_t + gamma_t beta_t (g_t - g_{t-1}); " + _POLAR,
        parametrisation=_PAR,
        assumptions=(S.beta_t, S.u_prev, S.gamma_t, S.gamma_next, S.L, S.r, S.eta_prev, S.sigma, _d),
        conditions=(sp.Lt(S.beta_t, 1), sp.Lt(_d, 1)),
        metric="estimator_state_sq",
        expr=q + (a + g * b - S.gamma_next) ** 2 * S.sigma**2,
        reference=_REF,
        proof_sketch=_doc(e_mvr1_state) + "\n\n" + inspect.cleandoc(_MVR1_DOC),
        example=dict(
            beta_t=0.9,
            u_prev=1.0,
            gamma_t=0.3,
            gamma_next=0.28,
            L=1.0,
            r=4,
            eta_prev=0.1,
            sigma=1.0,
            delta=0.0,
        ),
    )


# ----------------------------------------------------------------------------------------------------
# horizon-free closed forms
# ----------------------------------------------------------------------------------------------------
KAPPA_MUON = sp.sqrt(2) - 1  # c_a must exceed this (Muon, MVR1: a_t = min(1, c_a t^-1/2))
KAPPA_MVR2 = 2 ** sp.Rational(2, 3) - 1  # c_a must exceed this (MVR2: a_t = min(1, c_a t^-2/3))


def K1_muon():
    """e_t <= K₁ t^(−1/2) for Muon with η_t = η₀t^(−3/4), a_t = min(1, c_a t^(−1/2)), c_a > √2 − 1."""
    return (2 ** sp.Rational(3, 2) * S.L**2 * S.r * S.eta0**2 / S.c_a + S.c_a**2 * S.sigma**2) / (
        S.c_a - KAPPA_MUON
    )


def K1_mvr1():
    """e_t <= K₁' t^(−1/2) for MVR1 (same schedule, 0 <= γ_t <= t^(−1/2))."""
    return (2 * (S.c_a + 1) ** 2 * S.sigma**2 + 2 ** sp.Rational(3, 2) * S.L**2 * S.r * S.eta0**2 / S.c_a) / (
        S.c_a - KAPPA_MUON
    ) + (S.c_a + 1) ** 2 * S.sigma**2


def K2_mvr2():
    """e_t <= K₂ t^(−2/3) for MVR2 with η_t = η₀t^(−2/3), a_t = min(1, c_a t^(−2/3)), c_a > 2^(2/3) − 1."""
    return (2 * 2 ** sp.Rational(4, 3) * S.L_ms**2 * S.r * S.eta0**2 + 2 * S.c_a**2 * S.sigma**2) / (
        S.c_a - KAPPA_MVR2
    )


_K_DOC = """
    Constant K (induction on e_t <= K t^(−p)).  With a_t = c_a t^(−p) < 1 (p = 1/2 Muon/MVR1, 2/3 MVR2)
    the recursion needs K·ψ(t) >= B for t >= 2, where
      ψ(t) = t^(2p)[t^(−p) − (1 − c_a t^(−p))(t − 1)^(−p)] = (t/(t−1))^p [(t−1)^p − t^p + c_a]
           >= c_a − (2^p − 1)
    (t^p − (t−1)^p is largest at t = 2), and B collects the drift and noise terms after
    η_{t−1} <= 2^q η₀ t^(−q):
      Muon: B = 2^(3/2) L² r η₀²/c_a + c_a² σ²                      → K₁  = B/(c_a − (√2 − 1));
      MVR1: B = 2(c_a + 1)² σ² + 2^(3/2) L² r η₀²/c_a (for the predictable part q_t; (c_{t−1} − γ_t)²
            <= (c_a + 1)²/(t − 1) <= 2(c_a + 1)²/t and c_t² <= (c_a + 1)²/t when γ_t <= t^(−1/2))
                                                                  → K₁' = B/(c_a − (√2 − 1)) + (c_a + 1)² σ²;
      MVR2: B = 2·2^(4/3) L_ms² r η₀² + 2 c_a² σ² (β_t² <= β_t)        → K₂  = B/(c_a − (2^(2/3) − 1)).
    Steps with a_t = 1 give e_t <= σ² (2σ² for MVR2) <= K t^(−p), and e_1 <= σ² <= K.
    Remark: the simpler constant K₁ = max(σ², 2(2^(3/2)L²rη₀² + σ²)) ignores c_a (it is the
    c_a = 1 case, where ψ >= 2 − √2 > 1/2) and is exceeded by the recursion for other c_a (e.g.
    c_a = 2, η₀ = 0.01); the simpler K₂ = max(σ², 2B/c_a) follows from ψ >= c_a/2, i.e. only for
    c_a >= 2(2^(2/3) − 1) ≈ 1.17 (c_a = 0.1 violates it).  The constants here are below those
    simpler ones wherever the simpler ones are provable.
"""


def _n(K, q: sp.Rational, sq_sum, L):
    """[Δ + 2√r η₀√K (1 + ln T) + (L r/2)·sq_sum·η₀²] / [η₀/(1 − q)·((T + 1)^(1 − q) − 1)],
    for η_t = η₀ t^(−q)."""
    T, e0 = S.T, S.eta0
    num = S.Delta0 + 2 * sp.sqrt(S.r) * e0 * sp.sqrt(K) * (1 + sp.log(T)) + L * S.r / 2 * sq_sum * e0**2
    return num / (e0 / (1 - q) * ((T + 1) ** (1 - q) - 1))


def _n_common_doc(q: str, sq: str, low: str) -> str:
    return (
        f"Proof. Sum (★) with η_t = η₀t^(−{q}) and √e_t <= √K t^(−(1−{q})): η_t√e_t <= η₀√K/t, "
        f"Σ_{{t<=T}} 1/t "
        f"<= 1 + ln T; Σ η_t² <= {sq}η₀²; Σ η_t >= η₀∫_1^(T+1) x^(−{q}) dx = {low}."
    )


def n1() -> Theorem:
    """N1 (Muon): min_{t<=T} E‖∇f(X_t)‖_*
    <= [Δ + 2√r η₀√K₁(1 + ln T) + (3/2)Lrη₀²] / [4η₀((T + 1)^(1/4) − 1)],
    K₁ = (2^(3/2)L²rη₀²/c_a + c_a²σ²)/(c_a − (√2 − 1)),
    schedule η_t = η₀t^(−3/4), 1 − β_t = min(1, c_a t^(−1/2)).
    """
    expr = _n(K1_muon(), sp.Rational(3, 4), 3, S.L)
    return _n_theorem(
        "S2.N1",
        "Muon, horizon-free schedule: anytime rate",
        "EMA Muon",
        expr,
        KAPPA_MUON,
        sp.Rational(-1, 4),
        (S.L,),
        n1,
        "anytime O~(T^-1/4) for Muon",
        _n_common_doc("3/4", "3", "4η₀((T+1)^(1/4) − 1)"),
    )


def n1_mvr1() -> Theorem:
    """N1 (MVR1): as N1 with K₁' = (2(c_a + 1)²σ² + 2^(3/2)L²rη₀²/c_a)/(c_a − (√2 − 1)) + (c_a + 1)²σ²,
    for 0 <= γ_t <= t^(−1/2) (in particular γ_t = t^(−1/2)); from the E-MVR1 recursion derived here.
    """
    expr = _n(K1_mvr1(), sp.Rational(3, 4), 3, S.L)
    return _n_theorem(
        "S2.N1.MVR1",
        "Muon-MVR1, horizon-free schedule: anytime rate",
        "MVR1",
        expr,
        KAPPA_MUON,
        sp.Rational(-1, 4),
        (S.L,),
        n1_mvr1,
        "anytime O~(T^-1/4) for MVR1",
        _n_common_doc("3/4", "3", "4η₀((T+1)^(1/4) − 1)"),
    )


def n2() -> Theorem:
    """N2 (MVR2): min_{t<=T} E‖∇f(X_t)‖_* <= [Δ + 2√r η₀√K₂(1 + ln T) + 2Lrη₀²] / [3η₀((T + 1)^(1/3) − 1)],
    K₂ = (2·2^(4/3)L_ms²rη₀² + 2c_a²σ²)/(c_a − (2^(2/3) − 1)),
    schedule η_t = η₀t^(−2/3), 1 − β_t = min(1, c_a t^(−2/3)).
    """
    expr = _n(K2_mvr2(), sp.Rational(2, 3), 4, S.L)
    return _n_theorem(
        "S2.N2",
        "Muon-MVR2, horizon-free schedule: optimal anytime rate",
        "MVR2",
        expr,
        KAPPA_MVR2,
        sp.Rational(-1, 3),
        (S.L, S.L_ms),
        n2,
        "anytime O~(T^-1/3) for MVR2 (optimal)",
        _n_common_doc("2/3", "4", "3η₀((T+1)^(1/3) − 1)"),
    )


_ALG = {
    "EMA Muon": "M_t = beta_t M_{t-1} + (1 - beta_t) g_t; " + _POLAR,
    "MVR1": "M_t = beta_t M_{t-1} + (1 - beta_t) g_t + gamma_t beta_t (g_t - g_{t-1}); " + _POLAR,
    "MVR2": "M_t = g_t(X_t) + beta_t (M_{t-1} - g_t(X_{t-1})); " + _POLAR,
}
_SCHED = {
    "EMA Muon": "eta_t = eta0 t^-3/4, 1 - beta_t = min(1, c_a t^-1/2)",
    "MVR1": "eta_t = eta0 t^-3/4, 1 - beta_t = min(1, c_a t^-1/2), 0 <= gamma_t <= t^-1/2",
    "MVR2": "eta_t = eta0 t^-2/3, 1 - beta_t = min(1, c_a t^-2/3)",
}


def _n_theorem(id_, title, alg, expr, kappa, rate, Ls, fn, claim, proof) -> Theorem:
    syms = (S.Delta0, S.r, S.eta0, *Ls, S.sigma, S.c_a, S.T)
    ex = dict(Delta0=2.0, r=4, eta0=0.1, L=1.0, sigma=1.0, c_a=1.0, T=1000)
    if S.L_ms in Ls:
        ex["L_ms"] = 1.0
    return Theorem(
        id=id_,
        title=title,
        source=_SRC.format(claim=claim),
        algorithm=_ALG[alg],
        parametrisation={**_PAR, "schedule": _SCHED[alg]},
        assumptions=syms,
        conditions=(sp.Gt(S.c_a, kappa), sp.Ge(S.T, 1)),
        metric="min_grad_dual",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(fn) + "\n\n" + proof + "\n\n" + inspect.cleandoc(_K_DOC),
        horizon=S.T,
        claims={"rate": rate},
        example=ex,
        notes="nuclear-norm statement; implies the same bound on min_t E||∇f(X_t)||_F",
    )


def _p1(base: Theorem, id_: str, fn) -> Theorem:
    expr = base.expr / sp.sqrt(2 * S.mu)
    return Theorem(
        id=id_,
        title=base.title.split(",")[0] + " under PL: best-iterate sqrt-gap",
        source=_SRC.format(claim="PL best-iterate rates for E sqrt(f - f*)"),
        algorithm=base.algorithm,
        parametrisation={**base.parametrisation, "PL": "||∇f||_F^2 >= 2 mu (f - f*)"},
        assumptions=(*base.assumptions, S.mu),
        conditions=base.conditions,
        metric="sqrt_gap",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(fn),
        horizon=S.T,
        claims={"rate": base.claims["rate"]},
        example={**base.example, "mu": 0.5},
    )


def p1() -> Theorem:
    """P1 (Muon): min_t E√(f(X_t) − f*) <= N1/√(2μ).

    Proof. PL: √(f − f*) <= ‖∇f‖_F/√(2μ) <= ‖∇f‖_*/√(2μ); take expectations and the N-bound.
    """
    return _p1(n1(), "S2.P1", p1)


def p1_mvr1() -> Theorem:
    """P1 (MVR1): min_t E√(f(X_t) − f*) <= N1(MVR1)/√(2μ) (proof as :func:`p1`)."""
    return _p1(n1_mvr1(), "S2.P1.MVR1", p1_mvr1)


def p1_mvr2() -> Theorem:
    """P1 (MVR2): min_t E√(f(X_t) − f*) <= N2/√(2μ) (proof as :func:`p1`)."""
    return _p1(n2(), "S2.P1.MVR2", p1_mvr2)


_P2_DOC = """
    Proof. (D) with ‖∇f‖_* >= ‖∇f‖_F >= ‖∇f‖_F²/G >= c(f − f*), c = 2μ/G (PL and the uniform bound):
    φ_{t+1} <= (1 − cη_t)φ_t + 2√r η_t√e_t + (Lr/2)η_t² <= (1 − cη_t)φ_t + H/t, φ_t = E f(X_t) − f*,
    H = 2√r η₀√K + Lrη₀²/2 (both terms are <= ·/t for the schedule).  Induction φ_t <= C t^(−p) (p = 1/4
    with η_t = η₀t^(−3/4); p = 1/3 with η₀t^(−2/3)): C t^(−p) − C(t+1)^(−p) <= pC t^(−p−1) so it suffices
    that C(cη₀ − p) >= H; base φ_1 = Δ <= C.  The step also needs 1 − cη_t >= 0, i.e. cη₀ <= 1
    (the condition cη₀ > p alone does not suffice: for cη₀ > 1 the induction fails at t = 1 when Δ is
    small).  Hence E f(X_T) − f* <= max(Δ, H/(cη₀ − p)) T^(−p) for p < 2μη₀/G <= 1.
"""


def _p2(id_: str, alg: str, K, p, fn) -> Theorem:
    H = 2 * sp.sqrt(S.r) * S.eta0 * sp.sqrt(K) + S.L * S.r * S.eta0**2 / 2
    c = 2 * S.mu / S.G
    expr = sp.Max(S.Delta0, H / (c * S.eta0 - p)) * S.T ** (-p)
    syms = (S.Delta0, S.r, S.eta0, S.L, S.sigma, S.c_a, S.T, S.mu, S.G)
    ex = dict(Delta0=2.0, r=4, eta0=0.5, L=1.0, sigma=1.0, c_a=1.0, T=1000, mu=0.5, G=1.0)
    if S.L_ms in K.free_symbols:
        syms = (*syms, S.L_ms)
        ex["L_ms"] = 1.0
    kappa = KAPPA_MVR2 if alg == "MVR2" else KAPPA_MUON
    return Theorem(
        id=id_,
        title=f"{alg} under PL with a gradient bound: last iterate",
        source=_SRC.format(claim="last-iterate O(T^-1/4) (MVR1) and O(T^-1/3) (MVR2) under PL + uniform G"),
        algorithm=_ALG[alg],
        parametrisation={
            **_PAR,
            "schedule": _SCHED[alg],
            "PL": "||∇f||_F^2 >= 2 mu (f - f*), ||∇f(X_t)||_F <= G",
        },
        assumptions=syms,
        conditions=(
            sp.Gt(S.c_a, kappa),
            sp.Ge(S.T, 1),
            sp.Gt(2 * S.mu * S.eta0 / S.G, p),
            sp.Le(2 * S.mu * S.eta0 / S.G, 1),
        ),
        metric="gap_last",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(fn) + "\n\n" + inspect.cleandoc(_P2_DOC),
        horizon=S.T,
        claims={"rate": -p},
        example=ex,
    )


def p2() -> Theorem:
    """P2 (Muon): E f(X_T) − f* <= max(Δ, H₁/(cη₀ − 1/4)) T^(−1/4), c = 2μ/G, H₁ = 2√rη₀√K₁ + Lrη₀²/2."""
    return _p2("S2.P2", "EMA Muon", K1_muon(), sp.Rational(1, 4), p2)


def p2_mvr1() -> Theorem:
    """P2 (MVR1): E f(X_T) − f* <= max(Δ, H₁'/(cη₀ − 1/4)) T^(−1/4) with K₁' of MVR1."""
    return _p2("S2.P2.MVR1", "MVR1", K1_mvr1(), sp.Rational(1, 4), p2_mvr1)


def p2_mvr2() -> Theorem:
    """P2 (MVR2): E f(X_T) − f* <= max(Δ, H₂/(cη₀ − 1/3)) T^(−1/3), H₂ = 2√rη₀√K₂ + Lrη₀²/2."""
    return _p2("S2.P2.MVR2", "MVR2", K2_mvr2(), sp.Rational(1, 3), p2_mvr2)


BUILDERS = (
    descent,
    descent_inexact,
    star,
    e_muon,
    e_mvr2,
    e_mvr1,
    e_mvr1_state,
    n1,
    n1_mvr1,
    n2,
    p1,
    p1_mvr1,
    p1_mvr2,
    p2,
    p2_mvr1,
    p2_mvr2,
)


# ----------------------------------------------------------------------------------------------------
# numeric recursions along a run's own schedule
# ----------------------------------------------------------------------------------------------------
def horizon_free_schedule(method: str, T: int, eta0, c_a) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """S2's horizon-free schedules for t = 1..T: (eta, beta, gamma), arrays of shape (..., T).

    Muon / MVR1: η_t = η₀ t^(−3/4), 1 − β_t = min(1, c_a t^(−1/2)); MVR1 also γ_t = t^(−1/2).
    MVR2: η_t = η₀ t^(−2/3), 1 − β_t = min(1, c_a t^(−2/3)).  eta0, c_a broadcast over a batch.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")
    eta0 = np.asarray(eta0, dtype=float)[..., None]
    c_a = np.asarray(c_a, dtype=float)[..., None]
    if np.any(~(eta0 > 0)) or np.any(~(c_a > 0)):
        raise ValueError("eta0 and c_a must be > 0")
    t = np.arange(1, T + 1, dtype=float)
    q, p = (0.75, 0.5) if method in ("muon", "mvr1") else (2 / 3, 2 / 3)
    eta = eta0 * t**-q
    beta = 1.0 - np.minimum(1.0, c_a * t**-p)
    eta, beta = np.broadcast_arrays(eta, beta)
    gamma = np.broadcast_to(t**-0.5, eta.shape).copy() if method == "mvr1" else None
    return eta.copy(), beta.copy(), gamma


def _host(x, name: str) -> np.ndarray:
    if x is None:
        raise ValueError(f"{name} is required")
    return np.asarray(to_numpy(x), dtype=float)


def _estimator_validity(method, batch, eta, beta, g, sigma2, r, smooth, delta, e1v):
    """``(ok, reason)`` per batch member: whether the schedule and constants are in the recursion's
    domain, and which conditions are violated where not."""
    ok = np.ones(batch, bool)
    reason = np.full(batch, "", dtype=object)

    def check(mask, text):
        nonlocal ok
        mask = np.broadcast_to(mask, batch)
        _add_reason(reason, ~mask, text)
        ok = ok & mask

    later = beta[..., 1:]
    if method == "mvr2":
        check(np.all((later >= 0) & (later <= 1), axis=-1), "beta_t in [0, 1] violated")
    else:
        check(np.all((later >= 0) & (later < 1), axis=-1), "beta_t in [0, 1) violated (a_t = 1 - beta_t > 0)")
    check(np.all(np.isfinite(eta) & (eta >= 0), axis=-1), "eta_t >= 0 (finite) violated")
    check(np.isfinite(sigma2) & (sigma2 >= 0), "sigma >= 0 violated")
    check(np.broadcast_to(r, batch) >= 1, "r >= 1 violated")
    check(np.isfinite(smooth) & (smooth > 0), ("L_ms" if method == "mvr2" else "L") + " > 0 violated")
    check((delta >= 0) & (delta < 1), "delta in [0, 1) violated")
    check(np.isfinite(e1v) & (e1v >= 0), "e1 >= 0 violated")
    if g is not None:
        check(np.all(np.isfinite(g), axis=-1), "gamma_t finite violated")
    return ok, reason


def _estimator_recursion(method, eta, beta, g, sigma2, drift, e1v, *, e1_given: bool) -> np.ndarray:
    """e_t, t = 1..T, of E-Muon / E-MVR1 / E-MVR2 (drift = L²r(1 + δ)², times η_{t−1}² per step)."""
    T = eta.shape[-1]
    e = np.empty(eta.shape)
    e[..., 0] = e1v
    with np.errstate(all="ignore"):
        if method == "mvr1":
            g2 = g[..., 1] if T > 1 else 0.0
            u = (1 - g2) ** 2 * sigma2 if not e1_given else (np.sqrt(e1v) + g2 * np.sqrt(sigma2)) ** 2
        for j in range(1, T):
            b = beta[..., j]
            a = 1.0 - b
            d2 = drift * eta[..., j - 1] ** 2
            if method == "muon":
                e[..., j] = b * e[..., j - 1] + b**2 / a * d2 + a**2 * sigma2
            elif method == "mvr2":
                e[..., j] = b**2 * e[..., j - 1] + 2 * b**2 * d2 + 2 * a**2 * sigma2
            else:
                gt = g[..., j]
                gn = g[..., j + 1] if j + 1 < T else 0.0
                q = b * u + b**2 / a * (1 - gt) ** 2 * d2
                c = a + gt * b
                e[..., j] = q + c**2 * sigma2
                u = q + (c - gn) ** 2 * sigma2
    return e


def estimator_error_bound(
    method: str, eta, beta, *, sigma, r, L=None, L_ms=None, gamma=None, delta=0.0, e1=None
) -> BoundValue:
    """Iterate E-Muon / E-MVR1 / E-MVR2 along a run's schedule: bounds on e_t, t = 1..T.

    Parameters
    ----------
    method : 'muon', 'mvr1' or 'mvr2'.
    eta, beta : arrays (..., T) with eta[..., t-1] = η_t and beta[..., t-1] = β_t (β_1 is not used:
        M_1 = g_1).  Host arrays (a CuPy schedule is copied explicitly with lab.backend.to_numpy).
    sigma : noise standard deviation; r : min(m, n); L : Frobenius smoothness (Muon, MVR1);
    L_ms : mean-squared smoothness (MVR2); gamma : γ_t array (..., T) (MVR1);
    delta : oracle error (lab extension: ‖X_t − X_{t−1}‖_F <= η√r(1 + δ)); e1 : bound on e_1
        (default σ², the M_1 = g_1 start).
    Constants broadcast over the batch axes.

    Returns
    -------
    BoundValue of shape (..., T); members with β_t outside [0, 1) (Muon/MVR1; [0, 1] for MVR2) or
    invalid constants are not applicable, the others are unaffected.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    eta, beta = _host(eta, "eta"), _host(beta, "beta")
    if eta.ndim < 1 or beta.ndim < 1:
        raise ValueError("eta and beta must have a trailing time axis (..., T)")
    sigma, r, delta = _host(sigma, "sigma"), _host(r, "r"), _host(delta, "delta")
    smooth = _host(L_ms if method == "mvr2" else L, "L_ms" if method == "mvr2" else "L")
    g = _host(gamma, "gamma") if method == "mvr1" else None
    eta, beta = np.broadcast_arrays(eta, beta)
    if g is not None:
        g = np.broadcast_to(g, eta.shape)
    batch = np.broadcast_shapes(eta.shape[:-1], sigma.shape, r.shape, delta.shape, smooth.shape)
    T = eta.shape[-1]
    eta, beta = np.broadcast_to(eta, batch + (T,)), np.broadcast_to(beta, batch + (T,))
    g = None if g is None else np.broadcast_to(g, batch + (T,))
    sigma2 = np.broadcast_to(sigma, batch) ** 2
    e1v = sigma2 if e1 is None else np.broadcast_to(_host(e1, "e1"), batch)

    ok, reason = _estimator_validity(method, batch, eta, beta, g, sigma2, r, smooth, delta, e1v)
    drift = np.broadcast_to(smooth**2 * r * (1 + delta) ** 2, batch)
    e = _estimator_recursion(method, eta, beta, g, sigma2, drift, e1v, e1_given=e1 is not None)
    ok_t = np.broadcast_to(ok[..., None], e.shape)
    return BoundValue(
        {"muon": "S2.E.Muon", "mvr1": "S2.E.MVR1", "mvr2": "S2.E.MVR2"}[method],
        np.where(ok_t, e, np.nan),
        ok_t.copy(),
        np.broadcast_to(reason[..., None], e.shape).copy(),
    )


def star_bound(eta, e, *, Delta0, L, r, delta=0.0) -> BoundValue:
    """(★)/Σ η_t for every horizon T: bound on Σ_{t<=T} η_t E‖∇f(X_t)‖_* / Σ_{t<=T} η_t.

    eta : (..., T) step sizes; e : (..., T) bounds on e_t (e.g. ``estimator_error_bound(...).value``)
    or a BoundValue (its applicability is carried over).
    """
    carried = e if isinstance(e, BoundValue) else None
    e = carried.value if carried is not None else _host(e, "e")
    eta = _host(eta, "eta")
    Delta0, L, r, delta = (_host(x, n) for x, n in ((Delta0, "Delta0"), (L, "L"), (r, "r"), (delta, "delta")))
    eta, e = np.broadcast_arrays(eta, e)
    batch = np.broadcast_shapes(eta.shape[:-1], Delta0.shape, L.shape, r.shape, delta.shape)
    shape = batch + eta.shape[-1:]
    ok = np.ones(shape, bool)
    reason = np.full(shape, "", dtype=object)
    for mask, text in (
        ((Delta0 >= 0) & np.isfinite(Delta0), "Delta0 >= 0 violated"),
        ((L > 0) & np.isfinite(L), "L > 0 violated"),
        (r >= 1, "r >= 1 violated"),
        ((delta >= 0) & (delta < 1), "delta in [0, 1) violated"),
    ):
        m = np.broadcast_to(np.asarray(mask)[..., None], shape)
        _add_reason(reason, ~m, text)
        ok &= m
    if carried is not None:  # members the estimator bound rejected keep its reasons
        upstream = np.broadcast_to(carried.applicable, shape)
        bad = ~upstream & ok
        reason[bad] = np.broadcast_to(carried.reason, shape)[bad]
        ok &= upstream
    m = np.broadcast_to((eta >= 0) & (e >= 0), shape)
    _add_reason(reason, ok & ~m, "eta_t >= 0 and e_t >= 0 violated")
    ok &= m
    with np.errstate(all="ignore"):
        W = np.cumsum(eta * np.sqrt(e), axis=-1)
        Q = np.cumsum(eta**2, axis=-1)
        E = np.cumsum(eta, axis=-1)
        d = np.asarray(delta)[..., None]
        value = (
            np.asarray(Delta0)[..., None]
            + 2 * np.sqrt(np.asarray(r))[..., None] * W
            + np.asarray(L * r)[..., None] / 2 * (1 + d) ** 2 * Q
        ) / ((1 - d) * E)
    value = np.broadcast_to(value, shape)
    pos = np.broadcast_to(E > 0, shape)
    _add_reason(reason, ok & ~pos, "sum of eta_t must be > 0")
    ok &= pos
    return BoundValue("S2.star", np.where(ok, value, np.nan), ok, reason)


def anytime_bound(
    method: str, eta, beta, *, Delta0, L, r, sigma, L_ms=None, gamma=None, delta=0.0, e1=None
) -> BoundValue:
    """The preferred S2 bound: estimator recursion along the run's schedule, then (★)/Σ η_t, every T.

    Bounds the step-weighted average Σ_{t<=T} η_t E‖∇f(X_t)‖_* / Σ η_t, hence min_{t<=T} E‖∇f(X_t)‖_*.
    See :func:`estimator_error_bound` for the arguments.
    """
    e = estimator_error_bound(
        method, eta, beta, sigma=sigma, r=r, L=L, L_ms=L_ms, gamma=gamma, delta=delta, e1=e1
    )
    return star_bound(eta, e, Delta0=Delta0, L=L, r=r, delta=delta)
