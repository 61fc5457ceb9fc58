"""S1 — inexact LMO methods (Shulgin, AlRashed, Orabona, Richtárik, arXiv 2510.19933): lab derivations.

The paper's body was not available; every explicit bound here is a lab derivation, consistent with
S1's claims (explicit degradation in the oracle error δ; lower precision needs a smaller step and a
larger momentum parameter α = 1 − β).  Each builder's docstring is the theorem's proof sketch.

Setting.  LMO: lmo(G) = argmin_{‖D‖<=1} <G, D>, so <G, lmo(G)> = −‖G‖_* and
‖lmo(G)‖ = 1.  δ-inexact oracle: ‖D(G) − lmo(G)‖ <= δ in the primal norm, δ ∈ [0, 1).  Updates
X ← X + t D.  Momentum (I3, I4): EMA M^k = β M^{k−1} + α g^k with α = 1 − β, M^0 = g^0.
"""

from __future__ import annotations

import inspect

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.core import Theorem

_SRC = "lab derivation consistent with S1 (claim: {claim})"
_REF = (
    "Shulgin, AlRashed, Orabona, Richtárik, Beyond the Ideal: Analyzing the Inexact Muon Update, "
    "arXiv 2510.19933"
)
_GLUON = "Riabinin et al., Gluon, arXiv 2505.13416 (layer-wise (L0,L1)-smoothness)"
_LMO = "X <- X + t D(G),  D(G) = lmo(G) + E,  ||E|| <= delta (primal norm)"

_d, _one = S.delta, sp.Integer(1)

# LaTeX forms of the texts below (Theorem.tex), for the appendix
_TEX_LMO = r"$D(G) = \operatorname{lmo}(G) + E$ with $\|E\| \le \delta$ (primal norm)"
_TEX = {
    "lemma_a": {
        "algorithm": _TEX_LMO,
        "proof_sketch": (
            r"Lemma (a): $\langle G, D(G)\rangle \le -(1-\delta)\|G\|_*$. "
            r"Proof: $D(G) = \operatorname{lmo}(G) + E$ with $\|E\| \le \delta$, so "
            r"$\langle G, D(G)\rangle = -\|G\|_* + \langle G, E\rangle$ and "
            r"$\langle G, E\rangle \le \|G\|_*\|E\| \le \delta\|G\|_*$ (definition of the dual norm). "
            r"Tight for the shrink oracle $D = (1-\delta)\operatorname{lmo}(G)$."
        ),
    },
    "lemma_b": {
        "algorithm": _TEX_LMO,
        "proof_sketch": (
            r"Lemma (b): $\|D(G)\| \le 1 + \delta$. Proof: the triangle inequality, "
            r"$\|\operatorname{lmo}(G)\| \le 1$ and $\|E\| \le \delta$. "
            r"Tight for the expand oracle $D = (1+\delta)\operatorname{lmo}(G)$."
        ),
    },
    "lemma_c": {
        "algorithm": r"$D(H) = \operatorname{lmo}(H) + E$ with $\|E\| \le \delta$ (primal norm)",
        "proof_sketch": (
            r"Lemma (c): $\langle G, D(H)\rangle \le -(1-\delta)\|G\|_* + 2\|G-H\|_*$ for all $G, H$. "
            r"Proof: $\langle G, D(H)\rangle = \langle H, D(H)\rangle + \langle G-H, D(H)\rangle "
            r"\le -(1-\delta)\|H\|_* + (1+\delta)\|G-H\|_*$ by (a) and (b); then "
            r"$\|H\|_* \ge \|G\|_* - \|G-H\|_*$ gives "
            r"$-(1-\delta)\|G\|_* + [(1-\delta)+(1+\delta)]\|G-H\|_*$. "
            r"Tight in the limit: scalar $G = g > 0$, $H = -\varepsilon$, "
            r"$D = (1+\delta)\operatorname{lmo}(H) = 1+\delta$; both sides tend to $(1+\delta)g$ "
            r"as $\varepsilon \to 0$."
        ),
    },
    "ns_cubic": {
        "algorithm": r"$X \leftarrow \tfrac32 X - \tfrac12 XX^{\top}X$ (per singular value "
        r"$p(x) = \tfrac32 x - \tfrac12 x^3$)",
        "proof_sketch": (
            r"Cubic Newton--Schulz step $p(x) = (3x - x^3)/2$: the error $e = 1 - x$ maps to "
            r"$e^+ = e^2(3-e)/2$. Proof: $1 - p(x) = (2 - 3x + x^3)/2 = (1-x)^2(2+x)/2$ and $2 + x = 3 - e$. "
            r"On $e \in [0, 1]$ the map is increasing (derivative $3e(2-e)/2 \ge 0$) and $e^+ \le e$, so "
            r"the worst singular value is the smallest one and the uniform error after $k$ steps is the "
            r"$k$-fold map of $1 - \ell$."
        ),
    },
    "ns_quintic": {
        "algorithm": r"$X \leftarrow \tfrac18\left(15X - 10XX^{\top}X + 3(XX^{\top})^2X\right)$",
        "proof_sketch": (
            r"Classical quintic step $p(x) = (15x - 10x^3 + 3x^5)/8$: $e^+ = e^3(20 - 15e + 3e^2)/8$ "
            r"(cubic order). Proof: $1 - p(x) = (1-x)^3(3x^2 + 9x + 8)/8$ (expand), and "
            r"$3x^2 + 9x + 8 = 20 - 15e + 3e^2$ at $x = 1 - e$. Increasing on $[0, 1]$ (derivative "
            r"$15e^2(2-e)^2/8 \ge 0$) and $e^+ \le e$."
        ),
    },
}


def _doc(fn) -> str:
    return inspect.getdoc(fn)


def _ex(**kw) -> dict:
    return kw


# ----------------------------------------------------------------------------------------------------
# §1.3 consequences of the additive error model
# ----------------------------------------------------------------------------------------------------
def lemma_a() -> Theorem:
    """Lemma (a): <G, D(G)> <= −(1 − δ)‖G‖_*.

    Proof. D(G) = lmo(G) + E with ‖E‖ <= δ, so <G, D(G)> = −‖G‖_* + <G, E> and
    <G, E> <= ‖G‖_*‖E‖ <= δ‖G‖_* (definition of the dual norm).  Tight for the shrink oracle
    D = (1 − δ) lmo(G).
    """
    return Theorem(
        id="S1.lemma_a",
        title="Alignment of a δ-inexact LMO direction",
        source=_SRC.format(claim="additive error model"),
        algorithm="D(G) = lmo(G) + E, ||E|| <= delta",
        parametrisation={"norm": "any; dual norm ||.||_*"},
        assumptions=(_d, S.g_dual),
        conditions=(sp.Lt(_d, 1),),
        metric="inner_product",
        expr=-(1 - _d) * S.g_dual,
        reference=_REF,
        proof_sketch=_doc(lemma_a),
        tex=_TEX["lemma_a"],
        claims={"delta0": -S.g_dual},
        example=_ex(delta=0.3, g_dual=2.0),
    )


def lemma_b() -> Theorem:
    """Lemma (b): ‖D(G)‖ <= 1 + δ.

    Proof. Triangle inequality, ‖lmo(G)‖ <= 1 and ‖E‖ <= δ.  Tight for the expand oracle
    D = (1 + δ) lmo(G).
    """
    return Theorem(
        id="S1.lemma_b",
        title="Length of a δ-inexact LMO direction",
        source=_SRC.format(claim="additive error model"),
        algorithm="D(G) = lmo(G) + E, ||E|| <= delta",
        parametrisation={"norm": "any (primal norm of the ball)"},
        assumptions=(_d,),
        conditions=(sp.Lt(_d, 1),),
        metric="primal_norm",
        expr=1 + _d,
        reference=_REF,
        proof_sketch=_doc(lemma_b),
        tex=_TEX["lemma_b"],
        claims={"delta0": _one},
        example=_ex(delta=0.3),
    )


def lemma_c() -> Theorem:
    """Lemma (c): <G, D(H)> <= −(1 − δ)‖G‖_* + 2‖G − H‖_* for any G, H.

    Proof. <G, D(H)> = <H, D(H)> + <G − H, D(H)> <= −(1 − δ)‖H‖_* + (1 + δ)‖G − H‖_* by (a), (b);
    then ‖H‖_* >= ‖G‖_* − ‖G − H‖_* gives −(1 − δ)‖G‖_* + [(1 − δ) + (1 + δ)]‖G − H‖_*.
    Tight in the limit: scalar G = g > 0, H = −ε, D = (1 + δ)·lmo(H) = (1 + δ): both sides → (1 + δ)g
    as ε → 0.
    """
    return Theorem(
        id="S1.lemma_c",
        title="Alignment with a perturbed input",
        source=_SRC.format(claim="additive error model"),
        algorithm="D(H) = lmo(H) + E, ||E|| <= delta",
        parametrisation={"norm": "any; dual norm ||.||_*"},
        assumptions=(_d, S.g_dual, S.gh_dual),
        conditions=(sp.Lt(_d, 1),),
        metric="inner_product",
        expr=-(1 - _d) * S.g_dual + 2 * S.gh_dual,
        reference=_REF,
        proof_sketch=_doc(lemma_c),
        tex=_TEX["lemma_c"],
        claims={"delta0": -S.g_dual + 2 * S.gh_dual},
        example=_ex(delta=0.3, g_dual=2.0, gh_dual=0.5),
    )


