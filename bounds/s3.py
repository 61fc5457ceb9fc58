"""S3 — Lion-K and the spectral-norm constraint (Chen, Li, Liu, arXiv 2506.15054): lab derivations.

Muon with decoupled weight decay, buffer form, no Nesterov:
    B_{t+1} = β B_t + (1 − β) ∇F(X_t),   O_{t+1} = polar(B_{t+1}) (or an NS approximation),
    X_{t+1} = (1 − ηλ) X_t − η s O_{t+1}          (unscaled η for the decay, η s for the direction).
In Lion-K form M = −B, K(M) = s‖M‖_* (∇K = s·polar), and the implied problem is
min F(X) s.t. ‖X‖_op <= s/λ.  The papers' bodies were not available: every bound is a lab derivation;
each builder's docstring is its proof sketch.
"""

from __future__ import annotations

import inspect

import sympy as sp

from bounds import symbols as S
from bounds.core import Theorem
from lab.backend import namespace
from lab.orthogonalization import polar as _polar  # the project's one polar factor

_REF = "Chen, Li, Liu, Muon Optimizes Under Spectral Norm Constraints, arXiv 2506.15054"
_SRC = "lab derivation consistent with S3 (claim: {claim})"
_ALG = (
    "X_{t+1} = (1 - eta lam) X_t - eta s O_t, O_t = polar(B_t) (or NS), "
    "B_t = beta B_{t-1} + (1 - beta) ∇F(X_{t-1})"
)
_PAR = {
    "weight_decay": "decoupled, unscaled eta: X <- X (1 - eta lam)",
    "shape_scale": "s multiplies the direction",
    "momentum": "EMA buffer B, beta weight on the old buffer; Lion-K M = -B",
}


def _doc(fn) -> str:
    return inspect.getdoc(fn)


def l1_excess() -> Theorem:
    """L1: (‖X_k‖_op − ωs/λ)₊ <= (1 − ηλ)^k (‖X_0‖_op − ωs/λ)₊ when ‖O_t‖_op <= ω for all t, ηλ <= 1.

    Proof. ‖X_{t+1}‖_op <= (1 − ηλ)‖X_t‖_op + ηs‖O_t‖_op <= (1 − ηλ)‖X_t‖_op + ηλ(ωs/λ): subtract ωs/λ;
    if ‖X_t‖_op <= ωs/λ the right side stays <= 0 (forward invariance), so the positive part contracts by
    (1 − ηλ) per step.  ω = 1 for exact polar (and cubic / classical quintic NS); an overshooting oracle
    (Jordan quintic ≈ 1.13–1.2, few-step Polar Express) enlarges the invariant ball to ωs/λ.  Tight:
    a scalar whose direction points outward with |O_t| = ω, x_{t+1} = (1 − ηλ)x_t + ηsω, contracts exactly.
    """
    k, eta, lam, s, om = S.k, S.eta, S.lam, S.s, S.omega
    return Theorem(
        id="S3.L1",
        title="Entering the (overshoot-enlarged) spectral ball",
        source=_SRC.format(claim="Muon + weight decay solves min F s.t. ||X||_op <= 1/lam; L1"),
        algorithm=_ALG,
        parametrisation={**_PAR, "oracle": "||O_t||_op <= omega (omega = 1: exact polar)"},
        assumptions=(k, eta, lam, s, om, S.X0_op),
        conditions=(sp.Le(eta * lam, 1),),
        metric="op_excess",
        expr=(1 - eta * lam) ** k * sp.Max(S.X0_op - om * s / lam, 0),
        reference=_REF,
        proof_sketch=_doc(l1_excess),
        example=dict(k=10, eta=0.1, lam=0.5, s=1.0, omega=1.0, X0_op=5.0),
    )


def l1_radius() -> Theorem:
    """L1 (radius form): ‖X_k‖_op <= ωs/λ + (1 − ηλ)^k (‖X_0‖_op − ωs/λ)₊ — the invariant radius is
    (max_t ‖O_t‖_op)·s/λ.

    Proof. ‖X_k‖_op <= ωs/λ + (‖X_k‖_op − ωs/λ)₊ and :func:`l1_excess`.
    """
    k, eta, lam, s, om = S.k, S.eta, S.lam, S.s, S.omega
    return Theorem(
        id="S3.L1.radius",
        title="Spectral norm of Muon + weight decay iterates",
        source=_SRC.format(claim="inexact NS changes the feasible set; L1"),
        algorithm=_ALG,
        parametrisation={**_PAR, "oracle": "||O_t||_op <= omega"},
        assumptions=(k, eta, lam, s, om, S.X0_op),
        conditions=(sp.Le(eta * lam, 1),),
        metric="op_norm",
        expr=om * s / lam + (1 - eta * lam) ** k * sp.Max(S.X0_op - om * s / lam, 0),
        reference=_REF,
        proof_sketch=_doc(l1_radius),
        example=dict(k=10, eta=0.1, lam=0.5, s=1.0, omega=1.2, X0_op=5.0),
    )


