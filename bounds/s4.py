"""S4 — spectral flattening (Nguyen et al., arXiv 2605.13079): lab formalisations.

Quadratic model F(W) = ½<W − W*, 𝓗[W − W*]> with 𝓗 symmetric positive semi-definite on matrices,
G = ∇F(W) = 𝓗[W − W*], O = polar(G).  Muon's step W − ηO, GD's step W − ηG.  The claim: Muon's
maximal stable step scales with the *average* singular value of the gradient, GD's with the largest
curvature / singular value.  The one-step thresholds are exact identities for quadratics (relation
'=='); the spectral-smoothness thresholds are guaranteed-descent thresholds, hence lower bounds on
the true threshold (relation '>=').
"""

from __future__ import annotations

import inspect

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.core import Theorem

_REF = "Nguyen et al., Spectral Flattening Is All Muon Needs, arXiv 2605.13079"
_SRC = "lab formalisation consistent with S4 (claim: {claim})"
_Q = {
    "model": "F(W) = 1/2 <W - W*, H[W - W*]>, H symmetric PSD",
    "threshold": "sup{eta > 0 : F(W - eta D) < F(W)}",
}


def _doc(fn) -> str:
    return inspect.getdoc(fn)


def muon_threshold() -> Theorem:
    """Muon one-step threshold: F(W − ηO) < F(W) iff 0 < η < 2‖G‖_*/<O, 𝓗[O]>.

    Proof. Exactly, F(W − ηO) − F(W) = −η<G, O> + (η²/2)<O, 𝓗[O]> and <G, polar(G)> = ‖G‖_*.
    """
    return Theorem(
        id="S4.muon.threshold",
        title="Muon's one-step descent threshold on a quadratic",
        source=_SRC.format(claim="Muon's maximal stable step scales with the average singular value"),
        algorithm="W <- W - eta polar(G)",
        parametrisation=_Q,
        assumptions=(S.g_nuc, S.q_O),
        conditions=(),
        metric="one_step_threshold",
        relation="==",
        expr=2 * S.g_nuc / S.q_O,
        reference=_REF,
        proof_sketch=_doc(muon_threshold),
        example=dict(g_nuc=2.0, q_O=3.0),
    )


def muon_threshold_isotropic() -> Theorem:
    """Muon threshold for 𝓗 = L·Id: η* = 2σ̄(G)/L, σ̄ = ‖G‖_*/rank(G) (the mean singular value).

    Proof. <O, L·O> = L‖O‖_F² = L·rank(G) in :func:`muon_threshold`.
    """
    return Theorem(
        id="S4.muon.isotropic",
        title="Muon threshold is set by the mean singular value (isotropic curvature)",
        source=_SRC.format(claim="threshold 2 sigma_bar / L"),
        algorithm="W <- W - eta polar(G)",
        parametrisation={**_Q, "curvature": "H = L Id"},
        assumptions=(S.sigma_bar, S.L),
        conditions=(),
        metric="one_step_threshold",
        relation="==",
        expr=2 * S.sigma_bar / S.L,
        reference=_REF,
        proof_sketch=_doc(muon_threshold_isotropic),
        example=dict(sigma_bar=1.0, L=2.0),
    )


def gd_threshold() -> Theorem:
    """GD one-step threshold: F(W − ηG) < F(W) iff 0 < η < 2‖G‖_F²/<G, 𝓗[G]>.

    Proof. F(W − ηG) − F(W) = −η‖G‖_F² + (η²/2)<G, 𝓗[G]>.
    """
    return Theorem(
        id="S4.gd.threshold",
        title="Gradient descent's one-step descent threshold on a quadratic",
        source=_SRC.format(claim="GD's step is limited by the largest curvature"),
        algorithm="W <- W - eta G",
        parametrisation=_Q,
        assumptions=(S.g_fro2, S.q_G),
        conditions=(),
        metric="one_step_threshold",
        relation="==",
        expr=2 * S.g_fro2 / S.q_G,
        reference=_REF,
        proof_sketch=_doc(gd_threshold),
        example=dict(g_fro2=2.0, q_G=3.0),
    )


