"""Non-quadratic smooth and (L0,L1)-smooth single-block problems with closed-form constants.

Shared lemma (spectral geometry from a Loewner bound).  If f is convex and twice differentiable
with ∇²f(X) ⪯ 𝓚 for every X, where 𝓚[Δ] = PΔQ (P, Q PSD), then for all X, Y

    ‖∇f(X) − ∇f(Y)‖_nuc ≤ L_K ‖X − Y‖_op,   f(X+Δ) ≤ f(X) + ⟨∇f(X), Δ⟩ + (L_K/2)‖Δ‖_op²,
    L_K = Σ_{i<min(m,n)} λ_i(P)λ_i(Q).

Proof: ∇f(X) − ∇f(Y) = 𝓗̄[Δ], Δ = X − Y, with 𝓗̄ = ∫₀¹ ∇²f(Y + τΔ) dτ, PSD and ⪯ 𝓚.  Cauchy–Schwarz
in the 𝓗̄ inner product and sup_{‖Z‖_op ≤ 1} ⟨Z, 𝓚Z⟩ = L_K
(:func:`problems._util.kronecker_spectral_constant`) give, for every W,
⟨W, 𝓗̄Δ⟩ ≤ √(⟨W, 𝓗̄W⟩⟨Δ, 𝓗̄Δ⟩) ≤ L_K ‖W‖_op ‖Δ‖_op; the sup over ‖W‖_op ≤ 1 is the nuclear norm.
The quadratic upper model follows from f(X+Δ) − f(X) − ⟨∇f, Δ⟩ ≤ ½ sup_τ ⟨Δ, ∇²f Δ⟩ ≤ (L_K/2)‖Δ‖_op².
In Frobenius geometry the same domination gives L_frobenius = λ_max(P)λ_max(Q).
"""

from __future__ import annotations

import math

import numpy as np

from problems._util import (
    check_choice,
    check_float,
    check_int,
    host_rng,
    kronecker_spectral_constant,
    matrix_with_singular_values,
)
from problems.base import BlockConstants, Constants, ProblemBase, recorded_params

GEOMETRIES = ("frobenius", "spectral")


def quartic_l0(c: float, d: float, L1: float, radius: float) -> float:
    """L0 = max_{s ≥ 0} [3c(s + R)² + d − L1(c s³ + d s)] in closed form (see :class:`Quartic`)."""

    def h(s):
        return 3.0 * c * (s + radius) ** 2 + d - L1 * (c * s**3 + d * s)

    if c > 0 and L1 <= 0:
        raise ValueError(f"L1 must be > 0 when c > 0 (no global L0 exists otherwise), got L1={L1}")
    best = h(0.0)
    if c > 0:
        # h'(s) = 6c(s + R) − L1(3cs² + d) = 0  ⇔  3L1c s² − 6c s − (6cR − L1 d) = 0
        disc = 36.0 * c * c + 12.0 * L1 * c * (6.0 * c * radius - L1 * d)
        if disc >= 0:
            s_plus = (6.0 * c + math.sqrt(disc)) / (6.0 * L1 * c)
            if s_plus > 0:
                best = max(best, h(s_plus))
    return best


