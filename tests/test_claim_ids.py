"""One id per claim: the registry of lab.claims, its id table and the old spellings as aliases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bounds
from lab.claim_ids import CHECK_IDS, EXPERIMENT_IDS, ROW_IDS, canonical_claim, check_id
from lab.claims import registry
from lab.claims.registry import (
    CHECKS,
    EXPERIMENTS,
    Experiment,
    claim_text,
    get_check,
    get_experiment,
    ledger,
    load_all,
    select,
)
from lab.commands.check import merge_rows
from lab.stats import Verdict
from lab.verdicts import load_verdicts

LAB = Path(sys.executable).with_name("lab")
ID = registry._ID_PATTERN


def _lab(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LAB_CACHE_DIR=str(cache))
    return subprocess.run([str(LAB), *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def scratch():
    """Register throwaway checks (and their aliases) and remove them afterwards."""
    added: list[str] = []
    aliases: list[str] = []

    def add(id, fn, **kw):
        kw.setdefault("claim", "a test claim")
        kw.setdefault("source", "S1")
        aliases.extend(kw.get("aliases", ()))
        registry.check(id, **kw)(fn)
        added.append(check_id(id))

    yield add
    for cid in added:
        CHECKS.pop(cid, None)
    for old in aliases:
        CHECK_IDS.pop(old, None)


def _verdict(claim, verdict="holds", **kw):
    return Verdict(claim=claim, source="S1", problem="p", bound=1.0, measured=0.5, verdict=verdict, **kw)


# --------------------------------------------------------------------------- the id table


def test_every_registered_id_is_dotted_unique_and_in_the_table():
    checks = load_all()
    experiments = registry.load_experiments()
    assert set(checks) == set(CHECK_IDS.values()), "every check has its row in the id table"
    assert set(experiments) == set(EXPERIMENT_IDS.values())
    for table in (CHECK_IDS, EXPERIMENT_IDS):
        assert len(set(table.values())) == len(table), "two old names for one id"
        assert all(ID.fullmatch(new) and "-" not in new for new in table.values())
    # an old name never doubles as a current id
    assert not set(CHECK_IDS) & set(checks) and not set(EXPERIMENT_IDS) & set(experiments)
    assert not set(ROW_IDS) & set(CHECK_IDS)


def test_a_check_of_one_theorem_family_takes_the_theorems_id():
    assert get_check("S1-I1").id == "S1.I1" and get_check("S2-D-inexact").id == "S2.D.inexact"
    assert get_check("S3-L2-sharp").id == "S3.L2.sharp" and get_check("X-MVR2-inexact").id == "X.MVR2.inexact"


def test_every_experiment_behind_a_check_is_registered_and_takes_a_claims_id():
    checks = load_all()
    for c in checks.values():
        assert c.experiment in EXPERIMENTS, (c.id, c.experiment)
    # an experiment is named after the primary claim it serves: a check's id or a name in its family
    family = {tuple(cid.split(".")[:2]) for cid in checks}
    assert all(e in checks or tuple(e.split(".")[:2]) in family for e in EXPERIMENTS)
    assert get_check("S1.I1").experiment == "S1.I1"


def test_every_checked_theorem_is_in_the_catalog():
    for c in load_all().values():
        assert all(t in bounds.CATALOG for t in c.theorems), (c.id, c.theorems)
    with pytest.raises(ValueError, match="not in bounds.CATALOG"):
        registry.check("ZZ.none", source="S1", theorems=("S9.nothing",))


# --------------------------------------------------------------------------- claim text


def test_the_claim_text_of_a_theorem_check_is_rendered_from_the_theorems():
    for cid, c in load_all().items():
        if not c.theorems:
            assert c.claim, cid
            continue
        theorems = [bounds.CATALOG[t] for t in c.theorems]
        assert all(t.title in c.claim for t in theorems), cid
        if registry._states_theorems(cid, c.theorems):
            # the typed text plays no part: any text gives the same claim
            assert c.claim == claim_text(cid, "ignored", c.theorems), cid
            assert all(t.statement() in c.claim for t in theorems), cid


def test_a_check_without_theorems_must_state_its_claim():
    with pytest.raises(ValueError, match="must state its claim"):
        registry.check("ZZ.silent", source="S1")


# --------------------------------------------------------------------------- aliases (API)


def test_old_check_ids_and_experiment_names_resolve_to_the_same_objects():
    load_all()
    for old, new in CHECK_IDS.items():
        assert get_check(old) is get_check(new) is CHECKS[old]
        assert old in CHECKS and old in get_check(new).aliases
    for old, new in EXPERIMENT_IDS.items():
        assert get_experiment(old) is get_experiment(new)
        assert get_experiment(old).experiment_name == new
    with pytest.raises(ValueError, match="check id must be one of"):
        get_check("S1-I9")


def test_only_takes_old_ids_new_ids_and_prefixes_of_either():
    ids = lambda only: [c.id for c in select(only=only)]  # noqa: E731
    assert ids(["S1-I1"]) == ids(["S1.I1"]) == ["S1.I1", "S1.I1.trend"]
    assert ids(["S1-real", "S2-real"]) == ids(["S1.real", "S2.real"])
    assert len(ids(["S1-real", "S2-real"])) == 4
    assert set(ids(["S2"])) == {cid for cid in CHECKS if cid.startswith("S2")}
    for old, new in CHECK_IDS.items():
        assert new in ids([old])


def test_verdict_claims_take_the_current_id(scratch, monkeypatch):
    """A module still naming the old id: its check, its rows and its report-only rows are renamed."""
    monkeypatch.setitem(CHECK_IDS, "ZZ-legacy", "ZZ.legacy")  # as if the table had a row for it
    scratch(
        "ZZ-legacy",
        lambda *, quick, mutation=None: [
            _verdict("ZZ-legacy[main]"),
            _verdict("ZZ-legacy[side]", "inconclusive"),
        ],
        report_only=("ZZ-legacy[side]",),
        theorems=("S1.I1",),
    )
    c = get_check("ZZ-legacy")
    assert c.id == "ZZ.legacy" and get_check(c.id) is c and c.aliases == ("ZZ-legacy",)
    (v,) = [v for v in registry.run_checks(only=["ZZ-legacy"]) if v.claim.endswith("[main]")]
    assert v.claim == f"{c.id}[main]" and v.details["check"] == c.id
    assert c.problems(c.run()) == []  # the report-only row is matched under its new name


def test_a_decorator_may_pass_the_new_id_with_its_old_one_as_alias(scratch):
    scratch("ZZ.claim", lambda *, quick, mutation=None: _verdict("ZZ-old[a]"), aliases=("ZZ-old",))
    assert get_check("ZZ-old") is get_check("ZZ.claim") and CHECKS["ZZ-old"].id == "ZZ.claim"
    assert [c.id for c in select(only=["ZZ-o"])] == ["ZZ.claim"]
    assert [v.claim for v in get_check("ZZ.claim").run()] == ["ZZ.claim[a]"]


def test_an_experiment_result_carries_the_experiment_id():
    assert Experiment("s1_i1", {}, {}).name == "S1.I1"
    assert Experiment("S1.I1", {}, {}).name == "S1.I1"
    with pytest.raises(ValueError, match="identifier or a dotted id"):
        registry.experiment("s1-i1")


def test_canonical_claim_keeps_labels_and_unknown_names():
    assert canonical_claim("S1-I3-trend[alpha]") == "S1.I3.trend[alpha]"
    assert canonical_claim("S1-I1[avg] [double_step]") == "S1.I1[avg] [double_step]"
    assert canonical_claim("X-WD-floor-lower") == "X.WD.floor.lower"
    assert canonical_claim("S1.I3.trend[alpha]") == "S1.I3.trend[alpha]"  # idempotent
    assert canonical_claim("ZZ-a[S1-I1]") == "ZZ-a[S1-I1]"


# --------------------------------------------------------------------------- documents and the ledger


def test_a_verdicts_document_with_old_ids_is_read_under_the_new_ones(tmp_path):
    rows = [
        {"claim": "S1-I3-trend[alpha]", "check": "S1-I3-trend", "source": "S1", "problem": "p",
         "verdict": "inconclusive", "details": {"check": "S1-I3-trend"}},
        {"claim": "X-MVR2-inexact-rate[exact]", "check": "X-MVR2-inexact", "source": "S2", "problem": "p",
         "verdict": "violated", "details": {"check": "X-MVR2-inexact"}},
    ]
    path = tmp_path / "verdicts.json"
    path.write_text(json.dumps({"schema": "muon-lab.verdicts/2", "provenance": {}, "rows": rows}))
    loaded = load_verdicts(path)
    assert [(r["claim"], r["check"]) for r in loaded] == [
        ("S1.I3.trend[alpha]", "S1.I3.trend"),
        ("X.MVR2.inexact.rate[exact]", "X.MVR2.inexact"),
    ]
    by_claim = {r["claim"]: r for r in ledger(loaded)}
    assert "S1.I3.trend" in by_claim["S1.I3"]["checks"] and by_claim["S1.I3"]["verdict"] == "inconclusive"
    # rows named after a part of the claim count for its check's theorems
    assert by_claim["X.MVR2.inexact"]["verdict"] == "violated"
    # `lab check --only` keeps the rows of the other checks of an old file and replaces those that ran
    merged, kept = merge_rows(path, [{"claim": "S1.I3.trend[t]", "details": {"check": "S1.I3.trend"}}],
                              {"S1.I3.trend"})
    assert kept == 1 and [r["claim"] for r in merged] == ["S1.I3.trend[t]", "X.MVR2.inexact.rate[exact]"]


def test_load_all_imports_claim_modules_at_any_depth_and_skips_private_ones(tmp_path, monkeypatch):
    package = tmp_path / "zz_claims_pkg"
    (package / "topic").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "topic" / "__init__.py").write_text("")
    (package / "topic" / "_helpers.py").write_text("raise RuntimeError('a private module is imported')\n")
    (package / "topic" / "claim.py").write_text(textwrap.dedent("""
        from lab.claims.registry import check, experiment

        @experiment("ZZ.deep")
        def deep_experiment(*, quick=True):
            raise NotImplementedError

        @check("ZZ.deep", claim="found at depth two", source="S1", experiment="ZZ.deep")
        def deep_check(*, quick, mutation=None):
            raise NotImplementedError
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "CLAIM_PACKAGES", ("zz_claims_pkg", "zz_no_such_package"))
    try:
        assert "ZZ.deep" in load_all() and "ZZ.deep" in EXPERIMENTS
    finally:
        CHECKS.pop("ZZ.deep", None)
        EXPERIMENTS.pop("ZZ.deep", None)
        for name in [m for m in sys.modules if m.startswith("zz_claims_pkg")]:
            del sys.modules[name]


# --------------------------------------------------------------------------- the CLI


def test_cli_only_and_list_take_old_and_new_ids(tmp_path):
    old = _lab("check", "--list", "--only", "S1-I1", cache=tmp_path)
    new = _lab("check", "--list", "--only", "S1.I1", cache=tmp_path)
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert old.stdout == new.stdout
    first = old.stdout.splitlines()[0].split()
    assert first[:2] == ["S1.I1", "S1-I1"]  # the id, then its old spelling
    # the Makefile's `lab check --only S1-real S2-real`: several ids after one --only
    real = _lab("check", "--list", "--only", "S1-real", "S2-real", cache=tmp_path)
    assert real.returncode == 0, real.stderr
    assert [line.split()[0] for line in real.stdout.splitlines()] == [
        c.id for c in select(only=["S1.real", "S2.real"])
    ]
