"""Schedules: values per step, batch arrays, conversion to the run's namespace, and their use in a run."""

from __future__ import annotations

import numpy as np
import pytest
from test_optimizers_problems import Quadratic

from lab.optimizers import muon, muon_mvr2
from lab.runner import run
from lab.schedules import (
    anytime_beta,
    as_schedule,
    batch_factor,
    check_schedule,
    constant,
    from_callable,
    horizon,
    power,
)


def test_values_follow_the_formulas():
    assert constant(0.3)(7) == 0.3
    assert horizon(2.0, 100, 0.75)(1) == pytest.approx(2.0 * 100**-0.75, rel=1e-15)
    assert horizon(2.0, 100, 0.75)(57) == horizon(2.0, 100, 0.75)(1)
    eta = power(0.5, 0.75)
    assert [eta(t) for t in (1, 16)] == [0.5, 0.5 * 16**-0.75]
    assert power(1.0, 1.0, offset=1.0)(3) == 0.25
    beta = anytime_beta(2.0, 0.5)
    # 1 − β_t = min(1, 2 t^{-1/2}): β = 0 up to t = 4, then 1 − 2/√t
    assert [beta(t) for t in (1, 4, 16)] == [0.0, 0.0, 0.5]
    theory = from_callable(lambda t: 1.0 / (t + 1), name="inverse")
    assert theory(3) == 0.25 and theory.describe() == {"kind": "callable", "fn": "inverse"}


def test_batch_arrays_and_array_exponents(xp):
    eta = power(np.array([1.0, 2.0]), np.array([0.5, 1.0]))
    v = eta.value(4, xp, xp.float64)
    np.testing.assert_allclose(np.asarray(v), [0.5, 0.5], rtol=1e-15)
    beta = anytime_beta(np.array([1.0, 8.0]), 0.5)
    np.testing.assert_allclose(np.asarray(beta.value(16, xp, xp.float32)), [0.75, 0.0], rtol=1e-7)
    assert beta.value(16, xp, xp.float32).dtype == xp.float32
    assert batch_factor(0.5) == 0.5
    assert tuple(batch_factor(v).shape) == (2, 1, 1)


def test_conversion_is_cached_per_namespace_and_dtype(xp):
    s = constant(np.array([0.1, 0.2]))
    a = s.value(1, xp, xp.float64)
    assert s.value(5, xp, xp.float64) is a  # converted once, reused every step


def test_as_schedule_accepts_specs():
    assert isinstance(as_schedule({"kind": "power", "value": 1.0, "exponent": 0.5}), type(power(1.0, 0.5)))
    with pytest.raises(ValueError, match="lr: schedule kind must be one of"):
        as_schedule({"kind": "cosine"}, "lr")
    with pytest.raises(ValueError, match="bad parameters for schedule 'power'"):
        as_schedule({"kind": "power", "value": 1.0}, "lr")


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: horizon(1.0, 0, 0.5), "horizon must be an integer >= 1"),
        (lambda: power(1.0, 0.5, offset=-1.0), "offset must be > -1"),
        (lambda: anytime_beta(0.0, 0.5), "c must be > 0"),
        (lambda: power(float("inf"), 0.5), "value must be finite"),
        (lambda: from_callable(3.0), "fn must be callable"),
    ],
)
def test_bad_schedules(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()


def test_check_schedule_reports_the_step():
    with pytest.raises(ValueError, match=r"beta must lie in \[0.0, 1.0\) at step t=\d+"):
        check_schedule(
            "beta", from_callable(lambda t: 0.9 + 0.001 * t), low=0.0, high=1.0, high_open=True, steps=1000
        )


def test_scheduled_run_uses_the_1_based_step():
    """η_t = η₀ t^{-2/3}, 1 − β_t = min(1, c t^{-2/3}) (S2's MVR2 schedule) reach the step: recorded lr."""
    problem = Quadratic(((6, 4),), sigma=0.2)
    eta0 = np.array([0.1, 0.2])
    res = run(
        problem,
        muon_mvr2(power(eta0, 2 / 3), anytime_beta(1.0, 2 / 3)),
        50,
        [0, 1],
        record=("step",),
        checkpoints=[0, 9, 49],
    )
    expected = eta0[None, :] * (np.array([1, 10, 50])[:, None] ** (-2 / 3))
    np.testing.assert_allclose(res["lr"][:3], expected, rtol=1e-15)
    np.testing.assert_allclose(res["step_b0"][:3], expected, rtol=1e-15)


def test_horizon_free_schedule_converges():
    problem = Quadratic(((6, 4),), sigma=0.0)
    res = run(
        problem,
        muon(power(0.3, 0.75), anytime_beta(1.0, 0.5), nesterov=False, shape_scale="none"),
        400,
        [0],
        stochastic=False,
        record=("loss",),
    )
    assert res["f"][-1, 0] < 1e-3 * res["f"][0, 0]
