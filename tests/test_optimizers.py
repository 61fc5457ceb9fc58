"""One conformance suite for every REGISTERED optimizer (optax style), discovered from the registry.

Every :func:`lab.optimizers.register`-ed optimizer declares :class:`lab.optimizers.Example`
configurations (one swept hyperparameter, scalar or an array over the batch); each is checked for:
shapes and dtypes preserved (float64 and float32, NumPy and array-api-strict), a pure step, a
batched run equal to the same runs done one by one (≤ 1e-12 in float64), determinism for a seed,
convergence on a small quadratic, a diverged member that is frozen without touching the others, and
a JSON round-trip of ``describe()``.  A new optimizer is tested by registering it: no list here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_optimizers_problems import Poisoned, Quadratic

from lab.backend import to_numpy
from lab.optimizers import OPTIMIZERS, examples, gradient_fn, tree_map
from lab.runner import run

SHAPES = ((6, 4), (3, 5))  # two blocks: a tall and a wide one (the examples are calibrated on them)

# "name:label" -> (registry name, Example), for every registered optimizer and each of its examples
CASES = {f"{name}:{ex.label}": (name, ex) for name in OPTIMIZERS for ex in examples(name)}
NAMES = sorted(CASES)


def _case(name):
    """(factory of the swept value, swept values (one per member), a value that converges)."""
    ex = CASES[name][1]
    return ex.build, list(ex.values), ex.converges


def _problem(xp, dtype="float64", sigma=0.3):
    return Quadratic(SHAPES, sigma=sigma, xp=xp, dtype=dtype, seed=1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_shapes_and_dtypes_preserved(name, dtype, xp):
    factory, values, _ = _case(name)
    problem = _problem(xp, dtype)
    opt = factory(np.asarray(values))
    rng = problem.make_rng(np.arange(3))
    params = problem.x0(rng)
    state = opt.init(params)
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
    factory, values, _ = _case(name)
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
    factory, values, _ = _case(name)
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
    factory, _, good = _case(name)
    problem = _problem(None, sigma=0.0)
    res = run(problem, factory(good), 400, [0, 1], stochastic=False, record=("loss",))
    f0, fT = res["f"][0], res["f"][-1]
    assert np.all(fT <= 1e-2 * f0), (f0, fT)


@pytest.mark.parametrize("name", NAMES)
def test_diverged_member_is_frozen_and_does_not_touch_the_others(name):
    """Member 1 gets NaN gradients from step 5 on: it is frozen at X_4, the others are untouched."""
    factory, values, _ = _case(name)
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


def test_every_registered_optimizer_has_examples():
    assert set(OPTIMIZERS) == {CASES[c][0] for c in CASES}


@pytest.mark.parametrize("name", NAMES)
def test_step_is_pure(name):
    """init/step never modify their arguments, and the same arguments give the same result bit for bit."""
    factory, values, _ = _case(name)
    problem = _problem(None)
    opt = factory(np.asarray(values))
    rng = problem.make_rng(np.arange(3))
    params = problem.x0(rng)
    state = opt.init(params)
    for t in (1, 2):
        grad = gradient_fn(problem, rng.fold("sample").at(t))
        copies = tree_map(np.copy, (params, state))
        first = opt.step(state, params, grad, rng.fold("oracle").at(t))
        for a, b in zip(_leaves((params, state)), _leaves(copies), strict=True):
            np.testing.assert_array_equal(a, b)
        again = opt.step(state, params, grad, rng.fold("oracle").at(t))
        for a, b in zip(_leaves(first), _leaves(again), strict=True):
            np.testing.assert_array_equal(a, b)
        params, state = first


def _leaves(tree):
    if isinstance(tree, tuple):
        return [leaf for x in tree for leaf in _leaves(x)]
    return [tree] if hasattr(tree, "dtype") else []


@pytest.mark.parametrize("name", NAMES)
def test_describe_round_trips_through_json(name):
    registry_name, ex = CASES[name]
    opt = ex.build(np.asarray(ex.values))
    d = opt.describe()
    assert d["optimizer"] == registry_name
    assert json.loads(json.dumps(d)) == d
    assert list(d["hyperparameters"]) == list(opt.hyperparameters())
    assert ex.build(np.asarray(ex.values)).describe() == d  # deterministic
    assert ex.build(ex.values[0]).describe() != ex.build(ex.values[1]).describe()  # the value is recorded
