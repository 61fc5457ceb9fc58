"""``lab run`` in chunks: the assembled result is the one-batch run, number for number; the table keeps
member hyperparameters and per-step values apart; the memory estimate scales as it should."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import problems
from lab.cli import main
from lab.optimizers import make_optimizer
from lab.runbatch import estimate, format_bytes, parse_bytes
from lab.runner import RunResult, batch_grid, run


@pytest.fixture(autouse=True)
def _temporary_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))


def _cli(out, *extra):
    return main(
        [
            "run", "--problem", "quadratic", "--optimizer", "muon", "--opt", "oracle=ns:jordan:5",
            "--opt", "beta=0.9", "--sweep", "lr=[0.01,0.05]", "--seeds", "3-5", "--steps", "40",
            "--no-progress", "--out", str(out), *extra,
        ]
    )  # fmt: skip


@pytest.mark.parametrize("chunk", ["1", "3", "6"])
def test_chunks_assemble_to_the_one_batch_run(tmp_path, chunk):
    assert _cli(tmp_path / "r", "--chunk-size", chunk) == 0
    got = RunResult.load(tmp_path / "r.npz")
    grid = batch_grid(seed=[3, 4, 5], lr=[0.01, 0.05])
    opt = make_optimizer("muon", oracle="ns:jordan:5", beta=0.9, lr=grid["lr"])
    want = run(problems.make("quadratic"), opt, 40, grid.seeds)
    np.testing.assert_array_equal(got.checkpoints, want.checkpoints)
    assert sorted(got.metrics) == sorted(want.metrics)
    for name, value in want.metrics.items():
        np.testing.assert_array_equal(got.metrics[name], value, err_msg=name)
    for name, value in want.members.items():
        np.testing.assert_array_equal(got.members[name], value, err_msg=name)
    np.testing.assert_array_equal(got.status, want.status)
    assert got.message == want.message
    assert got.config["runner"] == want.config["runner"]


def test_table_keeps_member_lr_and_step_lr_apart(tmp_path):
    grid = batch_grid(seed=[0, 1], lr=[0.01, 0.05])
    res = run(problems.make("quadratic"), make_optimizer("muon", lr=grid["lr"]), 9, grid.seeds)
    rows = res.to_table()
    assert {r["lr"] for r in rows} == {0.01, 0.05}
    for r in rows:
        j, c = r["member"], list(res.checkpoints).index(r["step"])
        assert r["lr"] == res.members["lr"][j]
        assert r["step_lr"] == res.metrics["lr"][c, j] or np.isnan(res.metrics["lr"][c, j])
        assert r["problem_m"] == 8 and r["problem_n"] == 6 and r["run_id"] == res.run_id
    res.save(tmp_path / "t")
    with open(tmp_path / "t.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert len(header) == len(set(header))
    assert RunResult.load(tmp_path / "t.npz").run_id == res.run_id


def test_same_configuration_same_run_id(tmp_path):
    assert _cli(tmp_path / "a") == 0 and _cli(tmp_path / "b") == 0
    a, b = RunResult.load(tmp_path / "a.npz"), RunResult.load(tmp_path / "b.npz")
    assert a.run_id == b.run_id
    assert _cli(tmp_path / "c", "--steps", "41") == 0
    assert RunResult.load(tmp_path / "c.npz").run_id != a.run_id


def test_parse_bytes():
    assert parse_bytes("2G") == 2 * 2**30
    assert parse_bytes("512M") == 512 * 2**20
    assert parse_bytes("1.5GiB") == int(1.5 * 2**30)
    assert parse_bytes("300000") == 300000
    for bad in ("", "lots", "-1G", "0", "2X"):
        with pytest.raises(ValueError, match="--max-memory"):
            parse_bytes(bad)
    assert format_bytes(3 * 2**30) == "3.0 GiB"


def test_estimate_scales_with_problem_members_and_checkpoints():
    base = dict(
        problem_params={"m": 100, "n": 10}, members=10, steps=100, checkpoints="all", record=("loss",)
    )
    e = estimate(**base, block_shapes=[(100, 10)])
    # problem data: dense matrices over the largest dimension (quadratic in m)
    assert estimate(**{**base, "problem_params": {"m": 200, "n": 10}}).problem == 4 * e.problem
    # recorded metrics: linear in members and in checkpoints
    assert estimate(**{**base, "members": 20}).metrics == 2 * e.metrics
    assert estimate(**{**base, "steps": 201}).metrics == 2 * e.metrics
    # members' working memory: linear in the members computed at once, in float32 half of float64
    assert estimate(**base, block_shapes=[(100, 10)], chunk_members=5).members < e.members
    assert estimate(**base, block_shapes=[(100, 10)], itemsize=4).members < e.members