# ----------------------------------------------------------------------------------------------------
# §1.1 odd polynomial iterations (per singular value)
# ----------------------------------------------------------------------------------------------------
NS_COEFFICIENTS = {
    "cubic": (sp.Rational(3, 2), sp.Rational(-1, 2), sp.Integer(0)),
    "quintic": (sp.Rational(15, 8), sp.Rational(-10, 8), sp.Rational(3, 8)),
}


def _p(family: str, x):
    a, b, c = NS_COEFFICIENTS[family]
    return a * x + b * x**3 + c * x**5


def ns_cubic() -> Theorem:
    """Cubic Newton–Schulz step p(x) = (3x − x³)/2: the error e = 1 − x maps to e⁺ = e²(3 − e)/2.

    Proof. 1 − p(x) = (2 − 3x + x³)/2 = (1 − x)²(2 + x)/2 and 2 + x = 3 − e.  On e ∈ [0, 1] the map
    is increasing (derivative 3e(2 − e)/2 >= 0) and e⁺ <= e, so the worst singular value is the
    smallest one and the uniform error after k steps is the k-fold map of 1 − ℓ.
    """
    e = S.err
    return Theorem(
        id="S1.NS.cubic",
        title="Cubic Newton-Schulz error recursion",
        source="lab derivation (exact identity of the odd polynomial step)",
        algorithm="X <- 1.5 X - 0.5 X X^T X (per singular value p(x) = 1.5x - 0.5x^3)",
        parametrisation={"normalisation": "X0 = G/||G||_F, singular values in [0, 1]"},
        assumptions=(e,),
        conditions=(sp.Le(e, 1),),
        metric="ns_error",
        relation="==",
        expr=e**2 * (3 - e) / 2,
        reference="Newton-Schulz / Kovarik-Bjorck iteration",
        proof_sketch=_doc(ns_cubic),
        tex=_TEX["ns_cubic"],
        claims={"identity": 1 - _p("cubic", 1 - e)},
        example=_ex(e=sp.Rational(1, 3)),
    )


def ns_quintic() -> Theorem:
    """Classical quintic step p(x) = (15x − 10x³ + 3x⁵)/8: e⁺ = e³(20 − 15e + 3e²)/8 (cubic order).

    Proof. 1 − p(x) = (1 − x)³(3x² + 9x + 8)/8 (expand), and 3x² + 9x + 8 = 20 − 15e + 3e² at
    x = 1 − e.  Increasing on [0, 1] (derivative 15e²(2 − e)²/8 >= 0) and e⁺ <= e.
    """
    e = S.err
    return Theorem(
        id="S1.NS.quintic",
        title="Classical quintic Newton-Schulz error recursion",
        source="lab derivation (exact identity of the odd polynomial step)",
        algorithm="X <- (15 X - 10 X X^T X + 3 (X X^T)^2 X)/8",
        parametrisation={"normalisation": "X0 = G/||G||_F"},
        assumptions=(e,),
        conditions=(sp.Le(e, 1),),
        metric="ns_error",
        relation="==",
        expr=e**3 * (20 - 15 * e + 3 * e**2) / 8,
        reference="Newton-Schulz / Kovarik-Bjorck iteration (classical quintic)",
        proof_sketch=_doc(ns_quintic),
        tex=_TEX["ns_quintic"],
        claims={"identity": 1 - _p("quintic", 1 - e)},
        example=_ex(e=sp.Rational(1, 3)),
    )


def ns_uniform_error(family: str, ell, steps: int) -> np.ndarray:
    """Uniform bound δ_k(ℓ) = max_{x∈[ℓ,1]} |1 − p^(k)(x)| for the cubic or classical quintic family.

    Both error maps are increasing on [0, 1] with e⁺ <= e (see :func:`ns_cubic`, :func:`ns_quintic`),
    so the maximum is attained at x = ℓ and equals the k-fold error map applied to 1 − ℓ.
    """
    if family not in NS_COEFFICIENTS:
        raise ValueError(f"family must be one of {sorted(NS_COEFFICIENTS)}, got {family!r}")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    ell = np.asarray(ell, dtype=float)
    if np.any(~(ell >= 0) | ~(ell <= 1)):
        raise ValueError("ell must lie in [0, 1]")
    e = 1.0 - ell
    for _ in range(steps):
        e = e**2 * (3 - e) / 2 if family == "cubic" else e**3 * (20 - 15 * e + 3 * e**2) / 8
    return e


