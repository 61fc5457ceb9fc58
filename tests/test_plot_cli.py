"""``lab plot RUN.csv``: a quick look at a run, driven as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LAB = Path(sys.executable).with_name("lab")


def _lab(*args, cwd):
    env = dict(os.environ, LAB_CACHE_DIR=str(Path(cwd) / "cache"))
    return subprocess.run([str(LAB), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run_csv(tmp_path_factory):
    where = tmp_path_factory.mktemp("plot")
    out = _lab("run", "--problem", "quadratic", "--optimizer", "muon", "--sweep", "lr=[0.01,0.05]",
               "--num-seeds", "3", "--steps", "30", "--out", str(where / "runs" / "m"), cwd=where)
    assert out.returncode == 0, out.stderr
    return where / "runs" / "m.csv"


def test_plot_writes_a_picture_beside_the_csv(run_csv):
    out = _lab("plot", str(run_csv), "-m", "f", "-m", "grad_dual", cwd=run_csv.parent)
    assert out.returncode == 0, out.stderr
    png = run_csv.with_suffix(".png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 10_000 and "2 metric(s)" in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["nowhere.csv"], "does not exist"),
        (["{csv}", "-m", "no_such_metric"], "no_such_metric not in the CSV"),
        (["{csv}", "-o", "x.pdf"], "--out must end in .png"),
        (["{other}"], "not a lab run CSV"),
    ],
)
def test_bad_input_is_a_named_error(run_csv, tmp_path, args, message):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    args = [a.format(csv=run_csv, other=other) for a in args]
    out = _lab("plot", *args, cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr
