"""The on-disk cache: atomic verified storage, corruption detection, code-version salts."""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap

import numpy as np
import pytest

from lab import cache as cache_mod
from lab.cache import Cache, CacheCorruptionWarning, atomic_write_bytes, code_version, default_cache_dir
from lab.random import RNG
from lab.sweeps import KEY, Grid, run_sweep

GRID = Grid(n=[2, 3], lr=[0.1, 0.2], seed=[0, 1, 2])  # 2 structural groups x 6 points


class Recorder:
    """A batched toy computation that records which points each call computed."""

    def __init__(self):
        self.calls: list[list[tuple]] = []

    def __call__(self, points):
        self.calls.append([(p["n"], p["lr"], p["seed"]) for p in points])
        n = points[0]["n"]
        keys = np.array([p[KEY] for p in points], dtype=np.uint64)
        lr = np.array([p["lr"] for p in points])[:, None]
        z = RNG(keys).normal((n, 4))
        curve = np.cumsum(lr[..., None] * z, axis=-1).sum(axis=1)
        return {"curve": curve, "last": curve[:, -1]}

    @property
    def points_computed(self) -> int:
        return sum(len(c) for c in self.calls)


def sweep(tmp_path, compute, **kw):
    return run_sweep(compute, GRID, name="cached", cache=tmp_path, chunk_size=3, progress=False, **kw)


def entry_files(tmp_path, suffix):
    return sorted((tmp_path / "cached").glob(f"*{suffix}"))


def test_second_run_loads_everything_and_matches(tmp_path):
    first, second = Recorder(), Recorder()
    a = sweep(tmp_path, first)
    b = sweep(tmp_path, second)
    assert a.stats.chunks == 4 and a.stats.chunks_computed == 4 and a.stats.chunks_loaded == 0
    assert b.stats.chunks_computed == 0 and b.stats.chunks_loaded == 4
    assert second.calls == []
    assert a.rows == b.rows
    assert a.array("curve").tobytes() == b.array("curve").tobytes()
    assert len(entry_files(tmp_path, ".npz")) == len(entry_files(tmp_path, ".json")) == 4
    assert not list((tmp_path / "cached").glob("*.tmp"))


def _damage_truncate(npz, meta):
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])


def _damage_flip(npz, meta):
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))


