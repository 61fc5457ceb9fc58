"""S2 checks (variance-reduced Muon): quick verdicts hold, every declared planted bug is caught.

Quick mode runs the CI-sized experiments (12 seeds × 10³ steps for the rates); the quick slope
check is conclusive at that size (intervals about ±0.02, tolerance 0.04), so it is tested here too.
The full versions (32 seeds × 10⁴ steps) are marked slow.
"""

from __future__ import annotations

import pytest

import lab.checks as checks

S2_IDS = ("S2-D", "S2-E", "S2-N1", "S2-N2", "S2-slopes", "S2-P1", "S2-P2", "S2-gamma-floor", "S2-same-sample")


def _cases():
    checks.load_all()
    return [(cid, m) for cid in S2_IDS for m in checks.get_check(cid).mutations]


def test_all_s2_checks_registered_with_theorems_and_mutations():
    import bounds

    checks.load_all()
    for cid in S2_IDS:
        c = checks.get_check(cid)
        assert c.source == "S2" and c.mutations
        assert all(t in bounds.CATALOG for t in c.theorems)


@pytest.mark.parametrize("cid", S2_IDS)
def test_quick_check_holds(cid):
    verdicts = checks.get_check(cid).run(quick=True)
    bad = [str(v) for v in verdicts if v.verdict != "holds"]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("cid,mutation", _cases())
def test_quick_check_catches_planted_bug(cid, mutation):
    verdicts = checks.get_check(cid).run(quick=True, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]


def test_bad_options_are_rejected():
    from lab.experiments import get_experiment

    with pytest.raises(ValueError, match="mutation must be one of"):
        get_experiment("s2_rates")(quick=True, mutation="typo")
    with pytest.raises(ValueError, match="quick must be True or False"):
        get_experiment("s2_pl")(quick="yes")


@pytest.mark.slow
@pytest.mark.parametrize("cid", S2_IDS)
def test_full_check_holds(cid):
    verdicts = checks.get_check(cid).run(quick=False)
    bad = [str(v) for v in verdicts if v.verdict != "holds"]
    assert not bad, "\n".join(bad)


@pytest.mark.slow
@pytest.mark.parametrize("cid,mutation", _cases())
def test_full_check_catches_planted_bug(cid, mutation):
    verdicts = checks.get_check(cid).run(quick=False, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]
