"""Least-squares problems f(X) = ½‖A X B − C‖_F² (finite sums over the rows of A).

They are Kronecker quadratics (:mod:`problems.quadratic`) with P = AᵀA, Q = BBᵀ:
∇f(X) = Aᵀ(AXB − C)Bᵀ = P(X − X*)Q for every minimiser X*, so every constant of that module holds,
with μ = λ_min⁺(AᵀA)λ_min⁺(BBᵀ) the PL constant (strong convexity only when both are invertible).
X* is the minimum-norm minimiser A⁺CB⁺ and f* = ½‖AX*B − C‖_F².

Finite-sum view (for the "minibatch" noise model): f = Σ_{i=1}^N f_i with
f_i(X) = ½‖a_iᵀXB − c_iᵀ‖² (a_i, c_i the i-th rows), N = rows of A, per-sample gradient
h_i = a_i (B r_i)ᵀ with r_iᵀ = a_iᵀXB − c_iᵀ.
"""

from __future__ import annotations

import math

import numpy as np

from problems._util import (
    SPECTRUM_KINDS,
    check_choice,
    check_float,
    check_int,
    host_rng,
    matrix_with_singular_values,
)
from problems._util import (
    spectrum as spectrum_values,
)
from problems.base import recorded_params
from problems.quadratic import KroneckerQuadraticBase, _check_L_mu, project_spectral_ball


class LeastSquaresBase(KroneckerQuadraticBase):
    """½‖A X B − C‖_F² with host data A (N×m), B (n×q or None = identity), C; exact constants."""

    def _setup_least_squares(self, A, B, C, *, init_distance, realisable=False, extra=None):
        """``realisable``: C lies in {AYB} by construction, so f* = 0 exactly (not a rounded residual)."""
        self.A_host, self.B_host, self.C_host = A, B, C
        pinvA = np.linalg.pinv(A)
        X_star = pinvA @ C if B is None else pinvA @ C @ np.linalg.pinv(B)
        R = A @ X_star - C if B is None else A @ X_star @ B - C
        f_star = 0.0 if realisable else 0.5 * float(np.sum(R * R))
        n = X_star.shape[1]
        Q = np.eye(n) if B is None else B @ B.T
        self.A, self.C = self._put(A), self._put(C)
        self.B = None if B is None else self._put(B)
        self._setup_kronecker(A.T @ A, Q, X_star, f_star, init_distance=init_distance, extra=extra)

    def _residual(self, X):
        AX = self.A @ X[0]
        return (AX if self.B is None else AX @ self.B) - self.C

    def _f(self, X):
        R = self._residual(X)
        return 0.5 * self.xp.sum(R * R, axis=(-2, -1))

    def _right(self, M):
        return M if self.B is None else M @ self.xp.matrix_transpose(self.B)

    def _grad(self, X):
        return (self.xp.matrix_transpose(self.A) @ self._right(self._residual(X)),)

    # -- finite-sum hooks (used by problems.noise.MinibatchNoise) --------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.A_host.shape[0])

    def finite_sum_grad(self, X, weights):
        """Σ_i weights_i ∇f_i(X) for weights of shape (*batch, N) (weights = 1 gives ∇f)."""
        X = self.check_params(X)
        R = self._residual(X) * weights[..., :, None]
        return (self.xp.matrix_transpose(self.A) @ self._right(R),)

    def sample_grad_sqnorms(self, X):
        """Per block, ‖h_i(X)‖_F² for every sample i: an array (*batch, N); h_i = ∇f_i, Σ_i h_i = ∇f."""
        X = self.check_params(X)
        RB = self._right(self._residual(X))
        a2 = self.xp.sum(self.A * self.A, axis=-1)
        return (a2 * self.xp.sum(RB * RB, axis=-1),)

    def finite_sum_constants(self, batch_size: int, radius: float):
        """Exact minibatch constants (uniform sampling of ``batch_size`` rows with replacement).

        With G_i = N h_i (so E_i G_i = ∇f), Var_b(X) = (N Σ_i ‖h_i(X)‖² − ‖∇f(X)‖²)/b.
        Since h_i(X) = h_i(X*) + a_i a_iᵀ D Q (D = X − X*, Q = BBᵀ), Minkowski's inequality gives on
        ‖D‖_F ≤ radius

            √(b Var_b(X)) ≤ √(N Σ_i ‖h_i(X*)‖²) + √λ_max(M) λ_max(Q) radius,
            M = E_i (N a_ia_iᵀ − P)² = N Σ_i ‖a_i‖² a_ia_iᵀ − P²,

        an equality when f* = 0 (interpolation), attained at D = radius·u vᵀ (u, v top eigenvectors
        of M and Q).  Mean-squared smoothness (exact, attained at the same D):

            E‖g(X) − g(Y)‖_F² = ‖PDQ‖² + (1/b) E‖(N a aᵀ − P) D Q‖² ≤ λ_max(P² + M/b) λ_max(Q)² ‖D‖_F².
        """
        A, N = self.A_host, self.n_samples
        P = A.T @ A
        a2 = np.sum(A * A, axis=1)
        M = N * (A.T * a2) @ A - P @ P
        lam_M = max(float(np.linalg.eigvalsh(M)[-1]), 0.0)
        q_max = float(self.Q_eigs[0])
        D_star = (
            A @ self.X_star_host - self.C_host
            if self.B_host is None
            else (A @ self.X_star_host @ self.B_host - self.C_host)
        )
        RB = D_star if self.B_host is None else D_star @ self.B_host.T
        var1_star = N * float(np.sum(a2 * np.sum(RB * RB, axis=1)))
        sigma2 = (math.sqrt(var1_star) + math.sqrt(lam_M) * q_max * radius) ** 2 / batch_size
        L_ms = math.sqrt(max(float(np.linalg.eigvalsh(P @ P + M / batch_size)[-1]), 0.0)) * q_max
        return {
            "sigma2": sigma2,
            "L_ms": L_ms,
            "sigma2_star": var1_star / batch_size,
            "sigma2_radius": radius,
            "sigma2_exact_sup": var1_star == 0.0,
        }


