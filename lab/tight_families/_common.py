"""Shared pieces of the search families: problem instances, starting points, batched runs."""

from __future__ import annotations

import functools

import numpy as np

import bounds
import problems

#: Shapes searched: a scalar (where the LMO analysis is an equality) and a small matrix.
SHAPES = ((1, 1), (3, 2))
#: Error kinds of the inexact oracle searched (the adversarial one is chosen per step from the gradient).
KINDS = ("expand", "shrink", "adversarial")


@functools.cache
def quadratic(m: int, n: int):
    """``isotropic_quadratic`` f(X) = ½‖X − C‖_F² (L = 1) of the given shape, from :mod:`problems`."""

    return problems.make("isotropic_quadratic", m=m, n=n, L=1.0, c_scale=1.0, init_distance=1.0, seed=0)


def start(problem, dist: np.ndarray, seed: int = 0) -> tuple[np.ndarray]:
    """X⁰ = X* + dist·Z/‖Z‖_F, one per candidate (Z a fixed direction of the shape)."""
    shape = problem.block_shapes[0]
    Z = np.random.default_rng([seed, 7]).standard_normal(shape)
    Z = Z / np.linalg.norm(Z)
    return (np.asarray(problem.X_star)[None] + np.asarray(dist, float)[:, None, None] * Z,)


def nuclear(A: np.ndarray) -> np.ndarray:
    """Nuclear norm (the dual of the spectral norm) of each matrix of a batch."""
    return np.linalg.svd(np.asarray(A), compute_uv=False).sum(axis=-1)


def run(opt, problem, X0, steps: int, rng=None):
    """Run ``opt`` for ``steps`` deterministic steps; per step (f, ‖g‖_*, ‖M − g‖_*) of shape (steps, N)."""
    params = X0
    state = opt.init(params)
    f, g, err = [], [], []
    for _ in range(steps):
        f.append(np.asarray(problem.f(params)))
        new, state, info = opt.update(state, params, problem.grad, rng)
        G = np.asarray(info.gradient[0])
        g.append(nuclear(G))
        if info.estimate is not None:
            err.append(nuclear(np.asarray(info.estimate[0]) - G))
        params = new
    f.append(np.asarray(problem.f(params)))
    return np.asarray(f), np.asarray(g), (np.asarray(err) if err else None), params


def worst(ratios: np.ndarray, axis_name: str, first: float = 1.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The largest ratio over a run's axis 0 per candidate, and where: ``{axis_name: first + index}``."""
    return ratios.max(axis=0), {axis_name: ratios.argmax(axis=0) + first}


def running_mean(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(K, mean of x[:K])`` for K = 1 … len(x), K as a column broadcasting over the candidates."""
    K = np.arange(1, len(x) + 1, dtype=float)[:, None]
    return K, np.cumsum(x, axis=0) / K


def value(theorem: str, **constants) -> np.ndarray:
    """The theorem's bound on arrays of constants (every condition must hold)."""
    return np.asarray(bounds.get(theorem).evaluate(**constants).require(), dtype=float)


def excess(theorem: str, measured, zero: tuple[str, ...], **constants) -> np.ndarray:
    """Excess-form ratio (m + P)/Q of ``m <= -P + Q``: -P is the bound with the ``zero`` constants at 0.

    Where a constant's domain excludes 0 (L > 0), -P = 2B(c/2) - B(c), exact for a bound affine in the
    zeroed constants (as the descent lemmas are in L and in the estimator error).
    """
    full = value(theorem, **constants)
    try:
        descent = value(theorem, **{**constants, **{k: 0.0 * np.asarray(constants[k]) for k in zero}})
    except ValueError:
        half = value(theorem, **{**constants, **{k: 0.5 * np.asarray(constants[k]) for k in zero}})
        descent = 2.0 * half - full
    return (np.asarray(measured) - descent) / (full - descent)
