"""Tiny local test problems for the optimizer and runner tests (independent of problems/), certified.

The other optimizer/runner test modules import these classes; the tests at the end certify the
constants they state (noise variance, spectral smoothness) and the poisoning used by the
divergence tests.

``Quadratic``: f(X) = Σ_i ½‖X_i − C_i‖_F², ∇f = X − C, f* = 0, X* = C.  In the spectral geometry
‖∇f(X) − ∇f(Y)‖_nuc ≤ r‖X − Y‖_op (r = min(m, n)), so L_spectral = r; L_frobenius = 1.
Stochastic gradients add σ/√(Σ_i m_i n_i)·Z with Z standard Gaussian from the step's RNG, so
E‖g − ∇f‖_F² = σ² exactly.  ``NoSample`` has the same f and grad but no sample interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from lab.random import RNG


@dataclass(frozen=True)
class _Sample:
    data: object
    counter: int


@dataclass(frozen=True)
class _Block:
    shape: tuple
    norm: str = "spectral"


@dataclass(frozen=True)
class _Constants:
    blocks: tuple
    f_star: float = 0.0
    L_frobenius: float = 1.0
    L_spectral: float | None = None
    sigma2: float = 0.0


class Quadratic:
    """½‖X − C‖_F² over blocks, batched; data C drawn on the host from ``seed`` and moved to ``xp``."""

    def __init__(self, shapes=((6, 4),), sigma=0.0, xp=None, dtype="float64", seed=0, scale=1.0):
        import lab.backend as backend

        self.xp = xp or backend.get_backend("numpy")
        self.dtype = backend.resolve_dtype(self.xp, dtype)
        self.name = "test_quadratic"
        self.block_shapes = tuple(tuple(s) for s in shapes)
        gen = np.random.default_rng(seed)
        self.C = tuple(
            self.xp.asarray(scale * gen.standard_normal(s), dtype=self.dtype) for s in self.block_shapes
        )
        self.sigma = float(sigma)
        r = min(min(s) for s in self.block_shapes)
        self.constants = _Constants(
            blocks=tuple(_Block(s) for s in self.block_shapes),
            L_spectral=float(r) if len(self.block_shapes) == 1 else None,
            sigma2=self.sigma**2,
        )

    def f(self, X):
        xp = self.xp
        total = None
        for x, c in zip(X, self.C, strict=True):
            d = x - c
            v = 0.5 * xp.sum(d * d, axis=(-2, -1))
            total = v if total is None else total + v
        return total

    def grad(self, X):
        return tuple(x - c for x, c in zip(X, self.C, strict=True))

    def sample(self, rng):
        if self.sigma == 0.0:
            return _Sample(None, int(rng.counter))
        total = sum(m * n for m, n in self.block_shapes)
        Z = tuple(
            self.xp.astype(rng.fold("noise", i).normal(s), self.dtype) * float(self.sigma / np.sqrt(total))
            for i, s in enumerate(self.block_shapes)
        )
        return _Sample(Z, int(rng.counter))

    def stochastic_grad(self, X, sample):
        g = self.grad(X)
        if sample.data is None:
            return g
        return tuple(gi + z for gi, z in zip(g, sample.data, strict=True))

    def x0(self, rng):
        return tuple(
            self.xp.astype(rng.fold("x0", i).normal(s), self.dtype) for i, s in enumerate(self.block_shapes)
        )

    def make_rng(self, seeds, *axes):
        return RNG.from_seeds(seeds, self.name, *axes, xp=self.xp)

    def describe(self):
        return {"name": self.name, "block_shapes": [list(s) for s in self.block_shapes], "sigma": self.sigma}


class NoSample(Quadratic):
    """The quadratic without a sample interface (for the MVR2 configuration check)."""

    sample = None
    stochastic_grad = None


class Poisoned(Quadratic):
    """The quadratic whose stochastic gradient is NaN for batch member ``member`` from step ``start`` on."""

    def __init__(self, *args, member=1, start=5, **kw):
        super().__init__(*args, **kw)
        self.member, self.start = member, start

    def stochastic_grad(self, X, sample):
        g = super().stochastic_grad(X, sample)
        if sample.counter < self.start:
            return g
        xp = self.xp
        hit = xp.arange(X[0].shape[0]) == self.member
        return tuple(xp.where(hit[:, None, None], xp.full_like(gi, float("nan")), gi) for gi in g)


class Counting(Quadratic):
    """The quadratic counting every evaluation (to show that bad configurations fail before any work)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.calls = 0

    def f(self, X):
        self.calls += 1
        return super().f(X)

    def grad(self, X):
        self.calls += 1
        return super().grad(X)

    def sample(self, rng):
        self.calls += 1
        return super().sample(rng)

    def x0(self, rng):
        self.calls += 1
        return super().x0(rng)


# --------------------------------------------------------------------------- certification of the helpers


def test_noise_has_the_stated_variance_and_zero_mean():
    problem = Quadratic(((6, 4), (3, 5)), sigma=0.7)
    rng = problem.make_rng(np.arange(4000))
    X = problem.x0(rng)
    g = problem.stochastic_grad(X, problem.sample(rng.fold("sample").at(1)))
    exact = problem.grad(X)
    err2 = sum(np.sum((a - b) ** 2, axis=(1, 2)) for a, b in zip(g, exact, strict=True))
    # E‖ξ‖_F² = σ² with Var(‖ξ‖²) = 2σ⁴/N over N = 39 entries: 5 standard errors of the mean
    se = np.sqrt(2 * 0.7**4 / 39 / 4000)
    assert abs(err2.mean() - 0.49) < 5 * se
    assert abs(np.mean(g[0] - exact[0])) < 5 * 0.7 / np.sqrt(39 * 4000 * 24)


def test_spectral_smoothness_constant_is_min_m_n_and_tight():
    problem = Quadratic(((6, 4),))
    gen = np.random.default_rng(0)
    D = gen.standard_normal((500, 6, 4))
    ratio = np.linalg.svd(D, compute_uv=False).sum(-1) / np.linalg.norm(D, 2, axis=(1, 2))
    assert ratio.max() <= problem.constants.L_spectral + 1e-12
    U, _, Vt = np.linalg.svd(D[0], full_matrices=False)  # the bound is attained by a partial isometry
    tight = np.linalg.svd(U @ Vt, compute_uv=False)
    assert tight.sum() == pytest.approx(problem.constants.L_spectral, rel=1e-12)


def test_poisoned_gradient_is_nan_only_for_its_member_from_its_step():
    problem = Poisoned(((6, 4),), sigma=0.1, member=1, start=3)
    rng = problem.make_rng(np.arange(3))
    X = problem.x0(rng)
    early = problem.stochastic_grad(X, problem.sample(rng.at(2)))[0]
    late = problem.stochastic_grad(X, problem.sample(rng.at(3)))[0]
    assert np.all(np.isfinite(early))
    assert np.all(np.isnan(late[1])) and np.all(np.isfinite(late[[0, 2]]))