class Quartic(ProblemBase):
    """quartic: f(X) = (c/4)‖X − C‖_F⁴ + (d/2)‖X − C‖_F², (L0,L1)-smooth (Frobenius geometry).

    Derivation.  With D = X − C, s = ‖D‖_F, φ(s) = cs² + d:
    ∇f(X) = φ(s) D, so ‖∇f(X)‖_F = cs³ + ds, and ∇²f(X)[H] = φ(s)H + 2c⟨D, H⟩D with operator norm
    3cs² + d.  For ‖X − Y‖_F = r ≤ R every point of the segment is within s + R of C, hence

        ‖∇f(X) − ∇f(Y)‖_F ≤ (3c(s + R)² + d) ‖X − Y‖_F ≤ (L0 + L1 ‖∇f(X)‖_F) ‖X − Y‖_F

    as soon as L0 ≥ h(s) := 3c(s + R)² + d − L1(cs³ + ds) for all s ≥ 0.  For L1 > 0, h is a cubic
    with negative leading term; h'(s) = 0 ⇔ 3L1c s² − 6cs − (6cR − L1d) = 0, so
    L0 = max(h(0), h(s₊)), s₊ = (6c + √(36c² + 12L1c(6cR − L1d)))/(6L1c) (when real and > 0).
    No global (L0,L1) two-point bound exists (∇f grows cubically), so the pair is stated on the
    radius R (default 1/L1, which covers every Gluon step t ≤ 1/L1).

    PL: ‖∇f‖² /(f − f*) = 4(cs² + d)²/(cs² + 2d) is increasing in s with value 2d at s = 0, so
    μ = d exactly (no PL when d = 0).  f* = 0, X* = C.  Not globally L-smooth: L_* = None.

    ``geometry="spectral"`` restates the pair for ‖·‖_op / ‖·‖_nuc through ‖·‖_nuc ≤ √r‖·‖_F and
    ‖·‖_F ≤ √r‖·‖_op (r = min(m, n)): L0 → r·L0, L1 → r·L1 on ‖X − Y‖_op ≤ R/√r (valid, not tight).

    Parameters: m, n, c (≥ 0), d (≥ 0, c + d > 0), L1 (> 0 when c > 0; default 1), radius (default
    1/L1), geometry, c_scale (‖C‖_F), init_distance (‖X⁰ − C‖_F), seed.
    """

    name = "quartic"

    def __init__(
        self,
        m=6,
        n=4,
        c=1.0,
        d=1.0,
        L1=1.0,
        radius=None,
        geometry="frobenius",
        c_scale=1.0,
        init_distance=2.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        m, n = check_int("m", m), check_int("n", n)
        c = check_float("c", c, low=0.0, inclusive=True)
        d = check_float("d", d, low=0.0, inclusive=True)
        if c + d <= 0:
            raise ValueError(f"c + d must be > 0 (c, d >= 0), got c={c}, d={d}")
        L1 = check_float("L1", L1, low=0.0, inclusive=c == 0)  # L1 > 0 needed once the quartic term is on
        radius = check_float("radius", (1.0 / L1 if L1 > 0 else 1.0) if radius is None else radius, low=0.0)
        check_choice("geometry", geometry, GEOMETRIES)
        c_scale = check_float("c_scale", c_scale, low=0.0, inclusive=True)
        init_distance = check_float("init_distance", init_distance, low=0.0)
        self._init_backend(backend, xp, dtype)
        Z = host_rng(seed, self.name).standard_normal((m, n))
        self.C_host = c_scale * Z / np.linalg.norm(Z)
        self.C = self._put(self.C_host)
        self.c, self.d, self.init_distance = c, d, init_distance
        self.block_shapes = ((m, n),)
        L1_eff = L1 if c > 0 else 0.0
        L0 = quartic_l0(c, d, L1_eff, radius)
        r = min(m, n)
        if geometry == "frobenius":
            block = BlockConstants(
                (m, n), "frobenius", L=None, L0=L0, L1=L1_eff, radius=radius, rho=1.0, sigma2=0.0
            )
        else:
            block = BlockConstants(
                (m, n),
                "spectral",
                L=None,
                L0=r * L0,
                L1=r * L1_eff,
                radius=radius / math.sqrt(r),
                rho=math.sqrt(r),
                sigma2=0.0,
            )
        self.params = recorded_params(Quartic, locals())
        self.constants = Constants(
            blocks=(block,),
            mu=d if d > 0 else None,
            sigma2=0.0,
            f_star=0.0,
            X_star=(self.C,),
            rho=block.rho,
            extra={"frobenius_L0": L0, "frobenius_L1": L1_eff, "frobenius_radius": radius},
        )

    def _f(self, X):
        D = X[0] - self.C
        s2 = self.xp.sum(D * D, axis=(-2, -1))
        return 0.25 * self.c * s2 * s2 + 0.5 * self.d * s2

    def _grad(self, X):
        D = X[0] - self.C
        s2 = self.xp.sum(D * D, axis=(-2, -1), keepdims=True)
        return ((self.c * s2 + self.d) * D,)

    def x0(self, rng):
        """C + init_distance · Z/‖Z‖_F."""
        xp = self.xp
        z = xp.astype(rng.fold("x0", 0).normal(self.block_shapes[0]), self.dtype)
        return (self.C + self.init_distance * z / xp.sqrt(xp.sum(z * z, axis=(-2, -1), keepdims=True)),)


def _logcosh(xp, x):
    """log cosh x = |x| + log1p(exp(−2|x|)) − log 2, stable for large |x|."""
    a = xp.abs(x)
    return a + xp.log1p(xp.exp(-2.0 * a)) - math.log(2.0)


class LogCosh(ProblemBase):
    """logcosh: f(X) = Σ_ij log cosh((X − C)_ij) ("entrywise") or Σ_ij log cosh((AX − B)_ij) ("linear").

    Constants.  ∇f = Aᵀ tanh(AX − B) (A = I entrywise) and ∇²f[Δ] = Aᵀ(sech²(AX − B) ⊙ AΔ) ⪯ AᵀA ⊗ I
    since 0 < sech² ≤ 1, with equality at the minimiser.  Hence (module lemma) exactly:
    L_frobenius = λ_max(AᵀA) (1 entrywise) and L_spectral = L_op = Σ_{i<min(m,n)} λ_i(AᵀA) (min(m, n)
    entrywise), both attained in the limit X → X*, Δ → 0.  As an (L0,L1) pair: (L, 0) globally —
    sech² = 1 − tanh² only shrinks where gradients grow, so no L1 > 0 lowers L0 uniformly.
    Gradients are bounded: ‖∇f‖_F ≤ √λ_max(AᵀA)·√(p n) (‖tanh‖_∞ ≤ 1), the G of the source P2.
    Not PL globally (f grows linearly): mu = None.  B = A X_true, so f* = 0 and X* = A⁺B.

    Finite sum ("linear" mode, rows of A): h_i = a_i tanh(r_i)ᵀ; minibatch variance ≤ N n ‖A‖_F²/b
    everywhere, L_ms² ≤ (1 − 1/b)L² + (N/b) Σ_i ‖a_i‖⁴.

    Parameters: m, n, mode, p (rows of A, default 2m), L (= λ_max(AᵀA), default 1), mu_A (smallest
    eigenvalue of AᵀA when p ≥ m, default L/10), x_scale (‖X*‖_F), init_distance, seed.
    """

    name = "logcosh"
    MODES = ("entrywise", "linear")

    def __init__(
        self,
        m=6,
        n=4,
        mode="entrywise",
        p=None,
        L=1.0,
        mu_A=None,
        x_scale=1.0,
        init_distance=3.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        m, n = check_int("m", m), check_int("n", n)
        check_choice("mode", mode, self.MODES)
        p = 2 * m if p is None else check_int("p", p)
        L = check_float("L", L, low=0.0)
        mu_A = check_float("mu_A", L / 10.0 if mu_A is None else mu_A, low=0.0)
        if mu_A > L:
            raise ValueError(f"mu_A must be <= L, got mu_A={mu_A}, L={L}")
        x_scale = check_float("x_scale", x_scale, low=0.0, inclusive=True)
        init_distance = check_float("init_distance", init_distance, low=0.0)
        self._init_backend(backend, xp, dtype)
        gen = host_rng(seed, self.name, mode)
        self.mode, self.init_distance = mode, init_distance
        self.block_shapes = ((m, n),)
        Z = gen.standard_normal((m, n))
        X_true = x_scale * Z / np.linalg.norm(Z)
        r = min(m, n)
        if mode == "entrywise":
            L_frob, L_spec, G = self._setup_entrywise(X_true)
        else:
            L_frob, L_spec, G = self._setup_linear(gen, X_true, p, L, mu_A)
        self.X_star = self._put(self.X_star_host)
        linear = mode == "linear"  # p, L and mu_A describe A, which only the linear mode has
        self.params = recorded_params(
            LogCosh, locals(), p=p if linear else None, L=L if linear else 1.0, mu_A=mu_A if linear else None
        )
        block = BlockConstants(
            (m, n), "spectral", L=L_spec, L0=L_spec, L1=0.0, radius=None, rho=math.sqrt(r), sigma2=0.0
        )
        self.constants = Constants(
            blocks=(block,),
            L_frobenius=L_frob,
            L_spectral=L_spec,
            L_op=L_spec,
            mu=None,
            sigma2=0.0,
            L_ms=L_frob,
            G=G,
            f_star=0.0,
            X_star=(self.X_star,),
            rho=math.sqrt(r),
            extra={"frobenius_L0": L_frob, "frobenius_L1": 0.0},
        )

    def _setup_entrywise(self, X_true):
        """C = X* = X_true (A = I): (L_frobenius, L_spectral, G) = (1, min(m, n), √(mn))."""
        m, n = self.block_shapes[0]
        self.A_host = None
        self.X_star_host = X_true
        return 1.0, float(min(m, n)), math.sqrt(m * n)

    def _setup_linear(self, gen, X_true, p, L, mu_A):
        """A (p×m) with λ(AᵀA) from L down to mu_A, B = A X_true, finite-sum hooks: (L_frob, L_spec, G)."""
        m, n = self.block_shapes[0]
        k = min(p, m)
        s = np.sqrt(L * (L / mu_A) ** (-np.arange(k) / max(k - 1, 1)))
        self.A_host = matrix_with_singular_values(gen, p, m, s)
        self.B_host = self.A_host @ X_true
        self.X_star_host = np.linalg.pinv(self.A_host) @ self.B_host
        P_eigs = np.sort(np.linalg.eigvalsh(self.A_host.T @ self.A_host))[::-1]
        L_frob = float(P_eigs[0])
        L_spec = kronecker_spectral_constant(P_eigs, np.ones(n), min(m, n))
        self.A, self.B = self._put(self.A_host), self._put(self.B_host)
        self.n_samples = p
        self.finite_sum_grad = self._fs_finite_sum_grad
        self.sample_grad_sqnorms = self._fs_sample_grad_sqnorms
        self.finite_sum_constants = self._fs_finite_sum_constants
        return L_frob, L_spec, math.sqrt(L_frob * p * n)

    @property
    def noise_radius(self) -> float:
        return self.init_distance

    def _residual(self, X):
        return X[0] - self.X_star if self.mode == "entrywise" else self.A @ X[0] - self.B

    def _f(self, X):
        return self.xp.sum(_logcosh(self.xp, self._residual(X)), axis=(-2, -1))

    def _grad(self, X):
        T = self.xp.tanh(self._residual(X))
        return (T if self.mode == "entrywise" else self.xp.matrix_transpose(self.A) @ T,)

    def x0(self, rng):
        """X* + init_distance · Z/‖Z‖_F."""
        xp = self.xp
        z = xp.astype(rng.fold("x0", 0).normal(self.block_shapes[0]), self.dtype)
        return (self.X_star + self.init_distance * z / xp.sqrt(xp.sum(z * z, axis=(-2, -1), keepdims=True)),)

    # -- finite-sum hooks ("linear" mode only; bound at construction so that hasattr() tells) ------------
    def _fs_finite_sum_grad(self, X, weights):
        X = self.check_params(X)
        T = self.xp.tanh(self._residual(X)) * weights[..., :, None]
        return (self.xp.matrix_transpose(self.A) @ T,)

    def _fs_sample_grad_sqnorms(self, X):
        X = self.check_params(X)
        T = self.xp.tanh(self._residual(X))
        return (self.xp.sum(self.A * self.A, axis=-1) * self.xp.sum(T * T, axis=-1),)

    def _fs_finite_sum_constants(self, batch_size: int, radius):
        A, N = self.A_host, self.A_host.shape[0]
        n = self.block_shapes[0][1]
        a2 = np.sum(A * A, axis=1)
        L = self.constants.L_frobenius
        return {
            "sigma2": N * n * float(np.sum(a2)) / batch_size,
            "L_ms": math.sqrt((1 - 1 / batch_size) * L**2 + N * float(np.sum(a2**2)) / batch_size),
            "sigma2_radius": None,
        }


class SoftmaxRegression(ProblemBase):
    """softmax_regression: f(W) = (1/N)Σ_i −log softmax(W x_i)_{y_i} + (l2/2)‖W‖_F², W ∈ R^{k×d}.

    Data: x_i ~ N(0, I_d) (the columns of a d×N matrix), labels y_i drawn from softmax(W_t x_i) of a
    random teacher W_t with ‖W_t x‖ ≈ teacher_scale, fixed at construction.

    Constants.  ∇f = (1/N)(P − Y)Xᵀ + l2 W (P the softmax columns, Y one-hot).  Per sample the
    Hessian is S_i ⊗ x_ix_iᵀ with S_i = diag(p_i) − p_ip_iᵀ ⪯ ½(I − 11ᵀ/k) (Böhning's bound), so
    ∇²f ⪯ ½(I − 11ᵀ/k) ⊗ Σ + l2·I, Σ = XXᵀ/N, and by the module lemma
    L_frobenius = ½λ_max(Σ) + l2, L_spectral = L_op = ½Σ_{i<min(k−1, d)} λ_i(Σ) + l2·min(k, d)
    (valid, not tight: S_i reaches ½ only at two-class ties).  With l2 > 0 f is l2-strongly convex:
    μ = l2 and f*, W* come from a damped Newton solve at construction (gradient norm ≤ 1e-12);
    with l2 = 0 they are None (the data may be separable).

    Finite sum (mean over samples, the regulariser inside every f_i): minibatch variance
    ≤ 2·mean_i‖x_i‖²/b everywhere (‖p − e_y‖² ≤ 2), L_ms² ≤ (1 − 1/b)L² + mean_i(½‖x_i‖² + l2)²/b.

    Parameters: k (classes ≥ 2), d (features), N (samples), l2 (≥ 0, default 1e-2), teacher_scale,
    init_scale (x0 = init_scale·Z/√d), seed.
    """

    name = "softmax_regression"

    def __init__(
        self,
        k=4,
        d=6,
        N=64,
        l2=1e-2,
        teacher_scale=3.0,
        init_scale=1.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        k, d, N = check_int("k", k, low=2), check_int("d", d), check_int("N", N)
        l2 = check_float("l2", l2, low=0.0, inclusive=True)
        teacher_scale = check_float("teacher_scale", teacher_scale, low=0.0, inclusive=True)
        init_scale = check_float("init_scale", init_scale, low=0.0, inclusive=True)
        self._init_backend(backend, xp, dtype)
        gen = host_rng(seed, self.name)
        Xd = gen.standard_normal((d, N))
        Wt = teacher_scale * gen.standard_normal((k, d)) / math.sqrt(d)
        logits = Wt @ Xd
        probs = np.exp(logits - logits.max(axis=0))
        probs /= probs.sum(axis=0)
        labels = np.minimum(np.sum(np.cumsum(probs, axis=0) < gen.random(N), axis=0), k - 1)
        Y = np.zeros((k, N))
        Y[labels, np.arange(N)] = 1.0
        self.Xd_host, self.Y_host, self.labels = Xd, Y, labels
        self.Xd, self.Y = self._put(Xd), self._put(Y)
        self.k, self.d, self.N, self.l2, self.init_scale = k, d, N, l2, init_scale
        self.block_shapes = ((k, d),)
        Sigma_eigs = np.sort(np.linalg.eigvalsh(Xd @ Xd.T / N))[::-1]
        r = min(k, d)
        L_frob = 0.5 * float(Sigma_eigs[0]) + l2
        L_spec = 0.5 * float(np.sum(Sigma_eigs[: min(k - 1, d)])) + l2 * r
        f_star = X_star = None
        if l2 > 0:
            W_star, f_star = _softmax_newton(Xd, Y, l2)
            X_star = (self._put(W_star),)
            self.W_star_host = W_star
        self.params = recorded_params(SoftmaxRegression, locals())
        block = BlockConstants(
            (k, d), "spectral", L=L_spec, L0=L_spec, L1=0.0, radius=None, rho=math.sqrt(r), sigma2=0.0
        )
        self.constants = Constants(
            blocks=(block,),
            L_frobenius=L_frob,
            L_spectral=L_spec,
            L_op=L_spec,
            mu=l2 if l2 > 0 else None,
            sigma2=0.0,
            L_ms=L_frob,
            f_star=f_star,
            X_star=X_star,
            rho=math.sqrt(r),
            extra={"frobenius_L0": L_frob, "frobenius_L1": 0.0},
        )

    def _probs_and_logp(self, W):
        xp = self.xp
        Z = W @ self.Xd
        Z = Z - xp.max(Z, axis=-2, keepdims=True)
        logsum = xp.log(xp.sum(xp.exp(Z), axis=-2, keepdims=True))
        logp = Z - logsum
        return xp.exp(logp), logp

    def _f(self, X):
        xp, W = self.xp, X[0]
        _, logp = self._probs_and_logp(W)
        ce = -xp.sum(self.Y * logp, axis=(-2, -1)) / self.N
        return ce + 0.5 * self.l2 * xp.sum(W * W, axis=(-2, -1))

    def _grad(self, X):
        return self.finite_sum_grad(X, None)

    def x0(self, rng):
        return (
            self.init_scale
            * self.xp.astype(rng.fold("x0", 0).normal(self.block_shapes[0]), self.dtype)
            / math.sqrt(self.d),
        )

    # -- finite-sum hooks ---------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return self.N

    def finite_sum_grad(self, X, weights):
        xp, W = self.xp, X[0]
        P, _ = self._probs_and_logp(W)
        E = P - self.Y
        if weights is not None:
            E = E * weights[..., None, :]
            reg = self.l2 * W * xp.mean(weights, axis=-1)[..., None, None]
        else:
            reg = self.l2 * W
        return (E @ self.xp.matrix_transpose(self.Xd) / self.N + reg,)

    def sample_grad_sqnorms(self, X):
        """‖h_i‖² with h_i = ((p_i − y_i)x_iᵀ + l2 W)/N, for every sample i."""
        xp, W = self.xp, self.check_params(X)[0]
        P, _ = self._probs_and_logp(W)
        E = P - self.Y
        x2 = xp.sum(self.Xd * self.Xd, axis=0)
        cross = xp.sum(E * (W @ self.Xd), axis=-2)
        w2 = xp.sum(W * W, axis=(-2, -1))[..., None]
        return ((xp.sum(E * E, axis=-2) * x2 + 2 * self.l2 * cross + self.l2**2 * w2) / self.N**2,)

    def finite_sum_constants(self, batch_size: int, radius):
        x2 = np.sum(self.Xd_host**2, axis=0)
        L = self.constants.L_frobenius
        ell2 = float(np.mean((0.5 * x2 + self.l2) ** 2))
        return {
            "sigma2": 2.0 * float(np.mean(x2)) / batch_size,
            "L_ms": math.sqrt((1 - 1 / batch_size) * L**2 + ell2 / batch_size),
            "sigma2_radius": None,
        }


def _softmax_newton(Xd, Y, l2, tol=1e-12, max_iter=200):
    """Damped Newton for the l2-regularised softmax regression (host, float64): (W*, f*)."""
    k, N = Y.shape
    d = Xd.shape[0]

    def value_grad(W):
        Z = W @ Xd
        Z = Z - Z.max(axis=0)
        logp = Z - np.log(np.exp(Z).sum(axis=0))
        P = np.exp(logp)
        f = -np.sum(Y * logp) / N + 0.5 * l2 * np.sum(W * W)
        return f, (P - Y) @ Xd.T / N + l2 * W, P

    W = np.zeros((k, d))
    f, g, P = value_grad(W)
    for _ in range(max_iter):
        if np.linalg.norm(g) <= tol:
            break
        # H[(a,j),(b,l)] = (1/N) Σ_i S_i[a,b] x_i[j] x_i[l] + l2 δ
        S = np.einsum("ai,ab->abi", P, np.eye(k)) - np.einsum("ai,bi->abi", P, P)
        H = np.einsum("abi,ji,li->ajbl", S, Xd, Xd).reshape(k * d, k * d) / N + l2 * np.eye(k * d)
        step = np.linalg.solve(H, g.ravel()).reshape(k, d)
        t = 1.0
        while True:
            f_new, g_new, P_new = value_grad(W - t * step)
            if f_new <= f - 1e-4 * t * np.sum(g * step) or t < 1e-12:
                break
            t *= 0.5
        W, f, g, P = W - t * step, f_new, g_new, P_new
    return W, float(f)
