"""Gluon's layer-wise adaptive step (THEORY §2 I2) on a problem with exact layer-wise constants.

f(X) = Σ_i ½‖X_i − C_i‖_F² is layer-wise (L0, L1)-smooth with L1 = 0 and L_i⁰ the norm-equivalence
constant of block i: ‖G‖_nuc ≤ min(m, n)‖G‖_op (spectral block), ‖G‖_1 ≤ mn‖G‖_∞ (linf block).
With the δ-aware step and a δ-inexact oracle (expand / shrink / adversarial, guaranteed by
construction) every step must decrease f by at least Σ_i (1−δ)²/(2(1+δ)²) · a_i²/(L_i⁰ + L_i¹ a_i).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_optimizers_problems import Quadratic

from lab.optimizers import gluon
from lab.oracles import inexact_oracle
from lab.runner import run

SHAPES = ((6, 4), (3, 5))
NORMS = ("spectral", "linf")
L0 = (4.0, 15.0)


def _run(delta, kind, rule, steps=60):
    problem = Quadratic(SHAPES, sigma=0.0, seed=9)
    oracles = tuple(inexact_oracle(n, delta, kind) for n in NORMS)
    opt = gluon(L0, 0.0, oracles=oracles, delta=delta, step_rule=rule)
    return run(
        problem, opt, steps, [0, 1], stochastic=False, record=("loss", "grad", "step"), checkpoints="all"
    )


def _guaranteed_decrease(res, delta):
    factor = (1 - delta) ** 2 / (2 * (1 + delta) ** 2)
    return sum(factor * res[f"grad_dual_b{i}"][:-1] ** 2 / L0[i] for i in range(len(SHAPES)))


@pytest.mark.parametrize("kind", ["expand", "shrink", "adversarial"])
@pytest.mark.parametrize("delta", [0.0, 0.3, 0.6])
def test_delta_aware_step_decreases_f_by_the_guaranteed_amount(kind, delta):
    res = _run(delta, kind, "delta_aware")
    decrease = res["f"][:-1] - res["f"][1:]
    assert np.all(decrease >= _guaranteed_decrease(res, delta) - 1e-12)
    # the recorded step is t_i = (1−δ) a_i/((1+δ)² L_i⁰)
    for i in range(len(SHAPES)):
        t = (1 - delta) * res[f"grad_dual_b{i}"][:-1] / ((1 + delta) ** 2 * L0[i])
        np.testing.assert_allclose(res[f"step_b{i}"][:-1], t, rtol=1e-12)


def test_delta_agnostic_step_loses_monotone_descent_under_large_delta():
    res = _run(0.9, "adversarial", "delta_agnostic")
    assert np.any(np.diff(res["f"], axis=0) > 0)
    aware = _run(0.9, "adversarial", "delta_aware")
    assert np.all(np.diff(aware["f"], axis=0) <= 0)
