"""One lock per cache entry: exclusive, released on exit and on the holder's death, and used by
run_sweep so that two identical sweeps at once compute every chunk once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from lab.cache import Cache

REPO = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("_resume_child.py")
N_CHUNKS = 8  # _resume_child's grid: 16 points in chunks of 2
KEY = "ab" * 32

HOLD = """
import sys, time
from lab.cache import Cache
with Cache(sys.argv[1]).lock("exp", sys.argv[2]) as held:
    print("held" if held else "not held", flush=True)
    time.sleep(600)
"""


def test_the_lock_is_exclusive_and_released(tmp_path):
    a, b = Cache(tmp_path), Cache(tmp_path)
    with a.lock("exp", KEY) as held:
        assert held
        with b.lock("exp", KEY, blocking=False) as other:
            assert not other
        with b.lock("exp", "cd" * 32, blocking=False) as other_entry:
            assert other_entry  # one lock per entry, not per cache
    with b.lock("exp", KEY, blocking=False) as again:
        assert again
    assert not list((tmp_path / "exp").glob("*.lock"))  # released locks leave no file behind


def test_a_killed_holder_does_not_leave_a_stale_lock(tmp_path):
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), KEY], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with Cache(tmp_path).lock("exp", KEY, blocking=False) as held:
            assert not held  # alive: it holds the entry
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert (tmp_path / "exp" / f"{KEY}.lock").exists()  # the file stays, its lock does not
    with Cache(tmp_path).lock("exp", KEY, blocking=False) as held:
        assert held


def _calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_two_identical_sweeps_at_once_compute_each_chunk_once(tmp_path):
    cache = tmp_path / "cache"
    procs, logs = [], []
    for name in ("a", "b"):
        log = tmp_path / f"calls_{name}.jsonl"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["LAB_TEST_CALL_LOG"] = str(log)
        env["LAB_TEST_DELAY"] = "0.2"
        (tmp_path / name).mkdir()
        procs.append(
            subprocess.Popen(
                [sys.executable, str(CHILD), str(cache), str(tmp_path / name)], env=env, cwd=REPO
            )
        )
        logs.append(log)
    for p in procs:
        assert p.wait(timeout=300) == 0
    assert _calls(logs[0]) + _calls(logs[1]) == N_CHUNKS
    results = [json.loads((tmp_path / n / "result.json").read_text()) for n in ("a", "b")]
    assert results[0]["rows"] == results[1]["rows"]
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "loss.npy"), np.load(tmp_path / "b" / "loss.npy"))
