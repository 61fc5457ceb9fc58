"""S2 extension checks (S2.D.inexact, S2.E.MVR1.state): quick verdicts hold, declared planted bugs are caught.

The quick experiments are CI-sized (seconds); the full versions are marked slow.
"""

from __future__ import annotations

import pytest

import lab.checks as checks

IDS = ("S2-D-inexact", "S2-E-MVR1-state")


def _cases():
    checks.load_all()
    return [(cid, m) for cid in IDS for m in checks.get_check(cid).mutations]


def test_registered_with_theorems_and_mutations():
    import bounds

    checks.load_all()
    for cid in IDS:
        c = checks.get_check(cid)
        assert c.source == "S2" and c.mutations
        assert all(t in bounds.CATALOG for t in c.theorems)
    assert {t for cid in IDS for t in checks.get_check(cid).theorems} == {"S2.D.inexact", "S2.E.MVR1.state"}


@pytest.mark.parametrize("cid", IDS)
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
        get_experiment("s2_descent_inexact")(quick=True, mutation="typo")
    with pytest.raises(ValueError, match="quick must be True or False"):
        get_experiment("s2_mvr1_state")(quick="yes")
    with pytest.raises(ValueError, match="unknown options"):
        get_experiment("s2_mvr1_state")(quick=True, seeds=3)


@pytest.mark.slow
@pytest.mark.parametrize("cid", IDS)
def test_full_check_holds(cid):
    verdicts = checks.get_check(cid).run(quick=False)
    bad = [str(v) for v in verdicts if v.verdict != "holds"]
    assert not bad, "\n".join(bad)


@pytest.mark.slow
@pytest.mark.parametrize("cid,mutation", _cases())
def test_full_check_catches_planted_bug(cid, mutation):
    verdicts = checks.get_check(cid).run(quick=False, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]
