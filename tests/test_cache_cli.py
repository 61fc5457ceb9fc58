"""``lab cache info`` / ``prune`` driven as a user would: the installed command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from lab.cache import Cache
from lab.sweeps import Grid, run_sweep
from tests.test_sweeps import noisy_descent

LAB = Path(sys.executable).with_name("lab")


def _lab(*args, cache):
    env = dict(os.environ, LAB_CACHE_DIR=str(cache))
    return subprocess.run([str(LAB), *args], env=env, capture_output=True, text=True, timeout=120)


def _populate(cache: Path) -> None:
    run_sweep(noisy_descent, Grid(n=[3], lr=[0.1, 0.2]), name="current", cache=cache, chunk_size=1,
              progress=False)
    old = Cache(cache)
    config = {"points": [{"lr": 0.5}]}
    key = Cache.key("old", config, "an-old-salt")
    old.store("old", key, {"x": np.ones(3)}, config=config, salt="an-old-salt",
              extra={"provenance": {"project_version": "0123456789abcdef"}})
    (cache / "old" / "leftover.tmp").write_bytes(b"half-written")


def test_info_counts_current_and_stale_entries(tmp_path):
    _populate(tmp_path)
    out = _lab("cache", "info", "--json", cache=tmp_path)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["experiments"]["current"]["entries"] == info["experiments"]["current"]["current"] == 2
    assert info["experiments"]["old"]["current"] == 0 and info["total"]["entries"] == 3
    text = _lab("cache", "info", cache=tmp_path).stdout
    assert "1 entries come from older code" in text


def test_prune_drops_only_old_code_and_keeps_current_results(tmp_path):
    _populate(tmp_path)
    dry = _lab("cache", "prune", "--dry-run", "--json", cache=tmp_path)
    assert json.loads(dry.stdout)["removed_entries"] == 1 and len(list(tmp_path.glob("*/*.json"))) == 3
    done = _lab("cache", "prune", "--json", cache=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["kept_entries"] == 2
    assert not list((tmp_path / "old").glob("*")) and len(list((tmp_path / "current").glob("*.json"))) == 2
    # the kept entries still serve the sweep: nothing is recomputed
    again = run_sweep(noisy_descent, Grid(n=[3], lr=[0.1, 0.2]), name="current", cache=tmp_path, chunk_size=1,
                      progress=False)
    assert again.stats.chunks_loaded == 2 and again.stats.chunks_computed == 0


def test_a_missing_cache_directory_is_a_named_error(tmp_path):
    out = _lab("cache", "info", "--cache-dir", str(tmp_path / "nowhere"), cache=tmp_path)
    assert out.returncode == 2 and "no cache directory" in out.stderr
