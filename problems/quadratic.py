"""Matrix quadratics with Kronecker-factored curvature 𝓗[Δ] = PΔQ, with exact constants.

Every problem here is a single-block quadratic

    f(X) = ½⟨X − X*, P (X − X*) Q⟩ + f*,      ∇f(X) = P (X − X*) Q,

with P (m×m) and Q (n×n) symmetric positive semidefinite.  The Hessian is the Kronecker
operator Q ⊗ P, whose eigenvalues are the products λ_i(P)λ_j(Q).  Hence, exactly:

* L_frobenius = λ_max(P) λ_max(Q)                 (‖∇f(X) − ∇f(Y)‖_F ≤ L ‖X − Y‖_F),
* L_spectral = L_op = Σ_{i<r} λ_i(P) λ_i(Q),  r = min(m, n)
  (‖∇f(X) − ∇f(Y)‖_nuc ≤ L ‖X − Y‖_op and f(X+Δ) ≤ f(X) + ⟨∇f, Δ⟩ + (L_op/2)‖Δ‖_op²; proof in
  :func:`problems._util.kronecker_spectral_constant`; tight along Δ = Σ_{i<r} u_i v_iᵀ),
* μ (PL) = λ_min⁺(P) λ_min⁺(Q): the smallest positive Hessian eigenvalue; for a quadratic
  ‖∇f‖_F² ≥ 2μ (f − f*) holds with exactly this constant (equality along its eigenvector).

References: the source (S4, Kronecker-factored curvature model) and §2 (S1, L in spectral geometry).
"""

from __future__ import annotations

import math

import numpy as np

from lab.backend import namespace
from lab.orthogonalization import polar  # the project's one polar factor (also imported from here)
from problems._util import (
    SPECTRUM_KINDS,
    check_choice,
    check_float,
    check_int,
    check_spectrum,
    host_rng,
    kronecker_spectral_constant,
    random_orthogonal,
    smallest_positive,
)
from problems._util import (
    spectrum as spectrum_values,
)
from problems.base import BlockConstants, Constants, ProblemBase, recorded_params


def _sum_last2(xp, x):
    return xp.sum(x, axis=(-2, -1))


def project_spectral_ball(X, radius: float):
    """Euclidean (Frobenius) projection onto {‖X‖_op ≤ radius}: clip the singular values at radius."""
    xp = namespace(X)
    U, S, Vh = xp.linalg.svd(X, full_matrices=False)
    return (U * xp.clip(S, max=float(radius))[..., None, :]) @ Vh


def curvature_spectra(m: int, n: int, L: float, mu: float, split: float, kind: str):
    """Eigenvalues (decreasing) of P and Q with λmax(P)λmax(Q) = L and λmin(P)λmin(Q) = μ.

    The condition number κ = L/μ is split as κ_P = κ^split, κ_Q = κ^(1−split).
    """
    kappa = L / mu
    return spectrum_values(m, L, kappa**split, kind), spectrum_values(n, 1.0, kappa ** (1.0 - split), kind)


def _check_L_mu(L, mu, default_ratio: float):
    L = check_float("L", 1.0 if L is None else L, low=0.0)
    mu = check_float("mu", L / default_ratio if mu is None else mu, low=0.0)
    if mu > L:
        raise ValueError(f"mu must be <= L (a PL constant cannot exceed the smoothness), got mu={mu}, L={L}")
    return L, mu


