"""The named constants every bound is written in: one sympy Symbol each, with its domain.

A symbol's sympy assumptions are its domain (``positive``: > 0, ``nonnegative``: >= 0);
the extra validity conditions that sympy assumptions cannot express (δ < 1, α <= 1,
c·η₀ > 1/3, ...) live in each theorem's ``conditions``.  Every symbol also carries a
one-line meaning and a sampling range, used to draw random valid points in the tests
(``Theorem.sample_constants``).

Conventions: β is the weight on the *old* momentum (Muon's 0.95),
α = 1 − β the weight on the fresh gradient; δ is the additive oracle error in the primal
norm of the ball; σ is a noise *standard deviation* (σ² = E‖g − ∇f‖_F²).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class SymbolInfo:
    """Meaning and sampling range (low, high, log-uniform?) of one symbol."""

    doc: str
    low: float
    high: float
    log: bool = True
    integer: bool = False


INFO: dict[str, SymbolInfo] = {}


def _sym(
    name: str,
    doc: str,
    low: float,
    high: float,
    *,
    log: bool = True,
    integer: bool = False,
    nonnegative: bool = False,
) -> sp.Symbol:
    if nonnegative:
        symbol = sp.Symbol(name, nonnegative=True, real=True, finite=True)
    else:
        symbol = sp.Symbol(name, positive=True, real=True, finite=True)
    INFO[name] = SymbolInfo(doc, low, high, log, integer)
    return symbol


def domain(symbol: sp.Symbol) -> str:
    """'> 0' or '>= 0': the domain a symbol's sympy assumptions encode."""
    return "> 0" if symbol.is_positive else ">= 0"


# --- problem constants ------------------------------------------------------------------------------
L = _sym(
    "L", "smoothness: ||∇f(X) - ∇f(Y)||_* <= L ||X - Y|| in the theorem's (primal, dual) norm pair", 0.1, 10
)
L_ms = _sym("L_ms", "mean-squared smoothness: E||∇f(X;ξ) - ∇f(Y;ξ)||_F^2 <= L_ms^2 ||X - Y||_F^2", 0.1, 10)
L_op = _sym("L_op", "spectral-norm smoothness: F(W+Δ) <= F(W) + <G,Δ> + (L_op/2)||Δ||_op^2", 0.1, 10)
L0 = _sym("L0", "(L0,L1)-smoothness, constant part", 0.1, 10, nonnegative=True)
L1 = _sym("L1", "(L0,L1)-smoothness, gradient-proportional part", 0.1, 10, nonnegative=True)
mu = _sym("mu", "PL constant: ||∇f||_F^2 >= 2 mu (f - f*)", 0.01, 1)
sigma = _sym("sigma", "noise standard deviation: E||g - ∇f||_F^2 <= sigma^2", 0.01, 10, nonnegative=True)
rho = _sym("rho", "norm equivalence ||G||_* <= rho ||G||_F (nuclear norm: rho = sqrt(min(m, n)))", 1, 10)
r = _sym("r", "rank bound r = min(m, n)", 1, 16, integer=True)
Delta0 = _sym("Delta0", "initial suboptimality f(X^0) - inf f", 0.01, 100, nonnegative=True)
G = _sym("G", "uniform gradient bound ||∇f(X_t)||_F <= G along the iterates", 0.1, 100)
Phi1 = _sym("Phi1", "initial gap E f(X_1) - f*", 0.01, 100, nonnegative=True)

# --- oracle --------------------------------------------------------------------------------------
delta = _sym(
    "delta",
    "additive LMO error ||D(G) - lmo(G)|| <= delta (primal norm), delta in [0, 1)",
    0,
    0.95,
    log=False,
    nonnegative=True,
)
omega = _sym("omega", "oracle overshoot max_t ||O_t||_op (1 for exact polar)", 1, 1.5, log=False)

# --- algorithm hyperparameters ---------------------------------------------------------------------
t = _sym("t", "constant step size (S1: X <- X + t D)", 1e-4, 1)
alpha = _sym("alpha", "weight on the fresh gradient, alpha = 1 - beta, in (0, 1]", 1e-3, 1)
eta = _sym("eta", "step size (learning rate, unscaled)", 1e-4, 1)
eta0 = _sym("eta0", "base step of a horizon-free schedule", 1e-3, 1)
c_a = _sym("c_a", "momentum schedule constant: 1 - beta_t = min(1, c_a t^(-p))", 0.7, 5)
lam = _sym("lam", "decoupled weight decay lambda", 0.01, 1)
s = _sym("s", "learning-rate shape scale / Lion-K scale (K(M) = s ||M||_*)", 0.2, 5)
beta = _sym("beta", "weight on the old momentum, in [0, 1)", 0, 0.99, log=False, nonnegative=True)

