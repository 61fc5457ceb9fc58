"""X — the lab's own results: statements no single source makes (lab derivations).

* ``X.MVR2.inexact`` / ``X.MVR1.inexact``: Muon-MVR2 and Muon-MVR1 driven by a δ-inexact oracle
  (‖D(M) − lmo(M)‖_op <= δ), constant (η, α = 1 − β) over a horizon T.  S1's two consequences of the
  additive error model — progress is multiplied by (1 − δ), the step length by at most (1 + δ) —
  are carried through S2's variance-reduction analysis.  Sympy derives the optimal (η, α), the
  rate (T^(−1/3) for MVR2, T^(−1/4) for MVR1), the degradation factor and the direction in which
  the optimum moves with δ.
* ``X.WD.floor`` / ``X.WD.gap``: Lion-K / Muon with decoupled weight decay and a *constant* step
  does not converge to the constrained optimum X* when X* has a singular value strictly inside the
  ball: the distance floor is at least ηλD*/(2 + ηλ) (Θ(η)), while the optimality gap is O(η).

Conventions as in :mod:`bounds.s2` (Frobenius smoothness L, mean-squared smoothness L_ms, noise
E‖g − ∇f‖_F² <= σ², r = min(m, n), M_1 = g_1) and :mod:`bounds.s3` (X_{t+1} = (1 − ηλ)X_t − ηs·O_t,
ball radius s/λ).
"""

from __future__ import annotations

import inspect
from functools import cached_property

import sympy as sp

from bounds import symbols as S
from bounds.core import METRICS, Theorem

_SRC = "lab derivation (combines S1's inexact-oracle model with S2's variance reduction)"
_REF = "lab derivation"
_d = S.delta

# New symbols and metrics live here so the shared modules stay untouched; both registries are
# plain dicts keyed by name, and importing the catalog imports this module.
gamma = S._sym(
    "gamma", "MVR1 correction weight (constant), 0 <= gamma <= alpha", 0, 1, log=False, nonnegative=True
)
D_star = S._sym(
    "D_star",
    "distance of the constrained optimum's spectrum to {0, s/lam}: "
    "sqrt(sum_i dist(sigma_i(X*), {0, s/lam})^2)",
    0.01,
    10,
)
METRICS.setdefault(
    "pair_max_dist",
    "max(||X_t - X*||_F, ||X_{t+1} - X*||_F) (two consecutive iterates vs the constrained optimum)",
)
METRICS.setdefault("gap_last_wd", "F(X_T) - F* (last iterate; F* the minimum over the spectral ball)")

_PAR = {
    "norm": "Frobenius smoothness L; nuclear-norm progress; r = min(m, n)",
    "momentum": "EMA form, alpha = 1 - beta (weight on the fresh gradient), constant",
    "initialisation": "M_1 = g_1 (e_1 <= sigma^2)",
    "oracle": "||D(M) - lmo(M)||_op <= delta (S1's additive error model)",
}


def _doc(fn) -> str:
    return inspect.getdoc(fn)


def _factor_delta(v: sp.Expr) -> sp.Expr:
    """Factor every polynomial in δ alone: the solver returns (δ − 1)^6 expanded, whose evaluation
    near δ = 1 cancels catastrophically (a relative error of 1e-3 at δ = 0.99)."""
    return sp.simplify(
        v.replace(lambda e: e.is_Add and e.free_symbols == {_d} and e.is_polynomial(_d), sp.factor)
    )


class _Theorem(Theorem):
    """A :class:`Theorem` whose optimum is returned with its δ-polynomials factored."""

    @cached_property
    def optimum(self) -> dict:
        return {c: _factor_delta(v) for c, v in Theorem.optimum.func(self).items()}