def stationarity() -> Theorem:
    """S(X) = s‖∇F(X)‖_* + λ<∇F(X), X> >= 0 on the ball ‖X‖_op <= s/λ; S(X) = λ·(Frank–Wolfe gap).

    Proof. <∇F, X> >= −‖∇F‖_*‖X‖_op >= −(s/λ)‖∇F‖_*.  The Frank–Wolfe gap is
    max_{‖Z‖_op<=s/λ} <∇F(X), X − Z> = <∇F, X> + (s/λ)‖∇F‖_*, so S = λ·gap; it vanishes exactly at the
    KKT points of min F over the ball (for convex F: at the constrained minimisers).
    """
    return Theorem(
        id="S3.S",
        title="Stationarity measure of the spectral-ball problem",
        source=_SRC.format(claim="implied constrained problem; KKT measure"),
        algorithm=_ALG,
        parametrisation=_PAR,
        assumptions=(S.X_op, S.s, S.lam),
        conditions=(sp.Le(S.X_op, S.s / S.lam),),
        metric="stationarity",
        relation=">=",
        expr=sp.Integer(0),
        reference=_REF,
        proof_sketch=_doc(stationarity),
        example=dict(X_op=1.0, s=1.0, lam=0.5),
    )


_L2_DOC = """
    Proof (Lion-K sign, M = −B, O = s·polar(M), K(M) = s‖M‖_*, Φ(M, X) = K(M) − λ<M, X>, non-Nesterov;
    in buffer form Φ = s‖B‖_* + λ<B, X>).  M_{t+1} − M_t = −((1 − β)/β)(M_{t+1} + ∇F(X_t)) and
    <M_{t+1}, O_{t+1}> = K(M_{t+1}).  Three pieces:
      F(X_{t+1}) − F(X_t) <= η<∇F(X_t), O_{t+1} − λX_t> + (L/2)η²‖O_{t+1} − λX_t‖_F²   (L-smooth, Frobenius);
      c[K(M_{t+1}) − K(M_t)] <= c<O_{t+1}, M_{t+1} − M_t>
                             = −(c(1 − β)/β)[K(M_{t+1}) + <O_{t+1}, ∇F(X_t)>]   (convexity);
      −cλ[<M_{t+1}, X_{t+1}> − <M_t, X_t>] = (c(1 − β)/β)λ<M_{t+1} + ∇F(X_t), X_t> − cλη Φ(M_{t+1}, X_t).
    With c = ηβ/(1 − β) the <O, ∇F> and λ<∇F, X> terms cancel exactly:
      (sharp)  H^β_{t+1} − H^β_t <= −η(1 + ηλβ/(1 − β)) Φ(M_{t+1}, X_t) + (L/2)η²‖O_{t+1} − λX_t‖_F²,
    H^β_t = F(X_t) + (ηβ/(1 − β))Φ(M_t, X_t).  The classical weight η/(1 − β) adds ηΦ(M_t, X_t); with
    Φ(M_{t+1}, X_{t+1}) = (1 − ηλ)Φ(M_{t+1}, X_t) (because <M_{t+1}, O_{t+1} − λX_t> = Φ(M_{t+1}, X_t)):
      (classical) H_{t+1} − H_t <= −ηΦ(M_t, X_t) − (η²λ/(1 − β))Φ(M_{t+1}, X_t) + (L/2)η²‖O_{t+1} − λX_t‖_F².
    Both are equalities when F is linear and the momentum keeps its direction (convexity of K is then
    tight).  Inside the ball every Φ is >= 0, so both functions are non-increasing up to O(η²).
"""


def l2() -> Theorem:
    """L2 (discrete Lyapunov, classical weight): H_t = F(X_t) + (η/(1 − β))Φ(M_t, X_t),
    H_{t+1} − H_t <= −ηΦ(M_t, X_t) − (η²λ/(1 − β))Φ(M_{t+1}, X_t) + (L/2)η²‖O_{t+1} − λX_t‖_F²."""
    eta, lam, b = S.eta, S.lam, S.beta
    return Theorem(
        id="S3.L2",
        title="Discrete Lyapunov function of Muon + weight decay (one step)",
        source=_SRC.format(claim="Lyapunov function H = F + ||M||_* - lam <M, X>; L2")
        + "; discrete form derived here",
        algorithm=_ALG + " (no Nesterov)",
        parametrisation={
            **_PAR,
            "smoothness": "L in Frobenius norm",
            "lyapunov": "H_t = F(X_t) + eta/(1-beta) Phi(M_t, X_t)",
        },
        assumptions=(eta, lam, b, S.Phi_prev, S.Phi_next, S.L, S.Q_step),
        conditions=(sp.Lt(b, 1),),
        metric="lyapunov_change",
        expr=-eta * S.Phi_prev - eta**2 * lam / (1 - b) * S.Phi_next + S.L / 2 * eta**2 * S.Q_step,
        reference=_REF,
        proof_sketch=_doc(l2) + "\n\n" + inspect.cleandoc(_L2_DOC),
        example=dict(eta=0.05, lam=0.5, beta=0.9, Phi_prev=1.0, Phi_next=1.0, L=1.0, Q_step=4.0),
    )