# --- horizons and counters -------------------------------------------------------------------------
K = _sym("K", "number of iterations (S1 horizon)", 10, 1e6, integer=True)
T = _sym("T", "number of iterations (S2/S3 horizon)", 10, 1e6, integer=True)
k = _sym("k", "iteration counter", 0, 1000, log=False, integer=True, nonnegative=True)

# --- per-layer (block) constants of the layer-wise theorems -----------------------------------------
t_i = _sym("t_i", "step size of layer i", 1e-4, 1)
a_i = _sym(
    "a_i",
    "gradient dual norm of layer i at the current iterate, ||∇_i f(X^k)||_(i)*",
    0.01,
    10,
    nonnegative=True,
)
L0_i = _sym("L0_i", "(L0,L1)-smoothness of layer i, constant part", 0.1, 10, nonnegative=True)
L1_i = _sym("L1_i", "(L0,L1)-smoothness of layer i, gradient-proportional part", 0.1, 10, nonnegative=True)
rho_i = _sym("rho_i", "norm equivalence of layer i, ||·||_(i)* <= rho_i ||·||_F", 1, 10)
sigma_i = _sym("sigma_i", "noise standard deviation of layer i", 0.01, 10, nonnegative=True)
delta_i = _sym("delta_i", "additive LMO error of layer i, in [0, 1)", 0, 0.95, log=False, nonnegative=True)
S_L = _sym("S", "layer noise sum S = sum_i rho_i sigma_i / L1_i", 0.01, 100)

# --- quantities measured at one step (inputs of the one-step inequalities) -------------------------
g_dual = _sym(
    "g_dual", "||∇f(X)||_* (dual norm of the gradient at the current iterate)", 0.01, 10, nonnegative=True
)
gh_dual = _sym(
    "gh_dual",
    "||G - H||_* (dual-norm distance between the true and the oracle's input)",
    0.0,
    10,
    log=False,
    nonnegative=True,
)
eps_dual = _sym(
    "eps_dual",
    "||M_t - ∇f(X_t)||_* (estimator error in the nuclear norm)",
    0.0,
    10,
    log=False,
    nonnegative=True,
)
e_prev = _sym("e_prev", "e_{t-1} = E||M_{t-1} - ∇f(X_{t-1})||_F^2", 0.0, 10, log=False, nonnegative=True)
u_prev = _sym(
    "u_prev",
    "E||eps_{t-1} - gamma_t xi_{t-1}||_F^2 (MVR1 recursion state)",
    0.0,
    10,
    log=False,
    nonnegative=True,
)
beta_t = _sym("beta_t", "beta_t of the schedule at step t, in [0, 1)", 0, 0.99, log=False, nonnegative=True)
gamma_t = _sym("gamma_t", "MVR1 correction weight gamma_t at step t", 0, 1, log=False, nonnegative=True)
gamma_next = _sym(
    "gamma_next", "MVR1 correction weight gamma_{t+1} of the next step", 0, 1, log=False, nonnegative=True
)
eta_prev = _sym("eta_prev", "eta_{t-1}, the previous step size", 1e-4, 1)
W_sum = _sym("W", "sum_{t<=T} eta_t sqrt(e_t)", 1e-3, 100)
Q_sum = _sym("Q", "sum_{t<=T} eta_t^2", 1e-4, 10)
E_sum = _sym("E", "sum_{t<=T} eta_t", 1e-2, 100)
X0_op = _sym("X0_op", "||X_0||_op", 0.0, 100, log=False, nonnegative=True)
X_op = _sym("X_op", "||X||_op", 0.0, 100, log=False, nonnegative=True)
Phi_next = _sym(
    "Phi_next",
    "Phi(M_{t+1}, X_t) = s||B_{t+1}||_* + lam <B_{t+1}, X_t> (B: Muon buffer; = K(M) - lam<M, X>, M = -B)",
    0.0,
    10,
    log=False,
    nonnegative=True,
)
Phi_prev = _sym(
    "Phi_prev", "Phi(M_t, X_t) = s||B_t||_* + lam <B_t, X_t>", 0.0, 10, log=False, nonnegative=True
)
Q_step = _sym(
    "Q_step",
    "||s O_{t+1} - lam X_t||_F^2 (squared length of the update direction)",
    0.0,
    10,
    log=False,
    nonnegative=True,
)
stat = _sym(
    "S_t", "stationarity S(X_t) = s||∇F(X_t)||_* + lam <∇F(X_t), X_t>", 0.0, 10, log=False, nonnegative=True
)
D_fw = _sym(
    "D_fw", "||S_t - X_t||_F, distance to the Frank-Wolfe vertex", 0.0, 10, log=False, nonnegative=True
)
F_gap0 = _sym("F_gap0", "F(X_0) - F_inf over the ball", 0.01, 100, nonnegative=True)
err = _sym(
    "e",
    "orthogonalisation error 1 - x of a normalised singular value x in [0, 1]",
    0,
    1,
    log=False,
    nonnegative=True,
)