# ----------------------------------------------------------------------------------------------------
# I1: deterministic, L-smooth in ||.||, constant step
# ----------------------------------------------------------------------------------------------------
def i1_step() -> Theorem:
    """I1, one step: f(X⁺) <= f(X) − t(1 − δ)‖∇f(X)‖_* + (L/2) t² (1 + δ)².

    Proof. L-smoothness in (‖·‖, ‖·‖_*) gives f(X + tD) <= f(X) + t<∇f(X), D> + (L/2)t²‖D‖²; apply
    lemma (a) to the linear term and lemma (b) to the quadratic one.  The linear term is tight for
    the shrink oracle, the quadratic one for the expand oracle (scalar ½(x − c)²: equality at δ = 0).
    """
    return Theorem(
        id="S1.I1.step",
        title="Descent of one inexact LMO step",
        source=_SRC.format(claim="degradation in delta; I1"),
        algorithm=_LMO,
        parametrisation={"norm": "any norm; L-smooth in (||.||, ||.||_*)"},
        assumptions=(S.L, S.t, _d, S.g_dual),
        conditions=(sp.Lt(_d, 1),),
        metric="one_step_change",
        expr=-S.t * (1 - _d) * S.g_dual + S.L / 2 * S.t**2 * (1 + _d) ** 2,
        reference=_REF,
        proof_sketch=_doc(i1_step),
        claims={"delta0": -S.t * S.g_dual + S.L / 2 * S.t**2},
        example=_ex(L=2.0, t=0.1, delta=0.3, g_dual=1.5),
    )


def i1() -> Theorem:
    """I1: (1/K) Σ_{k<K} ‖∇f(X^k)‖_* <= Δ₀/((1 − δ)tK) + L t (1 + δ)²/(2(1 − δ)).

    Proof. Sum the one-step inequality (:func:`i1_step`) over k < K and use f(X^K) >= inf f:
    t(1 − δ) Σ‖∇f(X^k)‖_* <= Δ₀ + K (L/2) t² (1 + δ)²; divide by t(1 − δ)K.  The minimum over t of
    A/t + Bt is 2√(AB) at t* = √(A/B): t*(δ) = √(2Δ₀/(LK))/(1 + δ) and the bound at t* is
    ((1 + δ)/(1 − δ))·√(2LΔ₀/K): rate K^(−1/2), degradation (1 + δ)/(1 − δ) relative to δ = 0.
    Tight at δ = 0: on ½(x − c)² (L = 1) started at x₀ = c + Kt the bound equals the average exactly.
    """
    L, t, D0, K = S.L, S.t, S.Delta0, S.K
    expr = D0 / ((1 - _d) * t * K) + L * t * (1 + _d) ** 2 / (2 * (1 - _d))
    return Theorem(
        id="S1.I1",
        title="Inexact LMO method, deterministic, constant step",
        source=_SRC.format(claim="degradation in delta, smaller step for lower precision; I1"),
        algorithm=_LMO,
        parametrisation={"norm": "any norm (spectral for Muon; dual nuclear)", "step": "constant t"},
        assumptions=(L, t, D0, K, _d),
        conditions=(sp.Lt(_d, 1), sp.Ge(K, 1)),
        metric="avg_grad_dual",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(i1),
        horizon=K,
        controls=(t,),
        claims={
            "t_opt": sp.sqrt(2 * D0 / (L * K)) / (1 + _d),
            "value_at_opt": (1 + _d) / (1 - _d) * sp.sqrt(2 * L * D0 / K),
            "rate": sp.Rational(-1, 2),
            "degradation": (1 + _d) / (1 - _d),
            "delta0": D0 / (t * K) + L * t / 2,
        },
        trends={"t_opt": "decreasing in delta"},
        example=_ex(L=2.0, t=0.1, Delta0=3.0, K=100, delta=0.3),
        notes="bounds the average, hence min_k ||∇f(X^k)||_*; "
        "for 1/2||X - C||_F^2 in spectral geometry L = min(m, n)",
    )


# ----------------------------------------------------------------------------------------------------
# I2: deterministic, layer-wise (L0, L1)-smooth, δ-aware adaptive step
# ----------------------------------------------------------------------------------------------------
_LAYER_SMOOTH = (
    "layer-wise (L0,L1): ||∇_i f(X) - ∇_i f(Y)||_(i)* <= (L0_i + L1_i a_i(X)) ||X_i - Y_i||_(i), "
    "needed along steps of length t_i (1 + delta_i)"
)