class KroneckerQuadraticBase(ProblemBase):
    """f(X) = ½⟨X − X*, P(X − X*)Q⟩ + f*: shared constants, Hessian products and §5 thresholds.

    Subclasses call :meth:`_setup_kronecker` with host P, Q, X*, f*.
    """

    def _setup_kronecker(self, P, Q, X_star, f_star: float, *, init_distance: float, extra=None):
        m, n = X_star.shape
        self.block_shapes = ((m, n),)
        self.init_distance = init_distance
        self.P_host, self.Q_host = P, Q
        self.P_eigs = np.sort(np.linalg.eigvalsh(P))[::-1]
        self.Q_eigs = np.sort(np.linalg.eigvalsh(Q))[::-1]
        self.P, self.Q = self._put(P), self._put(Q)
        self.X_star_host = X_star
        self.X_star = self._put(X_star)
        self.f_star = float(f_star)
        r = min(m, n)
        L_frob = float(self.P_eigs[0] * self.Q_eigs[0])
        L_spec = kronecker_spectral_constant(self.P_eigs, self.Q_eigs, r)
        mu = smallest_positive(self.P_eigs) * smallest_positive(self.Q_eigs)
        rho = math.sqrt(r)
        block = BlockConstants(
            shape=(m, n), norm="spectral", L=L_spec, L0=L_spec, L1=0.0, radius=None, rho=rho, sigma2=0.0
        )
        self.constants = Constants(
            blocks=(block,),
            L_frobenius=L_frob,
            L_spectral=L_spec,
            L_op=L_spec,
            mu=mu,
            sigma2=0.0,
            L_ms=L_frob,
            G=None,
            f_star=self.f_star,
            X_star=(self.X_star,),
            rho=rho,
            extra={"lambda_max": L_frob, "condition_number": L_frob / mu, **(extra or {})},
        )

    @property
    def noise_radius(self) -> float:
        """Default radius of the ball ‖X − X*‖_F ≤ R on which distance-dependent noise bounds hold."""
        return self.init_distance

    # -- oracle ----------------------------------------------------------------------------------
    def hessian_apply(self, D):
        """𝓗[D] = P D Q (batched)."""
        return self.P @ D @ self.Q

    def _f(self, X):
        D = X[0] - self.X_star
        return 0.5 * _sum_last2(self.xp, D * self.hessian_apply(D)) + self.f_star

    def _grad(self, X):
        return (self.hessian_apply(X[0] - self.X_star),)

    def x0(self, rng):
        """X* + init_distance · Z/‖Z‖_F with Z standard normal (so ‖X⁰ − X*‖_F = init_distance)."""
        xp = self.xp
        z = xp.astype(rng.fold("x0", 0).normal(self.block_shapes[0]), self.dtype)
        z = z / xp.sqrt(xp.sum(z * z, axis=(-2, -1), keepdims=True))
        return (self.X_star + self.init_distance * z,)

    # -- §5 quantities -----------------------------------------------------------------------------
    @property
    def lambda_max(self) -> float:
        """λ_max(𝓗) = λmax(P)λmax(Q); gradient descent is linearly stable iff η < 2/λ_max."""
        return self.constants.L_frobenius

    @property
    def gd_stability_threshold(self) -> float:
        return 2.0 / self.lambda_max

    def muon_threshold(self, X):
        """η*_Muon(X) = 2‖G‖_*/⟨O, 𝓗[O]⟩ with G = ∇f(X), O = polar(G): X − ηO decreases f iff η < η*."""
        xp = self.xp
        G = self.grad(X)[0]
        O = polar(G)
        nuc = xp.linalg.matrix_norm(G, ord="nuc")
        return 2.0 * nuc / _sum_last2(xp, O * self.hessian_apply(O))

    def gd_threshold(self, X):
        """η*_GD(X) = 2‖G‖_F²/⟨G, 𝓗[G]⟩: X − ηG decreases f iff η < η*."""
        xp = self.xp
        G = self.grad(X)[0]
        return 2.0 * _sum_last2(xp, G * G) / _sum_last2(xp, G * self.hessian_apply(G))


