"""Rows that used to be true by construction, and the code bugs that now make them fail.

Each test plants a bug in the code under test (a monkeypatched function, never an edited
prediction), runs the quick check in a fresh temporary cache and asserts the row now reports
"violated".  On the previous versions of these rows the same bugs left every verdict "holds":

* Newton–Schulz rows of S1-lemma and S2-D-inexact judged with the *measured* ‖D − lmo‖, so the
  lemma was a triangle inequality (now: the a-priori ``ns_delta`` of the preset);
* S1-I2 with Gluon's (1+δ) instead of (1+δ)² in the δ-aware step (identical verdicts to 16 digits);
* ``_ratio_with_zeros`` turned a NaN measurement at a zero bound into 0;
* S3 feasibility/sandwich "held" when no iterate entered the ball.
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

import lab.claims.weight_decay.constraint as constraint_claims
import lab.orthogonalization as ortho
from lab.backend import namespace
from lab.checks import get_check
from lab.claims.variance_reduction._shared import SLOPE_MAX_WIDTH, _ratio_with_zeros
from lab.claims.variance_reduction.rates import fit_window
from lab.stats import Verdict, slope_ci

# the module, not the factory function of the same name that lab.optimizers exports
gluon_module = importlib.import_module("lab.optimizers.gluon")


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A cache of its own: a planted bug is not part of the code hash, so it must never share one."""
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    return tmp_path


def _scale_cubic_coefficient(monkeypatch, factor=1.02):
    """Plant: every Newton–Schulz step uses c·factor (the iteration, not the preset table)."""
    numpy_steps, generic_steps = ortho._ns_steps_numpy, ortho._ns_steps

    def rows_of(rows):
        return [(a, b, c * factor) for a, b, c in rows]

    monkeypatch.setattr(ortho, "_ns_steps_numpy", lambda X, rows, o, n: numpy_steps(X, rows_of(rows), o, n))
    monkeypatch.setattr(ortho, "_ns_steps", lambda xp, X, rows: generic_steps(xp, X, rows_of(rows)))


def _verdicts(cid, **kw):
    return get_check(cid).run(quick=True, **kw)


# The unmutated rows hold: tests/test_checks_conformance.py runs every quick check.


def test_s1_lemma_newton_schulz_rows_catch_a_coefficient_bug(fresh_cache, monkeypatch):
    _scale_cubic_coefficient(monkeypatch)
    assert any(v.verdict == "violated" for v in _verdicts("S1.lemma"))


def test_s2_d_inexact_newton_schulz_rows_catch_a_coefficient_bug(fresh_cache, monkeypatch):
    _scale_cubic_coefficient(monkeypatch)
    ns = [v for v in _verdicts("S2.D.inexact") if "ns:" in v.problem]
    assert ns and all(v.details["delta"].startswith("a priori") for v in ns)
    assert any(v.verdict == "violated" for v in ns)


def _gluon_single_power(self, i, t, M, D, oracle):
    """Gluon's step ratio with (1+δ) where the theory has (1+δ)² (the planted bug)."""
    xp = namespace(M)
    a = oracle.norm.dual(M) if self.dual == "exact" else -gluon_module.inner(M, D)
    den = self._block(self.L0, i).at(t, M) + self._block(self.L1, i).at(t, M) * a
    ratio = xp.where(den > 0, a / xp.where(den > 0, den, xp.ones_like(a)), xp.zeros_like(a))
    if self.rule == "delta_aware":
        d = self._block(self.delta, i).at(t, M)
        ratio = ratio * ((1.0 - d) / (1.0 + d))
    return ratio


def test_s1_i2_is_judged_per_delta_and_catches_the_single_power_step(monkeypatch, fresh_cache):
    clean = _verdicts("S1.I2")
    assert all(v.verdict == "holds" for v in clean)
    per_delta = {v.claim for v in clean if v.claim.startswith("S1.I2[step, delta=")}
    assert len(per_delta) >= 3  # one row per δ of the grid
    # at the largest δ the shrink oracle makes the δ-term act: the ratio is near its reachable 1/2
    largest = max((v for v in clean if v.claim in per_delta), key=lambda v: v.details["delta"])
    assert largest.worst_ratio > 0.4
    monkeypatch.setattr(gluon_module.AdaptiveStep, "ratio", _gluon_single_power)
    monkeypatch.setenv("LAB_CACHE_DIR", str(fresh_cache / "mutant"))
    mutated = {v.claim: v.verdict for v in _verdicts("S1.I2")}
    assert mutated["S1.I2[step rule]"] == "violated"
    # the decrease inequalities alone stay satisfied: this is the bug they were blind to
    assert all(verdict == "holds" for claim, verdict in mutated.items() if claim != "S1.I2[step rule]")


def test_nan_at_a_zero_bound_is_never_a_pass():
    assert not _ratio_with_zeros([np.nan, 0.5], [0.0, 1.0]).holds
    assert not _ratio_with_zeros([np.nan, 0.5], [1.0, 1.0]).holds
    assert _ratio_with_zeros([0.0, 0.5], [0.0, 1.0]).holds
    assert not _ratio_with_zeros([1e-3, 0.5], [0.0, 1.0]).holds