def i2_descent() -> Theorem:
    """I2 descent: f(X⁺) − f(X) <= Σ_i [−t_i(1 − δ_i)a_i + (L0_i + L1_i a_i) t_i² (1 + δ_i)²/2].

    Proof. Integrate the gradient along the segment: f(Y) − f(X) − <∇f(X), Y − X> =
    ∫₀¹ Σ_i <∇_i f(X + s(Y − X)) − ∇_i f(X), Y_i − X_i> ds <= Σ_i (L0_i + L1_i a_i) ‖Y_i − X_i‖²/2
    by the layer-wise (L0,L1) condition with base point X.  With Y_i − X_i = t_i D_i use lemma (a) on
    the linear term and (b) on the quadratic one.  The right side is a convex quadratic in each t_i;
    its minimiser is the δ-aware adaptive step t_i* = (1 − δ_i)a_i/((1 + δ_i)²(L0_i + L1_i a_i)),
    with value −(1 − δ_i)² a_i²/(2(1 + δ_i)²(L0_i + L1_i a_i)).
    """
    ti, ai, l0, l1, di = S.t_i, S.a_i, S.L0_i, S.L1_i, S.delta_i
    layer = -ti * (1 - di) * ai + (l0 + l1 * ai) * ti**2 * (1 + di) ** 2 / 2
    return Theorem(
        id="S1.I2.descent",
        title="Layer-wise (L0,L1) descent of one inexact LMO step",
        source=_SRC.format(claim="layer-wise adaptive steps robust to inexact LMOs; I2"),
        algorithm="X_i <- X_i + t_i D_i(∇_i f(X)) per layer",
        parametrisation={"smoothness": _LAYER_SMOOTH},
        assumptions=(ti, ai, l0, l1, di),
        conditions=(sp.Lt(di, 1), sp.Gt(l0 + l1 * ai, 0)),
        metric="one_step_change",
        expr=sp.Integer(0),
        per_layer=layer,
        reference=f"{_REF}; {_GLUON}",
        proof_sketch=_doc(i2_descent),
        controls=(ti,),
        claims={
            "t_i_opt": (1 - di) * ai / ((1 + di) ** 2 * (l0 + l1 * ai)),
            "value_at_opt": -((1 - di) ** 2) * ai**2 / (2 * (1 + di) ** 2 * (l0 + l1 * ai)),
            "delta0_per_layer": -ti * ai + (l0 + l1 * ai) * ti**2 / 2,
        },
        trends={"t_i_opt": "decreasing in delta_i"},
        example=_ex(t_i=0.1, a_i=1.0, L0_i=1.0, L1_i=0.5, delta_i=0.2),
    )


def i2_step() -> Theorem:
    """I2 per-step decrease with the δ-aware step t_i = (1 − δ_i)a_i/((1 + δ_i)²(L0_i + L1_i a_i)):
    f(X) − f(X⁺) >= Σ_i (1 − δ_i)²/(2(1 + δ_i)²) · a_i²/(L0_i + L1_i a_i).

    Proof. The value of :func:`i2_descent` at its minimiser (derived there by sympy).
    """
    ai, l0, l1, di = S.a_i, S.L0_i, S.L1_i, S.delta_i
    return Theorem(
        id="S1.I2.step",
        title="Per-step decrease with the delta-aware adaptive step",
        source=_SRC.format(claim="adaptive step, degradation factor ((1-delta)/(1+delta))^2; I2"),
        algorithm="X_i <- X_i + t_i^k D_i, t_i^k = (1-delta_i) a_i^k / ((1+delta_i)^2 (L0_i + L1_i a_i^k))",
        parametrisation={"smoothness": _LAYER_SMOOTH},
        assumptions=(ai, l0, l1, di),
        conditions=(sp.Lt(di, 1), sp.Gt(l0 + l1 * ai, 0)),
        metric="one_step_change",
        expr=sp.Integer(0),
        per_layer=-((1 - di) ** 2) * ai**2 / (2 * (1 + di) ** 2 * (l0 + l1 * ai)),
        reference=f"{_REF}; {_GLUON}",
        proof_sketch=_doc(i2_step),
        claims={"delta0_per_layer": -(ai**2) / (2 * (l0 + l1 * ai))},
        example=_ex(a_i=1.0, L0_i=1.0, L1_i=0.5, delta_i=0.2),
    )


def i2_sum() -> Theorem:
    """I2 sum: Σ_{k<K} Σ_i (a_i^k)²/(L0_i + L1_i a_i^k) <= 2Δ₀((1 + δ)/(1 − δ))² (common δ).

    Proof. Sum :func:`i2_step` over k < K with δ_i = δ and use f(X^K) >= inf f: the exact method's
    iteration count is multiplied by ((1 + δ)/(1 − δ))².
    """
    D0 = S.Delta0
    return Theorem(
        id="S1.I2.sum",
        title="Summed layer-wise progress with the delta-aware adaptive step",
        source=_SRC.format(claim="degradation determined by the oracle error; I2"),
        algorithm="adaptive step of S1.I2.step, common delta",
        parametrisation={"smoothness": _LAYER_SMOOTH},
        assumptions=(D0, _d),
        conditions=(sp.Lt(_d, 1),),
        metric="sum_grad_ratio",
        expr=2 * D0 * ((1 + _d) / (1 - _d)) ** 2,
        reference=f"{_REF}; {_GLUON}",
        proof_sketch=_doc(i2_sum),
        claims={"delta0": 2 * D0, "degradation": ((1 + _d) / (1 - _d)) ** 2},
        example=_ex(Delta0=3.0, delta=0.3),
    )


