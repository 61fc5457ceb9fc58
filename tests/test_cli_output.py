"""-q / -v: messages through logging on stderr; results stay on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LAB = Path(sys.executable).with_name("lab")


def _lab(*args, cache):
    env = dict(os.environ, LAB_CACHE_DIR=str(cache))
    return subprocess.run([str(LAB), *args], env=env, capture_output=True, text=True, timeout=300)


def test_verbose_says_what_each_sweep_loads_and_computes(tmp_path):
    check = ("check", "--quick", "--only", "S4-threshold", "--out", str(tmp_path / "verdicts.json"))
    first = _lab("-v", *check, cache=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "lab: s4_thresholds: 1 chunks, 0 from the cache, 1 to compute" in first.stderr
    again = _lab("-v", *check, cache=tmp_path)
    assert "1 from the cache, 0 to compute" in again.stderr
    quiet = _lab("-q", *check, cache=tmp_path)
    assert "from the cache" not in quiet.stderr and "S4.threshold" in quiet.stdout  # the id of S4-threshold


def test_quiet_and_verbose_exclude_each_other(tmp_path):
    out = _lab("-q", "-v", "problems", cache=tmp_path)
    assert out.returncode == 2 and "not allowed with" in out.stderr


def test_figures_json_lists_and_reports_what_it_wrote(tmp_path):
    listing = json.loads(_lab("figures", "--list", "--json", cache=tmp_path).stdout)
    assert {"name", "caption", "module"} <= set(listing[0])
    out = _lab("figures", "fig08", "--quick", "--out", str(tmp_path / "f"), "--json", cache=tmp_path)
    assert out.returncode == 0, out.stderr
    built = json.loads(out.stdout)["figures"][0]
    names = {Path(f["path"]).name for f in built["files"]}
    assert {"fig08_s4_flattening.pdf", "fig08_s4_flattening.png", "fig08_s4_flattening.data.npz"} == names
    assert all(f["bytes"] == Path(f["path"]).stat().st_size for f in built["files"])


def test_bench_json_carries_machine_targets_and_rows(tmp_path):
    out = _lab("bench", "--quick", "--sections", "batched", "--batches", "4", "--dtypes", "float64",
               "--repeats", "1", "--in-process", "--quiet", "--out", str(tmp_path / "b"), "--json",
               cache=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["machine"]["blas"] and report["rows"] and report["targets"]["total"] >= 1
    assert any(f.endswith("bench_batched.png") for f in report["files"])