_COMMON = """
    Proof sketch.  (i) One step (S2.D.inexact): with D = lmo(M_t) + E, ‖E‖_op <= δ, S1's lemma (c)
    gives ⟨∇f, −D⟩ >= (1 − δ)‖∇f‖_* − 2‖ε_t‖_* (ε_t = M_t − ∇f(X_t)) and ‖D‖_F <= √r‖D‖_op <= √r(1 + δ),
    so f(X_{t+1}) <= f(X_t) − η(1 − δ)‖∇f(X_t)‖_* + 2η‖ε_t‖_* + (Lr/2)(1 + δ)²η².
    (ii) Summing over t <= T, E‖ε_t‖_* <= √r √e_t (e_t = E‖ε_t‖_F²) and dividing by (1 − δ)ηT:
      (1/T)Σ E‖∇f(X_t)‖_* <= [Δ/(ηT) + 2√r (1/T)Σ√e_t + (Lr/2)(1 + δ)²η]/(1 − δ).
    (iii) The estimator recursion of S2 with the inexact step length ‖X_t − X_{t−1}‖_F <= √r(1 + δ)η
    (the only place δ enters it), solved for constant (η, α) — see below.
"""


#: How the optimal controls of both inexact-MVR theorems move as δ grows.
_INEXACT_TRENDS = {
    "eta_opt": "decreasing in delta",
    "alpha_opt": "increasing in delta",
    "beta_opt": "decreasing in delta",
}


def _inexact_mvr(builder, *, core: sp.Expr, **fields) -> Theorem:
    """An X.MVR*.inexact theorem: the frame both share (source, metric, proof, horizon T, the controls
    (η, α) optimised over the noise-dominated ``core`` times 1/(1 − δ), the trends) around ``fields``."""
    return _Theorem(
        source=_SRC,
        metric="avg_grad_dual",
        reference=_REF,
        proof_sketch=_doc(builder) + "\n\n" + inspect.cleandoc(_COMMON),
        horizon=S.T,
        controls=(S.eta, S.alpha),
        objective=core / (1 - _d),
        optimum_conditions=(sp.Le(S.alpha, 1),),
        trends=dict(_INEXACT_TRENDS),
        **fields,
    )