# --- S4: spectra and curvature ----------------------------------------------------------------------
g_nuc = _sym("g_nuc", "||G||_* (nuclear norm of the gradient)", 0.01, 10)
g_fro2 = _sym("g_fro2", "||G||_F^2", 0.01, 10)
sigma_bar = _sym("sigma_bar", "average singular value ||G||_* / rank(G)", 0.01, 10)
srank = _sym("srank", "stable rank ||G||_F^2 / ||G||_op^2", 1, 16)
q_O = _sym("q_O", "<O, H[O]> for O = polar(G) (curvature along the Muon step)", 0.01, 100)
q_G = _sym("q_G", "<G, H[G]> (curvature along the gradient step)", 0.01, 100)
lam_max = _sym("lam_max", "largest eigenvalue of the curvature operator H", 0.01, 100)
m_lo = _sym("m_lo", "smallest mode curvature mu_min nu_min of the preconditioned Kronecker operator", 0.01, 1)
m_hi = _sym("m_hi", "largest mode curvature mu_max nu_max (>= m_lo)", 1, 100)


# --- typesetting ------------------------------------------------------------------------------------
LATEX: dict[str, str] = {
    "L_ms": r"L_{\mathrm{ms}}",
    "L_op": r"L_{\mathrm{op}}",
    "c_a": r"c_{\alpha}",
    "lam": r"\lambda",
    "D_star": r"D^{*}",
    "L0_i": r"L_{0,i}",
    "L1_i": r"L_{1,i}",
    "g_dual": r"\|\nabla f(X)\|_*",
    "gh_dual": r"\|G - H\|_*",
    "eps_dual": r"\|\varepsilon_t\|_*",
    "e_prev": r"e_{t-1}",
    "u_prev": r"u_{t-1}",
    "gamma_next": r"\gamma_{t+1}",
    "eta_prev": r"\eta_{t-1}",
    "X0_op": r"\|X_0\|_{\mathrm{op}}",
    "X_op": r"\|X\|_{\mathrm{op}}",
    "Phi_next": r"\Phi_{t+1}",
    "Phi_prev": r"\Phi_t",
    "Q_step": r"Q_t",
    "D_fw": r"D_{\mathrm{FW}}",
    "F_gap0": r"\Delta_F",
    "g_nuc": r"\|G\|_*",
    "g_fro2": r"\|G\|_F^2",
    "sigma_bar": r"\bar{\sigma}",
    "srank": r"r_{\mathrm{st}}",
    "lam_max": r"\lambda_{\max}",
    "m_lo": r"m_{\mathrm{lo}}",
    "m_hi": r"m_{\mathrm{hi}}",
}
"""LaTeX names of the symbols whose code names are not the papers' (``lam`` is λ, ``X0_op`` is
‖X_0‖_op); the other names (``delta``, ``eta_t``, ``L``) already print right with ``sympy.latex``."""


def latex(expr, **settings) -> str:
    """``sympy.latex`` of ``expr`` with the symbols named as in the papers (:data:`LATEX`)."""
    names = {s: LATEX[s.name] for s in getattr(expr, "free_symbols", ()) if s.name in LATEX}
    return sp.latex(expr, symbol_names=names, **settings)
