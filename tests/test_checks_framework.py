"""The check registry, the planted-bug wrappers, the ledger and `lab check` (no real experiments)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bounds
import lab.checks as checks
import problems
from lab.claims.mutations import DoubledStep, FlippedMomentum, mutate, understate
from lab.optimizers import gradient_fn, muon
from lab.stats import Verdict


@pytest.fixture
def scratch_check():
    """Register throwaway checks and remove them afterwards."""
    added = []

    def add(id, fn, **kw):
        kw.setdefault("claim", "a test claim")
        kw.setdefault("source", "S1")
        checks.check(id, **kw)(fn)
        added.append(id)

    yield add
    for id in added:
        checks.CHECKS.pop(id, None)


def _verdict(claim, verdict="holds", **kw):
    return Verdict(claim=claim, source="S1", problem="p", bound=1.0, measured=0.5, verdict=verdict, **kw)


# --------------------------------------------------------------------------- registry


def test_registration_rejects_unknown_source_and_mutation():
    with pytest.raises(ValueError, match="source must be one of"):
        checks.check("X-1", claim="c", source="S9")
    with pytest.raises(ValueError, match="mutations must be among"):
        checks.check("X-1", claim="c", source="S1", mutations=("typo",))


def test_select_by_prefix_and_unknown(scratch_check):
    scratch_check("ZZ-a", lambda *, quick, mutation=None: _verdict("ZZ-a"))
    scratch_check("ZZ-b", lambda *, quick, mutation=None: _verdict("ZZ-b"), quick=False)
    assert [c.id for c in checks.select(only=["ZZ"])] == ["ZZ-a", "ZZ-b"]
    assert "ZZ-b" not in [c.id for c in checks.select(quick=True)]
    with pytest.raises(ValueError, match="matches no check"):
        checks.select(only=["no-such-check"])


def test_run_checks_reports_errors_as_error_never_a_verdict(scratch_check):
    def broken(*, quick, mutation=None):
        raise RuntimeError("boom")

    scratch_check("ZZ-broken", broken)
    (v,) = checks.run_checks(only=["ZZ-broken"])
    assert v.verdict == "error" and "boom" in v.measured
    assert v.details["quick"] is False
    assert checks.get_check("ZZ-broken").problems([v])  # an error never meets an expectation


def test_an_error_breaks_an_empirical_check_too(scratch_check):
    scratch_check("ZZ-emp", lambda *, quick, mutation=None: _verdict("ZZ-emp"), empirical=True)
    c = checks.get_check("ZZ-emp")
    holds = _verdict("ZZ-emp")
    error = _verdict("ZZ-emp", verdict="error")
    assert c.problems([holds]) == []
    assert c.problems([holds, error])  # the decisive verdict does not hide the error


def test_undeclared_mutation_is_rejected(scratch_check):
    scratch_check("ZZ-m", lambda *, quick, mutation=None: _verdict("ZZ-m"), mutations=("double_step",))
    with pytest.raises(ValueError, match="mutation for check"):
        checks.get_check("ZZ-m").run(mutation="flip_momentum")


def test_check_must_return_verdicts(scratch_check):
    scratch_check("ZZ-bad", lambda *, quick, mutation=None: 3.0)
    with pytest.raises(TypeError, match="must return a Verdict"):
        checks.get_check("ZZ-bad").run()


# --------------------------------------------------------------------------- planted bugs


def _problem_and_start(seed=0):
    p = problems.make("quadratic", m=6, n=4)
    from lab.random import RNG

    rng = RNG.from_seeds(np.arange(3) + seed)
    return p, p.x0(rng)


def test_doubled_step_doubles_the_update_exactly():
    p, X = _problem_and_start()
    opt = muon(lr=0.03, beta=0.9)
    grad = gradient_fn(p, stochastic=False)
    s = opt.init(X)
    X1, _ = opt.step(s, X, grad)
    Y1, _ = DoubledStep(opt).step(opt.init(X), X, grad)
    np.testing.assert_allclose(Y1[0] - X[0], 2 * (X1[0] - X[0]), rtol=1e-12, atol=1e-15)


def test_flipped_momentum_negates_the_previous_momentum():
    p, X = _problem_and_start()
    beta, lr = 0.9, 0.03
    opt = muon(lr=lr, beta=beta, nesterov=False)
    grad = gradient_fn(p, stochastic=False)
    bad = FlippedMomentum(opt)
    s = bad.init(X)
    X1, s = bad.step(s, X, grad)
    _, _, info = bad.update(s, X1, grad)
    # M_2 = -beta M_1 + (1 - beta) g_2 with M_1 = (1 - beta) g_1 (zero start) or g_1: both are negated.
    _, _, info_ok = opt.update(s, X1, grad)
    g2 = grad(X1)[0]
    expected = -(info_ok.estimate[0] - (1 - beta) * g2) + (1 - beta) * g2
    np.testing.assert_allclose(info.estimate[0], expected, rtol=1e-12, atol=1e-14)


def test_mutate_and_understate():
    opt = muon(lr=0.1)
    assert mutate(opt, None) is opt
    assert isinstance(mutate(opt, "double_step"), DoubledStep)
    with pytest.raises(ValueError, match="mutation must be"):
        mutate(opt, "understate_constant")
    assert understate(10.0, "understate_constant") == pytest.approx(8.0)
    assert understate(10.0, None) == 10.0


# --------------------------------------------------------------------------- ledger and CLI


def test_ledger_lists_every_theorem_and_trend_claims(scratch_check):
    first = next(iter(bounds.CATALOG))
    scratch_check("ZZ-thm", lambda *, quick, mutation=None: _verdict("ZZ-thm", "violated"), theorems=(first,))
    scratch_check("ZZ-trend", lambda *, quick, mutation=None: _verdict("ZZ-trend"))
    verdicts = checks.run_checks(only=["ZZ"])
    rows = {r["claim"]: r for r in checks.ledger(verdicts)}
    assert set(bounds.CATALOG) <= set(rows)
    assert rows[first]["verdict"] == "violated" and "ZZ-thm" in rows[first]["checks"]
    assert rows["ZZ-trend"]["verdict"] == "holds"


def test_cli_json_table_and_exit_status(scratch_check, tmp_path, capsys):
    from lab.cli import main

    scratch_check("ZZ-ok", lambda *, quick, mutation=None: _verdict("ZZ-ok", worst_ratio=0.5))
    scratch_check(
        "ZZ-bug",
        lambda *, quick, mutation=None: _verdict("ZZ-bug", "violated" if mutation else "holds"),
        mutations=("double_step",),
    )
    out = tmp_path / "v.json"
    assert main(["check", "--only", "ZZ", "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["claim"] for r in doc["rows"]] == ["ZZ-ok", "ZZ-bug"]
    saved = json.loads(out.read_text())
    assert saved["schema"] == doc["schema"] == "muon-lab.verdicts/2"  # one shape for --json and the file
    assert [r["claim"] for r in saved["rows"]] == [r["claim"] for r in doc["rows"]]
    assert "git_revision" in saved["provenance"]
    assert (out.parent / "verdict_ratios.png").is_file()
    assert main(["check", "--only", "ZZ", "--no-write"]) == 0
    assert "2 verdicts" in capsys.readouterr().out
    # The planted bug is caught: exit 0 means every mutated check failed as it should.
    assert main(["check", "--only", "ZZ", "--mutation", "double_step"]) == 0
    assert "[double_step]" in capsys.readouterr().out
    assert main(["check", "--only", "nothing-like-this"]) == 2


def test_expectations_report_only_and_empirical(scratch_check):
    def trend(*, quick, mutation=None):
        return [_verdict("ZZ-t[main]"), _verdict("ZZ-t[side]", "inconclusive")]

    scratch_check("ZZ-t", trend, report_only=("ZZ-t[side]",), mutations=("wrong_exponent",))
    c = checks.get_check("ZZ-t")
    assert c.problems(c.run()) == []
    # The same inconclusive verdict on a claim that is not report-only breaks the expectation.
    assert c.problems([_verdict("ZZ-t[main]", "inconclusive")])
    assert c.problems([_verdict("ZZ-t[side]", "violated")])

    def measured(*, quick, mutation=None):
        flip = mutation == "wrong_exponent"
        return [_verdict("ZZ-e[a]", "holds" if flip else "violated"), _verdict("ZZ-e[b]", "inconclusive")]

    scratch_check("ZZ-e", measured, empirical=True, mutations=("wrong_exponent",))
    e = checks.get_check("ZZ-e")
    plain, mutated = e.run(), e.run(mutation="wrong_exponent")
    assert e.problems(plain) == [] and e.caught(plain, mutated)
    assert not e.caught(plain, plain)  # a "mutation" that changes nothing is not caught
    assert e.problems([_verdict("ZZ-e[b]", "inconclusive")])  # never decisive