def mvr2_inexact() -> Theorem:
    """X.MVR2.inexact: Muon-MVR2 with a δ-inexact oracle, constant (η, α), horizon T:
    (1/T)Σ_{t<=T} E‖∇f(X_t)‖_* <= 1/(1 − δ)·[Δ/(ηT) + 2√2 r L_ms(1 + δ)η/√α + 2√(2r)σ√α
    + 2√r σ/(αT) + (Lr/2)(1 + δ)²η].

    (iii) for MVR2 (S2.E.MVR2 with δ): e_t <= β²e_{t−1} + 2β²L_ms²r(1 + δ)²η² + 2α²σ², e_1 <= σ².  The
    fixed point is (2β²L_ms²r(1 + δ)²η² + 2α²σ²)/(1 − β²) <= 2L_ms²r(1 + δ)²η²/α + 2ασ² (1 − β² >= α), so
    e_t <= that + β^(2(t−1))σ², √e_t <= √2 √r L_ms(1 + δ)η/√α + σ√(2α) + β^(t−1)σ and Σβ^(t−1) <= 1/α.

    Optimum (noise-dominated part Δ/(ηT) + 2√2 r L_ms(1 + δ)η/√α + 2√(2r)σ√α, times 1/(1 − δ); the
    dropped terms are O(T^(−1/3)) smaller at the optimum): with A = Δ/T, B = 2√2 r L_ms(1 + δ),
    C = 2√(2r)σ: α* = Bη*/C, η* = (A²/(BC))^(1/3) ∝ (1 + δ)^(−1/3) T^(−2/3), α* ∝ (1 + δ)^(2/3) T^(−2/3),
    value 3(ABC)^(1/3)/(1 − δ) ∝ T^(−1/3): rate −1/3 (S2's optimal rate survives the inexact oracle),
    degradation (1 + δ)^(1/3)/(1 − δ) (milder than I3's (1 + δ)^(1/4)/(1 − δ) on the (1 + δ) side,
    the same 1/(1 − δ)).  Larger δ: smaller step, larger α (smaller β) — S1's direction, with MVR2's
    exponents.  Valid while α* <= 1.
    """
    eta, a, D0, T, r, Lms, L, sig = S.eta, S.alpha, S.Delta0, S.T, S.r, S.L_ms, S.L, S.sigma
    sq2 = sp.sqrt(2)
    core = (
        D0 / (eta * T)
        + 2 * sq2 * r * Lms * (1 + _d) * eta / sp.sqrt(a)
        + 2 * sq2 * sp.sqrt(r) * sig * sp.sqrt(a)
    )
    expr = (core + 2 * sp.sqrt(r) * sig / (a * T) + L * r / 2 * (1 + _d) ** 2 * eta) / (1 - _d)
    A, B, C = D0 / T, 2 * sq2 * r * Lms * (1 + _d), 2 * sq2 * sp.sqrt(r) * sig
    eta_opt = (A**2 / (B * C)) ** sp.Rational(1, 3)
    return _inexact_mvr(
        mvr2_inexact,
        core=core,
        id="X.MVR2.inexact",
        title="Muon-MVR2 with a delta-inexact oracle: constant (eta, alpha), horizon T",
        algorithm="M_t = g_t(X_t) + (1 - alpha)(M_{t-1} - g_t(X_{t-1})); X_{t+1} = X_t + eta D(M_t)",
        parametrisation={**_PAR, "smoothness": "Frobenius L (descent), mean-squared L_ms (estimator)"},
        assumptions=(eta, a, D0, T, r, Lms, L, sig, _d),
        conditions=(sp.Le(a, 1), sp.Lt(_d, 1), sp.Ge(T, 1)),
        expr=expr,
        claims={
            "eta_opt": eta_opt,
            "alpha_opt": B * eta_opt / C,
            "value_at_opt": 3 * (A * B * C) ** sp.Rational(1, 3) / (1 - _d),
            "rate": sp.Rational(-1, 3),
            "degradation": (1 + _d) ** sp.Rational(1, 3) / (1 - _d),
        },
        example=dict(eta=0.01, alpha=0.05, Delta0=1.0, T=10000, r=6, L_ms=1.0, L=1.0, sigma=0.5, delta=0.3),
        notes="eta*, alpha* minimise the noise-dominated part (objective); the optimum holds while "
        "alpha* <= 1; the anytime form is S2.N2 with K2 at L_ms(1 + delta) and (★) with 1 - delta",
    )


