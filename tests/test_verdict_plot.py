"""The verdict pictures are drawn from verdict rows alone (as stored in verdicts.json)."""

from __future__ import annotations

import json

from lab.verdict_plot import _label, plot_verdicts

ROWS = [
    {"claim": "A[x]", "verdict": "holds", "worst_ratio": 0.7, "slope": None, "details": "{}"},
    {"claim": "A[y]", "verdict": "violated", "worst_ratio": 1.3, "slope": None, "details": "{}"},
    {"claim": "B", "verdict": "holds", "worst_ratio": -4.0, "slope": None, "details": {}},
    {"claim": "C", "verdict": "inconclusive", "worst_ratio": None, "slope": -0.26, "ci_lo": -0.3,
     "ci_hi": -0.2, "bound": -0.25, "details": json.dumps({"quantity": "est_err"})},
]


def test_both_pictures_are_written(tmp_path):
    paths = plot_verdicts(ROWS, tmp_path)
    assert [p.name for p in paths] == ["verdict_ratios.png", "verdict_slopes.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 5000 for p in paths)


def test_no_rows_of_a_kind_no_picture(tmp_path):
    assert [p.name for p in plot_verdicts(ROWS[:1], tmp_path)] == ["verdict_ratios.png"]
    assert plot_verdicts([], tmp_path) == []


def test_labels_tell_rows_of_one_claim_apart():
    assert _label(ROWS[3]) == "C (quantity=est_err)" and _label(ROWS[0]) == "A[x]"
