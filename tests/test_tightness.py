"""Tightness: the per-theorem largest ratio in ``lab check`` and the ``lab tight`` worst-case search."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lab import tightness
from lab.cache import Cache
from lab.cli import main
from lab.commands.check import table
from lab.stats import Verdict

SRC = "lab derivation consistent with S1"


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))


def _v(claim, bound, ratio, **details):
    return Verdict(claim, SRC, "toy problem", bound, "m", "holds", worst_ratio=ratio, details=details)


def _verdicts(r_avg, r_min, r_trend):
    return [
        _v(
            "S1-I1[avg]",
            "S1.I1 bound (certified L_spectral, run's Delta0)",
            r_avg,
            check="S1-I1",
            where={"t": 1},
        ),
        _v("S1-I1[min]", "S1.I1 bound (certified L_spectral, run's Delta0)", r_min, check="S1-I1"),
        # a trend row's ratio is not measured/bound of S1.I1: it must not count
        _v("S1-I1-trend[degradation]", "(1+delta)/(1-delta)", r_trend, check="S1-I1-trend"),
        _v("S2-E", "E-MVR1 recursion", 0.25, check="S2-E"),
    ]


@pytest.mark.parametrize("r_avg, r_min", [(0.3, 0.7), (0.9, 0.2)])
def test_per_theorem_ratio_is_the_largest_verdict_ratio(r_avg, r_min):
    agg = tightness.from_verdicts(_verdicts(r_avg, r_min, 0.99))
    assert agg["S1.I1"].ratio == max(r_avg, r_min)
    assert agg["S1.I1"].where["claim"] == ("S1-I1[avg]" if r_avg > r_min else "S1-I1[min]")
    assert agg["S2.E.MVR1"].ratio == 0.25 and agg["S2.E.Muon"].ratio is None
    assert agg["S1.I1.step"].ratio is None  # "S1.I1" in a bound text does not name S1.I1.step
    assert set(agg) == set(tightness.inequality_theorems())


def test_nonfinite_ratio_is_the_largest_never_hidden():
    agg = tightness.from_verdicts(_verdicts(0.5, math.inf, 0.0))
    assert agg["S1.I1"].ratio == math.inf


def test_table_has_the_tightness_column_from_the_ratios():
    for r_avg in (0.31, 0.77):
        text = table(_verdicts(r_avg, 0.2, 0.99))
        header, _, avg_row, min_row, trend_row, _ = text.splitlines()
        assert header.split()[-1] == "tightness"
        assert avg_row.split()[-1] == min_row.split()[-1] == f"{r_avg:.3g}"
        assert trend_row.split()[-1] == "-"


def test_records_give_a_reason_below_the_goal():
    recs = tightness.records(_verdicts(0.3, 0.2, 0.99), searched=False)
    assert set(recs) == set(tightness.inequality_theorems())
    assert recs["S1.I1"]["ratio"] == 0.3 and recs["S1.I1"]["reason"]
    assert recs["S2.E.MVR1"]["reason"]
    assert recs["S1.I1.step"]["reason"] == tightness.NOT_MEASURED
    high = tightness.records(_verdicts(0.8, 0.2, 0.99), searched=False)
    assert high["S1.I1"]["reason"] == "" and high["S1.I1"]["method"] == "checks"


@pytest.fixture
def scratch_check():
    """Register a throwaway check of S1.lemma_a and remove it afterwards."""
    from lab import checks

    checks.load_all()
    added = []

    def add(id, ratios):
        def fn(*, quick, mutation=None):
            return [_v(f"{id}[{i}]", "S1.lemma_a (excess form)", r) for i, r in enumerate(ratios)]

        checks.check(id, claim="a test claim", source="S1", theorems=("S1.lemma_a",))(fn)
        added.append(id)

    yield add
    for id in added:
        checks.CHECKS.pop(id, None)


@pytest.mark.parametrize("ratios", [(0.2, 0.6), (0.45, 0.3)])
def test_lab_check_json_file_and_ledger_show_tightness(scratch_check, ratios, tmp_path, capsys):
    scratch_check("ZZ-tight", ratios)
    out = tmp_path / "verdicts.json"
    assert main(["check", "--only", "ZZ-tight", "--json", "--out", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["worst_ratio"] for r in rows] == list(ratios)
    for r in rows:
        assert r["theorems"] == ["S1.lemma_a"] and r["tightness"] == max(ratios)
    rec = json.loads(out.read_text())["tightness"]["S1.lemma_a"]
    assert rec["ratio"] == max(ratios) and rec["method"] == "checks"
    assert bool(rec["reason"]) == (max(ratios) < tightness.GOAL)
    assert main(["check", "--only", "ZZ-tight", "--no-write"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[-1] == "tightness"
    summary = next(line.split() for line in text.splitlines() if line.startswith("  S1.lemma_a"))
    assert summary[1:4] == [f"{max(ratios):.3g}", "checks", f"ZZ-tight[{ratios.index(max(ratios))}]"]
    assert main(["check", "--only", "ZZ-tight", "--ledger", "--no-write"]) == 0
    ledger = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert f"{max(ratios):.3g} checks" in ledger["S1.lemma_a"]


def test_search_reaches_the_goal_on_a_known_tight_instance():
    got = tightness.search("S1.I1.step", budget=16, seed=0)
    assert tightness.GOAL <= got["ratio"] <= 1.0 + 1e-6
    # the tight instance is the noise-free one: delta = 0 (or an error that only rescales a scalar LMO)
    assert got["where"]["delta"] < 0.05 or got["where"]["shape"] == (1, 1)
    again = tightness.search("S1.I1.step", budget=16, seed=0)
    assert again["ratio"] == got["ratio"] and again["where"] == got["where"]


@pytest.mark.parametrize("theorem", ["S1.I1.step", "S2.D"])
def test_planted_bug_pushes_the_searched_ratio_above_one(theorem):
    clean = tightness.search(theorem, budget=16)
    bugged = tightness.search(theorem, budget=16, mutation="double_step")
    assert clean["ratio"] <= 1.0 + 1e-6 < bugged["ratio"]


def test_lab_tight_cli_exit_codes(capsys):
    assert main(["tight", "S1.lemma_b", "--quick"]) == 0
    assert "best ratio" in capsys.readouterr().out
    assert main(["tight", "S1.I1.step", "--quick", "--mutation", "double_step"]) == 0  # bug found
    assert main(["tight", "S3.L1", "--quick", "--mutation", "double_step"]) == 2  # not supported there
    assert main(["tight", "S1.NS.cubic"]) == 2  # an identity: no search family
    assert main(["tight", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(tid in listed for tid in tightness.inequality_theorems())


def test_search_results_are_cached_and_reach_the_ledger(tmp_path, monkeypatch):
    cache = Cache(tmp_path / "c")
    first = tightness.cached("S1.lemma_b", budget=tightness.BUDGET["quick"], cache=cache)

    def fail(*a, **k):
        raise AssertionError("recomputed despite a cached result")

    monkeypatch.setattr(tightness, "search", fail)
    assert tightness.cached("S1.lemma_b", budget=tightness.BUDGET["quick"], cache=cache) == first
    recs = tightness.records([], cache=cache)
    assert recs["S1.lemma_b"]["method"] == "search"
    assert recs["S1.lemma_b"]["ratio"] == pytest.approx(first["ratio"])
    assert recs["S1.lemma_b"]["search_ratio"] == pytest.approx(first["ratio"])


def test_search_rejects_bad_arguments():
    with pytest.raises(KeyError):
        tightness.search("S4.kron")
    with pytest.raises(ValueError):
        tightness.search("S3.L1", mutation="double_step")
    with pytest.raises(ValueError):
        tightness.search("S1.lemma_b", budget=2)


@pytest.mark.slow
@pytest.mark.parametrize("theorem", sorted(tightness._families()))
def test_every_family_is_tight_or_explains_why(theorem):
    got = tightness.search(theorem, budget=tightness.BUDGET["full"])
    assert np.isfinite(got["ratio"]) and got["ratio"] <= 1.0 + 1e-6
    assert got["ratio"] >= tightness.GOAL or tightness.LOOSE_REASONS.get(theorem)
