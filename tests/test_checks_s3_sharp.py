"""S3.L2.sharp check: quick verdicts hold (identity to rounding, remainders, inequality), bugs are caught."""

from __future__ import annotations

import pytest

import lab.checks as checks

CID = "S3-L2-sharp"


def test_registered_with_theorem_and_mutations():
    c = checks.get_check(CID)
    assert c.theorems == ("S3.L2.sharp",)
    assert set(c.mutations) == {"double_step", "flip_momentum"}


def test_quick_check_holds():
    verdicts = checks.get_check(CID).run(quick=True)
    assert len(verdicts) == 3
    bad = [str(v) for v in verdicts if v.verdict != "holds"]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("mutation", ["double_step", "flip_momentum"])
def test_quick_check_catches_planted_bug(mutation):
    verdicts = checks.get_check(CID).run(quick=True, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]


def test_bad_options_are_rejected():
    from lab.experiments import get_experiment

    with pytest.raises(ValueError, match="mutation must be one of"):
        get_experiment("s3_sharp")(quick=True, mutation="understate_constant")
    with pytest.raises(ValueError, match="unknown options"):
        get_experiment("s3_sharp")(quick=True, steps=3)


@pytest.mark.slow
def test_full_check_holds():
    verdicts = checks.get_check(CID).run(quick=False)
    bad = [str(v) for v in verdicts if v.verdict != "holds"]
    assert not bad, "\n".join(bad)


@pytest.mark.slow
@pytest.mark.parametrize("mutation", ["double_step", "flip_momentum"])
def test_full_check_catches_planted_bug(mutation):
    verdicts = checks.get_check(CID).run(quick=False, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]
