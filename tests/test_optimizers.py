"""One conformance suite for every optimizer (optax style).

Each case builds an optimizer from one swept hyperparameter (scalar or an array over the batch) and
is checked for: shapes and dtypes preserved (float64 and float32, NumPy and array-api-strict), a
batched run equal to the same runs done one by one (≤ 1e-12 in float64), determinism for a seed,
convergence on a small quadratic, and a diverged member that is frozen without touching the others.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_optimizers_problems import Poisoned, Quadratic

from lab.backend import to_numpy
from lab.optimizers import (
    adam,
    adamw,
    gluon,
    lion_k,
    lmo_step,
    muon,
    muon_mvr1,
    muon_mvr2,
    scion,
    sgd,
)
from lab.oracles import inexact_oracle, newton_schulz_oracle
from lab.runner import run

SHAPES = ((6, 4), (3, 5))  # two blocks: a tall and a wide one
# Spectral-geometry constants of ½‖X − C‖² per block: L = min(m, n) (spectral), m·n (linf).
GLUON_L0 = (4.0, 15.0)

# name -> (factory of the swept value, swept values (one per member), a value that converges)
CASES = {
    "lmo_step": (lambda v: lmo_step(v), [0.02, 0.05, 0.1], 0.05),
    "lmo_step_ns": (
        lambda v: lmo_step(v, oracle=newton_schulz_oracle(5, "quintic")),
        [0.02, 0.05, 0.1],
        0.05,
    ),
    "muon_ema_nesterov_ns": (lambda v: muon(v, 0.9, oracle="ns:jordan:5"), [0.02, 0.05, 0.1], 0.05),
    "muon_ema_beta": (lambda v: muon(0.05, v, nesterov=False), [0.0, 0.5, 0.9], 0.5),
    "muon_sum": (lambda v: muon(v, 0.9, momentum="sum", nesterov=False), [0.02, 0.05, 0.1], 0.05),
    "muon_alpha": (lambda v: muon(0.05, momentum="alpha", alpha=v), [0.1, 0.5, 1.0], 0.5),
    "muon_wd_rms": (
        lambda v: muon(0.05, 0.9, weight_decay=v, shape_scale="match_rms_adamw", momentum_init="gradient"),
        [0.0, 0.01, 0.05],
        0.01,
    ),
    "muon_random_oracle": (
        lambda v: muon(0.05, 0.9, oracle=inexact_oracle("spectral", v, "random")),
        [0.0, 0.2, 0.5],
        0.2,
    ),
    "scion": (
        lambda v: scion(v, 0.5, norms=("spectral", "linf"), block_lr=(1.0, 0.5)),
        [0.02, 0.05, 0.1],
        0.05,
    ),
    "gluon_delta_aware": (
        lambda v: gluon(GLUON_L0, 0.0, norms=("spectral", "linf"), delta=v),
        [0.0, 0.2, 0.5],
        0.2,
    ),
    "gluon_agnostic_momentum": (
        lambda v: gluon(
            GLUON_L0,
            0.0,
            norms=("spectral", "frobenius"),
            step_rule="delta_agnostic",
            beta=v,
            lr=0.5,
            dual="inner",
        ),
        [0.0, 0.3, 0.6],
        0.3,
    ),
    "muon_mvr1": (lambda v: muon_mvr1(0.05, 0.9, v), [0.0, 0.1, 0.5], 0.1),
    "muon_mvr1_clip": (
        lambda v: muon_mvr1(v, 0.9, 0.1, mars_clip=True, shape_scale="match_rms_adamw"),
        [0.01, 0.02, 0.04],
        0.04,
    ),
    "muon_mvr2": (lambda v: muon_mvr2(0.05, v), [0.0, 0.5, 0.9], 0.5),
    "muon_mvr2_clip": (lambda v: muon_mvr2(0.05, v, mars_clip=True), [0.0, 0.5, 0.9], 0.5),
    "lion_k_nuclear": (lambda v: lion_k(0.05, 0.9, weight_decay=v), [0.0, 0.05, 0.1], 0.05),
    "lion_k_frobenius": (lambda v: lion_k(v, 0.9, K="frobenius"), [0.05, 0.1, 0.2], 0.1),
    "lion_k_schatten": (lambda v: lion_k(v, 0.9, K="schatten_p", p=3.0), [0.02, 0.05, 0.1], 0.05),
    "lion_k_kyfan": (lambda v: lion_k(v, 0.9, K="ky_fan_k", k=2), [0.02, 0.05, 0.1], 0.05),
    "lion_k_soft": (lambda v: lion_k(v, 0.9, K="soft", eps=0.1), [0.02, 0.05, 0.1], 0.05),
    "sgd": (lambda v: sgd(v, 0.9), [0.02, 0.05, 0.1], 0.05),
    "sgd_nesterov_ema": (
        lambda v: sgd(0.1, v, momentum="ema", nesterov=True, weight_decay=0.01),
        [0.0, 0.5, 0.9],
        0.5,
    ),
    "adam": (lambda v: adam(v), [0.01, 0.05, 0.1], 0.05),
    "adamw": (lambda v: adamw(v, weight_decay=0.01), [0.01, 0.05, 0.1], 0.05),
}
NAMES = sorted(CASES)


def _problem(xp, dtype="float64", sigma=0.3):
    return Quadratic(SHAPES, sigma=sigma, xp=xp, dtype=dtype, seed=1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_shapes_and_dtypes_preserved(name, dtype, xp):
    factory, values, _ = CASES[name]
    problem = _problem(xp, dtype)
    opt = factory(np.asarray(values))
    rng = problem.make_rng(np.arange(3))
    params = problem.x0(rng)
    state = opt.init(params)
    from lab.optimizers import gradient_fn

    for t in range(1, 4):
        grad = gradient_fn(problem, rng.fold("sample").at(t))
        params, state = opt.step(state, params, grad, rng.fold("oracle").at(t))
    for X, shape in zip(params, SHAPES, strict=True):
        assert tuple(X.shape) == (3,) + shape
        assert X.dtype == problem.dtype
    leaves = []

    def collect(tree):
        if isinstance(tree, tuple):
            for x in tree:
                collect(x)
        elif hasattr(tree, "dtype"):
            leaves.append(tree)

    collect(state)
    assert state.count == 3
    for leaf in leaves:
        assert leaf.dtype == problem.dtype
        assert tuple(leaf.shape[:1]) == (3,)


@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_one_by_one(name, xp):
    factory, values, _ = CASES[name]
    problem = _problem(xp)
    seeds = np.array([3, 4, 5])
    batched = run(problem, factory(np.asarray(values)), 6, seeds, record=("loss",), checkpoints="all")
    for j, (seed, v) in enumerate(zip(seeds, values, strict=True)):
        single = run(problem, factory(v), 6, np.array([seed]), record=("loss",), checkpoints="all")
        for Xb, Xs in zip(batched.final_params, single.final_params, strict=True):
            np.testing.assert_allclose(to_numpy(Xb)[j], to_numpy(Xs)[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(batched["f"][:, j], single["f"][:, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_a_seed(name):
    factory, values, _ = CASES[name]
    problem = _problem(None)
    a = run(problem, factory(np.asarray(values)), 10, [7, 8, 9], record=("loss", "estimator"))
    b = run(problem, factory(np.asarray(values)), 10, [7, 8, 9], record=("loss", "estimator"))
    for Xa, Xb in zip(a.final_params, b.final_params, strict=True):
        np.testing.assert_array_equal(Xa, Xb)
    for key in a.metrics:
        np.testing.assert_array_equal(a[key], b[key])
    c = run(problem, factory(np.asarray(values)), 10, [7, 8, 10], record=("loss",))
    assert not np.array_equal(c.final_params[0][2], a.final_params[0][2])  # the seed matters


@pytest.mark.parametrize("name", NAMES)
def test_converges_on_a_small_quadratic(name):
    factory, _, good = CASES[name]
    problem = _problem(None, sigma=0.0)
    res = run(problem, factory(good), 400, [0, 1], stochastic=False, record=("loss",))
    f0, fT = res["f"][0], res["f"][-1]
    assert np.all(fT <= 1e-2 * f0), (f0, fT)


@pytest.mark.parametrize("name", NAMES)
def test_diverged_member_is_frozen_and_does_not_touch_the_others(name):
    """Member 1 gets NaN gradients from step 5 on: it is frozen at X_4, the others are untouched."""
    factory, values, _ = CASES[name]
    opt = factory(np.asarray(values))
    kw = dict(record=("loss", "grad", "estimator", "step"), checkpoints="all")
    good = run(_problem(None), opt, 12, [0, 1, 2], **kw)
    poisoned = Poisoned(SHAPES, sigma=0.3, seed=1, member=1, start=5)
    bad = run(poisoned, opt, 12, [0, 1, 2], **kw)
    assert list(good.status) == ["running"] * 3
    assert list(bad.status) == ["running", "diverged", "running"] and bad.diverged_at[1] == 5
    assert np.all(np.isnan(bad["f"][5:, 1])) and np.all(np.isfinite(bad["f"][:5, 1]))
    for j in (0, 2):  # bit for bit the same as in the run without a diverging member
        for Xg, Xb in zip(good.final_params, bad.final_params, strict=True):
            np.testing.assert_array_equal(Xg[j], Xb[j])
        for key in good.metrics:
            np.testing.assert_array_equal(good[key][:, j], bad[key][:, j])
    # the frozen member keeps its last accepted iterate X_4 (the same as in the clean run)
    four = run(_problem(None), opt, 4, [0, 1, 2], record=("loss",))
    for X4, Xb in zip(four.final_params, bad.final_params, strict=True):
        np.testing.assert_array_equal(X4[1], Xb[1])
