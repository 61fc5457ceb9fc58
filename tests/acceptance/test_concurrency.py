"""Acceptance: two identical ``lab run`` at once on one cache compute each chunk once, and a lock left
by a killed process does not block the next run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.acceptance._lab_run import chunk_counts, committed_chunks, lab, popen, read_csv, stable

ARGS = [
    "run", "--problem", "quadratic", "--optimizer", "muon", "--opt", "oracle=ns:jordan:5",
    "--sweep", "lr=[0.01,0.02,0.05]", "--seeds", "0-1", "--steps", "1000", "--chunk-size", "1",
    "--no-progress",
]  # fmt: skip


def test_two_identical_runs_at_once_compute_each_chunk_once(tmp_path):
    cache = tmp_path / "cache"
    a = popen([*ARGS, "--out", "a/run"], cwd=tmp_path, cache=cache)
    b = popen([*ARGS, "--out", "b/run"], cwd=tmp_path, cache=cache)
    out_a, err_a = a.communicate(timeout=300)
    out_b, err_b = b.communicate(timeout=300)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    computed_a, loaded_a = chunk_counts(out_a)
    computed_b, loaded_b = chunk_counts(out_b)
    # Whatever the interleaving, every chunk is computed by exactly one of the two runs; the other
    # waits for its lock and loads the committed entry.
    assert computed_a + computed_b == 6
    assert computed_a + loaded_a == 6 and computed_b + loaded_b == 6
    assert committed_chunks(cache) == 6
    assert stable(read_csv(tmp_path / "a" / "run.csv")) == stable(read_csv(tmp_path / "b" / "run.csv"))


HOLD_LOCK = """
import sys, time
from lab.cache import Cache
with Cache(sys.argv[1]).lock("run", sys.argv[2]) as held:
    print("held" if held else "not held", flush=True)
    time.sleep(600)
"""


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    """kill -9 while holding a chunk's lock: the next run computes that chunk instead of waiting."""
    cache = tmp_path / "cache"
    first = lab([*ARGS, "--out", "first/run"], cwd=tmp_path, cache=cache)
    assert first.returncode == 0, first.stderr
    keys = sorted(p.stem for p in (cache / "run").glob("*.json"))
    victim = keys[0]
    (cache / "run" / f"{victim}.json").unlink()  # that chunk must be computed again ...
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(cache), victim], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)  # ... by whoever comes next: the dead holder's lock is gone
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    t0 = time.monotonic()
    again = lab([*ARGS, "--out", "again/run"], cwd=tmp_path, cache=cache, timeout=120)
    assert again.returncode == 0, again.stderr
    assert chunk_counts(again.stdout) == (1, 5)
    assert time.monotonic() - t0 < 100
    assert stable(read_csv(tmp_path / "again" / "run.csv")) == stable(
        read_csv(tmp_path / "first" / "run.csv")
    )
