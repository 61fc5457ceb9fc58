"""Noise models for stochastic gradients, composable with any problem.

``problem.with_noise(model)`` (or :func:`problems.attach_noise`) returns a
:class:`problems.NoisyProblem` (defined in :mod:`problems.base`) whose
``sample(rng)`` draws one :class:`~problems.base.Sample` per batch member from the counter-based
:class:`lab.random.RNG` and whose ``stochastic_grad(X, sample)`` evaluates that SAME sample at any
point X (MVR2 evaluates one sample at X_t and X_{t−1}).  Every model is unbiased,
E[g(X; ξ)] = ∇f(X), and sets ``constants.sigma2`` (E‖g − ∇f‖_F², total over blocks) and
``constants.L_ms`` (E‖g(X;ξ) − g(Y;ξ)‖_F² ≤ L_ms² ‖X − Y‖_F²) where they are known.

Models (registry names):

* "none" — exact gradients: σ² = 0, L_ms = L_frobenius.
* "gaussian" — g = ∇f + ξ, ξ Gaussian with i.i.d. entries of variance σ²/N (N = total number of
  entries over all blocks), so E‖ξ‖_F² = σ² exactly; block i carries σ²·N_i/N.  L_ms = L_frobenius.
* "student_t" — g = ∇f + ξ, ξ = s·z·√(ν/V), z standard normal, V ~ χ²_ν = Σ_{j≤ν} w_j² (integer ν ≥ 3,
  built from ν extra normals); "multivariate" shares V over all entries of a member (heavy-tailed
  norm), "entrywise" draws one V per entry.  E[ν/V] = ν/(ν−2), so s² = σ²(ν−2)/(νN) gives
  E‖ξ‖_F² = σ² exactly (finite for ν > 2; the fourth moment, hence the standard error of an
  empirical variance, is finite only for ν > 4).  Same per-block split as "gaussian".
* "minibatch" — finite sums f = Σ_i f_i (least squares, networks): b indices drawn uniformly with
  replacement, g = (N/b)Σ_j ∇f_{i_j}; exact variance at any X, Var_b(X) = (NΣ_i‖∇f_i(X)‖² − ‖∇f(X)‖²)/b
  (``variance(X)``); σ² and L_ms from the problem's ``finite_sum_constants`` (a sup over the ball
  ‖X − X*‖_F ≤ radius for least squares, where the variance grows with the distance).
* "hessian" — for quadratics ∇f = P(X − X*)Q: g = (P + s·Z)(X − X*)Q with Z a symmetric Gaussian
  (GOE: off-diagonal variance 1, diagonal 2, so E[Z²] = (m+1)I).  Var(X) = s²(m+1)‖(X − X*)Q‖_F²,
  σ² = s²(m+1)λ_max(Q)² radius² on ‖X − X*‖_F ≤ radius (attained), and
  L_ms = λ_max(Q)·√(λ_max(P)² + s²(m+1)) (exact, attained along the top eigenvectors): a
  sample-dependent Hessian gives L_ms > L.

Scale parameters (sigma, scale) may be arrays broadcasting over the batch (one noise level per run);
the constants are then host arrays of that shape.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from problems._util import check_choice, check_float, check_int
from problems.protocol import Sample, jsonable


def _check_scale(name: str, value) -> Any:
    """A non-negative finite float, or a host array of them (one per batch member)."""
    if np.ndim(value) == 0:
        return check_float(name, value, low=0.0, inclusive=True)
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 and finite (scalar or per-member array), got {arr.tolist()}")
    return arr


def _scale_for(problem, value, ndim_tail: int = 2):
    """A scale (float or host array) as something that broadcasts against (*batch, m, n) arrays."""
    if np.ndim(value) == 0:
        return float(value)
    arr = problem.xp.asarray(np.asarray(value), dtype=problem.dtype)
    return problem.xp.reshape(arr, tuple(arr.shape) + (1,) * ndim_tail)


def _sum_blocks(xp, blocks):
    total = None
    for b in blocks:
        s = xp.sum(b * b, axis=(-2, -1))
        total = s if total is None else total + s
    return total


class NoiseModel:
    """Base class: unbiased stochastic gradients g(X; ξ) with a stated variance."""

    name = "noise"

    def params(self) -> dict:
        return {}

    def bind(self, problem) -> None:
        """Check that ``problem`` supports this model (raise ValueError otherwise)."""

    def sample(self, problem, rng) -> Sample:
        return Sample(None, int(rng.counter))

    def stochastic_grad(self, problem, X, sample: Sample):
        return problem.grad(X)

    def constants(self, problem):
        c = problem.constants
        return c.with_(
            sigma2=0.0, L_ms=c.L_frobenius, blocks=tuple(_replace_block(b, sigma2=0.0) for b in c.blocks)
        )

    def variance(self, problem, X):
        """E‖g(X; ξ) − ∇f(X)‖_F² exactly, per batch member."""
        xp = problem.xp
        return xp.zeros(tuple(X[0].shape[:-2]), dtype=problem.dtype)

    def describe(self) -> dict:
        return jsonable({"name": self.name, **self.params()})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def _replace_block(block, **changes):
    return replace(block, **changes)


class NoNoise(NoiseModel):
    """none: exact gradients (σ² = 0, L_ms = L_frobenius)."""

    name = "none"


class _AdditiveNoise(NoiseModel):
    """g = ∇f + ξ with ξ independent of X, E‖ξ‖_F² = σ², split over blocks by their number of entries."""

    def __init__(self, sigma=None, sigma2=None):
        if (sigma is None) == (sigma2 is None):
            raise ValueError("give exactly one of sigma (standard deviation) or sigma2 (variance)")
        if sigma is not None:
            sigma = _check_scale("sigma", sigma)
            self.sigma2 = np.square(sigma) if isinstance(sigma, np.ndarray) else sigma * sigma
        else:
            self.sigma2 = _check_scale("sigma2", sigma2)

    def params(self) -> dict:
        return {"sigma2": self.sigma2}

    def _entry_std(self, problem):
        total = sum(m * n for m, n in problem.block_shapes)
        return (
            np.sqrt(self.sigma2 / total)
            if isinstance(self.sigma2, np.ndarray)
            else math.sqrt(self.sigma2 / total)
        )

    def stochastic_grad(self, problem, X, sample: Sample):
        return tuple(g + xi for g, xi in zip(problem.grad(X), sample.data, strict=True))

    def constants(self, problem):
        c = problem.constants
        total = sum(m * n for m, n in problem.block_shapes)
        blocks = tuple(
            _replace_block(b, sigma2=self.sigma2 * (b.shape[0] * b.shape[1]) / total) for b in c.blocks
        )
        return c.with_(sigma2=self.sigma2, L_ms=c.L_frobenius, blocks=blocks)

    def variance(self, problem, X):
        xp = problem.xp
        shape = tuple(X[0].shape[:-2])
        s2 = _scale_for(problem, self.sigma2, 0)
        return xp.zeros(shape, dtype=problem.dtype) + s2


class GaussianNoise(_AdditiveNoise):
    """gaussian: additive Gaussian noise with E‖ξ‖_F² = σ² exactly (module docstring)."""

    name = "gaussian"

    def sample(self, problem, rng) -> Sample:
        xp, std = problem.xp, _scale_for(problem, self._entry_std(problem))
        rng = rng.fold("noise", self.name)
        data = tuple(
            std * xp.astype(rng.fold(i).normal(shape), problem.dtype)
            for i, shape in enumerate(problem.block_shapes)
        )
        return Sample(data, int(rng.counter))


class StudentTNoise(_AdditiveNoise):
    """student_t: heavy-tailed additive noise, Student-t with ν (integer ≥ 3) degrees of freedom,
    E‖ξ‖_F² = σ² exactly (module docstring)."""

    name = "student_t"
    MODES = ("multivariate", "entrywise")

    def __init__(self, sigma=None, nu=4, sigma2=None, mode="multivariate"):
        super().__init__(sigma=sigma, sigma2=sigma2)
        if isinstance(nu, bool) or not isinstance(nu, (int, np.integer)) or nu <= 2:
            raise ValueError(f"nu must be an integer > 2 (finite variance needs nu > 2), got {nu!r}")
        self.nu = int(nu)
        self.mode = check_choice("mode", mode, self.MODES)

    def params(self) -> dict:
        return {"sigma2": self.sigma2, "nu": self.nu, "mode": self.mode}

    def sample(self, problem, rng) -> Sample:
        xp, nu = problem.xp, self.nu
        scale = _scale_for(problem, self._entry_std(problem) * math.sqrt((nu - 2) / nu))
        rng = rng.fold("noise", self.name)
        if self.mode == "multivariate":
            w = rng.fold("chi2").normal((nu,))
            inv = xp.sqrt(nu / xp.sum(w * w, axis=-1))[..., None, None]
        data = []
        for i, shape in enumerate(problem.block_shapes):
            z = rng.fold(i).normal(shape)
            if self.mode == "entrywise":
                w = rng.fold("chi2", i).normal(tuple(shape) + (nu,))
                inv = xp.sqrt(nu / xp.sum(w * w, axis=-1))
            data.append(scale * xp.astype(z * inv, problem.dtype))
        return Sample(tuple(data), int(rng.counter))


class MinibatchNoise(NoiseModel):
    """minibatch: finite-sum minibatches of size ``batch_size`` (uniform, with replacement).

    Needs a problem with ``n_samples``, ``finite_sum_grad(X, weights)`` and
    ``sample_grad_sqnorms(X)``; σ² and L_ms come from its ``finite_sum_constants(b, radius)`` when
    it has one (None otherwise).  ``radius`` (default: the problem's ``noise_radius``) is the ball
    ‖X − X*‖_F ≤ radius on which σ² holds.  The sample holds the weights (N/b)·count_i, so the same
    sample can be evaluated at two points.
    """

    name = "minibatch"

    def __init__(self, batch_size=1, radius=None):
        self.batch_size = check_int("batch_size", batch_size)
        self.radius = None if radius is None else check_float("radius", radius, low=0.0, inclusive=True)

    def params(self) -> dict:
        return {"batch_size": self.batch_size, "radius": self.radius}

    def bind(self, problem) -> None:
        for attr in ("n_samples", "finite_sum_grad", "sample_grad_sqnorms"):
            if not hasattr(problem, attr):
                raise ValueError(
                    f"noise 'minibatch' needs a finite-sum problem; {problem.name!r} has no {attr}"
                )

    def _radius(self, problem):
        return self.radius if self.radius is not None else getattr(problem, "noise_radius", None)

    def sample(self, problem, rng) -> Sample:
        xp, N, b = problem.xp, problem.n_samples, self.batch_size
        idx = rng.fold("noise", self.name).integers(N, (b,))
        hits = idx[..., :, None] == xp.arange(N, dtype=idx.dtype)
        counts = xp.sum(xp.astype(hits, problem.dtype), axis=-2)
        return Sample(counts * (N / b), int(rng.counter))

    def stochastic_grad(self, problem, X, sample: Sample):
        return problem.finite_sum_grad(X, sample.data)

    def constants(self, problem):
        c, b = problem.constants, self.batch_size
        radius = self._radius(problem)
        fs = None
        if hasattr(problem, "finite_sum_constants"):
            fs = problem.finite_sum_constants(b, radius)
        if fs is None:
            fs = {"sigma2": None, "L_ms": None, "note": "no bound known; variance(X) is exact at any point"}
        extra = {**c.extra, **{f"noise_{k}": v for k, v in fs.items() if k not in ("sigma2", "L_ms")}}
        blocks = c.blocks
        if len(blocks) == 1:
            blocks = (_replace_block(blocks[0], sigma2=fs["sigma2"]),)
        else:
            blocks = tuple(_replace_block(bl, sigma2=None) for bl in blocks)
        return c.with_(sigma2=fs["sigma2"], L_ms=fs["L_ms"], blocks=blocks, extra=extra)

    def block_variance(self, problem, X):
        """Exact per-block variance (NΣ_i‖h_i‖² − ‖∇_i f‖²)/b, one (*batch,) array per block."""
        xp, N, b = problem.xp, problem.n_samples, self.batch_size
        out = []
        for g, sq in zip(problem.grad(X), problem.sample_grad_sqnorms(X), strict=True):
            out.append((N * xp.sum(sq, axis=-1) - xp.sum(g * g, axis=(-2, -1))) / b)
        return tuple(out)

    def variance(self, problem, X):
        total = None
        for v in self.block_variance(problem, X):
            total = v if total is None else total + v
        return total


class HessianNoise(NoiseModel):
    """hessian: sample-dependent Hessian g = (P + s·Z)(X − X*)Q for quadratics (module docstring)."""

    name = "hessian"

    def __init__(self, scale=0.1, radius=None):
        self.scale = _check_scale("scale", scale)
        self.radius = None if radius is None else check_float("radius", radius, low=0.0, inclusive=True)

    def params(self) -> dict:
        return {"scale": self.scale, "radius": self.radius}

    def bind(self, problem) -> None:
        for attr in ("hessian_apply", "X_star", "P_eigs", "Q_eigs", "Q"):
            if not hasattr(problem, attr):
                raise ValueError(
                    f"noise 'hessian' needs a quadratic with Kronecker curvature; "
                    f"{problem.name!r} has no {attr}"
                )

    def sample(self, problem, rng) -> Sample:
        xp, m = problem.xp, problem.block_shapes[0][0]
        G = rng.fold("noise", self.name).normal((m, m))
        Z = (G + xp.matrix_transpose(G)) / math.sqrt(2.0)
        return Sample(xp.astype(Z, problem.dtype), int(rng.counter))

    def stochastic_grad(self, problem, X, sample: Sample):
        X = problem.check_params(X)
        s = _scale_for(problem, self.scale)
        D = X[0] - problem.X_star
        return (problem.grad(X)[0] + s * (sample.data @ (D @ problem.Q)),)

    def constants(self, problem):
        c = problem.constants
        m = problem.block_shapes[0][0]
        s2 = np.square(self.scale) if isinstance(self.scale, np.ndarray) else self.scale**2
        p_max, q_max = float(problem.P_eigs[0]), float(problem.Q_eigs[0])
        radius = self.radius if self.radius is not None else getattr(problem, "noise_radius", None)
        sigma2 = None if radius is None else s2 * (m + 1) * q_max**2 * radius**2
        L_ms = q_max * np.sqrt(p_max**2 + s2 * (m + 1))
        L_ms = float(L_ms) if np.ndim(L_ms) == 0 else L_ms
        extra = {**c.extra, "noise_sigma2_radius": radius, "noise_sigma2_star": 0.0}
        return c.with_(
            sigma2=sigma2, L_ms=L_ms, blocks=(_replace_block(c.blocks[0], sigma2=sigma2),), extra=extra
        )

    def variance(self, problem, X):
        xp = problem.xp
        X = problem.check_params(X)
        m = problem.block_shapes[0][0]
        DQ = (X[0] - problem.X_star) @ problem.Q
        s2 = _scale_for(
            problem, np.square(self.scale) if isinstance(self.scale, np.ndarray) else self.scale**2, 0
        )
        return s2 * (m + 1) * xp.sum(DQ * DQ, axis=(-2, -1))


NOISE_REGISTRY = {
    "none": NoNoise,
    "gaussian": GaussianNoise,
    "student_t": StudentTNoise,
    "minibatch": MinibatchNoise,
    "hessian": HessianNoise,
}


def make_noise(model, **params) -> NoiseModel:
    """A noise model from an instance, a registry name with parameters, or a dict {"name": ..., ...}."""
    if isinstance(model, NoiseModel):
        if params:
            raise ValueError("parameters were given together with a noise-model instance")
        return model
    if model is None:
        return NoNoise()
    if isinstance(model, dict):
        params = {**{k: v for k, v in model.items() if k != "name"}, **params}
        model = model.get("name")
    check_choice("noise", model, tuple(NOISE_REGISTRY))
    return NOISE_REGISTRY[model](**params)


def __getattr__(name):
    """``problems.noise.NoisyProblem`` and ``problems.noise.attach_noise``, their former home."""
    if name in ("NoisyProblem", "attach_noise"):
        # lazy: problems.base imports this module (the noise models), so importing it back at
        # module level would be the base <-> noise cycle; the old path is kept for callers.
        from problems import base  # lazy: see the comment above

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
