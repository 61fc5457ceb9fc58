"""An interrupted sweep resumes: SIGKILL part-way, rerun, nothing finished is recomputed or lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("_resume_child.py")
N_CHUNKS = 8
KILL_AFTER = 3  # committed chunk entries before the kill

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def child_env(log: Path, delay: float) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["LAB_TEST_CALL_LOG"] = str(log)
    env["LAB_TEST_DELAY"] = str(delay)
    return env


def run_child(cache: Path, out: Path, log: Path, delay: float = 0.0) -> dict:
    subprocess.run(
        [sys.executable, str(CHILD), str(cache), str(out)],
        env=child_env(log, delay),
        cwd=REPO,
        check=True,
        timeout=120,
    )
    result = json.loads((out / "result.json").read_text())
    result["loss"] = np.load(out / "loss.npy")
    return result


def committed_chunks(cache: Path) -> set[tuple[int, ...]]:
    """Chunks (as sorted point keys) whose cache entry is committed."""
    out = set()
    for meta in (cache / "resume").glob("*.json"):
        config = json.loads(meta.read_text())["config"]
        out.add(tuple(sorted(p["key"] for p in config["points"])))
    return out


def calls(log: Path) -> list[tuple[int, ...]]:
    if not log.exists():
        return []
    return [tuple(json.loads(line)) for line in log.read_text().splitlines() if line.strip()]


def test_sigkilled_sweep_resumes_without_recomputing_finished_chunks(tmp_path):
    reference = run_child(tmp_path / "ref-cache", tmp_path / "ref-out", tmp_path / "ref.log")
    assert reference["stats"]["chunks"] == N_CHUNKS and reference["stats"]["chunks_computed"] == N_CHUNKS
    all_chunks = set(calls(tmp_path / "ref.log"))
    assert len(all_chunks) == N_CHUNKS

    cache, log1 = tmp_path / "cache", tmp_path / "run1.log"
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(cache), str(tmp_path / "out1")],
        env=child_env(log1, delay=0.25),
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list((cache / "resume").glob("*.json"))) < KILL_AFTER:
            assert proc.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "out1").exists()

    done = committed_chunks(cache)  # the process is dead: this set is final
    assert KILL_AFTER <= len(done) < N_CHUNKS
    assert done <= set(calls(log1))

    log2 = tmp_path / "run2.log"
    resumed = run_child(cache, tmp_path / "out2", log2)
    recomputed = set(calls(log2))
    assert recomputed.isdisjoint(done), "a finished chunk was computed again"
    assert recomputed | done == all_chunks
    assert len(calls(log2)) == N_CHUNKS - len(done)
    assert resumed["stats"]["chunks_loaded"] == len(done)
    assert resumed["stats"]["chunks_computed"] == N_CHUNKS - len(done)
    assert resumed["stats"]["chunks_corrupt"] == 0

    # Identical to the uninterrupted run, number for number; nothing was lost.
    # (git_revision is left out: the repository may get a commit between the runs.)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "git_revision"} for r in rows]  # noqa: E731
    assert strip(resumed["rows"]) == strip(reference["rows"])
    assert resumed["loss"].tobytes() == reference["loss"].tobytes()
    assert committed_chunks(cache) == all_chunks