def l2_sharp() -> Theorem:
    """L2 (sharp weight): H^β_t = F(X_t) + (ηβ/(1 − β))Φ(M_t, X_t),
    H^β_{t+1} − H^β_t <= −η(1 + ηλβ/(1 − β))Φ(M_{t+1}, X_t) + (L/2)η²‖O_{t+1} − λX_t‖_F²."""
    eta, lam, b = S.eta, S.lam, S.beta
    return Theorem(
        id="S3.L2.sharp",
        title="Discrete Lyapunov function with exact cancellation (one step)",
        source=_SRC.format(claim="Lyapunov function; L2") + "; weight eta beta/(1-beta) derived here",
        algorithm=_ALG + " (no Nesterov)",
        parametrisation={
            **_PAR,
            "smoothness": "L in Frobenius norm",
            "lyapunov": "H_t = F(X_t) + eta beta/(1-beta) Phi(M_t, X_t)",
        },
        assumptions=(eta, lam, b, S.Phi_next, S.L, S.Q_step),
        conditions=(sp.Lt(b, 1),),
        metric="lyapunov_change",
        expr=-eta * (1 + eta * lam * b / (1 - b)) * S.Phi_next + S.L / 2 * eta**2 * S.Q_step,
        reference=_REF,
        proof_sketch=_doc(l2_sharp) + "\n\n" + inspect.cleandoc(_L2_DOC),
        example=dict(eta=0.05, lam=0.5, beta=0.9, Phi_next=1.0, L=1.0, Q_step=4.0),
    )


def l2_ball() -> Theorem:
    """L2 inside the ball: H_{t+1} − H_t <= 2Ls²rη² when ‖X_t‖_op <= s/λ (either weight).

    Proof. On the ball Φ(M, X_t) >= s‖M‖_* − λ‖M‖_*‖X_t‖_op >= 0 and
    ‖O_{t+1} − λX_t‖_F <= s√r + λ√r‖X_t‖_op <= 2s√r; apply :func:`l2` or :func:`l2_sharp`.
    So H is non-increasing up to
    O(η²) after entry (S3.L1 gives entry and invariance for exact polar).
    """
    return Theorem(
        id="S3.L2.ball",
        title="Lyapunov function is non-increasing up to O(eta^2) inside the ball",
        source=_SRC.format(claim="Lyapunov function; L2"),
        algorithm=_ALG + " (no Nesterov)",
        parametrisation={**_PAR, "smoothness": "L in Frobenius norm"},
        assumptions=(S.eta, S.lam, S.beta, S.L, S.s, S.r, S.X_op),
        conditions=(sp.Lt(S.beta, 1), sp.Le(S.X_op, S.s / S.lam)),
        metric="lyapunov_change",
        expr=2 * S.L * S.s**2 * S.r * S.eta**2,
        reference=_REF,
        proof_sketch=_doc(l2_ball),
        example=dict(eta=0.05, lam=0.5, beta=0.9, L=1.0, s=1.0, r=4, X_op=1.0),
    )


def l3_step() -> Theorem:
    """L3 step (Frank–Wolfe view, β = 0, exact polar):
    F(X_{t+1}) − F(X_t) <= −ηS(X_t) + (L/2)η²λ²‖S_t − X_t‖_F².

    Proof. With S_t = −(s/λ)polar(∇F(X_t)) = argmin_{‖Z‖_op<=s/λ} <∇F(X_t), Z>, the update is
    X_{t+1} = (1 − ηλ)X_t + ηλS_t (Frank–Wolfe with step ηλ).  L-smoothness (Frobenius) and
    λ<∇F(X_t), S_t − X_t> = −(s‖∇F‖_* + λ<∇F, X_t>) = −S(X_t).  Equality for F = (L/2)‖X − C‖_F².
    """
    return Theorem(
        id="S3.L3.step",
        title="Frank-Wolfe descent step of Muon + weight decay",
        source=_SRC.format(claim="Muon + weight decay is Frank-Wolfe with step eta lam; L3"),
        algorithm="X_{t+1} = (1 - eta lam) X_t + eta lam S_t, S_t = -(s/lam) polar(∇F(X_t)) (beta = 0)",
        parametrisation={**_PAR, "smoothness": "L in Frobenius norm"},
        assumptions=(S.eta, S.stat, S.L, S.lam, S.D_fw),
        conditions=(sp.Le(S.eta * S.lam, 1),),
        metric="one_step_change",
        expr=-S.eta * S.stat + S.L / 2 * S.eta**2 * S.lam**2 * S.D_fw**2,
        reference=_REF,
        proof_sketch=_doc(l3_step),
        example=dict(eta=0.1, S_t=1.0, L=1.0, lam=0.5, D_fw=2.0),
    )