def _ls_spectra(k: int, L: float, mu: float, kind: str):
    return np.sqrt(spectrum_values(k, L, L / mu, kind))


class Quadratic(LeastSquaresBase):
    """quadratic: f(X) = ½‖A X B − C‖_F², X ∈ R^{m×n}, A (p×m), B (n×q) with prescribed spectra.

    Parameters
    ----------
    m, n : block shape.  p, q : rows of A (default m) and columns of B (default n).
    L : λ_max(AᵀA)λ_max(BBᵀ) (default 1).  mu : λ_min⁺(AᵀA)λ_min⁺(BBᵀ) (default L/100).
    split : share of log(L/μ) in A (default 1).  spectrum : "geometric" / "linear".
    residual : ‖C − A X_true B‖_F, a perturbation orthogonal to {AYB} (so f* = residual²/2 and
        X* = A⁺AX_trueBB⁺).  x_scale : ‖X_true‖_F.  init_distance : ‖X⁰ − X*‖_F.
    seed : instance seed.

    Constants exact (module docstring of :mod:`problems.quadratic`); μ is the PL constant and equals
    strong convexity when p ≥ m and q ≥ n.
    """

    name = "quadratic"

    def __init__(
        self,
        m=8,
        n=6,
        p=None,
        q=None,
        L=None,
        mu=None,
        split=1.0,
        spectrum="geometric",
        residual=0.0,
        x_scale=1.0,
        init_distance=1.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        m, n = check_int("m", m), check_int("n", n)
        p = m if p is None else check_int("p", p)
        q = n if q is None else check_int("q", q)
        L, mu = _check_L_mu(L, mu, 100.0)
        split = check_float("split", split, low=0.0, inclusive=True, high=1.0)
        check_choice("spectrum", spectrum, SPECTRUM_KINDS)
        residual = check_float("residual", residual, low=0.0, inclusive=True)
        x_scale = check_float("x_scale", x_scale, low=0.0, inclusive=True)
        init_distance = check_float("init_distance", init_distance, low=0.0)
        self._init_backend(backend, xp, dtype)
        kappa = L / mu
        kA, kB = min(p, m), min(n, q)
        sA = np.sqrt(spectrum_values(kA, L, kappa**split, spectrum))
        sB = np.sqrt(spectrum_values(kB, 1.0, kappa ** (1.0 - split), spectrum))
        gen = host_rng(seed, self.name)
        A = matrix_with_singular_values(gen, p, m, sA)
        B = matrix_with_singular_values(gen, n, q, sB)
        Z = gen.standard_normal((m, n))
        X_true = x_scale * Z / np.linalg.norm(Z)
        R = gen.standard_normal((p, q))
        R = R - (A @ np.linalg.pinv(A)) @ R @ (np.linalg.pinv(B) @ B)  # orthogonal to {A Y B}
        nR = np.linalg.norm(R)
        C = A @ X_true @ B + (residual * R / nR if nR > 0 else 0.0)
        self.params = recorded_params(Quadratic, locals())
        self._setup_least_squares(A, B, C, init_distance=init_distance, realisable=residual == 0.0)


class OverparamLeastSquares(LeastSquaresBase):
    """overparam_least_squares: f(X) = ½‖A X − B‖_F², A (p×m) wide (p < m) of full row rank.

    PL but not strongly convex: ∇f = Aᵀ(AX − B), so ‖∇f‖_F² ≥ λ_min(AAᵀ)‖AX − B‖_F² = 2μ f with
    μ = λ_min(AAᵀ) > 0 exactly (equality when the residual is a bottom eigenvector of AAᵀ), while
    AᵀA has the m − p zero eigenvalues of the null space.  B = A X_true, so f* = 0; X* = A⁺B is the
    minimum-norm minimiser.  L_frobenius = λ_max(AAᵀ) = L, L_spectral = Σ_{i<min(p, n)} λ_i(AAᵀ).

    Parameters: p (rows, < m), m, n, L (= λ_max(AAᵀ)), mu (= λ_min(AAᵀ), default L/10), spectrum,
    x_scale = ‖X_true‖_F, init_distance, seed.
    """

    name = "overparam_least_squares"

    def __init__(
        self,
        p=4,
        m=10,
        n=6,
        L=None,
        mu=None,
        spectrum="geometric",
        x_scale=1.0,
        init_distance=1.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        p, m, n = check_int("p", p), check_int("m", m), check_int("n", n)
        if p >= m:
            raise ValueError(
                f"p must be < m (A must be wide, p×m, to be over-parameterised), got p={p}, m={m}"
            )
        L, mu = _check_L_mu(L, mu, 10.0)
        check_choice("spectrum", spectrum, SPECTRUM_KINDS)
        x_scale = check_float("x_scale", x_scale, low=0.0, inclusive=True)
        init_distance = check_float("init_distance", init_distance, low=0.0)
        self._init_backend(backend, xp, dtype)
        gen = host_rng(seed, self.name)
        A = matrix_with_singular_values(gen, p, m, _ls_spectra(p, L, mu, spectrum))
        Z = gen.standard_normal((m, n))
        B = A @ (x_scale * Z / np.linalg.norm(Z))
        self.params = recorded_params(OverparamLeastSquares, locals())
        self._setup_least_squares(
            A, None, B, init_distance=init_distance, realisable=True, extra={"strongly_convex": False}
        )


class ConstrainedLeastSquares(LeastSquaresBase):
    """constrained_least_squares: f(X) = ½‖A X − B‖_F² with ‖X*‖_op > radius (S3).

    Muon with decoupled weight decay λ and shape scale s solves min f s.t. ‖X‖_op ≤ s/λ.  Here
    A (p×m, p ≥ m) has full column rank, so f is μ-strongly convex and X* = A⁻¹-solution is unique;
    B = A X_true + (a residual orthogonal to range(A)), so X* = X_true whose singular values run
    (geometrically) from excess·radius down to radius/4: ‖X*‖_op = excess·radius > radius.

    ``constrained_optimum(radius)`` solves min f s.t. ‖X‖_op ≤ radius independently of any Muon
    run: accelerated projected gradient (FISTA with adaptive restart, step 1/L, projection = clip
    the singular values at the radius), run until the iterates move less than ``tol``; the
    Frank–Wolfe gap ⟨∇f(X), X⟩ + radius‖∇f(X)‖_nuc (zero exactly at the constrained optimum) is
    returned as a certificate.

    Parameters: m, n, p (default 2m), L, mu (default L/10), radius (default 1), excess (> 1,
    default 2), residual (‖B − AX*‖_F), spectrum, init_fraction (x0 has ‖X⁰‖_op = init_fraction·radius,
    inside the ball), seed.
    """

    name = "constrained_least_squares"

    def __init__(
        self,
        m=6,
        n=5,
        p=None,
        L=None,
        mu=None,
        radius=1.0,
        excess=2.0,
        residual=0.1,
        spectrum="geometric",
        init_fraction=0.5,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        m, n = check_int("m", m), check_int("n", n)
        p = 2 * m if p is None else check_int("p", p)
        if p < m:
            raise ValueError(f"p must be >= m (A tall with full column rank), got p={p}, m={m}")
        L, mu = _check_L_mu(L, mu, 10.0)
        radius = check_float("radius", radius, low=0.0)
        excess = check_float("excess", excess, low=1.0)
        residual = check_float("residual", residual, low=0.0, inclusive=True)
        check_choice("spectrum", spectrum, SPECTRUM_KINDS)
        init_fraction = check_float("init_fraction", init_fraction, low=0.0, inclusive=True, high=1.0)
        self._init_backend(backend, xp, dtype)
        gen = host_rng(seed, self.name)
        A = matrix_with_singular_values(gen, p, m, _ls_spectra(m, L, mu, spectrum))
        k = min(m, n)
        X_true = matrix_with_singular_values(
            gen, m, n, spectrum_values(k, excess * radius, 4.0 * excess, "geometric")
        )
        R = gen.standard_normal((p, n))
        R = R - A @ np.linalg.pinv(A) @ R
        nR = np.linalg.norm(R)
        B = A @ X_true + (residual * R / nR if nR > 0 else 0.0)
        self.radius, self.init_fraction = radius, init_fraction
        self.params = recorded_params(ConstrainedLeastSquares, locals())
        self._setup_least_squares(
            A,
            None,
            B,
            init_distance=1.0,
            realisable=residual == 0.0,
            extra={"radius": radius, "X_star_op_norm": excess * radius},
        )
        self._constrained_cache: dict = {}

    @property
    def noise_radius(self) -> float:
        """‖X*‖_F + √min(m, n)·radius: the ball about X* that contains the whole feasible set."""
        return float(np.linalg.norm(self.X_star_host)) + math.sqrt(min(self.block_shapes[0])) * self.radius

    def x0(self, rng):
        """A Gaussian start rescaled to ‖X⁰‖_op = init_fraction · radius (inside the ball)."""
        xp = self.xp
        z = xp.astype(rng.fold("x0", 0).normal(self.block_shapes[0]), self.dtype)
        op = xp.linalg.matrix_norm(z, ord=2)
        return ((self.init_fraction * self.radius) * z / op[..., None, None],)

    def constrained_optimum(self, radius=None, tol=1e-13, max_iter=200_000):
        """(X_c, f_c, fw_gap): min ½‖AX − B‖² s.t. ‖X‖_op ≤ radius, by FISTA with restart on the host.

        X_c is returned in the problem's namespace; f_c and the Frank–Wolfe gap are floats.
        """
        radius = self.radius if radius is None else check_float("radius", radius, low=0.0)
        if radius not in self._constrained_cache:
            self._constrained_cache[radius] = _projected_gradient(
                self.A_host, self.C_host, radius, float(self.P_eigs[0]), tol, max_iter
            )
        X, f, gap = self._constrained_cache[radius]
        return self._put(X), f, gap


def _projected_gradient(A, B, radius, L, tol, max_iter):
    """FISTA with gradient-based adaptive restart for min ½‖AX − B‖² over the spectral ball."""
    P, AtB = A.T @ A, A.T @ B
    X = project_spectral_ball(np.zeros((A.shape[1], B.shape[1])), radius)
    Y, t = X.copy(), 1.0
    scale = max(1.0, float(np.linalg.norm(np.linalg.lstsq(A, B, rcond=None)[0])))
    for _ in range(max_iter):
        X_new = project_spectral_ball(Y - (P @ Y - AtB) / L, radius)
        if np.sum((Y - X_new) * (X_new - X)) > 0:  # restart when momentum points uphill
            t = 1.0
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        Y = X_new + ((t - 1.0) / t_new) * (X_new - X)
        step = float(np.linalg.norm(X_new - X))
        X, t = X_new, t_new
        if step <= tol * scale:
            break
    G = P @ X - AtB
    f = 0.5 * float(np.sum((A @ X - B) ** 2))
    gap = float(np.sum(G * X) + radius * np.sum(np.linalg.svd(G, compute_uv=False)))
    return X, f, gap