def mvr1_inexact() -> Theorem:
    """X.MVR1.inexact: Muon-MVR1 with a δ-inexact oracle, constant (η, α) and 0 <= γ <= α, horizon T:
    (1/T)Σ_{t<=T} E‖∇f(X_t)‖_* <= 1/(1 − δ)·[Δ/(ηT) + 2rL(1 + δ)η/α + 2√r σ√α + 4√r ασ + 4√r σ/(αT)
    + (Lr/2)(1 + δ)²η].

    (iii) for MVR1 (S2.E.MVR1 with δ and constant γ): the state u_t obeys u_t <= βu_{t−1}
    + (β²/α)(1 − γ)²L²r(1 + δ)²η² + α²(1 − γ)²σ² (since α + γβ − γ = α(1 − γ)), u_1 = (1 − γ)²σ², so
    u_t <= (1 − γ)²[L²r(1 + δ)²η²/α² + ασ² + β^(t−1)σ²]; e_t <= u_t + (α + γβ)²σ² <= u_t + (2α)²σ² for
    γ <= α; hence √e_t <= √r L(1 + δ)η/α + σ√α + β^((t−1)/2)σ + 2ασ and Σβ^((t−1)/2) <= 2/α.

    Optimum (noise-dominated part Δ/(ηT) + 2rL(1 + δ)η/α + 2√rσ√α, times 1/(1 − δ)): I3's with L → rL,
    ρσ → √rσ: η* = (Δ³/(2rL(1 + δ)rσ²T³))^(1/4) ∝ (1 + δ)^(−1/4)T^(−3/4), α* = √(2rLΔ(1 + δ)/T)/(√rσ)
    ∝ (1 + δ)^(1/2)T^(−1/2), rate −1/4, degradation (1 + δ)^(1/4)/(1 − δ).  γ = 0 is Muon (EMA).
    """
    eta, a, D0, T, r, L, sig = S.eta, S.alpha, S.Delta0, S.T, S.r, S.L, S.sigma
    rs = sp.sqrt(r)
    core = D0 / (eta * T) + 2 * r * L * (1 + _d) * eta / a + 2 * rs * sig * sp.sqrt(a)
    expr = (core + 4 * rs * a * sig + 4 * rs * sig / (a * T) + L * r / 2 * (1 + _d) ** 2 * eta) / (1 - _d)
    return _inexact_mvr(
        mvr1_inexact,
        core=core,
        id="X.MVR1.inexact",
        title="Muon-MVR1 with a delta-inexact oracle: constant (eta, alpha, gamma <= alpha), horizon T",
        algorithm="M_t = (1 - alpha) M_{t-1} + alpha g_t + gamma (1 - alpha)(g_t - g_{t-1}); "
        "X_{t+1} = X_t + eta D(M_t)",
        parametrisation={**_PAR, "correction": "constant gamma in [0, alpha]"},
        assumptions=(eta, a, gamma, D0, T, r, L, sig, _d),
        conditions=(sp.Le(a, 1), sp.Le(gamma, a), sp.Lt(_d, 1), sp.Ge(T, 1)),
        expr=expr,
        claims={
            "eta_opt": (D0**3 / (2 * r * L * (1 + _d) * r * sig**2 * T**3)) ** sp.Rational(1, 4),
            "alpha_opt": sp.sqrt(2 * r * L * D0 * (1 + _d) / T) / (rs * sig),
            "rate": sp.Rational(-1, 4),
            "degradation": (1 + _d) ** sp.Rational(1, 4) / (1 - _d),
        },
        example=dict(eta=0.01, alpha=0.05, gamma=0.02, Delta0=1.0, T=10000, r=6, L=1.0, sigma=0.5, delta=0.3),
        notes="the bound does not depend on gamma in [0, alpha] (worst case over that range)",
    )