def gd_stability() -> Theorem:
    """GD is linearly stable iff η < 2/λ_max(𝓗).

    Proof. E_{k+1} = (Id − η𝓗)E_k for E = W − W*; the iteration contracts every mode iff
    |1 − ηλ_i| < 1 for all eigenvalues λ_i > 0, i.e. η < 2/λ_max; beyond it the top mode grows
    geometrically by |1 − ηλ_max| > 1.
    """
    return Theorem(
        id="S4.gd.stability",
        title="Linear stability threshold of gradient descent",
        source=_SRC.format(claim="GD diverges beyond 2/lambda_max"),
        algorithm="W <- W - eta G",
        parametrisation=_Q,
        assumptions=(S.lam_max,),
        conditions=(),
        metric="stability_threshold",
        relation="==",
        expr=2 / S.lam_max,
        reference=_REF,
        proof_sketch=_doc(gd_stability),
        example=dict(lam_max=2.0),
    )


def muon_spectral_model() -> Theorem:
    """Spectral-smoothness model F(W + Δ) <= F(W) + <G, Δ> + (L_op/2)‖Δ‖_op²: Muon descends for every
    η < 2‖G‖_*/L_op, so the true threshold is >= 2‖G‖_*/L_op.

    Proof. Δ = −ηO has ‖Δ‖_op = η and <G, Δ> = −η‖G‖_*: F(W − ηO) <= F(W) − η‖G‖_* + (L_op/2)η².
    For 𝓗 = L·Id, L_op = L·min(m, n) and the model threshold 2‖G‖_*/(L r) is <= 2σ̄/L (equality at full rank).
    """
    return Theorem(
        id="S4.muon.spectral_model",
        title="Guaranteed-descent step of Muon under spectral-norm smoothness",
        source=_SRC.format(claim="Muon's step scales with the nuclear norm / mean singular value"),
        algorithm="W <- W - eta polar(G)",
        parametrisation={**_Q, "smoothness": "L_op in the spectral norm"},
        assumptions=(S.g_nuc, S.L_op),
        conditions=(),
        metric="one_step_threshold",
        relation=">=",
        expr=2 * S.g_nuc / S.L_op,
        reference=_REF,
        proof_sketch=_doc(muon_spectral_model),
        example=dict(g_nuc=2.0, L_op=3.0),
    )


def gd_spectral_model() -> Theorem:
    """Same model for GD: descent for every η < 2 srank(G)/L_op, srank = ‖G‖_F²/‖G‖_op².

    Proof. Δ = −ηG: F(W − ηG) <= F(W) − η‖G‖_F² + (L_op/2)η²‖G‖_op², negative iff η < 2‖G‖_F²/(L_op‖G‖_op²).
    The largest singular value limits GD (srank <= rank), while Muon's 2‖G‖_*/L_op grows with every
    singular value.
    """
    return Theorem(
        id="S4.gd.spectral_model",
        title="Guaranteed-descent step of GD under spectral-norm smoothness",
        source=_SRC.format(claim="GD's step is limited by the largest singular value"),
        algorithm="W <- W - eta G",
        parametrisation={**_Q, "smoothness": "L_op in the spectral norm"},
        assumptions=(S.srank, S.L_op),
        conditions=(),
        metric="one_step_threshold",
        relation=">=",
        expr=2 * S.srank / S.L_op,
        reference=_REF,
        proof_sketch=_doc(gd_spectral_model),
        example=dict(srank=2.0, L_op=3.0),
    )


def kron_factor() -> Theorem:
    """Kronecker curvature 𝓗[Δ] = AΔB, preconditioned step W − ηP_L G P_R: the error contracts per mode
    by |1 − η m_ij| with m_ij = μ_iν_j (eigenvalues of the preconditioned factors); the best constant
    step η* = 2/(m_lo + m_hi) gives ρ* = (m_hi − m_lo)/(m_hi + m_lo) = (κ − 1)/(κ + 1), κ = κ_μκ_ν.

    Proof. max(|1 − η m_lo|, |1 − η m_hi|) is minimised where the two branches meet with opposite
    signs, 1 − η m_lo = η m_hi − 1.  Plain GD (P = Id) has κ = κ(A)κ(B); a left preconditioner that
    whitens A (Muon-type, from E[GGᵀ] = tr(B²)A² for i.i.d. errors) leaves κ = κ(B).
    """
    eta, lo, hi = S.eta, S.m_lo, S.m_hi
    objective = sp.Max(sp.Abs(1 - eta * lo), sp.Abs(1 - eta * hi))
    return Theorem(
        id="S4.kron",
        title="Best constant-step convergence factor under Kronecker-factored curvature",
        source=_SRC.format(claim="preconditioned view: orthogonalisation removes the left conditioning"),
        algorithm="W <- W - eta P_L G P_R, G = A (W - W*) B",
        parametrisation={"curvature": "H[D] = A D B, A, B SPD", "modes": "m_ij = mu_i nu_j"},
        assumptions=(lo, hi, eta),
        conditions=(sp.Le(lo, hi),),
        metric="convergence_factor",
        relation="==",
        expr=(hi - lo) / (hi + lo),
        reference=_REF,
        proof_sketch=_doc(kron_factor),
        controls=(eta,),
        objective=objective,
        optimality_equations=((1 - eta * lo) + (1 - eta * hi),),
        claims={"eta_opt": 2 / (lo + hi), "value_at_opt": (hi - lo) / (hi + lo)},
        example=dict(m_lo=0.5, m_hi=4.0, eta=0.3),
        notes="(kappa - 1)/(kappa + 1) with kappa = m_hi/m_lo",
    )