def _damage_meta_truncate(npz, meta):
    text = meta.read_bytes()
    meta.write_bytes(text[: len(text) // 3])


def _damage_meta_config(npz, meta):
    m = json.loads(meta.read_text())
    m["config"]["points"][0]["lr"] = 0.7  # claims another configuration than the key
    meta.write_text(json.dumps(m))


def _damage_delete_data(npz, meta):
    npz.unlink()


@pytest.mark.parametrize(
    "damage",
    [_damage_truncate, _damage_flip, _damage_meta_truncate, _damage_meta_config, _damage_delete_data],
)
def test_damaged_entry_is_detected_and_recomputed_never_returned(tmp_path, damage):
    ref = sweep(tmp_path, Recorder())
    npz = entry_files(tmp_path, ".npz")[1]
    meta = npz.with_suffix(".json")
    damage(npz, meta)
    rec = Recorder()
    with pytest.warns(CacheCorruptionWarning):
        again = sweep(tmp_path, rec)
    assert again.stats.chunks_corrupt == 1
    assert again.stats.chunks_computed == 1 and again.stats.chunks_loaded == 3
    assert len(rec.calls) == 1
    assert again.array("curve").tobytes() == ref.array("curve").tobytes()
    # The entry was rewritten and verifies again.
    final = Recorder()
    third = sweep(tmp_path, final)
    assert final.calls == [] and third.stats.chunks_corrupt == 0


def test_consistent_but_wrong_data_is_caught_by_the_checksum(tmp_path):
    # Replace the data by a *valid* npz of the same shape: only the recorded checksum can tell.
    sweep(tmp_path, Recorder())
    npz = entry_files(tmp_path, ".npz")[0]
    with np.load(npz) as f:
        fake = {k: f[k] + 1.0 for k in f.files}
    np.savez(npz, **fake)
    store = Cache(tmp_path)
    with pytest.warns(CacheCorruptionWarning, match="size|checksum"):
        assert store.load("cached", npz.stem) is None
    assert store.corrupt == 1 and not npz.exists()


def test_uncommitted_entries_and_temp_files_are_ignored(tmp_path):
    ref = sweep(tmp_path, Recorder())
    metas = entry_files(tmp_path, ".json")
    metas[0].unlink()  # as if killed after the data file but before the commit record
    (tmp_path / "cached" / ".deadbeef.npz.abc.tmp").write_bytes(b"partial")
    rec = Recorder()
    again = sweep(tmp_path, rec)
    assert again.stats.chunks_computed == 1 and again.stats.chunks_corrupt == 0
    assert again.array("curve").tobytes() == ref.array("curve").tobytes()


def test_atomic_write_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old contents")

    def crash(src, dst):
        raise KeyboardInterrupt  # interrupted between the temp write and the rename

    monkeypatch.setattr(cache_mod.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_key_depends_on_name_config_and_salt():
    base = Cache.key("exp", {"points": [{"lr": 0.1}]}, "salt")
    assert Cache.key("exp", {"points": [{"lr": 0.1}]}, "salt") == base
    assert Cache.key("exp2", {"points": [{"lr": 0.1}]}, "salt") != base
    assert Cache.key("exp", {"points": [{"lr": 0.2}]}, "salt") != base
    assert Cache.key("exp", {"points": [{"lr": 0.1}]}, "salt2") != base
    assert Cache.key("exp", {"points": [{"lr": np.float64(0.1)}]}, "salt") == base
    # int 1 and float 1.0 are different configurations
    assert Cache.key("exp", {"x": 1}, "s") != Cache.key("exp", {"x": 1.0}, "s")


def test_default_root_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    assert Cache().root == tmp_path / "elsewhere"
    monkeypatch.delenv("LAB_CACHE_DIR")
    assert default_cache_dir() == cache_mod.REPO_ROOT / ".lab-cache"


# --------------------------------------------------------------------------- code versions


OPTIMIZER_SRC = """
import numpy as np

STEP_SCALE = {scale}

def step(lr):
    return STEP_SCALE * np.asarray(lr)
"""


@pytest.fixture
def temp_modules(tmp_path, monkeypatch):
    """Two importable temporary modules, one 'optimizer' per sweep."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("tmp_opt_a", "tmp_opt_b"):
        (src / f"{name}.py").write_text(textwrap.dedent(OPTIMIZER_SRC.format(scale=1.0)))
    monkeypatch.syspath_prepend(str(src))
    mods = [importlib.import_module(n) for n in ("tmp_opt_a", "tmp_opt_b")]
    yield src, mods
    for n in ("tmp_opt_a", "tmp_opt_b"):
        sys.modules.pop(n, None)


def test_code_version_follows_the_source(temp_modules):
    src, (a, b) = temp_modules
    va, vb = code_version(a), code_version(b)
    assert va == vb  # same text
    assert code_version(a, b) == code_version(b, a) == code_version(a, a, b)
    (src / "tmp_opt_a.py").write_text(textwrap.dedent(OPTIMIZER_SRC.format(scale=2.0)))
    assert code_version(a) != va
    assert code_version(b) == vb
    assert code_version("tmp_opt_b") == vb
    assert code_version(src / "tmp_opt_b.py") == vb
    with pytest.raises(ValueError, match="at least one"):
        code_version()


def test_code_version_of_a_function_sees_edits(temp_modules):
    src, (a, _) = temp_modules
    before = code_version(a.step)
    (src / "tmp_opt_a.py").write_text(
        textwrap.dedent(OPTIMIZER_SRC.format(scale=1.0)).replace("STEP_SCALE * ", "0.5 * STEP_SCALE * ")
    )
    assert code_version(a.step) != before


def test_editing_one_module_invalidates_exactly_the_sweeps_that_use_it(tmp_path, temp_modules):
    src, (a, b) = temp_modules
    cache = tmp_path / "cache"
    grid = Grid(lr=[0.1, 0.2, 0.3, 0.4], seed=[0, 1])

    def run(mod, name):
        rec = Recorder()

        def compute(points):
            return rec([dict(p, n=2) for p in points])

        res = run_sweep(compute, grid, name=name, cache=cache, chunk_size=2, progress=False, code=(mod,))
        return res.stats

    assert run(a, "uses-a").chunks_computed == 4
    assert run(b, "uses-b").chunks_computed == 4
    assert run(a, "uses-a").chunks_loaded == 4
    (src / "tmp_opt_a.py").write_text(textwrap.dedent(OPTIMIZER_SRC.format(scale=3.0)))
    sa, sb = run(a, "uses-a"), run(b, "uses-b")
    assert sa.chunks_computed == 4 and sa.chunks_loaded == 0
    assert sb.chunks_computed == 0 and sb.chunks_loaded == 4


def test_store_rejects_a_key_that_does_not_match(tmp_path):
    store = Cache(tmp_path)
    key = Cache.key("exp", {"a": 1}, "s")
    with pytest.raises(ValueError, match="key"):
        store.store("exp", key, {"x": np.zeros(2)}, config={"a": 2}, salt="s")
    store.store("exp", key, {"x": np.arange(3.0)}, config={"a": 1}, salt="s", extra={"note": "ok"})
    entry = store.load("exp", key)
    assert entry is not None and np.array_equal(entry.arrays["x"], np.arange(3.0))
    assert entry.meta["extra"]["note"] == "ok"
    assert store.keys("exp") == [key] and ("exp", key) in store
    assert store.clear("exp") == 2 and store.keys("exp") == []
    assert not os.listdir(tmp_path / "exp")
