"""Results as data: sweep tables to pandas/xarray/parquet, experiments to long tables and files."""

from __future__ import annotations

import numpy as np
import pytest

from lab.experiments import Experiment
from lab.results import flatten, long_table, recording, save_npz, write_parquet
from lab.sweeps import KEY, Grid, run_sweep
from tests.test_sweeps import STEPS, noisy_descent

pd = pytest.importorskip("pandas", reason="pandas is the optional 'data' extra (installed by 'dev')")


@pytest.fixture(scope="module")
def sweep():
    grid = Grid(n=[3], lr=[0.1, 0.2, 0.3], seed=[0, 1])
    return run_sweep(noisy_descent, grid, name="data", cache=False, progress=False)


def test_to_pandas_keeps_axes_scalars_and_arrays_per_point(sweep):
    frame = sweep.to_pandas()
    assert len(frame) == len(sweep) == 6
    np.testing.assert_array_equal(frame["final"], sweep.array("final"))
    np.testing.assert_array_equal(np.stack(frame["loss"]), sweep.array("loss"))
    assert sorted(frame.groupby("lr").size().index) == [0.1, 0.2, 0.3]


def test_to_xarray_unstacks_the_grid(sweep):
    pytest.importorskip("xarray", reason="xarray is the optional 'data' extra")
    ds = sweep.to_xarray()
    assert ds["final"].dims == ("n", "lr", "seed")
    assert ds["loss"].sizes["loss_dim1"] == STEPS
    got = ds["final"].sel(n=3, lr=0.2, seed=1).item()
    assert got == sweep.select(lr=0.2, seed=1).array("final")[0]
    assert KEY in ds.coords


def test_to_parquet_round_trips(sweep, tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow is the optional 'data' extra")
    back = pd.read_parquet(sweep.to_parquet(tmp_path / "s.parquet"))
    np.testing.assert_array_equal(back["final"], sweep.array("final"))
    np.testing.assert_array_equal(np.stack([np.asarray(v) for v in back["loss"]]), sweep.array("loss"))


def _experiment():
    measured = {"gap": np.arange(6.0).reshape(2, 3), "nested": {"slope": 0.5}, "label": "text"}
    theoretical = {"gap": np.full((2, 3), 10.0), "exponent": -0.25}
    return Experiment("demo", measured, theoretical, meta={"axes": {"method": ["a", "b"], "T": [1, 2, 4]}})


def test_experiments_are_recorded_and_flattened():
    with recording() as seen:
        exp = _experiment()
    assert seen == [exp]
    assert set(flatten(exp.measured)) == {"gap", "nested/slope"}  # text leaves are not numbers


def test_long_table_has_one_row_per_measured_number_with_axes_theory_and_provenance():
    pytest.importorskip("pyarrow", reason="pyarrow is the optional 'data' extra")
    exp = _experiment()
    table = long_table([exp], claims={"demo": ["X.demo"]})
    gap = table[table["quantity"] == "gap"]
    assert len(gap) == 6 and set(gap["method"]) == {"a", "b"} and set(gap["T"]) == {"1", "2", "4"}
    row = gap[(gap["method"] == "b") & (gap["T"] == "2")].iloc[0]
    assert row["measured"] == exp.measured["gap"][1, 1] and row["theoretical"] == 10.0
    assert row["claim"] == "X.demo"
    for column in ("git_revision", "git_dirty", "numpy", "date", "machine"):
        assert table[column].notna().all()
    # the researcher's groupby: worst measured/theoretical ratio per claim
    worst = (table.assign(ratio=table["measured"] / table["theoretical"]).groupby("claim")["ratio"].max())
    assert worst["X.demo"] == pytest.approx(0.5)


def test_npz_and_parquet_files_are_reproducible(tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow is the optional 'data' extra")
    exp = _experiment()
    a, b = save_npz([exp], tmp_path / "a.npz"), save_npz([exp], tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes()
    with np.load(a) as data:
        np.testing.assert_array_equal(data["demo/measured/gap"], exp.measured["gap"])
    meta = {"git_revision": "r"}
    p = write_parquet([exp], tmp_path / "t.parquet", meta=meta)
    assert len(pd.read_parquet(p)) == 7