def muon_level() -> Theorem:
    """Constant-step Muon (exact polar, β = 0) on a μ-PL function with spectral smoothness L_op never
    leaves the level max(F_0 − F*, B(η)), B(η) = L_op²η²/(8μ) + L_opη²/2: for every t,
    F(W_t) − F* <= max(F(W_0) − F*, B(η)), and {F − F* <= B(η)} is invariant.

    Proof (lab derivation; the spectral descent lemma of S1.I1 with δ = 0). With ‖O‖_op = 1,
    F(W − ηO) <= F(W) − η‖G‖_* + (L_op/2)η².  If ‖G‖_* >= L_opη/2 the loss does not increase.  Otherwise
    PL (‖G‖_F² >= 2μ(F − F*)) and ‖G‖_F <= ‖G‖_* give F − F* <= ‖G‖_*²/(2μ) < (L_opη/2)²/(2μ), so after
    the step F − F* < L_op²η²/(8μ) + L_opη²/2 = B(η).  Induction on t: each iterate is either no worse
    than its predecessor or below B(η).  (Quadratics: μ = the smallest Hessian eigenvalue.)  The bound
    holds at every horizon T, so it is stated for the last iterate F(W_T) − F*, uniformly in T.
    """
    eta, L_op, mu = S.eta, S.L_op, S.mu
    level = L_op**2 * eta**2 / (8 * mu) + L_op * eta**2 / 2
    return Theorem(
        id="S4.muon.level",
        title="Constant-step Muon stays below max(F_0 - F*, L_op^2 eta^2/(8 mu) + L_op eta^2/2)",
        source=_SRC.format(claim="Muon cannot diverge; constant-step loss floor proportional to eta^2"),
        algorithm="W <- W - eta polar(G) (exact polar, beta = 0: lmo_step)",
        parametrisation={
            "smoothness": "F(W + D) <= F(W) + <G, D> + (L_op/2)||D||_op^2",
            "PL": "||G||_F^2 >= 2 mu (F - F*)",
            "statement": "for every T (hence sup_t): F(W_T) - F* <= max(Delta0, B(eta))",
        },
        assumptions=(S.Delta0, L_op, mu, eta),
        conditions=(),
        metric="gap_last",
        relation="<=",
        expr=sp.Max(S.Delta0, level),
        reference=_REF,
        proof_sketch=_doc(muon_level),
        example=dict(Delta0=1.0, L_op=2.0, mu=0.2, eta=0.1),
        notes="the floor level B(eta) is the invariant level of the s4_floor experiment (S4-eta2-floor)",
    )


BUILDERS = (
    muon_threshold,
    muon_threshold_isotropic,
    gd_threshold,
    gd_stability,
    muon_spectral_model,
    gd_spectral_model,
    kron_factor,
    muon_level,
)


def kron_convergence_factor(mu, nu) -> np.ndarray:
    """ρ* = (κ − 1)/(κ + 1), κ = (max μ · max ν)/(min μ · min ν), for eigenvalue arrays mu (..., m)
    and nu (..., n)."""
    mu, nu = np.asarray(mu, dtype=float), np.asarray(nu, dtype=float)
    if np.any(~(mu > 0)) or np.any(~(nu > 0)):
        raise ValueError("mu and nu must be positive eigenvalues of the (preconditioned) factors")
    kappa = (mu.max(-1) * nu.max(-1)) / (mu.min(-1) * nu.min(-1))
    return (kappa - 1) / (kappa + 1)