def test_s3_rows_are_vacuous_when_no_iterate_enters_the_ball(monkeypatch, fresh_cache):
    real = constraint_claims.get_experiment

    def never_inside(name):
        fn = real(name)

        def run(**kw):
            e = fn(**kw)
            measured = {**e.measured, "inside": np.zeros_like(e.measured["inside"], dtype=bool)}
            return dataclasses.replace(e, measured=measured)

        return run

    monkeypatch.setattr(constraint_claims, "get_experiment", never_inside)
    got = {v.claim: v for v in get_check("S3.S.constrained_optimum").run(quick=True)}
    for claim in ("S3.S.constrained_optimum[feasibility]", "S3.S.constrained_optimum[sandwich]"):
        assert got[claim].verdict == "inconclusive"
        assert got[claim].details["vacuous"] is True
        assert got[claim].details["reason"].startswith("vacuous")


def test_s4_invariant_level_is_judged_after_entry(fresh_cache):
    v = {x.claim: x for x in _verdicts("S4.muon.level")}["S4.muon.level[invariant level]"]
    assert v.verdict == "holds"
    # the entry step is <= the level by definition; the judged maximum excludes it
    assert v.worst_ratio < v.details["entry_step_ratio"]
    assert v.details["tail_ratio"] < v.worst_ratio


def test_s2_slopes_fit_window_skips_a_transient_and_is_judged_without_tolerance():
    rng = np.random.default_rng(5)
    T = np.unique(np.round(np.logspace(0, 4, 80)))
    # exponent -1/4 after a transient (gone by T ~ 300) that bends the curve early on
    Y = T**-0.25 * (1 + 5 * np.exp(-T / 50)) * np.exp(0.05 * rng.standard_normal((32, T.size)))
    window, settled = fit_window(T, Y)
    assert settled and window[0] >= 100
    biased = slope_ci(T, Y, (10.0, T[-1]))  # the whole range is bent by the transient
    assert not biased.lo <= -0.25 <= biased.hi
    ci = slope_ci(T, Y, window)
    assert ci.lo <= -0.25 <= ci.hi and ci.hi - ci.lo <= SLOPE_MAX_WIDTH
    # a slope 0.02 off with a narrow interval is violated: there is no tolerance band any more
    off = Verdict.from_slope("S2.slopes", "s", "p", -0.25, slope_ci(T, Y * T**-0.02, window), max_width=0.03)
    assert off.verdict == "violated"


def _expand_too_large(monkeypatch, factor=1.25):
    """Plant: the expand oracle injects an error of size factor·δ instead of δ."""
    from lab.oracles import InexactOracle

    original = InexactOracle._apply

    def apply(self, G, rng):
        if self.kind == "expand":
            return (1.0 + factor * self._delta_array(G)) * self.base._apply(G, None)
        return original(self, G, rng)

    monkeypatch.setattr(InexactOracle, "_apply", apply)


@pytest.mark.parametrize(
    ("cid", "claim"),
    [
        ("S1.I1.trend", "S1.I1.trend[direction]"),
        # 20-seed stochastic sweep run twice cold (about 35 s): with the long sweeps
        pytest.param("S1.I3.trend", "S1.I3.trend[t]", marks=pytest.mark.slow),
    ],
)
def test_expand_trend_rows_are_identities_that_catch_a_wrong_error_size(cid, claim, monkeypatch, fresh_cache):
    clean = {v.claim: v for v in _verdicts(cid)}
    assert clean[claim].verdict == "holds" and clean[claim].details["identity"] is True
    assert "identity" in clean[claim].bound
    _expand_too_large(monkeypatch)
    monkeypatch.setenv("LAB_CACHE_DIR", str(fresh_cache / "mutant"))
    assert {v.claim: v.verdict for v in _verdicts(cid)}[claim] == "violated"


@pytest.mark.slow  # three sweeps cold (about 20 s); the conformance suite runs the check warm
def test_trend_oracles_judge_the_direction_where_no_identity_fixes_it(fresh_cache):
    verdicts = _verdicts("S1.trend.oracles")
    claims = {v.claim for v in verdicts}
    assert {"S1.trend.oracles[I1, random]", "S1.trend.oracles[I1, adversarial]"} <= claims
    assert any(c.startswith("S1.trend.oracles[I1, ns:") for c in claims)
    assert "S1.trend.oracles[I3, adversarial]" in claims
    assert any(v.verdict != "inconclusive" for v in verdicts)  # empirical: decisive somewhere


@pytest.mark.parametrize("preset", ["cubic", "jordan", "polar_express"])
def test_ns_delta_upper_bounds_ns_delta_and_is_exact_on_its_grid(preset):
    from lab.orthogonalization import _ELL_GRID, ns_delta, ns_delta_upper

    ell = np.random.default_rng(0).uniform(0, 1, 40) ** 4
    upper = ns_delta_upper(ell, 3, preset)
    exact = np.array([ns_delta(x, 3, preset) for x in ell])
    assert np.all(upper >= exact - 1e-15)
    grid = _ELL_GRID[::60]
    np.testing.assert_array_equal(ns_delta_upper(grid, 3, preset), [ns_delta(x, 3, preset) for x in grid])
    with pytest.raises(ValueError, match="ell"):
        ns_delta_upper([1.5], 3, preset)
