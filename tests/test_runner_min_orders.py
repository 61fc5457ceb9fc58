"""The two orders of "running minimum" and "seed mean" recorded by the runner."""

from __future__ import annotations

import numpy as np
import pytest
from test_optimizers_problems import Quadratic

from lab.optimizers import muon
from lab.runner import run


def _run(**kw):
    problem = Quadratic(((6, 4),), sigma=0.5)
    seeds = np.arange(6).reshape(2, 3)  # batch (lr, seed): the seed axis is 1
    return run(
        problem,
        muon(np.array([[0.05], [0.1]]), 0.9),
        30,
        seeds,
        checkpoints="all",
        record=("grad", "running"),
        **kw,
    )


def test_min_over_t_of_mean_is_the_running_minimum_of_the_seed_mean():
    res = _run(seed_axis=1)
    a = res["grad_dual"]  # (K, lr, seed)
    want = np.minimum.accumulate(a.mean(axis=2, keepdims=True), axis=0)
    np.testing.assert_allclose(
        res["grad_dual_min_over_t_of_mean"], np.broadcast_to(want, a.shape), rtol=1e-13
    )
    want_f = np.minimum.accumulate(res["grad_fro"].mean(axis=2, keepdims=True), axis=0)
    np.testing.assert_allclose(
        res["grad_fro_min_over_t_of_mean"], np.broadcast_to(want_f, a.shape), rtol=1e-13
    )
    # the per-seed order is the old metric under its new name
    np.testing.assert_array_equal(res["grad_dual_min_over_t_per_seed"], res["grad_dual_min"])
    np.testing.assert_allclose(res["grad_dual_min"], np.minimum.accumulate(a, axis=0), rtol=1e-15)
    # E[min_t] <= min_t E at every checkpoint
    per_seed = res["grad_dual_min_over_t_per_seed"].mean(axis=2)
    of_mean = res["grad_dual_min_over_t_of_mean"][:, :, 0]
    assert np.all(per_seed <= of_mean * (1 + 1e-12))


def test_seed_axis_is_optional_and_validated():
    res = _run()
    assert "grad_dual_min_over_t_of_mean" not in res.metrics
    assert "grad_dual_min_over_t_per_seed" in res.metrics
    res_neg = _run(seed_axis=-1)
    np.testing.assert_array_equal(
        res_neg["grad_dual_min_over_t_of_mean"], _run(seed_axis=1)["grad_dual_min_over_t_of_mean"]
    )
    with pytest.raises(ValueError, match="seed_axis 2 is out of range"):
        _run(seed_axis=2)
    with pytest.raises(ValueError, match="seed_axis must be an integer"):
        _run(seed_axis=1.0)