def wd_floor() -> Theorem:
    """X.WD.floor: Muon / Lion-K with decoupled weight decay and a constant step, any partial-isometry
    direction O_t (exact polar of any momentum, any noise): for every t,
    max(‖X_t − X*‖_F, ‖X_{t+1} − X*‖_F) >= ηλD*/(2 + ηλ),
    D* = (Σ_i dist(σ_i(X*), {0, s/λ})²)^(1/2), X* any fixed matrix (the constrained optimum).

    Proof.  X_{t+1} − X_t = −η(sO_t + λX_t).  The singular values of −sO_t lie in {0, s}, so by
    Mirsky's inequality (‖A − B‖_F >= ‖σ(A) − σ(B)‖_2) ‖sO_t + λX_t‖_F >= g(X_t) :=
    (Σ_i dist(λσ_i(X_t), {0, s})²)^(1/2) = λ·(Σ_i dist(σ_i(X_t), {0, s/λ})²)^(1/2).  g is λ-Lipschitz in
    the Frobenius norm (Mirsky again, and dist(·, {0, s}) is 1-Lipschitz), so g(X_t) >= λD* − λd_t with
    d_t = ‖X_t − X*‖_F.  With m = max(d_t, d_{t+1}) >= ‖X_{t+1} − X_t‖_F/2 >= (η/2)(λD* − λm) we get
    m(1 + ηλ/2) >= ηλD*/2.  So a constant step cannot converge to X* when D* > 0, i.e. when X* has a
    singular value strictly between 0 and s/λ (the fixed-point equation sO + λX* = 0 needs every
    singular value of X* in {0, s/λ}); the floor is at least linear in η.  The gap bound X.WD.gap
    shows F(X_t) − F* = O(η), so a step decaying to 0 is necessary and (for convex F) sufficient.
    Tight up to the constant: on F(X) = ½‖X − C‖_F² with one singular value of C inside the ball the
    iterates settle in a 2-cycle of radius ≈ ηλσ/2 around σ along that direction.
    """
    eta, lam = S.eta, S.lam
    return Theorem(
        id="X.WD.floor",
        title="Weight-decay floor: a constant step stays Theta(eta) away from the constrained optimum",
        source="lab derivation (S3's Muon + decoupled weight decay, constant step)",
        algorithm="X_{t+1} = (1 - eta lam) X_t - eta s O_t, O_t a partial isometry (polar of any momentum)",
        parametrisation={"ball": "||X||_op <= s/lam", "distance": "Frobenius"},
        assumptions=(eta, lam, D_star),
        conditions=(sp.Le(eta * lam, 1),),
        metric="pair_max_dist",
        expr=eta * lam * D_star / (2 + eta * lam),
        relation=">=",
        reference=_REF,
        proof_sketch=_doc(wd_floor),
        example=dict(eta=0.01, lam=0.5, D_star=1.0),
        notes="holds for exact orthogonalisation only (singular values of O in {0, 1}); an NS oracle "
        "with singular values inside (0, 1) can cancel lam X_t",
    )


def wd_gap() -> Theorem:
    """X.WD.gap: Muon + decoupled weight decay, deterministic, β = 0, exact polar, F convex and
    L-smooth (Frobenius), X_0 in the ball {‖X‖_op <= s/λ}, F* = min over the ball:
    F(X_T) − F* <= (1 − ηλ)^T (F(X_0) − F*) + 2Lrs²η/λ.

    Proof.  S3.L3.step: F(X_{t+1}) <= F(X_t) − ηS(X_t) + (L/2)η²λ²‖S_t − X_t‖_F² with the Frank–Wolfe
    vertex S_t; S(X_t) = λ·(FW gap) >= λ(F(X_t) − F*) by convexity, ‖S_t − X_t‖_F <= 2(s/λ)√r (both in
    the ball).  So φ_{t+1} <= (1 − ηλ)φ_t + 2Lrs²η² and φ_T <= (1 − ηλ)^Tφ_0 + 2Lrs²η/λ.  With
    X.WD.floor: the loss floor is O(η) while the distance floor is Ω(η) (for μ-strongly convex F the
    distance is also O(√η), by μd²/2 <= φ).
    """
    eta, lam, T = S.eta, S.lam, S.T
    return Theorem(
        id="X.WD.gap",
        title="Weight-decay gap: constant step leaves F - F* = O(eta)",
        source="lab derivation (S3's Frank-Wolfe view, constant step)",
        algorithm="X_{t+1} = (1 - eta lam) X_t - eta s polar(∇F(X_t)) (beta = 0, deterministic)",
        parametrisation={"ball": "||X||_op <= s/lam", "smoothness": "L in Frobenius norm"},
        assumptions=(eta, lam, T, S.F_gap0, S.L, S.r, S.s),
        conditions=(sp.Le(eta * lam, 1), sp.Ge(T, 1)),
        metric="gap_last_wd",
        expr=(1 - eta * lam) ** T * S.F_gap0 + 2 * S.L * S.r * S.s**2 * eta / lam,
        reference=_REF,
        proof_sketch=_doc(wd_gap),
        example=dict(eta=0.01, lam=0.5, T=1000, F_gap0=1.0, L=1.0, r=4, s=1.0),
    )


BUILDERS = (mvr2_inexact, mvr1_inexact, wd_floor, wd_gap)
