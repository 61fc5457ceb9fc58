"""Checks of lab/checks/s1_ns.py.

Quick versions hold, every declared mutation is caught; full versions are marked slow.
"""

from __future__ import annotations

import pytest

from lab import checks

IDS = ["S1-NS-recursion"]  # exact ids: other S1-NS-* checks live in other modules
checks.load_all()


def test_checks_registered_with_theorems_and_mutations():
    assert IDS, "no checks registered"
    for cid in IDS:
        c = checks.get_check(cid)
        assert c.mutations, f"{cid} declares no mutation"
        assert c.experiment is not None and c.theorems


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
