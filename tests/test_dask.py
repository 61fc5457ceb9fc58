"""Distributed execution on a real Dask LocalCluster gives exactly the local results."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lab.random import RNG
from lab.sweeps import KEY, Grid, run_sweep
from lab.sweeps.executors import dask_client

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (optional extra: pip install -e '.[dist]')"
)

GRID = Grid(n=[2, 3], lr=[0.05, 0.1, 0.2], seed=[0, 1, 2, 3])


def batched_run(points, pid_dir=None):
    """Noisy descent on ||x||^2/2 for every point at once; logs which process ran it."""
    if pid_dir is not None:
        with open(os.path.join(pid_dir, f"{os.getpid()}.{points[0][KEY]}"), "w"):
            pass
    n = points[0]["n"]
    keys = np.array([p[KEY] for p in points], dtype=np.uint64)
    lr = np.array([p["lr"] for p in points])[:, None]
    rng = RNG(keys)
    x = np.ones((len(points), n))
    curve = []
    for t in range(10):
        x = x - lr * (x + 0.1 * rng.at(t).normal((n,)))
        curve.append(np.sqrt(np.sum(x * x, axis=1)))
    return {"norm": np.stack(curve, axis=1), "final": curve[-1]}


def traced(pid_dir):
    import functools

    return functools.partial(batched_run, pid_dir=str(pid_dir))


@pytest.fixture(scope="module")
def cluster():
    """Scheduler and 2 worker processes on loopback, 1 thread each, dashboard off (the lab's set-up)."""
    with dask_client("local", 2) as client:
        yield client.cluster, client


@pytest.fixture(scope="module")
def local_result():
    return run_sweep(batched_run, GRID, name="dask", cache=False, chunk_size=5, progress=False)


def assert_identical(a, b):
    assert a.rows == b.rows
    assert a.array("norm").tobytes() == b.array("norm").tobytes()


def test_scheduler_address_matches_local_and_runs_on_workers(cluster, local_result, tmp_path):
    lc, client = cluster
    assert lc.scheduler_address.startswith("tcp://127.0.0.1:")
    worker_pids = set(client.run(os.getpid).values())
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    res = run_sweep(
        traced(tmp_path),
        GRID,
        name="dask",
        cache=tmp_path / "cache",
        chunk_size=5,
        scheduler=lc.scheduler_address,
        progress=False,
    )
    assert res.stats.chunks_computed == res.stats.chunks == 6
    assert_identical(res, local_result)
    ran_on = {int(p.name.split(".")[0]) for p in tmp_path.iterdir() if p.is_file()}
    assert ran_on and ran_on <= worker_pids
    # The client stored every chunk: a local rerun loads all of them.
    again = run_sweep(batched_run, GRID, name="dask", cache=tmp_path / "cache", chunk_size=5, progress=False)
    # (partial(batched_run) and batched_run live in the same module: same code version.)
    assert again.stats.chunks_loaded == 6 and again.stats.chunks_computed == 0
    assert_identical(again, local_result)


def test_client_object_matches_local(cluster, local_result):
    _, client = cluster
    res = run_sweep(
        batched_run, GRID, name="dask", cache=False, chunk_size=3, scheduler=client, progress=False
    )
    assert_identical(res, local_result)
    assert client.status == "running"  # a caller's client is not closed


def test_scheduler_local_starts_and_stops_its_own_cluster(local_result):
    res = run_sweep(
        batched_run, GRID, name="dask", cache=False, chunk_size=5, scheduler="local", n_jobs=2, progress=False
    )
    assert res.stats.chunks_computed == 6
    assert_identical(res, local_result)


def test_session_execution_reaches_sweeps_without_arguments(cluster, tmp_path):
    """`lab check --scheduler ADDRESS` sets the session default: run_sweep called plainly uses it."""
    from lab.sweeps import execution

    lc, _ = cluster
    local = run_sweep(batched_run, GRID, name="exec_default", cache=False, progress=False)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    with execution(scheduler=lc.scheduler_address) as client:
        assert client is not None
        remote = run_sweep(traced(pid_dir), GRID, name="exec_default", cache=False, progress=False)
    np.testing.assert_array_equal(remote.arrays["norm"], local.arrays["norm"])
    ran_in = {name.split(".")[0] for name in os.listdir(pid_dir)}
    assert str(os.getpid()) not in ran_in  # computed on the cluster's workers, not here


def test_session_execution_validates_before_starting():
    from lab.sweeps import execution

    with pytest.raises(ValueError, match="n_jobs must be a non-zero integer"):
        with execution(n_jobs=0):
            pass
    with pytest.raises(ValueError, match="scheduler must be"):
        with execution(scheduler="http://nowhere"):
            pass


def test_lab_n_jobs_environment_is_validated(monkeypatch):
    monkeypatch.setenv("LAB_N_JOBS", "two")
    with pytest.raises(ValueError, match="LAB_N_JOBS must be a non-zero integer"):
        run_sweep(batched_run, GRID, name="exec_env", cache=False, progress=False)