# ----------------------------------------------------------------------------------------------------
# I3: stochastic, EMA momentum, constant (t, alpha)
# ----------------------------------------------------------------------------------------------------
_EMA = "M^k = (1 - alpha) M^{k-1} + alpha g^k, M^0 = g^0; X^{k+1} = X^k + t D(M^k)"
_MOM = {
    "momentum": "EMA; alpha = 1 - beta is the weight on the fresh gradient (Muon's beta = 1 - alpha)",
    "norm": "any norm; ||.||_* <= rho ||.||_F; noise E||g - ∇f||_F^2 <= sigma^2, unbiased",
}


def i3_error() -> Theorem:
    """I3 momentum error: E‖M^k − ∇f(X^k)‖_* <= β^k ρσ + L t (1 + δ) β/α + ρσ√α  (β = 1 − α).

    Proof. ε^k = M^k − ∇f(X^k) = β ε^{k−1} + β(∇f(X^{k−1}) − ∇f(X^k)) + α ξ^k with ξ^k = g^k − ∇f(X^k).
    Unrolled: ε^k = β^k ξ^0 + α Σ_{j=1}^k β^{k−j} ξ^j + Σ_{j=1}^k β^{k−j+1} S^j with
    ‖S^j‖_* <= L ‖X^j − X^{j−1}‖ <= L t (1 + δ) (lemma (b)), so the drift part is <= L t (1 + δ) β/α.
    The noise part is a martingale sum: E‖·‖_* <= ρ (E‖·‖_F²)^{1/2} = ρσ (β^{2k} + α² Σ β^{2(k−j)})^{1/2}
    <= ρσ (β^k + √(α/(1 + β))) <= ρσ(β^k + √α).  Tight for σ = 0 and the expand oracle as k → ∞.
    """
    a, kk = S.alpha, S.k
    b = 1 - a
    return Theorem(
        id="S1.I3.error",
        title="Momentum error of EMA momentum with an inexact oracle",
        source=_SRC.format(claim="momentum must be co-tuned with the oracle error; I3"),
        algorithm=_EMA,
        parametrisation=_MOM,
        assumptions=(a, kk, S.rho, S.sigma, S.L, S.t, _d),
        conditions=(sp.Le(a, 1), sp.Lt(_d, 1)),
        metric="estimator_error_dual",
        expr=b**kk * S.rho * S.sigma + S.L * S.t * (1 + _d) * b / a + S.rho * S.sigma * sp.sqrt(a),
        reference=_REF,
        proof_sketch=_doc(i3_error),
        claims={"delta0": b**kk * S.rho * S.sigma + S.L * S.t * b / a + S.rho * S.sigma * sp.sqrt(a)},
        example=_ex(alpha=0.1, k=5, rho=2.0, sigma=0.5, L=2.0, t=0.01, delta=0.3),
    )


def i3() -> Theorem:
    """I3: (1/K) Σ_{k<K} E‖∇f(X^k)‖_*
    <= 1/(1 − δ)·[Δ₀/(tK) + 2ρσ/(αK) + 2Lt(1 + δ)β/α + 2ρσ√α + Lt(1 + δ)²/2].

    Proof. L-smoothness, then lemma (c) with H = M^k and lemma (b):
    f(X^{k+1}) <= f(X^k) − t(1 − δ)‖∇f(X^k)‖_* + 2t‖ε^k‖_* + (L/2)t²(1 + δ)².  Sum over k < K,
    bound Σ_k E‖ε^k‖_* by :func:`i3_error` (Σ β^k <= 1/α) and divide by t(1 − δ)K.
    Optimum (noise-dominated part Δ₀/(tK) + 2Lt(1 + δ)/α + 2ρσ√α, times 1/(1 − δ); the dropped terms
    are O(K^(−1/2)) and O(K^(−3/4)) at the optimum): t* = (Δ₀³/(2L(1 + δ)ρ²σ²K³))^(1/4) ∝ (1 + δ)^(−1/4),
    α* = √(2LΔ₀(1 + δ)/K)/(ρσ) ∝ (1 + δ)^(1/2) (valid while α* <= 1), value
    4(2LΔ₀(1 + δ))^(1/4)(ρσ)^(1/2)/((1 − δ)K^(1/4)).  Larger δ: smaller step, larger α (smaller β).
    """
    L, t, a, D0, K, rho, sig = S.L, S.t, S.alpha, S.Delta0, S.K, S.rho, S.sigma
    b = 1 - a
    expr = (
        D0 / (t * K)
        + 2 * rho * sig / (a * K)
        + 2 * L * t * (1 + _d) * b / a
        + 2 * rho * sig * sp.sqrt(a)
        + L * t * (1 + _d) ** 2 / 2
    ) / (1 - _d)
    surrogate = (D0 / (t * K) + 2 * L * t * (1 + _d) / a + 2 * rho * sig * sp.sqrt(a)) / (1 - _d)
    return Theorem(
        id="S1.I3",
        title="Inexact LMO method with EMA momentum, stochastic, constant (t, alpha)",
        source=_SRC.format(claim="lower precision needs a smaller step and a larger momentum parameter; I3"),
        algorithm=_EMA,
        parametrisation=_MOM,
        assumptions=(L, t, a, D0, K, rho, sig, _d),
        conditions=(sp.Le(a, 1), sp.Lt(_d, 1), sp.Ge(K, 1)),
        metric="avg_grad_dual",
        expr=expr,
        reference=_REF,
        proof_sketch=_doc(i3),
        horizon=K,
        controls=(t, a),
        objective=surrogate,
        optimum_conditions=(sp.Le(a, 1),),
        claims={
            "t_opt": (D0**3 / (2 * L * (1 + _d) * rho**2 * sig**2 * K**3)) ** sp.Rational(1, 4),
            "alpha_opt": sp.sqrt(2 * L * D0 * (1 + _d) / K) / (rho * sig),
            "value_at_opt": 4
            * (2 * L * D0 * (1 + _d)) ** sp.Rational(1, 4)
            * sp.sqrt(rho * sig)
            / ((1 - _d) * K ** sp.Rational(1, 4)),
            "rate": sp.Rational(-1, 4),
            "degradation": (1 + _d) ** sp.Rational(1, 4) / (1 - _d),
            "delta0": D0 / (t * K)
            + 2 * rho * sig / (a * K)
            + 2 * L * t * b / a
            + 2 * rho * sig * sp.sqrt(a)
            + L * t / 2,
        },
        trends={
            "t_opt": "decreasing in delta",
            "alpha_opt": "increasing in delta",
            "beta_opt": "decreasing in delta",
        },
        example=_ex(L=2.0, t=0.01, alpha=0.1, Delta0=3.0, K=10000, rho=2.0, sigma=0.5, delta=0.3),
        notes="t*, alpha* minimise the noise-dominated part (objective); the optimum holds while alpha* <= 1",
    )


