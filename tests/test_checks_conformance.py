"""One conformance suite over every registered check (optax style).

For each check of ``lab/claims/``: the quick version meets its expectation (every verdict "holds",
except declared report-only verdicts, which may be "inconclusive", and empirical claims, which must
be decisive), and every declared planted bug (:data:`lab.checks.MUTATIONS`) is caught.  The full
versions of the same tests are marked slow (``make test-slow``; ``lab check`` runs them too).
Section files (tests/test_checks_s*.py) hold what is specific to one section.
"""

from __future__ import annotations

import pytest

import bounds
from lab import checks
from lab.experiments import EXPERIMENTS
from lab.experiments import load_all as load_experiments

IDS = sorted(checks.load_all())
#: Checks without a declared planted bug, and why.  Their only variant was a "wrong_exponent" that
#: flipped a direction predicate on the same data (caught by construction, so it showed nothing);
#: code-level mutants (real changes to the code under test) are what can show these checks fail.
NO_DECLARED_BUG = {
    "S1.I3.trend": "t row: the expand oracle's rescaling identity; alpha row: report-only",
    "S1.I3.alpha_adversarial": "empirical direction: either outcome is a finding",
    "S1.trend.oracles": "empirical direction: either outcome is a finding",
    "S1.NS.lr_shift": "empirical direction: either outcome is a finding",
    "S1.I2.agnostic": "direction of the increase fraction; a predicate flip was its only variant",
    "S1.I4": "its only variant flipped the t_opt direction predicate",
    "S1.I4.trend": "its only variant flipped the direction predicate",
    "S4.threshold": "its only variant replaced the predicted slope on the same data",
}
CASES = [(cid, m) for cid in IDS for m in checks.get_check(cid).mutations]


def test_every_source_is_covered_and_every_theorem_checked():
    assert {checks.get_check(cid).source for cid in IDS} == set(checks.SOURCES)
    covered = {t for cid in IDS for t in checks.get_check(cid).theorems}
    assert covered == set(bounds.CATALOG), sorted(set(bounds.CATALOG) - covered)


@pytest.mark.parametrize("cid", IDS)
def test_check_is_well_formed(cid):
    c = checks.get_check(cid)
    load_experiments()
    assert c.experiment in EXPERIMENTS, c.experiment
    assert c.mutations or cid in NO_DECLARED_BUG, "no planted bug: nothing shows that this check can fail"
    assert not (c.mutations and cid in NO_DECLARED_BUG), "declares a bug now: drop it from NO_DECLARED_BUG"
    assert all(t in bounds.CATALOG for t in c.theorems)


#: Checks whose verdicts are a reported finding, not a lab bug: the expectation test is an xfail
#: (strict: it fails once the finding is resolved, so the entry has to go).
FINDINGS = {
    "S2.slopes": "issue 12: judged on the t-interval alone (no tolerance), the measured exponents differ "
    "from -1/4 and -1/3 by 0.01-0.02 (full: MVR1 est_err -0.270 [-0.274, -0.266], MVR2 grad -0.319 "
    "[-0.330, -0.307]; quick: Muon est_err -0.263 [-0.276, -0.251]); the exact-exponent prediction "
    "needs a finite-horizon correction or an upper-bound reading",
}


def _expect(cid):
    if cid in FINDINGS:
        return pytest.param(cid, marks=pytest.mark.xfail(strict=True, reason=FINDINGS[cid]))
    return cid


@pytest.mark.parametrize("cid", [_expect(cid) for cid in IDS])
def test_quick_check_meets_its_expectation(cid):
    c = checks.get_check(cid)
    verdicts = c.run(quick=True)
    assert not c.problems(verdicts), "\n".join(c.problems(verdicts))


@pytest.mark.parametrize("cid,mutation", CASES)
def test_quick_check_catches_planted_bug(cid, mutation):
    c = checks.get_check(cid)
    mutated = c.run(quick=True, mutation=mutation)
    assert c.caught(c.run(quick=True), mutated), [str(v) for v in mutated]


@pytest.mark.slow
@pytest.mark.parametrize("cid", [_expect(cid) for cid in IDS])
def test_full_check_meets_its_expectation(cid):
    c = checks.get_check(cid)
    verdicts = c.run(quick=False)
    assert not c.problems(verdicts), "\n".join(c.problems(verdicts))


@pytest.mark.slow
@pytest.mark.parametrize("cid,mutation", CASES)
def test_full_check_catches_planted_bug(cid, mutation):
    c = checks.get_check(cid)
    mutated = c.run(quick=False, mutation=mutation)
    assert c.caught(c.run(quick=False), mutated), [str(v) for v in mutated]
