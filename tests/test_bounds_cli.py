"""`lab bounds`: text, LaTeX and JSON output, id selection, verification."""

from __future__ import annotations

import json

from lab.cli import main


def test_text_output_lists_source_metric_rate_and_trends(capsys):
    assert main(["bounds", "S1.I3", "S2.N2"]) == 0
    out = capsys.readouterr().out
    assert "[S1.I3]" in out and "[S2.N2]" in out and "[S1.I3.error]" not in out
    assert "lab derivation consistent with S1" in out
    assert "metric:     avg_grad_dual" in out
    assert "rate:       K^(-1/4)" in out and "rate:       T^(-1/3)" in out
    assert "trend:      t_opt decreasing in delta (as predicted)" in out
    assert "trend:      alpha_opt increasing in delta (as predicted)" in out


def test_prefix_selection_latex_and_json(capsys):
    assert main(["bounds", "S4", "--latex", "--no-derive"]) == 0
    out = capsys.readouterr().out
    assert out.count("% [S4.") == 8 and r"\text{one\_step\_threshold}" in out
    assert main(["bounds", "S3.L3", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == ["S3.L3"]
    assert records[0]["rate"] == "-1/2" and records[0]["metric"] == "min_stationarity"
    assert "F_gap0" in records[0]["assumptions"]


def test_verify_and_unknown_ids(capsys):
    assert main(["bounds", "S1.I1", "S4.kron", "--verify", "--no-derive"]) == 0
    assert "every claim matches" in capsys.readouterr().err
    assert main(["bounds", "S7"]) == 2
    assert "unknown theorem id" in capsys.readouterr().err
