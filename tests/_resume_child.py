"""Helper process for tests/test_resume.py (not a test module).

Usage: python tests/_resume_child.py CACHE_DIR OUT_DIR

Runs a cached sweep of a toy batched computation and writes its table and arrays to OUT_DIR.
Environment: LAB_TEST_CALL_LOG (file; one JSON line per compute call, written and fsync'ed
before the chunk is computed) and LAB_TEST_DELAY (seconds each call sleeps, so that the
parent can kill the process part-way through the sweep).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from lab.random import RNG
from lab.sweeps import KEY, Grid, run_sweep

GRID = Grid(n=[3], lr=[0.05, 0.1, 0.2, 0.4], seed=[0, 1, 2, 3])
CHUNK_SIZE = 2  # 16 points -> 8 chunks


def compute(points):
    log = os.environ.get("LAB_TEST_CALL_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps(sorted(p[KEY] for p in points)) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    time.sleep(float(os.environ.get("LAB_TEST_DELAY", "0")))
    n = points[0]["n"]
    keys = np.array([p[KEY] for p in points], dtype=np.uint64)
    lr = np.array([p["lr"] for p in points])[:, None]
    rng = RNG(keys)
    x = np.ones((len(points), n))
    curve = []
    for t in range(20):
        x = x - lr * (x + 0.2 * rng.at(t).normal((n,)))
        curve.append(np.sum(x * x, axis=1))
    curve = np.stack(curve, axis=1)
    return {"loss": curve, "final": curve[:, -1]}


def main(cache_dir: str, out_dir: str) -> None:
    res = run_sweep(compute, GRID, name="resume", cache=cache_dir, chunk_size=CHUNK_SIZE, progress=False)
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "loss.npy"), res.array("loss"))
    with open(os.path.join(out_dir, "result.json"), "w") as fh:
        json.dump({"rows": res.to_records(), "stats": vars(res.stats)}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