class KroneckerQuadratic(KroneckerQuadraticBase):
    """kronecker_quadratic: f(X) = ½⟨X − X*, A(X − X*)B⟩ + f*, A and B SPD with prescribed spectra.

    Parameters
    ----------
    m, n : block shape.
    L : λmax(A)λmax(B) (= L_frobenius), default 1.
    mu : λmin(A)λmin(B) (= μ, strong convexity), default L/100; mu = L gives the isotropic case.
    split : share of log κ (κ = L/μ) put in A: κ_A = κ^split, κ_B = κ^(1−split) (default 1: all in A).
    spectrum : "geometric" or "linear" spacing of the eigenvalues.
    kappa_A, kappa_B : condition numbers of A and B (alternative to mu/split; μ = L/(κ_A κ_B)).
    eigs_A, eigs_B : explicit positive spectra (override L, mu, split; give both or one, the other is 1s).
    rotate : random orthogonal eigenvectors (True) or the identity basis (False).
    x_star_scale : ‖X*‖_F.  f_star : the optimal value.  init_distance : ‖X⁰ − X*‖_F of x0().
    seed : instance seed.  backend / xp / dtype : where the data live.

    Constants (exact): L_frobenius = a₁b₁, L_spectral = L_op = Σ_{i<min(m,n)} a_i b_i, μ = a_m b_n.
    """

    name = "kronecker_quadratic"

    def __init__(
        self,
        m=8,
        n=6,
        L=None,
        mu=None,
        split=1.0,
        spectrum="geometric",
        kappa_A=None,
        kappa_B=None,
        eigs_A=None,
        eigs_B=None,
        rotate=True,
        x_star_scale=1.0,
        f_star=0.0,
        init_distance=1.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        m, n = check_int("m", m), check_int("n", n)
        split = check_float("split", split, low=0.0, inclusive=True, high=1.0)
        check_choice("spectrum", spectrum, SPECTRUM_KINDS)
        if eigs_A is not None or eigs_B is not None:
            if L is not None or mu is not None:
                raise ValueError(
                    "give either eigs_A/eigs_B or L/mu, not both (L and mu follow from the spectra)"
                )
            a = check_spectrum("eigs_A", np.ones(m) if eigs_A is None else eigs_A, m)
            b = check_spectrum("eigs_B", np.ones(n) if eigs_B is None else eigs_B, n)
        elif kappa_A is not None or kappa_B is not None:
            if mu is not None:
                raise ValueError("give either kappa_A/kappa_B or mu, not both (mu = L/(kappa_A kappa_B))")
            L = check_float("L", 1.0 if L is None else L, low=0.0)
            kappa_A = check_float("kappa_A", 1.0 if kappa_A is None else kappa_A, low=1.0, inclusive=True)
            kappa_B = check_float("kappa_B", 1.0 if kappa_B is None else kappa_B, low=1.0, inclusive=True)
            a, b = spectrum_values(m, L, kappa_A, spectrum), spectrum_values(n, 1.0, kappa_B, spectrum)
        else:
            L, mu = _check_L_mu(L, mu, 100.0)
            a, b = curvature_spectra(m, n, L, mu, split, spectrum)
        x_star_scale = check_float("x_star_scale", x_star_scale, low=0.0, inclusive=True)
        f_star = check_float("f_star", f_star)
        init_distance = check_float("init_distance", init_distance, low=0.0)
        self._init_backend(backend, xp, dtype)
        gen = host_rng(seed, self.name)
        U = random_orthogonal(gen, m) if rotate else np.eye(m)
        V = random_orthogonal(gen, n) if rotate else np.eye(n)
        Z = gen.standard_normal((m, n))
        X_star = x_star_scale * Z / np.linalg.norm(Z)
        self.U_host, self.V_host, self.a, self.b = U, V, a, b
        self.params = recorded_params(
            KroneckerQuadratic,
            locals(),
            eigs_A=None if eigs_A is None else a.tolist(),
            eigs_B=None if eigs_B is None else b.tolist(),
            rotate=bool(rotate),
        )
        self._setup_kronecker((U * a) @ U.T, (V * b) @ V.T, X_star, f_star, init_distance=init_distance)


class IsotropicQuadratic(KroneckerQuadraticBase):
    """isotropic_quadratic: f(X) = (L/2)‖X − C‖_F².

    Exact constants: L_frobenius = μ = L, L_spectral = L_op = L·min(m, n) (example of I1),
    X* = C, f* = 0.  ``c_scale`` = ‖C‖_F, ``init_distance`` = ‖X⁰ − C‖_F, ``seed`` the instance seed.
    """

    name = "isotropic_quadratic"

    def __init__(
        self, m=8, n=6, L=1.0, c_scale=1.0, init_distance=1.0, seed=0, backend=None, xp=None, dtype=None
    ):
        m, n = check_int("m", m), check_int("n", n)
        L = check_float("L", L, low=0.0)
        c_scale = check_float("c_scale", c_scale, low=0.0, inclusive=True)
        init_distance = check_float("init_distance", init_distance, low=0.0)
        self._init_backend(backend, xp, dtype)
        Z = host_rng(seed, self.name).standard_normal((m, n))
        C = c_scale * Z / np.linalg.norm(Z)
        self.L = L
        self.params = recorded_params(IsotropicQuadratic, locals())
        self._setup_kronecker(L * np.eye(m), np.eye(n), C, 0.0, init_distance=init_distance)

    def hessian_apply(self, D):
        return self.L * D


class Flattening(KroneckerQuadratic):
    """flattening: a Kronecker quadratic whose start point has a designed gradient spectrum.

    Curvature as in :class:`KroneckerQuadratic` (default isotropic, mu = L), A = U diag(a) Uᵀ,
    B = V diag(b) Vᵀ.  The start X⁰ = X* + U_k diag(e) V_kᵀ with e_i = g_i/(a_i b_i) is aligned with
    the curvature, so the gradient there is

        G⁰ = A (X⁰ − X*) B = U_k diag(g) V_kᵀ,   g_1 = sigma1 ≥ … ≥ g_k = sigma1/spread,

    (k = grad_rank, default min(m, n); "geometric" or "linear" profile).  With σ₁ fixed, ``spread``
    moves the mean singular value σ̄ = mean(g) that sets Muon's threshold (2σ̄/L for isotropic 𝓗),
    while GD's stability threshold 2/λ_max(𝓗) does not move.  x0(rng) returns X⁰ for every member.

    Parameters: m, n, L, mu, split, spectrum (the curvature, as in :class:`KroneckerQuadratic`),
    sigma1, spread, profile, grad_rank (the gradient spectrum at X⁰), x_star_scale (‖X*‖_F), seed.

    Exposes ``lambda_max``, ``gradient_singular_values``, ``mean_singular_value``,
    ``muon_threshold(X)``, ``gd_threshold(X)``, ``gd_stability_threshold``.
    """

    name = "flattening"

    def __init__(
        self,
        m=8,
        n=6,
        L=None,
        mu=None,
        split=1.0,
        spectrum="geometric",
        sigma1=1.0,
        spread=10.0,
        profile="geometric",
        grad_rank=None,
        x_star_scale=1.0,
        seed=0,
        backend=None,
        xp=None,
        dtype=None,
    ):
        L, mu = _check_L_mu(L, mu if mu is not None else (1.0 if L is None else L), 1.0)
        sigma1 = check_float("sigma1", sigma1, low=0.0)
        spread = check_float("spread", spread, low=1.0, inclusive=True)
        check_choice("profile", profile, SPECTRUM_KINDS)
        k = min(check_int("m", m), check_int("n", n))
        k = k if grad_rank is None else check_int("grad_rank", grad_rank)
        if k > min(m, n):
            raise ValueError(f"grad_rank must be <= min(m, n) = {min(m, n)}, got {grad_rank}")
        super().__init__(
            m=m,
            n=n,
            L=L,
            mu=mu,
            split=split,
            spectrum=spectrum,
            rotate=True,
            x_star_scale=x_star_scale,
            f_star=0.0,
            init_distance=1.0,
            seed=seed,
            backend=backend,
            xp=xp,
            dtype=dtype,
        )
        g = spectrum_values(k, sigma1, spread, profile)
        e = g / (self.a[:k] * self.b[:k])
        E = (self.U_host[:, :k] * e) @ self.V_host[:, :k].T
        self.gradient_singular_values = g
        self.mean_singular_value = float(np.mean(g))
        self.X0_host = self.X_star_host + E
        self._X0 = self._put(self.X0_host)
        self.init_distance = float(np.linalg.norm(E))
        self.params = recorded_params(Flattening, locals(), grad_rank=k)
        self.constants = self.constants.with_(
            extra={
                **self.constants.extra,
                "sigma1": sigma1,
                "mean_singular_value": self.mean_singular_value,
                "muon_threshold_x0": 2.0 * float(np.sum(g)) / kronecker_spectral_pairs(self.a, self.b, k),
                "gd_stability_threshold": 2.0 / self.lambda_max,
            }
        )

    def x0(self, rng):
        """The designed start X⁰, broadcast to the RNG's batch shape (no randomness)."""
        xp = self.xp
        return (xp.broadcast_to(self._X0, tuple(rng.batch_shape) + self.block_shapes[0]),)


def kronecker_spectral_pairs(a, b, k: int) -> float:
    """⟨O, 𝓗O⟩ for O = U_k V_kᵀ aligned with A = U diag(a)Uᵀ, B = V diag(b)Vᵀ: Σ_{i<k} a_i b_i."""
    return float(np.sum(np.asarray(a)[:k] * np.asarray(b)[:k]))
