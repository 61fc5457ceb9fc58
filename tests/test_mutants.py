"""Code-level mutants (lab.mutants, ``lab mutate``): the registry stays on target, the machinery works.

The full mutation run (every mutant against ``lab check --quick``) is ``make mutate``; here only the
registry is checked against the current source and a small sample of mutants is run, each against
one quick check on its own patched copy with its own cache.
"""

from __future__ import annotations

import pytest

from lab.checks import get_check
from lab.cli import main
from lab.mutants import (
    MUTANTS,
    ROOT,
    MutantResult,
    apply_mutant,
    get_mutant,
    make_copy,
    run_mutant,
    score,
)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_snippet_occurs_exactly_once(name):
    m = MUTANTS[name]
    assert m.old != m.new
    assert m.occurrences() == 1, f"{name}: re-target the mutant, its snippet moved in {m.path}"


def test_registry_covers_what_the_issue_lists():
    assert len(MUTANTS) >= 30
    cats = {m.category for m in MUTANTS.values()}
    assert {"ns", "lmo", "oracle", "optimizer", "runner", "stats", "problem"} <= cats
    modules = {m.path for m in MUTANTS.values()}
    assert {"lab/orthogonalization.py", "lab/norms.py", "lab/oracles.py", "lab/stats.py"} <= modules
    for must in ("mvr1-mars-clip", "lion-schatten-p", "block-lr-first", "gluon-delta-square"):
        assert must in MUTANTS


def test_apply_mutant_patches_the_copy_only(tmp_path):
    m = get_mutant("lion-schatten-p")
    copy = make_copy(tmp_path / "src")
    apply_mutant(m, copy)
    patched = (copy / m.path).read_text(encoding="utf-8")
    assert m.new in patched and m.old not in patched
    assert (ROOT / m.path).read_text(encoding="utf-8").count(m.old) == 1  # the real source untouched
    with pytest.raises(ValueError, match="occurs 0 times"):
        apply_mutant(m, copy)  # applied twice: the snippet is gone
    with pytest.raises(ValueError, match="mutant must be one of"):
        get_mutant("no-such-mutant")


def test_score_counts_kills_and_leaves_out_baseline_failures():
    base = MutantResult("baseline", "check", failed=["X"])
    results = [
        MutantResult("a", "check", failed=["C1"]),
        MutantResult("b", "check", failed=["X"]),  # only a check that fails anyway: survives
        MutantResult("c", "check", errors=["C2"]),
        MutantResult("d", "check", crashed="ImportError"),
    ]
    rep = score(base, results)
    assert rep["killed"] == 3 and rep["survivors"] == ["b"]
    assert [r["how"] for r in rep["matrix"]] == ["verdict", "survived", "error", "crash"]
    assert rep["baseline_failing"] == ["X"]


# A small sample of real mutants, each against the one quick check that must catch it (subprocesses on
# patched copies with their own cache directories).
SAMPLE = [
    ("lion-schatten-p", "S2-optimizer-reference"),
    ("ns-jordan-typo", "S1-NS-presets"),
    ("runner-same-sample", "S2-runner-conformance"),
]


@pytest.mark.parametrize("name,cid", SAMPLE)
def test_sample_mutant_is_killed_by_its_check(name, cid):
    check = get_check(cid)  # the check exists (named here by its old id)
    r = run_mutant(get_mutant(name), only=[cid], timeout=600)
    assert r.crashed is None, r.crashed
    assert r.failed == [check.id], r.as_dict()


def test_unmutated_copy_passes_the_sampled_checks():
    r = run_mutant(None, only=sorted({cid for _, cid in SAMPLE}), timeout=600)
    assert r.crashed is None and not r.failed and not r.errors, r.as_dict()


def test_cli_lists_and_rejects(capsys):
    assert main(["mutate", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in MUTANTS)
    assert main(["mutate", "--only", "no-such-mutant"]) == 2
