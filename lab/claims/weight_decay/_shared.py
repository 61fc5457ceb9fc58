r"""Shared set-up of the S3 claims: the constrained least-squares problem, oracles and their overshoot."""

from __future__ import annotations

import numpy as np

import problems
from lab.claims.registry import check_options
from lab.orthogonalization import ns_image
from lab.random import RNG

#: The convex least-squares instance: ‖X*‖_op = excess·radius = 2 > s/λ for every λ ≥ 1 below.
PROBLEM = dict(m=8, n=6, L=1.0, mu=0.1, radius=1.0, excess=2.0, residual=0.1, init_fraction=0.5, seed=0)
#: Oracles of the L1 runs: the exact polar factor and five-step Newton–Schulz presets.
ORACLES = ("exact", "cubic", "quintic", "jordan", "polar_express")
NS_STEPS = 5
SCALE = 1.0  # s: K = s‖·‖_*, radius s/λ
X0_OP = 4.0  # start of the L1 runs, outside every ball s/λ <= 1
_MUTATIONS = (None, "double_step", "flip_momentum")


def _check_common(quick, mutation):
    check_options(quick, mutation, _MUTATIONS)


def _problem(name="constrained_least_squares"):
    if name == "constrained_least_squares":
        return problems.make(name, **PROBLEM)
    # isotropic: F = (L/2)‖X − C‖_F², ‖C‖_op >= ‖C‖_F/√6 ≈ 1.22 > s/λ for λ >= 1
    return problems.make("isotropic_quadratic", m=PROBLEM["m"], n=PROBLEM["n"], L=1.0, c_scale=3.0, seed=0)


def _oracle_spec(name: str) -> str:
    return "exact" if name == "exact" else f"ns:{name}:{NS_STEPS}"


def certified_overshoot(name: str) -> float:
    """ω = max_{x∈[0,1]} p^(k)(x): a bound on ‖O‖_op for every input (exact interval propagation)."""
    if name == "exact":
        return 1.0
    return float(ns_image(0.0, NS_STEPS, name)[1])


def _start(problem, keys, op_norm):
    """Gaussian starts (one per point key, lab RNG) rescaled to ‖X₀‖_op = op_norm (array (B,))."""
    rng = RNG(problem.xp.asarray(np.asarray(keys, dtype=np.uint64)))
    Z = np.asarray(rng.fold("s3_x0").normal(problem.block_shapes[0]), dtype=float)
    op = np.linalg.norm(Z, ord=2, axis=(-2, -1))
    return Z * (np.asarray(op_norm, dtype=float) / op)[:, None, None]


_SRC = "lab derivation consistent with S3 (Chen, Li, Liu, arXiv 2506.15054)"
_PROBLEM = "constrained_least_squares m=8 n=6 L=1 mu=0.1 excess=2 (||X*||_op = 2 > s/lam)"
_EPS = float(np.finfo(float).eps)


def _rounding(*terms):
    return 64 * _EPS * sum(np.abs(t) for t in terms)


def _rows(exp, index):
    rows = exp.meta.get("rows")
    return (
        None
        if rows is None
        else [{k: r[k] for k in r if k in ("oracle", "problem", "lr", "wd", "seed")} for r in rows]
    )
