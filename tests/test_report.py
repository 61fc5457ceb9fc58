"""The report's pieces: the verdict file's reading and writing (lab.verdicts) and where it lives.

``lab check`` writes the verdicts file and ``lab appendix`` reads it; both name it through
:data:`lab.verdicts.DEFAULT_VERDICTS`, and the appendix reads it with
:func:`lab.verdicts.load_legacy_rows` (the tables' row shape).
"""

from __future__ import annotations

import json

import pytest

from lab.cli import build_parser
from lab.report.build import build_appendix
from lab.stats import Verdict
from lab.verdicts import DEFAULT_VERDICTS, OUTCOMES, load_legacy_rows, save_verdicts, validate_rows


def _verdicts() -> list[Verdict]:
    return [
        Verdict(claim="S1.I1[a]", source="S1", problem="p", bound=1.0, measured=0.5, verdict="holds",
                worst_ratio=0.5, details={"check": "S1.I1"}),
        Verdict(claim="S2.N1[b]", source="S2", problem="q", bound="a formula", measured=float("inf"),
                verdict="violated", details={"check": "S2.N1"}),
    ]  # fmt: skip


def test_saved_verdicts_load_in_the_tables_shape(tmp_path):
    path = save_verdicts(_verdicts(), tmp_path / "check" / "verdicts.json")
    rows = load_legacy_rows(path)
    assert [r["claim"] for r in rows] == [v.claim for v in _verdicts()]
    assert all(isinstance(r["details"], str) for r in rows)  # JSON text, as the first schema had it
    assert [json.loads(r["details"])["check"] for r in rows] == ["S1.I1", "S2.N1"]
    assert rows[1]["bound"] == "a formula" and rows[1]["verdict"] == "violated"
    assert load_legacy_rows(tmp_path / "absent.json") is None


@pytest.mark.parametrize(
    ("rows", "names"),
    [
        ({"claim": "x"}, "'rows' must be a list"),
        ([{"claim": "", "verdict": "holds"}], r"rows\[0\] must be an object"),
        ([{"claim": "a", "verdict": "holds"}, {"claim": "b", "verdict": "maybe"}], r"rows\[1\]\.verdict"),
    ],
)
def test_rows_are_validated_before_writing(tmp_path, rows, names):
    with pytest.raises(ValueError, match=names):
        validate_rows(rows, "verdicts")
    if isinstance(rows, list):
        with pytest.raises(ValueError, match=names):
            save_verdicts(rows, tmp_path / "v.json")
        assert not (tmp_path / "v.json").exists()


def test_every_outcome_is_accepted():
    validate_rows([{"claim": f"c{i}", "verdict": v} for i, v in enumerate(OUTCOMES)], "verdicts")


def test_check_writes_where_appendix_reads():
    parser = build_parser()
    appendix = parser.parse_args(["appendix"])
    check = parser.parse_args(["check"])
    assert appendix.verdicts == DEFAULT_VERDICTS
    assert check.out is None  # lab check then writes DEFAULT_VERDICTS


def test_the_appendix_reads_a_saved_file(tmp_path):
    path = save_verdicts(_verdicts(), tmp_path / "verdicts.json")
    out, figures = tmp_path / "out", tmp_path / "no-figures"
    result = build_appendix(out, verdicts=path, figures_dir=figures, catalog={}, pdf=False)
    verdicts_table = (result.out_dir / "tables" / "verdicts.tex").read_text()
    assert result.verdicts_found
    assert r"S1.\allowbreak{}I1[a]" in verdicts_table and r"S2.\allowbreak{}N1[b]" in verdicts_table
