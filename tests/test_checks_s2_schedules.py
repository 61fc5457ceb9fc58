"""What the conformance suite does not test for the S2 schedule checks: option validation and helpers."""

from __future__ import annotations

import numpy as np
import pytest

from lab.claims.variance_reduction.schedules import ratio_slope_ci, s2_horizon_free, s2_rank_scaling


@pytest.mark.parametrize("fn", [s2_horizon_free, s2_rank_scaling])
def test_bad_options_raise_before_work(fn):
    with pytest.raises(ValueError, match="quick"):
        fn(quick="yes")
    with pytest.raises(ValueError, match="mutation"):
        fn(quick=True, mutation="flip_momentum")


def test_horizon_free_rejects_bound_side_mutation():
    with pytest.raises(ValueError, match="mutation"):
        s2_horizon_free(quick=True, mutation="understate_constant")


def test_ratio_slope_ci_recovers_a_planted_growth():
    rng = np.random.default_rng(1)
    T = np.array([10.0, 100.0, 1000.0])
    tuned = np.exp(rng.normal(0, 0.05, (16, 3))) * T**-0.25
    free = tuned * T**0.3  # the ratio grows like T^0.3 exactly, seed by seed
    slope, lo, hi = ratio_slope_ci(T, free, tuned)
    assert abs(slope - 0.3) < 1e-9 and lo <= 0.3 + 1e-9 and hi >= 0.3 - 1e-9