def l3() -> Theorem:
    """L3: min_{t<T} S(X_t) <= (F(X_0) − F_inf)/(ηT) + 2Ls²rη
    (deterministic, β = 0, exact polar, X_0 in the ball).

    Proof. Sum :func:`l3_step`; the iterates stay in the ball (S3.L1, ω = 1), so ‖S_t − X_t‖_F <=
    2s√r/λ and F(X_T) >= F_inf := min over the ball.  η* = √((F(X_0) − F_inf)/(2Ls²rT)) gives
    2√(2Ls²r(F(X_0) − F_inf)/T): rate T^(−1/2).  The classical statement is the case s = 1.
    """
    eta, T = S.eta, S.T
    expr = S.F_gap0 / (eta * T) + 2 * S.L * S.s**2 * S.r * eta
    return Theorem(
        id="S3.L3",
        title="Frank-Wolfe rate of Muon + weight decay on the spectral ball",
        source=_SRC.format(claim="convergence to KKT points of the constrained problem; L3"),
        algorithm="X_{t+1} = (1 - eta lam) X_t - eta s polar(∇F(X_t)) (beta = 0, deterministic)",
        parametrisation={**_PAR, "smoothness": "L in Frobenius norm"},
        assumptions=(S.F_gap0, eta, T, S.L, S.s, S.r, S.lam, S.X0_op),
        conditions=(sp.Le(eta * S.lam, 1), sp.Le(S.X0_op, S.s / S.lam), sp.Ge(T, 1)),
        metric="min_stationarity",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(l3),
        horizon=T,
        controls=(eta,),
        optimum_conditions=(sp.Le(eta * S.lam, 1),),
        claims={
            "eta_opt": sp.sqrt(S.F_gap0 / (2 * S.L * S.s**2 * S.r * T)),
            "value_at_opt": 2 * sp.sqrt(2 * S.L * S.s**2 * S.r * S.F_gap0 / T),
            "rate": sp.Rational(-1, 2),
        },
        example=dict(F_gap0=2.0, eta=0.01, T=1000, L=1.0, s=1.0, r=4, lam=0.5, X0_op=1.0),
    )


BUILDERS = (l1_excess, l1_radius, stationarity, l2, l2_sharp, l2_ball, l3_step, l3)


# ----------------------------------------------------------------------------------------------------
# array helpers (array API; batched over leading axes)
# ----------------------------------------------------------------------------------------------------
def _inner(A, B):
    xp = namespace(A, B)
    return xp.sum(A * B, axis=(-2, -1))


def _nuclear(G):
    xp = namespace(G)
    return xp.sum(xp.linalg.svdvals(G), axis=-1)


def frank_wolfe_vertex(G, lam, s=1.0):
    """argmin_{‖Z‖_op <= s/λ} <G, Z> = −(s/λ)·polar(G) (full-rank G; the lab's polar is U Vᵀ)."""
    return -(s / lam) * _polar(G)


def stationarity_measure(G, X, lam, s=1.0):
    """S(X) = s‖G‖_* + λ<G, X> with G = ∇F(X), batched over leading axes (λ × Frank–Wolfe gap)."""
    return s * _nuclear(G) + lam * _inner(G, X)


def lyapunov_value(F_value, B, X, eta, beta, lam, s=1.0, *, sharp=False):
    """H = F(X) + w(s‖B‖_* + λ<B, X>) for the Muon buffer B: w = η/(1 − β) (S3.L2, the classical weight) or
    ηβ/(1 − β) (``sharp=True``, S3.L2.sharp)."""
    weight = eta * beta / (1 - beta) if sharp else eta / (1 - beta)
    return F_value + weight * (s * _nuclear(B) + lam * _inner(B, X))


def lyapunov_phi(B, X, lam, s=1.0):
    """Φ = s‖B‖_* + λ<B, X> (= K(M) − λ<M, X> with M = −B); Φ >= 0 on the ball ‖X‖_op <= s/λ."""
    return s * _nuclear(B) + lam * _inner(B, X)


def muon_wd_direction_sq(B, X, lam, s=1.0):
    """Q = ‖s·polar(B) + λX‖_F² (squared length of the Muon + weight-decay update direction)."""
    xp = namespace(B, X)
    D = s * _polar(B) + lam * X
    return xp.sum(D * D, axis=(-2, -1))