# ----------------------------------------------------------------------------------------------------
# I4: stochastic, layer-wise (L0, L1)
# ----------------------------------------------------------------------------------------------------
def i4() -> Theorem:
    """I4: under t_i <= (1 − δ)α/(4L1_i(1 + δ)),
    (1/K) Σ_k Σ_i t_i E a_i^k <= 2/(1 − δ)·[Δ₀/K + Σ_i(2t_iρ_iσ_i/(αK) + 2L0_i t_i²(1 + δ)β/α
    + 2t_iρ_iσ_i√α + L0_i t_i²(1 + δ)²/2)].

    Proof. Descent of :func:`i2_descent` with lemma (c) per layer:
    f(X^{k+1}) <= f(X^k) + Σ_i[−t_i(1 − δ)a_i^k + 2t_i‖ε_i^k‖_* + (L0_i + L1_i a_i^k)t_i²(1 + δ)²/2].
    The momentum error of layer i obeys ε_i^k = βε_i^{k−1} + βS_i^k + αξ_i^k with
    ‖S_i^k‖_* <= (L0_i + L1_i a_i^{k−1}) t_i (1 + δ) ((L0,L1) with base point X^{k−1}), so
    Σ_k E‖ε_i^k‖_* <= ρ_iσ_i/α + Kρ_iσ_i√α + t_i(1 + δ)(β/α)(K L0_i + L1_i Σ_k E a_i^k).
    The L1-terms move to the left: the coefficient of Σ_k E a_i^k is
    t_i(1 − δ) − 2t_i²(1 + δ)βL1_i/α − t_i²(1 + δ)²L1_i/2 >= t_i(1 − δ)[1 − β/2 − α(1 + δ)/8] >= t_i(1 − δ)/2
    under the cap (using 1 + δ <= 2).  Divide by K(1 − δ)/2.
    """
    a, K, D0 = S.alpha, S.K, S.Delta0
    ti, r_i, s_i, l0, l1 = S.t_i, S.rho_i, S.sigma_i, S.L0_i, S.L1_i
    b = 1 - a
    layer = (
        2
        / (1 - _d)
        * (
            2 * ti * r_i * s_i / (a * K)
            + 2 * l0 * ti**2 * (1 + _d) * b / a
            + 2 * ti * r_i * s_i * sp.sqrt(a)
            + l0 * ti**2 * (1 + _d) ** 2 / 2
        )
    )
    return Theorem(
        id="S1.I4",
        title="Layer-wise (L0,L1) inexact LMO method with EMA momentum, stochastic",
        source=_SRC.format(claim="layer-wise analysis; degradation set by the oracle error; I4"),
        algorithm="per layer: M_i^k = (1-alpha) M_i^{k-1} + alpha g_i^k, X_i^{k+1} = X_i^k + t_i D_i(M_i^k)",
        parametrisation={**_MOM, "smoothness": _LAYER_SMOOTH},
        assumptions=(a, K, D0, _d, ti, r_i, s_i, l0, l1),
        conditions=(sp.Le(a, 1), sp.Lt(_d, 1), sp.Ge(K, 1), sp.Le(4 * l1 * (1 + _d) * ti, (1 - _d) * a)),
        metric="layer_weighted_grad",
        expr=2 * D0 / ((1 - _d) * K),
        per_layer=layer,
        reference=f"{_REF}; {_GLUON}",
        proof_sketch=_doc(i4),
        claims={
            "delta0": 2 * D0 / K,
            "delta0_per_layer": 2
            * (
                2 * ti * r_i * s_i / (a * K)
                + 2 * l0 * ti**2 * b / a
                + 2 * ti * r_i * s_i * sp.sqrt(a)
                + l0 * ti**2 / 2
            ),
        },
        example=_ex(
            alpha=0.1, K=1000, Delta0=3.0, delta=0.3, t_i=0.01, rho_i=2.0, sigma_i=0.5, L0_i=0.0, L1_i=1.0
        ),
    )


