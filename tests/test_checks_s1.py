"""S1 checks (lab/checks/s1.py): each quick check holds, each declared planted bug is caught.

The quick versions share the sweep cache with ``lab check --quick``; the full versions are slow.
Report-only verdicts (no worst-case prediction applies, see their docstrings) may be
"inconclusive" but never "violated".
"""

from __future__ import annotations

import pytest

import lab.checks as checks

S1_CHECKS = ("S1-lemma", "S1-I1", "S1-I1-trend", "S1-I3", "S1-I3-trend")
#: verdicts that report a measured direction without a prediction that could hold or fail
REPORT_ONLY = ("S1-I1-trend[ns_steps]", "S1-I3-trend[alpha]")


def _assert_holds(verdicts):
    for v in verdicts:
        if v.claim in REPORT_ONLY:
            assert v.verdict in ("holds", "inconclusive"), str(v)
        else:
            assert v.verdict == "holds", str(v)


@pytest.mark.parametrize("cid", S1_CHECKS)
def test_quick_check_holds(cid):
    c = checks.get_check(cid)
    assert c.source == "S1" and c.mutations
    _assert_holds(c.run(quick=True))


@pytest.mark.parametrize(
    "cid,mutation", [(cid, m) for cid in S1_CHECKS for m in checks.get_check(cid).mutations]
)
def test_mutation_is_caught(cid, mutation):
    verdicts = checks.get_check(cid).run(quick=True, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]


def test_bound_checks_report_where():
    (avg, _) = checks.get_check("S1-I1").run(quick=True)
    assert set(avg.details["where"]) == {"kind", "delta", "t", "seed", "K"}
    assert 0 < avg.worst_ratio <= 1


def test_bad_mutation_rejected():
    from lab.experiments.s1 import s1_i1

    with pytest.raises(ValueError, match="mutation must be one of"):
        s1_i1(quick=True, mutation="flip_momentum")


@pytest.mark.slow
@pytest.mark.parametrize("cid", S1_CHECKS)
def test_full_check_holds(cid):
    _assert_holds(checks.get_check(cid).run(quick=False))


@pytest.mark.slow
@pytest.mark.parametrize(
    "cid,mutation", [(cid, m) for cid in S1_CHECKS for m in checks.get_check(cid).mutations]
)
def test_full_mutation_is_caught(cid, mutation):
    verdicts = checks.get_check(cid).run(quick=False, mutation=mutation)
    assert any(v.verdict == "violated" for v in verdicts), [str(v) for v in verdicts]
