"""The verdicts document: one typed schema for --json and the file; old files still load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lab.experiments import Experiment
from lab.stats import Verdict
from lab.verdicts import SCHEMA, document, export, load_verdicts, write_verdicts


def _verdicts():
    a = Verdict("X-a[step]", "lab", "quadratic m=4", "f_t - f* <= B", "worst ratio 0.8", "holds",
                worst_ratio=0.8, details={"check": "X-a", "where": {"delta": 0.3}})
    b = Verdict("X-b", "lab", "quadratic", -0.25, -0.26, "holds", slope=-0.26, ci=(-0.28, -0.24),
                details={"check": "X-b"})
    return [a, b]


def test_rows_are_typed():
    doc = document(_verdicts(), meta={"git_revision": "r"})
    a, b = doc["rows"]
    assert doc["schema"] == SCHEMA and doc["summary"]["holds"] == 2
    assert doc["provenance"] == {"git_revision": "r"}
    assert a["bound"] is None and a["bound_text"] == "f_t - f* <= B" and a["worst_ratio"] == 0.8
    assert b["bound"] == -0.25 and b["bound_text"] is None and b["measured"] == -0.26
    assert isinstance(a["details"], dict) and a["check"] == "X-a"


def test_file_round_trip_and_old_schema(tmp_path):
    path = write_verdicts(_verdicts(), tmp_path / "v.json", meta={"git_revision": "r"})
    assert load_verdicts(path) == document(_verdicts(), meta={})["rows"]
    old = {"schema": "muon-lab.verdicts/1", "rows": [v.as_row() for v in _verdicts()]}
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert load_verdicts(tmp_path / "old.json") == load_verdicts(path)
    assert load_verdicts(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text(json.dumps({"schema": "x", "rows": []}))
    with pytest.raises(ValueError, match="schema"):
        load_verdicts(tmp_path / "bad.json")


def test_export_writes_the_long_tables(tmp_path):
    pd = pytest.importorskip("pandas", reason="pandas is the optional 'data' extra")
    pytest.importorskip("pyarrow", reason="pyarrow is the optional 'data' extra")
    exp = Experiment("x_exp", {"gap": np.array([1.0, 2.0])}, {"gap": np.array([4.0, 4.0])},
                     meta={"axes": {"T": [10, 20]}})
    measurements, table = export(
        tmp_path, _verdicts(), [exp], claims={"x_exp": ["X-a"]}, meta={"git_revision": "r"}
    )
    m = pd.read_parquet(measurements)
    assert list(m["measured"]) == [1.0, 2.0] and list(m["theoretical"]) == [4.0, 4.0]
    assert set(m["claim"]) == {"X-a"} and set(m["git_revision"]) == {"r"}
    v = pd.read_parquet(table)
    assert list(v["claim"]) == ["X-a[step]", "X-b"] and json.loads(v["details"][0])["check"] == "X-a"