def i4_opt() -> Theorem:
    """I4 at the step cap, L0_i = 0: with S = Σ_i ρ_iσ_i/L1_i and t_i = (1 − δ)α/(4L1_i(1 + δ)),
    (1/K) Σ_k Σ_i E a_i^k/L1_i <= 8(1 + δ)Δ₀/((1 − δ)²αK) + 4S/((1 − δ)αK) + 4S√α/(1 − δ).

    Proof. Substitute t_i = c_i α, c_i = (1 − δ)/(4L1_i(1 + δ)), into :func:`i4` with L0_i = 0, divide
    by α and by (1 − δ)/(4(1 + δ)); Σ_i c_iρ_iσ_i = (1 − δ)S/(4(1 + δ)).  The minimiser of A/α + B√α
    is α* = (2A/B)^(2/3) = ((4(1 + δ)Δ₀ + 2(1 − δ)S)/((1 − δ)SK))^(2/3) (increasing in δ) and
    t_i* = (1 − δ)α*/(4L1_i(1 + δ)) (decreasing in δ); value (3/2)Bα*^(1/2): rate K^(−1/3).
    Remark: the simpler choice α* = (4(1 + δ)Δ₀/((1 − δ)SK))^(2/3) drops the initial-momentum term
    2ρσ/(αK), which is of the same order K^(−1/3) here; it is the minimiser only when Δ₀ >> S.
    """
    a, K, D0, SL, l1 = S.alpha, S.K, S.Delta0, S.S_L, S.L1_i
    expr = (
        8 * (1 + _d) * D0 / ((1 - _d) ** 2 * a * K)
        + 4 * SL / ((1 - _d) * a * K)
        + 4 * SL * sp.sqrt(a) / (1 - _d)
    )
    a_star = ((4 * (1 + _d) * D0 + 2 * (1 - _d) * SL) / ((1 - _d) * SL * K)) ** sp.Rational(2, 3)
    return Theorem(
        id="S1.I4.opt",
        title="Layer-wise stochastic method at the step cap: optimal momentum",
        source=_SRC.format(claim="lower precision: smaller steps, larger momentum parameter; I4"),
        algorithm="S1.I4 with L0_i = 0 and t_i = (1-delta) alpha / (4 L1_i (1+delta))",
        parametrisation={**_MOM, "smoothness": _LAYER_SMOOTH + " with L0_i = 0"},
        assumptions=(a, K, D0, _d, SL, l1),
        conditions=(sp.Le(a, 1), sp.Lt(_d, 1), sp.Ge(K, 1)),
        metric="layer_avg_grad_over_L1",
        expr=expr,
        reference=f"{_REF}; {_GLUON}",
        proof_sketch=_doc(i4_opt),
        horizon=K,
        controls=(a,),
        optimum_conditions=(sp.Le(a, 1),),
        dependent={S.t_i: (1 - _d) * a / (4 * l1 * (1 + _d))},
        claims={
            "alpha_opt": a_star,
            "t_i_opt": (1 - _d) * a_star / (4 * l1 * (1 + _d)),
            "value_at_opt": 6 * SL / (1 - _d) * a_star ** sp.Rational(1, 2),
            "rate": sp.Rational(-1, 3),
            "delta0": 8 * D0 / (a * K) + 4 * SL / (a * K) + 4 * SL * sp.sqrt(a),
        },
        trends={
            "alpha_opt": "increasing in delta",
            "beta_opt": "decreasing in delta",
            "t_i_opt": "decreasing in delta",
        },
        example=_ex(alpha=0.1, K=1000, Delta0=3.0, delta=0.3, S=2.0, L1_i=1.0),
    )


BUILDERS = (
    lemma_a,
    lemma_b,
    lemma_c,
    ns_cubic,
    ns_quintic,
    i1_step,
    i1,
    i2_descent,
    i2_step,
    i2_sum,
    i3_error,
    i3,
    i4,
    i4_opt,
)
