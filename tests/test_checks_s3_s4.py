"""S3 and S4 checks (lab/checks/s3.py, lab/checks/s4.py).

Quick versions hold, every declared mutation is caught; full versions are marked slow.
"""

from __future__ import annotations

import pytest

from lab import checks

# The checks of lab/checks/s3.py and s4.py (other S4 modules have their own suites).
IDS = sorted(
    cid for cid, c in checks.load_all().items() if c.fn.__module__ in ("lab.checks.s3", "lab.checks.s4")
)


def test_s3_s4_checks_registered():
    assert {c[:3] for c in IDS} == {"S3-", "S4-"}, "S3 or S4 checks missing"
    for cid in IDS:
        c = checks.get_check(cid)
        assert c.mutations, f"{cid} declares no mutation"
        assert c.experiment is not None


@pytest.mark.parametrize("cid", IDS)
def test_quick_check_holds(cid):
    verdicts = checks.get_check(cid).run(quick=True)
    bad = [str(v) for v in verdicts if v.verdict != "holds"]
    assert not bad, bad


@pytest.mark.parametrize("cid,mutation", [(c, m) for c in IDS for m in checks.get_check(c).mutations])
def test_mutation_is_caught(cid, mutation):
    verdicts = checks.get_check(cid).run(quick=True, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]


@pytest.mark.slow
@pytest.mark.parametrize("cid", IDS)
def test_full_check_holds(cid):
    verdicts = checks.get_check(cid).run(quick=False)
    bad = [str(v) for v in verdicts if v.verdict != "holds"]
    assert not bad, bad


@pytest.mark.slow
@pytest.mark.parametrize("cid,mutation", [(c, m) for c in IDS for m in checks.get_check(c).mutations])
def test_full_mutation_is_caught(cid, mutation):
    verdicts = checks.get_check(cid).run(quick=False, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]
